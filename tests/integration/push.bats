#!/usr/bin/env bats
# berth-image push: to Debian's docker-registry on loopback, checked by skopeo (inspect, copy
# back) and podman (pull and run), with auth, cross-repository mounts, chunked uploads and
# faults injected by fault_proxy.py (cut uploads, 429/503, lying HEAD answers).

load helpers
load ../helpers/registry

setup() {
	requires registry umoci skopeo
	setup_common
	STORE="$TEST_DIR/store"
	export XDG_RUNTIME_DIR="$TEST_DIR/xdg" HOME="$TEST_DIR/home"
	mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
	unset REGISTRY_AUTH_FILE
}

teardown() {
	stop_registries
	[ -z "${PODMAN_DIR:-}" ] || podman_cleanup
	teardown_common
}

# pm: podman with private storage under $PODMAN_DIR and berth as the runtime.
pm() {
	podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" --storage-driver vfs \
		--tmpdir "$PODMAN_DIR/tmp" --runtime "$BERTH" --cgroup-manager cgroupfs \
		--events-backend file "$@"
}

podman_cleanup() {
	local m d
	pm ps -aq 2>/dev/null | while read -r id; do pm rm -f -t 0 "$id" >/dev/null 2>&1 || true; done
	pm rmi -af >/dev/null 2>&1 || true
	findmnt -rn -o TARGET | grep "^$PODMAN_DIR/" | sort -r | while read -r m; do umount -l "$m" || true; done
	# podman's cgroupfs parent, when nothing else uses it any more (rmdir fails otherwise).
	for d in /sys/fs/cgroup/*/libpod_parent/conmon /sys/fs/cgroup/*/libpod_parent; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
}

# local_image NAME SIZE: a two-layer image made by umoci (a small file and SIZE random bytes),
# copied into the store by skopeo under NAME (the store is an OCI layout).
local_image() {
	local w="$TEST_DIR/work-$RANDOM"
	mkdir -p "$w"
	echo "hello from $1" >"$w/hello"
	head -c "$2" /dev/urandom >"$w/random"
	make_image "$TEST_DIR/layout" src "$w/hello" "$w/random"
	bimg images >/dev/null # creates the store
	skopeo copy -q "oci:$TEST_DIR/layout:src" "oci:$STORE:$1"
}

# registry_manifest REPO:TAG: the manifest bytes the registry serves.
registry_manifest() {
	skopeo inspect --raw --tls-verify=false "docker://$REG/$1"
}

# registry_blobs: the blobs the registry's storage holds.
registry_blobs() {
	find "$REG_DIR/data/docker/registry/v2/blobs" -name data -type f 2>/dev/null |
		sed 's|.*/\([0-9a-f]\{64\}\)/data|sha256:\1|' | sort
}

