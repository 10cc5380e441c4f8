#!/usr/bin/env bats
# OCI hooks: every kind, in order, with the state on stdin, args, env and timeout; failures
# as the runtime-spec says (poststop only warns).

load helpers

setup() {
	requires root
	setup_common
	setup_bundle sleep 100
	LOG="$TEST_DIR/hooks.log"
	# A hook that appends "<name> <status> <pid> <id> <args...> ENV=<HOOKENV>" to $LOG.
	cat >"$TEST_DIR/hook.sh" <<-HOOK
		#!/bin/sh
		state=\$(cat)
		name=\$1; shift
		echo "\$name \$(echo "\$state" | jq -r '.status + " " + (.pid|tostring) + " " + .id') \$* ENV=\$HOOKENV" >>"$LOG"
	HOOK
	chmod +x "$TEST_DIR/hook.sh"
}
teardown() { teardown_common; }

hook() { # hook NAME -> JSON for a hook calling hook.sh with NAME
	echo "{\"path\": \"$TEST_DIR/hook.sh\", \"args\": [\"hook.sh\", \"$1\", \"extra\"], \"env\": [\"HOOKENV=$1-env\", \"PATH=/usr/bin:/bin\"]}"
}

@test "every hook kind runs, in lifecycle order, with state on stdin, args and env" {
	local k
	for k in prestart createRuntime createContainer poststart poststop; do
		update_config ".hooks.$k = [$(hook $k)]"
	done
	# startContainer's path resolves in the container: a shell there keeps its stdin.
	update_config '.root.readonly = false | .hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "cat >/tmp/start-state; echo $HOOKENV >/tmp/start-env"], "env": ["HOOKENV=startContainer-env"]}]'

	berth create -b "$BUNDLE" h </dev/null >/dev/null 2>&1
	pid=$(berth state h | jq .pid)
	run cat "$LOG"
	[ "${lines[0]}" = "prestart creating $pid h extra ENV=prestart-env" ]
	[ "${lines[1]}" = "createRuntime creating $pid h extra ENV=createRuntime-env" ]
	[ "${lines[2]}" = "createContainer creating $pid h extra ENV=createContainer-env" ]
	[ "${#lines[@]}" -eq 3 ]
	berth start h
	[ "$(jq -r .status "$BUNDLE/rootfs/tmp/start-state")" = created ]
	[ "$(jq -r .id "$BUNDLE/rootfs/tmp/start-state")" = h ]
	[ "$(cat "$BUNDLE/rootfs/tmp/start-env")" = startContainer-env ]
	run cat "$LOG"
	[ "${lines[3]}" = "poststart running $pid h extra ENV=poststart-env" ]
	berth delete -f h
	run cat "$LOG"
	[ "${lines[4]}" = "poststop stopped 0 h extra ENV=poststop-env" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "createContainer and startContainer run in the container's namespaces" {
	update_config ".hooks.createContainer = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"readlink /proc/self/ns/uts >$TEST_DIR/cc\"]}]
		| .hooks.createRuntime = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"readlink /proc/self/ns/uts >$TEST_DIR/cr\"]}]"
	berth create -b "$BUNDLE" ns </dev/null >/dev/null 2>&1
	pid=$(berth state ns | jq .pid)
	[ "$(cat "$TEST_DIR/cc")" = "$(readlink /proc/$pid/ns/uts)" ]
	[ "$(cat "$TEST_DIR/cr")" = "$(readlink /proc/$$/ns/uts)" ]
}

@test "a failing createRuntime hook fails create and leaves nothing" {
	update_config '.hooks.createRuntime = [{"path": "/bin/false"}]'
	run berth create -b "$BUNDLE" f
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"createRuntime: error running hook #0: error running hook: exit status 1"* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "a failing startContainer hook fails start" {
	update_config '.hooks.startContainer = [{"path": "/bin/false"}]'
	berth create -b "$BUNDLE" s </dev/null >/dev/null 2>&1
	run berth start s
	[ "$status" -ne 0 ]
	[[ "$output" == *startContainer* ]]
}

@test "a hook past its timeout is killed and fails the operation" {
	update_config '.hooks.prestart = [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]'
	run berth create -b "$BUNDLE" t
	[ "$status" -ne 0 ]
	[[ "$output" == *"error running hook #0: hook ran past specified timeout of 1.0s"* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "a failing poststop hook only warns; delete succeeds" {
	update_config '.hooks.poststop = [{"path": "/bin/false"}]'
	berth create -b "$BUNDLE" ps </dev/null >/dev/null 2>&1
	run berth delete -f ps
	[ "$status" -eq 0 ]
	[[ "$output" == *poststop* ]]
	[ ! -e "$ROOT/ps" ]
}

@test "a failing poststart hook stops the container" {
	update_config '.hooks.poststart = [{"path": "/bin/false"}]'
	berth create -b "$BUNDLE" pst </dev/null >/dev/null 2>&1
	run berth start pst
	[ "$status" -ne 0 ]
	for i in $(seq 50); do [ "$(berth state pst | jq -r .status)" = stopped ] && break; sleep 0.1; done
	[ "$(berth state pst | jq -r .status)" = stopped ]
}
