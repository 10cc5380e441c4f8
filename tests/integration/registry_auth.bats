#!/usr/bin/env bats
# berth-image's registry authentication beyond the basics in registry.bats: Bearer token
# expiry (announced and not), insufficient_scope mid-pull, docker-credential-* helpers from
# ~/.docker/config.json, and TLS client certificates from a certs.d directory. Registries are
# Debian's docker-registry; tokens come from tests/helpers/token_server.py.

load helpers
load ../helpers/registry

setup() {
	requires registry umoci skopeo
	setup_common
	STORE="$TEST_DIR/store"
	export XDG_RUNTIME_DIR="$TEST_DIR/xdg" HOME="$TEST_DIR/home"
	mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
	unset REGISTRY_AUTH_FILE DOCKER_CONFIG
}

teardown() {
	stop_registries
	teardown_common
}

# token_count: tokens the token server issued.
token_count() { grep -c '^token ' "$TOKEN_DIR/requests.log" || true; }

# three_layers REPO: an image of three 1.5 MB random layers pushed as $REG/REPO.
three_layers() {
	local i
	for i in 1 2 3; do head -c 1500000 /dev/urandom >"$TEST_DIR/layer$i"; done
	make_image "$TEST_DIR/l" t "$TEST_DIR/layer1" "$TEST_DIR/layer2" "$TEST_DIR/layer3"
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass "oci:$TEST_DIR/l:t" "docker://$REG/$1"
}

@test "Bearer token expiry: a pull that outlives its token fetches a new one before using it" {
	# Tokens live 3 s (--exp-skew cancels docker-registry's 60 s leeway, so the registry
	# really refuses them after 3 s); the throttled pull of three layers, one at a time,
	# takes about 7 s.
	TOKEN_SERVER_ARGS="--expires 3 --exp-skew 60" start_registry token
	three_layers test/exp:1
	start_proxy --throttle 700000
	: >"$TOKEN_DIR/requests.log"
	run bimg pull --jobs 1 "$PROXY/test/exp:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(token_count)" -ge 2 ] || fail "one token for a 7 s pull: $(cat "$TOKEN_DIR/requests.log")"
	# Refreshed ahead of expiry: the registry never saw an expired token.
	! grep '/blobs/' "$PROXY_LOG" | grep -q 'status=401' || fail "$(cat "$PROXY_LOG")"
	[ "$(grep '/blobs/' "$PROXY_LOG" | grep -c 'status=200')" -eq 4 ]
	[ "$(grep '/blobs/' "$PROXY_LOG" | grep -o 'tok=[0-9a-f]*' | sort -u | wc -l)" -ge 2 ]

	# The same when /v2/ needs no auth and only the first 401 (for the manifest) names the
	# token server: the client remembers it for the expiries that follow.
	bimg rm --gc "$PROXY/test/exp:1" >/dev/null
	start_proxy --throttle 700000 --open-ping
	: >"$TOKEN_DIR/requests.log"
	run bimg pull --jobs 1 "$PROXY/test/exp:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(token_count)" -ge 2 ] || fail "$(cat "$TOKEN_DIR/requests.log")"
	[ "$(grep -c 'status=401' "$PROXY_LOG")" -eq 1 ] || fail "$(cat "$PROXY_LOG")"
	grep -q 'GET /v2/test/exp/manifests/1 range=- auth=no status=401' "$PROXY_LOG"
}

@test "Bearer token expiry: a token the registry refuses (401 invalid_token) is fetched again" {
	# The token server announces expires_in 300 but its tokens die after 3 s: the client
	# trusts the announcement, so only the registry's 401 tells it.
	TOKEN_SERVER_ARGS="--expires 3 --exp-skew 60 --claimed-expires 300" start_registry token
	three_layers test/exp:1
	start_proxy --throttle 700000
	: >"$TOKEN_DIR/requests.log"
	run bimg pull --jobs 1 "$PROXY/test/exp:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(token_count)" -ge 2 ] || fail "$(cat "$TOKEN_DIR/requests.log")"
	grep '/blobs/' "$PROXY_LOG" | grep -q 'status=401' || fail "the registry never refused a token: $(cat "$PROXY_LOG")"
	# Every blob arrived once, after its retry with a new token.
	[ "$(grep '/blobs/' "$PROXY_LOG" | grep -c 'status=200')" -eq 4 ]
	run bimg inspect "$PROXY/test/exp:1"
	[ "$status" -eq 0 ]
}

