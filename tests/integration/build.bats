#!/usr/bin/env bats
# berth-image build: a single-stage Dockerfile on a busybox image imported in the test. The
# image is checked by what it does (unpacked and run with berth: the RUN's file, the copied
# files with their owner, the CMD in WORKDIR with ENV) and by its config as skopeo reads it;
# a failing RUN and a COPY reaching out of the context give an error naming the line, tag
# nothing and leave no mount behind. podman build (buildah) of the same Dockerfile is the
# oracle for the tree, the config and the history's shape.

load helpers

setup() {
	requires root skopeo
	setup_common
	STORE="$TEST_DIR/store"
	CTX="$TEST_DIR/ctx"
	mkdir -p "$CTX/sub/inner"
	echo "host secret $$" >"$TEST_DIR/secret"
}

teardown() {
	local m
	[ -z "${BG_PID:-}" ] || kill -KILL "$BG_PID" 2>/dev/null || true
	# Whatever a failed test left mounted under its directory (bundles, build steps).
	for m in $(awk -v d="$TEST_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m"
	done
	teardown_common
}

bimg() { "$BERTH_IMAGE" --store "$STORE" "$@"; }

# base_image: busybox with only the applets used here (the full applet set costs seconds).
base_image() {
	local R="$TEST_DIR/src" a
	mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp}
	cp "$BUSYBOX" "$R/bin/busybox"
	for a in sh cat echo mkdir pwd stat ls id; do ln -s busybox "$R/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1002::/:/bin/sh\n' >"$R/etc/passwd"
	printf 'root:x:0:\nstaff:x:1003:\n' >"$R/etc/group"
	chmod 1777 "$R/tmp"
	bimg import "$R" localhost/base:1 -- /bin/sh >/dev/null
}

# no_leftovers: no overlay of this store mounted, no build directory, no container state.
no_leftovers() {
	! grep -q "$STORE" /proc/self/mountinfo || fail "mounted: $(grep "$STORE" /proc/self/mountinfo)"
	[ -z "$(ls -A "$STORE/.berth/builds" 2>/dev/null)" ] || fail "left: $(ls "$STORE/.berth/builds")"
}

