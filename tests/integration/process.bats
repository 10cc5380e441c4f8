#!/usr/bin/env bats
# Every process field of config.json, checked from inside the container (what the kernel
# says about the process) and, where it matters, from outside.

load helpers

setup() {
	requires root
	setup_common
	setup_bundle
}
teardown() { teardown_common; }

# inside CMD: runs `sh -c CMD` in a foreground container; sets $status and $output.
inside() {
	update_config ".process.args = [\"sh\", \"-c\", $(jq -R . <<<"$1")]"
	run berth run -b "$BUNDLE" "p$RANDOM"
}

@test "args, env and cwd" {
	update_config '.process.env = ["PATH=/bin", "FOO=bar baz"] | .process.cwd = "/tmp"'
	inside 'echo "$FOO|$(pwd)|$HOME|$#" ; echo "$0"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bar baz|/tmp|/root|0" ]
	[ "${lines[1]}" = "sh" ]
}

@test "cwd is created inside the rootfs when missing and is never a host path" {
	update_config '.process.cwd = "/does/not/exist" | .root.readonly = false'
	inside 'pwd'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = /does/not/exist ]
	[ -d "$BUNDLE/rootfs/does/not/exist" ]
	# With a read-only root it is made before "/" turns read-only, as runc does.
	update_config '.process.cwd = "/ro/cwd" | .root.readonly = true'
	inside 'pwd; touch x'
	echo "$output"
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = /ro/cwd ]
	[[ "$output" == *Read-only* ]]
	[ -d "$BUNDLE/rootfs/ro/cwd" ]
	update_config '.root.readonly = false'
	# CVE-2024-21626: /proc/self/fd/N as cwd must not resolve to a host directory.
	for fd in 3 4 5 6 7 8; do
		update_config ".process.cwd = \"/proc/self/fd/$fd\""
		inside 'ls ..'
		[ "$status" -ne 0 ]
	done
}

@test "only stdio survives into the container (no host fd)" {
	inside 'ls /proc/self/fd | sort -n | tr "\n" " "'
	[ "$status" -eq 0 ]
	# 0 1 2 and the fd ls itself opens for the directory
	[ "$output" = "0 1 2 3 " ]
}

@test "--preserve-fds passes exactly N more fds" {
	update_config '.process.args = ["sh", "-c", "cat <&3; ls /proc/self/fd | sort -n | tr \"\\n\" \" \""]'
	echo preserved >"$TEST_DIR/f"
	run berth run --preserve-fds 1 -b "$BUNDLE" pf 3<"$TEST_DIR/f" 4<"$TEST_DIR/f"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = preserved ]
	[ "${lines[1]}" = "0 1 2 3 4 " ] # 4 is ls's directory fd, the caller's 4 is closed
}

@test "LISTEN_FDS and LISTEN_PID are passed on as runc does" {
	update_config '.process.args = ["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]'
	echo sock >"$TEST_DIR/f"
	run env LISTEN_FDS=1 sh -c 'LISTEN_PID=$$ exec "$0" --root "$1" run -b "$2" lf 3<"$3"' \
		"$BERTH" "$ROOT" "$BUNDLE" "$TEST_DIR/f"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1 1" ]
	[ "${lines[1]}" = sock ]
}

@test "user: uid, gid, additionalGids, umask" {
	update_config '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000], "umask": 63}'
	inside 'id; umask'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "uid=1000(user) gid=1000(user) groups=2000(extra),3000" ]
	[ "${lines[1]}" = "0077" ]
}

@test "HOME comes from /etc/passwd when not set" {
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.env = ["PATH=/bin"]'
	inside 'echo $HOME'
	[ "$output" = /home/user ]
}

@test "capabilities: all five sets" {
	update_config '.process.capabilities = {
		"bounding": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"],
		"effective": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
		"permitted": ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"],
		"inheritable": ["CAP_NET_BIND_SERVICE"],
		"ambient": ["CAP_NET_BIND_SERVICE"]} | .process.user = {"uid": 1000, "gid": 1000}'
	inside 'grep ^Cap /proc/self/status'
	echo "$output"
	[ "$status" -eq 0 ]
	# A non-root user: sh's sets after execve are the ambient one (root would get the whole
	# bounding set on exec, as with runc).
	[[ "$output" == *"CapInh:	0000000000000400"* ]]
	[[ "$output" == *"CapPrm:	0000000000000400"* ]]
	[[ "$output" == *"CapEff:	0000000000000400"* ]]
	[[ "$output" == *"CapBnd:	0000000000000421"* ]]
	[[ "$output" == *"CapAmb:	0000000000000400"* ]]
}

@test "capabilities: the default spec's set, inheritable empty (CVE-2022-29162)" {
	inside 'grep ^Cap /proc/self/status'
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapEff:	0000000020000420"* ]]
	[[ "$output" == *"CapBnd:	0000000020000420"* ]]
	[[ "$output" == *"CapAmb:	0000000000000000"* ]]
}

@test "capabilities: unknown name is a one-line error naming the field" {
	update_config '.process.capabilities.bounding += ["CAP_BOGUS"]'
	inside true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"process.capabilities.bounding"*"CAP_BOGUS"* ]]
}

@test "rlimits" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	inside 'ulimit -n; ulimit -Hn; ulimit -c'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 123 ]
	[ "${lines[1]}" = 456 ]
	[ "${lines[2]}" = 0 ]
	update_config '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
	inside true
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.rlimits[0].type"* ]]
}

