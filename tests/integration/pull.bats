#!/usr/bin/env bats
# berth-image pull: manifest kinds made by skopeo and umoci (multi-platform index, Docker
# schema2, zstd layers), the store commands, and failures injected by fault_proxy.py.

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
	teardown_common
}

# blob_count: files in the store's blobs/sha256.
blob_count() { find "$STORE/blobs/sha256" -type f | wc -l; }
partials() { find "$STORE/.berth/tmp" -name 'partial-*' -size +0 | wc -l; }
# blobs_intact: every stored blob hashes to its name.
blobs_intact() {
	local f
	for f in "$STORE"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "blob $f is corrupt"
	done
}

@test "invalid references are refused before any request" {
	start_registry plain
	start_proxy
	for bad in "$PROXY/Bad/Name" "$PROXY/x:bad!tag" "$PROXY/x@sha256:1234" "$PROXY/a//b"; do
		run bimg pull "$bad"
		[ "$status" -ne 0 ]
		[[ "${lines[-1]}" == "berth-image: pull '$bad': invalid reference"* ]] || fail "$output"
	done
	[ ! -s "$PROXY_LOG" ]
	run bimg pull "$REG/test/none:1"
	[ "$status" -ne 0 ]
	[ "${lines[-1]}" = "berth-image: pull '$REG/test/none:1': manifest unknown" ] || fail "$output"
}

@test "multi-platform index: host platform by default, --platform picks another" {
	start_registry plain
	L="$TEST_DIR/multi"
	echo amd >"$TEST_DIR/a" && echo arm >"$TEST_DIR/b"
	make_image "$L" amd "$TEST_DIR/a"
	umoci config --image "$L:amd" --architecture amd64 >/dev/null
	make_image "$L" arm "$TEST_DIR/b"
	umoci config --image "$L:arm" --architecture arm64 >/dev/null
	desc() { jq -c --arg n "$1" --arg a "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$n) | del(.annotations) | .platform={os:"linux",architecture:$a}' "$L/index.json"; }
	idx=$(jq -cn --argjson a "$(desc amd amd64)" --argjson b "$(desc arm arm64)" \
		'{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:[$a,$b]}')
	printf '%s' "$idx" >"$TEST_DIR/idx.json"
	sum=$(sha256sum "$TEST_DIR/idx.json" | cut -d' ' -f1)
	cp "$TEST_DIR/idx.json" "$L/blobs/sha256/$sum"
	jq --arg d "sha256:$sum" --argjson s "$(stat -c %s "$TEST_DIR/idx.json")" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,annotations:{"org.opencontainers.image.ref.name":"multi"}}]' \
		"$L/index.json" >"$L/index.new" && mv "$L/index.new" "$L/index.json"
	skopeo copy -q --all --dest-tls-verify=false "oci:$L:multi" "docker://$REG/test/multi:1"

	run bimg pull -q "$REG/test/multi:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "sha256:$sum" ]
	run bimg inspect "$REG/test/multi:1"
	[ "$(echo "$output" | jq -r .Config.architecture)" = "$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')" ]
	run bimg pull --platform linux/arm64 "$REG/test/multi:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg inspect --platform linux/arm64 "$REG/test/multi:1"
	[ "$(echo "$output" | jq -r .Config.architecture)" = arm64 ]
	run bimg pull --platform linux/s390x "$REG/test/multi:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"no manifest for platform linux/s390x (index has linux/amd64, linux/arm64)"* ]] || fail "$output"
	run bimg pull --platform linux "$REG/test/multi:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"invalid platform 'linux'"* ]]
}

