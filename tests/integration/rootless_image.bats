#!/usr/bin/env bats
# Rootless berth-image: a throwaway unprivileged user this file creates (and removes) imports,
# pulls and unpacks into a store under its home, and berth runs the bundle as that user.
# `umoci unpack --rootless` of the same image as the same user is the oracle for the tree:
# modes (a RHEL-style 0550 root/ with files in it), owners kept in user.rootlesscontainers,
# whiteouts in read-only directories; device nodes are skipped where umoci leaves empty files.

load helpers
load rootless_user
load ../helpers/registry

RL_USER=${RL_USER:-berthri$$}
DIGEST="$BERTH_SRC/tests/helpers/tree_digest.py"
OCI_IMAGE="$BERTH_SRC/tests/helpers/oci_image.py"

# as_user CMD...: CMD as the throwaway user, with its own HOME and XDG dirs.
setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "creating the throwaway user needs root"
	command -v runuser >/dev/null || skip "needs runuser"
	rootless_user_create
}

teardown_file() {
	rootless_user_remove
}

setup() {
	setup_common
	chown "$RL_USER:" "$TEST_DIR" "$ROOT"
	RL_DATA=$TEST_DIR/data
	STORE=$RL_DATA/berth-image
	W=$TEST_DIR/w # the user's work directory
	mkdir -p "$W"
	chown "$RL_USER:" "$W"
}

teardown() {
	local id
	for id in $(as_user "$RL_BERTH" --root "$ROOT" list -q 2>/dev/null); do
		as_user "$RL_BERTH" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	stop_registries
	[ -n "${TEST_DIR:-}" ] && rm -rf "$TEST_DIR"
	rm -rf "${RL_HOME:?}/.local"
}

tree() { python3 "$DIGEST" "$@"; }
B() { as_user "$RL_BIMG" "$@"; }

# hostile_layers DIR: DIR/l1.tar and DIR/l2.tar, what RHEL-family images and old base images
# hold: root/ at 0550 with files, a 0500 directory inside it, a 0000 file, files owned by
# uids the user does not have, a symlink owned by one, a hardlink, a device node and a fifo;
# then a layer adding to the read-only directories and whiting out a file inside one.
hostile_layers() {
	python3 - "$1" <<-'PY'
		import io, sys, tarfile
		def layer(path, entries):
		    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
		        for name, typ, mode, uid, gid, data, link, dev in entries:
		            i = tarfile.TarInfo(name); i.type = typ; i.mode = mode
		            i.uid, i.gid = uid, gid; i.mtime = 1600000000; i.linkname = link
		            i.devmajor, i.devminor = dev
		            if data is not None: i.size = len(data)
		            t.addfile(i, io.BytesIO(data) if data is not None else None)
		D, F, L, H, C, P = (tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
		                    tarfile.CHRTYPE, tarfile.FIFOTYPE)
		def e(name, typ=F, mode=0o644, uid=0, gid=0, data=None, link="", dev=(0, 0)):
		    if typ == F and data is None: data = name.encode()
		    return (name, typ, mode, uid, gid, data, link, dev)
		layer(sys.argv[1] + "/l1.tar", [
		    e("root", D, 0o550), e("root/.bashrc", data=b"PS1=x\n"), e("root/sub", D, 0o500),
		    e("root/sub/f", mode=0o400), e("root/sub/keep", mode=0o400),
		    e("root/ro", mode=0o400, uid=1000, gid=1000), e("root/none", mode=0o000, uid=7, gid=7),
		    e("home", D, 0o755), e("home/u", D, 0o700, 1000, 1000),
		    e("home/u/f", uid=1000, gid=100), e("home/g", gid=5),
		    e("home/ln", L, 0o777, 1000, 1000, link="u/f"), e("home/hl", H, link="home/u/f"),
		    e("dev", D, 0o755), e("dev/null", C, 0o666, dev=(1, 3)), e("dev/fifo", P, 0o600),
		    e("etc", D, 0o755), e("etc/shadow", mode=0o000), e("etc/ro", D, 0o555)])
		layer(sys.argv[1] + "/l2.tar", [
		    e("root/new"), e("root/sub/.wh.f"), e("root/sub/g"), e("etc/ro/x", uid=7, gid=0)])
	PY
}

