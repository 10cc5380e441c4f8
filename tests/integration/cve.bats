#!/usr/bin/env bats
# One test per published runc/crun/umoci/containerd vulnerability that had no test elsewhere
# (docs/security.md maps every CVE to its test). Each test makes the hostile image or bundle
# the advisory describes, drives the real `berth` / `berth-image` with it, and checks what a
# vulnerable implementation would have changed: host canaries, ids inside, mounts, modes.

load helpers
load ../helpers/registry

IMG="$BERTH_SRC/tests/helpers/oci_image.py"

setup() {
	requires root
	setup_common
	STORE="$TEST_DIR/store"
	VICTIM="$TEST_DIR/victim"
	mkdir -p "$VICTIM"
	echo canary >"$VICTIM/canary"
	chmod 0640 "$VICTIM/canary"
	touch -d @1500000000 "$VICTIM/canary"
	VICTIM_STAT=$(stat -c '%a %u %g %Y' "$VICTIM" "$VICTIM/canary")
}

teardown() {
	local stray=0
	if [ -n "${TEST_DIR:-}" ] && grep -q "$TEST_DIR" /proc/self/mountinfo; then stray=1; fi
	stop_registries
	teardown_common
	[ "$stray" -eq 0 ] || fail "stray mount under the test directory"
}

bimg() { "$BERTH_IMAGE" --store "$STORE" "$@"; }

# victim_untouched: the host files the hostile inputs aim at are as they were.
victim_untouched() {
	[ "$(ls -A "$VICTIM")" = canary ] || fail "victim dir changed: $(ls -A "$VICTIM")"
	[ "$(cat "$VICTIM/canary")" = canary ] || fail "canary content changed"
	[ "$(stat -c '%a %u %g %Y' "$VICTIM" "$VICTIM/canary")" = "$VICTIM_STAT" ] ||
		fail "victim mode/owner/mtime changed: $(stat -c '%a %u %g %Y' "$VICTIM" "$VICTIM/canary")"
}

# base_layer: a busybox rootfs as an uncompressed layer tar ($TEST_DIR/base.tar).
base_layer() {
	make_rootfs "$TEST_DIR/base"
	tar -C "$TEST_DIR/base" --numeric-owner -cf "$TEST_DIR/base.tar" .
}

# image REF CONFIG [EXTRA-LAYER...]: base layer plus extra layers, stored as REF.
image() {
	local ref=$1 cfg=$2
	shift 2
	mkdir -p "$STORE"
	python3 "$IMG" "$STORE" "$ref" "$cfg" "$TEST_DIR/base.tar" "$@"
}

# tarpy OUT PYTHON: a layer tar written by Python's tarfile; PYTHON calls
# add(name, kind, data=, link=, mode=, uid=, gid=, mtime=).
tarpy() {
	local out=$1 body=$2
	python3 - "$out" <<-PY
		import io, sys, tarfile
		t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
		def add(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, uid=0, gid=0, mtime=1600000000):
		    i = tarfile.TarInfo(name); i.type = kind; i.size = len(data); i.mode = mode
		    i.uid = uid; i.gid = gid; i.mtime = mtime; i.linkname = link
		    t.addfile(i, io.BytesIO(data) if data else None)
		$body
		t.close()
	PY
}

# run_bundle DIR ID: runs the unpacked bundle in the foreground.
run_bundle() {
	"$BERTH" --root "$ROOT" run -b "$1" "$2" </dev/null
}

# --- image config: users and groups -------------------------------------------------------

@test "CVE-2024-40635: a uid past 31 bits is kept exactly or refused, never wraps to root" {
	base_layer
	image localhost/cve:big '{"User": "2147483648", "Cmd": ["/bin/sh", "-c", "id -u; id -g"]}'
	run bimg unpack localhost/cve:big "$TEST_DIR/b1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -c .process.user "$TEST_DIR/b1/config.json")" = '{"uid":2147483648,"gid":0}' ]
	run run_bundle "$TEST_DIR/b1" big
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = 2147483648 ] || fail "$output"

	# Past 32 bits there is no such uid: an error naming the user, not uid 0.
	image localhost/cve:huge '{"User": "4294967296:4294967296", "Cmd": ["/bin/true"]}'
	run bimg unpack localhost/cve:huge "$TEST_DIR/b2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"image User '4294967296:4294967296'"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/b2" ]

	# The runtime reads process.user.uid as a JSON number: out of uint32 range is refused
	# naming the field, before anything is created.
	setup_bundle id -u
	for uid in 4294967296 -1 1e10; do
		update_config ".process.user.uid = $uid"
		run berth run -b "$BUNDLE" huge-uid
		[ "$status" -ne 0 ]
		[[ "$output" == *"process.user.uid"* ]] || fail "uid $uid: $output"
		[ -z "$(berth list -q)" ]
	done
}

