#!/usr/bin/env bats
# mounts[], root.readonly, rootfsPropagation, masked/readonly paths and sysctl: each field's
# effect checked from inside the container (its /proc/self/mountinfo, writes that must fail).
# Driven through `berth run` (ROOTFS_DRIVER=probe: tests/helpers/rootfs_probe instead).

load helpers
load rootfs_driver

PROBE=${ROOTFS_PROBE:-$BERTH_BUILD/tests/rootfs_probe}

setup() {
	requires root
	setup_common
	BUNDLE="$TEST_DIR/bundle"
	mkdir -p "$BUNDLE"
	make_rootfs "$BUNDLE/rootfs"
	base_config
}

teardown() {
	# Nothing the container did may remain in the host's mount table.
	if [ -n "${TEST_DIR:-}" ]; then
		! grep -q "$TEST_DIR" /proc/self/mountinfo || {
			grep "$TEST_DIR" /proc/self/mountinfo >&2
			umount -R -l "$TEST_DIR"/* 2>/dev/null
			teardown_common
			fail "stray mount under $TEST_DIR"
		}
	fi
	teardown_common
}

# A runc-spec-like config: every namespace but user, the standard mounts, masked and read-only
# paths; process args set by each test through the probe's "--".
base_config() {
	cat >"$BUNDLE/config.json" <<'JSON'
{
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/", "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "probe",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
  }
}
JSON
}

add_mount() {
	update_config ".mounts += [$1]"
}

# mnt_line DEST: the container's mountinfo line for DEST (last one: the top mount).
mnt_line() {
	probe cat /proc/self/mountinfo | awk -v d="$1" '$5 == d' | tail -1
}

@test "standard mounts: proc, sysfs ro, tmpfs /dev, devpts newinstance, shm, mqueue" {
	run probe cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" =~ " /proc rw"[^\ ]*" - proc proc" ]]
	[[ "$output" =~ " /sys ro,nosuid,nodev,noexec"[^\ ]*" - sysfs sysfs ro" ]]
	[[ "$output" =~ " /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755" ]]
	[[ "$output" =~ " /dev/pts rw,nosuid,noexec"[^\ ]*" - devpts devpts rw,gid=5,mode=620,ptmxmode=666" ]]
	[[ "$output" =~ " /dev/shm rw,nosuid,nodev,noexec"[^\ ]*" - tmpfs shm rw,size=65536k" ]]
	[[ "$output" =~ " /dev/mqueue rw,nosuid,nodev,noexec"[^\ ]*" - mqueue mqueue" ]]
	# The container root is the bundle's rootfs, pivoted to "/".
	[[ "$output" =~ "$BUNDLE/rootfs / rw" ]]
}

@test "bind mounts: directory and file, ro applied by remount, relative source from the bundle" {
	mkdir -p "$TEST_DIR/hostdir" && echo hello >"$TEST_DIR/hostdir/f"
	echo file >"$BUNDLE/afile"
	add_mount '{"destination": "/data", "type": "bind", "source": "'"$TEST_DIR/hostdir"'", "options": ["rbind", "ro"]}'
	add_mount '{"destination": "/etc/one/file", "type": "none", "source": "afile", "options": ["bind", "nosuid", "nodev"]}'
	run probe sh -c 'cat /data/f /etc/one/file; touch /data/x; echo rc=$?; grep -E " /data | /etc/one/file " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *hello*file* ]]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *"rc=1"* ]]
	[[ "$output" =~ " /data ro," ]]
	[[ "$output" =~ " /etc/one/file rw,nosuid,nodev" ]]
	[ ! -e "$TEST_DIR/hostdir/x" ]
	# The file mount point was created inside the rootfs, empty.
	[ -f "$BUNDLE/rootfs/etc/one/file" ] && [ ! -s "$BUNDLE/rootfs/etc/one/file" ]
}

@test "ro on an rbind is the top mount only; rro reaches submounts (mount_setattr)" {
	mkdir -p "$TEST_DIR/tree/sub"
	mount -t tmpfs tmpfs "$TEST_DIR/tree/sub"
	add_mount '{"destination": "/a", "type": "bind", "source": "'"$TEST_DIR/tree"'", "options": ["rbind", "ro"]}'
	add_mount '{"destination": "/b", "type": "bind", "source": "'"$TEST_DIR/tree"'", "options": ["rbind", "rro", "rnosuid", "rnoatime"]}'
	run probe sh -c 'touch /a/sub/x && echo a-sub-writable; touch /b/sub/y || echo b-sub-ro; grep -E " /(a|b)(/sub)? " /proc/self/mountinfo'
	umount "$TEST_DIR/tree/sub"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *a-sub-writable* ]]
	[[ "$output" == *b-sub-ro* ]]
	[[ "$output" =~ " /a ro," ]]
	[[ "$output" =~ " /a/sub rw," ]]
	[[ "$output" =~ " /b/sub ro,nosuid,"[^\ ]*"noatime" ]]
}

@test "tmpfs options, nosymfollow, noexec, remount" {
	add_mount '{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "nosymfollow", "size=1m", "mode=1777", "noatime"]}'
	add_mount '{"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "nosuid", "noexec", "nosymfollow", "noatime"]}'
	run probe sh -c 'grep " /scratch " /proc/self/mountinfo; stat -c %a /scratch; touch /scratch/x || echo ro'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ " /scratch ro,nosuid,"[^\ ]*"noexec,noatime,nosymfollow - tmpfs tmpfs rw,size=1024k" ]]
	[[ "$output" == *1777* ]]
	[[ "$output" == *ro* ]]
}

@test "tmpcopyup copies the image's directory into the tmpfs" {
	mkdir -p "$BUNDLE/rootfs/opt/app/sub"
	echo data >"$BUNDLE/rootfs/opt/app/sub/f"
	ln -s sub/f "$BUNDLE/rootfs/opt/app/link"
	chmod 0750 "$BUNDLE/rootfs/opt/app"
	# Metadata survives: owner, setuid (a chown after the chmod would clear it), mtimes of
	# files and directories, and extended attributes (security.capability, user.*).
	cp "$BUNDLE/rootfs/bin/busybox" "$BUNDLE/rootfs/opt/app/suid"
	chown 1000:1000 "$BUNDLE/rootfs/opt/app/suid"
	chmod 4755 "$BUNDLE/rootfs/opt/app/suid"
	setcap cap_net_raw+ep "$BUNDLE/rootfs/opt/app/sub/f"
	setfattr -n user.note -v kept "$BUNDLE/rootfs/opt/app/sub/f"
	touch -d "2001-02-03 04:05:06" "$BUNDLE/rootfs/opt/app/sub/f" "$BUNDLE/rootfs/opt/app/sub"
	add_mount '{"destination": "/opt/app", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "mode=755"]}'
	update_config '.linux.maskedPaths = [] | .linux.readonlyPaths = []'
	run probe sh -c 'cat /opt/app/link; stat -c %a /opt/app; stat -c "%a %u:%g" /opt/app/suid; stat -c %Y /opt/app/sub/f /opt/app/sub; echo new >/opt/app/sub/g; grep " /opt/app " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == data ]]
	[[ "${lines[1]}" == 750 ]]
	[[ "${lines[2]}" == "4755 1000:1000" ]]
	want=$(date -d "2001-02-03 04:05:06" +%s)
	[[ "${lines[3]}" == "$want" ]]
	[[ "$output" == *"tmpfs tmpfs"* ]]
	[ ! -e "$BUNDLE/rootfs/opt/app/sub/g" ]
	# xattrs, read from the host through a created container's root
	update_config '.process.args = ["true"]'
	"$BERTH" --root "$ROOT" create -b "$BUNDLE" xattrs </dev/null >/dev/null 2>&1
	pid=$("$BERTH" --root "$ROOT" state xattrs | jq .pid)
	xa=$(getfattr -d -m - --absolute-names "/proc/$pid/root/opt/app/sub/f" 2>&1)
	caps=$(getcap "/proc/$pid/root/opt/app/sub/f" 2>&1)
	"$BERTH" --root "$ROOT" delete --force xattrs
	echo "$xa $caps"
	[[ "$xa" == *'user.note="kept"'* ]]
	[[ "$caps" == *cap_net_raw* ]]
}

@test "propagation options and rootfsPropagation show in mountinfo" {
	mkdir -p "$TEST_DIR/p1" "$TEST_DIR/p2"
	add_mount '{"destination": "/shared", "type": "bind", "source": "'"$TEST_DIR/p1"'", "options": ["rbind", "rshared"]}'
	add_mount '{"destination": "/unb", "type": "bind", "source": "'"$TEST_DIR/p2"'", "options": ["bind", "unbindable"]}'
	update_config '.linux.rootfsPropagation = "shared"'
	run probe cat /proc/self/mountinfo
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ " /shared rw,"[^\ ]*" shared:" ]]
	[[ "$output" =~ " /unb rw,"[^\ ]*" unbindable" ]]
	[[ "$output" =~ " / rw,"[^\ ]*" shared:" ]]
}

@test "overlay mount from host directories" {
	mkdir -p "$TEST_DIR"/ov/{lower,upper,work}
	echo low >"$TEST_DIR/ov/lower/l"
	add_mount '{"destination": "/merged", "type": "overlay", "source": "overlay", "options": ["lowerdir='"$TEST_DIR"'/ov/lower", "upperdir='"$TEST_DIR"'/ov/upper", "workdir='"$TEST_DIR"'/ov/work"]}'
	run probe sh -c 'cat /merged/l && echo up >/merged/u && grep " /merged " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *low* ]]
	[[ "$output" == *"overlay overlay"* ]]
	[ "$(cat "$TEST_DIR/ov/upper/u")" = up ]
}

@test "cgroup mount: v1 hierarchies on this host (own cgroup bound), cgroup2 when asked" {
	requires hybrid
	add_mount '{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}'
	add_mount '{"destination": "/mnt/unified", "type": "cgroup2", "source": "cgroup2", "options": ["nosuid", "noexec", "nodev"]}'
	run probe sh -c 'grep :memory: /proc/self/cgroup | cut -d: -f3; grep cgroup /proc/self/mountinfo; cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
	echo "$output"
	[ "$status" -eq 0 ]
	# Without a cgroup namespace the container's own memory cgroup is what it sees.
	own=${lines[0]}
	[[ "$output" =~ " $own /sys/fs/cgroup/memory ro,nosuid,nodev,noexec" ]]
	[[ "$output" =~ " /sys/fs/cgroup/pids ro,nosuid,nodev,noexec"[^\ ]*" - cgroup cgroup rw,pids" ]]
	[[ "$output" =~ " /mnt/unified rw,nosuid,nodev,noexec"[^\ ]*" - cgroup2 cgroup2" ]]
}

@test "cgroup mount in a cgroup namespace mounts each hierarchy fresh" {
	requires hybrid
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	add_mount '{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}'
	run probe sh -c 'grep " /sys/fs/cgroup/" /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ " / /sys/fs/cgroup/memory ro,nosuid,nodev,noexec" ]]
	[[ "$output" =~ " / /sys/fs/cgroup/systemd ro,"[^\ ]*" - cgroup cgroup rw,"[^\ ]*"name=systemd" ]]
}

@test "root.readonly makes / read-only; --no-pivot uses MS_MOVE + chroot" {
	update_config '.root.readonly = true'
	run probe sh -c 'touch /x || echo root-ro; touch /dev/shm/x && echo shm-rw'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *root-ro*shm-rw* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]
	run probe --no-pivot sh -c 'ls /; grep " / " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *bin* ]]
	[[ "$output" =~ "$BUNDLE/rootfs / ro" ]]
}

@test "maskedPaths: file reads empty, directory is an empty ro tmpfs; readonlyPaths refuse writes" {
	update_config '.linux.maskedPaths = ["/proc/kcore", "/proc/timer_list", "/proc/acpi", "/sys/firmware", "/nonexistent"] | .linux.readonlyPaths = ["/proc/sys", "/proc/bus", "/nonexistent"]'
	run probe sh -c 'wc -c </proc/timer_list; ls -A /sys/firmware | wc -l; touch /sys/firmware/x || echo fw-ro; echo 1 >/proc/sys/kernel/ns_last_pid || echo sys-ro; grep -E " /proc/(timer_list|sys) | /sys/firmware " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[[ "$output" == *fw-ro*sys-ro* ]]
	[[ "$output" =~ " /proc/sys ro," ]]
	[[ "$output" =~ " /sys/firmware ro,"[^\ ]*" - tmpfs tmpfs ro" ]]
	# The mask is the container's verified /dev/null (char 1:3) bound onto the file.
	[[ "$output" =~ "/null /proc/timer_list" ]]
}

@test "linux.sysctl is written inside; keys the namespaces don't isolate are refused" {
	update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456", "net.ipv4.conf.lo/x.rp_filter": "0"} | del(.linux.sysctl["net.ipv4.conf.lo/x.rp_filter"])'
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	host_shm=$(cat /proc/sys/kernel/shmmax)
	run probe sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = 123456 ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]
	[ "$(cat /proc/sys/kernel/shmmax)" = "$host_shm" ]

	update_config '.linux.sysctl = {"kernel.core_pattern": "|/tmp/evil"}'
	run probe true
	[ "$status" -ne 0 ]
	# (berth's config validation or plan_rootfs: either names the key.)
	[[ "$output" == *"kernel.core_pattern"*"not "* ]]
	[ "$(cat /proc/sys/kernel/core_pattern)" != "|/tmp/evil" ]

	update_config '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.namespaces |= map(select(.type != "network"))'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"net.ipv4.ip_forward"* ]]
}

@test "bad mounts fail before anything is mounted, naming the field" {
	add_mount '{"destination": "/x", "type": "bind", "source": "/tmp", "options": ["rbind", "rprivat"]}'
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mounts[6].options[1]: unknown option 'rprivat' for a bind mount"* ]]
	[ ! -e "$BUNDLE/rootfs/x" ]

	base_config
	add_mount '{"destination": "relative/x", "type": "tmpfs", "source": "tmpfs"}'
	run probe true
	[ "$status" -ne 0 ]
	[[ "$output" == *"mounts[6].destination: 'relative/x' is not absolute"* ]]

	base_config
	add_mount '{"destination": "/x", "type": "bind", "source": "/nonexistent/src", "options": ["bind"]}'
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mount '/x' (mounts[6]): bind source '/nonexistent/src'"*"No such file"* ]]

	base_config
	add_mount '{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["bogusopt"]}'
	run probe true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mount '/x' (mounts[6]): option 'bogusopt'"* ]]
}

@test "idmap: a bind shows the files as owned through the container's mapping" {
	# The container's root (host uid 100000) must be able to reach the bundle.
	chmod 755 "$TEST_DIR"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	mkdir -p "$TEST_DIR/idsrc"
	touch "$TEST_DIR/idsrc/f"
	chown 0:0 "$TEST_DIR/idsrc/f"
	update_config '.linux.namespaces += [{"type": "user"}] | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
	add_mount '{"destination": "/plain", "type": "bind", "source": "'"$TEST_DIR/idsrc"'", "options": ["bind"]}'
	add_mount '{"destination": "/mapped", "type": "bind", "source": "'"$TEST_DIR/idsrc"'", "options": ["bind", "idmap"]}'
	add_mount '{"destination": "/explicit", "type": "bind", "source": "'"$TEST_DIR/idsrc"'", "options": ["rbind", "ridmap"], "uidMappings": [{"containerID": 0, "hostID": 101000, "size": 10}], "gidMappings": [{"containerID": 0, "hostID": 101000, "size": 10}]}'
	run probe sh -c 'stat -c "%u:%g" /plain/f /mapped/f /explicit/f; grep " /mapped " /proc/self/mountinfo'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534:65534" ]
	[ "${lines[1]}" = "0:0" ]
	[ "${lines[2]}" = "1000:1000" ]
	[[ "$output" == *idmapped* ]]
}

@test "same mount table as runc for a bundle with a dozen mount kinds" {
	requires runc hybrid
	mkdir -p "$TEST_DIR/hostdir" "$TEST_DIR"/ov/{lower,upper,work}
	echo x >"$TEST_DIR/hostfile"
	add_mount '{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}'
	add_mount '{"destination": "/data", "type": "bind", "source": "'"$TEST_DIR/hostdir"'", "options": ["rbind", "ro", "nosuid"]}'
	add_mount '{"destination": "/etc/hostfile", "type": "bind", "source": "'"$TEST_DIR/hostfile"'", "options": ["bind", "nodev"]}'
	add_mount '{"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755", "size=1m"]}'
	add_mount '{"destination": "/merged", "type": "overlay", "source": "overlay", "options": ["lowerdir='"$TEST_DIR"'/ov/lower", "upperdir='"$TEST_DIR"'/ov/upper", "workdir='"$TEST_DIR"'/ov/work"]}'
	add_mount '{"destination": "/mnt/unified", "type": "cgroup2", "source": "cgroup2", "options": ["nosuid"]}'
	add_mount '{"destination": "/noexec", "type": "tmpfs", "source": "tmpfs", "options": ["noexec", "noatime", "nodiratime"]}'
	update_config '.root.readonly = true | .linux.maskedPaths = ["/proc/kcore", "/proc/timer_list", "/proc/acpi", "/sys/firmware"] | .linux.readonlyPaths = ["/proc/sys", "/proc/bus", "/proc/irq"]'
	update_config '.process.args = ["cat", "/proc/self/mountinfo"] | .linux.resources = {}'
	# Mount ids, device numbers, cgroup paths and per-run uid options differ between runs.
	norm() { awk '{ $1 = ""; $2 = ""; $3 = ""; if ($5 ~ /^\/sys\/fs\/cgroup\//) $4 = "CG"; print }' | sed -E 's/,?(uid|gid)=1[0-9]{5}//g' | sort; }
	run probe cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	mine=$(echo "$output" | norm)
	# overlay's uuid=auto depends on what the upper directory has seen: start both fresh.
	rm -rf "$TEST_DIR/ov" && mkdir -p "$TEST_DIR"/ov/{lower,upper,work}
	run runc --root "$TEST_DIR/runc" run -b "$BUNDLE" "berth-cmp-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	theirs=$(echo "$output" | norm)
	diff <(echo "$theirs") <(echo "$mine")
}
