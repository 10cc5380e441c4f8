#!/usr/bin/env bats
# berth next to runc (Debian's, the oracle) on one busybox bundle: each runtime with its own
# --root and its own cgroupsPath, the same commands on both, and the kernel's cgroup files and
# the commands' outputs compared. docs/cgroups.md lists the differences that remain and why.

load helpers

setup() {
	requires root runc
	setup_common
	CGB="/berth-rc-$$-$RANDOM-b"
	CGR="${CGB%-b}-r"
	RUNC_ROOT="$TEST_DIR/runc"
	# Three processes that stay: the shell (pid 1) and two sleeps.
	setup_bundle sh -c 'sleep 1000 & sleep 1000 & wait'
	update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 40} | .linux.resources.cpu = {"shares": 512}'
	# runc's bundle: the same config and rootfs, its own cgroup.
	RBUNDLE="$TEST_DIR/rbundle"
	mkdir -p "$RBUNDLE"
	jq --arg r "$BUNDLE/rootfs" --arg cg "$CGR" '.root.path = $r | .linux.cgroupsPath = $cg' \
		"$BUNDLE/config.json" >"$RBUNDLE/config.json"
	update_config ".linux.cgroupsPath = \"$CGB\""
}

teardown() {
	runc --root "$RUNC_ROOT" resume rc >/dev/null 2>&1 || true
	runc --root "$RUNC_ROOT" delete -f rc >/dev/null 2>&1 || true
	teardown_common
	[ -z "${NET_V1:-}" ] || unmount_net_v1
}

# The net_cls and net_prio controllers have no cgroup2 files: on this hybrid host they sit
# unused on cgroup2 unless mounted as v1. The test that needs them mounts them (as an admin
# would) and gives them back here: unmounted with no child cgroup left, the kernel returns them.
NET_V1_DIR=/sys/fs/cgroup/net_cls,net_prio
mount_net_v1() {
	grep -qE ' cgroup [^ ]+ [^ ]*net_cls' /proc/self/mountinfo && return 0
	mkdir -p "$NET_V1_DIR"
	mount -t cgroup -o net_cls,net_prio cgroup "$NET_V1_DIR"
	NET_V1=1
}
unmount_net_v1() {
	# A child the runtimes just removed can still be dying, which keeps the hierarchy alive
	# after the unmount: mount it again, and retry until the kernel has given it back.
	local i
	for i in $(seq 10); do
		find "$NET_V1_DIR" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		umount "$NET_V1_DIR" 2>/dev/null || true
		sleep 0.5
		grep -q '^net_cls[[:space:]]0[[:space:]]' /proc/cgroups && break
		mount -t cgroup -o net_cls,net_prio cgroup "$NET_V1_DIR" 2>/dev/null || true
	done
	rmdir "$NET_V1_DIR" 2>/dev/null || true
	NET_V1=
	grep -q '^net_cls[[:space:]]0[[:space:]]' /proc/cgroups || fail "net_cls not given back to cgroup2"
}

rc() {
	runc --root "$RUNC_ROOT" "$@"
}

start_both() {
	berth run -d --bundle "$BUNDLE" bc </dev/null >/dev/null
	rc run -d --bundle "$RBUNDLE" rc </dev/null >/dev/null
	# Both trees complete (the two sleeps forked) before anything counts them.
	for _ in $(seq 50); do
		[ "$(procs "$CGB" | wc -l)" = 3 ] && [ "$(procs "$CGR" | wc -l)" = 3 ] && return 0
		sleep 0.1
	done
	fail "containers did not start their three processes"
}

