.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1", "net.ipv4.ping_group_range": "0 0"}
