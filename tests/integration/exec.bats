#!/usr/bin/env bats
# berth exec: a new process in a running container, checked from inside (what the kernel says
# about it) and from the host (its namespaces, cgroup, fds), against the container's init.

load helpers

RECVTTY=${RECVTTY:-$BERTH_BUILD/tests/recvtty}

setup() {
	requires root
	setup_common
	setup_bundle sleep 1000
	update_config '.root.readonly = false'
	# Ids name the cgroup (/berth/<id>), shared by every --root on the machine: unique ones.
	C1="exec-$$-$BATS_TEST_NUMBER-a"
	C2="exec-$$-$BATS_TEST_NUMBER-b"
	S1="exec-$$-$BATS_TEST_NUMBER-s"
}
teardown() {
	[ -n "${RECV_PID:-}" ] && kill "$RECV_PID" 2>/dev/null
	[ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null
	# Sub-cgroups a --cgroup test made: empty them so the container's cgroup can go.
	local d p
	for d in ${SUB_DIRS:-}; do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	teardown_common
	for d in ${SUB_DIRS:-}; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
		[ -d "$(dirname "$d")" ] && rmdir "$(dirname "$d")" 2>/dev/null
	done
	true
}

# start_ctr ID: a detached container running the bundle's process; sets $INIT.
start_ctr() {
	# (stdio to files: the detached init keeps them open.)
	berth run -d -b "$BUNDLE" "$1" </dev/null >/dev/null 2>"$TEST_DIR/run.err" ||
		fail "run -d failed: $(cat "$TEST_DIR/run.err")"
	INIT=$(berth state "$1" | jq .pid)
	[ "$INIT" -gt 0 ]
}

# exec_bg ID ARGS...: a detached exec of ARGS with --pid-file; sets $EPID (host pid).
exec_bg() {
	local id=$1
	shift
	berth exec -d --pid-file "$TEST_DIR/exec.pid" "$id" "$@" </dev/null >/dev/null 2>&1
	EPID=$(cat "$TEST_DIR/exec.pid")
	[ "$EPID" -gt 0 ]
}

cap_field() { awk -v f="$1:" '$1 == f {print $2}' "$2"; }

@test "exec runs a command: output, exit status and signal status are exec's" {
	start_ctr $C1
	run berth exec $C1 sh -c 'echo hello from $$; exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == "hello from "* ]]
	# In the container's pid namespace: not pid 1, and a small number, not the host's.
	pid=${output#hello from }
	[ "$pid" -gt 1 ] && [ "$pid" -lt 100 ]
	# Flags after the id belong to the command.
	run berth exec $C1 echo -n -e 'a\tb'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\tb')" ]
	run berth exec $C1 sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	# stdin is passed through.
	run sh -c 'echo piped | "$1" --root "$2" exec "$3" cat' _ "$BERTH" "$ROOT" "$C1"
	[ "$output" = piped ]
}

@test "exec into a created (not yet started) container works, as runc" {
	berth create -b "$BUNDLE" $C2 </dev/null >/dev/null 2>&1
	run berth exec $C2 sh -c 'cat /proc/1/comm'
	echo "$output"
	[ "$status" -eq 0 ]
	# pid 1 is still berth's init waiting for start.
	[ -n "$output" ]
	[ "$(berth state $C2 | jq -r .status)" = created ]
}

@test "--env adds and replaces variables, --cwd sets the directory inside" {
	update_config '.process.env = ["PATH=/usr/bin:/bin", "KEEP=1", "FOO=old"]'
	start_ctr $C1
	mkdir -p "$BUNDLE/rootfs/work"
	run berth exec -e FOO=bar -e NEW="x y" --cwd /work $C1 sh -c 'echo "$FOO|$NEW|$KEEP|$(pwd)|$HOME"; env | grep -c ^FOO='
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bar|x y|1|/work|/root" ]
	[ "${lines[1]}" = 1 ]
	# Without --cwd, the config's cwd.
	run berth exec $C1 pwd
	[ "$output" = / ]
	run berth exec -e NOEQUALS $C1 true
	[ "$status" -eq 1 ] || [ "$status" -eq 255 ]
	[[ "$output" == *"--env"*NOEQUALS* ]]
}

@test "--user and --additional-gids, checked with id" {
	start_ctr $C1
	run berth exec -u 1000:1000 -g 2000 -g 3000 $C1 id
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "uid=1000(user) gid=1000(user) groups=2000(extra),3000" ]
	# A uid alone keeps the process's gid; HOME follows the user.
	run berth exec -u 1000 $C1 sh -c 'id -u; id -g; echo $HOME'
	[ "${lines[0]}" = 1000 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = /home/user ]
	run berth exec -u bob $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"--user"* ]]
}

