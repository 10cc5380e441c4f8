#!/usr/bin/env bats
# berth-image against Debian's docker-registry in its configurations: plain HTTP, TLS with a
# CA made here, htpasswd Basic auth, and Bearer tokens from tests/helpers/token_server.py.
# Images are made by umoci and pushed by skopeo, so berth is not testing itself.

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

@test "pull over plain HTTP from a loopback registry; store readable by umoci and skopeo" {
	start_registry plain
	simple_image test/simple:1
	run bimg pull "$REG/test/simple:1"
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"Digest: sha256:"* ]]
	want=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/test/simple:1")
	[[ "$output" == *"$want"* ]]
	run umoci ls --layout "$STORE"
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/test/simple:1" ]
	# skopeo reads the store (one image: no reference needed) and sees the same layers.
	run skopeo inspect "oci:$STORE"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(echo "$output" | jq -r .Digest)" = "$want" ]
	[ "$(echo "$output" | jq '.Layers | length')" -eq 2 ]
	# umoci unpacks what berth stored (it verifies every blob as it reads).
	mkdir -p "$TEST_DIR/copy"
	skopeo copy -q "oci:$STORE" "oci:$TEST_DIR/copy:x"
	umoci unpack --rootless --image "$TEST_DIR/copy:x" "$TEST_DIR/bundle" >/dev/null
	grep -q "hello from test/simple:1" "$TEST_DIR/bundle/rootfs/hello"
}

@test "pull --quiet prints only the digest; a second pull fetches no blob" {
	start_registry plain
	simple_image test/q:1
	start_proxy
	run bimg pull -q "$PROXY/test/q:1"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	blobs_before=$(grep -c '/blobs/' "$PROXY_LOG")
	[ "$blobs_before" -eq 3 ]
	run bimg pull -q "$PROXY/test/q:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '/blobs/' "$PROXY_LOG")" -eq 3 ]
}

