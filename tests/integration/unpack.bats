#!/usr/bin/env bats
# berth-image import, unpack, unpack --snapshot and umount: round trips, images built by umoci
# compared entry by entry with `umoci unpack` of the same image, failures that leave nothing
# behind, and containers run from the bundles.

load helpers
if [ -f "$BATS_TEST_DIRNAME/../helpers/registry.bash" ]; then
	load ../helpers/registry
fi

DIGEST="$BERTH_SRC/tests/helpers/tree_digest.py"

setup() {
	requires root
	setup_common
	STORE="$TEST_DIR/store"
}

teardown() {
	local b
	for b in "$TEST_DIR"/snap*; do
		[ -d "$b" ] && "$BERTH_IMAGE" --store "$STORE" umount "$b" >/dev/null 2>&1
		mountpoint -q "$b/rootfs" 2>/dev/null && umount -l "$b/rootfs"
	done
	declare -F stop_registries >/dev/null && stop_registries
	teardown_common
}

bimg() { "$BERTH_IMAGE" --store "$STORE" "$@"; }

# tree DIR: the comparison digest of a tree (type, mode, owner, size, hash, target, xattrs).
tree() { python3 "$DIGEST" "$@"; }

# setx PATH NAME VALUE: a user xattr (no attr package needed).
setx() { python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"; }

# umoci_tree_image LAYOUT: a 4-layer image made by umoci (repack and raw add-layer) with
# whiteouts, an opaque directory, hardlinks across layers, setuid files and xattrs.
umoci_tree_image() {
	local L=$1 W="$TEST_DIR/umoci-work"
	umoci init --layout "$L"
	umoci new --image "$L:t"
	umoci unpack --image "$L:t" "$W" >/dev/null
	local R="$W/rootfs"
	# Layer 1: a busybox tree, odd modes and owners, xattrs, a hardlink pair.
	make_rootfs "$R"
	mkdir -p "$R/data/keep" "$R/data/gone" "$R/opq/old/deep" "$R/srv"
	echo keep >"$R/data/keep/file"
	echo gone >"$R/data/gone/file"
	echo old >"$R/opq/old/deep/file"
	echo lower >"$R/opq/lower"
	echo suid >"$R/bin/suidtool" && chmod 4755 "$R/bin/suidtool"
	echo sgid >"$R/bin/sgidtool" && chmod 2711 "$R/bin/sgidtool"
	echo owned >"$R/srv/owned" && chown 1234:5678 "$R/srv/owned"
	mkdir "$R/srv/sticky" && chmod 1777 "$R/srv/sticky"
	echo linked >"$R/srv/a" && ln "$R/srv/a" "$R/srv/b"
	echo x >"$R/srv/xattr" && setx "$R/srv/xattr" user.mime text/plain
	ln -s ../srv/a "$R/data/rel-link"
	ln -s /etc/passwd "$R/data/abs-link"
	umoci repack --refresh-bundle --image "$L:t" "$W" >/dev/null
	# Layer 2: deletions (whiteouts), a hardlink to a lower file, a mode and owner change.
	rm -rf "$R/data/gone" "$R/srv/b"
	ln "$R/srv/a" "$R/srv/c"
	chmod 0600 "$R/srv/owned" && chown 42:43 "$R/srv/owned"
	echo new >"$R/data/keep/new"
	umoci repack --refresh-bundle --image "$L:t" "$W" >/dev/null
	# Layer 3: a file replaced by a directory and a directory by a file.
	rm "$R/data/keep/new" && mkdir "$R/data/keep/new" && echo inner >"$R/data/keep/new/inner"
	rm -rf "$R/data/keep/file" && echo flat >"$R/data/keep/file"
	umoci repack --refresh-bundle --image "$L:t" "$W" >/dev/null
	# Layer 4 by hand: an opaque directory, a whiteout, a hardlink to a file of layer 1.
	python3 - "$TEST_DIR/l4.tar" <<-'PY'
		import io, sys, tarfile
		with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
		    def add(name, kind=tarfile.REGTYPE, data=b"", link=""):
		        i = tarfile.TarInfo(name); i.type = kind; i.size = len(data); i.mode = 0o644
		        i.mtime = 1600000000; i.linkname = link
		        t.addfile(i, io.BytesIO(data) if data else None)
		    add("opq/fresh", data=b"fresh\n")
		    add("opq/.wh..wh..opq")
		    add("srv/.wh.xattr")
		    add("srv/d", tarfile.LNKTYPE, link="srv/a")
	PY
	umoci raw add-layer --image "$L:t" "$TEST_DIR/l4.tar"
}

@test "import then unpack gives back the same tree and a runnable config" {
	make_rootfs "$TEST_DIR/src"
	mkdir -p "$TEST_DIR/src/opt"
	echo s >"$TEST_DIR/src/opt/suid" && chmod 4755 "$TEST_DIR/src/opt/suid"
	ln "$TEST_DIR/src/opt/suid" "$TEST_DIR/src/opt/hard"
	run bimg import --user user --env A=1 "$TEST_DIR/src" localhost/rt:1 -- /bin/sh -c 'id'
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == sha256:* ]]
	run bimg unpack localhost/rt:1 "$TEST_DIR/bundle"
	[ "$status" -eq 0 ] || fail "$output"
	diff <(tree "$TEST_DIR/src") <(tree "$TEST_DIR/bundle/rootfs")
	local c="$TEST_DIR/bundle/config.json"
	[ "$(jq -c .process.args "$c")" = '["/bin/sh","-c","id"]' ]
	[ "$(jq -c .process.user "$c")" = '{"uid":1000,"gid":1000,"additionalGids":[2000]}' ]
	jq -e '.process.env | index("A=1") and index("HOME=/home/user") and index("TERM=xterm")' "$c"
	[ "$(jq -r .root.path "$c")" = rootfs ]
	[ "$(jq -r '.process.cwd' "$c")" = / ]
	# umoci reads the store berth wrote, and agrees on the tree.
	if command -v umoci >/dev/null; then
		umoci unpack --image "$STORE:localhost/rt:1" "$TEST_DIR/umoci" >/dev/null
		diff <(tree "$TEST_DIR/umoci/rootfs") <(tree "$TEST_DIR/bundle/rootfs")
	fi
}

