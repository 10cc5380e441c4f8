#!/usr/bin/env bats
# linux.seccomp in real containers: errno, errnoRet, argument filters, KILL, LOG, NOTIFY.

load helpers

AGENT=${SECCOMP_AGENT:-$BERTH_BUILD/tests/seccomp-agent}

setup() {
	requires root
	setup_common
	setup_bundle sh -c 'true'
	# The tests create directories in the container's /tmp.
	update_config '.root.readonly = false'
}

teardown() {
	if [ -n "${AGENT_PID:-}" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
	teardown_common
}

# profile JSON: sets linux.seccomp.
profile() {
	update_config --argjson p "$1" '.linux.seccomp = $p'
}

# run_ctr SCRIPT: runs `sh -c SCRIPT` in a fresh container; sets $status and $output.
run_ctr() {
	update_config --arg s "$1" '.process.args = ["sh", "-c", $s]'
	CTR_ID="sc-$BATS_TEST_NUMBER-$RANDOM"
	run berth run -b "$BUNDLE" "$CTR_ID"
}

@test "seccomp: SCMP_ACT_ERRNO denies mkdir with EPERM" {
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_ctr 'mkdir /tmp/x; echo "rc=$?"; ls -d /tmp/x 2>/dev/null || echo absent'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" == *"absent"* ]]
	[ ! -e "$BUNDLE/rootfs/tmp/x" ]
}

@test "seccomp: errnoRet chooses the errno" {
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":18}]}'
	run_ctr 'mkdir /tmp/x'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid cross-device link"* ]]
}

@test "seccomp: defaultErrnoRet with an allowlist (the Docker-shaped default profile)" {
	profile "$(cat "$BERTH_SRC/tests/fixtures/seccomp/docker-default.json")"
	run_ctr 'mkdir /tmp/x && echo made; unshare -u true; echo "unshare=$?"; linux64 true && echo linux64-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"made"* ]]
	[[ "$output" == *"unshare=1"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"linux64-ok"* ]]
}

@test "seccomp: argument filter on personality(2)" {
	# Deny personality(PER_LINUX32) only; personality(PER_LINUX) stays allowed.
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}'
	run_ctr 'linux64 true && echo linux64-ok; linux32 true; echo "linux32=$?"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"linux64-ok"* ]]
	[[ "$output" == *"linux32=1"* ]]
	[[ "$output" == *"Permission denied"* ]]
}

@test "seccomp: SCMP_CMP_MASKED_EQ on chmod's mode" {
	# chmod(path, mode) / fchmodat(dir, path, mode): deny when an "other" permission bit is set.
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":7,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},{"names":["fchmodat"],"action":"SCMP_ACT_ERRNO","args":[{"index":2,"value":7,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
	run_ctr 'touch /tmp/f; chmod 707 /tmp/f && echo a-ok; chmod 700 /tmp/f; echo "b=$?"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"a-ok"* ]]
	[[ "$output" == *"b=1"* ]]
	[ "$(stat -c %a "$BUNDLE/rootfs/tmp/f")" = 707 ]
}

@test "seccomp: SCMP_ACT_KILL kills the process, SCMP_ACT_ERRNO only fails the call" {
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL"}]}'
	run_ctr 'mkdir /tmp/x'
	# SIGSYS: 128 + 31.
	[ "$status" -eq 159 ]
	[ ! -e "$BUNDLE/rootfs/tmp/x" ]

	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
	run_ctr 'mkdir /tmp/x'
	[ "$status" -eq 159 ]

	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_ctr 'mkdir /tmp/x'
	[ "$status" -eq 1 ]
}

# log_count: SCMP_ACT_LOG audit lines for busybox mkdir in the kernel log.
log_count() {
	dmesg 2>/dev/null | grep 'type=1326' | grep 'comm="mkdir"' | grep -c 'code=0x7ffc0000' || true
}

@test "seccomp: SCMP_ACT_LOG lets the call through and logs it; SCMP_ACT_TRAP kills" {
	local before
	before=$(log_count)
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_LOG"}]}'
	run_ctr 'mkdir /tmp/x && echo made'
	[ "$status" -eq 0 ]
	[[ "$output" == *"made"* ]]
	[ -d "$BUNDLE/rootfs/tmp/x" ]
	if grep -qw log /proc/sys/kernel/seccomp/actions_logged && dmesg >/dev/null 2>&1; then
		[ "$(log_count)" -gt "$before" ] || fail "no audit line for the logged mkdir"
	fi

	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_TRAP"}]}'
	run_ctr 'mkdir /tmp/y'
	[ "$status" -eq 159 ]
}

