# Registry fixtures for berth-image's Bats tests: Debian's docker-registry on a free loopback
# port (plain HTTP, TLS with a CA made here, htpasswd Basic, Bearer tokens from
# token_server.py), images made by umoci and pushed by skopeo, and a fault-injecting proxy.
# Every process started here is recorded in $TEST_DIR/pids and killed by stop_registries.

HELPERS_DIR=${BERTH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/helpers
# The system interpreter: a python3 on PATH may be a pyenv shim that takes seconds to start
# on a loaded machine, longer than wait_port waits.
PY=$(command -v /usr/bin/python3 || command -v python3)

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
	local i
	for i in $(seq 50); do
		"$PY" -c "import socket,sys; s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),0.2)" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listening on port $1"
}

# track PID: kill it in teardown.
track() { echo "$1" >>"$TEST_DIR/pids"; }

stop_registries() {
	local pid
	[ -f "${TEST_DIR:-/nonexistent}/pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	while read -r pid; do
		local i
		for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	rm -f "$TEST_DIR/pids"
}

# make_ca DIR: a CA and a server certificate for 127.0.0.1/localhost signed by it, and a
# client certificate (client.cert, client.key) signed by the same CA for clientcas.
make_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA" \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=berth test client" \
		-keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$d/client.cnf"
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/client.cnf" -out "$d/client.cert" 2>/dev/null
}

# start_registry MODE [PORT]: MODE is plain, tls, tls-clientcert (TLS, and clients must
# present a certificate signed by the same CA), htpasswd, token (plain HTTP registry and
# token server; $TOKEN_SERVER_ARGS are added to the token server's flags) or tls-token (TLS
# registry, token realm still plain HTTP). Sets REG (host:port), REG_PORT, REG_DIR, REG_PID.
# Storage and config live in $TEST_DIR/registry-$REG_PORT.
start_registry() {
	local mode=$1
	REG_PORT=${2:-$(free_port)}
	REG_DIR="$TEST_DIR/registry-$REG_PORT"
	mkdir -p "$REG_DIR/data"
	REG=127.0.0.1:$REG_PORT
	{
		echo "version: 0.1"
		echo "log: {level: error}"
		echo "storage: {filesystem: {rootdirectory: $REG_DIR/data}, delete: {enabled: true}}"
		echo "http:"
		echo "  addr: 127.0.0.1:$REG_PORT"
		case $mode in
		tls | tls-token)
			make_ca "$REG_DIR/ca"
			echo "  tls: {certificate: $REG_DIR/ca/server.crt, key: $REG_DIR/ca/server.key}"
			;;
		tls-clientcert)
			make_ca "$REG_DIR/ca"
			echo "  tls: {certificate: $REG_DIR/ca/server.crt, key: $REG_DIR/ca/server.key, clientcas: [$REG_DIR/ca/ca.crt]}"
			;;
		esac
		case $mode in
		htpasswd)
			htpasswd -Bbc "$REG_DIR/htpasswd" testuser testpass >/dev/null 2>&1
			echo "auth: {htpasswd: {realm: berth-test, path: $REG_DIR/htpasswd}}"
			;;
		token | tls-token)
			start_token_server
			echo "auth:"
			echo "  token: {realm: 'http://127.0.0.1:$TOKEN_PORT/token', service: berth-test-registry, issuer: berth-test-issuer, rootcertbundle: $TOKEN_DIR/token.crt}"
			;;
		esac
	} >"$REG_DIR/config.yml"
	docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/log" 2>&1 &
	REG_PID=$!
	track $REG_PID
	wait_port "$REG_PORT"
}

# start_token_server: tests/helpers/token_server.py issuing JWTs for user testuser/testpass
# (pull and push) and anonymous (pull only), every request logged to
# $TOKEN_DIR/requests.log. Sets TOKEN_PORT, TOKEN_DIR.
start_token_server() {
	TOKEN_DIR="$TEST_DIR/token"
	mkdir -p "$TOKEN_DIR"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth token signer" \
		-keyout "$TOKEN_DIR/token.key" -out "$TOKEN_DIR/token.crt" 2>/dev/null
	TOKEN_PORT=$(free_port)
	"$PY" "$HELPERS_DIR/token_server.py" --port "$TOKEN_PORT" --key "$TOKEN_DIR/token.key" \
		--cert "$TOKEN_DIR/token.crt" --issuer berth-test-issuer --service berth-test-registry \
		--user testuser:testpass --log "$TOKEN_DIR/requests.log" ${TOKEN_SERVER_ARGS:-} \
		>"$TOKEN_DIR/server.log" 2>&1 &
	track $!
	wait_port "$TOKEN_PORT"
}

# start_proxy ARGS...: tests/helpers/fault_proxy.py in front of $REG. Sets PROXY (host:port),
# PROXY_PORT, PROXY_LOG.
start_proxy() {
	PROXY_PORT=$(free_port)
	PROXY=127.0.0.1:$PROXY_PORT
	PROXY_LOG="$TEST_DIR/proxy-$PROXY_PORT.log"
	"$PY" "$HELPERS_DIR/fault_proxy.py" --port "$PROXY_PORT" --upstream "$REG" \
		--log "$PROXY_LOG" "$@" >"$TEST_DIR/proxy-$PROXY_PORT.out" 2>&1 &
	track $!
	wait_port "$PROXY_PORT"
}

# make_image LAYOUT TAG FILE...: an OCI layout made by umoci with one layer per FILE (each
# copied to /FILE's basename), cmd /bin/sh.
make_image() {
	local layout=$1 tag=$2 f
	shift 2
	[ -d "$layout" ] || umoci init --layout "$layout" >/dev/null
	umoci new --image "$layout:$tag" >/dev/null
	for f in "$@"; do
		umoci insert --image "$layout:$tag" "$f" "/$(basename "$f")" >/dev/null
	done
	umoci config --image "$layout:$tag" --config.cmd /bin/sh --config.label berth.test=1 >/dev/null
}

# push LAYOUT:TAG REPO:TAG [skopeo args]: skopeo copy to $REG.
push() {
	local src=$1 dst=$2
	shift 2
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$src" "docker://$REG/$dst" >/dev/null
}

# simple_image NAME: a small two-layer image pushed as $REG/NAME.
simple_image() {
	local w="$TEST_DIR/work-$RANDOM"
	mkdir -p "$w"
	echo "hello from $1" >"$w/hello"
	head -c 100000 /dev/urandom >"$w/random"
	make_image "$TEST_DIR/layout" simple "$w/hello" "$w/random"
	push "$TEST_DIR/layout:simple" "$1" "${@:2}"
}

bimg() {
	"$BERTH_IMAGE" --store "$STORE" "$@"
}