v2_only() { [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; }

# knob CGPATH CONTROLLER FILE: a cgroup file of CGPATH, on v1 (hybrid) or v2.
knob() {
	if v2_only; then cat "/sys/fs/cgroup$1/$3"; else cat "/sys/fs/cgroup/$2$1/$3"; fi
}

procs() {
	if v2_only; then cat "/sys/fs/cgroup$1/cgroup.procs"; else cat "/sys/fs/cgroup/pids$1/cgroup.procs"; fi
}

# limits CGPATH: the limits update touches, as the kernel has them, one line.
limits() {
	if v2_only; then
		echo "$(knob "$1" memory memory.max) $(knob "$1" memory memory.swap.max)" \
			"$(knob "$1" cpu cpu.max) $(knob "$1" cpu cpu.weight) $(knob "$1" pids pids.max)"
	else
		echo "$(knob "$1" memory memory.limit_in_bytes) $(knob "$1" memory memory.memsw.limit_in_bytes)" \
			"$(knob "$1" cpu cpu.cfs_quota_us) $(knob "$1" cpu cpu.cfs_period_us)" \
			"$(knob "$1" cpu cpu.shares) $(knob "$1" pids pids.max)"
	fi
}

# no_cgroup CGPATH: the path exists in no hierarchy.
no_cgroup() {
	local d
	for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		[ -d "$d${1#/}" ] && { echo "left behind: $d${1#/}"; return 1; }
	done
	return 0
}

@test "cgroups vs runc: update with flags, with --resources on stdin, and a partial second update" {
	start_both
	[ "$(limits "$CGB")" = "$(limits "$CGR")" ]

	berth update --memory 96M --memory-swap 192M --cpu-quota 30000 --cpu-period 100000 --pids-limit 33 --cpu-share 256 bc
	rc update --memory 96M --memory-swap 192M --cpu-quota 30000 --cpu-period 100000 --pids-limit 33 --cpu-share 256 rc
	b=$(limits "$CGB") r=$(limits "$CGR")
	echo "berth: $b"
	echo "runc:  $r"
	[ "$b" = "$r" ]
	if ! v2_only; then [ "$b" = "100663296 201326592 30000 100000 256 33" ]; fi

	json='{"memory":{"limit":134217728,"swap":268435456},"cpu":{"shares":300,"quota":40000,"period":200000},"pids":{"limit":44}}'
	berth update --resources - bc <<<"$json"
	rc update --resources - rc <<<"$json"
	b=$(limits "$CGB") r=$(limits "$CGR")
	echo "berth: $b"
	echo "runc:  $r"
	[ "$b" = "$r" ]
	if ! v2_only; then [ "$b" = "134217728 268435456 40000 200000 300 44" ]; fi

	# A second update that names one value: the others stay (both keep the merged set in
	# their state; berth's state.json has it).
	berth update --cpu-quota 50000 bc
	rc update --cpu-quota 50000 rc
	[ "$(limits "$CGB")" = "$(limits "$CGR")" ]
	[ "$(jq -c '[.resources.cpu.quota, .resources.cpu.period, .resources.memory.limit, .resources.pids.limit]' "$ROOT/bc/state.json")" = "[50000,200000,134217728,44]" ]
	# runc 1.1 keeps quota and period in its state.json config too (other values it resets
	# to 0, "unchanged", when their flag is absent: docs/cgroups.md).
	jq -c '.config.cgroups' "$RUNC_ROOT/rc/state.json"
	[ "$(jq -c '[.config.cgroups.cpu_quota, .config.cgroups.cpu_period]' "$RUNC_ROOT/rc/state.json")" = "[50000,200000]" ]
}

@test "cgroups vs runc: net_cls classid and net_prio ifpriomap read back from inside as set" {
	requires hybrid
	mount_net_v1
	for b in "$BUNDLE" "$RBUNDLE"; do
		jq '.linux.resources.network = {"classID": 1048577, "priorities": [{"name": "lo", "priority": 7}]}' \
			"$b/config.json" >"$b/c.json"
		mv "$b/c.json" "$b/config.json"
	done
	start_both
	local q='cat /sys/fs/cgroup/net_cls/net_cls.classid; grep "^lo " /sys/fs/cgroup/net_prio/net_prio.ifpriomap'
	run berth exec bc sh -c "$q"
	echo "berth: $output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1048577 ]
	[ "${lines[1]}" = "lo 7" ]
	local mine=$output
	run rc exec rc sh -c "$q"
	echo "runc: $output"
	[ "$status" -eq 0 ]
	[ "$output" = "$mine" ]
	# The host's files for the container's cgroup say the same.
	[ "$(cat "$NET_V1_DIR$CGB/net_cls.classid")" = 1048577 ]
	berth delete -f bc
	rc delete -f rc
	[ ! -e "$NET_V1_DIR$CGB" ]
}

@test "cgroups vs runc: pause and resume show in state and in the freezer" {
	start_both
	berth pause bc
	rc pause rc
	[ "$(berth state bc | jq -r .status)" = paused ]
	[ "$(rc state rc | jq -r .status)" = paused ]
	if v2_only; then
		[ "$(knob "$CGB" "" cgroup.freeze)" = "$(knob "$CGR" "" cgroup.freeze)" ]
	else
		[ "$(knob "$CGB" freezer freezer.state)" = FROZEN ]
		[ "$(knob "$CGR" freezer freezer.state)" = FROZEN ]
	fi
	berth resume bc
	rc resume rc
	[ "$(berth state bc | jq -r .status)" = running ]
	[ "$(rc state rc | jq -r .status)" = running ]
	if ! v2_only; then
		[ "$(knob "$CGB" freezer freezer.state)" = THAWED ]
		[ "$(knob "$CGR" freezer freezer.state)" = THAWED ]
	fi
}

@test "cgroups vs runc: events --stats has runc's shape and key order" {
	start_both
	berth events --stats bc >"$TEST_DIR/b.json"
	rc events --stats rc >"$TEST_DIR/r.json"
	# Every path, values ignored (numeric leaves that Go omits when zero set aside; the blkio
	# lists exist only once the container did I/O, which one of the two may and the other not:
	# the first to start reads busybox from disk on a cold cache).
	diff <(jq -r '[paths | map(if type == "number" then "[]" else . end) | join(".")] | unique | .[]' "$TEST_DIR/b.json" |
		grep -Ev '\.(cache|total|periods|throttledPeriods|throttledTime|current|major|minor|op|value)$|\.(usage|max)$' |
		grep -Ev 'data\.memory\.raw\.|^data\.blkio\.') \
		<(jq -r '[paths | map(if type == "number" then "[]" else . end) | join(".")] | unique | .[]' "$TEST_DIR/r.json" |
			grep -Ev '\.(cache|total|periods|throttledPeriods|throttledTime|current|major|minor|op|value)$|\.(usage|max)$' |
			grep -Ev 'data\.memory\.raw\.|^data\.blkio\.')
	# blkio: runc's list names, entries of runc's shape, whenever berth has any.
	jq -r '.data.blkio // {} | keys[]' "$TEST_DIR/b.json" |
		grep -Evx 'ioServiceBytesRecursive|ioServicedRecursive|ioQueueRecursive|ioServiceTimeRecursive|ioWaitTimeRecursive|ioMergedRecursive|ioTimeRecursive|sectorsRecursive' &&
		fail "blkio key not runc's"
	# (Go leaves out a zero minor or value: the order of the keys that are there.)
	jq -e '[.data.blkio // {} | .[][] | keys_unsorted as $k |
		$k == (["major", "minor", "op", "value"] | map(select(. as $n | $k | index($n))))] | all' "$TEST_DIR/b.json"
	# The same keys in the same order at the top and in each data object.
	[ "$(jq -c 'keys_unsorted' "$TEST_DIR/b.json")" = "$(jq -c 'keys_unsorted' "$TEST_DIR/r.json")" ]
	for k in "" .cpuset .memory .memory.swap .memory.kernel .memory.kernelTCP .pids .hugetlb .intel_rdt; do
		[ "$(jq -c ".data$k | keys_unsorted" "$TEST_DIR/b.json")" = "$(jq -c ".data$k | keys_unsorted" "$TEST_DIR/r.json")" ] ||
			fail "data$k: berth $(jq -c ".data$k | keys_unsorted" "$TEST_DIR/b.json") runc $(jq -c ".data$k | keys_unsorted" "$TEST_DIR/r.json")"
	done
	# memory.raw is memory.stat for both: the same key set.
	[ "$(jq -c '.data.memory.raw | keys' "$TEST_DIR/b.json")" = "$(jq -c '.data.memory.raw | keys' "$TEST_DIR/r.json")" ]
	# Names berth may leave out when zero are still runc's names.
	jq -r '.data.cpu.throttling | keys[]' "$TEST_DIR/b.json" | grep -Evx 'periods|throttledPeriods|throttledTime' && fail "throttling key not runc's"
	# The values both read from the kernel the same way agree.
	[ "$(jq -c '[.data.memory.usage.limit, .data.pids.limit, .data.pids.current]' "$TEST_DIR/b.json")" = "[67108864,40,3]" ]
	[ "$(jq -c '[.data.memory.usage.limit, .data.pids.limit, .data.pids.current]' "$TEST_DIR/r.json")" = "[67108864,40,3]" ]
}

