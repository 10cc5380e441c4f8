#!/usr/bin/env bats
# Docker 20.10 (Debian's docker.io) drives berth in runc's place: dockerd -> containerd ->
# containerd-shim-runc-v2 -> berth. Every case runs twice, once with `--runtime berth` and
# once with runc, so the log shows one line per case and runtime and a difference from runc
# is visible at once: runc is the oracle, both must meet the same assertions.
#
# The file starts its own dockerd (setsid; its own containerd, data root on a private tmpfs,
# exec root, pidfile, socket, a bridge of its own on an unusual subnet, a cgroup parent of its
# own) and removes all of it in teardown_file. dockerd runs with --iptables=false and
# --ip-forward=false so that nothing host-wide changes: published ports go through
# docker-proxy, which is all a loopback curl needs.
#
# Runtimes: `berth` is a logging wrapper around $BERTH (so a test can tell that berth, not
# runc, ran a step) and is the default runtime. Docker's built-in `runc` and BuildKit's
# executor both exec `runc` from dockerd's PATH; that PATH starts with $DK/shim, whose `runc`
# execs the binary named in $DK/shim-target (/usr/sbin/runc unless a BuildKit test points
# it at berth). The classic builder uses the default runtime, which daemon.json names and a
# SIGHUP reloads (see use_default_runtime).
#
# Images are made offline: busybox-static imported as berth-test/busybox:1, and for the
# compose stack a Debian bookworm with postgresql, redis and python3 made once by
# tests/fixtures/debian-stack.sh and cached in /var/cache/berth-tests.

load helpers
load engines

IMG=berth-test/busybox:1
STACK_IMG=berth-test/stack:1

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the docker tests run rootful"
	command -v dockerd >/dev/null && [ -x /usr/bin/docker ] ||
		skip "docker.io is not installed (scripts/install-deps engines)"
	export DK
	DK=$(engine_dir)
	# A tmpfs for dockerd's data: fast layers on a busy disk, and one umount removes it all.
	mount -t tmpfs -o size=8g,mode=755 berth-docker "$DK"
	mkdir -p "$DK/data" "$DK/exec" "$DK/shim" "$DK/bin" "$DK/work"
	export DK_BRIDGE="btdk$$" DK_CG="/berth-docker-$$"
	local net=$(($$ % 200 + 20))
	# berth, logged: each call's arguments go to $DK/calls.berth.
	cat >"$DK/bin/berth" <<-EOF
		#!/bin/sh
		echo "\$*" >>$DK/calls.berth
		exec $BERTH "\$@"
	EOF
	echo /usr/sbin/runc >"$DK/shim-target"
	cat >"$DK/shim/runc" <<-EOF
		#!/bin/sh
		read -r rt <$DK/shim-target
		echo "\$rt \$*" >>$DK/calls.shim
		exec "\$rt" "\$@"
	EOF
	chmod +x "$DK/bin/berth" "$DK/shim/runc"
	cat >"$DK/daemon.json" <<-EOF
		{"runtimes": {"berth": {"path": "$DK/bin/berth"}}, "default-runtime": "berth"}
	EOF
	# dockerd attaches containers to a bridge it is given (-b) and does not create one of
	# another name, so the file makes it.
	ip link add "$DK_BRIDGE" type bridge
	ip addr add "10.213.$net.1/24" dev "$DK_BRIDGE"
	ip link set "$DK_BRIDGE" up
	PATH="$DK/shim:$PATH" setsid dockerd --config-file "$DK/daemon.json" \
		--data-root "$DK/data" --exec-root "$DK/exec" --pidfile "$DK/docker.pid" \
		-H "unix://$DK/docker.sock" --bridge "$DK_BRIDGE" --iptables=false --ip-forward=false \
		--ip-masq=false --default-address-pool "base=10.214.$net.0/24,size=28" \
		--cgroup-parent "$DK_CG" --storage-driver overlay2 --log-level warn \
		--userland-proxy-path /usr/sbin/docker-proxy \
		</dev/null >"$DK/dockerd.log" 2>&1 &
	local i
	for i in $(seq 300); do
		dk version >/dev/null 2>&1 && break
		sleep 0.2
	done
	dk version >/dev/null || { cat "$DK/dockerd.log" >&2; fail "dockerd did not come up"; }
	# $DK/docker: the client for this dockerd, as a program script(1) can run.
	cat >"$DK/docker" <<-EOF
		#!/bin/sh
		DOCKER_HOST=unix://$DK/docker.sock exec /usr/bin/docker "\$@"
	EOF
	chmod +x "$DK/docker"
	# The busybox image: a rootfs with a user, a tty group and a root-only script.
	local r="$DK/work/rootfs"
	make_rootfs "$r"
	echo 'tty:x:5:' >>"$r/etc/group"
	chmod 700 "$r/root"
	printf '#!/bin/sh\necho root-only\n' >"$r/root/x"
	chmod 755 "$r/root/x"
	mkdir -p "$r/www"
	echo served-by-docker >"$r/www/index.html"
	tar -C "$r" --numeric-owner -c . | dk import -c 'CMD ["/bin/sh"]' - "$IMG" >/dev/null ||
		fail "docker import failed"
	rm -rf "$r"
	# The stack's Debian tree: cached after the first run on a machine, which debootstraps it
	# here, outside any one test's time bound.
	export STACK_TAR
	STACK_TAR=${BERTH_STACK_TAR:-$("$BERTH_SRC/tests/fixtures/debian-stack.sh")} || STACK_TAR=
}

