#!/usr/bin/env bats
# /dev inside the container: default nodes, linux.devices, symlinks, ptmx, console, devpts and
# shm, with and without a user namespace; bad device entries fail naming the entry.

load helpers
load rootfs_driver

PROBE=${ROOTFS_PROBE:-$BERTH_BUILD/tests/rootfs_probe}

setup() {
	requires root
	setup_common
	chmod 755 "$TEST_DIR"
	BUNDLE="$TEST_DIR/bundle"
	mkdir -p "$BUNDLE"
	make_rootfs "$BUNDLE/rootfs"
	cat >"$BUNDLE/config.json" <<'JSON'
{
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/", "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
  "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}
  ],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
}
JSON
}

teardown() {
	if [ -n "${TEST_DIR:-}" ] && grep -q "$TEST_DIR" /proc/self/mountinfo; then
		teardown_common
		fail "stray mount under $TEST_DIR"
	fi
	teardown_common
}

use_userns() {
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type": "user"}, {"type": "network"}] | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

@test "default devices have the right type and numbers; /dev symlinks and ptmx" {
	run probe sh -c 'for d in null zero full random urandom tty; do echo "$d $(stat -c "%F %t,%T %a" /dev/$d)"; done; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "null character special file 1,3 666" ]
	[ "${lines[1]}" = "zero character special file 1,5 666" ]
	[ "${lines[2]}" = "full character special file 1,7 666" ]
	[ "${lines[3]}" = "random character special file 1,8 666" ]
	[ "${lines[4]}" = "urandom character special file 1,9 666" ]
	[ "${lines[5]}" = "tty character special file 5,0 666" ]
	[ "${lines[6]}" = /proc/self/fd ]
	[ "${lines[7]}" = /proc/self/fd/0 ]
	[ "${lines[8]}" = /proc/self/fd/1 ]
	[ "${lines[9]}" = /proc/self/fd/2 ]
	[ "${lines[10]}" = pts/ptmx ]
	# /dev/core only where the host has /proc/kcore.
	if [ -e /proc/kcore ]; then
		run probe readlink /dev/core
		[ "$output" = /proc/kcore ]
	fi
}

@test "devices work: null discards, zero reads zeros, pts is a new instance with ptmxmode 0666" {
	run probe sh -c 'echo x >/dev/null && head -c 4 /dev/zero | od -An -tx1; stat -c "%a" /dev/pts/ptmx; ls /dev/pts; grep " /dev/pts " /proc/self/mountinfo; grep " /dev/shm " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ "00 00 00 00" ]]
	[ "${lines[1]}" = 666 ]
	[ "${lines[2]}" = ptmx ]
	[[ "$output" =~ "devpts devpts rw,gid=5,mode=620,ptmxmode=666" ]]
	[[ "$output" =~ " /dev/shm rw,nosuid,nodev,noexec" ]]
}

@test "linux.devices: char, block, fifo, nested path, mode and owner; a listed default is replaced" {
	update_config '.linux.devices = [
	  {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 1000, "gid": 2000},
	  {"path": "/dev/loop7", "type": "b", "major": 7, "minor": 7},
	  {"path": "/dev/sub/dir/myfifo", "type": "p", "fileMode": 416},
	  {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 432}]'
	run probe sh -c 'for d in fuse loop7 sub/dir/myfifo null; do stat -c "%n %F %t,%T %a %u:%g" /dev/$d; done'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/dev/fuse character special file a,e5 600 1000:2000" ]
	[ "${lines[1]}" = "/dev/loop7 block special file 7,7 666 0:0" ]
	[ "${lines[2]}" = "/dev/sub/dir/myfifo fifo 0,0 640 0:0" ]
	[ "${lines[3]}" = "/dev/null character special file 1,3 660 0:0" ]
}

@test "in a user namespace the nodes are bind mounts of the host's" {
	use_userns
	update_config '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
	run probe sh -c 'stat -c "%t,%T" /dev/null /dev/fuse; echo x >/dev/null && echo null-ok; grep -E " /dev/(null|fuse) " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1,3" ]
	[ "${lines[1]}" = "a,e5" ]
	[ "${lines[2]}" = null-ok ]
	[[ "$output" =~ "/null /dev/null " ]]
	[[ "$output" =~ "/fuse /dev/fuse " ]]
}

@test "terminal containers get the pty slave bound at /dev/console (rootfs_probe)" {
	run "$PROBE" --console "$BUNDLE" -- sh -c 'stat -c "%F %t" /dev/console; grep " /dev/console " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	# Unix98 pty slaves are char major 136 (0x88).
	[ "${lines[0]}" = "character special file 88" ]
	[[ "$output" =~ " /dev/console " ]]
}

@test "a read-only /dev tmpfs still gets its nodes, then is read-only" {
	update_config '(.mounts[] | select(.destination == "/dev") | .options) += ["ro"]'
	run probe sh -c 'stat -c %t,%T /dev/null; touch /dev/x || echo dev-ro; grep " /dev " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1,3" ]
	[[ "$output" == *dev-ro* ]]
	[[ "$output" =~ " /dev ro,nosuid" ]]
}

@test "a bind-mounted /dev is left alone" {
	mkdir -p "$TEST_DIR/devsrc"
	echo keep >"$TEST_DIR/devsrc/marker"
	update_config '.mounts |= map(select(.destination | startswith("/dev") | not)) | .mounts += [{"destination": "/dev", "type": "bind", "source": "'"$TEST_DIR/devsrc"'", "options": ["rbind"]}]'
	run probe ls /dev
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = marker ]
	[ "$(ls "$TEST_DIR/devsrc")" = marker ]
}

@test "bad linux.devices entries fail naming the entry" {
	update_config '.linux.devices = [{"path": "/dev/x", "type": "x", "major": 1, "minor": 1}]'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.devices[0].type: unknown device type 'x'"* ]]
	update_config '.linux.devices = [{"path": "/dev/ok", "type": "c", "major": 1, "minor": 3}, {"path": "/etc/evil", "type": "c", "major": 1, "minor": 1}]'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.devices[1].path: '/etc/evil' is not under /dev"* ]]
	update_config '.linux.devices = [{"path": "/dev/../etc/evil", "type": "c", "major": 1, "minor": 1}]'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.devices[0].path: '/dev/../etc/evil' contains '..'"* ]]
	[ ! -e "$BUNDLE/rootfs/etc/evil" ]
}
