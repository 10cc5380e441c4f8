#!/usr/bin/env bats
# podman drives berth in runc's place (`podman --runtime $BERTH`, conmon in between): run,
# detach, stop (SIGTERM, then SIGKILL), a terminal, pause, cgroup limits, volumes, read-only
# root, published ports, user namespaces, exec, build, and podman-compose bringing up
# engine_docker.bats' postgres + redis + app stack. Each test checks what the kernel or podman
# saw: output, exit code, cgroup files, /proc, `berth state`.
#
# podman keeps its storage under one private directory for this file; berth's state is in its
# default root (/run/berth), because podman 4.3 calls `delete --force` without the
# --runtime-flag options (docs/engines.md), so a private --root would leak state.

load helpers
load engines
load ../helpers/registry

setup_file() {
	command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps engines)"
	[ "$(id -u)" -eq 0 ] || skip "the podman tests run rootful"
	export PD
	PD=$(engine_dir)
	export BERTH_STATE=/run/berth
	# The hard limits here cannot be raised, and podman's default nofile/nproc would need to.
	export CONTAINERS_CONF="$PD/containers.conf"
	cat >"$CONTAINERS_CONF" <<-'EOF'
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	# A private CNI network: its own bridge, subnet and IPAM directory, removed in teardown.
	export PD_BRIDGE="cni-bt$$"
	mkdir -p "$PD/net" "$PD/ipam"
	cat >"$PD/net/berthtest.conflist" <<-EOF
		{"cniVersion": "0.4.0", "name": "berthtest", "plugins": [
		  {"type": "bridge", "bridge": "$PD_BRIDGE", "isGateway": true, "ipMasq": true,
		   "ipam": {"type": "host-local", "dataDir": "$PD/ipam", "routes": [{"dst": "0.0.0.0/0"}],
		            "ranges": [[{"subnet": "10.231.$(($$ % 200 + 20)).0/24"}]]}},
		  {"type": "portmap", "capabilities": {"portMappings": true}},
		  {"type": "firewall", "backend": "iptables"}]}
	EOF
	# $PD/pm: podman with this file's storage and berth as the runtime (a script, so that
	# script(1) and podman-compose can run it too; PM_RUNTIME picks another runtime).
	cat >"$PD/pm" <<-EOF
		#!/bin/sh
		export CONTAINERS_CONF=$CONTAINERS_CONF
		exec podman --root $PD/root --runroot $PD/runroot --storage-driver overlay \\
			--runtime \${PM_RUNTIME:-$BERTH} --network-config-dir $PD/net --tmpdir $PD/tmp \\
			--cgroup-manager cgroupfs --events-backend file "\$@"
	EOF
	chmod +x "$PD/pm"
	make_engine_image "$PD/image"
	pm load -q -i "$PD/image/busybox.tar" >/dev/null || fail "podman load failed"
	# The compose stack's Debian image (engine_docker.bats' too): debootstrapped once per
	# machine and cached; imported here, outside any one test's time bound.
	if command -v podman-compose >/dev/null; then
		local tar
		tar=${BERTH_STACK_TAR:-$("$BERTH_SRC/tests/fixtures/debian-stack.sh")} || tar=
		[ -z "$tar" ] || pm import -q -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			-c 'CMD ["/bin/sh"]' "$tar" berth-test/stack:1 >/dev/null || fail "podman import of $tar failed"
	fi
}

teardown_file() {
	[ -n "${PD:-}" ] || return 0
	pm ps -aq 2>/dev/null | while read -r id; do
		pm unpause "$id" >/dev/null 2>&1 || true
		pm rm -f -t 0 "$id" >/dev/null 2>&1 || true
	done
	pm rmi -af >/dev/null 2>&1 || true
	# containers/storage keeps its overlay directory bind-mounted on itself.
	findmnt -rn -o TARGET | grep "^$PD/" | sort -r | while read -r m; do umount -l "$m" || true; done
	ip link del "$PD_BRIDGE" 2>/dev/null || true
	# podman's cgroupfs parent and conmon's group, when nothing else uses them any more.
	local d
	for d in /sys/fs/cgroup/*/libpod_parent/conmon /sys/fs/cgroup/*/libpod_parent \
		/sys/fs/cgroup/libpod_parent/conmon /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	rm -rf "$PD"
}