teardown_file() {
	[ -n "${DK:-}" ] || return 0
	if [ -S "$DK/docker.sock" ]; then
		dk_clean
		dk image prune -af >/dev/null 2>&1 || true
	fi
	local pid i
	if [ -f "$DK/docker.pid" ]; then
		pid=$(cat "$DK/docker.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# dockerd's containerd exits with it; a shim whose container is gone exits too.
	findmnt -rn -o TARGET | grep "^$DK/" | sort -r | while read -r m; do umount -l "$m" || true; done
	umount -l "$DK" 2>/dev/null || true
	ip link del "$DK_BRIDGE" 2>/dev/null || true
	# dockerd leaves its (empty) cgroup parent behind; a container's own group left under it
	# would have failed that test's dk_leftovers already.
	find /sys/fs/cgroup/*"$DK_CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
	rmdir "$DK" 2>/dev/null || rm -rf "$DK"
}

setup() {
	setup_common
}

teardown() {
	[ -S "${DK:-/nonexistent}/docker.sock" ] && dk_clean
	teardown_common
}

dk() { DOCKER_HOST="unix://$DK/docker.sock" /usr/bin/docker "$@"; }

# dk_clean: no container, user network or volume of this dockerd is left.
dk_clean() {
	local id
	for id in $(dk ps -aq 2>/dev/null); do
		dk unpause "$id" >/dev/null 2>&1 || true
		dk rm -f "$id" >/dev/null 2>&1 || true
	done
	dk network prune -f >/dev/null 2>&1 || true
	dk volume prune -f >/dev/null 2>&1 || true
}

# use_default_runtime RT: the runtime the classic builder (and compose without `runtime:`)
# uses; dockerd reloads `default-runtime` on SIGHUP.
use_default_runtime() {
	jq --arg rt "$1" '."default-runtime" = $rt' "$DK/daemon.json" >"$DK/daemon.json.tmp"
	mv "$DK/daemon.json.tmp" "$DK/daemon.json"
	kill -HUP "$(cat "$DK/docker.pid")"
	local i
	for i in $(seq 50); do
		[ "$(dk info --format '{{.DefaultRuntime}}')" = "$1" ] && return 0
		sleep 0.1
	done
	fail "dockerd did not switch its default runtime to $1"
}

name() { echo "bt$BATS_TEST_NUMBER-$$-$1"; }

# dkrun RT ARGS...: `docker run --rm --runtime RT ARGS`, stdout and stderr as bats' output,
# minus dockerd's warning about forwarding (this file keeps the host's setting).
dkrun() {
	local rt=$1
	shift
	dk run --rm --runtime "$rt" "$@" 2> >(grep -v 'IPv4 forwarding is disabled' >&2)
}

# dk_leftovers: fails naming what a finished container left: a cgroup under this dockerd's
# parent, a mount of a container's rootfs, a process in either.
dk_leftovers() {
	local left
	# BuildKit keeps an (empty) parent group of its own there; its children would count.
	left=$(find /sys/fs/cgroup/*"$DK_CG" -mindepth 1 -type d ! -path "*$DK_CG/buildkit" 2>/dev/null || true)
	[ -z "$left" ] || fail "cgroups left behind: $left"
	left=$(findmnt -rn -o TARGET | grep "^$DK/data/overlay2/.*/merged" || true)
	[ -z "$left" ] || fail "mounts left behind: $left"
	wait_for no_stray_shims || fail "shims of removed containers still run: $(stray_shims)"
	left=$(find "$DK/exec/runtime-"*/moby -mindepth 1 -maxdepth 1 ! -name "@*" 2>/dev/null || true)
	[ -z "$left" ] || fail "runtime state left behind: $left"
}

# dkrun_rc RT ARGS...: dkrun, then "rc=STATUS" as the last line (bats warns about a `run`
# whose status is 126 or 127 when the test means it).
dkrun_rc() {
	local rc=0
	dkrun "$@" || rc=$?
	echo "rc=$rc"
}

# stray_shims: ids of containerd shims of this dockerd whose container docker no longer has
# (a shim outlives dockerd, so one the engine never shut down would run forever).
stray_shims() {
	pgrep -af "containerd-shim-runc-v2 .*-address $DK/exec/" | grep -oE -- '-id [0-9a-f]{64}' |
		cut -d' ' -f2 | grep -vxF -f <(dk ps -aq --no-trunc; echo none) || true
}
no_stray_shims() { [ -z "$(stray_shims)" ]; }

# logs_say NAME TEXT: the container's log holds TEXT (for wait_for).
logs_say() { dk logs "$1" 2>&1 | grep -q "$2"; }

pid_of() { dk inspect --format '{{.State.Pid}}' "$1"; }

# --- run: output and exit codes ------------------------------------------------------------

case_run_exit_codes() {
	local rt=$1 missing denied notdir
	run dkrun "$rt" --network none "$IMG" sh -c 'echo out-$((6*7)); echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out-42* ]]
	[[ "$output" == *err* ]]
	# docker maps the runtime's error text: "no such file or directory" -> 127,
	# "permission denied" -> 126, anything else -> 125.
	missing=$(dkrun_rc "$rt" --network none "$IMG" /nonexistent 2>&1)
	denied=$(dkrun_rc "$rt" --network none -u 1000 "$IMG" /root/x 2>&1)
	# A file bound onto a directory: the runtime's error keeps "not a directory", so
	# dockerd adds its hint.
	touch "$TEST_DIR/file"
	notdir=$(dkrun_rc "$rt" --network none -v "$TEST_DIR/file:/tmp" "$IMG" true 2>&1)
	printf '%s\n' "$missing" "$denied" "$notdir"
	# Failed runs leave nothing behind, whatever their status.
	[ "$(dk ps -aq | wc -l)" -eq 0 ]
	dk_leftovers
	grep -qx 'rc=127' <<<"$missing"
	grep -qx 'rc=126' <<<"$denied"
	[[ "$denied" != *root-only* ]]
	grep -qx 'rc=125' <<<"$notdir"
	[[ "$notdir" == *"not a directory"* ]]
	[[ "$notdir" == *"Are you trying to mount a directory onto a file"* ]]
}
@test "[berth] docker run: output, exit status, 125/126/127 as runc gives them" { case_run_exit_codes berth; }
@test "[runc]  docker run: output, exit status, 125/126/127 as runc gives them" { case_run_exit_codes runc; }

case_user_stdio() {
	local rt=$1
	# The container user opens its own stdio (the pipes belong to it, as runc hands them).
	run dkrun "$rt" --network none -u 1000:1000 "$IMG" \
		sh -c 'echo to-stdout >/dev/stdout; echo to-stderr >/dev/stderr; id -u'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *to-stdout* ]]
	[[ "$output" == *to-stderr* ]]
	[[ "$output" == *1000* ]]
}
@test "[berth] docker run -u 1000:1000: the user writes to /dev/stdout and /dev/stderr" { case_user_stdio berth; }
@test "[runc]  docker run -u 1000:1000: the user writes to /dev/stdout and /dev/stderr" { case_user_stdio runc; }

