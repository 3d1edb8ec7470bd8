#!/bin/sh
# badinput-framing — how bytes become frames and frames become requests,
# past what bad-input-errors covers: CRLF ends a frame too, empty lines are
# skipped, many frames in one write and one frame in many writes are the
# same, a notification (no id) is carried out without a reply, ids of every
# JSON kind come back unchanged; two values on a line, duplicate keys, a
# BOM, a raw NUL, an integer beyond 64 bits and nesting past the parser's
# depth are parse errors (-32700, null id); an id of the wrong kind or
# null params are invalid requests (-32600).  An error message cut to fit
# its buffer in the middle of a UTF-8 character still makes a well-formed
# error reply.  After each case the same connection is answered and so is
# a well-behaved client; nothing is created by a rejected frame.
. "$(dirname "$0")/lib.sh"

AFTER='{"jsonrpc":"2.0","id":"after","method":"daemon.info"}'
n=0

# send WHAT REPLIES RAWRPC-INPUTS... — the inputs, then AFTER, on one
# connection; REPLIES replies to the inputs are expected before AFTER's.
send() {
	what=$1 want=$2
	shift 2
	n=$((n + 1))
	"$TOOLS/rawrpc" -t 10 -n $((want + 1)) "$@" -l "$AFTER" >"$T/out.$n" 2>"$T/err.$n" ||
		fail "$what: not $want replies and then AFTER's: $(cut -c1-300 "$T/out.$n") $(cat "$T/err.$n")"
	jq -e 'select(.id == "after") | .result.protocol' "$T/out.$n" >/dev/null ||
		fail "$what: the connection did not carry on: $(cut -c1-300 "$T/out.$n")"
	got=$(jq -c 'select(has("id") and .id != "after")' "$T/out.$n" | wc -l)
	[ "$got" = "$want" ] || fail "$what: $got replies, not $want: $(cut -c1-300 "$T/out.$n")"
	timeout 10 "$SESSIONCTL" list >/dev/null || fail "$what: sessionctl list failed afterwards"
	daemon_alive || fail "$what: the daemon died"
}
# The raw frames other than AFTER's reply (jq would round big integers).
reply() { grep -v '^{"jsonrpc":"2.0","id":"after",' "$T/out.$n"; }

# expect_error WHAT CODE ID RAWRPC-INPUTS... — one error CODE with id ID.
expect_error() {
	what=$1 code=$2 id=$3
	shift 3
	send "$what" 1 "$@"
	[ "$(reply | jq -r .error.code)" = "$code" ] || fail "$what: not $code: $(reply | cut -c1-300)"
	[ "$(reply | jq -c .id)" = "$id" ] || fail "$what: id $(reply | jq -c .id), not $id"
	[ "$(reply | jq -r '.error.message | type')" = string ] || fail "$what: no message: $(reply)"
}

# expect_id WHAT ID — a daemon.info with that id is answered with it, unchanged.
expect_id() {
	send "id $1" 1 -l "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"daemon.info\"}"
	reply | grep -qF "\"id\":$1," || fail "id $1 not echoed verbatim: $(reply | cut -c1-100)"
	reply | jq -e .result.protocol >/dev/null || fail "id $1: no result: $(reply)"
}

start_daemon
info() { printf '{"jsonrpc":"2.0","id":%s,"method":"daemon.info"}' "$1"; }

# Line endings and empty lines.
send "CRLF" 1 -e "$(info 1)\\r\\n"
reply | jq -e '.id == 1 and .result.protocol' >/dev/null || fail "a CRLF frame: $(reply)"
send "empty lines" 1 -e '\n\n\r\n' -l "$(info 2)" -e '\n'
send "surrounding blanks" 1 -l "   $(info 3)	  "
reply | jq -e '.id == 3 and .result' >/dev/null || fail "a frame with blanks around: $(reply)"

# Many frames in one write, one frame in many writes.
all=""
for i in $(seq 20); do all="$all$(info $i)\\n"; done
send "20 frames in one write" 20 -e "$all"
[ "$(reply | jq -r .id | sort -n | tr '\n' ' ')" = "$(seq 20 | tr '\n' ' ')" ] ||
	fail "20 frames in one write: ids $(reply | jq -r .id | tr '\n' ' ')"
send "a frame a byte at a time" 1 -p 1 -l "$(info 4)"

# Notifications: carried out, never answered, even when they fail.
send "notifications" 0 -l '{"jsonrpc":"2.0","method":"session.create","params":{"name":"notified"}}' \
	-l '{"jsonrpc":"2.0","method":"no.such.method"}' \
	-l '{"jsonrpc":"2.0","method":"session.get","params":{"name":"ghost"}}'
wait_until 5 ctl status notified || fail "a session.create notification was not carried out"

# Ids: every kind JSON-RPC allows comes back unchanged.
for id in 0 -7 1.5 9007199254740993 '""' '"x y"' '"é"' null; do expect_id "$id"; done

# Parse errors: null id whatever the frame said.
expect_error "two values on a line" -32700 null -l "$(info 5){\"a\":1}"
expect_error "duplicate keys" -32700 null -l '{"jsonrpc":"2.0","id":1,"id":2,"method":"daemon.info"}'
expect_error "BOM" -32700 null -e "\\xef\\xbb\\xbf$(info 6)\\n"
expect_error "raw NUL" -32700 null -e '{"jsonrpc":"2.0","id":7,\0"method":"daemon.info"}\n'
expect_error "integer beyond 64 bits" -32700 null -l "$(info 12345678901234567890)"
expect_error "lone invalid byte" -32700 null -e '\xff\n'
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; for (i = 0; i < 100000; i++) printf "]"; print "" }' >"$T/deep"
expect_error "nesting 100000 deep" -32700 null -f "$T/deep"

# Invalid requests.
expect_error "boolean id" -32600 null -l '{"jsonrpc":"2.0","id":true,"method":"daemon.info"}'
expect_error "object id" -32600 null -l '{"jsonrpc":"2.0","id":{"a":1},"method":"daemon.info"}'
expect_error "null params" -32600 8 -l '{"jsonrpc":"2.0","id":8,"method":"daemon.info","params":null}'
expect_error "numeric jsonrpc" -32600 9 -l '{"jsonrpc":2.0,"id":9,"method":"daemon.info"}'
expect_error "empty method" -32601 10 -l '{"jsonrpc":"2.0","id":10,"method":""}'

# A message cut inside a UTF-8 character (a long non-ASCII method name,
# at every cut position): still an error with a valid message.
for k in 1000 1001 1002 1003; do
	m=$(awk -v k=$k 'BEGIN { for (i = 0; i < k; i++) printf "x"; for (i = 0; i < 40; i++) printf "é" }')
	expect_error "cut message $k" -32601 $k -l "{\"jsonrpc\":\"2.0\",\"id\":$k,\"method\":\"$m\"}"
	reply | jq -r .error.message | grep -q "^no such method 'xxx" || fail "cut message $k: $(reply | cut -c1-200)"
done
for k in 984 985 986 987; do
	key=$(awk -v k=$k 'BEGIN { for (i = 0; i < k; i++) printf "x"; for (i = 0; i < 40; i++) printf "é" }')
	expect_error "cut param message $k" -32602 $k \
		-l "{\"jsonrpc\":\"2.0\",\"id\":$k,\"method\":\"daemon.info\",\"params\":{\"$key\":1}}"
done

# Nothing but the notification created anything.
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = notified ] ||
	fail "rejected frames created sessions: $(ctl list)"
[ "$(ls "$T/state/sessions" | wc -l)" = 1 ] || fail "state files: $(ls "$T/state/sessions")"
exit 0