@test "Docker schema2 image (skopeo --format v2s2) and a zstd layer" {
	start_registry plain
	head -c 50000 /dev/urandom >"$TEST_DIR/r"
	make_image "$TEST_DIR/l" t "$TEST_DIR/r"
	push "$TEST_DIR/l:t" test/docker:1 --format v2s2
	run bimg pull "$REG/test/docker:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg inspect --raw "$REG/test/docker:1"
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.docker.distribution.manifest.v2+json ]
	[ "$(echo "$output" | jq -r .layers[0].mediaType)" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
	[ "$(jq -r '.manifests[0].mediaType' "$STORE/index.json")" = application/vnd.docker.distribution.manifest.v2+json ]

	# A layer the registry has never seen, or skopeo reuses the gzip blob it already pushed.
	head -c 50000 /dev/urandom >"$TEST_DIR/z"
	make_image "$TEST_DIR/l" z "$TEST_DIR/z"
	push "$TEST_DIR/l:z" test/zstd:1 --dest-compress --dest-compress-format zstd
	run bimg pull "$REG/test/zstd:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg inspect --raw "$REG/test/zstd:1"
	[ "$(echo "$output" | jq -r .layers[0].mediaType)" = application/vnd.oci.image.layer.v1.tar+zstd ]
}

@test "images, inspect, tag, rm, gc" {
	start_registry plain
	simple_image test/cmds:1
	bimg pull -q "$REG/test/cmds:1" >/dev/null
	run bimg images --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].repository')" = "$REG/test/cmds" ]
	[ "$(echo "$output" | jq -r '.[0].tag')" = 1 ]
	run bimg images --digests
	[[ "$output" == *DIGEST* ]]
	run bimg inspect "$REG/test/cmds:1"
	[ "$(echo "$output" | jq -r '.Config.config.Cmd[0]')" = /bin/sh ]
	[ "$(echo "$output" | jq -r '.Manifest.layers | length')" -eq 2 ]
	digest=$(echo "$output" | jq -r .Digest)
	bimg inspect --raw "${digest#sha256:}" >"$TEST_DIR/raw"
	[ "$(sha256sum <"$TEST_DIR/raw" | cut -d' ' -f1)" = "${digest#sha256:}" ]
	run bimg tag "$REG/test/cmds:1" localhost/renamed
	[ "$status" -eq 0 ]
	run bimg inspect renamed 2>/dev/null || true
	run bimg inspect localhost/renamed:latest
	[ "$status" -eq 0 ]
	[ "$(umoci ls --layout "$STORE" | sort | tr '\n' ' ')" = "$REG/test/cmds:1 localhost/renamed:latest " ]
	run bimg tag nothing:1 x:2
	[ "$status" -ne 0 ]
	[ "$output" = "berth-image: tag 'nothing:1': image not known" ]
	run bimg rm "$REG/test/cmds:1"
	[ "$status" -eq 0 ]
	run bimg gc
	[ "$status" -eq 0 ]
	[[ "$output" == "removed 0 blobs"* ]]
	run bimg rm localhost/renamed
	[ "$status" -eq 0 ]
	run bimg rm localhost/renamed
	[ "$status" -ne 0 ]
	[ "$output" = "berth-image: rm 'localhost/renamed': image not known" ]
	run bimg gc
	[[ "$output" == "removed 4 blobs"* ]] || fail "$output"
	[ "$(blob_count)" -eq 0 ]
}

@test "a blob with the wrong content is refused and leaves nothing behind" {
	start_registry plain
	simple_image test/bad:1
	start_proxy --corrupt-blobs
	run bimg pull "$PROXY/test/bad:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == "berth-image: pull '$PROXY/test/bad:1': blob sha256:"*"digest mismatch"* ]] || fail "$output"
	[ "$(blob_count)" -eq 0 ]
	[ "$(partials)" -eq 0 ]
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
}

