#!/usr/bin/env bats
# berth-image build on a busybox image imported once for the file (each test copies the
# store). The image is checked by what it does (unpacked and run with berth: the RUN's file,
# the copied files with their owner, the CMD in WORKDIR with ENV) and by its config as skopeo
# reads it; multi-stage builds, pulls of a missing base from a registry, .dockerignore,
# wildcards, ADD of archives, HEALTHCHECK, ONBUILD and the command's flags each have a test.
# Bad input gives an error naming the line, tags nothing and leaves no mount behind. podman
# build (buildah) of the same Dockerfiles is the oracle for the tree, the config and the
# history's shape.

load helpers
load ../helpers/registry

# The base image (busybox with only the applets used here: the full applet set costs
# seconds) and a second small image, imported once into a store each test copies.
setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	local R="$BATS_FILE_TMPDIR/src" O="$BATS_FILE_TMPDIR/other" a
	mkdir -p "$R"/{bin,etc,proc,sys,dev,tmp} "$O"
	cp "$BUSYBOX" "$R/bin/busybox"
	for a in sh cat echo mkdir pwd stat ls id chown chmod true; do ln -s busybox "$R/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1002::/:/bin/sh\n' >"$R/etc/passwd"
	printf 'root:x:0:\nstaff:x:1003:\n' >"$R/etc/group"
	chmod 1777 "$R/tmp"
	echo "other image" >"$O/other.txt"
	"$BERTH_IMAGE" --store "$BATS_FILE_TMPDIR/store" import "$R" localhost/base:1 -- /bin/sh >/dev/null
	"$BERTH_IMAGE" --store "$BATS_FILE_TMPDIR/store" import "$O" localhost/other:1 >/dev/null
}

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
	stop_registries
	[ -z "${BG_PID:-}" ] || kill -KILL "$BG_PID" 2>/dev/null || true
	# Whatever a failed test left mounted under its directory (bundles, build steps).
	for m in $(awk -v d="$TEST_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m"
	done
	teardown_common
}

bimg() { "$BERTH_IMAGE" --store "$STORE" "$@"; }

# base_image: this test's store, with localhost/base:1 and localhost/other:1.
base_image() { cp -a "$BATS_FILE_TMPDIR/store" "$STORE"; }

# podman_setup: `pm`, podman on storage of its own (vfs: no overlay mounts to leak), runc as
# its runtime (crun 1.8 refuses this host's hybrid cgroups), with localhost/base:1.
podman_setup() {
	P="$TEST_DIR/podman"
	mkdir -p "$P/tmp"
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$P/containers.conf"
	skopeo copy -q "oci:$STORE:localhost/base:1" "containers-storage:[vfs@$P/root+$P/runroot]localhost/base:1"
}
pm() {
	CONTAINERS_CONF="$P/containers.conf" podman --root "$P/root" --runroot "$P/runroot" \
		--storage-driver vfs --tmpdir "$P/tmp" --cgroup-manager cgroupfs --events-backend file \
		--runtime runc "$@"
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

	local m
	podman_setup
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
	grep -A1 'STEP 4: RUN' <<<"$output" | grep -q -- '--> CACHED' || fail "$output"
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

@test "build cache: multi-stage: COPY --from, wildcards and .dockerignore are keyed by what they copy; --network by what RUN could reach" {
	base_image
	local M="$TEST_DIR/ms" d1
	mkdir -p "$M"
	echo a >"$M/a.txt"
	echo b >"$M/b.txt"
	echo x >"$M/skip.txt"
	echo skip.txt >"$M/.dockerignore"
	cat >"$M/Dockerfile" <<-'EOF'
		FROM localhost/base:1 AS build
		WORKDIR /src
		COPY *.txt ./
		RUN cat /proc/sys/kernel/random/uuid >/src/u
		FROM localhost/base:1
		COPY --from=localhost/other:1 /other.txt /
		COPY --from=build /src /app/
		RUN cat /proc/sys/kernel/random/uuid >/u2
		CMD ["/bin/cat", "/app/u"]
	EOF
	run bimg build -t localhost/m:1 "$M"
	[ "$status" -eq 0 ] || fail "$output"
	d1=${lines[-1]}
	[[ $output != *CACHED* ]] || fail "$output"
	# Nothing changed, and a file the .dockerignore leaves out changed: every step (the
	# COPY --from included) from the cache, the same image.
	echo y >"$M/skip.txt"
	run bimg build -t localhost/m:2 "$M"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[-1]}" = "$d1" ] || fail "rebuild is another image: $output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 7 ] || fail "$output"
	# The stage is built when COPY --from reaches it: its steps print between the COPY's line
	# and the COPY's own CACHED, which is the line before the next step's.
	[ "$(grep -B1 'STEP 8 \[1\]: RUN' <<<"$output" | head -1)" = '--> CACHED' ] || fail "$output"
	no_leftovers

	# A new file the wildcard matches: the build stage's COPY and RUN run again, and so does
	# the COPY --from of that stage; the COPY --from of the image (before it) stays cached.
	echo c >"$M/c.txt"
	run bimg build -t localhost/m:3 "$M"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[-1]}" != "$d1" ] || fail "$output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 2 ] || fail "$output"
	grep -A1 'STEP 6 \[1\]: COPY --from=localhost/other:1' <<<"$output" | grep -q -- '--> CACHED' || fail "$output"
	[ "$(file_of localhost/m:3 /app/c.txt)" = c ]
	[ "$(file_of localhost/m:3 /app/u)" != "$(file_of localhost/m:1 /app/u)" ]

	# --network host: the RUN steps are other steps (WORKDIR, COPY *.txt and the image's
	# COPY --from are not).
	run bimg build --network host -t localhost/m:4 "$M"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "$output"
	! grep -A1 'STEP 4 \[build\]: RUN' <<<"$output" | grep -q -- '--> CACHED' || fail "$output"
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