@test "capabilities are the container's, --cap adds, the inheritable set stays empty (CVE-2022-29162)" {
	start_ctr $C1
	run berth exec $C1 cat /proc/self/status
	[ "$status" -eq 0 ]
	echo "$output" >"$TEST_DIR/status"
	for f in CapBnd CapEff CapPrm; do
		[ "$(cap_field $f "$TEST_DIR/status")" = "$(cap_field $f /proc/$INIT/status)" ]
	done
	# runc's default spec: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
	[ "$(cap_field CapEff "$TEST_DIR/status")" = 0000000020000420 ]
	[ "$(cap_field CapInh "$TEST_DIR/status")" = 0000000000000000 ]
	[ "$(cap_field CapAmb "$TEST_DIR/status")" = 0000000000000000 ]
	grep -q 'NoNewPrivs:[[:space:]]*1' "$TEST_DIR/status"

	# --cap CAP_SYS_ADMIN (bit 21): bounding, effective, permitted; still nothing inheritable.
	run berth exec --cap CAP_SYS_ADMIN -c cap_chown $C1 cat /proc/self/status
	echo "$output" >"$TEST_DIR/status"
	[ "$(cap_field CapEff "$TEST_DIR/status")" = 0000000020200421 ]
	[ "$(cap_field CapBnd "$TEST_DIR/status")" = 0000000020200421 ]
	[ "$(cap_field CapPrm "$TEST_DIR/status")" = 0000000020200421 ]
	[ "$(cap_field CapInh "$TEST_DIR/status")" = 0000000000000000 ]
	run berth exec --cap CAP_BOGUS $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown capability 'CAP_BOGUS'"* ]]
}

@test "inheritable and ambient capabilities only when the spec sets them; no_new_privs from config or --no-new-privs" {
	update_config '.process.capabilities.inheritable = ["CAP_KILL"]
		| .process.capabilities.ambient = ["CAP_KILL"]
		| .process.noNewPrivileges = false'
	start_ctr $C1
	run berth exec $C1 cat /proc/self/status
	echo "$output" >"$TEST_DIR/status"
	[ "$(cap_field CapInh "$TEST_DIR/status")" = 0000000000000020 ]
	[ "$(cap_field CapAmb "$TEST_DIR/status")" = 0000000000000020 ]
	grep -q 'NoNewPrivs:[[:space:]]*0' "$TEST_DIR/status"
	# --cap with a capability that is not inheritable: never inheritable, never ambient.
	run berth exec --no-new-privs --cap CAP_SYS_ADMIN $C1 cat /proc/self/status
	echo "$output" >"$TEST_DIR/status"
	[ "$(cap_field CapInh "$TEST_DIR/status")" = 0000000000000020 ]
	[ "$(cap_field CapAmb "$TEST_DIR/status")" = 0000000000000020 ]
	grep -q 'NoNewPrivs:[[:space:]]*1' "$TEST_DIR/status"
}

@test "rlimits come from the container's process" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]'
	start_ctr $C1
	run berth exec $C1 sh -c 'ulimit -n; ulimit -Hn'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 256 ]
	[ "${lines[1]}" = 512 ]
}

