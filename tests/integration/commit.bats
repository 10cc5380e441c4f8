#!/usr/bin/env bats
# berth-image commit: a container run by berth in a bundle (full unpack or snapshot) adds,
# changes and deletes files, replaces a directory and plants hostile symlinks; the commit's
# image unpacks to the container's final tree, its layer lists the same entries as `umoci
# repack` of the same change, and its config carries the new diff_id, history and --change.

load helpers

DIGEST="$BERTH_SRC/tests/helpers/tree_digest.py"

setup() {
	requires root umoci skopeo
	setup_common
	STORE="$TEST_DIR/store"
	SECRET="$TEST_DIR/host-secret"
	echo "host secret $$" >"$SECRET"
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

# base_image: busybox plus a data tree to change, imported as localhost/base:1, and the same
# image in a layout of its own for umoci.
base_image() {
	local R="$TEST_DIR/src" a
	# make_rootfs's ~400 applet links cost seconds on a loaded machine: only what runs here.
	mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp} "$R/data/old/sub" "$R/data/keep" "$R/data/mvdir/in"
	cp "$BUSYBOX" "$R/bin/busybox"
	echo moved >"$R/data/mvdir/in/x"
	for a in sh cat rm mkdir chown chmod ln ls mv; do ln -s busybox "$R/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
	chmod 1777 "$R/tmp"
	echo a >"$R/data/old/f"
	echo b >"$R/data/old/sub/g"
	echo del >"$R/data/del"
	echo mod >"$R/data/mod"
	echo keep >"$R/data/keep/k"
	echo linked >"$R/data/hl1" && ln "$R/data/hl1" "$R/data/hl2"
	chmod 4755 "$R/data/mod"
	bimg import "$R" localhost/base:1 -- /bin/sh >/dev/null
	skopeo copy -q "oci:$STORE:localhost/base:1" "oci:$TEST_DIR/ul:t"
}

# The container's change: add, modify (content and mode), delete, delete a directory and make
# a new one in its place, a new file owned by 1000, hostile symlinks (an /etc/passwd pointing
# at a host file, a link to /), a removed hardlink and a new pair, a renamed file (emptying its
# directory) and a renamed directory (a copy on overlayfs with redirect_dir=off).
CHANGE='set -e
echo new >/data/new
echo changed >>/data/mod
chmod 0700 /data/mod
rm /data/del
rm -rf /data/old
mkdir /data/old
echo fresh >/data/old/fresh
chown 1000:1000 /data/old/fresh
chmod 0640 /data/old/fresh
rm /etc/passwd
ln -s HOSTFILE /etc/passwd
ln -s / /data/rootlink
rm /data/hl2
ln /data/new /data/new-link
mv /data/keep/k /data/renamed
mv /data/mvdir /data/moved'

