#!/usr/bin/env bats
# berth features: valid against the runtime-spec features schema, and true on this host.

load helpers

setup() {
	setup_common
	FEATURES="$TEST_DIR/features.json"
	"$BERTH" features >"$FEATURES"
}
teardown() { teardown_common; }

# jq_true EXPR: the expression holds on the features document.
jq_true() {
	run jq -e "$1" "$FEATURES"
	[ "$status" -eq 0 ] || fail "does not hold: $1 (jq: $output)"
}

@test "features: schema (runtime-spec features.schema.json essentials)" {
	jq_true '.ociVersionMin | test("^[0-9]+\\.[0-9]+\\.[0-9]+(-.+)?$")'
	jq_true '.ociVersionMax | test("^[0-9]+\\.[0-9]+\\.[0-9]+(-.+)?$")'
	# Only properties this spec version defines.
	jq_true 'keys - ["ociVersionMin","ociVersionMax","hooks","mountOptions","linux","annotations"] == []'
	jq_true '.hooks | type == "array" and all(type == "string") and (unique | length) == length'
	jq_true '.hooks - ["prestart","createRuntime","createContainer","startContainer","poststart","poststop"] == []'
	jq_true '.mountOptions | type == "array" and all(type == "string") and (unique | length) == length'
	jq_true '.linux | type == "object"'
	jq_true '.linux | keys - ["namespaces","capabilities","cgroup","seccomp","apparmor","selinux","intelRdt","mountExtensions","netDevices"] == []'
	jq_true '.linux.namespaces - ["cgroup","ipc","mount","network","pid","time","user","uts"] == []'
	jq_true '.linux.capabilities | all(test("^CAP_[A-Z_]+$"))'
	jq_true '.linux.cgroup | keys - ["v1","v2","systemd","systemdUser","rdma"] == [] and (map_values(type) | all(. == "boolean"))'
	jq_true '.linux.seccomp.enabled | type == "boolean"'
	jq_true '.linux.seccomp.actions - ["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_NOTIFY","SCMP_ACT_TRACE","SCMP_ACT_TRAP"] == []'
	jq_true '.linux.seccomp.operators - ["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"] == []'
	jq_true '.linux.seccomp.archs | all(test("^SCMP_ARCH_[A-Z0-9_]+$"))'
	jq_true '.linux.seccomp.knownFlags | all(test("^SECCOMP_FILTER_FLAG_[A-Z_]+$"))'
	jq_true '.linux.seccomp.supportedFlags - .linux.seccomp.knownFlags == []'
	jq_true '[.linux.apparmor, .linux.selinux, .linux.intelRdt] | all(.enabled | type == "boolean")'
	jq_true '.linux.mountExtensions.idmap.enabled | type == "boolean"'
	jq_true '.annotations | type == "object" and (map_values(type) | all(. == "string"))'
}

@test "features: versions and annotations agree with berth --version" {
	run "$BERTH" --version
	[ "$status" -eq 0 ]
	local spec_version libseccomp_version berth_version
	berth_version=$(echo "${lines[0]}" | awk '{print $3}')
	spec_version=$(echo "$output" | awk '$1 == "spec:" {print $2}')
	libseccomp_version=$(echo "$output" | awk '$1 == "libseccomp:" {print $2}')
	[ -n "$spec_version" ] && [ -n "$libseccomp_version" ]
	jq_true ".ociVersionMax == \"$spec_version\""
	jq_true '.ociVersionMin == "1.0.0"'
	jq_true ".annotations[\"org.berth.version\"] == \"$berth_version\""
	jq_true ".annotations[\"io.github.seccomp.libseccomp.version\"] == \"$libseccomp_version\""
	jq_true '.annotations["org.berth.checkpoint.enabled"] == "false"'
}

@test "features: seccomp actions are exactly what this kernel offers" {
	local avail want
	avail=$(cat /proc/sys/kernel/seccomp/actions_avail)
	want='["SCMP_ACT_ALLOW"'
	[[ " $avail " == *" errno "* ]] && want+=',"SCMP_ACT_ERRNO"'
	[[ " $avail " == *" kill_thread "* ]] && want+=',"SCMP_ACT_KILL"'
	[[ " $avail " == *" kill_process "* ]] && want+=',"SCMP_ACT_KILL_PROCESS"'
	[[ " $avail " == *" kill_thread "* ]] && want+=',"SCMP_ACT_KILL_THREAD"'
	[[ " $avail " == *" log "* ]] && want+=',"SCMP_ACT_LOG"'
	[[ " $avail " == *" user_notif "* ]] && want+=',"SCMP_ACT_NOTIFY"'
	[[ " $avail " == *" trace "* ]] && want+=',"SCMP_ACT_TRACE"'
	[[ " $avail " == *" trap "* ]] && want+=',"SCMP_ACT_TRAP"'
	want+=']'
	jq_true ".linux.seccomp.enabled == true"
	jq_true ".linux.seccomp.actions == $want"
	jq_true '.linux.seccomp.operators | length == 7'
	jq_true '.linux.seccomp.archs | index("SCMP_ARCH_X86_64") != null'
	# Every flag a profile may name, and on kernel >= 5.19 all of them work.
	jq_true '.linux.seccomp.knownFlags == ["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]'
	jq_true '.linux.seccomp.supportedFlags == .linux.seccomp.knownFlags'
}