# cfg IMAGE JQ: a field of the image's config as stored (--raw: without it skopeo re-encodes
# the config as image-spec's type, which has no Healthcheck or OnBuild).
cfg() { skopeo inspect --config --raw "oci:$STORE:$1" | jq -c "$2"; }

@test "build: multi-stage: FROM a stage, COPY --from a name, an index and an image; unneeded stages skipped; --target" {
	base_image
	cat >"$CTX/Dockerfile" <<-'EOF'
		ARG BASE=localhost/base:1
		FROM ${BASE} AS Builder
		RUN echo built >/out && mkdir -p /dir/sub && echo s >/dir/sub/s && chown 1000:1003 /dir/sub/s
		FROM $BASE AS unused
		RUN echo unused stage ran; exit 3
		FROM builder AS second
		RUN echo second >/second
		FROM localhost/base:1
		COPY --from=second /out /second /from-name/
		COPY --from=0 /dir /from-index/
		COPY --from=localhost/other:1 /other.txt /
		CMD ["/bin/cat", "/from-name/out", "/from-name/second", "/from-index/sub/s", "/other.txt"]
	EOF
	run bimg build -t localhost/ms:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output != *"unused stage ran"* ]] || fail "an unneeded stage ran: $output"
	no_leftovers
	bimg unpack localhost/ms:1 "$TEST_DIR/out"
	# COPY --from keeps the source's owners (BuildKit and buildah do).
	[ "$(stat -c '%u:%g' "$TEST_DIR/out/rootfs/from-index/sub/s")" = 1000:1003 ]
	[ ! -e "$TEST_DIR/out/rootfs/out" ] || fail "a stage's layer is in the image"
	run berth run --bundle "$TEST_DIR/out" bld-ms
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = "$(printf 'built\nsecond\ns\nother image')" ] || fail "$output"
	# Only the final stage's layers: the base and three COPY.
	[ "$(cfg localhost/ms:1 '.rootfs.diff_ids | length')" = 4 ]

	run bimg build -q --target second -t localhost/ms:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/ms:2 "$TEST_DIR/out2"
	[ "$(cat "$TEST_DIR/out2/rootfs/out" "$TEST_DIR/out2/rootfs/second")" = "$(printf 'built\nsecond')" ]
	[ "$(cfg localhost/ms:2 '.rootfs.diff_ids | length')" = 3 ]

	# Unknown target and unknown or later stages: the file and line, nothing tagged.
	run bimg build --target nosuch -t localhost/ms:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile: --target 'nosuch': no such stage (stages: builder, unused, second, 3)"* ]] || fail "$output"
	printf 'FROM localhost/base:1\nCOPY --from=nosuch /a /b\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/ms:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: COPY: --from=nosuch: no stage of that name (stages: 0) and no image 'nosuch' in the store"* ]] || fail "$output"
	printf 'FROM localhost/base:1\nCOPY --from=later /a /b\nFROM localhost/base:1 AS later\n' >"$CTX/Dockerfile"
	run bimg build --target 0 -t localhost/ms:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: COPY: --from=later: stage 'later' is not defined before this one"* ]] || fail "$output"
	printf 'FROM localhost/base:1 AS a\nRUN true\nFROM localhost/base:1\nCOPY --from=a /missing /b\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/ms:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:4: COPY: source '/missing'"* ]] || fail "$output"
	run bimg images
	[[ $output != *ms:bad* && $output != *berth-build* ]] || fail "tagged: $output"
	no_leftovers

	# The usual last stage: scratch and a file from a builder; COPY needs no passwd for USER.
	printf 'FROM localhost/base:1 AS b\nRUN echo built >/built\nFROM scratch\nUSER nobody\nCOPY --from=b /built /\n' >"$CTX/Dockerfile"
	run bimg build -q -t localhost/ms:3 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cfg localhost/ms:3 '[.config.User, (.rootfs.diff_ids | length)]')" = '["nobody",1]' ]
	local layer
	layer=$(skopeo inspect --raw "oci:$STORE:localhost/ms:3" | jq -r '.layers[0].digest')
	[ "$(tar -xzOf "$STORE/blobs/sha256/${layer#sha256:}" ./built)" = built ]
}

@test "build: FROM and COPY --from pull an image missing from the store, with --creds" {
	requires registry
	base_image
	export XDG_RUNTIME_DIR="$TEST_DIR/xdg" HOME="$TEST_DIR/home"
	mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
	unset REGISTRY_AUTH_FILE
	start_registry htpasswd
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$STORE:localhost/base:1" "docker://$REG/test/base:1"
	skopeo copy -q --dest-tls-verify=false --dest-creds testuser:testpass \
		"oci:$STORE:localhost/other:1" "docker://$REG/test/other:1"
	rm -rf "$STORE"
	printf 'FROM %s/test/base:1\nCOPY --from=%s/test/other:1 /other.txt /\nRUN cat /other.txt >/ran\n' "$REG" "$REG" >"$CTX/Dockerfile"
	run bimg build -t localhost/pulled:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:1: FROM: base image '$REG/test/base:1': not in the store, and pulling it failed: "* ]] || fail "$output"
	run bimg images
	[[ $output != *pulled* ]] || fail "tagged: $output"
	no_leftovers

	run bimg build --creds testuser:testpass --tls-verify=false -t localhost/pulled:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"Pulling $REG/test/base:1"* && $output == *"Pulling $REG/test/other:1"* ]] || fail "$output"
	# The pulled images stay in the store under their names, as podman build leaves them.
	bimg inspect "$REG/test/base:1" >/dev/null
	bimg inspect "$REG/test/other:1" >/dev/null
	bimg unpack localhost/pulled:1 "$TEST_DIR/out"
	[ "$(cat "$TEST_DIR/out/rootfs/ran")" = "other image" ]
	no_leftovers
}

