# Fixtures for the engine tests (engine_podman.bats, engine_containerd.bats): a busybox image
# made on this machine (no network), and private engine state under one directory per file.

ENGINE_IMAGE=localhost/berth-test/busybox:1

# make_engine_image DIR: DIR/rootfs (busybox-static) imported by berth-image into the OCI
# layout DIR/store, then written by skopeo as DIR/busybox.tar (oci-archive), which both
# `podman load` and `ctr image import` read.
make_engine_image() {
	local d=$1
	make_rootfs "$d/rootfs"
	"$BERTH_IMAGE" --store "$d/store" import -q "$d/rootfs" "$ENGINE_IMAGE" -- /bin/sh ||
		fail "berth-image import failed"
	skopeo copy -q "oci:$d/store:$ENGINE_IMAGE" "oci-archive:$d/busybox.tar:$ENGINE_IMAGE" ||
		fail "skopeo could not write the oci-archive"
}

# engine_dir: a 0755 directory under /tmp for one test file (bats' own temp dirs are 0700,
# which a user-namespaced container's root could not traverse).
engine_dir() {
	local d
	d=$(mktemp -d /tmp/berth-engine.XXXXXX)
	chmod 755 "$d"
	echo "$d"
}

# wait_for CMD...: until CMD succeeds (10 s at most).
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out waiting for: $*"
}

# cgroup_file PID CONTROLLER FILE: the value of FILE in PID's cgroup for CONTROLLER (v1
# hierarchy when mounted, else the unified one).
cgroup_file() {
	local pid=$1 ctrl=$2 file=$3 path
	if [ -d "/sys/fs/cgroup/$ctrl" ]; then
		path=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
		cat "/sys/fs/cgroup/$ctrl$path/$file"
	else
		path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		cat "/sys/fs/cgroup$path/$file"
	fi
}