@test "insufficient_scope mid-pull: one token for the scope the challenge names, then a clear error" {
	start_registry token
	three_layers test/sc:1
	challenge="Bearer realm=\"http://127.0.0.1:$TOKEN_PORT/token\",service=\"berth-test-registry\",scope=\"repository:test/sc:pull repository:test/base:pull\",error=\"insufficient_scope\""
	start_proxy --insufficient-scope 1 --challenge "$challenge"
	: >"$TOKEN_DIR/requests.log"
	run bimg pull --jobs 1 "$PROXY/test/sc:1"
	[ "$status" -eq 0 ] || fail "$output"
	# One token for the manifest, one for the two scopes the blob's challenge asked for.
	[ "$(token_count)" -eq 2 ] || fail "$(cat "$TOKEN_DIR/requests.log")"
	grep -q "scopes=\['repository:test/sc:pull', 'repository:test/base:pull'\]" "$TOKEN_DIR/requests.log"
	refused=$(grep '/blobs/.*status=401' "$PROXY_LOG" | grep -o 'tok=[0-9a-f]*')
	retried=$(grep '/blobs/.*status=200' "$PROXY_LOG" | head -1 | grep -o 'tok=[0-9a-f]*')
	[ "$refused" != "$retried" ] || fail "retried with the same token: $(cat "$PROXY_LOG")"

	# Refused again with the new token: one retry only, then an error naming the scope.
	bimg rm --gc "$PROXY/test/sc:1" >/dev/null
	start_proxy --insufficient-scope 100 --challenge "$challenge"
	: >"$TOKEN_DIR/requests.log"
	run bimg pull --jobs 1 "$PROXY/test/sc:1"
	[ "$status" -ne 0 ]
	blob=$(grep -m1 -o '/blobs/sha256:[0-9a-f]*' "$PROXY_LOG" | cut -d/ -f3)
	[ "${lines[-1]}" = "berth-image: pull '$PROXY/test/sc:1': blob $blob: authentication required: insufficient_scope: a token for 'repository:test/sc:pull repository:test/base:pull' was refused too (insufficient scope)" ] || fail "$output"
	[ "$(grep -c '/blobs/.*status=401' "$PROXY_LOG")" -eq 2 ]
	[ "$(token_count)" -eq 2 ]
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
}

@test "token server answering access_token; a token response over 1 MiB is refused" {
	TOKEN_SERVER_ARGS="--field access_token" start_registry token
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/at:1"
	run bimg pull "$REG/test/at:1"
	[ "$status" -eq 0 ] || fail "$output"
	grep -q "token user=anonymous" "$TOKEN_DIR/requests.log"
	stop_registries
	TOKEN_SERVER_ARGS="--pad 1100000" start_registry token
	run bimg pull "$REG/test/at:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"token: http://127.0.0.1:$TOKEN_PORT/token"*": response over 1048576 bytes" ]] || fail "$output"
}

# helper_script NAME USER PASS: a docker-credential-NAME in $TEST_DIR/bin that logs what it
# is asked to $TEST_DIR/helper.log and answers `get` for $REG with USER/PASS, and "not found"
# (exit 1, as real helpers do) for any other server.
helper_script() {
	mkdir -p "$TEST_DIR/bin"
	cat >"$TEST_DIR/bin/docker-credential-$1" <<EOF
#!/bin/sh
read -r server
echo "\$1 \$server" >>"$TEST_DIR/helper.log"
[ "\$1" = get ] || exit 1
if [ "\$server" = "$REG" ]; then
	printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$2" "$3"
else
	echo "credentials not found in native keychain"
	exit 1
fi
EOF
	chmod +x "$TEST_DIR/bin/docker-credential-$1"
}