@test "build: .dockerignore and wildcard sources" {
	base_image
	mkdir -p "$CTX/logs" "$CTX/docs"
	echo a >"$CTX/a.txt"
	echo b >"$CTX/b.txt"
	echo c >"$CTX/c.md"
	echo key >"$CTX/secret.key"
	echo log >"$CTX/logs/x.log"
	echo keep >"$CTX/docs/keep.md"
	echo drop >"$CTX/docs/drop.md"
	cat >"$CTX/.dockerignore" <<-'EOF'
		# secrets and logs
		*.key
		/logs
		docs
		!docs/keep.md
	EOF
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		COPY . /all/
		COPY *.txt /txt/
		COPY d[o]cs/*.md ?.md /md/
	EOF
	run bimg build -q -t localhost/ign:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/ign:1 "$TEST_DIR/out"
	R="$TEST_DIR/out/rootfs"
	# The Dockerfile and .dockerignore are in the context like any file (nothing excludes them).
	[ "$(cd "$R/all" && find . | LC_ALL=C sort | tr '\n' ' ')" = ". ./.dockerignore ./Dockerfile ./a.txt ./b.txt ./c.md ./docs ./docs/keep.md ./sub ./sub/inner " ] || fail "$(cd "$R/all" && find .)"
	[ "$(ls "$R/txt" | tr '\n' ' ')" = "a.txt b.txt " ]
	[ "$(ls "$R/md" | tr '\n' ' ')" = "c.md keep.md " ]

	local line
	for line in 'COPY *.none /x/|source '\''*.none'\'': no file matches' \
		'COPY secret.key /|source '\''secret.key'\'' is excluded by .dockerignore' \
		'COPY logs/x.log /|source '\''logs/x.log'\'' is excluded by .dockerignore' \
		'COPY a.txt b.txt /nodir|with more than one source the destination must be a directory ending in '\''/'\'', not '\''/nodir'\'''; do
		printf 'FROM localhost/base:1\n%s\n' "${line%%|*}" >"$CTX/Dockerfile"
		run bimg build -t localhost/ign:bad "$CTX"
		[ "$status" -ne 0 ] || fail "built: ${line%%|*}"
		[[ $output == *"Dockerfile:2: COPY: ${line#*|}"* ]] || fail "$output"
	done
	run bimg inspect localhost/ign:bad
	[ "$status" -ne 0 ]
	no_leftovers
}

@test "build: ADD unpacks local tar, gzip and zstd archives in-root; a hostile archive or a URL is refused" {
	base_image
	local T="$TEST_DIR/tarsrc"
	mkdir -p "$T/dir"
	echo inside >"$T/dir/f"
	ln -s /etc/passwd "$T/abs"
	tar --numeric-owner --owner=1234 --group=5678 -C "$T" -cf "$CTX/plain.tar" .
	tar --numeric-owner --owner=1234 --group=5678 -C "$T" -czf "$CTX/g.tgz" dir
	tar --numeric-owner --owner=1234 --group=5678 -C "$T" -cf - abs | zstd -q >"$CTX/z.zst"
	echo "not an archive" >"$CTX/fake.tar"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		ADD plain.tar /p
		ADD g.tgz z.zst /g/
		ADD fake.tar /fake.tar
	EOF
	run bimg build -q -t localhost/add:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/add:1 "$TEST_DIR/out"
	R="$TEST_DIR/out/rootfs"
	[ "$(cat "$R/p/dir/f" "$R/g/dir/f")" = "$(printf 'inside\ninside')" ]
	[ "$(stat -c '%u:%g' "$R/p/dir/f" "$R/g/dir")" = "$(printf '1234:5678\n1234:5678')" ]
	[ "$(readlink "$R/p/abs")" = /etc/passwd ] && [ "$(readlink "$R/g/abs")" = /etc/passwd ]
	[ "$(cat "$R/fake.tar")" = "not an archive" ]

	# Hostile archives: a '..' entry, and a file written through an absolute symlink. Both
	# fail the step; nothing reaches the host.
	/usr/bin/python3 - "$CTX" "$TEST_DIR/escaped" <<-'PY'
		import io, sys, tarfile
		ctx, target = sys.argv[1], sys.argv[2]
		def add(t, name, data=b"x", link=None):
		    i = tarfile.TarInfo(name)
		    if link:
		        i.type, i.linkname = tarfile.SYMTYPE, link
		        t.addfile(i)
		    else:
		        i.size = len(data)
		        t.addfile(i, io.BytesIO(data))
		with tarfile.open(ctx + "/dotdot.tar", "w") as t:
		    add(t, "../../../../../../.." + target)
		with tarfile.open(ctx + "/abslink.tar", "w") as t:
		    add(t, "evil", link=target.rsplit("/", 1)[0])
		    add(t, "evil/escaped")
	PY
	for f in dotdot abslink; do
		printf 'FROM localhost/base:1\nADD %s.tar /x/\n' "$f" >"$CTX/Dockerfile"
		run bimg build -t localhost/add:bad "$CTX"
		[ "$status" -ne 0 ] || fail "$f.tar was unpacked"
		[[ $output == *"Dockerfile:2: ADD: unpack '$f.tar': layer entry '"* ]] || fail "$output"
		[ ! -e "$TEST_DIR/escaped" ] || fail "$f.tar wrote outside the rootfs"
	done
	printf 'FROM localhost/base:1\nADD https://example.com/x.tar /x/\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/add:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: ADD: remote source 'https://example.com/x.tar': URLs are not supported"* ]] || fail "$output"
	xz -c "$CTX/plain.tar" >"$CTX/p.xz"
	printf 'FROM localhost/base:1\nADD p.xz /x/\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/add:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: ADD: unpack 'p.xz': xz archives are not supported"* ]] || fail "$output"
	run bimg inspect localhost/add:bad
	[ "$status" -ne 0 ]
	no_leftovers
}

@test "build: HEALTHCHECK and ONBUILD go into the config; a child build runs the triggers and clears them" {
	base_image
	echo hello >"$CTX/hello.txt"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		HEALTHCHECK --interval=5s --timeout=2s --start-period=1m30s --retries=4 \
		    CMD cat /hello || exit 1
		ONBUILD RUN echo "triggered in $STAGE" >/triggered
		ONBUILD COPY hello.txt /from-onbuild
		MAINTAINER someone
	EOF
	run bimg build -q -t localhost/hc:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cfg localhost/hc:1 .config.Healthcheck)" = '{"Interval":5000000000,"Retries":4,"StartPeriod":90000000000,"Test":["CMD-SHELL","cat /hello || exit 1"],"Timeout":2000000000}' ]
	[ "$(cfg localhost/hc:1 .config.OnBuild)" = '["RUN echo \"triggered in $STAGE\" >/triggered","COPY hello.txt /from-onbuild"]' ]
	[ "$(cfg localhost/hc:1 .author)" = '"someone"' ]
	# The parent's own layers are untouched by its triggers.
	[ "$(cfg localhost/hc:1 '.rootfs.diff_ids | length')" = 1 ]

	printf 'FROM localhost/hc:1\nENV STAGE=child\nHEALTHCHECK NONE\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/hc:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"ONBUILD RUN"* ]] || fail "$output"
	[ "$(cfg localhost/hc:2 .config.OnBuild)" = null ]
	[ "$(cfg localhost/hc:2 .config.Healthcheck)" = '{"Test":["NONE"]}' ]
	bimg unpack localhost/hc:2 "$TEST_DIR/out"
	# Triggers run right after FROM: before the child's ENV.
	[ "$(cat "$TEST_DIR/out/rootfs/triggered")" = "triggered in " ]
	[ "$(cat "$TEST_DIR/out/rootfs/from-onbuild")" = hello ]
	# The triggers are steps of the child for the cache too: a rebuild takes all four (two
	# triggers, ENV, HEALTHCHECK) from it and is the same image.
	local d2=${lines[-1]}
	run bimg build -t localhost/hc:2b "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[-1]}" = "$d2" ] || fail "$output"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 4 ] || fail "$output"

	printf 'FROM localhost/base:1\nHEALTHCHECK --interval=5x CMD true\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/hc:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:2: HEALTHCHECK: --interval: invalid duration '5x'"* ]] || fail "$output"
	printf 'FROM localhost/base:1\nONBUILD COPY missing /m\n' >"$CTX/Dockerfile"
	bimg build -q -t localhost/hc:3 "$CTX" >/dev/null
	printf 'FROM localhost/hc:3\n' >"$CTX/Dockerfile"
	run bimg build -t localhost/hc:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:1: COPY: source 'missing'"* ]] || fail "$output"
	run bimg inspect localhost/hc:bad
	[ "$status" -ne 0 ]
	no_leftovers
}

@test "build: --network none|host, --platform, --iidfile, --progress" {
	base_image
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1
		RUN cat /proc/net/dev >/net-build
		RUN --network=host cat /proc/net/dev >/net-step
		RUN --network=none cat /proc/net/dev >/net-none
		COPY resolv.conf /etc/resolv.conf
		RUN --network=host cat /etc/resolv.conf >/resolv-host
		RUN cat /etc/resolv.conf >/resolv-none
	EOF
	echo "nameserver 192.0.2.1" >"$CTX/resolv.conf"
	ifs() { awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "$1" | sort | tr '\n' ' '; }
	run bimg build --progress plain --iidfile "$TEST_DIR/iid" -t localhost/net:1 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	[[ $output == *"STEP 3: RUN --network=host"* ]] || fail "no step lines: $output"
	bimg unpack localhost/net:1 "$TEST_DIR/out"
	R="$TEST_DIR/out/rootfs"
	# Docker's image ID: the config digest, no newline.
	[ "$(cat "$TEST_DIR/iid")" = "$(skopeo inspect --raw "oci:$STORE:localhost/net:1" | jq -r .config.digest)" ]
	[ "$(wc -l <"$TEST_DIR/iid")" = 0 ]
	[ "$(ifs "$R/net-build")" = "lo " ] || fail "$(cat "$R/net-build")"
	[ "$(ifs "$R/net-none")" = "lo " ]
	# The host's interfaces: the default route's among them (others come and go with
	# other tests' containers).
	local dev
	dev=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route)
	[ -n "$dev" ] || skip "no default route"
	[[ " $(ifs "$R/net-step")" == *" $dev "* ]] || fail "$(cat "$R/net-step")"
	# The host's name resolution is bound over the image's file for the step only.
	[ ! -r /etc/resolv.conf ] || cmp "$R/resolv-host" /etc/resolv.conf
	[ "$(cat "$R/resolv-none" "$R/etc/resolv.conf")" = "$(printf 'nameserver 192.0.2.1\nnameserver 192.0.2.1')" ]

	run bimg build -q --network host -t localhost/net:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/net:2 "$TEST_DIR/out2"
	[[ " $(ifs "$TEST_DIR/out2/rootfs/net-build")" == *" $dev "* ]]
	[ "$(ifs "$TEST_DIR/out2/rootfs/net-none")" = "lo " ]

	local arch
	case $(uname -m) in x86_64) arch=amd64 other=arm64 ;; aarch64) arch=arm64 other=amd64 ;; *) skip "arch" ;; esac
	printf 'FROM --platform=$BUILDPLATFORM localhost/base:1\nARG TARGETARCH\nRUN echo $TARGETARCH >/arch\n' >"$CTX/Dockerfile"
	run bimg build -q --platform "linux/$arch" -t localhost/net:3 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/net:3 "$TEST_DIR/out3"
	[ "$(cat "$TEST_DIR/out3/rootfs/arch")" = "$arch" ]
	run bimg build --platform "linux/$other" -t localhost/net:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"--platform: platform 'linux/$other' is not this host's (linux/$arch)"* ]] || fail "$output"
	printf 'FROM --platform=linux/%s localhost/base:1\n' "$other" >"$CTX/Dockerfile"
	run bimg build -t localhost/net:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:1: FROM: --platform: platform 'linux/$other' is not this host's"* ]] || fail "$output"
	for bad in "--network bridge" "--progress fancy"; do
		run bimg build $bad -t localhost/net:bad "$CTX"
		[ "$status" -ne 0 ] || fail "$bad accepted"
		[[ $output == *"build: ${bad%% *} '${bad#* }': expected"* ]] || fail "$output"
	done
	run bimg inspect localhost/net:bad
	[ "$status" -ne 0 ]
	no_leftovers
}

@test "build: podman build of a multi-stage Dockerfile (COPY --from, HEALTHCHECK, ONBUILD, .dockerignore, wildcards) gives the same tree and config" {
	requires podman runc
	base_image
	mkdir -p "$CTX/docs"
	echo a >"$CTX/a.txt"
	echo b >"$CTX/b.txt"
	echo log >"$CTX/x.log"
	echo keep >"$CTX/docs/keep.md"
	echo secret >"$CTX/docs/secret.md"
	echo ok >"$CTX/docs/secret-ok.md"
	printf '*.log\ndocs/secret*\n!docs/secret-ok.md\n' >"$CTX/.dockerignore"
	cat >"$CTX/Dockerfile" <<-'EOF'
		FROM localhost/base:1 AS build
		WORKDIR /src
		COPY *.txt ./
		RUN mkdir -p /out && cat a.txt b.txt >/out/ab && echo x >/out/x && chmod 640 /out/x && chown 1000:1003 /out/x
		FROM localhost/base:1 AS unused
		RUN exit 1
		FROM localhost/base:1
		COPY --from=build /out /app/
		COPY --from=0 /src/a.txt /app/a-copy
		COPY . /ctx/
		COPY --chown=user:staff docs/*.md /docs/
		HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD cat /app/ab
		ONBUILD RUN echo child
		STOPSIGNAL SIGINT
		ENTRYPOINT ["/bin/cat"]
		CMD ["/app/ab"]
	EOF
	run bimg build -q -t localhost/cmp:2 "$CTX"
	[ "$status" -eq 0 ] || fail "$output"

	local m S
	podman_setup
	# Docker's format: buildah drops HEALTHCHECK and ONBUILD from OCI configs.
	run pm build -q --format docker --network none -t localhost/cmp:2 "$CTX"
	[ "$status" -eq 0 ] || fail "podman build: $output"
	m=$(pm image mount localhost/cmp:2)
	python3 "$BERTH_SRC/tests/helpers/tree_digest.py" "$m" | grep -v -e '^run ' -e '^etc/hostname ' >"$TEST_DIR/t-podman"
	pm image umount localhost/cmp:2 >/dev/null
	bimg unpack localhost/cmp:2 "$TEST_DIR/out"
	python3 "$BERTH_SRC/tests/helpers/tree_digest.py" "$TEST_DIR/out/rootfs" >"$TEST_DIR/t-berth"
	diff "$TEST_DIR/t-podman" "$TEST_DIR/t-berth" || fail "trees differ"

	# Docker's format writes empty fields ("User": "") that an OCI config leaves out.
	local fields='.config | {Env, Entrypoint, Cmd, Healthcheck, OnBuild, StopSignal, User: (.User // ""), WorkingDir: (.WorkingDir // ""), ExposedPorts: (.ExposedPorts // {}), Volumes: (.Volumes // {}), Labels: ((.Labels // {}) | del(.["io.buildah.version"]))}'
	S="containers-storage:[vfs@$P/root+$P/runroot]localhost/cmp:2"
	skopeo inspect --config --raw "$S" | jq -S "$fields" >"$TEST_DIR/c-podman"
	skopeo inspect --config --raw "oci:$STORE:localhost/cmp:2" | jq -S "$fields" >"$TEST_DIR/c-berth"
	diff "$TEST_DIR/c-podman" "$TEST_DIR/c-berth" || fail "configs differ"
	grep -q '"Interval": 30000000000' "$TEST_DIR/c-berth"
	skopeo inspect --config "$S" | jq -c '[.history[] | .empty_layer // false]' >"$TEST_DIR/h-podman"
	skopeo inspect --config "oci:$STORE:localhost/cmp:2" | jq -c '[.history[] | .empty_layer // false]' >"$TEST_DIR/h-berth"
	diff "$TEST_DIR/h-podman" "$TEST_DIR/h-berth" || fail "history differs"
	pm rmi -a -f >/dev/null 2>&1 || true
}

@test "build: a relative --store is the same store for the RUN steps" {
	base_image
	printf 'FROM localhost/base:1\nRUN echo rel >/rel\n' >"$CTX/Dockerfile"
	cd "$TEST_DIR"
	run "$BERTH_IMAGE" --store store build -q -t localhost/rel:1 ctx
	[ "$status" -eq 0 ] || fail "$output"
	bimg unpack localhost/rel:1 "$TEST_DIR/out"
	[ "$(cat "$TEST_DIR/out/rootfs/rel")" = rel ]
}