@test "TLS: refused without the CA, pulled with --cert-dir holding it" {
	start_registry tls
	mkdir -p "$TEST_DIR/certs"
	cp "$REG_DIR/ca/ca.crt" "$TEST_DIR/certs/ca.crt"
	skopeo copy -q --dest-cert-dir "$TEST_DIR/certs" "oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/tls:1"
	run bimg pull --tls-verify=true "$REG/test/tls:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"berth-image: pull '$REG/test/tls:1': "*"certificate"* ]] || fail "$output"
	run bimg images --format json
	[ "$(echo "$output" | jq length)" -eq 0 ]
	run bimg pull --cert-dir "$TEST_DIR/certs" "$REG/test/tls:1"
	[ "$status" -eq 0 ] || fail "$output"
	# A CA in a certs.d root's <host:port>/ is trusted without flags ($BERTH_CERTS_D stands
	# for /etc/containers/certs.d:/etc/docker/certs.d, so the test writes nothing in /etc);
	# the second root counts too, and a CA for another host:port does not.
	bimg rm "$REG/test/tls:1"
	mkdir -p "$TEST_DIR/containers.d/127.0.0.1:1" "$TEST_DIR/docker.d/$REG"
	cp "$REG_DIR/ca/ca.crt" "$TEST_DIR/containers.d/127.0.0.1:1/ca.crt"
	BERTH_CERTS_D="$TEST_DIR/containers.d:$TEST_DIR/docker.d" run bimg pull "$REG/test/tls:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate"* ]] || fail "$output"
	cp "$REG_DIR/ca/ca.crt" "$TEST_DIR/docker.d/$REG/ca.crt"
	BERTH_CERTS_D="$TEST_DIR/containers.d:$TEST_DIR/docker.d" run bimg pull "$REG/test/tls:1"
	[ "$status" -eq 0 ] || fail "$output"
	# --tls-verify=false pulls without the CA too.
	run bimg pull --tls-verify=false "$REG/test/tls:1"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "htpasswd Basic: 401 without or with bad credentials, pull with --creds, login/logout" {
	start_registry htpasswd
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/auth:1"
	run bimg pull "$REG/test/auth:1"
	[ "$status" -ne 0 ]
	[ "${lines[-1]}" = "berth-image: pull '$REG/test/auth:1': authentication required" ] || fail "$output"
	run bimg pull --creds testuser:wrong "$REG/test/auth:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* ]] || fail "$output"
	run bimg pull --creds testuser:testpass "$REG/test/auth:1"
	[ "$status" -eq 0 ] || fail "$output"

	run bimg login -u testuser -p wrong "$REG"
	[ "$status" -ne 0 ]
	[ ! -e "$XDG_RUNTIME_DIR/containers/auth.json" ]
	echo testpass | bimg login -u testuser --password-stdin "$REG"
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/containers/auth.json")" = 600 ]
	[ "$(jq -r ".auths[\"$REG\"].auth" "$XDG_RUNTIME_DIR/containers/auth.json" | base64 -d)" = testuser:testpass ]
	bimg rm "$REG/test/auth:1"
	run bimg pull "$REG/test/auth:1"
	[ "$status" -eq 0 ] || fail "$output"
	# skopeo reads the auth file berth wrote.
	skopeo inspect --tls-verify=false --authfile "$XDG_RUNTIME_DIR/containers/auth.json" "docker://$REG/test/auth:1" >/dev/null
	run bimg logout "$REG"
	[ "$status" -eq 0 ]
	run bimg logout "$REG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not logged in"* ]]
	# --authfile and $REGISTRY_AUTH_FILE
	echo testpass | bimg login -u testuser --password-stdin --authfile "$TEST_DIR/a.json" "$REG"
	bimg rm "$REG/test/auth:1"
	run bimg pull "$REG/test/auth:1"
	[ "$status" -ne 0 ]
	run bimg pull --authfile "$TEST_DIR/a.json" "$REG/test/auth:1"
	[ "$status" -eq 0 ] || fail "$output"
	bimg rm "$REG/test/auth:1"
	REGISTRY_AUTH_FILE="$TEST_DIR/a.json" run bimg pull "$REG/test/auth:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg logout --all --authfile "$TEST_DIR/a.json"
	[ "$status" -eq 0 ]
	[ "$(jq '.auths | length' "$TEST_DIR/a.json")" -eq 0 ]
}

@test "Docker config.json auths are used" {
	start_registry htpasswd
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/dc:1"
	mkdir -p "$HOME/.docker"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf testuser:testpass | base64)" >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/dc:1"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "Bearer tokens: anonymous pull, credentials passed to the token server, bad ones refused" {
	start_registry token
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/tok:1"
	run bimg pull "$REG/test/tok:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q "token user=anonymous scopes=\['repository:test/tok:pull'\]" "$TOKEN_DIR/requests.log"
	bimg rm "$REG/test/tok:1"
	run bimg pull --creds testuser:testpass "$REG/test/tok:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q "token user=testuser" "$TOKEN_DIR/requests.log"
	run bimg pull --creds testuser:nope "$REG/test/tok:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"token server: invalid username/password"* ]] || fail "$output"
	run bimg login -u testuser -p testpass "$REG"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg login -u testuser -p nope "$REG"
	[ "$status" -ne 0 ]
}

@test "a TLS registry may not send credentials to a plain-HTTP token realm" {
	start_registry tls-token
	mkdir -p "$TEST_DIR/certs"
	cp "$REG_DIR/ca/ca.crt" "$TEST_DIR/certs/ca.crt"
	run bimg pull --cert-dir "$TEST_DIR/certs" --creds testuser:testpass "$REG/test/x:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"token realm 'http://127.0.0.1:$TOKEN_PORT/token' is not https"* ]] || fail "$output"
	[ ! -s "$TOKEN_DIR/requests.log" ]
}