# no_dangling REPO: every blob the repository's manifests name is in the registry.
no_dangling() {
	local repo=$1 d m
	for m in "$REG_DIR"/data/docker/registry/v2/repositories/$repo/_manifests/revisions/sha256/*; do
		[ -d "$m" ] || continue
		d=sha256:$(basename "$m")
		skopeo inspect --raw --tls-verify=false "docker://$REG/$repo@$d" |
			jq -r '.config.digest, .layers[].digest' | while read -r b; do
			registry_blobs | grep -qx "$b" || fail "manifest $d names missing blob $b"
		done
	done
}

@test "push: skopeo inspects the same digest and copies back identical bytes" {
	start_registry plain
	local_image "$REG/test/app:1" 300000
	want=$(jq -r '.manifests[0].digest' "$TEST_DIR/layout/index.json")
	run bimg push --digestfile "$TEST_DIR/digest" "$REG/test/app:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$TEST_DIR/digest")" = "$want" ]
	[ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/test/app:1")" = "$want" ]
	# The manifest and every blob round-trip byte for byte.
	skopeo copy -q --src-tls-verify=false "docker://$REG/test/app:1" "oci:$TEST_DIR/back:1"
	[ "$(jq -r '.manifests[0].digest' "$TEST_DIR/back/index.json")" = "$want" ]
	for f in "$TEST_DIR"/layout/blobs/sha256/*; do
		cmp "$f" "$TEST_DIR/back/blobs/sha256/$(basename "$f")" 2>/dev/null ||
			[ ! -e "$TEST_DIR/back/blobs/sha256/$(basename "$f")" ] || fail "blob $f differs"
	done
	registry_manifest test/app:1 | cmp - "$TEST_DIR/layout/blobs/sha256/${want#sha256:}"
}

@test "push: a second push sends no blob (HEAD), another repository mounts them" {
	start_registry plain
	start_proxy
	local_image "$PROXY/test/a:1" 200000
	bimg push -q "$PROXY/test/a:1"
	uploads() { grep -c -E '^(POST|PATCH|PUT) .*/blobs/uploads/' "$PROXY_LOG" || true; }
	n=$(uploads)
	[ "$n" -ge 2 ]
	run bimg push "$PROXY/test/a:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(uploads)" -eq "$n" ]
	[[ "$output" == *"Layer already exists"* ]] || fail "$output"
	# Same registry, another repository: mounted, not sent.
	: >"$PROXY_LOG"
	run bimg push "$PROXY/test/a:1" "docker://$PROXY/other/b:2"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'POST .*/other/b/blobs/uploads/?mount=sha256%3A.*&from=test%2Fa.* status=201' "$PROXY_LOG" ||
		fail "$(cat "$PROXY_LOG")"
	! grep -qE '^(PATCH|PUT) .*/blobs/uploads/' "$PROXY_LOG" || fail "$(cat "$PROXY_LOG")"
	[ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/other/b:2")" = \
		"$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/test/a:1")" ]
}

@test "copy to a registry: layouts read in place, blobs mounted where the store or source has them" {
	start_registry plain
	start_proxy
	local_image "$PROXY/test/a:1" 200000
	bimg push -q "$PROXY/test/a:1"
	want=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/test/a:1")
	uploads() { grep -E '^(PATCH|PUT) .*/blobs/uploads/' "$PROXY_LOG" || true; }
	# From the layout skopeo made: the store's name for the same image (on this registry)
	# says where the blobs are, so they are mounted, not sent; nothing is staged.
	: >"$PROXY_LOG"
	run bimg copy "oci:$TEST_DIR/layout:src" "docker://$PROXY/other/c:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'POST .*/other/c/blobs/uploads/?mount=sha256%3A.*&from=test%2Fa.* status=201' "$PROXY_LOG" ||
		fail "$(cat "$PROXY_LOG")"
	[ -z "$(uploads)" ] || fail "$(cat "$PROXY_LOG")"
	[ -z "$(ls -A "$STORE/.berth/tmp")" ]
	# Between two repositories of one registry: the manifest is read, the blobs are mounted
	# from the source repository and never downloaded.
	: >"$PROXY_LOG"
	run bimg copy "docker://$PROXY/test/a:1" "docker://$PROXY/third/d:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'POST .*/third/d/blobs/uploads/?mount=.*&from=test%2Fa.* status=201' "$PROXY_LOG" ||
		fail "$(cat "$PROXY_LOG")"
	! grep -qE '^GET .*/blobs/sha256' "$PROXY_LOG" || fail "$(cat "$PROXY_LOG")"
	[ -z "$(uploads)" ] || fail "$(cat "$PROXY_LOG")"
	for r in other/c:1 third/d:1; do
		[ "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/$r")" = "$want" ]
	done
	no_dangling other/c
	no_dangling third/d
	# A layout blob whose bytes do not match its digest (and that nothing can mount): one
	# line naming it, and no manifest on the registry.
	bimg rm "$PROXY/test/a:1" >/dev/null
	local layer
	layer=$(skopeo inspect --raw "oci:$TEST_DIR/layout:src" | jq -r '.layers[1].digest' | cut -d: -f2)
	chmod u+w "$TEST_DIR/layout/blobs/sha256/$layer"
	printf 'x' | dd of="$TEST_DIR/layout/blobs/sha256/$layer" bs=1 seek=1000 conv=notrunc 2>/dev/null
	run bimg copy "oci:$TEST_DIR/layout:src" "docker://$REG/bad/e:1"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] || fail "$output"
	[[ $output == *"blob sha256:$layer: content has digest"* ]] || fail "$output"
	run skopeo inspect --tls-verify=false "docker://$REG/bad/e:1"
	[ "$status" -ne 0 ]
}