@test "features: capabilities are the ones this kernel knows" {
	local last
	last=$(cat /proc/sys/kernel/cap_last_cap)
	jq_true ".linux.capabilities | length == $((last + 1))"
	jq_true '.linux.capabilities[0] == "CAP_CHOWN"'
	jq_true '.linux.capabilities | index("CAP_SYS_ADMIN") != null'
}

@test "features: every namespace listed exists on this kernel" {
	local ns file
	for ns in $(jq -r '.linux.namespaces[]' "$FEATURES"); do
		case $ns in
		mount) file=mnt ;;
		network) file=net ;;
		*) file=$ns ;;
		esac
		[ -e "/proc/self/ns/$file" ] || fail "namespace $ns listed but /proc/self/ns/$file missing"
	done
}

@test "features: mount options are runc's (but acl/noacl), plus rro and idmap" {
	requires runc
	local missing
	missing=$(jq -c -n --slurpfile b "$FEATURES" --argjson r "$(runc features)" \
		'$r.mountOptions - $b[0].mountOptions')
	# berth passes acl/noacl to the filesystem as data instead of mapping them to MS_POSIXACL,
	# so it does not claim them; every other runc option must be there.
	[ "$missing" = '["acl","noacl"]' ] || [ "$missing" = '[]' ] ||
		fail "runc knows mount options berth does not list: $missing"
	jq_true '.mountOptions | index("rro") != null and index("idmap") != null and index("ridmap") != null'
	jq_true '.mountOptions | index("tmpcopyup") != null and index("rbind") != null'
}

@test "features: shape matches runc features (same top-level and linux keys)" {
	requires runc
	local runc_keys berth_keys
	runc_keys=$(runc features | jq -c '[keys[]] , [.linux | keys[]]')
	berth_keys=$(jq -c '[keys[]] , [.linux | keys[]]' "$FEATURES")
	# berth may list more linux sections (intelRdt, mountExtensions) than runc 1.1 knows.
	run jq -n --argjson r "$(runc features)" --slurpfile b "$FEATURES" \
		'(($r | keys) - ($b[0] | keys)) + (($r.linux | keys) - ($b[0].linux | keys))'
	[ "$output" = "[]" ] || fail "runc has keys berth lacks: $output ($runc_keys vs $berth_keys)"
}

@test "features: rejects arguments" {
	run "$BERTH" features extra
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unexpected argument 'extra'"* ]]
}

@test "features: every namespace listed works in a container" {
	requires root
	setup_bundle sh -c 'true'
	local ns file host inside
	for ns in $(jq -r '.linux.namespaces[]' "$FEATURES"); do
		case $ns in
		mount) file=mnt ;;
		network) file=net ;;
		*) file=$ns ;;
		esac
		update_config --arg t "$ns" --arg f "$file" '
			.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{"type": $t}])
			| .process.args = ["readlink", "/proc/self/ns/" + $f]'
		if [ "$ns" = user ]; then
			update_config '.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
				| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
		fi
		host=$(readlink "/proc/self/ns/$file")
		run berth run -b "$BUNDLE" "ns-$ns"
		[ "$status" -eq 0 ] || fail "namespace $ns: $output"
		inside=${lines[-1]}
		[ "$inside" != "$host" ] || fail "namespace $ns: container shares the host's ($host)"
		# Only the namespace under test is added: a user namespace left in the list would need
		# its mappings in every later iteration.
		update_config 'del(.linux.uidMappings) | del(.linux.gidMappings)
			| .linux.namespaces |= map(select(.type != "user"))'
	done
}

@test "features: apparmor is claimed, so apparmorProfile is applied, never ignored" {
	requires root
	jq_true '.linux.apparmor.enabled == true'
	[ ! -e /sys/module/apparmor ] || skip "host has AppArmor; profile loading is tested elsewhere"
	setup_bundle true
	update_config '.process.apparmorProfile = "berth-test"'
	run berth run -b "$BUNDLE" aa
	[ "$status" -ne 0 ]
	[[ "$output" == *"apparmorProfile"* ]]
}
