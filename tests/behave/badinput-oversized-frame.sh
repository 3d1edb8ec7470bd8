#!/bin/sh
# badinput-oversized-frame — the 1 MiB frame limit: a 4 MiB frame (and 4
# MiB that never end in a newline) gets one error, -32600 with a null id
# naming the limit, and then the daemon closes that connection; a frame of
# exactly 1 MiB is still parsed and answered, and the connection carries
# on; a request whose reply would not fit in a frame (its id echoed back
# is 1 MiB) gets an error reply rather than none.  Eight clients sending
# 4 MiB frames at once do not disturb a watching client or a well-behaved
# one, and the daemon's memory stays bounded: it stops reading an
# oversized frame instead of buffering it (no client of the twelve gets
# all of its 4 MiB out before the daemon hangs up).  The daemon's peak
# RSS over such a storm is a figure of "make bench".  Client deadlines
# (120 s) and waits are hang guards: under valgrind on a loaded machine
# eight 4 MiB senders took over 30 s.
. "$(dirname "$0")/lib.sh"

LIMIT=1048576
MIB4=4194304
INFO='{"jsonrpc":"2.0","id":"after","method":"daemon.info"}'

ok_client() { timeout 60 "$SESSIONCTL" list >/dev/null; }
# read_part ERRFILE — the client's last line shows it was cut off before
# it had sent all of a 4 MiB frame.
read_part() {
	sent=$(sed -n 's/.*end=closed sent=\([0-9]*\)\/.*/\1/p' "$1")
	[ -n "$sent" ] && [ "$sent" -lt $MIB4 ]
}

# A request of exactly SIZE bytes whose reply is small: the padding is in
# an unknown parameter, so a parsed frame gets -32602 naming it.
padded_request() {
	size=$1
	head='{"jsonrpc":"2.0","id":1,"method":"daemon.info","params":{"pad":"'
	tail='"}}'
	pad=$((size - ${#head} - ${#tail}))
	{ printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' x; printf '%s\n' "$tail"; } >"$T/padded"
	[ "$(head -n 1 "$T/padded" | tr -d '\n' | wc -c)" = "$size" ] || fail "padded_request built a wrong size"
}

# check_too_large OUT — one reply, -32600, null id, naming the limit.
check_too_large() {
	n=$(jq -c 'select(has("id"))' "$1" | wc -l)
	[ "$n" = 1 ] || fail "$n replies to an oversized frame, not 1: $(cut -c1-300 "$1")"
	[ "$(jq -r .error.code "$1")" = -32600 ] || fail "oversized frame: not -32600: $(cut -c1-300 "$1")"
	[ "$(jq -c .id "$1")" = null ] || fail "oversized frame: the reply's id is not null: $(cut -c1-300 "$1")"
	jq -r .error.message "$1" | grep -q "$LIMIT" || fail "the error does not name the limit: $(cat "$1")"
}

start_daemon
ctl create keep --grace 60s >/dev/null || fail "create keep"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' \
	>"$T/watch" 2>/dev/null &
WATCH=$!
wait_until 30 grep -q '"id":"w","result"' "$T/watch" || fail "session.watch not answered"

# 4 MiB in one line: an error, then the daemon hangs up (-E) before the
# client managed to send all of it.
"$TOOLS/rawrpc" -t 120 -E -n 1 -z $MIB4 >"$T/big" 2>"$T/big.err" ||
	fail "4 MiB frame: no error and close: $(cat "$T/big.err")"
check_too_large "$T/big"
grep -q "end=closed sent=[0-9]*/$((MIB4 + 1))" "$T/big.err" || fail "4 MiB frame: $(cat "$T/big.err")"
read_part "$T/big.err" || fail "the daemon read all 4 MiB of an oversized frame before closing: $(cat "$T/big.err")"
daemon_alive || fail "the daemon died on a 4 MiB frame"
ok_client || fail "sessionctl list failed after a 4 MiB frame"

# 4 MiB that never end: the same, without waiting for a newline.
"$TOOLS/rawrpc" -t 120 -E -n 1 -Z $MIB4 >"$T/endless" 2>"$T/endless.err" ||
	fail "4 MiB without a newline: no error and close: $(cat "$T/endless.err")"
check_too_large "$T/endless"

# One byte over the limit is too large; exactly the limit is a frame.
padded_request $((LIMIT + 1))
"$TOOLS/rawrpc" -t 120 -E -n 1 -f "$T/padded" >"$T/over" 2>"$T/over.err" ||
	fail "a frame one byte over the limit: no error and close: $(cat "$T/over.err")"
check_too_large "$T/over"
padded_request $LIMIT
"$TOOLS/rawrpc" -t 120 -f "$T/padded" -l "$INFO" >"$T/at" 2>"$T/at.err" ||
	fail "a frame of exactly the limit was not answered, or the connection not kept: $(cat "$T/at.err")"
[ "$(jq -r 'select(.id == 1) | .error.code' "$T/at")" = -32602 ] ||
	fail "a frame of exactly the limit was not parsed: $(cut -c1-300 "$T/at")"
jq -r 'select(.id == 1) | .error.message' "$T/at" | grep -q pad ||
	fail "the error for the 1 MiB frame does not name 'pad': $(cut -c1-300 "$T/at")"
jq -e 'select(.id == "after") | .result.protocol' "$T/at" >/dev/null ||
	fail "the connection did not carry on after a 1 MiB frame: $(cut -c1-300 "$T/at")"

# A reply that cannot fit (the 1 MiB id echoed): still one reply, an
# error, and the connection carries on.  Without it the client waits for ever.
"$TOOLS/rawrpc" -t 120 -z $LIMIT -l "$INFO" >"$T/echo" 2>"$T/echo.err" ||
	fail "a request whose reply exceeds the frame limit got no reply: $(cat "$T/echo.err")"
[ "$(jq -r 'select(.id != "after") | .error.code' "$T/echo" | cut -c1-20)" = -32603 ] ||
	fail "an unencodable reply is not error -32603: $(cut -c1-300 "$T/echo")"
jq -e 'select(.id == "after") | .result.protocol' "$T/echo" >/dev/null ||
	fail "the connection did not carry on after an unencodable reply"

# Eight at once, while a well-behaved client keeps working.
pids=""
for i in 1 2 3 4 5 6 7 8; do
	"$TOOLS/rawrpc" -t 120 -E -n 1 -z $MIB4 >"$T/many.$i" 2>"$T/many.$i.err" &
	pids="$pids $!"
done
for i in 1 2 3 4 5; do
	ok_client || fail "sessionctl list failed while oversized frames arrived"
done
i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p" || fail "client $i of 8: no error and close: $(cat "$T/many.$i.err")"
	check_too_large "$T/many.$i"
	# Bounded memory: a 4 MiB frame is never buffered whole.
	read_part "$T/many.$i.err" || fail "client $i of 8 got all of its 4 MiB frame out: $(cat "$T/many.$i.err")"
done

# The watcher was not disturbed and the daemon still works.
daemon_alive || fail "the daemon died"
ctl create after >/dev/null || fail "create after the oversized frames"
wait_until 30 grep -q '"name":"after"' "$T/watch" || fail "the watching client saw no event after the oversized frames"
kill "$WATCH" 2>/dev/null
[ "$(ctl list --json | jq '.sessions | length')" = 2 ] || fail "sessions changed: $(ctl list)"
grep -q "oversized frame" "$DAEMON_LOG" || fail "the daemon did not log the oversized frames"
exit 0