@test "CVE-2016-3697: a numeric User is a uid even when /etc/passwd has a user of that name" {
	base_layer
	# A user literally named "1234" whose uid is 0: runc before 0.1.0 picked it.
	tarpy "$TEST_DIR/pw.tar" '
add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n1234:x:0:0:trap:/root:/bin/sh\n")'
	image localhost/cve:num '{"User": "1234", "Cmd": ["/bin/sh", "-c", "id -u"]}' "$TEST_DIR/pw.tar"
	run bimg unpack localhost/cve:num "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -r .process.user.uid "$TEST_DIR/b/config.json")" = 1234 ]
	run run_bundle "$TEST_DIR/b" num
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = 1234 ]
}

@test "CVE-2023-25173: the image user's supplementary groups apply; the caller's never leak in" {
	base_layer
	# /secret is readable by "other" but not by group extra (2000): a process that fails to
	# take its supplementary group reads it.
	tarpy "$TEST_DIR/sec.tar" '
add("secret", data=b"secret\n", mode=0o604, gid=2000)'
	image localhost/cve:grp '{"User": "user", "Cmd": ["/bin/sh", "-c", "id -G; cat /secret"]}' "$TEST_DIR/sec.tar"
	run bimg unpack localhost/cve:grp "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -c .process.user "$TEST_DIR/b/config.json")" = '{"uid":1000,"gid":1000,"additionalGids":[2000]}' ]
	run run_bundle "$TEST_DIR/b" grp
	echo "$output"
	[ "${lines[0]}" = "1000 2000" ]
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" != *"secret"$'\n'* && "${lines[-1]}" != secret ]]

	# The runtime: groups of whoever calls berth are dropped (setgroups to exactly the list).
	setup_bundle id -G
	update_config '.process.user = {"uid": 1000, "gid": 1000}'
	run setpriv --groups 4242,4343 "$BERTH" --root "$ROOT" run -b "$BUNDLE" nogroups
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = 1000 ]
}

@test "CVE-2026-47262: an oversized /etc/group or /etc/passwd is refused or skipped, not parsed" {
	base_layer
	# 64 MiB of one endless line: read whole, it is a memory bomb.
	python3 -c 'import sys; sys.stdout.buffer.write(b"g:x:5:" + b"u," * (32 << 20) + b"u\n")' >"$TEST_DIR/group"
	tarpy "$TEST_DIR/grp.tar" "
add('etc/group', data=open('$TEST_DIR/group', 'rb').read())"
	image localhost/cve:bomb '{"User": "user", "Cmd": ["/bin/true"]}' "$TEST_DIR/grp.tar"
	run bimg unpack localhost/cve:bomb "$TEST_DIR/b"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == *"/etc/group"* ]] || fail "$output"
	[ ! -e "$TEST_DIR/b" ]

	# The runtime reads the container's /etc/passwd for HOME: a huge one is not read whole.
	setup_bundle sh -c 'echo "HOME=$HOME"'
	truncate -s 8G "$BUNDLE/rootfs/etc/passwd"
	update_config '.process.env = ["PATH=/bin"] | .process.user = {"uid": 1000, "gid": 1000}'
	run berth run -b "$BUNDLE" bigpw
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = HOME=/ ]
}

# --- image config: volumes -----------------------------------------------------------------