setup() {
	setup_common
}

teardown() {
	stop_registries 2>/dev/null || true
	teardown_common
}

pm() { "$PD/pm" "$@"; }

name() { echo "bt-$BATS_TEST_NUMBER-$$"; }

# pm_rm NAME: `podman rm -f -t 0`, once more if podman 4.3 trips over its own shm unmount
# ("unlinkat .../userdata/shm: device or resource busy"): a race inside podman's cleanup
# (containers/podman#11594, #3870; fixed after 4.3 by containers/podman#16159), reported with
# runc and crun too. berth is not a daemon: each time, the test logs whether any berth
# process is alive at that moment, so a berth cause would show; a second rm removes it.
pm_rm() {
	local out i
	for i in 1 2 3; do
		out=$(pm rm -f -t 0 "$1" 2>&1) && return 0
		[[ $out == *"userdata/shm: device or resource busy"* ]] || { echo "$out" >&2; return 1; }
		echo "podman rm $1: shm busy (podman's own race), try $i; berth processes:" \
			"$(pgrep -a berth | tr '\n' ';' || true)" >&2
		sleep 0.5
	done
	echo "$out" >&2
	return 1
}

@test "podman run --rm: stdout, stderr and the exit code come back through berth" {
	run pm run --rm --network none "$ENGINE_IMAGE" sh -c 'echo out-$((6*7)); echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out-42* ]]
	[[ "$output" == *err* ]]
	run pm info --format '{{.Host.OCIRuntime.Path}}'
	[ "$output" = "$BERTH" ]
}

@test "podman run -d: podman ps and berth state agree; stop sends SIGTERM the process handles" {
	local n id pid
	n=$(name)
	id=$(pm run -d --network none --name "$n" "$ENGINE_IMAGE" \
		sh -c 'trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done')
	run pm ps --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == Up* ]]
	pid=$(pm inspect --format '{{.State.Pid}}' "$n")
	run "$BERTH" --root "$BERTH_STATE" state "$id"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
	[ "$(jq -r .pid <<<"$output")" = "$pid" ]
	SECONDS=0
	pm stop -t 20 "$n"
	[ "$SECONDS" -lt 10 ]
	[ "$(pm inspect --format '{{.State.ExitCode}}' "$n")" = 3 ]
	run pm logs "$n"
	[[ "$output" == *got-term* ]]
	run pm ps -a --filter "name=$n" --format '{{.Status}}'
	[[ "$output" == "Exited (3)"* ]]
	pm rm "$n"
	run "$BERTH" --root "$BERTH_STATE" state "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "podman stop: a process that ignores SIGTERM gets SIGKILL after the timeout" {
	local n
	n=$(name)
	# sleep as pid 1 has no SIGTERM handler, so the kernel drops the signal.
	pm run -d --network none --name "$n" "$ENGINE_IMAGE" sleep 1000
	SECONDS=0
	pm stop -t 2 "$n"
	[ "$SECONDS" -ge 2 ]
	[ "$(pm inspect --format '{{.State.ExitCode}}' "$n")" = 137 ]
	pm rm "$n"
}

@test "podman run -it: a terminal whose size and input reach the container" {
	# script(1) gives podman a terminal; its stdin is typed into the container's shell.
	run bash -c "printf 'stty size; test -t 0 && echo is-a-tty; echo typed-\$((2+3))\nexit 5\n' |
		timeout 60 script -qec 'stty rows 31 cols 97; $PD/pm run --rm -it --network none $ENGINE_IMAGE sh' /dev/null"
	[ "$status" -eq 5 ]
	[[ "$output" == *"31 97"* ]]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *typed-5* ]]
}

@test "podman pause/unpause: the freezer cgroup and podman's state follow" {
	local n pid
	n=$(name)
	pm run -d --network none --name "$n" "$ENGINE_IMAGE" sleep 1000
	pid=$(pm inspect --format '{{.State.Pid}}' "$n")
	pm pause "$n"
	[ "$(pm inspect --format '{{.State.Status}}' "$n")" = paused ]
	run pm ps -a --filter "name=$n" --format '{{.Names}} {{.Status}}'
	echo "$output"
	[ "$output" = "$n Paused" ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cgroup_file "$pid" freezer freezer.state)" = FROZEN ]
	else
		[ "$(cgroup_file "$pid" x cgroup.freeze)" = 1 ]
	fi
	pm unpause "$n"
	[ "$(pm inspect --format '{{.State.Status}}' "$n")" = running ]
	if [ -d /sys/fs/cgroup/freezer ]; then
		[ "$(cgroup_file "$pid" freezer freezer.state)" = THAWED ]
	fi
	pm_rm "$n"
}