# image_in LAYOUT REF LAYER...: an OCI layout (a store, or umoci's --layout) owned by the user.
image_in() {
	local layout=$1 ref=$2
	shift 2
	python3 "$OCI_IMAGE" "$layout" "$ref" '{"Cmd":["sh"]}' "$@"
	chown -R "$RL_USER:" "$layout"
}

@test "rootless image: default store under XDG_DATA_HOME (or ~/.local/share), import, images, unpack" {
	make_rootfs "$W/src"
	chown -R "$RL_USER:" "$W/src"
	run B import "$W/src" localhost/rl:1
	[ "$status" -eq 0 ] || fail "$output"
	[ -f "$STORE/index.json" ]
	[ "$(stat -c %U "$STORE/index.json")" = "$RL_USER" ]
	run B images
	[[ "$output" == *localhost/rl* ]] || fail "$output"
	run B unpack localhost/rl:1 "$W/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ -x "$W/b/rootfs/bin/busybox" ]
	# The user's own files are root's in the image (as umoci repack --rootless stores them);
	# unpacked as the user they are the user's again, with nothing to record.
	[ "$(stat -c %u "$W/b/rootfs/bin/busybox")" = "$RL_UID" ]
	[ -z "$(getfattr -d -m - "$W/b/rootfs/bin/busybox" 2>/dev/null)" ]
	"$BERTH_IMAGE" --store "$STORE" unpack localhost/rl:1 "$TEST_DIR/asroot" >/dev/null
	[ "$(stat -c %u:%g "$TEST_DIR/asroot/rootfs/bin/busybox")" = 0:0 ]
	[ "$(stat -c %u:%g "$TEST_DIR/asroot/rootfs/bin/sh")" = 0:0 ]
	# Without XDG_DATA_HOME: ~/.local/share/berth-image, as the help says; a store 0.1.0 made at
	# ~/.local/share/berth is used while the new one does not exist, and only then.
	local old=$RL_HOME/.local/share/berth
	as_user mkdir -p "$old"
	as_user "$RL_BIMG" --store "$old" import "$W/src" localhost/old:1 >/dev/null
	RL_DATA= run B images
	[[ "$output" == *localhost/old* ]] || fail "the 0.1.0 store is not read: $output"
	as_user mkdir -p "$RL_HOME/.local/share/berth-image"
	RL_DATA= run B import "$W/src" localhost/rl:2
	[ "$status" -eq 0 ] || fail "$output"
	[ -f "$RL_HOME/.local/share/berth-image/index.json" ]
	RL_DATA= run B images
	[[ "$output" == *localhost/rl* && "$output" != *localhost/old* ]] || fail "$output"
	RL_DATA= run B --help
	[[ "$output" == *'$XDG_DATA_HOME/berth-image'* ]]
}