# run_change BUNDLE ID: runs $CHANGE in BUNDLE with berth (CAP_CHOWN for the chown).
run_change() {
	local b=$1 s caps='["CAP_CHOWN","CAP_FOWNER"]'
	s=${CHANGE//HOSTFILE/$SECRET}
	BUNDLE=$b update_config --arg s "$s" --argjson c "$caps" \
		'.process.args = ["/bin/sh", "-c", $s] | .process.terminal = false |
		 .process.capabilities.bounding += $c | .process.capabilities.effective += $c |
		 .process.capabilities.permitted += $c'
	run berth run --bundle "$b" "$2"
	[ "$status" -eq 0 ] || fail "container: $output"
	# xattrs, set from the host (busybox has no setfattr): a user one and a file capability
	# (v2, effective, cap_net_bind_service).
	python3 - "$b/rootfs" <<-'PY'
		import os, sys
		r = sys.argv[1]
		os.setxattr(r + "/data/new", "user.mime", b"text/plain", follow_symlinks=False)
		cap = bytes([1, 0, 0, 2, 0, 4, 0, 0] + [0] * 12)
		os.setxattr(r + "/data/mod", "security.capability", cap, follow_symlinks=False)
	PY
}

# layer_of LAYOUT NAME: path of the top layer blob of NAME in an OCI layout.
layer_of() {
	local m
	m=$(jq -r --arg n "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$1/index.json")
	m=$(jq -r '.layers[-1].digest' "$1/blobs/sha256/${m#sha256:}")
	echo "$1/blobs/sha256/${m#sha256:}"
}

# entries TAR: the entry names, "./" dropped, sorted.
entries() { tar -tf "$1" | sed -e 's|^\./||' -e '/^$/d' | sort; }

check_tree() {
	local r=$1
	[ "$(cat "$r/data/new")" = new ]
	[ "$(cat "$r/data/mod")" = "$(printf 'mod\nchanged')" ]
	[ "$(stat -c %a "$r/data/mod")" = 700 ]
	[ ! -e "$r/data/del" ] && [ ! -e "$r/data/hl2" ] && [ -f "$r/data/hl1" ]
	[ ! -e "$r/data/old/f" ] && [ ! -e "$r/data/old/sub" ]
	[ "$(stat -c '%a %u:%g' "$r/data/old/fresh")" = "640 1000:1000" ]
	[ "$(readlink "$r/etc/passwd")" = "$SECRET" ]
	[ "$(readlink "$r/data/rootlink")" = / ]
	[ -d "$r/data/keep" ] && [ -z "$(ls -A "$r/data/keep")" ]
	[ "$(cat "$r/data/renamed")" = keep ] && [ "$(cat "$r/data/moved/in/x")" = moved ]
	[ ! -e "$r/data/mvdir" ]
	[ "$(stat -c %i "$r/data/new")" = "$(stat -c %i "$r/data/new-link")" ]
	[ "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.mime").decode())' "$r/data/new")" = text/plain ]
	python3 -c 'import os,sys; os.getxattr(sys.argv[1], "security.capability")' "$r/data/mod"
}

@test "commit of a full unpack: the image unpacks to the container's tree; the layer lists what umoci repack lists" {
	base_image
	bimg unpack localhost/base:1 "$TEST_DIR/full"
	[ -f "$TEST_DIR/full/.berth-image/rootfs.mtree" ]
	[ ! -e "$TEST_DIR/full/rootfs/.berth-image" ]
	[ "$(jq -r .mode "$TEST_DIR/full/.berth-image/origin.json")" = full ]
	run_change "$TEST_DIR/full" cm-full
	run bimg commit -m "the change" "$TEST_DIR/full" localhost/out:full
	[ "$status" -eq 0 ] || fail "$output"

	# The oracle: umoci unpack, the same change, umoci repack.
	umoci unpack --image "$TEST_DIR/ul:t" "$TEST_DIR/um" >/dev/null
	run_change "$TEST_DIR/um" cm-um
	umoci repack --image "$TEST_DIR/ul:t2" "$TEST_DIR/um" >/dev/null
	entries "$(layer_of "$STORE" localhost/out:full)" >"$TEST_DIR/e-berth"
	entries "$(layer_of "$TEST_DIR/ul" t2)" >"$TEST_DIR/e-umoci"
	diff "$TEST_DIR/e-umoci" "$TEST_DIR/e-berth" || fail "layer entries differ from umoci repack"
	grep -qx 'data/.wh.del' "$TEST_DIR/e-berth" && grep -qx 'data/old/.wh.sub' "$TEST_DIR/e-berth"

	bimg unpack localhost/out:full "$TEST_DIR/new"
	check_tree "$TEST_DIR/new/rootfs"
	tree --mtime "$TEST_DIR/full/rootfs" >"$TEST_DIR/t-ctr"
	tree --mtime "$TEST_DIR/new/rootfs" >"$TEST_DIR/t-new"
	diff "$TEST_DIR/t-ctr" "$TEST_DIR/t-new" || fail "unpack of the commit differs from the container's tree"
}

