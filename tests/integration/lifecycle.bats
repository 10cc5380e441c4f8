#!/usr/bin/env bats
# The container lifecycle through runc's command line: create/start/state/kill/delete, run,
# list, ps, spec, and the error paths engines depend on.

load helpers

setup() {
	requires root
	setup_common
	setup_bundle sleep 100
}
teardown() { teardown_common; }

# status ID: prints the status field of `berth state`.
status_of() {
	"$BERTH" --root "$ROOT" state "$1" | jq -r .status
}

status_pid() {
	"$BERTH" --root "$ROOT" state "$1" | jq -r .pid
}

# wait_status ID STATUS: polls up to 5 s.
wait_status() {
	local i
	for i in $(seq 50); do
		[ "$(status_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "container $1 never reached $2 (is $(status_of "$1"))"
}

@test "runc's usage verbatim: create, start, state, kill, delete" {
	cd "$BUNDLE"
	berth create x </dev/null >/dev/null 2>&1
	run berth state x
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .id <<<"$output")" = x ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .rootfs <<<"$output")" = "$BUNDLE/rootfs" ]
	[ "$(jq -r .ociVersion <<<"$output")" = 1.2.0 ]
	pid=$(jq -r .pid <<<"$output")
	[ -d /proc/$pid ]
	# The created init is blocked before exec: it is still berth, not sleep.
	# (berth runs from a read-only mount of its binary, same inode, or from a sealed memfd.)
	[ "$(stat -L -c %i /proc/$pid/exe)" = "$(stat -c %i "$BERTH")" ] ||
		[[ "$(readlink /proc/$pid/exe)" == /memfd:berth* ]]
	berth start x
	[ "$(status_of x)" = running ]
	[ "$(cat /proc/$pid/comm)" = sleep ]
	berth kill x KILL
	wait_status x stopped
	run berth state x
	[ "$(jq -r .pid <<<"$output")" = 0 ]
	berth delete x
	[ ! -e "$ROOT/x" ]
	[ ! -d /proc/$pid ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
}

@test "berth spec && berth run demo (foreground, exit status is the container's)" {
	rm "$BUNDLE/config.json"
	cd "$BUNDLE"
	run "$BERTH" spec
	[ "$status" -eq 0 ]
	[ -f config.json ]
	run "$BERTH" spec
	[ "$status" -ne 0 ]
	[[ "$output" == *"exists"* ]]
	update_config '.process.terminal = false | .process.args = ["sh", "-c", "echo hello from $(hostname); exit 3"]'
	run berth run demo
	[ "$status" -eq 3 ]
	[ "$output" = "hello from $(jq -r .hostname config.json)" ]
	# The container is gone after a foreground run.
	[ ! -e "$ROOT/demo" ]
}

@test "run: killed by a signal gives 128+signal" {
	# Not pid 1 of a pid namespace, which SIGKILL from inside cannot kill.
	update_config '.process.args = ["sh", "-c", "kill -9 $$"] | .linux.namespaces |= map(select(.type != "pid"))'
	run berth run -b "$BUNDLE" sig
	[ "$status" -eq 137 ]
}

@test "run --keep leaves a stopped container; --detach returns at once" {
	update_config '.process.args = ["true"]'
	run berth run --keep -b "$BUNDLE" kept
	[ "$status" -eq 0 ]
	[ "$(status_of kept)" = stopped ]
	berth delete kept
	update_config '.process.args = ["sleep", "100"]'
	berth run -d -b "$BUNDLE" det </dev/null >/dev/null 2>&1
	[ "$(status_of det)" = running ]
	berth delete -f det
	[ ! -e "$ROOT/det" ]
}

@test "run forwards signals to the container" {
	update_config '.process.args = ["sh", "-c", "trap \"exit 42\" TERM; echo ready > /tmp/ready; while :; do sleep 0.1; done"]'
	"$BERTH" --root "$ROOT" run -b "$BUNDLE" fwd </dev/null >"$TEST_DIR/out" 2>&1 &
	local bg=$!
	for i in $(seq 50); do [ -e "$BUNDLE/rootfs/tmp/ready" ] && break; sleep 0.1; done
	kill -TERM $bg
	wait $bg || rc=$?
	[ "${rc:-0}" -eq 42 ]
}

@test "list: table, json, quiet" {
	run berth list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]]
	run berth list --format json
	[ "$output" = null ]
	berth create -b "$BUNDLE" one </dev/null >/dev/null 2>&1
	berth create -b "$BUNDLE" two </dev/null >/dev/null 2>&1
	run berth list -q
	[ "$output" = "$(printf 'one\ntwo')" ]
	run berth list
	[[ "${lines[1]}" =~ ^one\ +[0-9]+\ +created\ +$BUNDLE\ +[0-9T:.-]+Z\ +root$ ]]
	run berth list -f json
	[ "$(jq -r '.[1].id' <<<"$output")" = two ]
	[ "$(jq -r '.[0].status' <<<"$output")" = created ]
	[ "$(jq -r '.[0].owner' <<<"$output")" = root ]
}

