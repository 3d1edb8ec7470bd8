#!/bin/sh
# batch-spec-examples — JSON-RPC 2.0 batches through the real socket: every
# example of the specification's section 7 gets the answer it gives there
# (adapted to this daemon: named parameters only, so positional ones are
# -32602; "sum", "subtract", "get_data" are daemon.info, session.get,
# session.list; the methods the specification answers with "method not
# found" stay unknown), an all-notification batch and notifications get
# nothing; and a batch whose token.acquire waits for a VM to become ready
# is answered once, as one array, after a request sent behind it on the
# same connection was answered.
. "$(dirname "$0")/lib.sh"

MARK='{"jsonrpc":"2.0","id":"mark","method":"daemon.info"}'
n=0

# oneline TEXT — TEXT without its newlines: one frame.
oneline() { printf '%s' "$1" | tr -d '\n'; }

# send N FRAME — FRAME then the marker on one connection; waits for N
# replies (the marker's included) into $T/out.$n.
send() {
	n=$((n + 1))
	"$TOOLS/rpcpipe" -t 10 -n "$1" "$(oneline "$2")" "$MARK" >"$T/out.$n" 2>"$T/err.$n" ||
		fail "example $n ($2): not $1 replies: $(cat "$T/out.$n" "$T/err.$n")"
	[ "$(tail -n 1 "$T/out.$n" | jq -r '.id? // empty')" = mark ] ||
		fail "example $n ($2): the marker was not answered last: $(cat "$T/out.$n")"
}

# single ID CODE FRAME — one response object with that id and error code
# (0: a result), then the marker's.
single() {
	send 2 "$3"
	[ "$(wc -l <"$T/out.$n")" = 2 ] || fail "example $n ($3): not one answer: $(cat "$T/out.$n")"
	r=$(head -n 1 "$T/out.$n")
	[ "$(echo "$r" | jq -r 'type')" = object ] || fail "example $n ($3): not an object: $r"
	[ "$(echo "$r" | jq -c .id)" = "$1" ] || fail "example $n ($3): id $(echo "$r" | jq -c .id), not $1"
	[ "$(echo "$r" | jq -r '.error.code // 0')" = "$2" ] || fail "example $n ($3): $r, not code $2"
}

# nothing FRAME — only the marker is answered.
nothing() {
	send 1 "$1"
	[ "$(wc -l <"$T/out.$n")" = 1 ] || fail "example $n ($1): an answer where none is due: $(cat "$T/out.$n")"
}

# batch WANT FRAME — one array; WANT is its answers as "id:code" sorted,
# comma-separated (code 0: a result).
batch() {
	send 2 "$2"
	[ "$(wc -l <"$T/out.$n")" = 2 ] || fail "example $n ($2): not one answer: $(cat "$T/out.$n")"
	r=$(head -n 1 "$T/out.$n")
	[ "$(echo "$r" | jq -r 'type')" = array ] || fail "example $n ($2): not an array: $r"
	got=$(echo "$r" | jq -r '[.[] | "\(.id | tojson):\(.error.code // 0)"] | sort | join(",")')
	[ "$got" = "$1" ] || fail "example $n ($2): answers $got, not $1: $r"
}

start_daemon
ctl create s --grace 60s >/dev/null || fail "create s"

