# bench/lib/fixture.sh (sourced by bench/run): builds the image benchmark's fixture once and
# caches it under bench/work/ (git-ignored) as an OCI layout made by umoci, tag `bench`.
# Layers, in order: a debootstrapped Debian bookworm minbase; python3 (the host's
# /usr/lib/python3.11 and interpreter, because installing into the chroot needs apt inside
# it); 20,000 small files with a hardlink and a symlink; whiteouts of /usr/share/doc and
# /usr/share/man (made by umoci repack after removing them, so one layer holds both).

FIXTURE_VERSION=2

# fixture_base DIR: a Debian minbase tree, cached; falls back to a synthetic tree of files
# from this machine when debootstrap cannot fetch. Sets FIXTURE_BASE_KIND.
fixture_base() {
	local dir=$1
	if [ -f "$dir.done" ] && [ -d "$dir" ]; then
		FIXTURE_BASE_KIND=$(head -1 "$dir.done")
		return
	fi
	rm -rf "$dir" "$dir.tmp"
	if command -v debootstrap >/dev/null &&
		nice -n 5 debootstrap --variant=minbase bookworm "$dir.tmp" http://deb.debian.org/debian \
			>"$dir.log" 2>&1; then
		mv "$dir.tmp" "$dir"
		echo "debootstrap --variant=minbase bookworm (deb.debian.org), $(date -u +%F)" >"$dir.done"
	else
		bench_log "debootstrap failed (see $dir.log): using a synthetic tree of this machine's files"
		rm -rf "$dir.tmp"
		mkdir -p "$dir"/{usr/lib,usr/share,etc,var/lib,bin,sbin,tmp,root}
		# Roughly the size and file count of a minbase tree: libraries, docs, man pages, locale.
		cp -a /usr/lib/x86_64-linux-gnu "$dir/usr/lib/"
		cp -a /usr/share/doc /usr/share/man /usr/share/locale /usr/share/perl "$dir/usr/share/" 2>/dev/null || true
		cp -a /etc/. "$dir/etc/" 2>/dev/null || true
		cp -a /bin/bash /bin/busybox "$dir/bin/" 2>/dev/null || true
		echo "synthetic tree (copies of this machine's /usr/lib/x86_64-linux-gnu, /usr/share/{doc,man,locale,perl}, /etc): debootstrap could not fetch" >"$dir.done"
	fi
	FIXTURE_BASE_KIND=$(head -1 "$dir.done")
}

# fixture_small_files DIR: 20,000 small files (64..575 bytes) in 200 directories, plus one
# hardlink and one symlink, deterministic content.
fixture_small_files() {
	local dir=$1
	/usr/bin/python3 - "$dir" <<'EOF'
import os, sys, random
root = os.path.join(sys.argv[1], "srv", "small")
rng = random.Random(20000)
alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 \n"
for d in range(200):
    sub = os.path.join(root, f"d{d:03d}")
    os.makedirs(sub, exist_ok=True)
    for i in range(100):
        n = 64 + rng.randrange(512)
        with open(os.path.join(sub, f"f{i:03d}.txt"), "wb") as f:
            f.write(bytes(rng.choice(alphabet) for _ in range(n)))
os.link(os.path.join(root, "d000", "f000.txt"), os.path.join(root, "hardlink.txt"))
os.symlink("d000/f001.txt", os.path.join(root, "symlink.txt"))
EOF
}

# fixture_build DIR: makes DIR/oci (tag bench) unless already cached for this version.
# Sets FIXTURE_LAYOUT, FIXTURE_BASE_KIND and FIXTURE_NOTE.
fixture_build() {
	local work=$1
	local out="$work/fixture-v$FIXTURE_VERSION"
	mkdir -p "$work"
	fixture_base "$work/debian-bookworm-minbase"
	FIXTURE_LAYOUT="$out/oci"
	FIXTURE_NOTE="$out/NOTE"
	if [ -f "$out/done" ]; then
		return
	fi
	bench_log "building the image fixture in $out (once; cached) ..."
	rm -rf "$out"
	mkdir -p "$out/stage"
	local L="$out/oci" b="$out/stage/bundle"
	umoci init --layout "$L"
	umoci new --image "$L:bench"
	# Every layer comes from `umoci repack --refresh-bundle` of one bundle, never from
	# `umoci insert`: umoci 0.4.7's insert forgets to close the tar writer, so its layers lack
	# the end-of-archive blocks and GNU tar rejects them (umoci#436, fixed upstream in #534).
	nice -n 5 umoci unpack --image "$L:bench" "$b" >/dev/null
	# Layer 1: the Debian tree.
	cp -a "$work/debian-bookworm-minbase/." "$b/rootfs/"
	nice -n 5 umoci repack --refresh-bundle --image "$L:bench" "$b"
	# Layer 2: python3.
	cp -a /usr/lib/python3.11 "$b/rootfs/usr/lib/"
	cp -a /usr/bin/python3.11 "$b/rootfs/usr/bin/"
	ln -sfn python3.11 "$b/rootfs/usr/bin/python3"
	nice -n 5 umoci repack --refresh-bundle --image "$L:bench" "$b"
	# Layer 3: 20,000 small files with a hardlink and a symlink.
	fixture_small_files "$b/rootfs"
	nice -n 5 umoci repack --refresh-bundle --image "$L:bench" "$b"
	# Layer 4: whiteouts for /usr/share/doc and /usr/share/man.
	rm -rf "$b/rootfs/usr/share/doc" "$b/rootfs/usr/share/man"
	nice -n 5 umoci repack --refresh-bundle --image "$L:bench" "$b"
	umoci config --image "$L:bench" --config.cmd /bin/bash \
		--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	umoci gc --layout "$L"
	rm -rf "$out/stage"
	{
		echo "base: $FIXTURE_BASE_KIND"
		echo "python: host /usr/lib/python3.11 + /usr/bin/python3.11 (python3 $(/usr/bin/python3.11 -c 'import sys; print(sys.version.split()[0])'))"
		echo "built: $(date -u +%FT%TZ) with $(umoci --version)"
	} >"$FIXTURE_NOTE"
	touch "$out/done"
}

# fixture_layers LAYOUT TAG: prints the layer blob paths of LAYOUT:TAG in order.
fixture_layers() {
	local L=$1 tag=$2 mdigest
	mdigest=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$L/index.json")
	jq -r '.layers[].digest' "$L/blobs/sha256/${mdigest#sha256:}" | sed "s|^sha256:|$L/blobs/sha256/|"
}