@test "the process joins every namespace of the container and its cgroup" {
	update_config '.linux.namespaces += [{"type": "cgroup"}] | .hostname = "ctr"'
	start_ctr $C1
	exec_bg $C1 sleep 100
	for ns in pid net ipc uts mnt cgroup user time; do
		[ "$(readlink /proc/$EPID/ns/$ns)" = "$(readlink /proc/$INIT/ns/$ns)" ]
	done
	for ns in pid net ipc uts mnt cgroup; do
		[ "$(readlink /proc/$EPID/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
	done
	[ "$(cat /proc/$EPID/cgroup)" = "$(cat /proc/$INIT/cgroup)" ]
	# Same root as the init: the container's, not the host's.
	[ "$(stat -L -c %d:%i /proc/$EPID/root)" = "$(stat -L -c %d:%i /proc/$INIT/root)" ]
	run berth exec $C1 hostname
	[ "$output" = ctr ]
	# ps lists it (it is in the container's cgroup).
	run berth ps $C1
	[[ "$output" == *" $EPID "* ]]
}

@test "the process joins the container's user namespace first" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	chmod 755 "$TEST_DIR" "$BUNDLE"
	start_ctr $C1
	exec_bg $C1 sleep 100
	for ns in user pid net ipc uts mnt; do
		[ "$(readlink /proc/$EPID/ns/$ns)" = "$(readlink /proc/$INIT/ns/$ns)" ]
	done
	# uid 0 inside is the mapped host uid.
	[ "$(stat -c %u /proc/$EPID)" = 100000 ]
	run berth exec -u 1000:1000 $C1 sh -c 'id -u; touch /tmp/f; stat -c %u /tmp/f'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1000 ]
	[ "$(stat -c %u "$BUNDLE/rootfs/tmp/f")" = 101000 ]
}

@test "--cgroup puts the process in an existing sub-cgroup" {
	start_ctr $C1
	# Make the sub-cgroup in every hierarchy the container has.
	state=$(jq -c .cgroup "$ROOT/$C1/state.json")
	SUB_DIRS=
	for d in $(jq -r '(.v1 | to_entries[].value), .v2 | select(. != "")' <<<"$state" | sort -u); do
		mkdir "$d/sub"
		SUB_DIRS="$SUB_DIRS $d/sub"
		# A v1 cpuset cgroup takes no process before it has cpus and mems.
		if [ -f "$d/cpuset.cpus" ]; then
			cat "$d/cpuset.cpus" >"$d/sub/cpuset.cpus"
			cat "$d/cpuset.mems" >"$d/sub/cpuset.mems"
		fi
	done
	berth exec -d --pid-file "$TEST_DIR/exec.pid" --cgroup sub $C1 sleep 100 </dev/null >/dev/null 2>&1
	EPID=$(cat "$TEST_DIR/exec.pid")
	cat /proc/$EPID/cgroup
	grep -q "/sub\$" /proc/$EPID/cgroup
	# Every hierarchy the container has a cgroup in (the rest are the host's, e.g. misc).
	for d in $SUB_DIRS; do grep -qx "$EPID" "$d/cgroup.procs"; done
	# A controller prefix moves the process only in that hierarchy (v1 and hybrid hosts).
	if jq -e '.v1.memory' <<<"$state" >/dev/null; then
		berth exec -d --pid-file "$TEST_DIR/m.pid" --cgroup memory:sub $C1 sleep 100 </dev/null >/dev/null 2>&1
		mpid=$(cat "$TEST_DIR/m.pid")
		grep "/sub\$" /proc/$mpid/cgroup | grep -q memory
		[ "$(grep -c "/sub\$" /proc/$mpid/cgroup)" -eq 1 ]
	fi
	run berth exec --cgroup nosuch $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"--cgroup"*nosuch* ]]
	run berth exec --cgroup ../escape $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not a sub cgroup path"* ]]
}

@test "the container's seccomp profile applies to the exec'd process" {
	update_config '.linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	start_ctr $C1
	run berth exec $C1 sh -c 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x; echo "rc=$?"'
	echo "$output"
	[[ "${lines[0]}" == *2 ]]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"rc=1"* ]]
	[ ! -e "$BUNDLE/rootfs/tmp/x" ]
}

