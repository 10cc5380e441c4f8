#!/usr/bin/env bats
# Rootless: berth run by a throwaway unprivileged user this file creates (with /etc/subuid and
# /etc/subgid ranges) and removes again. runc (and crun, where it accepts this host's cgroups)
# run the same bundles as that user and are the oracles; rootless podman drives berth too.

load helpers
load rootless_user

RL_USER=${RL_USER:-berthrl$$}

# as_user CMD...: CMD as the throwaway user, with its own HOME and XDG_RUNTIME_DIR.
setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "creating the throwaway user needs root"
	command -v runuser >/dev/null && command -v newuidmap >/dev/null || skip "needs runuser and newuidmap (uidmap)"
	rootless_user_create
	# Debian's useradd adds subordinate ranges itself when SUB_UID_* are configured; add one
	# otherwise (and remember to remove it, userdel only removes what useradd made).
	export RL_SUB_ADDED=
	if ! grep -q "^$RL_USER:" /etc/subuid 2>/dev/null; then
		echo "$RL_USER:300000:65536" >>/etc/subuid
		echo "$RL_USER:300000:65536" >>/etc/subgid
		RL_SUB_ADDED=1
	fi
	export RL_SUB_START
	RL_SUB_START=$(grep "^$RL_USER:" /etc/subuid | head -1 | cut -d: -f2)
}

teardown_file() {
	rootless_user_remove
}

setup() {
	setup_common
	ROOT=$TEST_DIR/state
	chown "$RL_USER:" "$TEST_DIR" "$ROOT"
}

