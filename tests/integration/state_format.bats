#!/usr/bin/env bats
# Upgrades: containers outlive the berth that made them, so the state a previous berth wrote
# must be read by this one (state.json's `state_format`, docs/packaging.md). A format-0 file
# written by berth 0.1.0 is kept as a fixture; a newer format than this berth knows is refused
# with a message that says what to do, and the container is left alone.

load helpers

FIXTURE_CG=berth-state-v0

setup() {
	requires root
	setup_common
}

teardown() {
	# A test that failed half-way may leave a container marked with a future format, which
	# this berth cannot delete: put the current format back so teardown_common can.
	local f
	for f in "${ROOT:-/nonexistent}"/*/state.json; do
		[ -f "$f" ] || continue
		jq -c '.state_format = 1' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
	done
	teardown_common
	local d
	for d in /sys/fs/cgroup/*/"$FIXTURE_CG"/state-v0 /sys/fs/cgroup/*/"$FIXTURE_CG"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
}

@test "berth writes state_format 1 into state.json" {
	setup_bundle sleep 100
	cd "$BUNDLE"
	berth create fmt </dev/null >/dev/null 2>&1
	[ "$(jq .state_format "$ROOT/fmt/state.json")" = 1 ]
	berth delete -f fmt
}

@test "a state.json from berth 0.1.0 (no state_format) is read: state, list, delete" {
	requires hybrid
	BUNDLE=$TEST_DIR/bundle
	mkdir -p "$BUNDLE/rootfs" "$ROOT/state-v0"
	# The file as berth 0.1.0 wrote it for a stopped container, moved to this test's bundle.
	sed "s|/tmp/berth-state-v0/bundle|$BUNDLE|g" "$BERTH_SRC/tests/fixtures/state/v0-hybrid.json" \
		>"$ROOT/state-v0/state.json"
	! grep -q state_format "$ROOT/state-v0/state.json"
	# A stopped container keeps its cgroups until delete: make the ones the fixture names.
	local cgs
	cgs=$(jq -r '.cgroup.v1[], .cgroup.v2' "$ROOT/state-v0/state.json")
	for d in $cgs; do mkdir -p "$d"; done

	run berth state state-v0
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = stopped ]
	[ "$(jq -r .bundle <<<"$output")" = "$BUNDLE" ]
	[ "$(jq -r .created <<<"$output")" = 2026-12-02T05:39:15.750111293Z ]
	[ "$(berth list -q)" = state-v0 ]
	run berth delete state-v0
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/state-v0" ]
	for d in $cgs; do [ ! -d "$d" ] || fail "delete left the cgroup $d"; done
}

@test "a running container whose state.json has no state_format is managed to the end" {
	setup_bundle sleep 100
	cd "$BUNDLE"
	berth create old </dev/null >/dev/null 2>&1
	berth start old
	# What berth 0.1.0 wrote: the same fields without state_format.
	jq -c 'del(.state_format)' "$ROOT/old/state.json" >"$TEST_DIR/s" && mv "$TEST_DIR/s" "$ROOT/old/state.json"
	pid=$(berth state old | jq -r .pid)
	[ "$(berth state old | jq -r .status)" = running ]
	run berth exec old /bin/echo still here
	[ "$status" -eq 0 ]
	[ "$output" = "still here" ]
	berth kill old KILL
	for i in $(seq 50); do
		[ "$(berth state old | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	[ "$(berth state old | jq -r .status)" = stopped ]
	berth delete old
	[ ! -e "$ROOT/old" ]
	[ ! -d /proc/$pid ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
}

@test "a newer state format is refused with a message saying what to do, nothing touched" {
	setup_bundle sleep 100
	cd "$BUNDLE"
	berth create new </dev/null >/dev/null 2>&1
	pid=$(berth state new | jq -r .pid)
	jq -c '.state_format = 99' "$ROOT/new/state.json" >"$TEST_DIR/s" && mv "$TEST_DIR/s" "$ROOT/new/state.json"
	cp "$ROOT/new/state.json" "$TEST_DIR/before.json"
	local msg="state of container 'new' has format 99, newer than this berth reads (1): manage it with the newer berth that created it"
	for cmd in "state new" "kill new KILL" "delete -f new" "exec new true"; do
		run berth $cmd
		[ "$status" -ne 0 ] || fail "berth $cmd succeeded"
		# One line (exec says "exec failed: " first, as it does for every error).
		[[ "$output" == "berth: "*"$msg" ]] && [ "${#lines[@]}" -eq 1 ] || fail "berth $cmd: $output"
	done
	cmp "$TEST_DIR/before.json" "$ROOT/new/state.json"
	[ -d "/proc/$pid" ]
	# Back to this berth's format, the container is as it was.
	jq -c '.state_format = 1' "$ROOT/new/state.json" >"$TEST_DIR/s" && mv "$TEST_DIR/s" "$ROOT/new/state.json"
	[ "$(berth state new | jq -r .status)" = created ]
	berth delete -f new
}