@test "a truncated blob fails after retries, keeps a partial, and the next pull resumes it" {
	start_registry plain
	simple_image test/trunc:1
	start_proxy --truncate-blobs
	run bimg pull "$PROXY/test/trunc:1"
	[ "$status" -ne 0 ]
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
	# The config comes first and is the only blob asked for: 5 attempts (the default), each
	# after the first a Range from further on than the last, since every cut keeps its bytes.
	get=$(grep -o '^GET /v2/test/trunc/blobs/sha256:[0-9a-f]*' "$PROXY_LOG" | sort -u)
	[ "$(echo "$get" | wc -l)" -eq 1 ] || fail "$(cat "$PROXY_LOG")"
	[ "$(grep -c "^$get " "$PROXY_LOG")" -eq 5 ] || fail "$(cat "$PROXY_LOG")"
	[ "$(grep "^$get " "$PROXY_LOG" | head -1 | grep -o 'range=[^ ]*')" = "range=-" ]
	grep "^$get " "$PROXY_LOG" | grep -o 'range=bytes=[0-9]*' | cut -d= -f3 >"$TEST_DIR/offsets"
	[ "$(wc -l <"$TEST_DIR/offsets")" -eq 4 ]
	sort -n -c -u "$TEST_DIR/offsets" || fail "offsets do not grow: $(cat "$TEST_DIR/offsets")"
	[ "$(partials)" -ge 1 ]
	start_proxy
	run bimg pull "$PROXY/test/trunc:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'range=bytes=[1-9][0-9]*-' "$PROXY_LOG"
	blobs_intact
	run skopeo inspect "oci:$STORE"
	[ "$status" -eq 0 ]
}

@test "a body cut at 40% is resumed in the same pull with one Range request" {
	start_registry plain
	head -c 50000000 /dev/urandom >"$TEST_DIR/big"
	make_image "$TEST_DIR/l" t "$TEST_DIR/big"
	push "$TEST_DIR/l:t" test/cut:1
	start_proxy --cut-at 0.4
	run bimg pull -q "$PROXY/test/cut:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c '^CUT ' "$PROXY_LOG")" -eq 1 ] || fail "$(cat "$PROXY_LOG")"
	read -r _ path at _ < <(grep '^CUT ' "$PROXY_LOG")
	at=${at#at=}
	[ "$at" -ge 19000000 ]
	# Two GETs of the blob: the one cut, then one Range from exactly the byte it stopped at.
	[ "$(grep -c "^GET $path " "$PROXY_LOG")" -eq 2 ] || fail "$(cat "$PROXY_LOG")"
	[ "$(grep -c 'range=bytes=' "$PROXY_LOG")" -eq 1 ] || fail "$(cat "$PROXY_LOG")"
	grep -q "^GET $path range=bytes=$at- .*status=206" "$PROXY_LOG" || fail "$(cat "$PROXY_LOG")"
	hex=${path##*/sha256:}
	[ "$(sha256sum <"$STORE/blobs/sha256/$hex" | cut -d' ' -f1)" = "$hex" ]
	[ "$(partials)" -eq 0 ]
	blobs_intact
}

@test "a multi-layer pull keeps its connections alive" {
	start_registry plain
	for i in 1 2 3 4 5 6; do head -c 20000 /dev/urandom >"$TEST_DIR/f$i"; done
	make_image "$TEST_DIR/l" t "$TEST_DIR"/f[1-6]
	push "$TEST_DIR/l:t" test/ka:1
	start_proxy
	run bimg pull -q "$PROXY/test/ka:1"
	[ "$status" -eq 0 ] || fail "$output"
	reqs=$(grep -c '^GET ' "$PROXY_LOG")
	conns=$(grep -o 'conn=[0-9]*' "$PROXY_LOG" | sort -u | wc -l)
	# /v2/, the manifest, the config and 6 layers; one connection for the first three and
	# at most one per download thread (4 by default) after them.
	[ "$reqs" -eq 9 ] || fail "$(cat "$PROXY_LOG")"
	[ "$conns" -le 4 ] || fail "$conns connections for $reqs requests: $(cat "$PROXY_LOG")"
	blobs_intact
}

@test "429 and 503 are retried (Retry-After honoured) until success" {
	start_registry plain
	simple_image test/busy:1
	start_proxy --fail 2 --status 429
	run bimg pull -q "$PROXY/test/busy:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c 'status=429' "$PROXY_LOG")" -eq 2 ]
	bimg rm "$PROXY/test/busy:1"
	bimg gc >/dev/null
	start_proxy --fail 3 --status 503
	run bimg pull -q "$PROXY/test/busy:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c 'status=503' "$PROXY_LOG")" -eq 3 ]
}

