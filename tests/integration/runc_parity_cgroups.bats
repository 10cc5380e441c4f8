#!/usr/bin/env bats
# berth next to runc 1.1.5 (Debian's, the oracle) on cgroup, device and seccomp behaviours that
# engines and scripts rely on (issue 21 items 1-4, 9, 10; issue 16 items 2 and 9). Each test
# runs the same case under both runtimes, each with its own --root and cgroupsPath.

load helpers

setup() {
	requires root runc
	setup_common
	RUNC_ROOT="$TEST_DIR/runc"
	CG="/berth-parity-$$-$RANDOM"
	PREP=()
	setup_bundle sh -c 'sleep 1000'
	update_config '.root.readonly = false'
	# runc's bundle shares the rootfs; bundle_for RT writes its config.
	RBUNDLE="$TEST_DIR/rbundle"
	mkdir -p "$RBUNDLE"
}

teardown() {
	local d p
	# Thaw before killing: a process in a frozen cgroup cannot die.
	for d in /sys/fs/cgroup/freezer"$CG"-* /sys/fs/cgroup"$CG"-* /sys/fs/cgroup/unified"$CG"-*; do
		[ -d "$d" ] || continue
		[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
		[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
	done
	for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	for p in "${PREP[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	teardown_common
	# The killed processes leave their cgroups a moment later.
	for _ in $(seq 50); do
		local left=0
		for d in /sys/fs/cgroup/*"$CG"-* /sys/fs/cgroup"$CG"-*; do
			[ -d "$d" ] || continue
			rmdir "$d" 2>/dev/null || left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	return 0
}

v2_only() { [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; }

# sync_bundles: runc's bundle gets berth's config with cgroupsPath $CG-r, berth's $CG-b.
sync_bundles() {
	jq --arg r "$BUNDLE/rootfs" --arg cg "$CG-r" '.root.path = $r | .linux.cgroupsPath = $cg' \
		"$BUNDLE/config.json" >"$RBUNDLE/config.json"
	update_config ".linux.cgroupsPath = \"$CG-b\""
}

# rt RUNTIME ARGS...: runs runc or berth, each with its own root.
rt() {
	local r=$1
	shift
	if [ "$r" = runc ]; then runc --root "$RUNC_ROOT" "$@"; else berth "$@"; fi
}

# rt_bounded SECONDS RUNTIME ARGS...: rt under a time bound (status 124 when it hung).
rt_bounded() {
	local t=$1 r=$2
	shift 2
	if [ "$r" = runc ]; then
		timeout "$t" runc --root "$RUNC_ROOT" "$@"
	else
		timeout "$t" "$BERTH" --root "$ROOT" "$@"
	fi
}

# bundle_of RUNTIME
bundle_of() { if [ "$1" = runc ]; then echo "$RBUNDLE"; else echo "$BUNDLE"; fi; }
# cg_of RUNTIME
cg_of() { if [ "$1" = runc ]; then echo "$CG-r"; else echo "$CG-b"; fi; }

# hierarchies: every mounted hierarchy's root directory (v1 ones and cgroup2).
hierarchies() {
	if v2_only; then
		echo /sys/fs/cgroup
	else
		local d
		for d in /sys/fs/cgroup/*/; do [ -f "$d/cgroup.procs" ] && echo "${d%/}"; done
	fi
}

@test "parity: a frozen cgroup makes run refuse at once and stays frozen (runc and berth)" {
	sync_bundles
	local r cg f
	for r in runc berth; do
		cg=$(cg_of $r)
		if v2_only; then
			f=/sys/fs/cgroup$cg
			mkdir "$f"
			echo 1 >"$f/cgroup.freeze"
		else
			f=/sys/fs/cgroup/freezer$cg
			mkdir "$f"
			echo FROZEN >"$f/freezer.state"
		fi
		run rt_bounded 30 $r run --bundle "$(bundle_of $r)" frz-$r </dev/null
		echo "$r: $output"
		[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "$r: status $status (124 = hung)"
		[[ "$output" == *"container's cgroup unexpectedly frozen"* ]]
		# The cgroup is as it was: frozen, and nothing was made next to it.
		if v2_only; then
			[ "$(cat "$f/cgroup.freeze")" = 1 ]
		else
			[ "$(cat "$f/freezer.state")" = FROZEN ]
			[ "$(ls -d /sys/fs/cgroup/*"$cg" 2>/dev/null | wc -l)" -eq 1 ]
		fi
		[ -z "$(rt $r list -q)" ]
	done
}

@test "parity: device deny rules hold for a node listed in linux.devices (init, exec, after update)" {
	update_config '.linux.resources.devices = [{"allow": false, "access": "rwm"}]
		| .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 384}]
		| .process.args = ["sh", "-c", "hostname | tee /dev/kmsg >/dev/null 2>/tmp/init.err; echo rc=$? >>/tmp/init.err; exec sleep 1000"]'
	sync_bundles
	local r out
	for r in runc berth; do
		rt $r run -d --bundle "$(bundle_of $r)" dev-$r </dev/null >/dev/null
		for _ in $(seq 50); do
			out=$(rt $r exec dev-$r cat /tmp/init.err 2>/dev/null) && [[ "$out" == *rc=* ]] && break
			sleep 0.1
		done
		echo "$r init: $out"
		[[ "$out" == *"Operation not permitted"* ]]
		[[ "$out" == *"rc=1"* ]]
		run rt $r exec dev-$r sh -c 'test -c /dev/kmsg && echo node-exists; hostname | tee /dev/kmsg'
		echo "$r exec: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *node-exists* ]]
		[[ "$output" == *"Operation not permitted"* ]]
		# /dev/null is in the default allow list under both.
		run rt $r exec dev-$r sh -c 'echo x >/dev/null && echo null-ok'
		[ "$output" = null-ok ]
		rt $r update --pids-limit 100 dev-$r
		run rt $r exec dev-$r sh -c 'hostname | tee /dev/kmsg'
		echo "$r after update: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"Operation not permitted"* ]]
		if ! v2_only; then
			# The kernel's list: no rule for 1:11 under either runtime.
			! grep -q " 1:11 " "/sys/fs/cgroup/devices$(cg_of $r)/devices.list"
		fi
		rt $r delete -f dev-$r
	done
}

@test "parity: device access strings are read as runc reads them" {
	requires cgroup_v1
	local acc want r
	# access -> what the kernel's devices.list shows for c 1:11 (runc's reading: the set of
	# r, w and m in the string, other characters ignored).
	for pair in "r w=rw" "mmr=rm" "rwmx=rwm" "wr=rw"; do
		acc=${pair%=*}
		want=${pair#*=}
		update_config --arg a "$acc" '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": $a}]'
		sync_bundles
		for r in runc berth; do
			rt $r create --bundle "$(bundle_of $r)" acc-$r </dev/null >/dev/null 2>&1
			run grep " 1:11 " "/sys/fs/cgroup/devices$(cg_of $r)/devices.list"
			echo "$r '$acc': $output"
			[ "$output" = "c 1:11 $want" ]
			rt $r delete -f acc-$r
		done
	done
	# No r, w or m at all: both refuse, and leave no container behind.
	for acc in x RW; do
		update_config --arg a "$acc" '.linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": $a}]'
		sync_bundles
		for r in runc berth; do
			run rt $r create --bundle "$(bundle_of $r)" acc-$r </dev/null
			echo "$r '$acc': $output"
			[ "$status" -ne 0 ]
			[ -z "$(rt $r list -q)" ]
		done
	done
}

@test "parity: a cgroupsPath that already holds processes: warning, the container runs, they survive" {
	update_config '.process.args = ["echo", "hi"]'
	sync_bundles
	local r cg h p
	for r in runc berth; do
		cg=$(cg_of $r)
		sleep 1000 3>&- &
		p=$!
		PREP+=("$p")
		for h in $(hierarchies); do
			mkdir "$h$cg"
			if [ -f "$h$cg/cpuset.cpus" ]; then
				cat "$h/cpuset.cpus" >"$h$cg/cpuset.cpus"
				cat "$h/cpuset.mems" >"$h$cg/cpuset.mems"
			fi
			echo "$p" >"$h$cg/cgroup.procs"
		done
		run rt_bounded 60 $r run --bundle "$(bundle_of $r)" ne-$r </dev/null
		echo "$r: $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"container's cgroup is not empty: 1 process(es) found"* ]]
		[[ "$output" == *hi* ]]
		kill -0 "$p"
		[ -z "$(rt $r list -q)" ]
	done
}

@test "parity: seccomp answers ENOSYS for syscalls newer than the profile, the default errno below" {
	cp "$BERTH_BUILD/tests/nosys_probe" "$BUNDLE/rootfs/bin/nosys_probe"
	update_config --slurpfile p "$BERTH_SRC/tests/fixtures/seccomp/docker-default.json" \
		'.linux.seccomp = $p[0] | .process.args = ["sh", "-c", "nosys_probe 1000; nosys_probe 169"]'
	sync_bundles
	local r
	for r in runc berth; do
		run rt_bounded 60 $r run --bundle "$(bundle_of $r)" sc-$r </dev/null
		echo "$r: $output"
		[ "$status" -eq 0 ]
		[[ "${lines[0]}" == "syscall 1000: errno 38 "* ]]
		# reboot (169 on x86_64), not allowed and below the highest syscall the profile names,
		# still gets the profile's default errno (EPERM).
		[[ "${lines[1]}" == "syscall 169: errno 1 "* ]]
	done
}

@test "parity: exec --cgroup with .. is not a sub cgroup path" {
	sync_bundles
	local r
	for r in runc berth; do
		rt $r run -d --bundle "$(bundle_of $r)" ex-$r </dev/null >/dev/null
		run rt $r exec --cgroup ../escape ex-$r true
		echo "$r: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"../escape is not a sub cgroup path"* ]]
		rt $r delete -f ex-$r
	done
}

@test "parity: a controller set by a v1 field and by linux.resources.unified is an invalid configuration" {
	update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.unified = {"memory.max": "33554432"}'
	sync_bundles
	local r
	for r in runc berth; do
		run rt $r create --bundle "$(bundle_of $r)" uni-$r </dev/null
		echo "$r: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"invalid configuration"* ]]
		[ -z "$(rt $r list -q)" ]
		[ "$(ls -d /sys/fs/cgroup/*"$(cg_of $r)" /sys/fs/cgroup"$(cg_of $r)" 2>/dev/null | wc -l)" -eq 0 ]
	done
}

@test "parity: a 1 MiB annotation reaches a createContainer hook as valid state JSON" {
	head -c 1048576 /dev/zero | tr '\0' a >"$TEST_DIR/big"
	update_config --rawfile big "$TEST_DIR/big" '.annotations.big = $big | .process.args = ["true"]'
	local r
	for r in runc berth; do
		update_config --arg out "$TEST_DIR/state-$r.json" '.hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\($out)"]}]'
		sync_bundles
		run rt_bounded 60 $r run --bundle "$(bundle_of $r)" big-$r </dev/null
		echo "$r: ${output:0:300}"
		[ "$status" -eq 0 ]
		run jq -r '.annotations.big | length' "$TEST_DIR/state-$r.json"
		[ "$output" = 1048576 ]
	done
}

@test "seccomp: a listenerPath longer than sun_path still reaches the agent (berth)" {
	# runc 1.1.5 cannot dial such a path; berth goes through /proc/self/fd/N/name.
	local long="$TEST_DIR/$(printf 'd%.0s' $(seq 120))"
	mkdir -p "$long"
	local out="$TEST_DIR/agent-state.json"
	coproc SCAGENT { cd "$long" && exec "$BERTH_BUILD/tests/seccomp-agent" agent.sock "$out" 0; }
	PREP+=("$SCAGENT_PID")
	local line
	read -r -t 10 line <&"${SCAGENT[0]}" || fail "seccomp agent did not start"
	[ "$line" = ready ]
	[ "${#long}" -gt 108 ]
	update_config --arg s "$long/agent.sock" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $s, "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
		| .process.args = ["sh", "-c", "mkdir /tmp/x; echo rc=$?; ls -d /tmp/x 2>/dev/null || echo absent"]'
	run timeout 60 "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" longsock </dev/null
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *rc=0* ]]
	[[ "$output" == *absent* ]]
	jq -e '.fds == ["seccompFd"]' "$out"
}
