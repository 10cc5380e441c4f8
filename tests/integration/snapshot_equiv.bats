#!/usr/bin/env bats
# issue 23: `unpack --snapshot` gives exactly the tree a full unpack gives, and both the tree
# `umoci unpack` gives (docs/layers.md, "One set of layer semantics"): merged-/usr images with
# later layers writing through bin -> usr/bin, whiteouts and opaque markers under symlinked
# directories, symlinks inside and outside the root, implicit parents, busybox, the umoci-made
# tree and hostile layers. Compared: type, mode, owner, size, content, link target, xattrs,
# mtimes (directories' between the two berth modes only: umoci gives implicit parents the time
# of unpacking, the one documented exception).

load helpers

DIGEST="$BERTH_SRC/tests/helpers/tree_digest.py"
OCI_IMAGE="$BERTH_SRC/tests/helpers/oci_image.py"

setup() {
	requires root umoci skopeo
	setup_common
	STORE="$TEST_DIR/store"
	mkdir -p "$STORE"
}

teardown() {
	local b
	for b in "$TEST_DIR"/snap*; do
		[ -d "$b" ] && "$BERTH_IMAGE" --store "$STORE" umount "$b" >/dev/null 2>&1
		mountpoint -q "$b/rootfs" 2>/dev/null && umount -l "$b/rootfs"
	done
	teardown_common
}

bimg() { "$BERTH_IMAGE" --store "$STORE" "$@"; }
tree() { python3 "$DIGEST" "$@"; }
dir_times() { (cd "$1" && find . -mindepth 1 -type d -printf '%P %T@\n' | sort); }

# layer OUT.tar SPEC...: a tar written by Python's tarfile from specs:
#   d:NAME[:MODE]  f:NAME[:DATA]  l:NAME:TARGET  h:NAME:TARGET  x:NAME (host busybox)
# every entry mode 0755/0644, owner 0:0, mtime 1600000000 (directories 1500000000).
layer() {
	python3 - "$@" <<-'PY'
		import io, sys, tarfile
		with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
		    for spec in sys.argv[2:]:
		        kind, name, *rest = spec.split(":", 2)
		        i = tarfile.TarInfo(name); i.mtime = 1600000000; data = None
		        if kind == "d":
		            i.type = tarfile.DIRTYPE; i.mode = int(rest[0], 8) if rest else 0o755
		            i.mtime = 1500000000
		        elif kind == "f":
		            data = (rest[0] if rest else "").encode(); i.mode = 0o755
		        elif kind == "x":
		            data = open("/bin/busybox", "rb").read(); i.mode = 0o755
		        elif kind == "l":
		            i.type = tarfile.SYMTYPE; i.linkname = rest[0]; i.mode = 0o777
		        elif kind == "h":
		            i.type = tarfile.LNKTYPE; i.linkname = rest[0]; i.mode = 0o644
		        if data is not None:
		            i.size = len(data)
		        t.addfile(i, io.BytesIO(data) if data is not None else None)
	PY
}

# image REF CMD_JSON LAYER...: an image in the store (an OCI layout umoci also reads).
image() {
	local ref=$1 cmd=$2
	shift 2
	python3 "$OCI_IMAGE" "$STORE" "localhost/$ref" "{\"Cmd\": $cmd}" "$@"
	# The same image in a layout of its own for umoci (whose --image takes one colon).
	rm -rf "$TEST_DIR/ul-${ref//[^a-z0-9]/_}"
	python3 "$OCI_IMAGE" "$TEST_DIR/ul-${ref//[^a-z0-9]/_}" t "{\"Cmd\": $cmd}" "$@"
}