@test "CVE-2022-23648: an image volume that is a symlink to a host path exposes nothing" {
	base_layer
	tarpy "$TEST_DIR/vol.tar" "
add('data', tarfile.SYMTYPE, link='$VICTIM')
add('rel', tarfile.SYMTYPE, link='../../../../../../..$VICTIM')"
	image localhost/cve:vol '{"Volumes": {"/data": {}, "/rel": {}}, "Cmd": ["/bin/sh", "-c", "ls -A /data /rel; cat /data/canary /rel/canary; grep -c '"$VICTIM"' /proc/self/mountinfo"]}' "$TEST_DIR/vol.tar"
	run bimg unpack localhost/cve:vol "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	# Nothing of the image volume's content is copied in on the host side.
	[ "$(jq -c '[.mounts[] | select(.destination=="/data" or .destination=="/rel") | .type]' "$TEST_DIR/b/config.json")" = '["tmpfs","tmpfs"]' ]
	run run_bundle "$TEST_DIR/b" vol
	echo "$output"
	# The volumes are empty tmpfs mounted where the symlinks lead *inside* the rootfs.
	[[ "$output" != *canary$'\n'* ]]
	[[ "$output" == *"can't open '/data/canary'"* ]]
	[ -d "$TEST_DIR/b/rootfs$VICTIM" ]
	victim_untouched
	# With copy-up asked (podman's habit for volumes) the runtime copies what is at the
	# target *inside* the root: still nothing of the host.
	jq '.mounts |= map(if .destination == "/data" then .options += ["tmpcopyup"] else . end)' \
		"$TEST_DIR/b/config.json" >"$TEST_DIR/c" && mv "$TEST_DIR/c" "$TEST_DIR/b/config.json"
	run run_bundle "$TEST_DIR/b" vol2
	echo "$output"
	[[ "$output" != *canary$'\n'* ]]
	[[ "$output" == *"can't open '/data/canary'"* ]]
	victim_untouched
}

# --- layers ------------------------------------------------------------------------------

@test "CVE-2021-32760: a layer cannot chmod, chown or retime a host file through a symlink" {
	base_layer
	# A symlink entry with setuid mode bits, then entries of the same names that a naive
	# extractor applies with chmod/chown/utimes (all of which follow symlinks).
	tarpy "$TEST_DIR/l1.tar" "
add('f', tarfile.SYMTYPE, link='$VICTIM/canary', mode=0o4777, uid=1234, gid=1234)
add('d', tarfile.SYMTYPE, link='$VICTIM', mode=0o1777, uid=1234, gid=1234)
add('rel', tarfile.SYMTYPE, link='../../../../../../../..$VICTIM/canary', mode=0o6777)"
	tarpy "$TEST_DIR/l2.tar" "
add('d', tarfile.DIRTYPE, mode=0o777, uid=1234, gid=1234, mtime=1)
add('f', tarfile.DIRTYPE, mode=0o4777, uid=1234, gid=1234, mtime=1)
add('rel', tarfile.REGTYPE, data=b'x', mode=0o6777, uid=1234, mtime=1)"
	image localhost/cve:chmod '{"Cmd": ["/bin/true"]}' "$TEST_DIR/l1.tar" "$TEST_DIR/l2.tar"
	run bimg unpack localhost/cve:chmod "$TEST_DIR/b"
	echo "$output"
	victim_untouched
	if [ "$status" -eq 0 ]; then
		# Applied: the later entries replaced the symlinks inside the rootfs.
		[ "$(stat -c '%F %a %u' "$TEST_DIR/b/rootfs/d")" = "directory 777 1234" ]
		[ "$(stat -c '%F %a' "$TEST_DIR/b/rootfs/rel")" = "regular file 6777" ]
	fi
	# The same with only the symlink layer, unpacked as a snapshot (another code path).
	image localhost/cve:chmod1 '{"Cmd": ["/bin/true"]}' "$TEST_DIR/l1.tar"
	run bimg unpack --snapshot localhost/cve:chmod1 "$TEST_DIR/b1"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(readlink "$TEST_DIR/b1/rootfs/f")" = "$VICTIM/canary" ]
	bimg umount "$TEST_DIR/b1"
	victim_untouched
}

# --- permissions of what berth-image writes ------------------------------------------------

