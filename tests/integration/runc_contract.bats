#!/usr/bin/env bats
# The runc contract as engines use it, replayed against berth with the argv shapes they send.
# containerd-shim-runc-v2 (containerd, CRI, and dockerd through containerd) runs
#   runc --root ROOT/NS --log BUNDLE/log.json --log-format json [--systemd-cgroup] CMD ...
# with create --bundle B --pid-file B/init.pid [--console-socket S] ID, start, state,
# kill [--all] ID SIGNUM, ps --format json, pause, resume, update --resources -, delete
# [--force]; it reads the last {"level":"error"} line of log.json for the error it reports,
# and matches error text: "container not running", "no such process", "does not exist"
# (containerd pkg/process checkKillError, Init.Delete, Init.Status). dockerd parses
# `--version` ("<name> version X", "commit:", "spec:"). podman/conmon pass the same create
# flags and --root=DIR (with '=').

load helpers

setup() {
	requires root
	setup_common
	setup_bundle sleep 1000
	LOG="$TEST_DIR/log.json"
	# dockerd gives the shim Root=EXECROOT/runtime-runc; the shim appends the namespace.
	SHIM_ROOT="$TEST_DIR/runtime-runc/moby"
	# Unique ids: the default cgroup is /berth/<id>, shared with every other test on the host.
	C1="rc$$-$BATS_TEST_NUMBER"
	C2="$C1-2"
}

teardown() {
	if [ -d "${SHIM_ROOT:-/nonexistent}" ]; then
		local id
		for id in $("$BERTH" --root "$SHIM_ROOT" list -q 2>/dev/null); do
			"$BERTH" --root "$SHIM_ROOT" resume "$id" >/dev/null 2>&1 || true
			"$BERTH" --root "$SHIM_ROOT" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	teardown_common
}

# shim ARGS...: berth with the global flags containerd-shim-runc-v2 passes.
shim() { "$BERTH" --root "$SHIM_ROOT" --log "$LOG" --log-format json "$@"; }

# A 64-hex id as dockerd makes them.
docker_id() { printf '%064x' "$((RANDOM * 32768 + RANDOM))"; }

# check_json_log FILE: every line is a JSON object with level, msg and an RFC 3339 time
# (Go's time.Time decoding, which containerd uses, rejects anything else).
check_json_log() {
	python3 - "$1" <<-'EOF'
		import json, re, sys
		lines = open(sys.argv[1]).read().splitlines()
		assert lines, "empty log"
		for l in lines:
		    o = json.loads(l)
		    assert set(o) >= {"level", "msg", "time"}, o
		    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", o["time"]), o
	EOF
}

@test "--version: '<name> version X.Y.Z' then 'spec: X.Y.Z', as dockerd and go-runc parse it" {
	run "$BERTH" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$output" =~ (^|$'\n')spec:\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	run "$BERTH" -v
	[[ "${lines[0]}" =~ ^berth\ version ]]
}

