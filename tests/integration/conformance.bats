#!/usr/bin/env bats
# The conformance suite: every bundle variant in conformance/variants/ runs under berth and
# runc with the checker as the container's process; berth must pass every field runc passes.

load helpers

setup() {
	requires root runc
	CHECKER=${CHECKER:-$BERTH_BUILD/conformance/berth-conformance-checker}
	OUT=$(mktemp -d /tmp/berth-conformance-out.XXXXXX)
}
teardown() { rm -rf "$OUT"; }

@test "berth passes every runtime-spec field runc passes (all variants)" {
	run env BERTH="$BERTH" CHECKER="$CHECKER" "$BERTH_SRC/conformance/run" \
		--runtimes "berth runc" --out "$OUT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"conformance: berth"* ]]
	# Every variant really ran under berth (an empty TAP file would pass vacuously).
	for f in "$OUT"/*.berth.tap; do
		grep -q '^1\.\.[1-9]' "$f" || {
			echo "no checks from $f"
			return 1
		}
	done
}

@test "the checker fails when the container does not match its config" {
	# A config that claims a hostname the runtime never set must be reported as not ok: the
	# checker is not a rubber stamp.
	setup_common
	setup_bundle /checker /config.json
	cp "$CHECKER" "$BUNDLE/rootfs/checker"
	update_config '.hostname = "expected-name"'
	cp "$BUNDLE/config.json" "$BUNDLE/rootfs/config.json"
	update_config '.hostname = "actual-name"'
	run berth run -b "$BUNDLE" cf-negative
	teardown_common
	[ "$status" -ne 0 ]
	[[ "$output" == *"not ok"*"hostname"* ]]
}