case_tty() {
	local rt=$1
	# script(1) gives docker a terminal; the container's is a pty of its own devpts.
	run bash -c "printf 'tty; ls -l \$(tty); echo again >\$(tty) && echo reopened\nexit 5\n' |
		timeout 60 script -qec '$DK/docker run --rm -it --runtime $rt -u 1000 --network none $IMG sh' /dev/null"
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *$'\n/dev/pts/0\r'* ]]
	[[ "$output" == *"crw--w----"*" user "*" tty "*"/dev/pts/0"* ]]
	[[ "$output" == *reopened* ]]
}
@test "[berth] docker run -it: tty is /dev/pts/0 of the container, the user's, reopenable" { case_tty berth; }
@test "[runc]  docker run -it: tty is /dev/pts/0 of the container, the user's, reopenable" { case_tty runc; }

# --- storage ------------------------------------------------------------------------------

case_volumes() {
	local rt=$1 v
	v=$(name vol)
	dkrun "$rt" --network none -v "$v:/data" "$IMG" sh -c 'echo kept-$((2*3)) >/data/f'
	run dkrun "$rt" --network none -v "$v:/data" "$IMG" cat /data/f
	[ "$output" = kept-6 ]
	mkdir -p "$TEST_DIR/bind"
	echo from-host >"$TEST_DIR/bind/in"
	run dkrun "$rt" --network none -v "$TEST_DIR/bind:/b:ro" "$IMG" \
		sh -c 'cat /b/in; { echo x >/b/out; } 2>/dev/null || echo write-refused; grep " /b " /proc/mounts'
	echo "$output"
	[ "${lines[0]}" = from-host ]
	[[ "$output" == *write-refused* ]]
	[[ "${lines[-1]}" == *" ro,"* ]]
	[ ! -e "$TEST_DIR/bind/out" ]
	dk volume rm "$v" >/dev/null
}
@test "[berth] docker run -v: a named volume keeps data, a :ro bind refuses writes" { case_volumes berth; }
@test "[runc]  docker run -v: a named volume keeps data, a :ro bind refuses writes" { case_volumes runc; }