@test "podman --memory/--cpus/--pids-limit land in the container's cgroup; podman update changes them" {
	local n pid
	n=$(name)
	pm run -d --network none --name "$n" --memory 64m --cpus 0.5 --pids-limit 50 \
		"$ENGINE_IMAGE" sleep 1000
	pid=$(pm inspect --format '{{.State.Pid}}' "$n")
	if [ -d /sys/fs/cgroup/memory ]; then
		[ "$(cgroup_file "$pid" memory memory.limit_in_bytes)" = 67108864 ]
		[ "$(cgroup_file "$pid" cpu cpu.cfs_quota_us)" = 50000 ]
		[ "$(cgroup_file "$pid" cpu cpu.cfs_period_us)" = 100000 ]
		[ "$(cgroup_file "$pid" pids pids.max)" = 50 ]
	else
		[ "$(cgroup_file "$pid" x memory.max)" = 67108864 ]
		[ "$(cgroup_file "$pid" x cpu.max)" = "50000 100000" ]
		[ "$(cgroup_file "$pid" x pids.max)" = 50 ]
	fi
	# podman update hands berth `update --resources FILE`.
	pm update --memory 128m --cpus 0.25 "$n"
	if [ -d /sys/fs/cgroup/memory ]; then
		[ "$(cgroup_file "$pid" memory memory.limit_in_bytes)" = 134217728 ]
		[ "$(cgroup_file "$pid" cpu cpu.cfs_quota_us)" = 25000 ]
	else
		[ "$(cgroup_file "$pid" x memory.max)" = 134217728 ]
		[ "$(cgroup_file "$pid" x cpu.max)" = "25000 100000" ]
	fi
	pm_rm "$n"
}

@test "podman -v: a host directory is shared both ways" {
	mkdir -p "$TEST_DIR/vol"
	echo from-host >"$TEST_DIR/vol/in"
	run pm run --rm --network none -v "$TEST_DIR/vol:/data" "$ENGINE_IMAGE" \
		sh -c 'cat /data/in; echo from-container >/data/out'
	[ "$status" -eq 0 ]
	[ "$output" = from-host ]
	[ "$(cat "$TEST_DIR/vol/out")" = from-container ]
}

@test "podman --read-only: writes to / fail, the tmpfs podman adds stays writable" {
	run pm run --rm --network none --read-only "$ENGINE_IMAGE" \
		sh -c 'touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *rc=1* ]]
	[[ "$output" == *tmp-ok* ]]
}

@test "podman -p: busybox httpd in the container answers on the published host port" {
	local n port
	n=$(name)
	port=$(free_port)
	pm run -d --name "$n" --network berthtest -p "127.0.0.1:$port:8080" "$ENGINE_IMAGE" \
		sh -c 'mkdir /www && echo served-by-berth >/www/index.html && exec httpd -f -p 8080 -h /www'
	wait_for curl -sf --max-time 2 "http://127.0.0.1:$port/index.html"
	run curl -sf --max-time 5 "http://127.0.0.1:$port/index.html"
	[ "$output" = served-by-berth ]
	pm_rm "$n"
}

@test "podman --uidmap: the container's uid_map on the host and file ownership" {
	local n pid
	n=$(name)
	mkdir -p "$TEST_DIR/vol"
	chown 200000:200000 "$TEST_DIR/vol"
	pm run -d --network none --name "$n" --uidmap 0:200000:65536 --gidmap 0:200000:65536 \
		-v "$TEST_DIR/vol:/data" "$ENGINE_IMAGE" sh -c 'touch /data/f; id -u; sleep 1000'
	pid=$(pm inspect --format '{{.State.Pid}}' "$n")
	run cat "/proc/$pid/uid_map"
	[ "$(echo $output)" = "0 200000 65536" ]
	run cat "/proc/$pid/gid_map"
	[ "$(echo $output)" = "0 200000 65536" ]
	wait_for test -e "$TEST_DIR/vol/f"
	[ "$(stat -c %u:%g "$TEST_DIR/vol/f")" = 200000:200000 ]
	# `id -u` runs after the touch, and conmon writes the log on its own time.
	local i
	for i in $(seq 50); do
		[ "$(pm logs "$n")" = 0 ] && break
		sleep 0.1
	done
	[ "$(pm logs "$n")" = 0 ]
	pm_rm "$n"
}