@test "import of a tar file (plain and gzip) keeps its DiffID" {
	make_rootfs "$TEST_DIR/src"
	tar -C "$TEST_DIR/src" --numeric-owner -cf "$TEST_DIR/l.tar" .
	gzip -k "$TEST_DIR/l.tar"
	run bimg import "$TEST_DIR/l.tar" localhost/tar:1 -- /bin/true
	[ "$status" -eq 0 ] || fail "$output"
	run bimg import "$TEST_DIR/l.tar.gz" localhost/tar:2 -- /bin/true
	[ "$status" -eq 0 ] || fail "$output"
	local want="sha256:$(sha256sum <"$TEST_DIR/l.tar" | cut -d' ' -f1)" m cfg
	for t in 1 2; do
		m=$(jq -r --arg n "localhost/tar:$t" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n) | .digest' "$STORE/index.json")
		cfg=$(jq -r .config.digest "$STORE/blobs/sha256/${m#sha256:}")
		[ "$(jq -r '.rootfs.diff_ids[0]' "$STORE/blobs/sha256/${cfg#sha256:}")" = "$want" ]
	done
}

@test "unpack matches umoci unpack on a multi-layer umoci image (whiteouts, opaque, hardlinks, setuid, xattrs)" {
	requires umoci skopeo
	umoci_tree_image "$TEST_DIR/layout"
	skopeo copy -q "oci:$TEST_DIR/layout:t" "oci:$STORE:localhost/tree:1"
	run bimg unpack localhost/tree:1 "$TEST_DIR/berth"
	[ "$status" -eq 0 ] || fail "$output"
	umoci unpack --image "$TEST_DIR/layout:t" "$TEST_DIR/umoci" >/dev/null
	diff <(tree --mtime "$TEST_DIR/umoci/rootfs") <(tree --mtime "$TEST_DIR/berth/rootfs")
	local r="$TEST_DIR/berth/rootfs"
	# The cases the image was built for, checked directly too.
	[ ! -e "$r/data/gone" ] && [ ! -e "$r/srv/b" ] && [ ! -e "$r/srv/xattr" ]
	[ ! -e "$r/opq/old" ] && [ ! -e "$r/opq/lower" ] && [ "$(cat "$r/opq/fresh")" = fresh ]
	[ "$(stat -c %i "$r/srv/a")" = "$(stat -c %i "$r/srv/d")" ]
	[ "$(stat -c %a "$r/bin/suidtool")" = 4755 ] && [ "$(stat -c %a "$r/bin/sgidtool")" = 2711 ]
	[ "$(stat -c %u:%g:%a "$r/srv/owned")" = 42:43:600 ]
	[ -d "$r/data/keep/new" ] && [ "$(cat "$r/data/keep/file")" = flat ]
	[ "$(readlink "$r/data/abs-link")" = /etc/passwd ]
}

@test "layers that end without end-of-archive blocks (umoci insert) unpack as umoci unpacks them" {
	requires umoci skopeo
	local L="$TEST_DIR/layout" w="$TEST_DIR/w" l
	umoci init --layout "$L"
	umoci new --image "$L:t"
	mkdir -p "$w/dir/sub"
	printf 'odd size\n' >"$w/odd"
	head -c 1001 /dev/urandom >"$w/dir/sub/random"
	ln -s sub/random "$w/dir/link"
	umoci insert --image "$L:t" "$w/odd" /odd >/dev/null
	umoci insert --image "$L:t" "$w/dir" /dir >/dev/null
	# The layers really end right after the last file's data (Debian's umoci 0.4.7 never
	# closes its tar writer): not a whole number of 512-byte blocks.
	for l in $(jq -r '.layers[].digest' "$L/blobs/sha256/$(jq -r '.manifests[0].digest' "$L/index.json" | cut -d: -f2)"); do
		[ $(($(gzip -dc "$L/blobs/sha256/${l#sha256:}" | wc -c) % 512)) -ne 0 ] ||
			skip "this umoci terminates its layers"
	done
	skopeo copy -q "oci:$L:t" "oci:$STORE:localhost/insert:1"
	run bimg unpack localhost/insert:1 "$TEST_DIR/berth"
	[ "$status" -eq 0 ] || fail "$output"
	umoci unpack --image "$L:t" "$TEST_DIR/umoci" >/dev/null
	diff <(tree --mtime "$TEST_DIR/umoci/rootfs") <(tree --mtime "$TEST_DIR/berth/rootfs")
	[ "$(cat "$TEST_DIR/berth/rootfs/odd")" = "odd size" ]
	# Through a docker-archive (its writer checks every layer against diff_ids) and back.
	run bimg copy "oci:$L:t" "docker-archive:$TEST_DIR/d.tar:localhost/insert:2"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg load "$TEST_DIR/d.tar"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack localhost/insert:2 "$TEST_DIR/berth2"
	[ "$status" -eq 0 ] || fail "$output"
	diff <(tree --mtime "$TEST_DIR/umoci/rootfs") <(tree --mtime "$TEST_DIR/berth2/rootfs")
}

@test "pull from a registry, then unpack matches umoci unpack" {
	requires registry umoci skopeo
	start_registry plain
	umoci_tree_image "$TEST_DIR/layout"
	skopeo copy -q --dest-tls-verify=false "oci:$TEST_DIR/layout:t" "docker://$REG/test/tree:1"
	run bimg pull "$REG/test/tree:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack "$REG/test/tree:1" "$TEST_DIR/berth"
	[ "$status" -eq 0 ] || fail "$output"
	umoci unpack --image "$TEST_DIR/layout:t" "$TEST_DIR/umoci" >/dev/null
	diff <(tree "$TEST_DIR/umoci/rootfs") <(tree "$TEST_DIR/berth/rootfs")
}

@test "unpack --snapshot: layers cached once, second bundle is a mount, umount cleans up" {
	requires umoci skopeo
	umoci_tree_image "$TEST_DIR/layout"
	skopeo copy -q "oci:$TEST_DIR/layout:t" "oci:$STORE:localhost/tree:1"
	run bimg unpack localhost/tree:1 "$TEST_DIR/full"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack --snapshot localhost/tree:1 "$TEST_DIR/snap1"
	[ "$status" -eq 0 ] || fail "$output"
	mountpoint -q "$TEST_DIR/snap1/rootfs"
	[ "$(ls "$STORE/.berth/layers" | wc -l)" -eq 4 ]
	local before
	before=$(stat -c %Y "$STORE"/.berth/layers/*/fs | sort | md5sum)
	run bimg unpack --snapshot localhost/tree:1 "$TEST_DIR/snap2"
	[ "$status" -eq 0 ] || fail "$output"
	# No layer was extracted again.
	[ "$(stat -c %Y "$STORE"/.berth/layers/*/fs | sort | md5sum)" = "$before" ]
	diff <(tree "$TEST_DIR/full/rootfs") <(tree "$TEST_DIR/snap1/rootfs")
	diff <(tree "$TEST_DIR/full/rootfs") <(tree "$TEST_DIR/snap2/rootfs")
	# Writes go to the bundle's own upper directory.
	echo private >"$TEST_DIR/snap1/rootfs/srv/a"
	[ "$(cat "$TEST_DIR/snap2/rootfs/srv/a")" = linked ]
	[ "$(find "$STORE"/.berth/layers/*/refs -type f | wc -l)" -eq 8 ]
	run bimg umount "$TEST_DIR/snap1"
	[ "$status" -eq 0 ] || fail "$output"
	[ ! -e "$TEST_DIR/snap1" ]
	[ "$(find "$STORE"/.berth/layers/*/refs -type f | wc -l)" -eq 4 ]
	# rm + gc while snap2 still mounts the layers: they stay.
	run bimg rm localhost/tree:1
	[ "$status" -eq 0 ] || fail "$output"
	run bimg gc
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(ls "$STORE/.berth/layers" | wc -l)" -eq 4 ]
	diff <(tree "$TEST_DIR/full/rootfs") <(tree "$TEST_DIR/snap2/rootfs")
	run bimg umount "$TEST_DIR/snap2"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg gc
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"4 snapshot layers"* ]] || fail "$output"
	[ "$(ls "$STORE/.berth/layers" | wc -l)" -eq 0 ]
	run bimg umount "$TEST_DIR/full"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not a snapshot bundle"* ]] || fail "$output"
}

