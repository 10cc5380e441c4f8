#!/usr/bin/env bats
# cgroups on this host's real layout (hybrid here; v1 and v2 work the same way): limits written
# and read back, OOM kills reported, pids limits, the freezer, removal in every hierarchy, and
# berth's update/pause/resume/events/ps/kill --all against runc on the same bundle.

load helpers

PROBE=${PROBE:-$BERTH_BUILD/tests/cgroup_probe}

setup() {
	requires root
	setup_common
	CG="/berth-test-$$-$RANDOM"
	STATE="$TEST_DIR/cg.json"
}

teardown() {
	if [ -f "${STATE:-/nonexistent}" ]; then
		"$PROBE" thaw "$STATE" >/dev/null 2>&1 || true
		"$PROBE" destroy "$STATE" >/dev/null 2>&1 || true
	fi
	if [ -n "${RUNC_ROOT:-}" ]; then
		runc --root "$RUNC_ROOT" resume ref >/dev/null 2>&1 || true
		runc --root "$RUNC_ROOT" delete -f ref >/dev/null 2>&1 || true
	fi
	teardown_common
	# The parent cgroups a failed test made or left ($P): gone after its containers are.
	if [ -n "${P:-}" ]; then
		local h
		for h in /sys/fs/cgroup/*/; do
			if [ -d "$h${P#/}" ]; then find "$h${P#/}" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
		done
	fi
}

# cg_dir CONTROLLER: the test cgroup's directory in the hierarchy holding CONTROLLER.
cg_dir() {
	jq -r --arg c "$1" 'if $c == "" then .v2 else (.v1[$c] // .v2) end' "$STATE"
}

# no_leftover PATH: PATH (a cgroup path) exists in no hierarchy.
no_leftover() {
	local d
	for d in /sys/fs/cgroup/*/; do
		[ -d "$d$1" ] && { echo "left behind: $d$1"; return 1; }
	done
	[ -d "/sys/fs/cgroup$1" ] && { echo "left behind: /sys/fs/cgroup$1"; return 1; }
	return 0
}

@test "cgroups: layout is detected from mountinfo" {
	run "$PROBE" layout
	[ "$status" -eq 0 ]
	if [ -d /sys/fs/cgroup/unified ]; then [[ "$output" == "hybrid /sys/fs/cgroup/unified" ]]; fi
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then [[ "$output" == "v2 /sys/fs/cgroup" ]]; fi
}

@test "cgroups: limits set at create and changed by update are in the kernel's files" {
	cat >"$TEST_DIR/r.json" <<-'EOF2'
	{"memory":{"limit":67108864,"reservation":33554432,"swap":134217728,"swappiness":10},
	 "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"},
	 "pids":{"limit":30},
	 "hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}
	EOF2
	"$PROBE" create "$STATE" "$CG" "$TEST_DIR/r.json"
	mem=$(cg_dir memory) cpu=$(cg_dir cpu) pids=$(cg_dir pids) cpuset=$(cg_dir cpuset) huge=$(cg_dir hugetlb)
	if [ -f "$mem/memory.limit_in_bytes" ]; then
		[ "$(cat "$mem/memory.limit_in_bytes")" = 67108864 ]
		[ "$(cat "$mem/memory.soft_limit_in_bytes")" = 33554432 ]
		[ "$(cat "$mem/memory.memsw.limit_in_bytes")" = 134217728 ]
		[ "$(cat "$mem/memory.swappiness")" = 10 ]
		[ "$(cat "$cpu/cpu.shares")" = 512 ]
		[ "$(cat "$cpu/cpu.cfs_quota_us")" = 50000 ]
		[ "$(cat "$cpu/cpu.cfs_period_us")" = 100000 ]
	else
		[ "$(cat "$mem/memory.max")" = 67108864 ]
		[ "$(cat "$mem/memory.low")" = 33554432 ]
		[ "$(cat "$mem/memory.swap.max")" = 67108864 ]
		[ "$(cat "$cpu/cpu.weight")" = 20 ]
		[ "$(cat "$cpu/cpu.max")" = "50000 100000" ]
	fi
	[ "$(cat "$cpuset/cpuset.cpus")" = 0 ]
	[ "$(cat "$pids/pids.max")" = 30 ]
	[ "$(cat "$huge/hugetlb.2MB.max" 2>/dev/null || cat "$huge/hugetlb.2MB.limit_in_bytes")" = 4194304 ]

	echo '{"memory":{"limit":134217728,"swap":268435456},"cpu":{"quota":20000},"pids":{"limit":-1}}' >"$TEST_DIR/u.json"
	"$PROBE" update "$STATE" "$TEST_DIR/u.json"
	if [ -f "$mem/memory.limit_in_bytes" ]; then
		[ "$(cat "$mem/memory.limit_in_bytes")" = 134217728 ]
		[ "$(cat "$mem/memory.memsw.limit_in_bytes")" = 268435456 ]
		[ "$(cat "$cpu/cpu.cfs_quota_us")" = 20000 ]
	else
		[ "$(cat "$mem/memory.max")" = 134217728 ]
		[ "$(cat "$cpu/cpu.max")" = "20000 100000" ]
	fi
	[ "$(cat "$pids/pids.max")" = max ]

	# Lowering memory+swap below the limit fails and names the knob; nothing changes.
	echo '{"memory":{"limit":134217728,"swap":1048576}}' >"$TEST_DIR/bad.json"
	run "$PROBE" update "$STATE" "$TEST_DIR/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *memory* ]]
}