@test "podman pulls from a loopback registry and runs the image with berth" {
	requires registry skopeo
	start_registry plain
	skopeo copy -q --dest-tls-verify=false "oci:$PD/image/store:$ENGINE_IMAGE" \
		"docker://$REG/berth/pulled:1"
	pm pull -q --tls-verify=false "$REG/berth/pulled:1" >/dev/null
	run pm run --rm --network none "$REG/berth/pulled:1" cat /etc/passwd
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == root:x:0:0:* ]]
	pm rmi "$REG/berth/pulled:1" >/dev/null
}

# Needs `berth exec` (conmon runs `exec --pid-file P --process FILE --detach [--console-socket S]`).
@test "podman exec: a second process in the running container, its output, exit code and terminal" {
	local n
	n=$(name)
	pm run -d --network none --name "$n" "$ENGINE_IMAGE" sleep 1000
	run pm exec "$n" sh -c 'echo exec-$((1+2)); cat /proc/1/cmdline | tr "\0" " "; exit 4'
	[ "$status" -eq 4 ]
	[[ "$output" == *exec-3* ]]
	[[ "$output" == *"sleep 1000"* ]]
	run pm exec -e FOO=bar -w /tmp -u 1000 "$n" sh -c 'echo $FOO $(pwd) $(id -u)'
	[ "$output" = "bar /tmp 1000" ]
	run bash -c "printf 'test -t 0 && echo is-a-tty; echo typed-\$((2+3))\nexit 6\n' |
		timeout 60 script -qec '$PD/pm exec -it $n sh' /dev/null"
	[ "$status" -eq 6 ]
	[[ "$output" == *is-a-tty* ]]
	[[ "$output" == *typed-5* ]]
	pm_rm "$n"
}

@test "podman build: buildah runs a two-stage Dockerfile's RUN steps through berth" {
	local tag=localhost/berth-test/built:1
	# berth behind a wrapper that logs each call, so the test sees buildah used it.
	cat >"$TEST_DIR/berth-logged" <<-EOF
		#!/bin/sh
		echo "\$*" >>$TEST_DIR/calls
		exec $BERTH "\$@"
	EOF
	chmod +x "$TEST_DIR/berth-logged"
	mkdir -p "$TEST_DIR/ctx"
	cat >"$TEST_DIR/ctx/Dockerfile" <<-EOF
		FROM $ENGINE_IMAGE AS builder
		RUN echo built-\$((6*7)) >/out && id -u >>/out
		USER 1000
		RUN echo as-user-\$(id -u) >/tmp/user
		FROM $ENGINE_IMAGE
		COPY --from=builder /out /out
		COPY --from=builder /tmp/user /user
		CMD cat /out /user
	EOF
	run pm build --runtime "$TEST_DIR/berth-logged" --network none --no-cache -q -t "$tag" "$TEST_DIR/ctx"
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$TEST_DIR/calls"
	# buildah runs each RUN step as create/start/state/delete of a bundle in /var/tmp.
	[ "$(grep -Ec '(^| )create --bundle /var/tmp/buildah' "$TEST_DIR/calls")" -ge 2 ]
	[ "$(grep -Ec '(^| )delete buildah-' "$TEST_DIR/calls")" -ge 2 ]
	run pm run --rm --network none "$tag"
	[ "$output" = "$(printf 'built-42\n0\nas-user-1000')" ]
	pm rmi "$tag" >/dev/null
}

# --- podman-compose: engine_docker.bats' postgres + redis + app stack, on podman ------------