@test "unpack refuses a non-empty directory and leaves nothing behind on failure" {
	make_rootfs "$TEST_DIR/src"
	bimg import "$TEST_DIR/src" localhost/x:1 -- /bin/sh >/dev/null
	mkdir "$TEST_DIR/busy" && touch "$TEST_DIR/busy/file"
	run bimg unpack localhost/x:1 "$TEST_DIR/busy"
	[ "$status" -ne 0 ]
	[ "${lines[-1]}" = "berth-image: '$TEST_DIR/busy' is not empty" ] || fail "$output"
	[ "$(ls "$TEST_DIR/busy")" = file ]
	# An unknown user fails after the layers are applied: the bundle must go entirely.
	bimg import --user nosuchuser "$TEST_DIR/src" localhost/x:2 -- /bin/sh >/dev/null
	run bimg unpack localhost/x:2 "$TEST_DIR/b2"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"user 'nosuchuser' not found in the image's /etc/passwd"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/b2" ]
	# An empty directory given by the user is kept, emptied.
	mkdir "$TEST_DIR/b3"
	run bimg unpack localhost/x:2 "$TEST_DIR/b3"
	[ "$status" -ne 0 ]
	[ -d "$TEST_DIR/b3" ] && [ -z "$(ls -A "$TEST_DIR/b3")" ]
	run bimg unpack localhost/nope:1 "$TEST_DIR/b4"
	[ "$status" -ne 0 ]
	[ ! -e "$TEST_DIR/b4" ]
}