@test "CVE-2021-41103/CVE-2024-25621: other users cannot reach setuid files of unpacked images" {
	base_layer
	tarpy "$TEST_DIR/suid.tar" '
add("bin/suidsh", data=b"#!/bin/sh\n", mode=0o4755)'
	image localhost/cve:suid '{"Cmd": ["/bin/true"]}' "$TEST_DIR/suid.tar"
	run bimg unpack localhost/cve:suid "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(stat -c %a "$TEST_DIR/b/rootfs/bin/suidsh")" = 4755 ]
	# $TEST_DIR is 0755, as any parent a user picks may be: the bundle itself must close.
	[ "$(stat -c %a "$TEST_DIR/b")" = 700 ]
	run setpriv --reuid 65534 --regid 65534 --clear-groups stat "$TEST_DIR/b/rootfs/bin/suidsh"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]] || fail "$output"
	# The snapshot layer cache too.
	run bimg unpack --snapshot localhost/cve:suid "$TEST_DIR/s"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(stat -c %a "$TEST_DIR/s")" = 700 ]
	run setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "ls $STORE/.berth/layers/*/fs/bin/suidsh; stat $TEST_DIR/s/rootfs/bin/suidsh"
	[ "$status" -ne 0 ]
	bimg umount "$TEST_DIR/s"
	# And the runtime's state directory holds nothing another user may open.
	setup_bundle sleep 10
	berth run -d -b "$BUNDLE" st
	local f
	for f in state.json config.json; do
		[ -f "$ROOT/st/$f" ]
		run setpriv --reuid 65534 --regid 65534 --clear-groups cat "$ROOT/st/$f"
		[ "$status" -ne 0 ] || fail "$f readable by nobody"
	done
}

@test "GHSA-7ww5-4wqc-m92c: bundles from berth-image mask /sys/devices/virtual/powercap (RAPL)" {
	base_layer
	image localhost/cve:rapl '{"Cmd": ["/bin/sh", "-c", "ls -A /sys/devices/virtual/powercap 2>/dev/null | wc -l"]}'
	run bimg unpack localhost/cve:rapl "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '.linux.maskedPaths | index("/sys/devices/virtual/powercap")' "$TEST_DIR/b/config.json"
	run run_bundle "$TEST_DIR/b" rapl
	[ "$status" -eq 0 ] || fail "$output"
	[ "$output" = 0 ]
}

# --- runtime: /dev --------------------------------------------------------------------------

@test "CVE-2025-52565/CVE-2026-88264: /dev/console made from the pty fd, never through a symlink" {
	setup_bundle sh -c 'stat -c "%F %t" /dev/console; tty'
	update_config '.process.terminal = true'
	SOCK="$TEST_DIR/tty.sock"
	# Without a /dev mount the image's own /dev is used: its console is a symlink out.
	update_config '.mounts |= map(select(.destination != "/dev" and .destination != "/dev/pts"))'
	mkdir -p "$BUNDLE/rootfs/dev"
	ln -s "$VICTIM/console" "$BUNDLE/rootfs/dev/console"
	# And /dev/pts is a bind of a directory of symlinks pretending to be pty slaves.
	mkdir -p "$TEST_DIR/fakepts"
	for n in 0 1 2 3 4 5 6 7 8 9 ptmx; do ln -s /proc/sys/kernel/core_pattern "$TEST_DIR/fakepts/$n"; done
	update_config '.mounts += [{"destination": "/dev/pts", "type": "bind", "source": "'"$TEST_DIR/fakepts"'", "options": ["rbind"]}]'
	local core
	core=$(cat /proc/sys/kernel/core_pattern)
	"$BERTH_BUILD/tests/recvtty" "$SOCK" >"$TEST_DIR/tty.out" 2>&1 &
	local rp=$! i
	for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	run berth run -d --console-socket "$SOCK" -b "$BUNDLE" con
	echo "$output"
	if [ "$status" -eq 0 ]; then
		wait "$rp" || true
		cat "$TEST_DIR/tty.out"
		# The console is the pty (major 0x88 = 136), bound over the name inside the rootfs.
		grep -q "character special file 88" "$TEST_DIR/tty.out"
	else
		kill "$rp" 2>/dev/null || true
		[[ "$output" == berth:* ]]
	fi
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$core" ]
	victim_untouched
}

@test "CVE-2026-88265: a /dev/null symlink to a host file never becomes the container's stdio" {
	setup_bundle sh -c 'echo out; echo err >&2; echo x >/dev/null'
	# A non-root user: a runtime that reopened the symlink and chowned it to the process
	# user would change the canary's owner.
	update_config '.mounts |= map(select(.destination != "/dev")) | .process.user = {"uid": 1000, "gid": 1000}'
	ln -s "$VICTIM/canary" "$BUNDLE/rootfs/dev/null"
	run berth run -b "$BUNDLE" devnull
	echo "$output"
	victim_untouched
	if [ "$status" -eq 0 ]; then
		# The node berth made is the real null device, inside the root.
		[ "$(stat -c '%F %t,%T' "$BUNDLE/rootfs/dev/null")" = "character special file 1,3" ]
	fi
}

# --- runtime: the parent/child channel -----------------------------------------------------