# pc PROJECT ARGS...: podman-compose (Debian's 1.0.3) on the stack through $PD/pm. It ignores
# the compose file's `runtime:`, so the runtime is pm's (berth, or PM_RUNTIME).
pc() {
	local p=$1
	shift
	podman-compose --podman-path "$PD/pm" -p "$p" \
		-f "$BERTH_SRC/tests/fixtures/stack/docker-compose.yml" "$@"
}

# visit PORT: one GET of the app, retried while the stack starts (postgres' initdb is slow).
visit() {
	local i
	for i in $(seq 200); do
		curl -sf --max-time 5 "http://127.0.0.1:$1/" && return 0
		sleep 0.5
	done
	return 1
}

# Service names resolve on podman 4.3's CNI networks only through the dnsname plugin, which
# `podman network create` adds to the network's conflist when it is installed.
@test "podman-compose: postgres + redis + app through berth; down -v leaves nothing behind" {
	command -v podman-compose >/dev/null || skip "podman-compose is not installed"
	[ -x /usr/lib/cni/dnsname ] || skip "the CNI dnsname plugin is not installed (scripts/install-deps engines)"
	pm image exists berth-test/stack:1 || fail "no stack image (tests/fixtures/debian-stack.sh failed?)"
	local rt=${PM_RUNTIME:-$BERTH} p="bt$$c" ids=() id s br sandboxes=() merged=()
	export RT=berth APP="$BERTH_SRC/tests/fixtures/stack" PORT
	PORT=$(free_port)
	pc "$p" up -d >"$TEST_DIR/up.log" 2>&1 || { cat "$TEST_DIR/up.log"; false; }
	# The network's conflist has dnsname, which runs a dnsmasq for the network's names.
	grep -q '"type": *"dnsname"' "$PD/net/${p}_default.conflist"
	[ -d "/run/containers/cni/dnsname/${p}_default" ]
	pgrep -f "dnsname/${p}_default/" >/dev/null
	run visit "$PORT"
	[ "$output" = "visits=1 rows=1" ] || { pc "$p" logs; false; }
	[ "$(visit "$PORT")" = "visits=2 rows=2" ]
	for s in db cache app; do
		ids+=("$(pm inspect --format '{{.Id}}' "${p}_${s}_1")")
		sandboxes+=("$(pm inspect --format '{{.NetworkSettings.SandboxKey}}' "${p}_${s}_1")")
		merged+=("$(pm inspect --format '{{.GraphDriver.Data.MergedDir}}' "${p}_${s}_1")")
	done
	# Every service ran on the runtime asked for, the app as its user.
	[ "$(pm inspect --format '{{.OCIRuntime}}' "${ids[@]}" | sort -u)" = "$rt" ]
	[ "$(pm exec "${p}_app_1" id -u)" = 1000 ]
	if [ "$rt" = "$BERTH" ]; then
		for id in "${ids[@]}"; do
			[ "$("$BERTH" --root "$BERTH_STATE" state "$id" | jq -r .status)" = running ]
		done
	fi
	br=$(pm network inspect --format '{{.NetworkInterface}}' "${p}_default")
	pc "$p" down -v >/dev/null 2>&1
	[ -z "$(pm ps -aq)" ]
	[ -z "$(pm pod ls -q)" ]
	[ -z "$(pm volume ls -q)" ]
	# podman-compose 1.0.3's down keeps the project's network (newer ones remove it).
	pm network rm -f "${p}_default" >/dev/null 2>&1 || true
	[ -z "$(pm network ls -q --filter "name=${p}_")" ]
	run ip link show "$br"
	[ "$status" -ne 0 ]
	[ ! -e "/run/containers/cni/dnsname/${p}_default" ]
	run pgrep -f "dnsname/${p}_default/"
	[ "$status" -ne 0 ]
	for s in "${sandboxes[@]}"; do [ ! -e "$s" ]; done
	for s in "${merged[@]}"; do [ -z "$(findmnt -rn -o TARGET | grep -Fx "$s")" ]; done
	for id in "${ids[@]}"; do
		[ -z "$(findmnt -rn -o TARGET | grep -F "$id")" ]
		[ -z "$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$id*")" ]
		if [ "$rt" = "$BERTH" ]; then
			run "$BERTH" --root "$BERTH_STATE" state "$id"
			[ "$status" -ne 0 ]
		fi
	done
}
