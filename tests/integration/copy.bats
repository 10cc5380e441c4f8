#!/usr/bin/env bats
# berth-image copy, save and load between skopeo's transports (docker://, oci:, oci-archive:,
# docker-archive:) and the store. Oracles: skopeo (the same copy gives the same digests; it
# reads what berth writes), podman (loads berth's docker-archive, writes one berth reads),
# umoci (unpacks berth's layouts; its unpack is the reference tree).

load helpers
load ../helpers/registry

DIGEST="$BERTH_SRC/tests/helpers/tree_digest.py"

setup() {
	requires umoci skopeo
	setup_common
	STORE="$TEST_DIR/store"
	export XDG_RUNTIME_DIR="$TEST_DIR/xdg" HOME="$TEST_DIR/home"
	mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
	unset REGISTRY_AUTH_FILE
	local w="$TEST_DIR/work"
	mkdir -p "$w"
	# Sizes in whole 512-byte blocks: Debian's umoci writes layer tars without the padding
	# after a file's last block, which berth's unpacker refuses (docs/transports.md).
	yes hello | head -c 512 >"$w/hello"
	head -c 204800 /dev/urandom >"$w/random"
	L="$TEST_DIR/layout"
	make_image "$L" src "$w/hello" "$w/random"
}

teardown() {
	stop_registries
	[ -z "${PODMAN_DIR:-}" ] || pm rmi -af >/dev/null 2>&1 || true
	teardown_common
}

tree() { python3 "$DIGEST" "$@"; }

# pm: podman with private storage under $PODMAN_DIR (the host's storage is untouched).
pm() {
	podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" --storage-driver vfs \
		--tmpdir "$PODMAN_DIR/tmp" --events-backend file "$@"
}

# raw_digest TRANSPORT:REF: sha256 of the manifest bytes skopeo reads there.
raw_digest() {
	skopeo inspect --raw --tls-verify=false "$1" | sha256sum | cut -d' ' -f1
}

# multi_image LAYOUT: an index "multi" in LAYOUT over an amd64 and an arm64 image (umoci
# images whose configs name the architecture), each with its own layer.
multi_image() {
	local l=$1 a m idx
	for a in amd64 arm64; do
		echo "$a" >"$TEST_DIR/work/arch"
		umoci new --image "$l:$a" >/dev/null
		umoci insert --image "$l:$a" "$TEST_DIR/work/arch" /arch >/dev/null
		umoci config --image "$l:$a" --architecture "$a" --os linux >/dev/null
	done
	idx=$(jq -c '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "amd64" or .annotations["org.opencontainers.image.ref.name"] == "arm64")
		| {mediaType, digest, size, platform: {architecture: .annotations["org.opencontainers.image.ref.name"], os: "linux"}}]}' "$l/index.json")
	m=$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
	printf '%s' "$idx" >"$l/blobs/sha256/$m"
	jq -c --arg d "sha256:$m" --argjson s "${#idx}" '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
		"$l/index.json" >"$l/index.json.new"
	mv "$l/index.json.new" "$l/index.json"
	ARM_DIGEST=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "arm64") | .digest' "$l/index.json")
	INDEX_DIGEST=sha256:$m
}

@test "copy oci <-> oci-archive keeps the manifest bytes; skopeo reads it, umoci unpacks it" {
	run bimg copy "oci:$L:src" "oci:$TEST_DIR/out:v1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg copy "oci:$TEST_DIR/out:v1" "oci-archive:$TEST_DIR/a.tar:v2"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg copy "oci-archive:$TEST_DIR/a.tar:v2" "oci:$TEST_DIR/back"
	[ "$status" -eq 0 ] || fail "$output"
	skopeo copy -q "oci:$L:src" "oci-archive:$TEST_DIR/s.tar:v2"
	local want
	want=$(raw_digest "oci:$L:src")
	[ "$(raw_digest "oci:$TEST_DIR/out:v1")" = "$want" ]
	[ "$(raw_digest "oci-archive:$TEST_DIR/a.tar:v2")" = "$want" ]
	[ "$(raw_digest "oci-archive:$TEST_DIR/s.tar:v2")" = "$want" ]
	[ "$(jq -r '.manifests[0].digest' "$TEST_DIR/back/index.json")" = "sha256:$want" ]
	# berth reads skopeo's archive to the same digest.
	run bimg copy "oci-archive:$TEST_DIR/s.tar:v2" "oci:$TEST_DIR/from-skopeo:x"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci:$TEST_DIR/from-skopeo:x")" = "$want" ]
	umoci unpack --rootless --image "$TEST_DIR/out:v1" "$TEST_DIR/bundle" >/dev/null
	cmp "$TEST_DIR/bundle/rootfs/random" "$TEST_DIR/work/random"
	# The staging directory is gone.
	[ -z "$(ls -A "$STORE/.berth/tmp")" ]
}