@test "commit of a snapshot bundle: the upper directory becomes the layer (whiteouts, opaque directory)" {
	base_image
	bimg unpack --snapshot localhost/base:1 "$TEST_DIR/snap"
	[ "$(jq -r .mode "$TEST_DIR/snap/.berth-image/origin.json")" = snapshot ]
	run_change "$TEST_DIR/snap" cm-snap
	run bimg commit --compress zstd "$TEST_DIR/snap" localhost/out:snap
	[ "$status" -eq 0 ] || fail "$output"
	local l
	l=$(layer_of "$STORE" localhost/out:snap)
	entries "$l" >"$TEST_DIR/e-snap"
	# overlayfs recorded the replaced directory as opaque, the deletions as whiteout devices.
	grep -qx 'data/old/.wh..wh..opq' "$TEST_DIR/e-snap" || fail "$(cat "$TEST_DIR/e-snap")"
	grep -qx 'data/.wh.del' "$TEST_DIR/e-snap" && grep -qx 'data/.wh.hl2' "$TEST_DIR/e-snap"
	! grep -q '^data/old/sub\|^data/hl1' "$TEST_DIR/e-snap" || fail "unchanged files in the layer"
	[ "$(bimg inspect --raw localhost/out:snap | jq -r '.layers[-1].mediaType')" = application/vnd.oci.image.layer.v1.tar+zstd ]
	# Both unpack modes of the commit give the container's final tree.
	bimg unpack --snapshot localhost/out:snap "$TEST_DIR/snap-new"
	bimg unpack localhost/out:snap "$TEST_DIR/full-new"
	check_tree "$TEST_DIR/snap-new/rootfs"
	tree --mtime "$TEST_DIR/snap/rootfs" >"$TEST_DIR/t-ctr"
	tree --mtime "$TEST_DIR/snap-new/rootfs" >"$TEST_DIR/t-snap"
	tree --mtime "$TEST_DIR/full-new/rootfs" >"$TEST_DIR/t-full"
	diff "$TEST_DIR/t-ctr" "$TEST_DIR/t-snap" || fail "snapshot unpack of the commit differs"
	diff "$TEST_DIR/t-ctr" "$TEST_DIR/t-full" || fail "full unpack of the commit differs"
	# The commit runs: a container of the new image sees the change.
	BUNDLE="$TEST_DIR/snap-new" update_config '.process.args = ["/bin/cat", "/data/new"]'
	run berth run --bundle "$TEST_DIR/snap-new" cm-snap-new
	[ "$status" -eq 0 ] && [ "$output" = new ] || fail "$output"
}

@test "commit config: diff_ids, history, author and --change applied" {
	base_image
	bimg unpack localhost/base:1 "$TEST_DIR/full"
	echo x >"$TEST_DIR/full/rootfs/added"
	run bimg commit -m "add x" --author "Ann <ann@example.org>" --compress none \
		-c 'CMD ["/bin/echo", "hi"]' -c 'ENTRYPOINT /bin/sh' -c 'ENV FOO=bar' \
		-c 'WORKDIR /data' -c 'USER 1000:1000' -c 'LABEL a=b c="d e"' -c 'EXPOSE 8080 53/udp' \
		"$TEST_DIR/full" localhost/out:cfg
	[ "$status" -eq 0 ] || fail "$output"
	local c="$TEST_DIR/cfg.json"
	bimg inspect --config localhost/out:cfg >"$c"
	[ "$(jq '.rootfs.diff_ids | length' "$c")" = 2 ]
	[ "$(jq -r '.history[-1].created_by' "$c")" = "add x" ]
	[ "$(jq -r '.history[-1].author' "$c")" = "Ann <ann@example.org>" ]
	[ "$(jq -r '.author' "$c")" = "Ann <ann@example.org>" ]
	[ "$(jq -c '.config.Cmd' "$c")" = '["/bin/echo","hi"]' ]
	[ "$(jq -c '.config.Entrypoint' "$c")" = '["/bin/sh","-c","/bin/sh"]' ]
	jq -e '.config.Env | index("FOO=bar")' "$c" >/dev/null
	[ "$(jq -r '.config.WorkingDir' "$c")" = /data ]
	[ "$(jq -r '.config.User' "$c")" = 1000:1000 ]
	[ "$(jq -c '.config.Labels' "$c")" = '{"a":"b","c":"d e"}' ]
	[ "$(jq -c '.config.ExposedPorts | keys' "$c")" = '["53/udp","8080/tcp"]' ]
	# The diff_id is the layer as stored (uncompressed here): sha256 of the blob.
	local l
	l=$(layer_of "$STORE" localhost/out:cfg)
	[ "$(jq -r '.rootfs.diff_ids[-1]' "$c")" = "sha256:$(sha256sum "$l" | cut -d' ' -f1)" ]
	[ "$(entries "$l" | tr '\n' ' ')" = "added " ] || fail "$(entries "$l")"
	# skopeo reads the result.
	skopeo inspect --config "oci:$STORE:localhost/out:cfg" | jq -e '.config.Cmd[1] == "hi"' >/dev/null
}