case_read_only() {
	local rt=$1
	run dkrun "$rt" --network none --read-only --tmpfs /run:size=1m "$IMG" \
		sh -c 'touch /x 2>&1; echo rc=$?; touch /run/y && echo tmpfs-ok; grep " /run " /proc/mounts'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *rc=1* ]]
	[[ "$output" == *tmpfs-ok* ]]
	[[ "$output" == *"tmpfs /run tmpfs rw"*"size=1024k"* ]]
}
@test "[berth] docker run --read-only --tmpfs: / refuses writes, the tmpfs takes them" { case_read_only berth; }
@test "[runc]  docker run --read-only --tmpfs: / refuses writes, the tmpfs takes them" { case_read_only runc; }

# --- network ------------------------------------------------------------------------------

case_publish() {
	local rt=$1 n port
	n=$(name web)
	port=$(free_port)
	dk run -d --runtime "$rt" --name "$n" -p "127.0.0.1:$port:8080" "$IMG" \
		httpd -f -p 8080 -h /www >/dev/null 2>&1
	wait_for curl -sf --max-time 2 "http://127.0.0.1:$port/index.html"
	run curl -sf --max-time 5 "http://127.0.0.1:$port/index.html"
	[ "$output" = served-by-docker ]
}
@test "[berth] docker run -p: httpd in the container answers curl on the host port" { case_publish berth; }
@test "[runc]  docker run -p: httpd in the container answers curl on the host port" { case_publish runc; }