@test "copy to and from a registry gives skopeo's digests; --all and --platform on an index" {
	requires registry
	start_registry plain
	multi_image "$L"
	run bimg copy "oci:$L:src" "docker://$REG/t/app:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "docker://$REG/t/app:1")" = "$(raw_digest "oci:$L:src")" ]
	skopeo copy -q --src-tls-verify=false "docker://$REG/t/app:1" "oci:$TEST_DIR/sk:x"
	run bimg copy "docker://$REG/t/app:1" "oci:$TEST_DIR/bi:x"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci:$TEST_DIR/bi:x")" = "$(raw_digest "oci:$TEST_DIR/sk:x")" ]
	# Into the store by registry name, and out again to another repository.
	run bimg copy "docker://$REG/t/app:1" "berth:localhost/app:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg copy localhost/app:1 "docker://$REG/t/other:2"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "docker://$REG/t/other:2")" = "$(raw_digest "oci:$L:src")" ]

	# A registry serving corrupt blob bytes: one line naming the blob, no destination.
	start_proxy --corrupt-blobs
	run bimg copy "docker://$PROXY/t/app:1" "oci:$TEST_DIR/bad:x"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ $output == *"blob sha256:"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/bad" ]
	[ -z "$(ls -A "$STORE/.berth/tmp")" ]

	# The whole index with --all: skopeo sees the same index digest.
	run bimg copy --all "oci:$L:multi" "docker://$REG/t/multi:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "sha256:$(raw_digest "docker://$REG/t/multi:1")" = "$INDEX_DIGEST" ]
	skopeo copy -q --all --src-tls-verify=false "docker://$REG/t/multi:1" "oci:$TEST_DIR/skm:x"
	run bimg copy --all "docker://$REG/t/multi:1" "oci:$TEST_DIR/bim:x"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci:$TEST_DIR/bim:x")" = "$(raw_digest "oci:$TEST_DIR/skm:x")" ]
	# One platform: the arm64 manifest, as skopeo --override-arch picks it.
	run bimg copy --platform linux/arm64 "docker://$REG/t/multi:1" "oci-archive:$TEST_DIR/arm.tar"
	[ "$status" -eq 0 ] || fail "$output"
	[ "sha256:$(raw_digest "oci-archive:$TEST_DIR/arm.tar")" = "$ARM_DIGEST" ]
	skopeo copy -q --override-arch arm64 --src-tls-verify=false "docker://$REG/t/multi:1" "oci:$TEST_DIR/ska:x"
	[ "sha256:$(raw_digest "oci:$TEST_DIR/ska:x")" = "$ARM_DIGEST" ]
}

@test "copy between two registries with --src-creds and --dest-creds (htpasswd)" {
	requires registry
	start_registry plain
	local open=$REG
	push "$L:src" t/app:1
	start_registry htpasswd
	run bimg copy "docker://$open/t/app:1" "docker://$REG/t/app:1"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	run bimg copy --dest-creds testuser:testpass "docker://$open/t/app:1" "docker://$REG/t/app:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg copy --src-creds testuser:testpass "docker://$REG/t/app:1" "oci:$TEST_DIR/o:x"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci:$TEST_DIR/o:x")" = "$(raw_digest "oci:$L:src")" ]
}