@test "a manifest over 4 MiB is refused" {
	start_registry plain
	simple_image test/big:1
	start_proxy --big-manifest
	run bimg pull "$PROXY/test/big:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"response over 4194304 bytes"* ]] || fail "$output"
	[ "$(blob_count)" -eq 0 ]
}

@test "a redirect to another host does not carry the Authorization header" {
	start_registry htpasswd
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/redir:1"
	start_proxy --redirect-blobs --upstream-creds testuser:testpass
	run bimg pull --creds testuser:testpass "$PROXY/test/redir:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'GET /v2/test/redir/blobs/sha256:[0-9a-f]* range=- auth=yes status=307' "$PROXY_LOG"
	grep -q 'GET /redirected/v2/test/redir/blobs/' "$PROXY_LOG"
	! grep '/redirected/' "$PROXY_LOG" | grep -q 'auth=yes'
}

@test "registry killed mid-pull: the pull fails, the partial stays, the next pull resumes; gc removes partials" {
	start_registry plain
	head -c 6000000 /dev/urandom >"$TEST_DIR/big"
	make_image "$TEST_DIR/l" t "$TEST_DIR/big"
	push "$TEST_DIR/l:t" test/kill:1
	start_proxy --throttle 1500000
	bimg pull "$PROXY/test/kill:1" >"$TEST_DIR/pull.out" 2>&1 &
	pull_pid=$!
	for i in $(seq 100); do
		[ "$(partials)" -ge 1 ] && [ "$(find "$STORE/.berth/tmp" -name 'partial-*' -size +500k | wc -l)" -ge 1 ] && break
		sleep 0.1
	done
	kill "$REG_PID"
	wait "$REG_PID" 2>/dev/null || true
	# Not `run wait`: run's subshell is not the pull's parent, so its wait returns at once
	# (127) while the pull is still retrying and holding the partial's lock.
	pull_status=0
	wait "$pull_pid" || pull_status=$?
	[ "$pull_status" -ne 0 ] || fail "pull survived the registry: $(cat "$TEST_DIR/pull.out")"
	# The cut was retried within the pull: 4 more attempts (5 in all), each a Range the
	# proxy answered 502 with its upstream gone.
	[ "$(grep -c 'range=bytes=[1-9][0-9]*- .*status=502' "$PROXY_LOG")" -eq 4 ] || fail "$(cat "$PROXY_LOG")"
	: >"$PROXY_LOG"
	[ "$(partials)" -ge 1 ]
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
	start_registry plain "$REG_PORT"
	run bimg pull "$PROXY/test/kill:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q 'range=bytes=[1-9][0-9]*-' "$PROXY_LOG"
	[ "$(partials)" -eq 0 ]
	blobs_intact
	# An interrupted pull's partial is what gc removes.
	touch "$STORE/.berth/tmp/partial-sha256-0000"
	run bimg gc
	[[ "$output" == *"1 temporary files"* ]] || fail "$output"
	[ -z "$(ls -A "$STORE/.berth/tmp")" ]
}

@test "concurrent pulls into one store are safe" {
	start_registry plain
	head -c 2000000 /dev/urandom >"$TEST_DIR/big"
	make_image "$TEST_DIR/l" t "$TEST_DIR/big" "$BERTH_SRC/README.md"
	push "$TEST_DIR/l:t" test/conc:1
	push "$TEST_DIR/l:t" test/conc:2
	start_proxy --throttle 4000000
	pids=()
	for t in 1 2 1 2; do
		bimg pull -q "$PROXY/test/conc:$t" >"$TEST_DIR/p$RANDOM.out" 2>&1 &
		pids+=($!)
	done
	for j in "${pids[@]}"; do wait "$j" || fail "a concurrent pull failed: $(cat "$TEST_DIR"/p*.out)"; done
	blobs_intact
	[ "$(umoci ls --layout "$STORE" | sort | tr '\n' ' ')" = "$PROXY/test/conc:1 $PROXY/test/conc:2 " ]
	[ "$(blob_count)" -eq 4 ]
	[ "$(partials)" -eq 0 ]
	run bimg inspect "$PROXY/test/conc:2"
	[ "$status" -eq 0 ]
}