@test "CVE-2021-43784: strings over 64 KiB reach the container intact (no length truncation)" {
	setup_bundle sh -c 'printf %s "$BIG" | wc -c; printf %s "$BIG" | md5sum; cat /proc/self/cmdline | wc -c'
	local big
	big=$(head -c 100000 /dev/zero | tr '\0' A)
	update_config --arg big "BIG=$big" '.process.env += [$big]'
	run berth run -b "$BUNDLE" bigenv
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = 100000 ]
	[ "${lines[1]}" = "$(printf %s "$big" | md5sum)" ]
	# A namespace path of that length is refused as a path, not misread as something else.
	update_config --arg p "/proc/self/ns/$(head -c 70000 /dev/zero | tr '\0' x)" '.linux.namespaces += [{"type": "cgroup", "path": $p}]'
	run berth run -b "$BUNDLE" bigns
	[ "$status" -ne 0 ]
	[[ "$output" == berth:* ]] || fail "$output"
	[ -z "$(berth list -q)" ]
}

# --- berth exec -------------------------------------------------------------------------

@test "CVE-2024-21626 (exec): --cwd /proc/self/fd/N never lands in a host directory" {
	setup_bundle sleep 60
	berth run -d -b "$BUNDLE" ex1
	local n
	for n in 3 4 5 6 7 8 9; do
		run berth exec --cwd "/proc/self/fd/$n" ex1 sh -c 'ls ..; pwd'
		[[ "$output" != *"$TEST_DIR"* ]] || fail "fd $n: $output"
		[[ "$output" != *bundle* ]] || fail "fd $n: $output"
	done
	run berth exec ex1 sh -c 'ls -l /proc/self/fd/ 2>/dev/null | grep -c -- "->"'
	[ "$status" -eq 0 ]
	[ "$output" -le 4 ] || fail "fds: $output"
}

@test "CVE-2019-5736/CVE-2016-9962 (exec): the joining process exposes neither the berth binary nor host fds" {
	setup_bundle sleep 60
	berth run -d -b "$BUNDLE" ex2
	# While exec's helper runs in the container, pid 1's view of it (via /proc) must not
	# reach the host berth binary (CVE-2019-5736) nor any host fd (CVE-2016-9962).
	run berth exec ex2 sh -c 'for p in /proc/[0-9]*; do readlink $p/exe; ls -l $p/fd 2>/dev/null; done'
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" != *"$BERTH"* && "$output" != *"$TEST_DIR"* ]] || fail "$output"
	run berth exec ex2 sh -c 'echo x >/proc/self/exe'
	[ "$status" -ne 0 ]
	[ -x "$BERTH" ]
}

# --- runtime: cgroupfs in a user namespace -------------------------------------------------

@test "CVE-2023-25809: a user-namespaced container without a cgroup namespace cannot write cgroupfs" {
	setup_bundle
	(cd "$BUNDLE" && rm config.json && "$BERTH" spec --rootless)
	local cg="berth-cve-$$-$RANDOM"
	# berth spec --rootless: user namespace (root mapped to the caller), no cgroup namespace,
	# /sys an rbind of the host's — the two conditions of the advisory.
	update_config '.process.terminal = false | .linux.cgroupsPath = "/'"$cg"'"'
	update_config '.process.args = ["sh", "-c", "stat -f -c %T /sys/fs/cgroup; for d in /sys/fs/cgroup/*; do mkdir $d/probe 2>/dev/null && echo WROTE $d; done; true"]'
	run berth run -b "$BUNDLE" rl
	# Clean up anything a vulnerable runtime let through, before judging.
	rmdir /sys/fs/cgroup/*/"$cg"/probe /sys/fs/cgroup/*/probe 2>/dev/null || true
	echo "$output"
	[ "$status" -eq 0 ]
	# The top is the container's own tmpfs (v1, hybrid) or a read-only cgroup2; every
	# hierarchy in it refuses a new cgroup.
	[[ "${lines[0]}" == tmpfs || "${lines[0]}" == cgroup2fs ]]
	[[ "$output" != *WROTE* ]]
}

# --- image labels and capabilities in berth-image bundles ----------------------------------

