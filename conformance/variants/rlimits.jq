.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
  {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}, {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
  {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608}]
