#!/usr/bin/env python3
"""Prints the filesystem of every mount in a process's mount namespace, one per line ('proc',
'sysfs', 'tmpfs' or the magic in hex), with listmount/statmount (Linux 6.11+: mnt_ns_id).
From outside the namespace these list every mount from the namespace's real root, including
the ones a chroot hides from /proc/PID/mountinfo. Usage: ns_mounts.py PID"""
import ctypes, fcntl, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_statmount, SYS_listmount = 457, 458
LSMT_ROOT = 0xFFFFFFFFFFFFFFFF
STATMOUNT_SB_BASIC = 1
NS_GET_MNTNS_ID = 0x8008B705
NAMES = {0x9FA0: "proc", 0x62656572: "sysfs", 0x01021994: "tmpfs"}


def fail(what):
    sys.exit(f"ns_mounts: {what}: {os.strerror(ctypes.get_errno())}")


fd = os.open(f"/proc/{sys.argv[1]}/ns/mnt", os.O_RDONLY)
ns_id = struct.unpack("Q", fcntl.ioctl(fd, NS_GET_MNTNS_ID, b"\0" * 8))[0]
ids = (ctypes.c_uint64 * 4096)()
req = struct.pack("IIQQQ", 32, 0, LSMT_ROOT, 0, ns_id)
n = libc.syscall(SYS_listmount, req, ids, ctypes.c_size_t(4096), ctypes.c_uint(0))
if n < 0:
    fail("listmount")
buf = ctypes.create_string_buffer(4096)
for i in range(n):
    req = struct.pack("IIQQQ", 32, 0, ids[i], STATMOUNT_SB_BASIC, ns_id)
    if libc.syscall(SYS_statmount, req, buf, ctypes.c_size_t(4096), ctypes.c_uint(0)) < 0:
        fail("statmount")
    magic = struct.unpack_from("Q", buf.raw, 24)[0]
    print(NAMES.get(magic, hex(magic)))
