.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"monotonic": {"secs": 3600, "nanosecs": 0}, "boottime": {"secs": 7200, "nanosecs": 0}}
