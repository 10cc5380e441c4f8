# The driver the rootfs Bats files (mounts, devices, rootfs_security) run containers with.

# Driver: the real `berth run` by default; ROOTFS_DRIVER=probe runs the rootfs code alone
# through tests/helpers/rootfs_probe (fresh namespaces, no cgroups, no process setup).
DRIVER=${ROOTFS_DRIVER:-berth}

# probe [--no-pivot] CMD...: runs CMD in the bundle's container, output and status as-is.
probe() {
	local flags=()
	while [ "${1:-}" = --no-pivot ]; do
		flags+=(--no-pivot)
		shift
	done
	if [ "$DRIVER" = probe ]; then
		"$PROBE" "${flags[@]}" "$BUNDLE" -- "$@"
	else
		local args
		args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
		update_config ".process.args = $args"
		"$BERTH" --root "$ROOT" run "${flags[@]}" -b "$BUNDLE" "ct$$-$RANDOM" </dev/null
	fi
}
