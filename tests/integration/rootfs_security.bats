#!/usr/bin/env bats
# Hostile bundles: symlinks in the image where the runtime mounts or creates things, ".." in
# destinations, a symlink swapped in a loop while the container starts, fake /proc and
# /dev/null. Each must fail cleanly or stay inside the root: host canaries stay untouched and
# no mount is left in the host's mount table.

load helpers
load rootfs_driver

PROBE=${ROOTFS_PROBE:-$BERTH_BUILD/tests/rootfs_probe}

setup() {
	requires root
	setup_common
	BUNDLE="$TEST_DIR/bundle"
	R="$BUNDLE/rootfs"
	mkdir -p "$BUNDLE"
	make_rootfs "$R"
	cat >"$BUNDLE/config.json" <<'JSON'
{
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/", "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
  "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
}
JSON
	# Host canaries: a directory and a file outside the rootfs that symlinks will point at.
	VICTIM="$TEST_DIR/victim"
	mkdir -p "$VICTIM"
	echo canary >"$VICTIM/canary"
	CORE_PATTERN=$(cat /proc/sys/kernel/core_pattern)
}

teardown() {
	[ -n "${LOOP_PID:-}" ] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
	local stray=0
	if [ -n "${TEST_DIR:-}" ] && grep -q "$TEST_DIR" /proc/self/mountinfo; then stray=1; fi
	teardown_common
	[ "$stray" -eq 0 ] || fail "stray mount under the test directory"
}

add_mount() {
	update_config ".mounts += [$1]"
}

# The host is as it was: canary intact, nothing new beside it, no mount of ours, same
# core_pattern, no stray names at the host's root.
host_untouched() {
	[ "$(ls -A "$VICTIM")" = canary ] || fail "victim dir changed: $(ls -A "$VICTIM")"
	[ "$(cat "$VICTIM/canary")" = canary ] || fail "canary changed"
	# (Other work on the machine mounts too: only our test tree and / are checked.)
	! grep -qE "$TEST_DIR| / /berth-race" /proc/self/mountinfo || fail "stray host mount"
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$CORE_PATTERN" ] || fail "core_pattern changed"
	! ls -d /berth-race-* /null /zero /full /tty 2>/dev/null || fail "names created at host /"
}

@test "/proc, /sys as symlinks to / or to a host path are refused" {
	for target in / "$VICTIM"; do
		rm -rf "$R/proc" && ln -s "$target" "$R/proc"
		run probe true
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"mount target '/proc': is a symlink"* ]]
		rm "$R/proc" && mkdir "$R/proc"
		rm -rf "$R/sys" && ln -s "$target" "$R/sys"
		run probe true
		[ "$status" -ne 0 ]
		[[ "$output" == *"mount target '/sys': is a symlink"* ]]
		rm "$R/sys" && mkdir "$R/sys"
	done
	host_untouched
}

@test "/dev as a symlink to / is refused; to a host path it stays inside the root" {
	rm -rf "$R/dev" && ln -s / "$R/dev"
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"resolves to the container root"* ]]
	host_untouched

	# Without a /dev mount the nodes are made in the image's /dev itself: still inside.
	update_config '.mounts |= map(select(.destination != "/dev"))'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"/dev resolves to the container root"* ]]
	! ls "$R"/null "$R"/zero 2>/dev/null

	rm "$R/dev" && ln -s "$VICTIM" "$R/dev"
	run probe stat -c %t,%T /dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "1,3" ]
	# The nodes went to the same path *inside* the rootfs.
	[ -c "$R$VICTIM/null" ]
	host_untouched
}

@test "a mount target that is a symlink to / or to a host path stays inside the root" {
	ln -s / "$R/toroot"
	add_mount '{"destination": "/toroot", "type": "tmpfs", "source": "tmpfs"}'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"mount target '/toroot': resolves to the container root"* ]]

	update_config 'del(.mounts[-1])'
	mkdir -p "$TEST_DIR/src" && echo src >"$TEST_DIR/src/f"
	ln -s "$VICTIM" "$R/tohost"
	add_mount '{"destination": "/tohost", "type": "bind", "source": "'"$TEST_DIR/src"'", "options": ["bind"]}'
	# A file target whose name is a symlink to a host file.
	echo x >"$TEST_DIR/srcfile"
	ln -s "$VICTIM/canary" "$R/tofile"
	add_mount '{"destination": "/tofile", "type": "bind", "source": "'"$TEST_DIR/srcfile"'", "options": ["bind"]}'
	run probe sh -c "cat $VICTIM/f $VICTIM/canary; grep ' $VICTIM' /proc/self/mountinfo"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = src ]
	[ "${lines[1]}" = x ]
	# Created inside the root; the file mount point through the container's own bind of src.
	[ -d "$R$VICTIM" ] && [ -f "$TEST_DIR/src/canary" ]
	host_untouched
}

@test "'..' in destinations is clamped to the root" {
	add_mount '{"destination": "/../../../../../tmp/dotdot", "type": "tmpfs", "source": "tmpfs"}'
	add_mount '{"destination": "/x/../../../'"${VICTIM#/}"'/sub", "type": "tmpfs", "source": "tmpfs"}'
	run probe sh -c 'grep -E " /tmp/dotdot | '"$VICTIM"'/sub " /proc/self/mountinfo | wc -l'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	[ -d "$R/tmp/dotdot" ] && [ -d "$R$VICTIM/sub" ]
	[ ! -e /tmp/dotdot ]
	# A filesystem that cleans to "/" after other mounts would hide them all: refused (only
	# mounts[0] may be one, and it then becomes the rootfs: docs/rootfs.md).
	update_config '.mounts += [{"destination": "/a/../..", "type": "tmpfs", "source": "tmpfs"}]'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"a filesystem at '/' must be mounts[0]"* ]]
	# A bind that resolves to the root is refused wherever it stands.
	update_config 'del(.mounts[-1]) | .mounts = [{"destination": "/x/..", "type": "bind", "source": "/tmp", "options": ["bind"]}] + .mounts'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"resolves to the container root"* ]]
	host_untouched
}