@test "~/.docker/config.json credHelpers and credsStore run docker-credential-* helpers" {
	start_registry htpasswd
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/ch:1"
	helper_script test testuser testpass
	helper_script wrong testuser nope
	export PATH="$TEST_DIR/bin:$PATH"
	mkdir -p "$HOME/.docker"
	# credHelpers: the helper for this registry answers; the registry (htpasswd) accepts only
	# testuser:testpass, so the pull proves the helper's answer is what reached it.
	printf '{"credHelpers":{"%s":"test","example.com":"wrong"}}' "$REG" >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$TEST_DIR/helper.log")" = "get $REG" ]
	# credHelpers wins over auths and credsStore for its registry.
	bimg rm "$REG/test/ch:1"
	printf '{"auths":{"%s":{"auth":"%s"}},"credHelpers":{"%s":"wrong"},"credsStore":"test"}' \
		"$REG" "$(printf testuser:testpass | base64)" "$REG" >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"unauthorized"* ]] || fail "$output"
	# credsStore: used for a registry with neither a credHelpers nor an auths entry.
	: >"$TEST_DIR/helper.log"
	printf '{"credsStore":"test"}' >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$TEST_DIR/helper.log")" = "get $REG" ]
	# A helper with nothing for this registry ("not found", exit 1) means anonymous.
	bimg rm "$REG/test/ch:1"
	sed -i 's|= "127.0.0.1:[0-9]*"|= "elsewhere"|' "$TEST_DIR/bin/docker-credential-test"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -ne 0 ]
	[ "${lines[-1]}" = "berth-image: pull '$REG/test/ch:1': authentication required" ] || fail "$output"
	# A helper that is not installed is an error naming it, and nothing is stored.
	printf '{"credHelpers":{"%s":"absent"}}' "$REG" >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == "berth-image: pull '$REG/test/ch:1': "*"credential helper 'docker-credential-absent'"*"No such file or directory" ]] || fail "$output"
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
	# So is a helper printing something that is not its JSON.
	printf '#!/bin/sh\necho garbage\n' >"$TEST_DIR/bin/docker-credential-bad"
	chmod +x "$TEST_DIR/bin/docker-credential-bad"
	printf '{"credHelpers":{"%s":"bad"}}' "$REG" >"$HOME/.docker/config.json"
	run bimg pull "$REG/test/ch:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"credential helper 'docker-credential-bad': invalid output" ]] || fail "$output"
}

@test "TLS client certificates from certs.d: refused without client.cert/client.key, pulled with them" {
	start_registry tls-clientcert
	C="$REG_DIR/ca"
	mkdir -p "$TEST_DIR/push-certs"
	cp "$C/ca.crt" "$C/client.cert" "$C/client.key" "$TEST_DIR/push-certs/"
	skopeo copy -q --dest-cert-dir "$TEST_DIR/push-certs" \
		"oci:$(make_image "$TEST_DIR/l" t "$BERTH_SRC/README.md"; echo "$TEST_DIR/l:t")" "docker://$REG/test/mtls:1"
	# $BERTH_CERTS_D replaces /etc/containers/certs.d:/etc/docker/certs.d.
	export BERTH_CERTS_D="$TEST_DIR/certs.d"
	D="$TEST_DIR/certs.d/$REG"
	mkdir -p "$D"
	cp "$C/ca.crt" "$D/ca.crt"
	# The server is trusted, but it ends the handshake without a client certificate.
	run bimg pull "$REG/test/mtls:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == "berth-image: pull '$REG/test/mtls:1': https://$REG: "*"(TLS: sslv3 alert bad certificate); the registry refused the client certificate or wants one (client.cert and client.key in certs.d/$REG/)"* ]] || fail "$output"
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
	# A certificate without its key is named.
	cp "$C/client.cert" "$D/client.cert"
	run bimg pull "$REG/test/mtls:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"client certificate '$D/client.cert' has no key 'client.key'" ]] || fail "$output"
	cp "$C/client.key" "$D/client.key"
	run bimg pull "$REG/test/mtls:1"
	[ "$status" -eq 0 ] || fail "$output"
	run bimg inspect "$REG/test/mtls:1"
	[ "$status" -eq 0 ]
	# A client certificate from another CA is refused by the registry.
	make_ca "$TEST_DIR/other"
	cp "$TEST_DIR/other/client.cert" "$TEST_DIR/other/client.key" "$D/"
	bimg rm "$REG/test/mtls:1"
	run bimg pull "$REG/test/mtls:1"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"(TLS: sslv3 alert bad certificate); the registry refused the client certificate"* ]] || fail "$output"
	[ "$(jq '.manifests | length' "$STORE/index.json")" -eq 0 ]
}