# equiv REF [--no-umoci]: full unpack, snapshot and umoci unpack of REF give one tree.
equiv() {
	local ref=$1 n
	n=${ref//[^a-z0-9]/_}
	run bimg unpack "localhost/$ref" "$TEST_DIR/full-$n"
	[ "$status" -eq 0 ] || fail "full: $output"
	run bimg unpack --snapshot "localhost/$ref" "$TEST_DIR/snap-$n"
	[ "$status" -eq 0 ] || fail "snapshot: $output"
	tree --mtime "$TEST_DIR/full-$n/rootfs" >"$TEST_DIR/t-full"
	tree --mtime "$TEST_DIR/snap-$n/rootfs" >"$TEST_DIR/t-snap"
	diff "$TEST_DIR/t-full" "$TEST_DIR/t-snap" || fail "full and snapshot differ for $ref"
	diff <(dir_times "$TEST_DIR/full-$n/rootfs") <(dir_times "$TEST_DIR/snap-$n/rootfs") ||
		fail "directory times differ for $ref"
	if [ "${2:-}" != --no-umoci ]; then
		[ -d "$TEST_DIR/ul-$n" ] ||
			skopeo copy -q "oci:$STORE:localhost/$ref" "oci:$TEST_DIR/ul-$n:t"
		umoci unpack --image "$TEST_DIR/ul-$n:t" "$TEST_DIR/umoci-$n" >/dev/null
		tree --mtime "$TEST_DIR/umoci-$n/rootfs" >"$TEST_DIR/t-umoci"
		diff "$TEST_DIR/t-umoci" "$TEST_DIR/t-full" || fail "umoci and berth differ for $ref"
	fi
}

# The merged-/usr base every case below builds on (Debian 12 and most distributions).
merged_usr_base() {
	layer "$TEST_DIR/base.tar" d:usr d:usr/bin x:usr/bin/busybox l:usr/bin/sh:busybox \
		l:usr/bin/ls:busybox l:usr/bin/cat:busybox l:usr/bin/wc:busybox d:usr/lib \
		f:usr/lib/liba:a f:usr/lib/libb:b l:bin:usr/bin l:lib:usr/lib l:sbin:usr/bin d:etc \
		f:etc/passwd:root:x:0:0::/:/bin/sh
}

@test "merged /usr: a later layer writing bin/hello with no bin/ entry lands in usr/bin" {
	merged_usr_base
	layer "$TEST_DIR/l2.tar" "f:bin/hello:#!/bin/sh
echo hello"
	image usr:1 '["/bin/sh","-c","/bin/hello; ls /usr/bin | wc -l"]' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar"
	equiv usr:1
	[ -L "$TEST_DIR/snap-usr_1/rootfs/bin" ]
	[ -f "$TEST_DIR/snap-usr_1/rootfs/usr/bin/sh" ] || [ -L "$TEST_DIR/snap-usr_1/rootfs/usr/bin/sh" ]
	[ -f "$TEST_DIR/snap-usr_1/rootfs/usr/bin/hello" ]
	# The snapshot bundle runs under berth: /bin/sh is still there, hello beside it.
	run berth run --bundle "$TEST_DIR/snap-usr_1" se-usr
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = hello ] && [ "${lines[1]}" = 6 ] || fail "$output"
}

@test "whiteouts and opaque markers under a symlinked directory, implicit parents" {
	merged_usr_base
	# bin/.wh.ls removes usr/bin/ls; lib/.wh..wh..opq empties usr/lib (its new entry stays);
	# new/deep/file makes new/ and new/deep/ with the entry's time; a whiteout of a missing
	# name is nothing.
	layer "$TEST_DIR/l2.tar" f:bin/.wh.ls "f:lib/.wh..wh..opq" f:lib/libc:c f:new/deep/file:x \
		f:.wh.nothing-here f:etc/.wh.passwd
	layer "$TEST_DIR/l3.tar" f:etc/passwd:again d:usr/lib:0700 f:usr/lib/libd:d
	image wo:1 '["/bin/sh"]' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/l3.tar"
	equiv wo:1
	local r="$TEST_DIR/snap-wo_1/rootfs"
	[ ! -e "$r/usr/bin/ls" ] && [ -e "$r/usr/bin/cat" ]
	[ "$(ls "$r/usr/lib" | tr '\n' ' ')" = "libc libd " ] || fail "$(ls -la "$r/usr/lib")"
	[ "$(stat -c %Y "$r/new/deep")" = 1600000000 ]
	[ "$(stat -c %a "$r/usr/lib")" = 700 ]
	# Nothing the overlay could not stat (a stray whiteout device) lists anywhere.
	find "$r" -mindepth 1 -exec stat -c %n {} + >/dev/null
}