case_user_network() {
	local rt=$1 net srv
	net=$(name net)
	srv=$(name srv)
	dk network create "$net" >/dev/null
	dk run -d --runtime "$rt" --network "$net" --name "$srv" "$IMG" httpd -f -p 8080 -h /www >/dev/null
	# The name resolves through dockerd's embedded DNS (127.0.0.11 in the container).
	run dkrun "$rt" --network "$net" "$IMG" sh -c \
		"for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://$srv:8080/index.html && exit 0; sleep 0.5; done; exit 1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = served-by-docker ]
	run dkrun "$rt" --network "$net" "$IMG" nslookup "$srv"
	[[ "$output" == *127.0.0.11* ]]
	dk rm -f "$srv" >/dev/null
	dk network rm "$net" >/dev/null
}
@test "[berth] docker network create: containers reach each other by name" { case_user_network berth; }
@test "[runc]  docker network create: containers reach each other by name" { case_user_network runc; }

# --- process control ----------------------------------------------------------------------

case_exec() {
	local rt=$1 n
	n=$(name ex)
	dk run -d --runtime "$rt" --network none --name "$n" "$IMG" sleep 1000 >/dev/null
	run dk exec "$n" sh -c 'echo exec-$((1+2)); exit 4'
	[ "$status" -eq 4 ]
	[ "$output" = exec-3 ]
	run dk exec -u 1000:1000 -w /tmp -e FOO=bar "$n" \
		sh -c 'echo $FOO $(pwd) $(id -u) >/dev/stdout; echo err >/dev/stderr'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bar /tmp 1000"* ]]
	[[ "$output" == *err* ]]
	run bash -c "printf 'tty; test -t 0 && echo is-a-tty; id -u\nexit 6\n' |
		timeout 60 script -qec '$DK/docker exec -it -u 1000 $n sh' /dev/null"
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *$'\n/dev/pts/'* ]]
}
@test "[berth] docker exec: exit status, -u with its own stdio, -it" { case_exec berth; }
@test "[runc]  docker exec: exit status, -u with its own stdio, -it" { case_exec runc; }

case_stop_kill() {
	local rt=$1 n
	n=$(name st)
	dk run -d --runtime "$rt" --network none --name "$n" "$IMG" \
		sh -c 'trap "echo got-term; exit 3" TERM; echo trapped; while :; do sleep 0.1; done' >/dev/null
	wait_for logs_say "$n" trapped
	dk stop -t 20 "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.ExitCode}}' "$n")" = 3 ]
	[[ "$(dk logs "$n")" == *got-term* ]]
	dk rm "$n" >/dev/null
	# A signal the process traps (pid 1 ignores those it has no handler for), then a restart
	# of the stopped container and SIGKILL.
	dk run -d --runtime "$rt" --network none --name "$n" "$IMG" \
		sh -c 'trap "exit 10" USR1; echo trapped; while :; do sleep 0.1; done' >/dev/null
	wait_for logs_say "$n" trapped
	dk kill -s USR1 "$n" >/dev/null
	timeout 60 /usr/bin/env DOCKER_HOST="unix://$DK/docker.sock" /usr/bin/docker wait "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.ExitCode}}' "$n")" = 10 ]
	dk start "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.Running}}' "$n")" = true ]
	dk kill "$n" >/dev/null
	timeout 60 /usr/bin/env DOCKER_HOST="unix://$DK/docker.sock" /usr/bin/docker wait "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.ExitCode}}' "$n")" = 137 ]
}
@test "[berth] docker stop/kill/start: exit codes 3 (trapped TERM), 10 (trapped USR1), 137" { case_stop_kill berth; }
@test "[runc]  docker stop/kill/start: exit codes 3 (trapped TERM), 10 (trapped USR1), 137" { case_stop_kill runc; }