# rpc call with positional parameters (named only here), with named ones.
single 1 -32602 '{"jsonrpc": "2.0", "method": "session.get", "params": [42, 23], "id": 1}'
single 2 -32602 '{"jsonrpc": "2.0", "method": "session.get", "params": [23, 42], "id": 2}'
single 3 0 '{"jsonrpc": "2.0", "method": "session.get", "params": {"name": "s"}, "id": 3}'
single 4 0 '{"jsonrpc": "2.0", "method": "session.get", "params": {"owner_uid": '"$(id -u)"', "name": "s"}, "id": 4}'
# a Notification.
nothing '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}'
nothing '{"jsonrpc": "2.0", "method": "foobar"}'
# rpc call of non-existent method.
single '"1"' -32601 '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}'
# rpc call with invalid JSON.
single null -32700 '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]'
# rpc call with invalid Request object.
single null -32600 '{"jsonrpc": "2.0", "method": 1, "params": "bar"}'
# rpc call Batch, invalid JSON.
single null -32700 '[{"jsonrpc": "2.0", "method": "daemon.info", "params": {}, "id": "1"}, {"jsonrpc": "2.0", "method" ]'
# rpc call with an empty Array.
single null -32600 '[]'
# rpc call with an invalid Batch (but not empty).
batch 'null:-32600' '[1]'
# rpc call with invalid Batch.
batch 'null:-32600,null:-32600,null:-32600' '[1,2,3]'
# rpc call Batch.
batch '"1":0,"2":0,"5":-32601,"9":0,null:-32600' '[
 {"jsonrpc": "2.0", "method": "daemon.info", "params": {}, "id": "1"},
 {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
 {"jsonrpc": "2.0", "method": "session.get", "params": {"name": "s"}, "id": "2"},
 {"foo": "boo"},
 {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
 {"jsonrpc": "2.0", "method": "session.list", "id": "9"}]'
r=$(head -n 1 "$T/out.$n")
[ "$(echo "$r" | jq -r '.[] | select(.id == "1") | .result.protocol')" = 2 ] || fail "daemon.info in the batch: $r"
[ "$(echo "$r" | jq -r '.[] | select(.id == "2") | .result.name')" = s ] || fail "session.get in the batch: $r"
[ "$(echo "$r" | jq -r '.[] | select(.id == "9") | .result.sessions[0].name')" = s ] || fail "session.list in the batch: $r"
# rpc call Batch (all notifications).
nothing '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]'

# A member that waits for a VM: the VM of "slow" is ready only once its
# console shows READY, which this script writes when it has seen what
# must come first.
ctl create slow --grace 60s --ready-pattern READY --ready-timeout 60s >/dev/null || fail "create slow"
"$TOOLS/rpcpipe" -t 60 -n 2 "$(oneline '[
 {"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"slow","reason":"batch"}},
 {"jsonrpc":"2.0","id":2,"method":"daemon.info"},
 {"jsonrpc":"2.0","id":3,"method":"session.get","params":{"name":"s"}},
 {"jsonrpc":"2.0","method":"session.get","params":{"name":"s"}}]')" \
	'{"jsonrpc":"2.0","id":"behind","method":"daemon.info"}' >"$T/wait.out" 2>"$T/wait.err" &
PIPE=$!
wait_until 10 grep -q '"id":"behind"' "$T/wait.out" || fail "a request behind a waiting batch was held up: $(cat "$T/wait.out")"
wait_until 10 state_is slow starting || fail "slow is $(field slow .state), not starting"
[ "$(grep -c '^\[' "$T/wait.out")" = 0 ] || fail "the batch was answered before its VM was ready: $(cat "$T/wait.out")"
inst=$(field slow .instance.id)
echo READY >>"$T/state/console/$inst.log"
wait "$PIPE" || fail "the waiting batch was not answered: $(cat "$T/wait.out" "$T/wait.err")"
[ "$(wc -l <"$T/wait.out")" = 2 ] || fail "not two frames: $(cat "$T/wait.out")"
a=$(tail -n 1 "$T/wait.out")
[ "$(echo "$a" | jq -r '[.[] | "\(.id):\(.error.code // 0)"] | sort | join(",")')" = "1:0,2:0,3:0" ] ||
	fail "the waiting batch's answers: $a"
tok=$(echo "$a" | jq -r '.[] | select(.id == 1) | .result.token')
[ "$(echo "$a" | jq -r '.[] | select(.id == 1) | .result.session.state')" = running ] || fail "token.acquire's session is not running: $a"
state_is slow running || fail "slow is $(field slow .state)"
# The token went with rpcpipe's connection.
wait_until 10 sh -c "[ \"\$('$SESSIONCTL' status slow --json | jq .holds_count)\" = 0 ]" ||
	fail "token $tok still held after its connection closed"
daemon_alive || fail "the daemon died"
exit 0
