#!/usr/bin/env bats
# containerd (Debian's 1.6) drives berth through containerd-shim-runc-v2, the shim Kubernetes'
# CRI plugin uses too: `ctr run --runc-binary $BERTH`. The file starts its own containerd
# (private root, state, sockets; the CRI plugin disabled) and checks what the container did:
# output, exit codes, terminal, signals, freezer state, cgroup metrics, exec.

load helpers
load engines

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null ||
		skip "containerd is not installed (scripts/install-deps engines)"
	command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 is missing"
	[ "$(id -u)" -eq 0 ] || skip "the containerd tests run rootful"
	export CD NS
	CD=$(engine_dir)
	NS="berth-test-$$"
	cat >"$CD/config.toml" <<-EOF
		version = 2
		root = "$CD/root"
		state = "$CD/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CD/containerd.sock"
		[ttrpc]
		  address = "$CD/containerd.sock.ttrpc"
		[debug]
		  address = "$CD/debug.sock"
	EOF
	containerd --config "$CD/config.toml" >"$CD/containerd.log" 2>&1 &
	echo $! >"$CD/containerd.pid"
	wait_for ctr -a "$CD/containerd.sock" version
	make_engine_image "$CD/image"
	cr image import "$CD/image/busybox.tar" >/dev/null || fail "ctr image import failed"
}

teardown_file() {
	[ -n "${CD:-}" ] || return 0
	if [ -f "$CD/containerd.pid" ]; then
		local id
		for id in $(cr task ls -q 2>/dev/null); do
			cr task resume "$id" >/dev/null 2>&1 || true
			cr task kill -a -s KILL "$id" >/dev/null 2>&1 || true
		done
		sleep 0.5
		for id in $(cr container ls -q 2>/dev/null); do
			cr task rm -f "$id" >/dev/null 2>&1 || true
			cr container rm "$id" >/dev/null 2>&1 || true
		done
		cr image rm "$ENGINE_IMAGE" >/dev/null 2>&1 || true
		local pid
		pid=$(cat "$CD/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	findmnt -rn -o TARGET | grep "^$CD/" | sort -r | while read -r m; do umount -l "$m" || true; done
	# ctr puts each container's cgroup under /<namespace>/; the shim removes the leaves.
	local d
	for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	rm -rf "$CD"
}

setup() {
	setup_common
	ID="bt-$BATS_TEST_NUMBER-$$"
}

teardown() {
	cr task resume "$ID" >/dev/null 2>&1 || true
	cr task kill -a -s KILL "$ID" >/dev/null 2>&1 || true
	for _ in $(seq 30); do
		cr task rm -f "$ID" >/dev/null 2>&1 && break
		cr task ls -q 2>/dev/null | grep -qx "$ID" || break
		sleep 0.1
	done
	cr container rm "$ID" >/dev/null 2>&1 || true
	teardown_common
}

cr() { ctr -a "$CD/containerd.sock" -n "$NS" "$@"; }

# crun_ ARGS...: `ctr run` with berth as the shim's runtime and its state under $CD.
crun_() { cr run --runc-binary "$BERTH" --runc-root "$CD/berth" "$@"; }

task_status() { cr task ls | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { cr task ls | awk -v id="$1" '$1 == id { print $2 }'; }

@test "ctr run: output and exit code of a container the shim created with berth" {
	run crun_ --rm "$ENGINE_IMAGE" "$ID" sh -c 'echo out-$((6*7)); echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" == *out-42* ]]
	[[ "$output" == *err* ]]
	# The shim ran berth with its --root: the container's state directory was there.
	[ -d "$CD/berth/$NS" ]
}

@test "ctr run -d: task ls and berth state agree; task kill delivers SIGTERM" {
	crun_ -d "$ENGINE_IMAGE" "$ID" sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done'
	[ "$(task_status "$ID")" = RUNNING ]
	local pid
	pid=$(task_pid "$ID")
	run "$BERTH" --root "$CD/berth/$NS" state "$ID"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	# task ps goes through `berth ps --format json`.
	run cr task ps "$ID"
	[[ "$output" == *"$pid"* ]]
	cr task kill "$ID"
	wait_for sh -c "ctr -a $CD/containerd.sock -n $NS task ls | grep -q '^$ID .*STOPPED'"
	run cr task rm "$ID"
	[[ "$output" == *"exit code 3"* ]]
}

@test "ctr task kill --all: every process of the container gets the signal" {
	crun_ -d "$ENGINE_IMAGE" "$ID" sh -c 'sleep 1001 & sleep 1002 & wait'
	local pid
	pid=$(task_pid "$ID")
	wait_for sh -c "[ \$(pgrep -c -P $pid) -eq 2 ]"
	local kids
	kids=$(pgrep -P "$pid")
	cr task kill -a -s KILL "$ID"
	wait_for sh -c "ctr -a $CD/containerd.sock -n $NS task ls | grep -q '^$ID .*STOPPED'"
	local k
	for k in $kids; do ! kill -0 "$k" 2>/dev/null; done
}

@test "ctr run -t: a terminal whose size and input reach the container" {
	# ctr sends the window size after start (runc's race too), hence the sleep.
	run bash -c "printf 'sleep 1; stty size; test -t 0 && echo is-a-tty; echo typed-\$((2+3))\nexit 5\n' |
		timeout 60 script -qec 'stty rows 31 cols 97; ctr -a $CD/containerd.sock -n $NS run \
		--runc-binary $BERTH --runc-root $CD/berth --rm -t $ENGINE_IMAGE $ID sh' /dev/null"
	[ "$status" -eq 5 ]
	[[ "$output" == *"31 97"* ]]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *typed-5* ]]
}