@test "rootless unpack: 0550 root/, owners in user.rootlesscontainers, devices: the tree umoci --rootless gives" {
	requires umoci
	hostile_layers "$TEST_DIR"
	image_in "$STORE" localhost/hostile:1 "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	image_in "$TEST_DIR/ul" t "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run B unpack localhost/hostile:1 "$W/b"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" != *"Permission denied"* ]] || fail "$output"
	# One line for the device (for the whole unpack), one for the symlink whose owner cannot be
	# recorded.
	[ "$(grep -c 'device node' <<<"$output")" = 1 ] || fail "$output"
	[[ "$output" == *"warning: 1 device node(s) skipped: mknod needs privilege (first 'dev/null')"* ]] || fail "$output"
	(cd "$W" && as_user umoci unpack --rootless --image "$TEST_DIR/ul:t" "$W/u") >/dev/null 2>&1 ||
		fail "umoci unpack --rootless failed"
	tree --mtime "$W/u/rootfs" >"$TEST_DIR/t-umoci"
	tree --mtime "$W/b/rootfs" >"$TEST_DIR/t-berth"
	# Two known differences. umoci sets the xattr after the mode, so on a file of mode 0400 or
	# 0000 (no write permission, which user.* xattrs need) it loses the owner; berth sets it
	# before the mode and keeps it. umoci leaves an empty file with a device's mode; berth
	# makes nothing (the runtime makes /dev; a plain file named dev/null only misleads).
	grep -q "^root/ro f 0400 .*xattr:user.rootlesscontainers=08e80710e807$" "$TEST_DIR/t-berth"
	grep -q "^root/none f 0000 .*xattr:user.rootlesscontainers=08071007$" "$TEST_DIR/t-berth"
	grep -q "^dev/null f 0666 .* 0 " "$TEST_DIR/t-umoci"
	! grep -q "^dev/null " "$TEST_DIR/t-berth"
	diff <(grep -v '^dev/null ' "$TEST_DIR/t-umoci") \
		<(sed -E '/^root\/(ro|none) f /s/ xattr:.*//' "$TEST_DIR/t-berth") ||
		fail "umoci and berth differ"
	# What the oracle and berth agree on, spelled out.
	grep -qx "root d 0550 $RL_UID:$RL_GID" "$TEST_DIR/t-berth"
	grep -qx "root/sub d 0500 $RL_UID:$RL_GID" "$TEST_DIR/t-berth"
	grep -q "^root/sub/g f " "$TEST_DIR/t-berth"
	! grep -q "^root/sub/f " "$TEST_DIR/t-berth"
	# 1000:100 -> field 1 = 1000, field 2 = 100; 0:5 -> uid "no change" (4294967295), gid 5.
	grep -q "^home/u/f f .*xattr:user.rootlesscontainers=08e8071064$" "$TEST_DIR/t-berth"
	grep -q "^home/g f .*xattr:user.rootlesscontainers=08ffffffff0f1005$" "$TEST_DIR/t-berth"
	grep -q "^dev/fifo p 0600 " "$TEST_DIR/t-berth"
	# --no-chown: the same tree, no owner recorded anywhere.
	run B unpack --no-chown localhost/hostile:1 "$W/nc"
	[ "$status" -eq 0 ] || fail "$output"
	tree --mtime "$W/nc/rootfs" >"$TEST_DIR/t-nc"
	! grep -q rootlesscontainers "$TEST_DIR/t-nc"
	diff <(sed 's/ xattr:.*//' "$TEST_DIR/t-berth") "$TEST_DIR/t-nc"
	# The user can remove what was unpacked only after opening the directories (as with umoci);
	# a failed unpack cleans up by itself: a third layer escaping the root fails the unpack.
	python3 -c 'import tarfile,io,sys
with tarfile.open(sys.argv[1],"w") as t:
    i=tarfile.TarInfo("../escape"); i.size=1; t.addfile(i,io.BytesIO(b"x"))' "$TEST_DIR/l3.tar"
	image_in "$STORE" localhost/hostile:2 "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/l3.tar"
	run B unpack localhost/hostile:2 "$W/bad"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"'..' in the path would leave the layer root"* ]] || fail "$output"
	[ ! -e "$W/bad" ]
	[ ! -e "$TEST_DIR/escape" ] && [ ! -e "$W/escape" ]
}

@test "rootless unpack: config.json is a rootless config, and berth runs the bundle as the user" {
	requires runc
	make_rootfs "$TEST_DIR/base"
	tar -C "$TEST_DIR/base" -cf "$TEST_DIR/base.tar" .
	hostile_layers "$TEST_DIR"
	image_in "$STORE" localhost/run:1 "$TEST_DIR/base.tar" "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run B unpack localhost/run:1 "$W/b" -- sh -c 'id -u; cat /root/.bashrc; ls /root/sub; cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "$output"
	mkdir "$W/r"
	chown "$RL_USER:" "$W/r"
	as_user runc spec --rootless -b "$W/r"
	c=$W/b/config.json r=$W/r/config.json
	# What makes a config rootless is what runc spec --rootless writes.
	for f in .linux.uidMappings .linux.gidMappings '.linux.namespaces | sort_by(.type)' \
		'.mounts | map(select(.destination != "/dev/pts"))' '.mounts[] | select(.destination == "/sys")' \
		'.linux.resources // {} | del(.devices)'; do
		[ "$(jq -cS "$f" "$c")" = "$(jq -cS "$f" "$r")" ] || fail "$f: $(jq -cS "$f" "$c") vs runc $(jq -cS "$f" "$r")"
	done
	[ "$(jq -c .linux.uidMappings "$c")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	[ "$(jq -r '.linux.namespaces[] | select(.type == "network") | .type' "$c")" = "" ]
	[ "$(jq -c '.mounts[] | select(.destination == "/sys") | .options' "$c")" = '["rbind","nosuid","noexec","nodev","ro"]' ]
	! jq -r '.mounts[].options[]?' "$c" | grep -q '^gid='
	run bash -c "cd '$W/b' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' '$RL_BERTH' --root '$ROOT' run rl-img 2>&1"
	[ "$status" -eq 0 ] || fail "berth run: $output"
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = "PS1=x" ]
	[ "${lines[2]}" = g ] && [ "${lines[3]}" = keep ]
	[[ "${lines[4]}" =~ ^\ +0\ +$RL_UID\ +1$ ]]
	# --rootless as root writes the same kind of config (mapping root's ids).
	run "$BERTH_IMAGE" --store "$STORE" unpack --rootless localhost/run:1 "$TEST_DIR/asroot"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -c .linux.uidMappings "$TEST_DIR/asroot/config.json")" = '[{"containerID":0,"hostID":0,"size":1}]' ]
	grep -q "xattr:user.rootlesscontainers=08e8071064$" <(tree "$TEST_DIR/asroot/rootfs")
}