@test "ps: json pids and a ps table of the container's processes" {
	update_config '.process.args = ["sh", "-c", "sleep 100 & sleep 101; true"]'
	berth run -d -b "$BUNDLE" p </dev/null >/dev/null 2>&1
	pid=$("$BERTH" --root "$ROOT" state p | jq .pid)
	for i in $(seq 50); do
		[ "$(berth ps -f json p | jq length)" -ge 3 ] && break
		sleep 0.1
	done
	run berth ps --format json p
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" -eq 3 ]
	jq -e "index($pid)" <<<"$output"
	run berth ps p
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == UID*PID*CMD ]]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" == *"sleep 101"* ]]
	run berth ps p -- -o pid,comm
	[[ "${lines[0]}" == *PID*COMMAND* ]]
}

@test "kill: signal by name, SIG-name and number; --all; stopped container" {
	berth run -d -b "$BUNDLE" k </dev/null >/dev/null 2>&1
	run berth kill k NOPE
	[ "$status" -ne 0 ]
	[[ "$output" == *"NOPE"* ]]
	berth kill k 0
	berth kill k SIGCONT
	# pid 1 of a pid namespace ignores signals it has no handler for: KILL for --all.
	berth kill --all k KILL
	wait_status k stopped
	run berth kill k KILL
	[ "$status" -ne 0 ]
	[ "$output" = "berth: container not running" ]
}

@test "error: missing bundle, bad config.json — one line, nothing under --root" {
	run berth create -b "$TEST_DIR/nope" a
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *nope* ]]
	echo '{"ociVersion": "1.0.2", "process": {"args": 3}}' >"$BUNDLE/config.json"
	run berth create -b "$BUNDLE" a
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *config.json* ]]
	echo 'not json' >"$BUNDLE/config.json"
	run berth run -b "$BUNDLE" a
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "error: a failing process setup leaves nothing behind" {
	update_config '.process.args = ["/no/such/binary"]'
	run berth create -b "$BUNDLE" a
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"/no/such/binary"* ]]
	update_config '.process.args = ["sh"] | .process.cwd = "relative"'
	run berth create -b "$BUNDLE" a
	[ "$status" -ne 0 ]
	[[ "$output" == *process.cwd* ]]
	[ -z "$(ls -A "$ROOT")" ]
	[ ! -d /sys/fs/cgroup/pids/berth/a ]
}

# sigkills_sent CMD...: strace's lines for the SIGKILLs CMD sent. On a failure path each must
# go through a pidfd and reach a live child: a kill(2) answered ESRCH named a pid berth had
# already reaped, which by then may belong to an unrelated process (issue 16, defect 1).
sigkills_sent() {
	strace -f -qq -e trace=kill,tgkill,pidfd_send_signal -e signal=none -o "$TEST_DIR/trace" \
		"$@" >/dev/null 2>&1 || true
	grep SIGKILL "$TEST_DIR/trace" || true
}

# only_live_pidfd_kills: $output (sigkills_sent's) is non-empty, all pidfd_send_signal = 0.
only_live_pidfd_kills() {
	echo "$output"
	[ -n "$output" ]
	[ -z "$(grep -v 'pidfd_send_signal(.*SIGKILL.*) = 0$' <<<"$output")" ]
}

@test "error: failures after stage1 is reaped signal only live children, by pidfd" {
	# A createRuntime hook fails in the parent, after stage1 has exited and been reaped.
	update_config '.hooks.createRuntime = [{"path": "/bin/false"}]'
	run sigkills_sent "$BERTH" --root "$ROOT" create -b "$BUNDLE" k1
	only_live_pidfd_kills
	[ -z "$(ls -A "$ROOT")" ]
	# The init fails (no such binary): it reports and exits; berth kills and reaps it.
	update_config 'del(.hooks) | .process.args = ["/no/such/binary"]'
	run sigkills_sent "$BERTH" --root "$ROOT" create -b "$BUNDLE" k2
	only_live_pidfd_kills
	[ -z "$(ls -A "$ROOT")" ]
	# exec's process fails the same way, in a running container.
	update_config '.process.args = ["sleep", "100"]'
	berth run -d -b "$BUNDLE" k3 </dev/null >/dev/null 2>&1
	run sigkills_sent "$BERTH" --root "$ROOT" exec k3 /no/such/binary
	only_live_pidfd_kills
	[ "$(berth state k3 | jq -r .status)" = running ]
}

