#!/usr/bin/env bats
# terminal: true — the pty master over --console-socket (runc's protocol), consoleSize,
# the controlling terminal inside, and the foreground relay of `run`.

load helpers

RECVTTY=${RECVTTY:-$BERTH_BUILD/tests/recvtty}

setup() {
	requires root
	setup_common
	setup_bundle
	update_config '.process.terminal = true'
	SOCK="$TEST_DIR/tty.sock"
}
teardown() {
	[ -n "${RECV_PID:-}" ] && kill "$RECV_PID" 2>/dev/null
	teardown_common
}

start_recvtty() {
	"$RECVTTY" "$@" "$SOCK" >"$TEST_DIR/tty.out" 2>&1 &
	RECV_PID=$!
	for i in $(seq 50); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	fail "recvtty did not listen"
}

@test "console socket receives the pty master; the process has a controlling terminal" {
	update_config '.process.args = ["sh", "-c", "tty; test -t 0 && test -t 1 && echo isatty"]'
	start_recvtty
	berth run -d --console-socket "$SOCK" -b "$BUNDLE" t1
	wait "$RECV_PID"
	run cat "$TEST_DIR/tty.out"
	[[ "${lines[0]}" == /dev/* ]]
	[[ "$output" == *isatty* ]]
}

@test "consoleSize sets the window size" {
	update_config '.process.consoleSize = {"height": 33, "width": 111} | .process.args = ["stty", "size"]'
	start_recvtty --print-size
	berth run -d --console-socket "$SOCK" -b "$BUNDLE" t2
	wait "$RECV_PID"
	run cat "$TEST_DIR/tty.out"
	[ "${lines[0]}" = "size 33 111" ]
	[[ "${lines[1]}" == "33 111"* ]]
}

@test "input written to the master reaches the process" {
	update_config '.process.args = ["sh", "-c", "read line; echo got:$line"]'
	start_recvtty --input $'hello\n'
	berth create --console-socket "$SOCK" -b "$BUNDLE" t3
	berth start t3
	wait "$RECV_PID"
	grep -q "got:hello" "$TEST_DIR/tty.out"
}

@test "terminal without --console-socket when detaching is an error" {
	run berth create -b "$BUNDLE" t4
	[ "$status" -ne 0 ]
	[[ "$output" == *"console socket"* ]]
	update_config '.process.terminal = false'
	run berth create --console-socket "$SOCK" -b "$BUNDLE" t4
	[ "$status" -ne 0 ]
	[[ "$output" == *"console socket"* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "foreground run relays the terminal and returns the exit status" {
	update_config '.process.args = ["sh", "-c", "test -t 0 && echo tty-inside; exit 5"]'
	run berth run -b "$BUNDLE" t5 </dev/null
	[ "$status" -eq 5 ]
	[[ "$output" == *tty-inside* ]]
}

@test "foreground run on a terminal puts it in raw mode: one CR per line, as runc" {
	command -v script >/dev/null || skip "script(1) (bsdutils) not installed"
	update_config '.process.args = ["sh", "-c", "echo one; echo two; exit 3"]'
	run script -qec "$BERTH --root $ROOT run -b $BUNDLE t6" /dev/null
	echo "$output" | od -c | head
	[ "$status" -eq 3 ]
	# script(1) may forward a NUL from its stdin, which the container's pty echoes as "^@"
	output=${output//^@/}
	[[ "$output" == *one$'\r\n'two$'\r'* ]]
	[[ "$output" != *$'\r\r'* ]]
	# and the caller's terminal settings are restored afterwards
	run script -qec "stty -g; $BERTH --root $ROOT run -b $BUNDLE t7; stty -g" /dev/null
	[ "${lines[0]}" = "${lines[$((${#lines[@]} - 1))]}" ]
}
