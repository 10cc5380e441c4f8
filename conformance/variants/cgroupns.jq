.linux.namespaces += [{"type": "cgroup"}]