@test "run works when the caller ignores SIGCHLD (the disposition survives execve)" {
	update_config '.process.args = ["sh", "-c", "exit 3"]'
	run python3 -c 'import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])' "$BERTH" --root "$ROOT" run -b "$BUNDLE" ign
	echo "$output"
	[ "$status" -eq 3 ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "error: unknown id, start twice, delete running without force" {
	run berth state nope
	[ "$status" -ne 0 ]
	[ "$output" = "berth: container does not exist" ]
	run berth start nope
	[ "$output" = "berth: container does not exist" ]
	run berth kill nope
	[ "$output" = "berth: container does not exist" ]
	run berth delete nope
	[ "$status" -ne 0 ]
	[ "$output" = "berth: container does not exist" ]
	berth delete -f nope
	berth create -b "$BUNDLE" x </dev/null >/dev/null 2>&1
	berth start x
	run berth start x
	[ "$status" -ne 0 ]
	[ "$output" = "berth: cannot start an already running container" ]
	run berth delete x
	[ "$status" -ne 0 ]
	[ "$output" = "berth: cannot delete container x that is not stopped: running" ]
	berth delete --force x
	[ -z "$(ls -A "$ROOT")" ]
}

@test "delete --force of a half-made container (no state.json) removes its directory" {
	# What a create killed before it saved its state leaves behind.
	mkdir -p "$ROOT/half"
	touch "$ROOT/half/start.sock"
	run berth delete half
	[ "$status" -ne 0 ]
	[ "$output" = "berth: container does not exist" ]
	[ -d "$ROOT/half" ]
	berth delete --force half
	[ ! -e "$ROOT/half" ]
}

@test "delete without force removes a created container" {
	berth create -b "$BUNDLE" c </dev/null >/dev/null 2>&1
	pid=$(berth state c | jq .pid)
	berth delete c
	[ ! -e "$ROOT/c" ]
	# gone, or a zombie its new parent has not reaped yet
	[ ! -e /proc/$pid ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
}

@test "two concurrent creates of the same id: one wins" {
	# (a separate shell: bats' own timeout watchdog is a background job of the test's shell)
	run bash -c '
		"$1" --root "$2" create -b "$3" same </dev/null >"$4/a" 2>&1 &
		p1=$!
		"$1" --root "$2" create -b "$3" same </dev/null >"$4/b" 2>&1 &
		p2=$!
		wait $p1; r1=$?
		wait $p2; r2=$?
		echo $((r1 + r2))' _ "$BERTH" "$ROOT" "$BUNDLE" "$TEST_DIR"
	[ "$output" = 1 ]
	cat "$TEST_DIR/a" "$TEST_DIR/b" | grep -q "container with id exists: same"
	[ "$(status_of same)" = created ]
	[ "$(berth list -q)" = same ]
}

@test "state after the init exits is stopped, and a lost state dir means no container" {
	update_config '.process.args = ["true"]'
	berth create -b "$BUNDLE" s </dev/null >/dev/null 2>&1
	berth start s
	wait_status s stopped
	rm -rf "$ROOT/s"
	# what a reboot would also take: the (empty) cgroup
	find /sys/fs/cgroup -depth -type d -path '*/berth/s' -exec rmdir {} + 2>/dev/null || true
	run berth state s
	[ "$output" = "berth: container does not exist" ]
}

@test "--pid-file holds the init pid" {
	berth create -b "$BUNDLE" --pid-file "$TEST_DIR/pid" pf </dev/null >/dev/null 2>&1
	[ "$(cat "$TEST_DIR/pid")" = "$(berth state pf | jq .pid)" ]
}

@test "invalid ids are refused" {
	run berth create -b "$BUNDLE" ../evil
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid container id"* ]]
	[ ! -e "$ROOT/../evil" ]
}

@test "--no-pivot leaves no host proc or sysfs mount in the container's namespace" {
	# listmount(2) sees mounts a chroot hides from mountinfo; the container's own /proc,
	# /sys and their read-only sub-binds must be all that is left, as with pivot_root.
	cd "$BUNDLE"
	berth create p </dev/null >/dev/null 2>&1
	berth create --no-pivot np </dev/null >/dev/null 2>&1
	pivot=$(python3 "$BERTH_SRC/tests/helpers/ns_mounts.py" "$(status_pid p)" | grep -cE '^(proc|sysfs)$')
	nopivot=$(python3 "$BERTH_SRC/tests/helpers/ns_mounts.py" "$(status_pid np)" | grep -cE '^(proc|sysfs)$')
	echo "pivot=$pivot no-pivot=$nopivot"
	[ "$pivot" -ge 2 ]
	[ "$nopivot" -eq "$pivot" ]
	berth start np
	wait_status np running
	berth delete --force p
	berth delete --force np
}

@test "soak: 100 create/start/delete cycles, sequential and in batches of 20, leak nothing" {
	# bench/soak counts what the cycles left behind: fds that reached a container, mounts,
	# cgroup directories, processes, state directories; it exits 1 on any. The full soak
	# (1000 cycles) is `bench/soak`, outside CI.
	run env BERTH="$BERTH" BUSYBOX="$(command -v busybox)" "$BERTH_SRC/bench/soak" 100
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"failed: 0"* ]]
	[[ "$output" == *"leaked: runtime fds in the container 0, mounts 0, cgroup dirs 0, processes 0, state dirs 0"* ]]
}