# in_userns CMD...: CMD as the user, as root of a user namespace of its own with a private mount
# namespace (where the rootless snapshot's overlay can be looked at).
in_userns() { as_user unshare -rm "$@"; }

@test "rootless unpack --snapshot: the runtime mounts the overlay in the container's namespaces; run, upper, commit, umount" {
	requires runc
	make_rootfs "$TEST_DIR/base"
	tar -C "$TEST_DIR/base" -cf "$TEST_DIR/base.tar" .
	hostile_layers "$TEST_DIR"
	image_in "$STORE" localhost/snap:1 "$TEST_DIR/base.tar" "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run B unpack --snapshot localhost/snap:1 "$W/s" -- sh -c 'echo hi >/home/made; rm /home/g; id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "berth-image: warning: 1 device node(s) skipped: mknod needs privilege (first 'dev/null')" ] || fail "$output"
	# Nothing on the host: the overlay is mounts[0] at "/", with userxattr, for the runtime.
	! mountpoint -q "$W/s/rootfs"
	[ -z "$(ls -A "$W/s/rootfs")" ]
	[ "$(jq -r '.mounts[0] | .destination + " " + .type' "$W/s/config.json")" = "/ overlay" ]
	[ "$(jq -r '.mounts[0].options[-1]' "$W/s/config.json")" = userxattr ]
	[ "$(jq -r '.mounts[1:][] | select(.destination == "/") | .destination' "$W/s/config.json")" = "" ]
	# What the container will see is the full unpack's tree (both looked at as the namespace's
	# root, where the user's files are 0:0).
	B unpack localhost/snap:1 "$W/f" >/dev/null 2>&1
	opts=$(jq -r '.mounts[0].options | join(",")' "$W/s/config.json")
	in_userns sh -c "mount -t overlay -o '$opts' overlay '$W/s/rootfs' && python3 '$DIGEST' --mtime '$W/s/rootfs'" >"$TEST_DIR/t-snap" ||
		fail "mount the snapshot in a user namespace"
	in_userns python3 "$DIGEST" --mtime "$W/f/rootfs" >"$TEST_DIR/t-full"
	diff "$TEST_DIR/t-full" "$TEST_DIR/t-snap" || fail "snapshot and full unpack differ"
	! mountpoint -q "$W/s/rootfs"
	# berth as the user runs it; what the container writes is in the upper directory.
	run bash -c "cd '$W/s' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' '$RL_BERTH' --root '$ROOT' run rl-snap 2>&1"
	[ "$status" -eq 0 ] || fail "berth run: $output"
	[ "${lines[0]}" = 0 ] || fail "$output"
	[[ "${lines[1]}" =~ ^\ +0\ +$RL_UID\ +1$ ]] || fail "$output"
	[ "$(cat "$W/s/.snapshot/upper/home/made")" = hi ]
	[ "$(stat -c %u "$W/s/.snapshot/upper/home/made")" = "$RL_UID" ]
	[ "$(stat -c '%F %t:%T' "$W/s/.snapshot/upper/home/g")" = "character special file 0:0" ]
	! mountpoint -q "$W/s/rootfs"
	# runc, the oracle, mounts mounts[0] at "/" the same way, in its own container.
	mkdir -m 700 "$W/runc" && chown "$RL_USER:" "$W/runc"
	run bash -c "cd '$W/s' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' runc --root '$W/runc' run rl-snap-runc 2>&1"
	[ "$status" -eq 0 ] || fail "runc run: $output"
	# It sees the same upper: home/g is already gone.
	[ "${lines[0]}" = "rm: can't remove '/home/g': No such file or directory" ] || fail "$output"
	[ "${lines[1]}" = 0 ] || fail "$output"
	# commit as the user: home/made (the user's) is root's in the layer, home/g a whiteout.
	run B commit "$W/s" localhost/snap:2
	[ "$status" -eq 0 ] || fail "$output"
	"$BERTH_IMAGE" --store "$STORE" unpack localhost/snap:2 "$TEST_DIR/c" >/dev/null
	[ "$(cat "$TEST_DIR/c/rootfs/home/made")" = hi ]
	[ "$(stat -c %u:%g "$TEST_DIR/c/rootfs/home/made")" = 0:0 ]
	[ ! -e "$TEST_DIR/c/rootfs/home/g" ]
	[ "$(stat -c %u:%g "$TEST_DIR/c/rootfs/home/u/f")" = 1000:100 ]
	# umount drops the bundle and its references to the cached layers.
	run B umount "$W/s"
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$W/s" ]
	[ -z "$(find "$STORE/.berth/layers" -path '*/refs/*' -type f)" ]
}

