#!/usr/bin/env bats
# Namespaces: new ones (pid, mount, uts, ipc, network, user, cgroup, time), joined ones by
# path, user namespace mappings, hostname and domainname — seen from inside and outside.

load helpers

setup() {
	requires root
	setup_common
	setup_bundle
}
teardown() { teardown_common; }

inside() {
	update_config ".process.args = [\"sh\", \"-c\", $(jq -R . <<<"$1")]"
	run berth run -b "$BUNDLE" "n$RANDOM"
}

ns_of() { readlink "/proc/$1/ns/$2"; }

# userns_rootfs UID: the rootfs owned by UID and reachable by it (the test dir is 0700).
userns_rootfs() {
	chown -R "$1:$1" "$BUNDLE/rootfs"
	chmod 755 "$TEST_DIR" "$BUNDLE"
}

@test "the default spec's namespaces are new; the absent ones are the host's" {
	update_config '.process.args = ["sleep", "100"]'
	berth run -d -b "$BUNDLE" d </dev/null >/dev/null 2>&1
	pid=$(berth state d | jq .pid)
	for ns in pid net ipc uts mnt; do
		[ "$(ns_of "$pid" $ns)" != "$(ns_of $$ $ns)" ]
	done
	for ns in user cgroup time; do
		[ "$(ns_of "$pid" $ns)" = "$(ns_of $$ $ns)" ]
	done
	inside 'echo $$'
	[ "$output" = 1 ]
}

@test "hostname and domainname" {
	update_config '.hostname = "box" | .domainname = "example.org"'
	inside 'hostname; cat /proc/sys/kernel/domainname'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = box ]
	[ "${lines[1]}" = example.org ]
	[ "$(hostname)" != box ]
}

@test "hostname without a uts namespace is an error" {
	update_config '.linux.namespaces |= map(select(.type != "uts"))'
	inside true
	[ "$status" -ne 0 ]
	[[ "$output" == *hostname*uts* ]]
}

@test "user namespace with uid/gid mappings" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
	userns_rootfs 100000
	chown -R 100000:200000 "$BUNDLE/rootfs"
	inside 'cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[0]})" = "0 100000 65536" ]
	[ "$(echo ${lines[1]})" = "0 200000 65536" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" != "$(readlink /proc/self/ns/user)" ]
}

@test "user namespace: the init's host uid is the mapped one" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.args = ["sleep", "100"]'
	userns_rootfs 100000
	berth run -d -b "$BUNDLE" u </dev/null >/dev/null 2>&1
	pid=$(berth state u | jq .pid)
	[ "$(stat -c %u /proc/$pid)" = 100000 ]
}

@test "a user namespace without mappings is an error naming the field" {
	update_config '.linux.namespaces += [{"type": "user"}]'
	inside true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *uidMappings* ]]
}

@test "cgroup namespace" {
	update_config '.linux.namespaces += [{"type": "cgroup"}]'
	inside 'readlink /proc/self/ns/cgroup; grep -c . /proc/self/cgroup'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/cgroup)" ]
}

@test "time namespace with timeOffsets" {
	update_config '.linux.namespaces += [{"type": "time"}]
		| .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}'
	inside 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^monotonic\ +86400\ +0$ ]]
	[[ "${lines[1]}" =~ ^boottime\ +172800\ +0$ ]]
	host_up=$(cut -d. -f1 /proc/uptime)
	[ "${lines[2]}" -ge $((host_up + 172800 - 5)) ]
}

@test "timeOffsets without a time namespace is an error" {
	update_config '.linux.timeOffsets = {"monotonic": {"secs": 1, "nanosecs": 0}}'
	inside true
	[ "$status" -ne 0 ]
	[[ "$output" == *timeOffsets* ]]
}