teardown() {
	local id
	# A frozen cgroup first: its processes cannot die until thawed.
	[ -n "${DELEG:-}" ] && for f in "$DELEG"/*/cgroup.freeze; do echo 0 >"$f" 2>/dev/null || true; done
	for id in $(as_user "$RL_BERTH" --root "$ROOT" list -q 2>/dev/null); do
		as_user "$RL_BERTH" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(as_user runc --root "$TEST_DIR/runc" list -q 2>/dev/null); do
		as_user runc --root "$TEST_DIR/runc" delete -f "$id" >/dev/null 2>&1 || true
	done
	if [ -n "${DELEG:-}" ]; then
		for f in "$DELEG"/*/cgroup.kill; do echo 1 >"$f" 2>/dev/null || true; done
		sleep 0.1
		rmdir "$DELEG"/*/ "$DELEG" 2>/dev/null || true
	fi
	[ -n "${TEST_DIR:-}" ] && rm -rf "$TEST_DIR"
}

# rl_bundle ARGS...: $BUNDLE owned by the user, `berth spec --rootless` config running ARGS.
rl_bundle() {
	BUNDLE=$TEST_DIR/bundle
	mkdir -p "$BUNDLE"
	make_rootfs "$BUNDLE/rootfs"
	chown -R "$RL_USER:" "$BUNDLE"
	(cd "$BUNDLE" && as_user "$RL_BERTH" spec --rootless) || fail "berth spec --rootless failed"
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	update_config ".process.args = $args | .process.terminal = false"
	chown "$RL_USER:" "$BUNDLE/config.json"
}

# Multi-range mappings (root = the user, 1..65536 = its subordinate range): newuidmap's job.
rl_ranges() {
	update_config ".linux.uidMappings = [{containerID:0,hostID:$RL_UID,size:1},{containerID:1,hostID:$RL_SUB_START,size:65536}]
		| .linux.gidMappings = [{containerID:0,hostID:$RL_GID,size:1},{containerID:1,hostID:$RL_SUB_START,size:65536}]"
	chown "$RL_USER:" "$BUNDLE/config.json"
}

rl_berth() {
	(cd "$BUNDLE" && as_user "$RL_BERTH" --root "$ROOT" "$@")
}

rl_runc() {
	(cd "$BUNDLE" && as_user runc --root "$TEST_DIR/runc" "$@")
}

PROBE='id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; hostname; grep -c . /proc/self/mountinfo; cut -d" " -f2,3,4 /proc/self/mounts | sort'

@test "rootless: berth spec --rootless writes what runc spec --rootless writes" {
	requires runc
	mkdir "$TEST_DIR/a" "$TEST_DIR/b"
	chown "$RL_USER:" "$TEST_DIR/a" "$TEST_DIR/b"
	as_user runc spec --rootless -b "$TEST_DIR/a"
	as_user "$RL_BERTH" spec --rootless -b "$TEST_DIR/b"
	# Only the runtime's name (hostname) and the spec version it implements may differ.
	norm='.hostname = "X" | .ociVersion = "X"'
	diff <(jq -S "$norm" "$TEST_DIR/a/config.json") <(jq -S "$norm" "$TEST_DIR/b/config.json")
	# Mapped to the caller, as runc maps it.
	[ "$(jq -c '.linux.uidMappings' "$TEST_DIR/b/config.json")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
}

@test "rootless: run shows the same ids, maps, hostname and mounts as runc" {
	requires runc
	rl_bundle sh -c "$PROBE"
	run rl_runc run rl-runc
	[ "$status" -eq 0 ] || fail "runc: $output"
	expected=$output
	run rl_berth run rl-berth
	[ "$status" -eq 0 ] || fail "berth: $output"
	[ "$output" = "$expected" ] || fail "$(diff <(echo "$expected") <(echo "$output"))"
	[ "${lines[0]}" = 0 ]
	# Only the caller is mapped, and gid maps written by an unprivileged user deny setgroups.
	[[ "${lines[2]}" =~ ^\ +0\ +$RL_UID\ +1$ ]]
	[ "${lines[4]}" = deny ]
	[ "${lines[5]}" = berth ] || [ "${lines[5]}" = runc ] # the spec's hostname, same for both
}

@test "rootless: crun on the same bundle agrees, where crun accepts this host's cgroups" {
	requires crun
	rl_bundle sh -c "$PROBE"
	# crun 1.8 knows runtime-spec 1.0.x only.
	update_config '.ociVersion = "1.0.2-dev"'
	chown "$RL_USER:" "$BUNDLE/config.json"
	run rl_berth run rl-berth
	[ "$status" -eq 0 ] || fail "berth: $output"
	expected=$output
	run bash -c "cd '$BUNDLE' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' crun --root '$TEST_DIR/crun' run rl-crun 2>&1"
	if [[ "$output" == *"hybrid mode not supported"* ]]; then
		skip "crun 1.8 refuses this hybrid cgroup host even rootless: $output"
	fi
	[ "$status" -eq 0 ] || fail "crun: $output"
	# ids, maps, setgroups, hostname alike; the same mount points (crun's options differ from
	# runc's, e.g. nosuid,noexec on bound device nodes; berth follows runc there).
	[ "$(head -6 <<<"$output")" = "$(head -6 <<<"$expected")" ]
	[ "$(tail -n +8 <<<"$output" | cut -d' ' -f1,2)" = "$(tail -n +8 <<<"$expected" | cut -d' ' -f1,2)" ] ||
		fail "$(diff <(echo "$expected") <(echo "$output"))"
}

@test "rootless: subordinate ranges through newuidmap/newgidmap, as runc maps them" {
	requires runc
	rl_bundle sh -c "$PROBE"
	rl_ranges
	run rl_runc run rl-runc
	[ "$status" -eq 0 ] || fail "runc: $output"
	expected=$output
	run rl_berth run rl-berth
	[ "$status" -eq 0 ] || fail "berth: $output"
	[ "$output" = "$expected" ] || fail "$(diff <(echo "$expected") <(echo "$output"))"
	[[ "${lines[3]}" =~ ^\ +1\ +$RL_SUB_START\ +65536$ ]]
	# newgidmap leaves setgroups allowed.
	[ "${lines[6]}" = allow ]
}

@test "rootless: create/start/state/list/ps/exec/kill/delete, no cgroup made, default root under XDG_RUNTIME_DIR" {
	rl_bundle sleep 300
	rl_ranges
	# No --root: $XDG_RUNTIME_DIR/berth, as runc uses $XDG_RUNTIME_DIR/runc.
	(cd "$BUNDLE" && as_user "$RL_BERTH" create rl-life)
	[ -d "$RL_XDG/berth/rl-life" ]
	B() { (cd "$BUNDLE" && as_user "$RL_BERTH" "$@"); }
	run B state rl-life
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = created ]
	pid=$(jq -r .pid <<<"$output")
	# No cgroup of its own anywhere: the init stays in the caller's cgroups.
	run grep -c rl-life /proc/$pid/cgroup
	[ "$output" = 0 ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -name rl-life 2>/dev/null)" ]
	B start rl-life
	run B list
	[[ "$output" == *"rl-life"*running*"$RL_USER"* ]]
	run B exec rl-life sh -c 'id -u; cat /proc/self/uid_map | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 2 ]
	run B exec --user 1000:1000 rl-life id -u
	[ "$output" = 1000 ]
	# uid 1000 in the container is the user's subordinate id on the host.
	B exec -d --user 1000:1000 rl-life sleep 200
	# (Until its execve completes the process is not dumpable and its /proc/PID/ns is not
	# readable by the user: ps may miss it for that instant.)
	for _ in $(seq 20); do
		run B ps rl-life -e -o pid,uid
		[ "$status" -eq 0 ]
		[[ "$output" == *"$((RL_SUB_START + 999))"* ]] && break
		sleep 0.1
	done
	[[ "$output" == *"$((RL_SUB_START + 999))"* ]] || fail "ps: $output (sub $RL_SUB_START)"
	B kill rl-life KILL
	for _ in $(seq 50); do
		[ "$(B state rl-life | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	[ "$(B state rl-life | jq -r .status)" = stopped ]
	B delete rl-life
	[ ! -e "$RL_XDG/berth/rl-life" ]
	run B state rl-life
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "rootless: pause/resume/update/events say there is no delegated cgroup" {
	rl_bundle sleep 300
	rl_berth run -d rl-cg
	for cmd in pause resume "update --memory 100000000" "events --stats"; do
		run rl_berth $cmd rl-cg
		[ "$status" -ne 0 ]
		[[ "$output" == *"has no cgroup: it runs rootless without a delegated cgroup v2 subtree"* ]] || fail "$cmd: $output"
	done
	[ "$(rl_berth state rl-cg | jq -r .status)" = running ]
}

@test "rootless: a delegated cgroup v2 subtree: pause/resume freeze for real, events --stats, update names what is absent" {
	local uni=/sys/fs/cgroup/unified n1 n2
	[ -f /sys/fs/cgroup/cgroup.controllers ] && uni=/sys/fs/cgroup
	[ -f "$uni/cgroup.procs" ] || skip "no cgroup2 hierarchy"
	DELEG=$uni/berthrl-$$-$BATS_TEST_NUMBER
	mkdir "$DELEG" "$DELEG/shell"
	# What systemd's Delegate=yes hands a user: the directory and these three files.
	chown "$RL_USER:" "$DELEG" "$DELEG/cgroup.procs" "$DELEG/cgroup.subtree_control" "$DELEG/cgroup.threads"
	rl_bundle sh -c 'i=0; while :; do i=$((i+1)); echo $i >/dev/shm/n; sleep 0.05; done'
	update_config ".linux.cgroupsPath = \"/${DELEG#"$uni"/}/c1\""
	chown "$RL_USER:" "$BUNDLE/config.json"
	# The user's commands start inside the subtree, as in a systemd user session: moving a
	# process between cgroups needs write access to their common ancestor.
	DB() { (echo $BASHPID >"$DELEG/shell/cgroup.procs" && cd "$BUNDLE" && as_user "$RL_BERTH" --root "$ROOT" "$@"); }
	# (Not under `run`: the container keeps its stdout, and run would wait for it to close.)
	DB run -d rl-deleg </dev/null >/dev/null 2>"$TEST_DIR/err" || fail "run: $(cat "$TEST_DIR/err")"
	pid=$(DB state rl-deleg | jq -r .pid)
	grep -qx "0::/${DELEG#"$uni"/}/c1" /proc/$pid/cgroup || fail "$(cat /proc/$pid/cgroup)"
	# No v1 hierarchy is written: no directory of that name in any of them.
	[ -z "$(find /sys/fs/cgroup -maxdepth 2 -name "${DELEG##*/}" ! -path "$uni/*")" ]
	run DB pause rl-deleg
	[ "$status" -eq 0 ] || fail "pause: $output"
	[ "$(DB state rl-deleg | jq -r .status)" = paused ]
	grep -qx "frozen 1" "$DELEG/c1/cgroup.events"
	# Frozen for real: the counter the container writes stands still.
	n1=$(cat /proc/$pid/root/dev/shm/n)
	sleep 0.3
	n2=$(cat /proc/$pid/root/dev/shm/n)
	[ "$n1" = "$n2" ] || fail "still counting while paused: $n1 -> $n2"
	run DB resume rl-deleg
	[ "$status" -eq 0 ] || fail "resume: $output"
	[ "$(DB state rl-deleg | jq -r .status)" = running ]
	grep -qx "frozen 0" "$DELEG/c1/cgroup.events"
	sleep 0.3
	[ "$(cat /proc/$pid/root/dev/shm/n)" -gt "$n2" ] || fail "not counting after resume"
	run DB events --stats rl-deleg
	[ "$status" -eq 0 ] || fail "events: $output"
	[ "$(jq -r .type <<<"$output")" = stats ] || fail "$output"
	[ "$(jq -r .id <<<"$output")" = rl-deleg ]
	# A controller the subtree does not have is named, in one line; nothing changed.
	run DB update --pids-limit 10 rl-deleg
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ "$output" == *"pids cgroup controller is not available in the delegated cgroup v2 subtree"* ]] || fail "$output"
	[ "$(DB state rl-deleg | jq -r .status)" = running ]
	run DB delete -f rl-deleg
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$DELEG/c1" ]
	# runc 1.1.5 on the same delegation: on a hybrid host it puts a rootless container with a
	# cgroupsPath in the v1 hierarchies too and fails there, so it is no oracle for pause on
	# this layout (berth uses the unified hierarchy alone and never writes v1).
	if [ "$uni" = /sys/fs/cgroup/unified ] && command -v runc >/dev/null; then
		update_config ".linux.cgroupsPath = \"/${DELEG#"$uni"/}/r1\""
		chown "$RL_USER:" "$BUNDLE/config.json"
		st=0
		(echo $BASHPID >"$DELEG/shell/cgroup.procs" && cd "$BUNDLE" &&
			as_user runc --root "$TEST_DIR/runc" run -d rl-deleg-runc </dev/null >/dev/null 2>"$TEST_DIR/rerr") || st=$?
		[ "$st" -ne 0 ] || fail "runc ran it: compare pause with it now"
		grep -q "mkdir /sys/fs/cgroup/[a-z_,]*/${DELEG##*/}: permission denied" "$TEST_DIR/rerr" || fail "runc: $(cat "$TEST_DIR/rerr")"
	fi
}

