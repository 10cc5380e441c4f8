# Shared helpers for berth's Bats tests. Each test gets its own --root and bundle under a
# temporary directory; teardown removes every container it made (thawing first).

BERTH=${BERTH:-$BERTH_BUILD/runtime/berth}
BERTH_IMAGE=${BERTH_IMAGE:-$BERTH_BUILD/imagetool/berth-image}
BUSYBOX=${BUSYBOX:-/bin/busybox}

# requires root|cgroup_v1|cgroup_v2|hybrid|runc|crun|umoci|skopeo|registry|openat2
requires() {
	local r
	for r in "$@"; do
		case $r in
		root) [ "$(id -u)" -eq 0 ] || skip "test requires root" ;;
		cgroup_v2) [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "test requires cgroup v2" ;;
		cgroup_v1) [ -d /sys/fs/cgroup/memory ] || skip "test requires cgroup v1 controllers" ;;
		hybrid) [ -d /sys/fs/cgroup/unified ] || skip "test requires the hybrid cgroup layout" ;;
		runc | crun | umoci | skopeo | podman | ctr | containerd) command -v "$r" >/dev/null || skip "test requires $r" ;;
		registry) command -v docker-registry >/dev/null || skip "test requires docker-registry" ;;
		*) fail "unknown requirement $r" ;;
		esac
	done
}

fail() {
	echo "$@" >&2
	return 1
}

# setup_common: a private state root and work directory for this test.
setup_common() {
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/berth-test.XXXXXX")
	# mktemp makes 0700; a user-namespaced container's root must be able to reach its rootfs.
	chmod 755 "$TEST_DIR"
	ROOT="$TEST_DIR/state"
	mkdir -p "$ROOT"
}

# make_rootfs DIR: a minimal busybox tree (Debian's busybox-static), with /etc/passwd and group.
make_rootfs() {
	local dir=$1
	mkdir -p "$dir"/{bin,etc,proc,sys,dev,tmp,root,home/user}
	cp "$BUSYBOX" "$dir/bin/busybox"
	local applet
	for applet in $("$BUSYBOX" --list); do
		[ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
	done
	mkdir -p "$dir/usr/bin" "$dir/sbin" "$dir/usr/sbin"
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\nextra:x:2000:user\nnogroup:x:65534:\n' >"$dir/etc/group"
	chmod 1777 "$dir/tmp"
}

# setup_bundle [args...]: $BUNDLE with rootfs and `berth spec` config running args (default sh).
setup_bundle() {
	BUNDLE="$TEST_DIR/bundle"
	mkdir -p "$BUNDLE"
	make_rootfs "$BUNDLE/rootfs"
	(cd "$BUNDLE" && "$BERTH" spec) || fail "berth spec failed"
	if [ $# -gt 0 ]; then
		local args
		args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
		update_config ".process.args = $args"
	fi
	update_config '.process.terminal = false'
}

# update_config JQ-EXPR: edits $BUNDLE/config.json in place.
update_config() {
	local tmp="$BUNDLE/config.json.tmp"
	jq "$@" "$BUNDLE/config.json" >"$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# berth ARGS: runs berth with this test's --root; sets $status and $output (bats run).
berth() {
	"$BERTH" --root "$ROOT" "$@"
}

# teardown_common: thaw, kill and delete every container, then remove the work directory.
teardown_common() {
	local id
	if [ -d "${ROOT:-/nonexistent}" ]; then
		for id in $("$BERTH" --root "$ROOT" list -q 2>/dev/null); do
			"$BERTH" --root "$ROOT" resume "$id" >/dev/null 2>&1 || true
			"$BERTH" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	[ -n "${TEST_DIR:-}" ] && rm -rf "$TEST_DIR"
	[ -z "${HUGETLB_V1_TAKEN:-}" ] || hugetlb_v1_restore
}

# hugetlb_on_v2: a test that needs hugetlb on cgroup2 (this hybrid host's default) arranges it
# when something (bench/run, conformance/run --crun-hugetlb) left hugetlb mounted as an empty
# v1 hierarchy: the hierarchy is unmounted for the test and mounted again by teardown_common.
# A v1 hierarchy with cgroups in it belongs to someone running: then the test is skipped.
hugetlb_on_v2() {
	local v1=/sys/fs/cgroup/hugetlb i
	if mountpoint -q "$v1"; then
		# berth's own /berth parent stays after its containers; empty, it can go. The kernel
		# keeps a hierarchy unmounted while a removed cgroup is still dying, so wait until
		# /proc/cgroups counts the root alone.
		if rmdir "$v1/berth" 2>/dev/null; then
			for i in $(seq 50); do
				[ "$(awk '$1 == "hugetlb" { print $3 }' /proc/cgroups)" = 1 ] && break
				sleep 0.1
			done
		fi
		[ -z "$(find "$v1" -mindepth 1 -type d)" ] || skip "hugetlb is a v1 hierarchy in use here"
		umount "$v1"
		HUGETLB_V1_TAKEN=1
		for i in $(seq 20); do
			grep -q '^hugetlb[[:space:]]0[[:space:]]' /proc/cgroups && break
			sleep 0.1
		done
	fi
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers || skip "no hugetlb on cgroup2"
}
hugetlb_v1_restore() {
	local i
	# Put back what was there; the kernel takes hugetlb off cgroup2 only once no cgroup2
	# cgroup enables it, which the tests' own cleanup has ensured.
	mkdir -p /sys/fs/cgroup/hugetlb
	for i in $(seq 20); do
		mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null && break
		sleep 0.1
	done
	HUGETLB_V1_TAKEN=
}

# free_port: a free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
