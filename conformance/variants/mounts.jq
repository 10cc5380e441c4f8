.mounts += [
  {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=755"]},
  {"destination": "/mnt/ro-bind", "type": "bind", "source": "/usr/share/common-licenses", "options": ["rbind", "ro", "nosuid"]},
  {"destination": "/mnt/rw-bind", "type": "none", "source": "/tmp", "options": ["bind", "nodev"]},
  {"destination": "/mnt/proc2", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}]
