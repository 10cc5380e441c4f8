#!/usr/bin/env bats
# The command-line contract both binaries share: --version shape, --help, unknown flags.

load helpers

setup() { setup_common; }
teardown() { teardown_common; }

@test "berth --version has runc's shape (go-runc parses it)" {
	run "$BERTH" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	# runc's order: the commit line engines read (docker info) comes second.
	[[ "${lines[1]}" =~ ^commit:\ ([0-9a-f]{7,40}(-dirty)?|unknown)$ ]]
	[[ "${lines[2]}" =~ ^spec:\ 1\.[0-9]+\.[0-9]+$ ]]
	[[ "${lines[3]}" =~ ^libseccomp:\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run "$BERTH" -v
	[ "$status" -eq 0 ]
}

@test "berth --help lists the commands" {
	run "$BERTH" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"create"* ]]
	[[ "$output" == *"--root"* ]]
}

@test "unknown global flag is a one-line error" {
	run "$BERTH" --no-such-flag list
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no-such-flag"* ]]
}

@test "berth-image --version and --help" {
	run "$BERTH_IMAGE" --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^berth-image\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	[[ "${lines[1]}" =~ ^commit:\ ([0-9a-f]{7,40}(-dirty)?|unknown)$ ]]
	run "$BERTH_IMAGE" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"pull"* ]]
}
