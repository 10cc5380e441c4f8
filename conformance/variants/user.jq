.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000], "umask": 23}