@test "cgroups: a memory limit OOM-kills a process past it and the event is reported" {
	echo '{"memory":{"limit":33554432,"swap":33554432}}' >"$TEST_DIR/r.json"
	"$PROBE" create "$STATE" "$CG" "$TEST_DIR/r.json"
	[ "$("$PROBE" oom-kills "$STATE")" = 0 ]
	"$PROBE" oom-wait "$STATE" 30 >"$TEST_DIR/oom.out" 2>&1 &
	waiter=$!
	for _ in $(seq 50); do grep -q ready "$TEST_DIR/oom.out" && break; sleep 0.1; done
	# tail keeps an endless line in memory: 200 MiB against a 32 MiB limit.
	"$PROBE" spawn "$STATE" sh -c 'head -c 209715200 /dev/zero | tail -c 209715200 >/dev/null' >/dev/null
	wait "$waiter"
	grep -q oom "$TEST_DIR/oom.out"
	for _ in $(seq 50); do [ "$("$PROBE" oom-kills "$STATE")" -ge 1 ] && break; sleep 0.1; done
	[ "$("$PROBE" oom-kills "$STATE")" -ge 1 ]
}

@test "cgroups: a pids limit stops a fork bomb" {
	echo '{"pids":{"limit":8}}' >"$TEST_DIR/r.json"
	"$PROBE" create "$STATE" "$CG" "$TEST_DIR/r.json"
	"$PROBE" spawn "$STATE" sh -c 'for i in $(seq 40); do sleep 30 & done 2>/dev/null; wait' >/dev/null 2>&1
	sleep 1
	n=$("$PROBE" pids "$STATE" | wc -l)
	[ "$n" -le 8 ]
	[ "$n" -ge 2 ]
	pids=$(cg_dir pids)
	[ "$(awk '/^max/ {print $2}' "$pids/pids.events")" -gt 0 ]
	"$PROBE" kill "$STATE" 9
	[ -z "$("$PROBE" pids "$STATE")" ]
}