@test "ctr task pause/resume: PAUSED in task ls and a frozen cgroup" {
	crun_ -d "$ENGINE_IMAGE" "$ID" sleep 1000
	local pid
	pid=$(task_pid "$ID")
	cr task pause "$ID"
	[ "$(task_status "$ID")" = PAUSED ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cgroup_file "$pid" freezer freezer.state)" = FROZEN ]
	else
		[ "$(cgroup_file "$pid" x cgroup.freeze)" = 1 ]
	fi
	run "$BERTH" --root "$CD/berth/$NS" state "$ID"
	[ "$(jq -r .status <<<"$output")" = paused ]
	cr task resume "$ID"
	[ "$(task_status "$ID")" = RUNNING ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cgroup_file "$pid" freezer freezer.state)" = THAWED ]
	fi
}

@test "ctr task metrics: the limits berth set, read back by the shim from the cgroup" {
	crun_ -d --memory-limit 67108864 --cpus 0.5 "$ENGINE_IMAGE" "$ID" \
		sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000'
	local pid
	pid=$(task_pid "$ID")
	if [ -d /sys/fs/cgroup/memory ]; then
		[ "$(cgroup_file "$pid" memory memory.limit_in_bytes)" = 67108864 ]
		[ "$(cgroup_file "$pid" cpu cpu.cfs_quota_us)" = 50000 ]
		run cr task metrics "$ID"
		[ "$status" -eq 0 ]
		[[ "$output" == *"memory.limit_in_bytes"*67108864* ]]
		local pids
		pids=$(awk '$1 == "pids.current" { print $2 }' <<<"$output")
		[ "$pids" = "$(cgroup_file "$pid" pids pids.current)" ]
		local usage
		usage=$(awk '$1 == "cpuacct.usage" { print $2 }' <<<"$output")
		[ "$usage" -gt 0 ]
	else
		[ "$(cgroup_file "$pid" x memory.max)" = 67108864 ]
		run cr task metrics "$ID"
		[ "$status" -eq 0 ]
		[[ "$output" == *67108864* ]]
	fi
}

@test "ctr run: berth's error reaches the ctr user through the shim's log.json" {
	run crun_ --rm "$ENGINE_IMAGE" "$ID" /no/such/binary
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/binary"* ]]
	# runc's (Go's) lower-case words, which Docker and containerd users see from runc too.
	[[ "$output" == *"no such file or directory"* ]]
}

@test "CRI: containerd's CRI plugin loads the README's berth runtime handler" {
	local d="$TEST_DIR/cri"
	mkdir -p "$d/net.d"
	# The README's configuration, with this test's paths.
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
		[plugins."io.containerd.grpc.v1.cri".cni]
		  conf_dir = "$d/net.d"
		[plugins."io.containerd.grpc.v1.cri".containerd]
		  default_runtime_name = "runc"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		  runtime_type = "io.containerd.runc.v2"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
		  runtime_type = "io.containerd.runc.v2"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
		  BinaryName = "$BERTH"
		  SystemdCgroup = false
	EOF
	containerd --config "$d/config.toml" >"$d/log" 2>&1 &
	local pid=$!
	wait_for ctr -a "$d/containerd.sock" version
	run ctr -a "$d/containerd.sock" plugins ls
	kill "$pid"
	wait "$pid" || true
	findmnt -rn -o TARGET | grep "^$d/" | sort -r | while read -r m; do umount -l "$m" || true; done
	[[ "$output" =~ io\.containerd\.grpc\.v1[[:space:]]+cri[[:space:]].*[[:space:]]ok ]]
	grep -q "berth:{Type:io.containerd.runc.v2 .*BinaryName:$BERTH" "$d/log"
}

# Needs `berth exec` (the shim runs `exec --process FILE --detach --pid-file P [--console-socket S]`).
@test "ctr task exec: a second process in the running container, its output and exit code" {
	crun_ -d "$ENGINE_IMAGE" "$ID" sleep 1000
	run cr task exec --exec-id e1 "$ID" sh -c 'echo exec-$((1+2)); cat /proc/1/cmdline | tr "\0" " "; exit 4'
	[ "$status" -eq 4 ]
	[[ "$output" == *exec-3* ]]
	[[ "$output" == *"sleep 1000"* ]]
	run bash -c "printf 'test -t 0 && echo is-a-tty; echo typed-\$((2+3))\nexit 6\n' |
		timeout 60 script -qec 'ctr -a $CD/containerd.sock -n $NS task exec -t --exec-id e2 $ID sh' /dev/null"
	[ "$status" -eq 6 ]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *typed-5* ]]
}