@test "build: RUN, COPY, ENV, ARG, WORKDIR, CMD; the image runs with berth and has the config" {
	base_image
	echo hello >"$CTX/hello.txt"
	echo deep >"$CTX/sub/inner/d"
	chmod 0750 "$CTX/sub/inner"
	cat >"$CTX/Dockerfile" <<-'EOF'
		# a comment
		FROM localhost/base:1
		ARG GREETING=hi
		ENV APP=/app \
		    MODE=test
		WORKDIR $APP
		RUN echo "$GREETING from $MODE" >/made && mkdir -p /app/x
		RUN ["/bin/sh", "-c", "echo json >/app/x/j"]
		COPY hello.txt sub ./
		COPY --chown=1000:1001 hello.txt /owned
		COPY --chown=user hello.txt sub/inner/d /byname/
		COPY --chown=user:staff hello.txt /bygroup
		EXPOSE 8080
		LABEL org.example.k="v w"
		USER 0
		CMD ["/bin/sh", "-c", "pwd; cat /made hello.txt inner/d x/j; echo $APP $GREETING."]
	EOF
	run bimg build -q -t localhost/built:1 -t localhost/built:2 --build-arg GREETING=hey "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	digest=${lines[-1]}
	[[ $digest == sha256:* ]] || fail "no digest: $output"
	[ "$(skopeo inspect --raw "oci:$STORE:localhost/built:2" | sha256sum | cut -d' ' -f1)" = "${digest#sha256:}" ]
	no_leftovers

	bimg unpack localhost/built:1 "$TEST_DIR/out"
	R="$TEST_DIR/out/rootfs"
	[ "$(stat -c '%u:%g %a' "$R/owned")" = "1000:1001 644" ]
	# Names from the image's passwd and group; a name alone takes its passwd group.
	[ "$(stat -c '%u:%g' "$R/byname/hello.txt" "$R/byname/d" "$R/bygroup")" = "$(printf '1000:1002\n1000:1002\n1000:1003')" ]
	[ "$(stat -c '%u:%g %a' "$R/app/inner")" = "0:0 750" ]
	[ "$(stat -c '%u:%g' "$R/app/hello.txt")" = "0:0" ]
	run berth run --bundle "$TEST_DIR/out" bld-run1
	[ "$status" -eq 0 ] || fail "$output"
	# ARG values reach RUN but not the image's environment.
	[ "$output" = "$(printf '/app\nhey from test\nhello\ndeep\njson\n/app .')" ] || fail "$output"

	cfg=$(skopeo inspect --config "oci:$STORE:localhost/built:1")
	[ "$(jq -c .config.Env <<<"$cfg")" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP=/app","MODE=test"]' ]
	[ "$(jq -r .config.WorkingDir <<<"$cfg")" = /app ]
	[ "$(jq -r .config.User <<<"$cfg")" = 0 ]
	[ "$(jq -c '.config.ExposedPorts | keys' <<<"$cfg")" = '["8080/tcp"]' ]
	[ "$(jq -r '.config.Labels["org.example.k"]' <<<"$cfg")" = "v w" ]
	# base layer + 2 RUN + 4 COPY; history: import + 13 steps after FROM.
	[ "$(jq '.rootfs.diff_ids | length' <<<"$cfg")" = 7 ]
	[ "$(jq '.history | length' <<<"$cfg")" = 14 ]
	[ "$(jq '[.history[] | select(.empty_layer != true)] | length' <<<"$cfg")" = 7 ]
}

@test "build: a failing RUN names the line and exit status, tags nothing, leaves nothing mounted" {
	base_image
	printf 'FROM localhost/base:1\nRUN echo one >/one\nRUN echo out; exit 7\nRUN echo never\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/bad:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:3: RUN: "*"code: 7"* ]] || fail "$output"
	[[ $output != *never* ]] || fail "ran on: $output"
	run bimg images
	[[ $output != *bad* && $output != *berth-build* ]] || fail "tagged: $output"
	no_leftovers
	[ -z "$("$BERTH" --root "$ROOT" list -q)" ]

	# SIGTERM during a long RUN (its sh is pid 1 and ignores it): the build ends at once and
	# cleans up; the container is gone.
	printf 'FROM localhost/base:1\nRUN echo started; exec sleep 60\n' >"$CTX/Dockerfile"
	"$BERTH_IMAGE" --store "$STORE" build -t localhost/bad:2 "$CTX" 2>"$TEST_DIR/err" &
	BG_PID=$!
	local i
	for i in $(seq 100); do grep -q started "$TEST_DIR/err" && break; sleep 0.1; done
	kill -TERM "$BG_PID"
	# Not `run wait`: bats's run is a subshell, which cannot wait for this shell's child (it
	# returned at once and the message was read before the build had written it).
	local st=0
	wait "$BG_PID" || st=$?
	BG_PID=
	[ "$st" -ne 0 ]
	grep -q "Dockerfile:2: RUN: interrupted" "$TEST_DIR/err" || fail "$(cat "$TEST_DIR/err")"
	run bimg inspect localhost/bad:2
	[ "$status" -ne 0 ]
	no_leftovers
	! pgrep -f "exec sleep 60" >/dev/null || fail "RUN still running"
}

@test "build: COPY sources outside the context are refused (.., a symlink out), nothing copied" {
	base_image
	ln -s "$TEST_DIR/secret" "$CTX/link-out"
	ln -s / "$CTX/root-link"
	local src
	for src in ../secret sub/../../secret link-out root-link/etc/passwd; do
		printf 'FROM localhost/base:1\nCOPY %s /stolen\n' "$src" >"$CTX/Dockerfile"
		run bimg build -t localhost/esc:1 "$CTX"
		[ "$status" -ne 0 ] || fail "$src copied: $output"
		[[ $output == *"Dockerfile:2: COPY: source '$src' is outside the build context"* ]] || fail "$output"
	done
	run bimg images
	[[ $output != *esc* ]] || fail "tagged: $output"
	no_leftovers
	# A symlink inside the context that stays inside is copied as a link when in a directory.
	ln -s ../hello.txt "$CTX/sub/rel"
	echo hi >"$CTX/hello.txt"
	printf 'FROM localhost/base:1\nCOPY sub /s/\n' >"$CTX/Dockerfile"
	run bimg build -q -t localhost/esc:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/esc:2 "$TEST_DIR/out"
	[ "$(readlink "$TEST_DIR/out/rootfs/s/rel")" = ../hello.txt ]
	printf 'FROM localhost/base:1\nCOPY sub /s/\nCOPY missing /m\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/esc:3 "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:3: COPY: source 'missing'"* ]] || fail "$output"
	printf 'FROM localhost/base:1\nCOPY --chown=nobody:staff sub /s/\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/esc:3 "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: COPY: --chown: "*nobody* ]] || fail "$output"
	run bimg inspect localhost/esc:3
	[ "$status" -ne 0 ] || fail "tagged: $output"
	no_leftovers
}

@test "build: podman build of the same Dockerfile gives the same tree, config and history shape" {
	requires podman runc
	base_image
	echo hello >"$CTX/hello.txt"
	echo deep >"$CTX/sub/inner/d"
	ln -s ../hello.txt "$CTX/sub/rel"
	chmod 0750 "$CTX/sub/inner"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		ARG V=1
		ENV APP=/app
		WORKDIR $APP
		RUN echo "$V" >/made && mkdir -p x && echo j >x/j && chmod 4711 x/j
		COPY hello.txt sub ./
		COPY --chown=user:staff hello.txt /owned
		USER user
		EXPOSE 80 53/udp
		LABEL a=b
		ENTRYPOINT ["/bin/sh", "-c"]
		CMD ["cat /made"]
	EOF
	bimg build -q -t localhost/cmp:1 --build-arg V=2 "$CTX" >/dev/null

	# podman on storage of its own (vfs: no overlay mounts to leak), runc as its runtime
	# (crun 1.8 refuses this host's hybrid cgroups), no network.
	local P="$TEST_DIR/podman" m
	mkdir -p "$P/tmp"
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$P/containers.conf"
	pm() {
		CONTAINERS_CONF="$P/containers.conf" podman --root "$P/root" --runroot "$P/runroot" \
			--storage-driver vfs --tmpdir "$P/tmp" --cgroup-manager cgroupfs --events-backend file \
			--runtime runc "$@"
	}
	skopeo copy -q "oci:$STORE:localhost/base:1" "containers-storage:[vfs@$P/root+$P/runroot]localhost/base:1"
	run pm build -q --network none -t localhost/cmp:1 --build-arg V=2 "$CTX"
	[ "$status" -eq 0 ] || fail "podman build: $output"
	m=$(pm image mount localhost/cmp:1)
	# buildah leaves the mount points of its RUN containers (/run, /etc/hostname) in the layer.
	python3 "$BERTH_SRC/tests/helpers/tree_digest.py" "$m" | grep -v -e '^run ' -e '^etc/hostname ' >"$TEST_DIR/t-podman"
	pm image umount localhost/cmp:1 >/dev/null
	bimg unpack localhost/cmp:1 "$TEST_DIR/out"
	python3 "$BERTH_SRC/tests/helpers/tree_digest.py" "$TEST_DIR/out/rootfs" >"$TEST_DIR/t-berth"
	diff "$TEST_DIR/t-podman" "$TEST_DIR/t-berth" || fail "trees differ"

	# Config: the same, apart from buildah's own label.
	pm image inspect localhost/cmp:1 | jq -S '.[0].Config | del(.Labels["io.buildah.version"])' >"$TEST_DIR/c-podman"
	skopeo inspect --config "oci:$STORE:localhost/cmp:1" | jq -S .config >"$TEST_DIR/c-berth"
	diff "$TEST_DIR/c-podman" "$TEST_DIR/c-berth" || fail "configs differ"
	# History: one entry a step, empty_layer on the same ones.
	pm image inspect localhost/cmp:1 | jq -c '[.[0].History[] | .empty_layer // false]' >"$TEST_DIR/h-podman"
	skopeo inspect --config "oci:$STORE:localhost/cmp:1" | jq -c '[.history[] | .empty_layer // false]' >"$TEST_DIR/h-berth"
	diff "$TEST_DIR/h-podman" "$TEST_DIR/h-berth" || fail "history differs"
	pm rmi -a -f >/dev/null 2>&1 || true
}

# layer_digests: the layer blobs the build cache names.
cache_layers() { cat "$STORE"/.berth/build-cache/*.json 2>/dev/null | jq -r 'select(.layer) | .layer.digest' | sort -u; }
# file_of IMAGE PATH: a file of an image's tree (unpacked into a fresh directory).
file_of() {
	local d="$TEST_DIR/of-$RANDOM"
	bimg unpack "$1" "$d" >/dev/null
	cat "$d/rootfs$2"
	rm -rf "$d"
}

@test "build cache: a rebuild runs nothing and is the same image; a changed COPY re-runs from there on" {
	base_image
	echo one >"$CTX/f1"
	echo two >"$CTX/f2"
	# Each RUN writes a fresh random UUID: a RUN that ran again cannot give the same layer.
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		ARG A=1
		ENV E=e
		RUN cat /proc/sys/kernel/random/uuid >/before
		COPY f1 /f1
		WORKDIR /w
		RUN cat /proc/sys/kernel/random/uuid >/after
		COPY f2 ./
		LABEL l=1
		USER 0
		CMD ["/bin/sh"]
	EOF
	run bimg build -t localhost/c:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	d1=${lines[-1]}
	[[ $output != *CACHED* ]] || fail "cached on a first build: $output"

	run bimg build -t localhost/c:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[-1]}" = "$d1" ] || fail "rebuild is another image: $output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 10 ] || fail "$output"
	no_leftovers

	# One copied file changed: the RUN before it is cached, the RUN after it runs again.
	echo uno >"$CTX/f1"
	run bimg build -t localhost/c:3 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	d3=${lines[-1]}
	[ "$d3" != "$d1" ]
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "$output"
	grep -A1 'STEP 4/11: RUN' <<<"$output" | grep -q -- '--> CACHED' || fail "$output"
	[ "$(file_of localhost/c:3 /before)" = "$(file_of localhost/c:1 /before)" ]
	[ "$(file_of localhost/c:3 /after)" != "$(file_of localhost/c:1 /after)" ]
	[ "$(file_of localhost/c:3 /f1)" = uno ]

	# --no-cache runs everything and still records: the next build is the no-cache image.
	run bimg build --no-cache -t localhost/c:4 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	d4=${lines[-1]}
	[[ $output != *CACHED* ]] || fail "$output"
	[ "$d4" != "$d3" ]
	[ "$(file_of localhost/c:4 /before)" != "$(file_of localhost/c:3 /before)" ]
	run bimg build -q -t localhost/c:5 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[-1]}" = "$d4" ] || fail "$output"
	no_leftovers
}

@test "build cache: a failed RUN is not recorded; gc keeps cached layers until --build-cache; bad entries re-run" {
	base_image
	printf 'FROM localhost/base:1\nRUN echo one >/one\nRUN echo out-$((6+1)); exit 7\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/f:1 "$CTX"
	[ "$status" -ne 0 ] || fail "$output"
	[ "$(ls "$STORE/.berth/build-cache" | wc -l)" -eq 1 ] || fail "$(ls "$STORE/.berth/build-cache")"
	run bimg build -t localhost/f:1 "$CTX"
	[ "$status" -ne 0 ] || fail "$output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 1 ] || fail "$output"
	[[ $output == *out-7* ]] || fail "the failed RUN did not run again: $output"

	# gc keeps the cache's layers (the image is gone), gc --build-cache drops them.
	printf 'FROM localhost/base:1\nRUN cat /proc/sys/kernel/random/uuid >/u\nENV X=1\n' >"$CTX/Dockerfile"
	d1=$(bimg build -q -t localhost/g:1 "$CTX")
	local l layers
	layers=$(cache_layers)
	[ "$(wc -l <<<"$layers")" -eq 2 ] || fail "$layers"
	bimg rm localhost/g:1 >/dev/null
	bimg gc >/dev/null
	for l in $layers; do [ -f "$STORE/blobs/sha256/${l#sha256:}" ] || fail "gc removed $l"; done
	[ "$(bimg build -q -t localhost/g:2 "$CTX")" = "$d1" ]
	bimg rm localhost/g:2 >/dev/null
	run bimg gc --build-cache
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *", 3 build cache entries" ]] || fail "$output"
	for l in $layers; do [ ! -e "$STORE/blobs/sha256/${l#sha256:}" ] || fail "kept $l"; done
	[ -z "$(ls -A "$STORE/.berth/build-cache")" ]
	d2=$(bimg build -q -t localhost/g:3 "$CTX")
	[ "$d2" != "$d1" ]

	# A truncated entry: a warning, and the step runs again.
	e=$(grep -l '"layer"' "$STORE"/.berth/build-cache/*.json)
	truncate -s 20 "$e"
	run bimg build -t localhost/g:4 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"warning: build cache entry "*"the step runs again"* ]] || fail "$output"
	[[ $output != *CACHED* ]] || fail "$output"
	[ "${lines[-1]}" != "$d2" ]
	# A missing layer blob: the same.
	l=$(cache_layers)
	bimg rm localhost/g:4 >/dev/null
	rm "$STORE/blobs/sha256/${l#sha256:}"
	run bimg build -t localhost/g:5 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"warning: build cache entry "*"layer blob $l"* ]] || fail "$output"
	[[ $output != *CACHED* ]] || fail "$output"
	bimg unpack localhost/g:5 "$TEST_DIR/g5" >/dev/null
	no_leftovers
}
