#!/usr/bin/env bats
# The conformance suite: every bundle variant in conformance/variants/ runs under berth and
# runc with the checker as the container's process; berth must pass every field runc passes.

load helpers

setup() {
	requires root runc
	CHECKER=${CHECKER:-$BERTH_BUILD/conformance/berth-conformance-checker}
	OUT=$(mktemp -d /tmp/berth-conformance-out.XXXXXX)
}
teardown() {
	rm -rf "$OUT"
	[ -z "${HUGETLB_V1_TAKEN:-}" ] || hugetlb_v1_restore
}

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

# hugetlb_sc: every cgroup2 subtree_control that enables hugetlb, one path a line.
hugetlb_sc() {
	find /sys/fs/cgroup/unified -name cgroup.subtree_control -exec grep -lw hugetlb {} + 2>/dev/null | sort
}

@test "--crun-hugetlb runs crun with hugetlb on v1, berth on both layouts, and restores the host" {
	requires root runc crun hybrid
	hugetlb_on_v2
	before=$(hugetlb_sc)
	run env BERTH="$BERTH" CHECKER="$CHECKER" "$BERTH_SRC/conformance/run" \
		--runtimes berth,runc,crun --crun-hugetlb --out "$OUT" --report "$OUT/report.md" default
	echo "$output"
	[ "$status" -eq 0 ]
	# crun really ran the checker (it refuses the hybrid layout without the mount).
	grep -q '^ok ' "$OUT/default.crun.tap"
	[ "$(grep -c '^ok ' "$OUT/default.berth.tap")" = "$(grep -c '^ok ' "$OUT/default.berth@hugetlb-v1.tap")" ]
	grep -q 'hugetlb was taken off cgroup2' "$OUT/report.md"
	grep -q '| berth | runc | berth@hugetlb-v1 | crun |' "$OUT/report.md"
	# The host as before: no v1 hugetlb mount, and hugetlb enabled where it was (cgroups
	# other tests removed meanwhile aside).
	grep -q 'cgroup.subtree_control restored' "$OUT/report.md" ||
		skip "another program's cgroup kept hugetlb on v1 (conformance/run --restore-hugetlb)"
	[ ! -e /sys/fs/cgroup/hugetlb ]
	after=$(hugetlb_sc)
	for f in $before; do
		[ -e "$f" ] || continue
		grep -qw hugetlb "$f" || fail "hugetlb not restored in $f"
	done
	for f in $after; do
		[[ $'\n'"$before"$'\n' == *$'\n'"$f"$'\n'* ]] || [ "$(dirname "$f")" != /sys/fs/cgroup/unified ] || fail "hugetlb newly enabled in $f"
	done
}