@test "noNewPrivileges" {
	inside 'grep NoNewPrivs /proc/self/status'
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	update_config '.process.noNewPrivileges = false'
	inside 'grep NoNewPrivs /proc/self/status'
	[[ "$output" == *"NoNewPrivs:	0"* ]]
}

@test "oomScoreAdj" {
	update_config '.process.oomScoreAdj = 123'
	inside 'cat /proc/self/oom_score_adj'
	[ "$output" = 123 ]
}

@test "scheduler, ioPriority, execCPUAffinity, personality" {
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "nice": 5}
		| .process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}
		| .process.execCPUAffinity = {"initial": "0", "final": "0"}
		| .linux.personality = {"domain": "LINUX32"}'
	inside 'cat /proc/self/stat | cut -d" " -f19; grep Cpus_allowed_list /proc/self/status; uname -m'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 5 ]
	[[ "${lines[1]}" == *"	0" ]]
	[ "${lines[2]}" = i686 ]
	# policy 3 = SCHED_BATCH, field 41 of stat
	inside 'cut -d" " -f41 /proc/self/stat'
	[ "$output" = 3 ]
	update_config '.process.scheduler = {"policy": "SCHED_NOPE"}'
	inside true
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.scheduler.policy"* ]]
}

@test "ioPriority is visible from outside" {
	update_config '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6} | .process.args = ["sleep", "100"]'
	berth run -d -b "$BUNDLE" io </dev/null >/dev/null 2>&1
	pid=$(berth state io | jq .pid)
	run ionice -p "$pid"
	[ "$output" = "best-effort: prio 6" ]
}

@test "apparmorProfile and selinuxLabel fail clearly when the LSM is absent" {
	[ -d /sys/kernel/security/apparmor ] && skip "AppArmor is enabled here"
	update_config '.process.apparmorProfile = "berth-default"'
	inside true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"process.apparmorProfile: AppArmor is not enabled"* ]]
	update_config 'del(.process.apparmorProfile) | .process.selinuxLabel = "system_u:system_r:container_t:s0"'
	inside true
	[ "$status" -ne 0 ]
	[[ "$output" == *"process.selinuxLabel: SELinux is not enabled"* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "CVE-2019-5736: the created init runs a read-only copy and is not reachable" {
	update_config '.process.args = ["sleep", "100"]'
	berth create -b "$BUNDLE" victim </dev/null >/dev/null 2>&1
	pid=$(berth state victim | jq .pid)
	# The init runs berth from a read-only detached bind mount of the binary (readlink shows
	# that mount's root, "/"), or from a sealed memfd where such a mount cannot be made.
	exe=$(readlink /proc/$pid/exe)
	[[ "$exe" == "/" || "$exe" == "/memfd:berth (deleted)" ]] || fail "init exe: $exe"
	sum=$(sha256sum <"$BERTH")
	# The attack: hold the exe (O_PATH), wait until nothing runs it (no more ETXTBSY), then
	# open the held file for writing. Even host root must fail with EROFS (read-only mount),
	# or get a memfd sealed against writes. The holder is a host process, the strongest case;
	# nothing is written if the open succeeds, so a failure does not damage $BERTH.
	run python3 -c '
import errno, os, subprocess, sys, time
pid, berth, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = os.open(f"/proc/{pid}/exe", os.O_PATH)
subprocess.run([berth, "--root", root, "kill", "victim", "KILL"], check=True)
for _ in range(200):
    try:
        if open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] in "ZX":
            break
    except FileNotFoundError:
        break
    time.sleep(0.05)
try:
    fd = os.open(f"/proc/self/fd/{held}", os.O_WRONLY | os.O_APPEND)
except OSError as e:
    print(errno.errorcode[e.errno])
else:
    import fcntl
    try:
        sealed = fcntl.fcntl(fd, 1034) & 8  # F_GET_SEALS & F_SEAL_WRITE
    except OSError:
        sealed = 0
    print("SEALED" if sealed else "OPENED FOR WRITING")
' "$pid" "$BERTH" "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == EROFS || "$output" == SEALED ]] || fail "opening the held exe for writing: $output"
	[ "$(sha256sum <"$BERTH")" = "$sum" ]
	berth delete --force victim
	berth create -b "$BUNDLE" victim </dev/null >/dev/null 2>&1
	pid=$(berth state victim | jq .pid)
	# A second container in the victim's pid namespace tries to open the init's exe for
	# writing, and its fds: the init is not dumpable, so /proc/1/exe is not even readable.
	update_config ".process.args = [\"sh\", \"-c\", \"readlink /proc/1/exe || echo exe-denied; echo pwn >> /proc/1/exe; for f in /proc/1/fd/*; do readlink \$f && echo LEAK; done; exit 1\"]
		| .linux.namespaces = [.linux.namespaces[] | if .type == \"pid\" then .path = \"/proc/$pid/ns/pid\" else . end]"
	run berth run -b "$BUNDLE" attacker
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *berth* ]]
	[[ "$output" != *LEAK* ]]
	[[ "$output" == *exe-denied* ]]
	[[ "$output" == *"can't create /proc/1/exe: Permission denied"* ]]
	# The host binary is untouched.
	"$BERTH" --version
}