@test "rootless: a limit without a delegated cgroup is refused naming it; runc refuses too; nothing left" {
	requires runc
	rl_bundle true
	update_config '.linux.resources = {memory: {limit: 100000000}}'
	run rl_runc run rl-runc
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot set memory limit"* ]]
	run rl_berth run rl-lim
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"linux.resources.memory.limit: a rootless container can have cgroup limits only in a delegated cgroup v2 subtree"* ]]
	[[ "$output" != *"Permission denied"* ]]
	[ -z "$(ls "$ROOT")" ]
	# Device rules are not a limit: podman and `spec` keep them, and the container runs.
	update_config '.linux.resources = {devices: [{allow: false, access: "rwm"}]}'
	run rl_berth run rl-dev
	[ "$status" -eq 0 ] || fail "$output"
}

@test "rootless: oomScoreAdj below the inherited score is left as runc leaves it" {
	requires runc
	rl_bundle cat /proc/self/oom_score_adj
	update_config '.process.oomScoreAdj = -100'
	run rl_runc run rl-runc
	expected_status=$status expected=$output
	run rl_berth run rl-oom
	[ "$status" -eq 0 ] || fail "$output"
	[ "$expected_status" -ne 0 ] || [ "$output" = "$expected" ] || fail "runc: $expected, berth: $output"
	# A raise needs no privilege and is applied.
	update_config '.process.oomScoreAdj = 500'
	run rl_berth run rl-oom2
	[ "$output" = 500 ]
}