@test "CVE-2022-24769/CVE-2022-27650: berth-image bundles start with no inheritable or ambient capabilities" {
	base_layer
	image localhost/cve:caps '{"Cmd": ["/bin/sh", "-c", "grep -E \"^Cap(Inh|Amb):\" /proc/self/status"]}'
	run bimg unpack localhost/cve:caps "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -c '.process.capabilities.inheritable // []' "$TEST_DIR/b/config.json")" = '[]' ]
	run run_bundle "$TEST_DIR/b" caps
	[ "$status" -eq 0 ] || fail "$output"
	[ "${lines[0]}" = "CapInh:	0000000000000000" ] || fail "$output"
	[ "${lines[1]}" = "CapAmb:	0000000000000000" ] || fail "$output"
}

@test "CVE-2026-53488: image labels become annotations and drive nothing on the host" {
	base_layer
	# Labels that mean something to some runtime or plugin (crun's hook output file, systemd
	# unit properties, a logger binary): berth must act on none of them.
	local labels
	labels=$(jq -cn --arg v "$VICTIM" '{
		"run.oci.hooks.stdout": ($v + "/hook-out"),
		"run.oci.hooks.stderr": ($v + "/hook-err"),
		"org.systemd.property.ExecStartPre": ("/bin/touch " + $v + "/systemd"),
		"io.containerd.runtime.v2.shim.log": ("binary:///bin/touch?" + $v + "/log")}')
	image localhost/cve:labels '{"Labels": '"$labels"', "Cmd": ["/bin/true"]}'
	run bimg unpack localhost/cve:labels "$TEST_DIR/b"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq -r '.annotations["run.oci.hooks.stdout"]' "$TEST_DIR/b/config.json")" = "$VICTIM/hook-out" ]
	jq '.hooks = {"prestart": [{"path": "/bin/true"}]}' "$TEST_DIR/b/config.json" >"$TEST_DIR/c" &&
		mv "$TEST_DIR/c" "$TEST_DIR/b/config.json"
	run run_bundle "$TEST_DIR/b" labels
	[ "$status" -eq 0 ] || fail "$output"
	run "$BERTH" --root "$ROOT" --systemd-cgroup run -b "$TEST_DIR/b" labels2 </dev/null
	victim_untouched
}

# --- registry: index graphs -----------------------------------------------------------------

@test "CVE-2026-53493: an index pointing at another index is refused, not walked" {
	requires registry umoci skopeo
	start_registry plain
	simple_image test/nest:base
	local api="http://$REG/v2/test/nest/manifests" mt d0 i1 d1 i2
	curl -sf -o "$TEST_DIR/m.json" -H "Accept: application/vnd.oci.image.manifest.v1+json" "$api/base"
	mt=$(jq -r '.mediaType // "application/vnd.oci.image.manifest.v1+json"' "$TEST_DIR/m.json")
	d0="sha256:$(sha256sum <"$TEST_DIR/m.json" | cut -d' ' -f1)"
	# index1 -> the image; index2 -> index1 fifty times: a graph a naive client walks level
	# after level, multiplying the work.
	jq -cjn --arg mt "$mt" --arg d "$d0" --argjson s "$(stat -c %s "$TEST_DIR/m.json")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		  manifests: [{mediaType: $mt, digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}]}' >"$TEST_DIR/i1.json"
	d1="sha256:$(sha256sum <"$TEST_DIR/i1.json" | cut -d' ' -f1)"
	curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$TEST_DIR/i1.json" "$api/$d1" >/dev/null
	jq -cjn --arg d "$d1" --argjson s "$(stat -c %s "$TEST_DIR/i1.json")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		  manifests: [range(0; 50) | {mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
		  platform: {architecture: "amd64", os: "linux"}}]}' >"$TEST_DIR/i2.json"
	curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$TEST_DIR/i2.json" "$api/nested" >/dev/null
	# The one-level index is pulled; the nested one is refused before any blob is fetched.
	run bimg pull "$REG/test/nest@$d1"
	[ "$status" -eq 0 ] || fail "$output"
	STORE="$TEST_DIR/store2"
	start_proxy
	run bimg pull "$PROXY/test/nest:nested"
	echo "$output"
	cat "$PROXY_LOG"
	[ "$status" -ne 0 ]
	[[ "${lines[-1]}" == "berth-image: pull '$PROXY/test/nest:nested': "* ]]
	# Refused from the first document: index1 was never fetched, nor any blob.
	[ "$(grep -c "/manifests/" "$PROXY_LOG")" -eq 1 ]
	! grep -q "$d1\|/blobs/" "$PROXY_LOG"
	[ -z "$(ls -A "$STORE/blobs/sha256" 2>/dev/null)" ]
}