@test "a hostile layer is refused naming the entry, nothing outside the bundle is touched" {
	requires umoci skopeo
	echo host >"$TEST_DIR/canary"
	local L="$TEST_DIR/layout" T="$TEST_DIR/evil"
	umoci init --layout "$L" && umoci new --image "$L:t"
	mkdir -p "$T"
	ln -s "$TEST_DIR" "$T/esc"
	(cd "$T" && tar -cf "$TEST_DIR/l1.tar" esc)
	umoci raw add-layer --image "$L:t" "$TEST_DIR/l1.tar"
	rm "$T/esc" && mkdir "$T/esc" && echo pwned >"$T/esc/canary"
	(cd "$T" && tar -cf "$TEST_DIR/l2.tar" esc/canary)
	umoci raw add-layer --image "$L:t" "$TEST_DIR/l2.tar"
	umoci config --image "$L:t" --config.cmd /bin/sh
	skopeo copy -q "oci:$L:t" "oci:$STORE:localhost/evil:1"
	run bimg unpack localhost/evil:1 "$TEST_DIR/b"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"layer entry 'esc/canary': parent 'esc' leads out of the root through a symlink"* ]] || fail "$output"
	[ "$(cat "$TEST_DIR/canary")" = host ]
	[ ! -e "$TEST_DIR/b" ]
}