@test "cgroups vs runc: ps lists the same processes and kill --all kills every one" {
	start_both
	[ "$(berth ps bc | wc -l)" = "$(rc ps rc | wc -l)" ]
	[ "$(berth ps bc | head -1)" = "$(rc ps rc | head -1)" ]
	[ "$(berth ps --format json bc | jq length)" = 3 ]
	[ "$(rc ps --format json rc | jq length)" = 3 ]
	# The pids JSON is the same set as the cgroup's.
	[ "$(berth ps --format json bc | jq -r '.[]' | sort -n)" = "$(procs "$CGB" | sort -n)" ]

	berth kill --all bc KILL
	rc kill --all rc KILL
	for _ in $(seq 50); do
		[ -z "$(procs "$CGB")" ] && [ -z "$(procs "$CGR")" ] && break
		sleep 0.1
	done
	[ -z "$(procs "$CGB")" ]
	[ -z "$(procs "$CGR")" ]
	[ "$(berth state bc | jq -r .status)" = stopped ]
	[ "$(rc state rc | jq -r .status)" = stopped ]
}

@test "cgroups vs runc: kill --all TERM reaches every process" {
	start_both
	# pid 1 (sh, no handler) ignores TERM in its pid namespace; the sleeps die, then sh's
	# wait returns and it exits: both containers stop, none of the processes is missed.
	berth kill --all bc TERM
	rc kill --all rc TERM
	for _ in $(seq 50); do
		[ -z "$(procs "$CGB")" ] && [ -z "$(procs "$CGR")" ] && break
		sleep 0.1
	done
	[ -z "$(procs "$CGB")" ]
	[ -z "$(procs "$CGR")" ]
	[ "$(berth state bc | jq -r .status)" = stopped ]
	[ "$(rc state rc | jq -r .status)" = stopped ]
}

@test "cgroups vs runc: kill --all reaches a paused container's processes" {
	start_both
	berth pause bc
	rc pause rc
	berth kill --all bc KILL
	rc kill --all rc KILL
	for _ in $(seq 50); do
		[ "$(berth state bc | jq -r .status)" = stopped ] && [ "$(rc state rc | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	[ "$(berth state bc | jq -r .status)" = stopped ]
	[ "$(rc state rc | jq -r .status)" = stopped ]
}

@test "cgroups vs runc: delete --force leaves no cgroup directory for either" {
	start_both
	berth pause bc
	rc pause rc
	berth delete --force bc
	rc delete --force rc
	no_cgroup "$CGB"
	no_cgroup "$CGR"
	run berth state bc
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}