@test "cgroups: freeze stops a counting loop and thaw continues it" {
	"$PROBE" create "$STATE" "$CG"
	"$PROBE" spawn "$STATE" sh -c "i=0; while :; do i=\$((i+1)); echo \$i >$TEST_DIR/count; done" >/dev/null
	sleep 0.3
	"$PROBE" freeze "$STATE"
	[ "$("$PROBE" frozen "$STATE")" = frozen ]
	a=$(cat "$TEST_DIR/count")
	sleep 0.5
	b=$(cat "$TEST_DIR/count")
	[ "$a" = "$b" ]
	# Frozen between the loop's truncate and its write, the file reads empty; the last
	# number written is then unknown, so compare with what was read before the freeze.
	[ -n "$b" ] || b=0
	"$PROBE" thaw "$STATE"
	[ "$("$PROBE" frozen "$STATE")" = thawed ]
	# The loop truncates then writes: read until a number past the frozen one shows (a loaded
	# machine may take a while to schedule the thawed shell).
	c=
	for _ in $(seq 100); do
		c=$(cat "$TEST_DIR/count")
		[ -n "$c" ] && [ "$c" -gt "$b" ] && break
		sleep 0.05
	done
	[ -n "$c" ] && [ "$c" -gt "$b" ]
}

@test "cgroups: destroy of a cgroup with running (and frozen) processes leaves nothing behind" {
	"$PROBE" create "$STATE" "$CG"
	"$PROBE" spawn "$STATE" sh -c 'sleep 100 & sleep 100 & wait' >/dev/null
	sleep 0.2
	"$PROBE" freeze "$STATE"
	[ "$("$PROBE" pids "$STATE" | wc -l)" -eq 3 ]
	"$PROBE" destroy "$STATE"
	no_leftover "$CG"
}

@test "cgroups: 200 create/destroy cycles leave no cgroup behind" {
	for i in $(seq 200); do
		"$PROBE" create "$STATE" "$CG-$i"
		"$PROBE" destroy "$STATE"
	done
	for i in 1 57 200; do no_leftover "$CG-$i"; done
	[ -z "$(ls -d /sys/fs/cgroup/*"$CG"-* 2>/dev/null)" ]
}

@test "cgroups: the cgroup v2 eBPF device filter allows and denies as the rules say" {
	[ -n "$(jq -r .v2 <<<"$("$PROBE" create "$STATE" "$CG" && cat "$STATE")")" ] || skip "no cgroup2 mount"
	echo '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}' >"$TEST_DIR/d.json"
	"$PROBE" v2-devices "$STATE" "$TEST_DIR/d.json"
	"$PROBE" spawn "$STATE" sh -c "echo x >/dev/null && echo null-ok >$TEST_DIR/dev.out; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied >>$TEST_DIR/dev.out" >/dev/null
	for _ in $(seq 50); do [ "$(wc -l <"$TEST_DIR/dev.out" 2>/dev/null)" = 2 ] && break; sleep 0.1; done
	[ "$(cat "$TEST_DIR/dev.out")" = "$(printf 'null-ok\nzero-denied')" ]
	# Applying again replaces the program rather than stacking a second one.
	echo '{"devices":[{"allow":true,"access":"rwm"}]}' >"$TEST_DIR/d2.json"
	"$PROBE" v2-devices "$STATE" "$TEST_DIR/d2.json"
	"$PROBE" spawn "$STATE" sh -c "head -c1 /dev/zero >/dev/null && echo zero-ok >$TEST_DIR/dev2.out" >/dev/null
	for _ in $(seq 50); do [ -s "$TEST_DIR/dev2.out" ] && break; sleep 0.1; done
	[ "$(cat "$TEST_DIR/dev2.out")" = zero-ok ]
}

@test "cgroups: systemd cgroup paths are refused clearly without systemd" {
	[ -e /run/systemd/private ] && skip "systemd is running here"
	setup_bundle sleep 100
	update_config '.linux.cgroupsPath = "system.slice:berth:sd"'
	run berth --systemd-cgroup create --bundle "$BUNDLE" sd
	[ "$status" -ne 0 ] || { berth delete -f sd; fail "--systemd-cgroup create succeeded without systemd"; }
	[[ "$output" == *systemd* ]]
	run berth create --bundle "$BUNDLE" sd2
	[ "$status" -ne 0 ]
	[[ "$output" == *--systemd-cgroup* ]]
}

