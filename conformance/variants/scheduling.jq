.process.scheduler = {"policy": "SCHED_BATCH", "nice": 5} | .process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 4}