@test "--tty with --console-socket sends the pty master; the process has a controlling terminal" {
	start_ctr $C1
	SOCK="$TEST_DIR/tty.sock"
	"$RECVTTY" "$SOCK" >"$TEST_DIR/tty.out" 2>&1 &
	RECV_PID=$!
	for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	berth exec -d -t --console-socket "$SOCK" $C1 sh -c 'tty; test -t 0 && test -t 1 && echo isatty'
	wait "$RECV_PID"
	RECV_PID=
	run cat "$TEST_DIR/tty.out"
	echo "$output"
	[[ "${lines[0]}" == /dev/pts/* ]]
	[[ "$output" == *isatty* ]]
	# Detached with a tty needs a console socket; a console socket needs -d and -t.
	run berth exec -d -t $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"console socket"* ]]
	run berth exec --console-socket "$SOCK" $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"console socket"* ]]
}

@test "--tty in the foreground relays the terminal and returns the exit status" {
	start_ctr $C1
	run berth exec -t $C1 sh -c 'test -t 0 && echo tty-inside; exit 4' </dev/null
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *tty-inside* ]]
}

@test "--detach prints nothing, writes the host pid, and reports exec errors" {
	start_ctr $C1
	run berth exec -d --pid-file "$TEST_DIR/p" $C1 sleep 100 </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	pid=$(cat "$TEST_DIR/p")
	[ "$(cat /proc/$pid/comm)" = sleep ]
	[ "$(readlink /proc/$pid/ns/pid)" = "$(readlink /proc/$INIT/ns/pid)" ]
	# A relative --pid-file is relative to the caller's directory.
	(cd "$TEST_DIR" && "$BERTH" --root "$ROOT" exec -d --pid-file rel.pid $C1 true </dev/null >/dev/null)
	[ -s "$TEST_DIR/rel.pid" ]
	# A command missing inside is berth's error, even detached.
	run berth exec -d $C1 no-such-command </dev/null
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"executable file not found"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run berth exec $C1 /bin/no-such-file
	[ "$status" -eq 255 ]
	[[ "$output" == *no-such-file* ]]
}

@test "--process runs a runtime-spec Process; what it leaves out comes from the container" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 300}]'
	start_ctr $C1
	cat >"$TEST_DIR/process.json" <<-'EOF'
		{"args": ["sh", "-c", "echo $GREETING; pwd; id -u; ulimit -n; grep CapBnd /proc/self/status"],
		 "env": ["PATH=/bin", "GREETING=hi"], "cwd": "/tmp", "user": {"uid": 1000, "gid": 1000}}
	EOF
	run berth exec -p "$TEST_DIR/process.json" $C1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hi ]
	[ "${lines[1]}" = /tmp ]
	[ "${lines[2]}" = 1000 ]
	[ "${lines[3]}" = 300 ]
	# The container's bounding set (a non-root user's other sets are emptied by execve).
	[[ "${lines[4]}" == *0000000020000420 ]]
	# A bad file names itself and the field.
	echo '{"args": "sh", "cwd": "/", "user": {"uid": 0, "gid": 0}}' >"$TEST_DIR/bad.json"
	run berth exec --process "$TEST_DIR/bad.json" $C1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *bad.json*args* ]]
	run berth exec --process "$TEST_DIR/process.json" $C1 echo extra
	[ "$status" -ne 0 ]
	[[ "$output" == *"mutually exclusive"* ]]
}

@test "exec into a stopped or missing container fails cleanly" {
	update_config '.process.args = ["true"]'
	berth run -d -b "$BUNDLE" $S1 </dev/null >/dev/null 2>&1
	for i in $(seq 50); do [ "$(berth state $S1 | jq -r .status)" = stopped ] && break; sleep 0.1; done
	run berth exec $S1 true
	echo "$output"
	[ "$status" -eq 255 ]
	[ "$output" = "berth: exec failed: cannot exec in a stopped container" ]
	run berth exec nosuch true
	[ "$status" -eq 255 ]
	[[ "$output" == *"does not exist"* ]]
	run berth exec $S1
	[ "$status" -eq 1 ]
	[[ "$output" == *"process args cannot be empty"* ]]
	run berth exec
	[ "$status" -eq 1 ]
	[[ "$output" == *"requires a minimum of 1"* ]]
	run berth exec --no-such-flag $S1 true
	[ "$status" -eq 1 ]
	[[ "$output" == *no-such-flag* ]]
}

@test "exec into a paused container is refused unless --ignore-paused, which runs it once resumed" {
	start_ctr $C1
	berth pause $C1
	run berth exec $C1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"cannot exec in a paused container (use --ignore-paused to override)"* ]]
	"$BERTH" --root "$ROOT" exec --ignore-paused $C1 sh -c 'echo ran' >"$TEST_DIR/bg.out" 2>&1 &
	BG_PID=$!
	sleep 1
	# Frozen with the container until it is resumed.
	[ ! -s "$TEST_DIR/bg.out" ]
	kill -0 "$BG_PID"
	berth resume $C1
	wait "$BG_PID"
	BG_PID=
	[ "$(cat "$TEST_DIR/bg.out")" = ran ]
}

@test "only stdio survives into the process; --preserve-fds passes exactly N more" {
	start_ctr $C1
	echo preserved >"$TEST_DIR/f"
	run berth exec $C1 sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "' 3<"$TEST_DIR/f" 4<"$TEST_DIR/f" 5</
	[ "$status" -eq 0 ]
	# 0 1 2 and the fd ls opens for the directory.
	[ "$output" = "0 1 2 3 " ]
	run berth exec --preserve-fds 1 $C1 sh -c 'cat <&3; ls /proc/self/fd | sort -n | tr "\n" " "' 3<"$TEST_DIR/f" 4<"$TEST_DIR/f"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = preserved ]
	[ "${lines[1]}" = "0 1 2 3 4 " ]
	# (bats keeps a few fds of its own open: ask for far more than exist.)
	run berth exec --preserve-fds 1000 $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"--preserve-fds: fd "*" is not open"* ]]
}

@test "the cwd is resolved inside the container; a cwd that escapes or is missing is refused (CVE-2024-21626)" {
	start_ctr $C1
	# A symlink inside resolves against the container's root, not the host's.
	ln -s /tmp "$BUNDLE/rootfs/link"
	run berth exec --cwd /link $C1 pwd
	[ "$status" -eq 0 ]
	[ "$output" = /link ] || [ "$output" = /tmp ]
	for fd in 3 4 5 6 7 8 9; do
		run berth exec --cwd /proc/self/fd/$fd $C1 ls .. 5</
		echo "$fd: $output"
		[ "$status" -ne 0 ]
	done
	# Even a host directory passed on purpose is not a cwd.
	run berth exec --preserve-fds 1 --cwd /proc/self/fd/3 $C1 ls .. 3</
	echo "$output"
	[ "$status" -eq 255 ]
	[[ "$output" == *"outside the container's root"* ]]
	# The init's cwd through /proc/1/cwd is inside: allowed. The host's is not reachable.
	run berth exec --cwd /does/not/exist $C1 true
	[ "$status" -eq 255 ]
	[[ "$output" == *"chdir to cwd"*"/does/not/exist"* ]]
	[ ! -e "$BUNDLE/rootfs/does" ]
	run berth exec --cwd relative $C1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"--cwd"* ]]
}

@test "a seccomp NOTIFY profile hands the exec'd process's listener to the agent" {
	AGENT=${SECCOMP_AGENT:-$BERTH_BUILD/tests/seccomp-agent}
	SOCK="$TEST_DIR/agent.sock"
	update_config --arg s "$SOCK" '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"listenerPath": $s, "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'
	# One agent for the init, then another on the same path for the exec'd process.
	coproc INITAGENT { exec "$AGENT" "$SOCK" "$TEST_DIR/init-state.json" 0; }
	BG_PID=$INITAGENT_PID
	read -r -t 10 line <&"${INITAGENT[0]}"
	[ "$line" = ready ]
	start_ctr $C1
	rm -f "$SOCK"
	coproc EXECAGENT { exec "$AGENT" "$SOCK" "$TEST_DIR/exec-state.json" 0; }
	EXEC_AGENT=$EXECAGENT_PID
	read -r -t 10 line <&"${EXECAGENT[0]}"
	[ "$line" = ready ]
	run berth exec $C1 sh -c 'mkdir /tmp/x; echo "rc=$?"; ls -d /tmp/x 2>/dev/null || echo absent; echo $$'
	echo "$output"
	[ "$status" -eq 0 ]
	# The agent answered "success" without running the call.
	[ "${lines[0]}" = rc=0 ]
	[ "${lines[1]}" = absent ]
	wait "$EXEC_AGENT"
	jq -e --arg id "$C1" '.state.id == $id and .state.status == "running" and (.pid | type == "number") and .pid != .state.pid' \
		"$TEST_DIR/exec-state.json"
}