# berth_container ID: runs a container with limits; its state must record the cgroup.
berth_container() {
	setup_bundle sh -c 'while :; do sleep 1; done'
	update_config ".linux.cgroupsPath = \"$CG\" | .linux.resources.memory = {\"limit\": 67108864} | .linux.resources.pids = {\"limit\": 40}"
	berth run -d --bundle "$BUNDLE" "$1" >/dev/null </dev/null
	jq -e '.cgroup.v1 // .cgroup.v2' "$ROOT/$1/state.json" >/dev/null || fail "no cgroup in the state of $1"
}

@test "cgroups: berth update, pause, resume and events --stats act on the container's cgroup" {
	berth_container ctr
	mem=$(jq -r '.cgroup.v1.memory // .cgroup.v2' "$ROOT/ctr/state.json")
	berth update --memory 128M --pids-limit 50 --cpu-share 256 ctr
	if [ -f "$mem/memory.limit_in_bytes" ]; then
		[ "$(cat "$mem/memory.limit_in_bytes")" = 134217728 ]
	else
		[ "$(cat "$mem/memory.max")" = 134217728 ]
	fi
	echo '{"pids":{"limit":60}}' | berth update --resources - ctr
	pids=$(jq -r '.cgroup.v1.pids // .cgroup.v2' "$ROOT/ctr/state.json")
	[ "$(cat "$pids/pids.max")" = 60 ]
	run berth update --memory 12Q ctr
	[ "$status" -ne 0 ]
	[[ "$output" == *--memory* ]]

	berth pause ctr
	[ "$(berth state ctr | jq -r .status)" = paused ]
	run berth pause ctr
	berth resume ctr
	[ "$(berth state ctr | jq -r .status)" = running ]
	run berth resume ctr
	[ "$status" -ne 0 ]
	[[ "$output" == *"not paused"* ]]

	run berth events --stats ctr
	[ "$status" -eq 0 ]
	[ "$(jq -r .type <<<"$output")" = stats ]
	[ "$(jq -r .id <<<"$output")" = ctr ]
	[ "$(jq -r .data.memory.usage.limit <<<"$output")" = 134217728 ]
	[ "$(jq -r .data.pids.limit <<<"$output")" = 60 ]
	[ "$(jq -r '.data.pids.current' <<<"$output")" -ge 1 ]

	berth delete -f ctr
	no_leftover "$CG"
}

@test "cgroups: berth and runc agree on update, pause, resume, events --stats, ps and kill --all" {
	requires runc
	berth_container ctr
	RUNC_ROOT="$TEST_DIR/runc"
	jq ".linux.cgroupsPath = \"$CG-runc\"" "$BUNDLE/config.json" >"$TEST_DIR/runc-config.json"
	mkdir -p "$TEST_DIR/rb" && cp "$TEST_DIR/runc-config.json" "$TEST_DIR/rb/config.json"
	jq -e . "$TEST_DIR/rb/config.json" >/dev/null
	jq --arg r "$BUNDLE/rootfs" '.root.path = $r' "$TEST_DIR/rb/config.json" >"$TEST_DIR/rb/c" && mv "$TEST_DIR/rb/c" "$TEST_DIR/rb/config.json"
	runc --root "$RUNC_ROOT" run -d --bundle "$TEST_DIR/rb" ref >/dev/null </dev/null

	for tool in berth runc; do
		if [ $tool = berth ]; then t=(berth) id=ctr; else t=(runc --root "$RUNC_ROOT") id=ref; fi
		"${t[@]}" update --memory 96M --memory-swap 192M --cpu-quota 30000 --cpu-period 100000 --pids-limit 33 $id
		"${t[@]}" events --stats $id | jq -S '.data | {m: .memory.usage.limit, s: .memory.swap.limit, p: .pids.limit, keys: (keys)}' >"$TEST_DIR/$tool.stats"
		"${t[@]}" pause $id
		"${t[@]}" state $id | jq -r .status >"$TEST_DIR/$tool.paused"
		"${t[@]}" resume $id
		"${t[@]}" ps --format json $id | jq length >"$TEST_DIR/$tool.ps"
		"${t[@]}" kill --all $id KILL
	done
	diff "$TEST_DIR/berth.stats" "$TEST_DIR/runc.stats"
	diff "$TEST_DIR/berth.paused" "$TEST_DIR/runc.paused"
	diff "$TEST_DIR/berth.ps" "$TEST_DIR/runc.ps"
	for _ in $(seq 50); do [ "$(berth state ctr | jq -r .status)" = stopped ] && break; sleep 0.1; done
	[ "$(berth state ctr | jq -r .status)" = stopped ]
	berth delete ctr
	no_leftover "$CG"
}