@test "seccomp: every flag features lists as supported is accepted" {
	local flags
	flags=$("$BERTH" features | jq -c '.linux.seccomp.supportedFlags')
	[ -n "$flags" ] && [ "$flags" != null ]
	profile "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":$flags,\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"
	run_ctr 'mkdir /tmp/x'
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: unknown syscall names are skipped" {
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_syscall_berth","mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_ctr 'mkdir /tmp/x'
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: filter loaded without noNewPrivileges, as a non-root user" {
	# Loading needs CAP_SYS_ADMIN then, so it must happen before capabilities are dropped.
	update_config '.process.noNewPrivileges = false | .process.user = {"uid": 1000, "gid": 1000}'
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":18}]}'
	run_ctr 'id -u; grep NoNewPrivs /proc/self/status; grep "^Seccomp:" /proc/self/status; mkdir /tmp/x'
	[ "$status" -eq 1 ]
	[[ "$output" == *"1000"* ]]
	[[ "$output" == *"NoNewPrivs:"*"0"* ]]
	[[ "$output" == *"Seccomp:"*"2"* ]]
	[[ "$output" == *"Invalid cross-device link"* ]]
}

# start_agent ERRNO: the notify agent on $TEST_DIR/agent.sock (waits until it listens).
start_agent() {
	SOCK="$TEST_DIR/agent.sock"
	STATE_OUT="$TEST_DIR/agent-state.json"
	coproc SCAGENT { exec "$AGENT" "$SOCK" "$STATE_OUT" "$1"; }
	AGENT_PID=$SCAGENT_PID
	local line
	read -r -t 10 line <&"${SCAGENT[0]}" || fail "seccomp agent did not start"
	[ "$line" = ready ]
}

@test "seccomp: SCMP_ACT_NOTIFY hands the listener to the agent, which answers mkdir" {
	start_agent 0
	profile "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$SOCK\",\"listenerMetadata\":\"MKDIR=fake\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
	run_ctr 'mkdir /tmp/x; echo "rc=$?"; ls -d /tmp/x 2>/dev/null || echo absent'
	[ "$status" -eq 0 ]
	# The agent said "success" without running the call.
	[[ "$output" == *"rc=0"* ]]
	[[ "$output" == *"absent"* ]]
	# The agent exits once no process uses the filter any more.
	wait "$AGENT_PID" || fail "seccomp agent failed"
	AGENT_PID=
	# The runtime-spec "container process state" message, as runc sends it.
	run jq -e --arg id "$CTR_ID" --arg b "$BUNDLE" '
		(.ociVersion | type == "string") and .fds == ["seccompFd"] and (.pid | type == "number")
		and .metadata == "MKDIR=fake" and .state.id == $id and .state.status == "creating"
		and .state.pid == .pid and .state.bundle == $b' "$STATE_OUT"
	[ "$status" -eq 0 ] || fail "agent got: $(cat "$STATE_OUT")"
}

@test "seccomp: SCMP_ACT_NOTIFY agent chooses the errno" {
	start_agent 13
	profile "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$SOCK\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
	run_ctr 'mkdir /tmp/x'
	[ "$status" -eq 1 ]
	[[ "$output" == *"Permission denied"* ]]
	run jq -e 'has("metadata") | not' "$STATE_OUT"
	[ "$status" -eq 0 ]
}

@test "seccomp: unreachable listenerPath fails create and leaves nothing" {
	profile "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"$TEST_DIR/nobody.sock\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}"
	run_ctr 'true'
	[ "$status" -ne 0 ]
	[[ "$output" == *"nobody.sock"* ]]
	run berth list -q
	[ -z "$output" ]
}

@test "seccomp: a bad profile is a one-line error naming the field, nothing left behind" {
	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},{"names":["rmdir"],"action":"SCMP_ACT_ERRNO"},{"names":["chdir"],"action":"SCMP_ACT_FOO"}]}'
	run_ctr 'true'
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"linux.seccomp.syscalls[2].action"* ]]
	run berth list -q
	[ -z "$output" ]

	profile '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}'
	run_ctr 'true'
	[ "$status" -ne 0 ]
	[[ "$output" == *"linux.seccomp.syscalls[0].args[0].index"* ]]
}

@test "seccomp: compiled filters are cached outside --root and reused" {
	# A profile no other test uses (its errnoRet is in the cache key and the file), so that
	# entries other tests add to the shared cache at the same time do not count.
	local mark=$((4000 + $$ % 95)) # errnoRet must stay below 4096 (MAX_ERRNO)
	profile "$(jq --argjson m "$mark" '.syscalls += [{"names": ["acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": $m}]' \
		"$BERTH_SRC/tests/fixtures/seccomp/docker-default.json")"
	run_ctr 'true'
	[ "$status" -eq 0 ]
	# Nothing in the state root but containers: runc lists a shared root without complaint.
	[ -z "$(find "$ROOT" -mindepth 1 -maxdepth 1 -name '@*')" ]
	local entries
	entries=$(grep -l "$mark" /run/berth-seccomp-cache/*.bpf | wc -l)
	[ "$entries" -eq 1 ] || fail "expected one cache entry for the profile, found $entries"
	run_ctr 'mkdir /tmp/x && echo made'
	[ "$status" -eq 0 ]
	[[ "$output" == *"made"* ]]
	[ "$(grep -l "$mark" /run/berth-seccomp-cache/*.bpf | wc -l)" -eq 1 ]
}