case_restart_always() {
	local rt=$1 n pid i
	n=$(name rs)
	dk run -d --runtime "$rt" --network none --restart=always --name "$n" "$IMG" sleep 1000 >/dev/null
	pid=$(pid_of "$n")
	kill -KILL "$pid"
	for i in $(seq 100); do
		[ "$(dk inspect --format '{{.RestartCount}} {{.State.Running}}' "$n")" = "1 true" ] && break
		sleep 0.2
	done
	[ "$(dk inspect --format '{{.RestartCount}} {{.State.Running}}' "$n")" = "1 true" ]
	[ "$(pid_of "$n")" != "$pid" ]
	kill -0 "$(pid_of "$n")"
}
@test "[berth] docker run --restart=always: a killed process comes back" { case_restart_always berth; }
@test "[runc]  docker run --restart=always: a killed process comes back" { case_restart_always runc; }

case_pause() {
	local rt=$1 n pid
	n=$(name pa)
	dk run -d --runtime "$rt" --network none --name "$n" "$IMG" sleep 1000 >/dev/null
	pid=$(pid_of "$n")
	dk pause "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.Status}}' "$n")" = paused ]
	[ "$(cgroup_file "$pid" freezer freezer.state)" = FROZEN ]
	[ "$(awk '{print $3}' "/proc/$pid/stat")" != R ]
	dk unpause "$n" >/dev/null
	[ "$(dk inspect --format '{{.State.Status}}' "$n")" = running ]
	[ "$(cgroup_file "$pid" freezer freezer.state)" = THAWED ]
}
@test "[berth] docker pause/unpause: the freezer cgroup follows" { requires cgroup_v1; case_pause berth; }
@test "[runc]  docker pause/unpause: the freezer cgroup follows" { requires cgroup_v1; case_pause runc; }

case_update_oom() {
	local rt=$1 n pid
	n=$(name up)
	dk run -d --runtime "$rt" --network none --name "$n" -m 64m "$IMG" sleep 1000 >/dev/null
	pid=$(pid_of "$n")
	[ "$(cgroup_file "$pid" memory memory.limit_in_bytes)" = 67108864 ]
	[[ "$(cgroup_file "$pid" memory tasks)" == *"$pid"* ]]
	dk update --memory 96m --memory-swap 192m "$n" >/dev/null
	[ "$(cgroup_file "$pid" memory memory.limit_in_bytes)" = 100663296 ]
	[ "$(cgroup_file "$pid" memory memory.memsw.limit_in_bytes 2>/dev/null || echo 201326592)" = 201326592 ]
	# dd's 64 MiB buffer cannot fit in 16 MiB: the kernel kills it, docker says so.
	n=$(name oom)
	run dk run --runtime "$rt" --network none --name "$n" -m 16m --memory-swap 16m "$IMG" \
		dd if=/dev/zero of=/dev/null bs=64M count=1
	[ "$status" -eq 137 ]
	[ "$(dk inspect --format '{{.State.OOMKilled}} {{.State.ExitCode}}' "$n")" = "true 137" ]
}
@test "[berth] docker update --memory reaches the cgroup; an OOM kill shows in inspect" { requires cgroup_v1; case_update_oom berth; }
@test "[runc]  docker update --memory reaches the cgroup; an OOM kill shows in inspect" { requires cgroup_v1; case_update_oom runc; }

# --- build --------------------------------------------------------------------------------