@test "rootless unpack --snapshot: one clear line when the kernel refuses the overlay, nothing left" {
	make_rootfs "$W/src"
	chown -R "$RL_USER:" "$W/src"
	B import "$W/src" localhost/snapx:1 >/dev/null
	# A user namespace inside one that may not make more (max_user_namespaces is per namespace):
	# the same refusal a host with user namespaces turned off gives.
	# A user namespace whose limit allows one more: berth-image runs as the user's uid in that
	# one, and its own (the overlay's) is refused, as on a host with user namespaces turned off.
	run as_user unshare -r sh -c "echo 1 >/proc/sys/user/max_user_namespaces &&
		exec unshare --map-user=$RL_UID --map-group=$RL_GID '$RL_BIMG' unpack --snapshot localhost/snapx:1 '$W/x'"
	[ "$status" -ne 0 ] || fail "the overlay was not refused: $output"
	[ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ "$output" == "berth-image: unpack 'localhost/snapx:1': --snapshot as a normal user: "*"user namespace"* ]] || fail "$output"
	[ ! -e "$W/x" ]
}

@test "rootless pull: into the user's store from a loopback registry, then unpack and run" {
	requires registry umoci skopeo
	start_registry plain
	make_rootfs "$TEST_DIR/base"
	tar -C "$TEST_DIR/base" -cf "$TEST_DIR/base.tar" .
	python3 "$OCI_IMAGE" "$TEST_DIR/layout" rl '{"Cmd":["id","-u"]}' "$TEST_DIR/base.tar"
	push "$TEST_DIR/layout:rl" test/rl:1
	run B pull "$REG/test/rl:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(umoci ls --layout "$STORE")" = "$REG/test/rl:1" ]
	[ -z "$(find "$STORE" ! -user "$RL_USER")" ]
	run B unpack "$REG/test/rl:1" "$W/p"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(stat -c %u "$W/p/rootfs")" = "$RL_UID" ]
	[ "$(jq -c .linux.uidMappings "$W/p/config.json")" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	run bash -c "cd '$W/p' && runuser -u '$RL_USER' -- env -i PATH=/usr/bin:/bin HOME='$RL_HOME' XDG_RUNTIME_DIR='$RL_XDG' '$RL_BERTH' --root '$ROOT' run rl-pull 2>&1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = 0 ]
}

@test "rootless: the hostile layer corpus, applied by the user through the rootless applier, stays contained" {
	[ -x "$BERTH_BUILD/tests/unit-layer" ] || skip "unit-layer not built"
	cp "$BERTH_BUILD/tests/unit-layer" "$RL_DIR/unit-layer"
	chmod 755 "$RL_DIR/unit-layer"
	# Each case checks canaries beside its root; as the user, EACCES paths are real.
	run as_user env BERTH_TEST_ROOTLESS=1 "$RL_DIR/unit-layer" --gtest_filter='Hostile.*:Apply.Rootless*'
	[ "$status" -eq 0 ] || fail "$(grep -E 'FAILED|Failure' <<<"$output" | head -20)"
	[[ "$output" == *"PASSED"* ]]
}