# unified_sc: the cgroup2 root's subtree_control (hybrid and v2), or "-" without cgroup2.
unified_sc() {
	if [ -f /sys/fs/cgroup/unified/cgroup.subtree_control ]; then
		cat /sys/fs/cgroup/unified/cgroup.subtree_control
	elif [ -f /sys/fs/cgroup/cgroup.subtree_control ]; then
		cat /sys/fs/cgroup/cgroup.subtree_control
	else
		echo -
	fi
}

@test "cgroups: berth create and delete leave every hierarchy as berth found it" {
	sc=$(unified_sc)
	P="/berth-leak-$$-$RANDOM"
	setup_bundle sleep 100
	# A nested path under a parent that does not exist: berth makes and removes all of it.
	update_config ".linux.cgroupsPath = \"$P/a/c1\""
	berth create --bundle "$BUNDLE" c1
	[ -d "/sys/fs/cgroup/memory$P/a/c1" ] || [ -d "/sys/fs/cgroup$P/a/c1" ]
	berth delete --force c1
	no_leftover "$P"
	# A parent berth did not make stays, even when empty.
	for h in /sys/fs/cgroup/*/; do
		[ -f "$h/cgroup.procs" ] || continue
		mkdir "$h${P#/}"
		# A cpuset cgroup needs cpus and mems before its children can take tasks.
		if [ -f "$h/cpuset.cpus" ]; then
			cat "$h/cpuset.cpus" >"$h${P#/}/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h${P#/}/cpuset.mems"
		fi
	done
	update_config ".linux.cgroupsPath = \"$P/c2\""
	berth create --bundle "$BUNDLE" c2
	berth delete --force c2
	for h in /sys/fs/cgroup/*/; do
		[ -f "$h/cgroup.procs" ] || continue
		[ -d "$h${P#/}" ] || fail "$h${P#/} was removed"
		[ ! -d "$h${P#/}/c2" ] || fail "$h${P#/}/c2 left behind"
		rmdir "$h${P#/}"
	done
	# The default /berth/<id>: both containers' directories go; /berth itself is berth's own
	# parent and stays (made once, not around every container: docs/cgroups.md), even when
	# this test had to make it.
	update_config 'del(.linux.cgroupsPath)'
	berth create --bundle "$BUNDLE" "d1-$$"
	berth create --bundle "$BUNDLE" "d2-$$"
	[ -d "/sys/fs/cgroup/memory/berth/d1-$$" ] || [ -d "/sys/fs/cgroup/berth/d1-$$" ]
	# Not listed among the directories delete may remove.
	! jq -r '.cgroup.removable[]?' "$ROOT/d1-$$/state.json" | grep -q '/berth$'
	berth delete --force "d1-$$"
	[ -d "/sys/fs/cgroup/memory/berth/d2-$$" ] || [ -d "/sys/fs/cgroup/berth/d2-$$" ]
	berth delete --force "d2-$$"
	no_leftover "/berth/d1-$$"
	no_leftover "/berth/d2-$$"
	[ -d /sys/fs/cgroup/memory/berth ] || [ -d /sys/fs/cgroup/berth ] || fail "/berth was removed"
	# Nothing above changed what cgroup2 delegates (hybrid: hugetlb stays free for v1).
	[ "$(unified_sc)" = "$sc" ]
}