@test "symlink swapped in a loop while containers start never leads outside" {
	mkdir -p "$TEST_DIR/src" "$R/mnt"
	echo src >"$TEST_DIR/src/f"
	add_mount '{"destination": "/mnt/race/berth-race-dir", "type": "bind", "source": "'"$TEST_DIR/src"'", "options": ["bind"]}'
	add_mount '{"destination": "/mnt/race/berth-race-tmp", "type": "tmpfs", "source": "tmpfs"}'
	(
		while :; do
			rm -rf "$R/mnt/race"; mkdir -p "$R/mnt/race"
			rm -rf "$R/mnt/race"; ln -sfn / "$R/mnt/race"
			rm -f "$R/mnt/race"; ln -sfn "$VICTIM" "$R/mnt/race"
			rm -f "$R/mnt/race"
		done
	) &
	LOOP_PID=$!
	local ok=0 failed=0 i
	for i in $(seq 1 40); do
		# Inside, both mounts must be where the (in-root) path put them: under /mnt/race,
		# under $VICTIM inside the root, or at the root's top level (link to /).
		# The loop's rm -rf on the host may remove a mountpoint after the mount was made; the
		# kernel then detaches that mount in the container (rmdir of a mountpoint in another
		# namespace), so fewer than two is benign. What matters is where they were made:
		# host_untouched below.
		if out=$(probe sh -c 'grep -c berth-race /proc/self/mountinfo; true' 2>&1); then
			[[ "$out" =~ ^[0-2]$ ]] || fail "run $i: container sees '$out' race mounts"
			ok=$((ok + 1))
		else
			[[ "$out" == *rootfs_probe:* || "$out" == *berth:* ]] || fail "run $i: unclean failure: $out"
			failed=$((failed + 1))
		fi
	done
	kill "$LOOP_PID" && wait "$LOOP_PID" 2>/dev/null || true
	LOOP_PID=
	echo "# ok=$ok failed=$failed" >&3
	# Starting must still work while the name flips (in-root resolution follows whatever
	# the link says, inside the root).
	[ "$ok" -gt 0 ]
	host_untouched
}

@test "device nodes race: /dev swapped with a symlink to a host dir never gets nodes there" {
	update_config '.mounts |= map(select(.destination != "/dev"))'
	(
		while :; do
			rm -rf "$R/dev"; mkdir -p "$R/dev"
			rm -rf "$R/dev"; ln -sfn "$VICTIM" "$R/dev"
			rm -f "$R/dev"; ln -sfn / "$R/dev"
			rm -f "$R/dev"
		done
	) &
	LOOP_PID=$!
	local i
	for i in $(seq 1 40); do
		probe true >/dev/null 2>&1 || true
	done
	kill "$LOOP_PID" && wait "$LOOP_PID" 2>/dev/null || true
	LOOP_PID=
	host_untouched
}

@test "mounts over /proc or inside it are refused (CVE-2019-16884)" {
	add_mount '{"destination": "/proc/sys/kernel/core_pattern", "type": "bind", "source": "'"$VICTIM/canary"'", "options": ["bind"]}'
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"'/proc/sys/kernel/core_pattern' cannot be mounted: it is inside /proc"* ]]
	# The same, reached through a symlink in the image: caught by the filesystem check.
	update_config 'del(.mounts[-1])'
	ln -s /proc/sys "$R/evil"
	add_mount '{"destination": "/evil/kernel/core_pattern", "type": "bind", "source": "'"$VICTIM/canary"'", "options": ["bind"]}'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot be mounted: it is inside /proc"* ]]
	update_config 'del(.mounts[-1]) | .mounts += [{"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}]'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"only procfs may be at /proc"* ]]
	# lxcfs-style files may be covered.
	update_config 'del(.mounts[-1]) | .mounts += [{"destination": "/proc/uptime", "type": "bind", "source": "'"$VICTIM/canary"'", "options": ["bind"]}]'
	run probe cat /proc/uptime
	[ "$status" -eq 0 ]
	[ "$output" = canary ]
	host_untouched
}

@test "masking refuses a /dev/null that is not the null device (CVE-2025-31133)" {
	mkdir -p "$TEST_DIR/fakedev"
	ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/fakedev/null"
	update_config '.mounts |= map(select(.destination != "/dev")) | .mounts += [{"destination": "/dev", "type": "bind", "source": "'"$TEST_DIR/fakedev"'", "options": ["rbind"]}] | .linux.maskedPaths = ["/proc/timer_list"]'
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/dev/null is not the null device"* ]]
	rm "$TEST_DIR/fakedev/null" && echo plain >"$TEST_DIR/fakedev/null"
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"/dev/null is not the null device"* ]]
	host_untouched
}

@test "sysctl refuses a /proc that is not procfs" {
	update_config '.mounts |= map(select(.destination != "/proc")) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	mkdir -p "$R/proc/sys/net/ipv4"
	echo 0 >"$R/proc/sys/net/ipv4/ip_forward"
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"sysctl: /proc is not on procfs"* ]]
	[ "$(cat "$R/proc/sys/net/ipv4/ip_forward")" = 0 ]
	host_untouched
}