# write_dockerfile DIR: a two-stage build whose RUN steps record who ran them.
write_dockerfile() {
	mkdir -p "$1"
	cat >"$1/Dockerfile" <<-EOF
		FROM $IMG AS builder
		RUN echo built-\$((6*7)) >/out && id -u >>/out && ls /proc/self/fd | wc -l >/fds
		USER 1000
		RUN echo as-user-\$(id -u) >/tmp/user
		FROM $IMG
		COPY --from=builder /out /out
		COPY --from=builder /tmp/user /user
		CMD cat /out /user
	EOF
}

case_build_classic() {
	local rt=$1 tag
	tag="berth-test/built-$rt:1"
	write_dockerfile "$TEST_DIR/ctx"
	use_default_runtime "$rt"
	: >"$DK/calls.berth"
	run env DOCKER_BUILDKIT=0 DOCKER_HOST="unix://$DK/docker.sock" /usr/bin/docker build --no-cache -q -t "$tag" "$TEST_DIR/ctx"
	use_default_runtime berth
	echo "$output"
	[ "$status" -eq 0 ]
	if [ "$rt" = berth ]; then
		grep -q ' create ' "$DK/calls.berth"
	else
		! grep -q ' create ' "$DK/calls.berth"
	fi
	run dkrun "$rt" --network none "$tag"
	[ "$output" = "$(printf 'built-42\n0\nas-user-1000')" ]
	dk rmi "$tag" >/dev/null
}
@test "[berth] docker build (classic builder): a two-stage build's RUN steps" { case_build_classic berth; }
@test "[runc]  docker build (classic builder): a two-stage build's RUN steps" { case_build_classic runc; }

case_build_buildkit() {
	local rt=$1 tag target
	tag="berth-test/bk-$rt:1"
	write_dockerfile "$TEST_DIR/ctx"
	# BuildKit in dockerd 20.10 ignores the runtimes and execs `runc` from dockerd's PATH.
	target=/usr/sbin/runc
	[ "$rt" = berth ] && target="$DK/bin/berth"
	echo "$target" >"$DK/shim-target"
	: >"$DK/calls.berth"
	: >"$DK/calls.shim"
	run env DOCKER_BUILDKIT=1 DOCKER_HOST="unix://$DK/docker.sock" /usr/bin/docker build \
		--no-cache --progress plain -t "$tag" "$TEST_DIR/ctx"
	echo /usr/sbin/runc >"$DK/shim-target"
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$DK/calls.shim"
	grep -q "^$target .* run " "$DK/calls.shim"
	if [ "$rt" = berth ]; then
		grep -q ' run ' "$DK/calls.berth"
	fi
	[[ "$output" == *"naming to docker.io/$tag done"* ]]
	run dkrun "$rt" --network none "$tag"
	[ "$output" = "$(printf 'built-42\n0\nas-user-1000')" ]
	dk rmi "$tag" >/dev/null
}
@test "[berth] docker build (BuildKit, the runtime as its runc): a two-stage build's RUN steps" { case_build_buildkit berth; }
@test "[runc]  docker build (BuildKit, the runtime as its runc): a two-stage build's RUN steps" { case_build_buildkit runc; }

# --- compose: postgres + redis + a python app -----------------------------------------------

# stack_image: berth-test/stack:1 from the cached Debian tree (made on the first run).
stack_image() {
	dk image inspect "$STACK_IMG" >/dev/null 2>&1 && return 0
	[ -n "$STACK_TAR" ] || fail "tests/fixtures/debian-stack.sh could not make the stack's tree"
	dk import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		-c 'CMD ["/bin/sh"]' "$STACK_TAR" "$STACK_IMG" >/dev/null
}

# dc PROJECT ARGS...: docker-compose on the stack, against this file's dockerd.
dc() {
	local p=$1
	shift
	DOCKER_HOST="unix://$DK/docker.sock" docker-compose --ansi never -p "$p" \
		-f "$BERTH_SRC/tests/fixtures/stack/docker-compose.yml" "$@"
}