@test "cgroups: on hybrid, hugetlb is enabled on cgroup2 only for a container with hugepage limits" {
	requires hybrid
	hugetlb_on_v2
	sc=$(unified_sc)
	P="/berth-huge-$$-$RANDOM"
	setup_bundle sleep 100
	update_config ".linux.cgroupsPath = \"$P/plain\""
	berth create --bundle "$BUNDLE" plain
	[ "$(cat "/sys/fs/cgroup/unified$P/cgroup.subtree_control")" = "" ]
	[ ! -e "/sys/fs/cgroup/unified$P/plain/hugetlb.2MB.max" ]
	berth delete --force plain
	update_config ".linux.cgroupsPath = \"$P/huge\" | .linux.resources.hugepageLimits = [{\"pageSize\": \"2MB\", \"limit\": 4194304}]"
	berth create --bundle "$BUNDLE" huge
	[ "$(cat "/sys/fs/cgroup/unified$P/huge/hugetlb.2MB.max")" = 4194304 ]
	[ "$(berth events --stats huge | jq -c '.data.hugetlb | keys')" = '["2MB"]' ]
	berth delete --force huge
	no_leftover "$P"
	[ "$(unified_sc)" = "$sc" ]
}

@test "cgroups: 200 berth create/delete --force cycles leave no cgroup behind" {
	setup_bundle sleep 100
	P="/berth-cyc-$$-$RANDOM"
	# Half the containers under the default /berth, half under a nested path of their own.
	B2="$TEST_DIR/bundle2"
	mkdir -p "$B2"
	# Each cycle makes $P, $P/x and the leaf, and delete removes all three.
	jq --arg r "$BUNDLE/rootfs" --arg p "$P/x/leaf" '.root.path = $r | .linux.cgroupsPath = $p' \
		"$BUNDLE/config.json" >"$B2/config.json"
	for i in $(seq 100); do
		berth create --bundle "$BUNDLE" "cyc-$$-$i"
		berth delete --force "cyc-$$-$i"
		berth create --bundle "$B2" "cyp-$$-$i"
		berth delete --force "cyp-$$-$i"
	done
	[ -z "$(ls -d /sys/fs/cgroup/*/berth/cyc-$$-* /sys/fs/cgroup/berth/cyc-$$-* 2>/dev/null)" ]
	no_leftover "$P"
	[ -z "$(berth list -q)" ]
}

@test "50 containers run in parallel under one new parent: every v1 cpuset is filled first" {
	# A new v1 cpuset refuses tasks (ENOSPC) until it has cpus and mems. In parallel, one
	# create makes the shared parent and another puts its child under it before the parent is
	# filled; each create must fill empty ancestors itself. bench/run's 50-way parallel run
	# failed this way with "write cgroup.procs ... No space left on device".
	setup_bundle true
	local parent="berth-par-$$-$RANDOM" i
	# one config per container (cgroupsPath differs), all under the same new parent
	for i in $(seq 50); do
		mkdir -p "$TEST_DIR/b$i"
		ln -s "$BUNDLE/rootfs" "$TEST_DIR/b$i/rootfs"
		jq ".linux.cgroupsPath = \"/$parent/c$i\" | .root.path = \"$BUNDLE/rootfs\"" "$BUNDLE/config.json" >"$TEST_DIR/b$i/config.json"
	done
	local pids=()
	for i in $(seq 50); do
		"$BERTH" --root "$ROOT" run -b "$TEST_DIR/b$i" "par$i" >"$TEST_DIR/par$i.log" 2>&1 </dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" # (a bare wait would also wait for Bats' own timeout watchdog)
	cat "$TEST_DIR"/par*.log
	[ -z "$(cat "$TEST_DIR"/par*.log)" ]
	# Every container is gone; the shared parent stays where a later container's delete did
	# not make it (docs/cgroups.md): removed here.
	[ -z "$(find "/sys/fs/cgroup/cpuset/$parent" -mindepth 1 -type d)" ]
	local d
	for d in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/unified/"$parent"; do
		[ -d "$d" ] && rmdir "$d"
	done
	true
}