@test "config.json: entrypoint override, trailing args, volumes, annotations" {
	make_rootfs "$TEST_DIR/src"
	bimg import --workdir /tmp --label org.example=yes "$TEST_DIR/src" localhost/cfg:1 -- /bin/sh -c true >/dev/null
	run bimg unpack --entrypoint /bin/echo --volume /srv:/data:ro localhost/cfg:1 "$TEST_DIR/b" -- hello world
	[ "$status" -eq 0 ] || fail "$output"
	local c="$TEST_DIR/b/config.json"
	[ "$(jq -c .process.args "$c")" = '["/bin/echo","hello","world"]' ]
	[ "$(jq -r .process.cwd "$c")" = /tmp ]
	[ "$(jq -c '.mounts[] | select(.destination=="/data") | [.type,.source,.options]' "$c")" = '["bind","/srv",["rbind","ro"]]' ]
	[ "$(jq -r '.annotations["org.example"]' "$c")" = yes ]
	[ "$(jq -r '.annotations["org.opencontainers.image.os"]' "$c")" = linux ]
	run bimg unpack --rootless localhost/cfg:1 "$TEST_DIR/rl"
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '.linux.namespaces | map(.type) | index("user")' "$TEST_DIR/rl/config.json"
	run bimg unpack --volume relative:/x localhost/cfg:1 "$TEST_DIR/bad"
	[ "$status" -ne 0 ]
	[[ "$output" == *"host path must be absolute"* ]] || fail "$output"
}

@test "berth runs a container from an unpacked bundle" {
	make_rootfs "$TEST_DIR/src"
	bimg import --user user "$TEST_DIR/src" localhost/run:1 -- /bin/sh -c 'echo pid=$$; id -u; hostname' >/dev/null
	bimg unpack localhost/run:1 "$TEST_DIR/bundle"
	jq '.hostname = "unpacked"' "$TEST_DIR/bundle/config.json" >"$TEST_DIR/c" && mv "$TEST_DIR/c" "$TEST_DIR/bundle/config.json"
	run berth run --bundle "$TEST_DIR/bundle" ctr-unpack
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = pid=1 ] && [ "${lines[1]}" = 1000 ] && [ "${lines[2]}" = unpacked ] || fail "$output"
}