@test "join namespaces by path: net, ipc, uts, pid of another container" {
	update_config '.process.args = ["sleep", "100"] | .hostname = "first"'
	berth run -d -b "$BUNDLE" first </dev/null >/dev/null 2>&1
	pid=$(berth state first | jq .pid)
	update_config "del(.hostname) | .linux.namespaces = [
		{\"type\": \"mount\"},
		{\"type\": \"network\", \"path\": \"/proc/$pid/ns/net\"},
		{\"type\": \"ipc\", \"path\": \"/proc/$pid/ns/ipc\"},
		{\"type\": \"uts\", \"path\": \"/proc/$pid/ns/uts\"},
		{\"type\": \"pid\", \"path\": \"/proc/$pid/ns/pid\"}]"
	inside 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; ps -o pid,comm | grep -c sleep'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = first ]
	[ "${lines[1]}" = "$(ns_of "$pid" net)" ]
	[ "${lines[2]}" = "$(ns_of "$pid" ipc)" ]
	[ "${lines[3]}" = 1 ]
}

@test "a pod's container: net, ipc, uts joined by path with a new pid and cgroup namespace and an oomScoreAdj (the direct path)" {
	# The shape Kubernetes gives a container next to its pause container. No stage1 is
	# needed for it: berth clones the init with the new namespaces and the init joins the
	# others (docs/process-model.md). Everything must still be as runc makes it.
	update_config '.process.args = ["sleep", "100"] | .hostname = "pod"'
	berth run -d -b "$BUNDLE" pause </dev/null >/dev/null 2>&1
	pid=$(berth state pause | jq .pid)
	update_config "del(.hostname) | .process.oomScoreAdj = 321 | .linux.namespaces = [
		{\"type\": \"mount\"}, {\"type\": \"pid\"}, {\"type\": \"cgroup\"},
		{\"type\": \"network\", \"path\": \"/proc/$pid/ns/net\"},
		{\"type\": \"ipc\", \"path\": \"/proc/$pid/ns/ipc\"},
		{\"type\": \"uts\", \"path\": \"/proc/$pid/ns/uts\"}]"
	inside 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; echo $$; cat /proc/self/oom_score_adj; cat /proc/self/cgroup | grep -c ":/$"; readlink /proc/self/ns/pid; readlink /proc/self/ns/cgroup'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = pod ]
	[ "${lines[1]}" = "$(ns_of "$pid" net)" ]
	[ "${lines[2]}" = "$(ns_of "$pid" ipc)" ]
	[ "${lines[3]}" = 1 ]
	[ "${lines[4]}" = 321 ]
	# In its own cgroup namespace every hierarchy shows its cgroup as the root.
	[ "${lines[5]}" = "$(grep -c . /proc/self/cgroup)" ]
	[ "${lines[6]}" != "$(ns_of "$pid" pid)" ]
	[ "${lines[7]}" != "$(ns_of $$ cgroup)" ]
}

@test "join a user namespace by path (user first, then the others)" {
	update_config '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .process.args = ["sleep", "100"]'
	userns_rootfs 100000
	berth run -d -b "$BUNDLE" owner </dev/null >/dev/null 2>&1
	pid=$(berth state owner | jq .pid)
	update_config "del(.linux.uidMappings, .linux.gidMappings, .hostname) | .linux.namespaces = [
		{\"type\": \"user\", \"path\": \"/proc/$pid/ns/user\"},
		{\"type\": \"network\", \"path\": \"/proc/$pid/ns/net\"},
		{\"type\": \"mount\"}, {\"type\": \"pid\"}, {\"type\": \"ipc\"}]"
	inside 'readlink /proc/self/ns/user; readlink /proc/self/ns/net; cat /proc/self/uid_map'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(ns_of "$pid" user)" ]
	[ "${lines[1]}" = "$(ns_of "$pid" net)" ]
	[ "$(echo ${lines[2]})" = "0 100000 65536" ]
}

# join_mnt RUNTIME ROOT: RUNTIME runs the bundle joined to a fresh mount namespace made by
# `unshare --mount` on the host; prints what the container saw.
join_mnt() {
	unshare --mount --propagation private sleep 1000 &
	local holder=$!
	for _ in $(seq 50); do
		[ "$(readlink /proc/$holder/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.05
	done
	update_config "del(.hostname) | .linux.namespaces = [
		{\"type\": \"mount\", \"path\": \"/proc/$holder/ns/mnt\"}, {\"type\": \"pid\"}]
		| .process.args = [\"sh\", \"-c\", \"cat /marker; readlink /proc/self/ns/mnt; ls /proc/1/exe >/dev/null && echo proc\"]"
	run "$1" --root "$2" run -b "$BUNDLE" "jm$RANDOM"
	want_ns=$(readlink /proc/$holder/ns/mnt)
	kill $holder
	wait $holder || true
}

@test "join a mount namespace by path: the bundle's rootfs is set up inside it, as runc does" {
	echo from-the-bundle >"$BUNDLE/rootfs/marker"
	join_mnt berth "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-the-bundle ]
	[ "${lines[1]}" = "$want_ns" ]
	[ "${lines[2]}" = proc ]
	# The host's mount table is untouched: the container's mounts went into the joined one.
	! grep -q "$BUNDLE/rootfs" /proc/self/mountinfo
	if command -v runc >/dev/null; then
		join_mnt runc "$TEST_DIR/runc"
		echo "runc: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = from-the-bundle ]
		[ "${lines[2]}" = proc ]
	fi
}

@test "a bad namespace path or type is a one-line error, nothing left" {
	update_config 'del(.hostname) | .linux.namespaces = [{"type": "mount"}, {"type": "ipc", "path": "/no/such/ns"}]'
	inside true
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"/no/such/ns"* ]]
	update_config 'del(.hostname) | .linux.namespaces = [{"type": "mount"}, {"type": "network", "path": "/proc/self/ns/ipc"}]'
	inside true
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "network namespace is empty but for lo" {
	inside 'ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1'
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = lo ]
}