@test "docker-archive: podman loads what berth writes; berth reads podman save, unpacks as umoci" {
	requires podman
	PODMAN_DIR="$TEST_DIR/podman"
	mkdir -p "$PODMAN_DIR/tmp"
	run bimg copy "oci:$L:src" "docker-archive:$TEST_DIR/d.tar:localhost/test:1"
	[ "$status" -eq 0 ] || fail "$output"
	tar -tf "$TEST_DIR/d.tar" | grep -qx manifest.json
	tar -tf "$TEST_DIR/d.tar" | grep -qx repositories
	run pm load -i "$TEST_DIR/d.tar"
	[ "$status" -eq 0 ] || fail "$output"
	# podman's image ID is the config digest, which the archive keeps.
	local cfg
	cfg=$(skopeo inspect --raw "oci:$L:src" | jq -r .config.digest)
	[ "sha256:$(pm image inspect --format '{{.Id}}' localhost/test:1)" = "$cfg" ]
	pm save --format docker-archive -o "$TEST_DIR/p.tar" localhost/test:1
	run bimg load "$TEST_DIR/p.tar"
	[ "$status" -eq 0 ] || fail "$output"
	# The manifest is rebuilt, and said so once.
	[ "$(grep -c 'carries no registry manifest' <<<"$output")" = 1 ]
	run bimg inspect localhost/test:1
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack localhost/test:1 "$TEST_DIR/berth"
	[ "$status" -eq 0 ] || fail "$output"
	umoci unpack --image "$L:src" "$TEST_DIR/umoci" >/dev/null
	diff <(tree "$TEST_DIR/umoci/rootfs") <(tree "$TEST_DIR/berth/rootfs")
	# podman loads berth's oci-archive too, under the name it records.
	run bimg copy "oci:$L:src" "oci-archive:$TEST_DIR/o.tar:localhost/oa:1"
	[ "$status" -eq 0 ] || fail "$output"
	run pm load -i "$TEST_DIR/o.tar"
	[ "$status" -eq 0 ] || fail "$output"
	[ "sha256:$(pm image inspect --format '{{.Id}}' localhost/oa:1)" = "$cfg" ]
	# Several images and tags in one archive (podman save -m): each tag becomes a name.
	pm tag localhost/test:1 localhost/other:2
	pm save -m --format docker-archive -o "$TEST_DIR/multi.tar" localhost/test:1 localhost/other:2
	run "$BERTH_IMAGE" --store "$TEST_DIR/store2" load "$TEST_DIR/multi.tar"
	[ "$status" -eq 0 ] || fail "$output"
	run "$BERTH_IMAGE" --store "$TEST_DIR/store2" images --format json
	[[ $output == *localhost/test* && $output == *localhost/other* ]] || fail "$output"
	# skopeo reads berth's docker-archive as well.
	run skopeo inspect --raw "docker-archive:$TEST_DIR/d.tar"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "save and load: both formats round-trip through the store" {
	skopeo copy -q "oci:$L:src" "oci:$STORE:localhost/s:1"
	run bimg save localhost/s:1 "$TEST_DIR/o.tar"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci-archive:$TEST_DIR/o.tar")" = "$(raw_digest "oci:$L:src")" ]
	run bimg save --format docker-archive localhost/s:1 "$TEST_DIR/d.tar"
	[ "$status" -eq 0 ] || fail "$output"
	bimg rm localhost/s:1
	run bimg load "$TEST_DIR/o.tar"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(raw_digest "oci:$STORE:localhost/s:1")" = "$(raw_digest "oci:$L:src")" ]
	run bimg load "$TEST_DIR/d.tar" localhost/d:2
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack localhost/d:2 "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	cmp "$TEST_DIR/b/rootfs/random" "$TEST_DIR/work/random"
}

@test "docker-archive with a linked layer (docker save 20.10) and a gzip layer loads" {
	run bimg copy "oci:$L:src" "docker-archive:$TEST_DIR/d.tar:localhost/x:1"
	[ "$status" -eq 0 ] || fail "$output"
	local x="$TEST_DIR/x" l0 l1
	mkdir "$x" && tar -xf "$TEST_DIR/d.tar" -C "$x"
	l0=$(jq -r '.[0].Layers[0]' "$x/manifest.json")
	l1=$(jq -r '.[0].Layers[1]' "$x/manifest.json")
	mkdir "$x/alias" && ln -s "../$l0" "$x/alias/layer.tar"
	gzip -c "$x/$l1" >"$x/l1.tar.gz" && rm "$x/$l1"
	jq -c '.[0].Layers = ["alias/layer.tar", "l1.tar.gz"]' "$x/manifest.json" >"$TEST_DIR/m.json"
	mv "$TEST_DIR/m.json" "$x/manifest.json"
	tar -cf "$TEST_DIR/old.tar" -C "$x" .
	run bimg load "$TEST_DIR/old.tar"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg unpack localhost/x:1 "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	cmp "$TEST_DIR/b/rootfs/random" "$TEST_DIR/work/random"
	cmp "$TEST_DIR/b/rootfs/hello" "$TEST_DIR/work/hello"
}