@test "rootless: --rootless takes true, false, auto; features reports what rootless can do here" {
	run as_user "$RL_BERTH" --rootless maybe list
	[ "$status" -ne 0 ]
	[[ "$output" == *"--rootless: invalid value 'maybe'"* ]]
	run as_user "$RL_BERTH" features
	[ "$status" -eq 0 ]
	[ "$(jq -r '.annotations["org.berth.rootless.active"]' <<<"$output")" = true ]
	[ "$(jq -r '.annotations["org.berth.rootless.userns"]' <<<"$output")" = true ]
	[ "$(jq -r '.annotations["org.berth.rootless.idmap_helpers"]' <<<"$output")" = true ]
	cg=$(jq -r '.annotations["org.berth.rootless.cgroup"]' <<<"$output")
	if [ -d /sys/fs/cgroup/unified ]; then [ "$cg" = none ]; fi
	run as_user "$RL_BERTH" --rootless false features
	[ "$(jq -r '.annotations["org.berth.rootless.active"]' <<<"$output")" = false ]
	# Root is not rootless unless asked.
	run "$BERTH" features
	[ "$(jq -r '.annotations["org.berth.rootless.active"]' <<<"$output")" = false ]
}

@test "rootless podman on berth: output, exit code, -v, --userns=keep-id, exec, stop" {
	requires podman
	local img=$TEST_DIR/img.tar
	make_rootfs "$TEST_DIR/imgroot"
	tar -C "$TEST_DIR/imgroot" -cf "$img" .
	chmod 644 "$img"
	chmod 755 "$TEST_DIR"
	P() {
		(
			cd "$RL_HOME" || exit 1
			as_user podman --runtime "$RL_BERTH" "$@" 2>&1 | { grep -v 'is not a shared mount' || true; }
			exit "${PIPESTATUS[0]}"
		)
	}
	# No network here: slirp4netns needs /dev/net/tun, so the containers run without one.
	O="--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
	as_user podman import -q "$img" localhost/berth-rl:1 >/dev/null
	run P run --rm $O localhost/berth-rl:1 sh -c 'echo out; echo err >&2; id -u; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out* && "$output" == *err* ]]
	mkdir "$TEST_DIR/vol"
	echo data >"$TEST_DIR/vol/in"
	chown -R "$RL_USER:" "$TEST_DIR/vol"
	run P run --rm $O -v "$TEST_DIR/vol:/vol" localhost/berth-rl:1 sh -c 'cat /vol/in; echo new >/vol/out'
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	# Container root writes as the user on the host.
	[ "$(stat -c %u "$TEST_DIR/vol/out")" = "$RL_UID" ]
	run P run --rm $O --userns=keep-id localhost/berth-rl:1 id -u
	[ "$status" -eq 0 ]
	[ "$output" = "$RL_UID" ]
	P run -d --name rl-pod $O localhost/berth-rl:1 sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
	run P exec rl-pod sh -c 'echo in-exec; exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = in-exec ]
	run P stop -t 10 rl-pod
	[ "$status" -eq 0 ]
	[ "$(P inspect -f '{{.State.ExitCode}}' rl-pod)" = 0 ]
	P rm rl-pod >/dev/null
	# The same through runc, the oracle: the same id inside.
	run bash -c "cd '$RL_HOME' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' podman --runtime runc run --rm $O localhost/berth-rl:1 id 2>/dev/null"
	runc_id=$output
	run P run --rm $O localhost/berth-rl:1 id
	[ "$output" = "$runc_id" ] || fail "runc: $runc_id, berth: $output"
}