@test "shim argv: create --bundle --pid-file, state, start, kill SIGNUM, delete" {
	local id pid
	id=$(docker_id)
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$id"
	[ -d "$SHIM_ROOT" ]
	pid=$(cat "$BUNDLE/init.pid")
	run shim state "$id"
	[ "$status" -eq 0 ]
	# The fields go-runc's State reads.
	[ "$(jq -r .id <<<"$output")" = "$id" ]
	[ "$(jq -r .status <<<"$output")" = created ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .rootfs <<<"$output")" = "$BUNDLE/rootfs" ]
	jq -e '.created | test("^[0-9]{4}-")' <<<"$output" >/dev/null
	shim start "$id"
	[ "$(shim state "$id" | jq -r .status)" = running ]
	shim kill "$id" 9
	for _ in $(seq 50); do [ "$(shim state "$id" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	[ "$(shim state "$id" | jq -r .status)" = stopped ]
	shim delete "$id"
	[ ! -e "$SHIM_ROOT/$id" ]
	# Nothing failed, so the log holds no error line.
	! grep -q '"level":"error"' "$LOG" 2>/dev/null
}

@test "podman's argv: --root=DIR with '=' and signal numbers as strings" {
	"$BERTH" --root="$SHIM_ROOT" create --bundle "$BUNDLE" --pid-file "$TEST_DIR/pidfile" "$C1"
	"$BERTH" --root="$SHIM_ROOT" start "$C1"
	"$BERTH" --root="$SHIM_ROOT" kill "$C1" 15
	"$BERTH" --root="$SHIM_ROOT" kill "$C1" SIGKILL
	"$BERTH" --root="$SHIM_ROOT" delete --force "$C1"
	run "$BERTH" --root="$SHIM_ROOT" state "$C1"
	[ "$status" -ne 0 ]
}

@test "--log FILE --log-format json: errors are JSON lines appended to the file the shim names" {
	run shim state nosuch
	[ "$status" -eq 1 ]
	# go-runc puts the command's output into its error: the text must be there too.
	[[ "$output" == *"does not exist"* ]]
	run shim kill nosuch 9
	[ "$status" -eq 1 ]
	[ "$(grep -c '"level":"error"' "$LOG")" -eq 2 ]
	check_json_log "$LOG"
	# containerd reports the last error line's msg.
	[[ "$(tail -1 "$LOG" | jq -r .msg)" == *"does not exist"* ]]
}

@test "a create failure leaves its reason as the last error in log.json" {
	update_config '.process.args = ["/no/such/binary"]'
	run shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	[ "$status" -ne 0 ]
	check_json_log "$LOG"
	local msg
	msg=$(grep '"level":"error"' "$LOG" | tail -1 | jq -r .msg)
	[[ "$msg" == *"/no/such/binary"* ]]
	[ -z "$("$BERTH" --root "$SHIM_ROOT" list -q)" ]
}

@test "error text engines match: container not running, does not exist" {
	# kill of a stopped container -> checkKillError's "container not running" (ErrNotFound).
	update_config '.process.args = ["true"]'
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	for _ in $(seq 50); do [ "$(shim state "$C1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	run shim kill "$C1" 15
	[ "$status" -eq 1 ]
	[[ "$output" == *"container not running"* ]]
	shim delete "$C1"
	# kill, delete and state of a missing container -> "does not exist" (Init.Delete and
	# Init.Status treat it as already gone).
	for cmd in "kill $C1 9" "delete $C1" "state $C1" "pause $C1" "resume $C1" "ps --format json $C1"; do
		run shim $cmd
		echo "$cmd: $status $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"does not exist"* ]]
	done
	# delete --force of a missing container succeeds, as runc's does.
	shim delete --force "$C1"
}

@test "kill --all signals every process of the container" {
	update_config '.process.args = ["sh", "-c", "sleep 1001 & sleep 1002 & wait"]'
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	local pid kids
	pid=$(cat "$BUNDLE/init.pid")
	for _ in $(seq 50); do [ "$(pgrep -c -P "$pid")" -eq 2 ] && break; sleep 0.1; done
	kids=$(pgrep -P "$pid")
	[ -n "$kids" ]
	shim kill --all "$C1" 9
	local k
	for _ in $(seq 50); do
		local alive=0
		for k in $kids; do [ "$(awk '/^State:/ { print $2 }' "/proc/$k/status" 2>/dev/null)" = "" ] ||
			[ "$(awk '/^State:/ { print $2 }' "/proc/$k/status" 2>/dev/null)" = Z ] || alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	[ $alive -eq 0 ]
	shim delete --force "$C1"
}

@test "delete --force on a created container removes it, its init and its cgroup" {
	local id pid cg
	id=$(docker_id)
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$id"
	pid=$(cat "$BUNDLE/init.pid")
	cg=$(awk -F: '$2 == "pids" || ($1 == "0" && $2 == "") { print $3; exit }' "/proc/$pid/cgroup")
	shim delete --force "$id"
	run shim state "$id"
	[[ "$output" == *"does not exist"* ]]
	# The init is gone (a zombie waiting for a reaper that is not berth's at most).
	local st
	st=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	[ -z "$st" ] || [ "$st" = Z ]
	if [ -d /sys/fs/cgroup/pids ]; then
		[ ! -d "/sys/fs/cgroup/pids$cg" ]
	fi
}

@test "ps --format json lists the container's host pids as a JSON array" {
	update_config '.process.args = ["sh", "-c", "sleep 1001 & wait"]'
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	local pid
	pid=$(cat "$BUNDLE/init.pid")
	for _ in $(seq 50); do [ "$(pgrep -c -P "$pid")" -eq 1 ] && break; sleep 0.1; done
	run shim ps --format json "$C1"
	[ "$status" -eq 0 ]
	jq -e 'type == "array" and all(.[]; type == "number")' <<<"$output" >/dev/null
	jq -e --argjson p "$pid" 'index($p) != null' <<<"$output" >/dev/null
	jq -e --argjson p "$(pgrep -P "$pid")" 'index($p) != null' <<<"$output" >/dev/null
	[ "$(jq length <<<"$output")" -eq 2 ]
}

@test "events --stats: one runc-shaped stats event with the cgroup's numbers" {
	update_config '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 77}}'
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	run shim events --stats "$C1"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .type <<<"$output")" = stats ]
	[ "$(jq -r .id <<<"$output")" = "$C1" ]
	[ "$(jq -r .data.pids.current <<<"$output")" = 1 ]
	if [ -d /sys/fs/cgroup/memory ]; then
		[ "$(jq -r .data.pids.limit <<<"$output")" = 77 ] || [ "$(jq -r .data.pids.limit <<<"$output")" = null ]
		[ "$(jq -r .data.memory.usage.limit <<<"$output")" = 67108864 ]
	fi
	jq -e '.data.cpu.usage.total >= 0' <<<"$output" >/dev/null
}

@test "update --resources - reads LinuxResources JSON on stdin, as go-runc sends it" {
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	local pid
	pid=$(cat "$BUNDLE/init.pid")
	echo '{"memory":{"limit":33554432},"pids":{"limit":33},"cpu":{"quota":20000,"period":100000}}' |
		shim update --resources - "$C1"
	if [ -d /sys/fs/cgroup/memory ]; then
		local m p c
		m=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
		p=$(awk -F: '$2 == "pids" { print $3 }' "/proc/$pid/cgroup")
		c=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' "/proc/$pid/cgroup")
		[ "$(cat "/sys/fs/cgroup/memory$m/memory.limit_in_bytes")" = 33554432 ]
		[ "$(cat "/sys/fs/cgroup/pids$p/pids.max")" = 33 ]
		[ "$(cat /sys/fs/cgroup/cpu*"$c"/cpu.cfs_quota_us | head -1)" = 20000 ]
	else
		local g
		g=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		[ "$(cat "/sys/fs/cgroup$g/memory.max")" = 33554432 ]
		[ "$(cat "/sys/fs/cgroup$g/pids.max")" = 33 ]
	fi
	# A malformed document names the problem and changes nothing.
	run shim update --resources - "$C1" <<<'{"memory":{"limit":"lots"}}'
	[ "$status" -ne 0 ]
	[[ "$output" == *memory* ]]
}

@test "stdio: create hands the engine's pipes to the container, which outlives create" {
	update_config '.process.args = ["sh", "-c", "read x; echo got-$x; echo to-stderr >&2"]'
	# The pipes stay open until the container closes them: cat ends when it exits.
	{
		echo from-engine | shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1" \
			2>"$TEST_DIR/err"
		shim start "$C1"
	} | cat >"$TEST_DIR/out"
	[ "$(cat "$TEST_DIR/out")" = got-from-engine ]
	[ "$(cat "$TEST_DIR/err")" = to-stderr ]
}

@test "console socket: create --console-socket sends the pty master, as the shim's -t does" {
	local recv="$BERTH_BUILD/tests/recvtty"
	[ -x "$recv" ] || skip "recvtty helper not built"
	update_config '.process.terminal = true | .process.args = ["sh", "-c", "test -t 0 && echo tty-ok"]'
	"$recv" "$TEST_DIR/pty.sock" >"$TEST_DIR/tty.out" 2>&1 &
	local rp=$!
	for _ in $(seq 50); do [ -S "$TEST_DIR/pty.sock" ] && break; sleep 0.1; done
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" --console-socket "$TEST_DIR/pty.sock" "$C1"
	shim start "$C1"
	wait "$rp"
	grep -q tty-ok "$TEST_DIR/tty.out"
}

@test "exit codes: run returns the process's status, 128+N when killed by signal N" {
	update_config '.process.args = ["sh", "-c", "exit 42"]'
	run "$BERTH" --root "$SHIM_ROOT" run -b "$BUNDLE" "$C1"
	[ "$status" -eq 42 ]
	update_config '.process.args = ["sleep", "1000"]'
	"$BERTH" --root "$SHIM_ROOT" run -b "$BUNDLE" "$C2" &
	local rp=$!
	for _ in $(seq 50); do [ "$("$BERTH" --root "$SHIM_ROOT" state "$C2" 2>/dev/null | jq -r .status)" = running ] && break; sleep 0.1; done
	"$BERTH" --root "$SHIM_ROOT" kill "$C2" KILL
	local rc=0
	wait "$rp" || rc=$?
	[ "$rc" -eq 137 ]
	# An unknown command or flag is a usage error with status 1, as runc's.
	run "$BERTH" nosuchcommand
	[ "$status" -eq 1 ]
	run "$BERTH" --root "$SHIM_ROOT" kill --nosuchflag "$C1"
	[ "$status" -ne 0 ]
}

@test "pause/resume through the shim's argv: state shows paused, then running" {
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	shim pause "$C1"
	[ "$(shim state "$C1" | jq -r .status)" = paused ]
	shim resume "$C1"
	[ "$(shim state "$C1" | jq -r .status)" = running ]
	# Pausing a stopped container is an error containerd shows as such.
	shim kill "$C1" 9
	for _ in $(seq 50); do [ "$(shim state "$C1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	run shim pause "$C1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
}

@test "features: the JSON document dockerd reads at start-up" {
	run "$BERTH" features
	[ "$status" -eq 0 ]
	jq -e '.ociVersionMin == "1.0.0" and (.ociVersionMax | test("^1\\.")) and
		(.linux.namespaces | index("user") != null) and (.hooks | length > 0)' <<<"$output" >/dev/null
}

@test "create --no-pivot (dockerd with DOCKER_RAMDISK) runs the container" {
	update_config '.process.args = ["sh", "-c", "echo no-pivot-ok"]'
	shim create --no-pivot --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1" >"$TEST_DIR/out"
	shim start "$C1"
	for _ in $(seq 50); do [ "$(shim state "$C1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	[ "$(cat "$TEST_DIR/out")" = no-pivot-ok ]
	shim delete "$C1"
}

@test "--systemd-cgroup without a reachable systemd: one clear error, nothing left" {
	[ -S /run/systemd/private ] && skip "systemd runs here; the engine tests cover it"
	run "$BERTH" --root "$SHIM_ROOT" --log "$LOG" --log-format json --systemd-cgroup \
		create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	[ "$status" -eq 1 ]
	[[ "$output" == *systemd* ]]
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$("$BERTH" --root "$SHIM_ROOT" list -q)" ]
	[[ "$(grep '"level":"error"' "$LOG" | tail -1 | jq -r .msg)" == *systemd* ]]
}

# Needs `berth exec`.
@test "exec --process FILE --detach --pid-file, as the shim and conmon run it" {
	shim create --bundle "$BUNDLE" --pid-file "$BUNDLE/init.pid" "$C1"
	shim start "$C1"
	local init epid
	init=$(cat "$BUNDLE/init.pid")
	cat >"$TEST_DIR/process.json" <<-'EOF'
		{"args": ["sh", "-c", "echo exec-ok; sleep 1000"], "cwd": "/", "user": {"uid": 0, "gid": 0},
		 "env": ["PATH=/bin:/usr/bin"], "terminal": false}
	EOF
	shim exec --process "$TEST_DIR/process.json" --detach --pid-file "$TEST_DIR/exec.pid" "$C1" \
		>"$TEST_DIR/exec.out"
	epid=$(cat "$TEST_DIR/exec.pid")
	[ "$(readlink "/proc/$epid/ns/pid")" = "$(readlink "/proc/$init/ns/pid")" ]
	[ "$(readlink "/proc/$epid/ns/mnt")" = "$(readlink "/proc/$init/ns/mnt")" ]
	run shim ps --format json "$C1"
	jq -e --argjson p "$epid" 'index($p) != null' <<<"$output" >/dev/null
	for _ in $(seq 50); do grep -q exec-ok "$TEST_DIR/exec.out" && break; sleep 0.1; done
	grep -q exec-ok "$TEST_DIR/exec.out"
	# exec into a stopped container is refused with runc's words.
	shim kill "$C1" 9
	for _ in $(seq 50); do [ "$(shim state "$C1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
	run shim exec --process "$TEST_DIR/process.json" --detach "$C1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]] || [[ "$output" == *stopped* ]]
}