@test "push: a multi-layer push keeps its connections alive" {
	start_registry plain
	start_proxy
	w="$TEST_DIR/w"
	mkdir -p "$w"
	for i in 1 2 3 4 5 6; do head -c 20000 /dev/urandom >"$w/f$i"; done
	make_image "$TEST_DIR/layout" src "$w"/f[1-6]
	bimg images >/dev/null
	skopeo copy -q "oci:$TEST_DIR/layout:src" "oci:$STORE:$PROXY/test/ka:1"
	run bimg push -q "$PROXY/test/ka:1"
	[ "$status" -eq 0 ] || fail "$output"
	reqs=$(grep -c . "$PROXY_LOG")
	conns=$(grep -o 'conn=[0-9]*' "$PROXY_LOG" | sort -u | wc -l)
	# 7 blobs, each a HEAD, a POST and a PUT, and the manifest: at most one connection per
	# upload thread (4) and the main one.
	[ "$reqs" -ge 22 ] || fail "$(cat "$PROXY_LOG")"
	[ "$conns" -le 5 ] || fail "$conns connections for $reqs requests: $(cat "$PROXY_LOG")"
	# One ping for the push, not one per upload thread.
	[ "$(grep -c '^GET /v2/ ' "$PROXY_LOG")" -eq 1 ] || fail "$(cat "$PROXY_LOG")"
	[ "$(skopeo inspect --tls-verify=false --format '{{len .Layers}}' "docker://$REG/test/ka:1")" -eq 6 ]
}

@test "push: large blobs go in PATCH chunks; a cut chunk is resumed or restarted" {
	start_registry plain
	start_proxy --cut-upload 2
	local_image "$PROXY/test/big:1" 3000000
	want=$(jq -r '.manifests[0].digest' "$TEST_DIR/layout/index.json")
	run bimg push --chunk-size 1048576 "$PROXY/test/big:1"
	[ "$status" -eq 0 ] || fail "$output $(cat "$PROXY_LOG")"
	grep -q '^PATCH .* status=202' "$PROXY_LOG" || fail "$(cat "$PROXY_LOG")"
	[ "$(grep -c ' status=cut' "$PROXY_LOG")" -eq 2 ]
	# After a cut the client asked the session where it stands.
	grep -q '^GET .*/blobs/uploads/' "$PROXY_LOG" || fail "$(cat "$PROXY_LOG")"
	skopeo copy -q --src-tls-verify=false "docker://$REG/test/big:1" "oci:$TEST_DIR/back:1"
	[ "$(jq -r '.manifests[0].digest' "$TEST_DIR/back/index.json")" = "$want" ]
	no_dangling test/big
}

@test "push: 429 and 503 answers are retried; a lying HEAD does not leave a manifest dangling" {
	start_registry plain
	start_proxy --fail 3 --status 503
	local_image "$PROXY/test/r:1" 100000
	run bimg push -q "$PROXY/test/r:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c 'status=503' "$PROXY_LOG")" -eq 3 ]
	stop_registries
	start_registry plain
	for f in "$STORE"/blobs/sha256/*; do echo "sha256:$(basename "$f") $(stat -c %s "$f")"; done >"$TEST_DIR/sizes"
	start_proxy --lie-head "$TEST_DIR/sizes"
	bimg tag "$(jq -r '.manifests[0].digest' "$TEST_DIR/layout/index.json")" "$PROXY/test/lie:1"
	run bimg push "$PROXY/test/lie:1"
	[ "$status" -eq 0 ] || fail "$output $(cat "$PROXY_LOG")"
	grep -q 'status=200-lie' "$PROXY_LOG"
	no_dangling test/lie
	skopeo inspect --tls-verify=false "docker://$REG/test/lie:1" >/dev/null
}

@test "push: refusals are one line naming the image, blob or manifest; nothing is tagged" {
	start_registry htpasswd
	local_image "$REG/test/auth:1" 1000
	run bimg push "$REG/test/missing:1"
	[ "$status" -ne 0 ]
	[ "${lines[-1]}" = "berth-image: push '$REG/test/missing:1': image not known" ] || fail "$output"
	run bimg push "$REG/test/auth:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == "berth-image: push '$REG/test/auth:1': blob sha256:"*": authentication required" ]] || fail "$output"
	run bimg push --creds testuser:wrong "$REG/test/auth:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"blob sha256:"*"unauthorized"* ]] || fail "$output"
	run skopeo inspect --tls-verify=false --creds testuser:testpass "docker://$REG/test/auth:1"
	[ "$status" -ne 0 ]
	run bimg push --creds testuser:testpass "$REG/test/auth:1"
	[ "$status" -eq 0 ] || fail "$output"
	skopeo inspect --tls-verify=false --creds testuser:testpass "docker://$REG/test/auth:1" >/dev/null
}

@test "push: 413, 415 and 403 answers name the blob or manifest; no tag is left" {
	start_registry plain
	start_proxy --refuse-uploads 413
	local_image "$PROXY/test/q:1" 1000
	Q="$PROXY/test/q:1"
	run bimg push "$Q"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == "berth-image: push '$PROXY/test/q:1': blob sha256:"*": SIZE_INVALID" ]] || fail "$output"
	start_proxy --refuse-manifests 415
	bimg tag "$Q" "$PROXY/test/m:1"
	m=$(jq -r '.manifests[0].digest' "$TEST_DIR/layout/index.json")
	run bimg push "$PROXY/test/m:1"
	[ "$status" -eq 1 ]
	[ "${lines[-1]}" = "berth-image: push '$PROXY/test/m:1': manifest $m: MANIFEST_INVALID" ] || fail "$output"
	# The blobs went up, the tag did not.
	run skopeo inspect --tls-verify=false "docker://$REG/test/m:1"
	[ "$status" -ne 0 ]
	start_proxy --refuse-uploads 403
	bimg tag "$Q" "$PROXY/test/d:1"
	run bimg push "$PROXY/test/d:1"
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *": blob sha256:"*": DENIED" ]] || fail "$output"
}

@test "push: token auth asks for pull,push; TLS with certs.d" {
	start_registry token
	local_image "$REG/test/tok:1" 1000
	run bimg push --creds testuser:testpass "$REG/test/tok:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q "user=testuser scopes=.*'repository:test/tok:pull,push'" "$TOKEN_DIR/requests.log" ||
		fail "$(cat "$TOKEN_DIR/requests.log")"
	stop_registries
	start_registry tls
	mkdir -p "$TEST_DIR/certs.d/$REG"
	cp "$REG_DIR/ca/ca.crt" "$TEST_DIR/certs.d/$REG/"
	bimg tag "$(jq -r '.manifests[0].digest' "$STORE/index.json")" "$REG/test/tls:1"
	run bimg push "$REG/test/tls:1"
	[ "$status" -ne 0 ] # unknown CA
	BERTH_CERTS_D="$TEST_DIR/certs.d" run bimg push "$REG/test/tls:1"
	[ "$status" -eq 0 ] || fail "$output"
	skopeo inspect --cert-dir "$TEST_DIR/certs.d/$REG" "docker://$REG/test/tls:1" >/dev/null
}

@test "push: podman pulls what berth-image pushed and runs it" {
	requires podman root
	start_registry plain
	make_rootfs "$TEST_DIR/rootfs"
	bimg import "$TEST_DIR/rootfs" "$REG/test/busybox:1" >/dev/null
	bimg push -q "$REG/test/busybox:1"
	PODMAN_DIR="$TEST_DIR/podman"
	mkdir -p "$PODMAN_DIR"
	pm pull -q --tls-verify=false "$REG/test/busybox:1" >/dev/null
	run pm run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
		"$REG/test/busybox:1" /bin/sh -c 'echo pushed-ok; cat /etc/passwd | head -1'
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = pushed-ok ] || fail "$output"
}