@test "commit --config.*: umoci config's flags give the config umoci config gives" {
	base_image
	bimg unpack localhost/base:1 "$TEST_DIR/full"
	local flags=(--config.cmd /bin/echo --config.cmd 'a "q" \b' --config.entrypoint /bin/sh
		--config.entrypoint -c --config.env 'FOO=x "y" z' --config.label 'l=v w'
		--config.workingdir /w --config.user 7:8 --config.exposedports 80/tcp)
	run bimg commit --compress none "${flags[@]}" "$TEST_DIR/full" localhost/out:umoci
	[ "$status" -eq 0 ] || fail "$output"
	skopeo copy -q "oci:$STORE:localhost/base:1" "oci:$TEST_DIR/u:base"
	umoci config --image "$TEST_DIR/u:base" --tag cfg "${flags[@]}"
	local keys='.config | {Cmd, Entrypoint, Env, Labels, WorkingDir, User, ExposedPorts}'
	diff <(bimg inspect --config localhost/out:umoci | jq -S "$keys") \
		<(skopeo inspect --config "oci:$TEST_DIR/u:cfg" | jq -S "$keys")
}

@test "commit never reads through a hostile symlink: links stored as links, the host file not in the layer" {
	base_image
	bimg unpack localhost/base:1 "$TEST_DIR/full"
	run_change "$TEST_DIR/full" cm-hostile
	# A directory link out of the root with a file name under it that the walk must not open.
	ln -s "$TEST_DIR" "$TEST_DIR/full/rootfs/data/escape"
	run bimg commit --compress none "$TEST_DIR/full" localhost/out:h
	[ "$status" -eq 0 ] || fail "$output"
	local l
	l=$(layer_of "$STORE" localhost/out:h)
	! grep -q "host secret" "$l" || fail "the host file's content is in the layer"
	tar -tvf "$l" | grep -q "etc/passwd -> $SECRET" || fail "$(tar -tvf "$l")"
	! tar -tf "$l" | grep -q '^\./data/escape/' || fail "walked through a symlink"
}

@test "commit of an unchanged bundle gives an empty layer; bad input leaves nothing behind" {
	base_image
	bimg unpack --snapshot localhost/base:1 "$TEST_DIR/snap"
	run bimg commit "$TEST_DIR/snap" localhost/out:empty
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(entries "$(layer_of "$STORE" localhost/out:empty)")" ]
	[ "$(bimg inspect --config localhost/out:empty | jq '.rootfs.diff_ids | length')" = 2 ]

	local blobs
	blobs=$(find "$STORE/blobs" -type f | wc -l)
	run bimg commit -c 'FROBNICATE x' "$TEST_DIR/snap" localhost/out:bad
	[ "$status" -ne 0 ] && [[ "$output" == *"unknown instruction 'FROBNICATE'"* ]] || fail "$output"
	run bimg commit -c 'CMD [1, 2' "$TEST_DIR/snap" localhost/out:bad
	[ "$status" -ne 0 ] && [[ "$output" == *"JSON array"* ]] || fail "$output"
	run bimg commit --compress lz4 "$TEST_DIR/snap" localhost/out:bad
	[ "$status" -ne 0 ] && [[ "$output" == *"lz4"* ]] || fail "$output"
	# A name that would read back as a whiteout.
	touch "$TEST_DIR/snap/rootfs/tmp/.wh.evil"
	run bimg commit "$TEST_DIR/snap" localhost/out:bad
	[ "$status" -ne 0 ] && [[ "$output" == *"tmp/.wh.evil"*"cannot be stored"* ]] || fail "$output"
	rm "$TEST_DIR/snap/rootfs/tmp/.wh.evil"
	# A directory berth-image did not unpack.
	mkdir -p "$TEST_DIR/plain/rootfs"
	run bimg commit "$TEST_DIR/plain" localhost/out:bad
	[ "$status" -ne 0 ] && [[ "$output" == *"no record of the image"* ]] || fail "$output"
	[ "$(find "$STORE/blobs" -type f | wc -l)" = "$blobs" ]
	[ -z "$(ls -A "$STORE/.berth/tmp" 2>/dev/null)" ]
	run bimg inspect localhost/out:bad
	[ "$status" -ne 0 ]
}