@test "bad input: truncated archive, missing layer, wrong blob digest: one line, nothing left" {
	run bimg copy "oci:$L:src" "oci-archive:$TEST_DIR/a.tar"
	[ "$status" -eq 0 ] || fail "$output"
	head -c 150000 "$TEST_DIR/a.tar" >"$TEST_DIR/cut.tar"
	run bimg copy "oci-archive:$TEST_DIR/cut.tar" "oci:$TEST_DIR/d1:x"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ $output == *cut.tar* ]] || fail "$output"
	[ ! -e "$TEST_DIR/d1" ]

	# manifest.json naming a layer the archive does not hold.
	run bimg copy "oci:$L:src" "docker-archive:$TEST_DIR/d.tar:localhost/x:1"
	[ "$status" -eq 0 ] || fail "$output"
	mkdir "$TEST_DIR/x" && tar -xf "$TEST_DIR/d.tar" -C "$TEST_DIR/x"
	jq -c '.[0].Layers[1] = "nothere/layer.tar"' "$TEST_DIR/x/manifest.json" >"$TEST_DIR/m.json"
	mv "$TEST_DIR/m.json" "$TEST_DIR/x/manifest.json"
	tar -cf "$TEST_DIR/bad.tar" -C "$TEST_DIR/x" .
	run bimg load "$TEST_DIR/bad.tar"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ $output == *"Layers[1]: 'nothere/layer.tar' is not in the archive"* ]] || fail "$output"
	run bimg images -q
	[ -z "$output" ] || fail "store holds: $output"
	[ -z "$(ls -A "$STORE/.berth/tmp")" ]

	# A layout blob whose bytes do not match its digest.
	local layer
	layer=$(skopeo inspect --raw "oci:$L:src" | jq -r '.layers[1].digest' | cut -d: -f2)
	chmod u+w "$L/blobs/sha256/$layer"
	printf 'x' | dd of="$L/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc 2>/dev/null
	for dst in "oci:$TEST_DIR/d2:x" "oci-archive:$TEST_DIR/d2.tar" "docker-archive:$TEST_DIR/d3.tar" berth:localhost/bad:1; do
		run bimg copy "oci:$L:src" "$dst"
		[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$dst: $output"
		[[ $output == *"blob sha256:$layer: content has digest"* ]] || fail "$dst: $output"
	done
	[ ! -e "$TEST_DIR/d2" ] && [ ! -e "$TEST_DIR/d2.tar" ] && [ ! -e "$TEST_DIR/d3.tar" ]
	[ -z "$(ls -A "$TEST_DIR" | grep berth-archive)" ]
	run bimg images -q
	[ -z "$output" ] || fail "store holds: $output"
}

@test "copy: bad transport names and --all with docker-archive are refused" {
	run bimg copy "dir:$TEST_DIR/x" "oci:$TEST_DIR/y"
	[ "$status" -eq 1 ] && [[ $output == *"transport 'dir' is not supported"* ]] || fail "$output"
	run bimg copy "oci:" "oci:$TEST_DIR/y"
	[ "$status" -eq 1 ] && [[ $output == *"no path"* ]] || fail "$output"
	multi_image "$L"
	run bimg copy --all "oci:$L:multi" "docker-archive:$TEST_DIR/m.tar"
	[ "$status" -eq 1 ] && [[ $output == *"not --all"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/m.tar" ]
	run bimg copy "oci:$L:nope" "oci:$TEST_DIR/y"
	[ "$status" -eq 1 ] && [[ $output == *"no image named 'nope'"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/y" ]
}