@test "symlinks inside the root are followed, out of it refused, in both modes alike" {
	merged_usr_base
	layer "$TEST_DIR/l2.tar" l:in:usr/lib l:rel:../../usr/bin l:out:/etc l:esc:../../../..
	layer "$TEST_DIR/l3.tar" f:in/libin:x f:rel/relx:y
	image sym:1 '["/bin/sh"]' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/l3.tar"
	# rel points out by "..": followed by umoci (clamped), refused by berth: no umoci compare.
	layer "$TEST_DIR/l3b.tar" f:in/libin:x
	image sym:2 '["/bin/sh"]' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/l3b.tar"
	equiv sym:2
	[ -f "$TEST_DIR/snap-sym_2/rootfs/usr/lib/libin" ] && [ -L "$TEST_DIR/snap-sym_2/rootfs/in" ]
	local mode bad i=0
	for bad in "f:out/x:x" "f:esc/x:x" "f:rel/relx:y"; do
		i=$((i + 1))
		layer "$TEST_DIR/bad.tar" "$bad"
		python3 "$OCI_IMAGE" "$STORE" "localhost/bad:$i" '{}' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/bad.tar"
	done
	for mode in "" --snapshot; do
		for i in 1 2 3; do
			run bimg unpack $mode "localhost/bad:$i" "$TEST_DIR/snapbad"
			[ "$status" -ne 0 ] || fail "$mode $i: unpacked"
			[[ "$output" == *"leads out of the root"* ]] || fail "$mode $i: $output"
			[ ! -e "$TEST_DIR/snapbad" ] || fail "$mode $i: left $TEST_DIR/snapbad"
			[ ! -e /etc/x ]
			! ls -A "$STORE"/.berth/layers/ 2>/dev/null | grep -q '^\.tmp' || fail "temporary layer left"
		done
	done
}

@test "busybox, and the umoci-built multi-layer tree, give one tree in all three" {
	make_rootfs "$TEST_DIR/src"
	bimg import "$TEST_DIR/src" localhost/bb:1 -- /bin/sh >/dev/null
	equiv bb:1
	# The hostile-but-legal shapes: a file replaced by a directory and back, hardlinks across
	# layers (copied up in the snapshot: same content, see docs/layers.md), a dir replaced by a
	# symlink, sticky and setuid bits, an opaque directory made by the layer itself.
	merged_usr_base
	layer "$TEST_DIR/l2.tar" d:usr/lib/sub f:usr/lib/sub/f:f h:usr/bin/bb2:usr/bin/busybox \
		d:tmp:1777 f:etc/x:x
	layer "$TEST_DIR/l3.tar" f:usr/lib/sub:now-a-file d:etc/x l:usr/lib/liba:libb \
		"f:usr/.wh..wh..opq" d:usr d:usr/bin x:usr/bin/busybox
	image hostile:1 '["/bin/sh"]' "$TEST_DIR/base.tar" "$TEST_DIR/l2.tar" "$TEST_DIR/l3.tar"
	equiv hostile:1
	local r="$TEST_DIR/snap-hostile_1/rootfs"
	[ ! -e "$r/usr/lib/libb" ] && [ -L "$r/usr/lib/liba" ] && [ -f "$r/usr/lib/sub" ] && [ ! -e "$r/usr/bin/sh" ]
}

@test "Debian bookworm (merged /usr) with a later layer writing bin/hello: one tree in all three, and the snapshot runs it" {
	# The engine tests' Debian image (debootstrap, cached; made here if they have not run).
	local deb
	deb=$("$BERTH_SRC/tests/fixtures/debian-stack.sh") || fail "no Debian image"
	layer "$TEST_DIR/hello.tar" "f:bin/hello:#!/bin/sh
echo hello from \$(readlink /bin)"
	image debian:1 '["/bin/hello"]' "$deb" "$TEST_DIR/hello.tar"
	equiv debian:1
	local r="$TEST_DIR/snap-debian_1/rootfs"
	[ -L "$r/bin" ] && [ -f "$r/usr/bin/hello" ] && [ -f "$r/usr/bin/dash" ]
	# berth runs the snapshot bundle: /bin/hello through the /bin symlink, /bin/sh is dash.
	jq '.process.terminal = false' "$TEST_DIR/snap-debian_1/config.json" >"$TEST_DIR/c.json"
	mv "$TEST_DIR/c.json" "$TEST_DIR/snap-debian_1/config.json"
	run "$BERTH" --root "$ROOT" run --bundle "$TEST_DIR/snap-debian_1" deb-snap
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "hello from usr/bin" ]
}