# visit PORT: one GET of the app, retried while the stack starts (postgres' initdb is slow).
visit() {
	local i
	for i in $(seq 240); do
		curl -sf --max-time 5 "http://127.0.0.1:$1/" && return 0
		sleep 0.5
	done
	return 1
}

case_compose() {
	local rt=$1 p
	requires_compose
	stack_image
	p="bt$$$rt"
	export RT=$rt APP="$BERTH_SRC/tests/fixtures/stack" PORT
	PORT=$(free_port)
	dc "$p" up -d
	run visit "$PORT"
	[ "$output" = "visits=1 rows=1" ] || { dc "$p" logs; false; }
	[ "$(visit "$PORT")" = "visits=2 rows=2" ]
	# Every service runs on the runtime asked for, the app as its user.
	[ "$(dk inspect --format '{{.HostConfig.Runtime}}' "${p}_db_1" "${p}_cache_1" "${p}_app_1" | sort -u)" = "$rt" ]
	[ "$(dk exec "${p}_app_1" id -u)" = 1000 ]
	dc "$p" restart
	[ "$(visit "$PORT")" = "visits=3 rows=3" ]
	# down keeps the named volumes: the counter and the rows survive.
	dc "$p" down
	[ -z "$(dk ps -aq)" ]
	dc "$p" up -d
	[ "$(visit "$PORT")" = "visits=4 rows=4" ]
	dc "$p" down -v
	[ -z "$(dk ps -aq)" ]
	[ -z "$(dk volume ls -q)" ]
	dk_leftovers
}
requires_compose() { command -v docker-compose >/dev/null || skip "docker-compose is not installed"; }
@test "[berth] docker-compose: postgres + redis + app; restart, down/up keep data, down -v leaves nothing" { case_compose berth; }
@test "[runc]  docker-compose: postgres + redis + app; restart, down/up keep data, down -v leaves nothing" { case_compose runc; }

# dockerd gives every path-based runtime the root EXECROOT/runtime-runc, so berth and runc
# share /run/docker/runtime-runc/moby: nothing berth keeps there may break `runc list`.
@test "[berth] runc list still reads the state root berth shares with it (EXECROOT/runtime-runc)" {
	local b r
	b=$(name lsb)
	r=$(name lsr)
	dk run -d --runtime berth --network none --name "$b" "$IMG" sleep 1000 >/dev/null
	dk run -d --runtime runc --network none --name "$r" "$IMG" sleep 1000 >/dev/null
	run runc --root "$DK/exec/runtime-runc/moby" list -q
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$(dk inspect --format '{{.Id}}' "$r")"* ]]
}

# berth-image's docker-archive transport against Docker's own save and load (copy.bats does
# the same with podman): what `docker save` writes (legacy layer directories, manifest.json)
# loads into the store, and the archive berth-image writes from it `docker load`s back to the
# same image ID (the config is kept) and runs.
@test "[berth] berth-image reads docker save and writes an archive docker load takes back" {
	local st="$DK/work/store-$$" out
	dk save -o "$DK/work/saved.tar" "$IMG"
	run "$BERTH_IMAGE" --store "$st" load "$DK/work/saved.tar"
	[ "$status" -eq 0 ] || fail "$output"
	run "$BERTH_IMAGE" --store "$st" copy "$IMG" "docker-archive:$DK/work/berth.tar:berth-test/archived:2"
	[ "$status" -eq 0 ] || fail "$output"
	run dk load -i "$DK/work/berth.tar"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(dk image inspect -f '{{.Id}}' berth-test/archived:2)" = "$(dk image inspect -f '{{.Id}}' "$IMG")" ]
	out=$(dk run --rm --network none berth-test/archived:2 cat /www/index.html)
	dk rmi berth-test/archived:2 >/dev/null
	rm -rf "$st" "$DK/work/saved.tar" "$DK/work/berth.tar"
	[ "$out" = served-by-docker ]
}
