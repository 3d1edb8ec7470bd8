#!/bin/sh
# bad-input-errors — every class of bad input gets its JSON-RPC error code
# (parse -32700, invalid request -32600, no method -32601, invalid params
# -32602 naming the parameter, unknown session -32001), the connection
# carries on (a request after the bad one on the same connection is
# answered) and so does the daemon (a well-behaved "sessionctl list" works
# after each).  Invalid names never create anything.
. "$(dirname "$0")/lib.sh"

AFTER='{"jsonrpc":"2.0","id":"after","method":"daemon.info"}'
n=0

# expect CODE WORD LINE — LINE gets error CODE whose message contains WORD
# (unless WORD is empty); the same connection and the daemon carry on.
expect() {
	code=$1 word=$2 line=$3
	n=$((n + 1))
	"$TOOLS/rpcpipe" -t 5 "$line" "$AFTER" >"$T/out.$n" 2>"$T/err.$n" ||
		fail "case $n ($line): no two replies: $(cat "$T/out.$n" "$T/err.$n")"
	bad=$(jq -c 'select(.id != "after")' "$T/out.$n")
	got=$(echo "$bad" | jq -r '.error.code')
	[ "$got" = "$code" ] || fail "case $n ($line): code $got, not $code: $bad"
	# The reply carries the request's id when it had a usable one, else null.
	want=$(printf '%s' "$line" | jq -c '(.id? // null) | if type == "string" or type == "number" then . else null end' 2>/dev/null)
	[ -n "$want" ] && [ "$code" != -32700 ] || want=null
	[ "$(echo "$bad" | jq -c .id)" = "$want" ] || fail "case $n ($line): reply id $(echo "$bad" | jq -c .id), not $want"
	if [ -n "$word" ]; then
		echo "$bad" | jq -r '.error.message' | grep -qF -- "$word" ||
			fail "case $n ($line): the message does not name '$word': $bad"
	fi
	jq -e 'select(.id == "after") | .result.protocol' "$T/out.$n" >/dev/null ||
		fail "case $n ($line): the connection did not carry on: $(cat "$T/out.$n")"
	ctl list >/dev/null || fail "case $n ($line): sessionctl list failed afterwards"
	daemon_alive || fail "case $n ($line): the daemon died"
}

req() { printf '{"jsonrpc":"2.0","id":7,"method":"%s","params":%s}' "$1" "$2"; }

start_daemon
ctl create real --grace 30s >/dev/null || fail "create real"
before=$(ls "$T/state/sessions" | wc -l)

# Not JSON at all, or not all of it, or not UTF-8.
expect -32700 "" 'this is not json'
expect -32700 "" '{"jsonrpc":"2.0","id":1,"method":"daemon.info"'
expect -32700 "" "$(printf '{"jsonrpc":"2.0","id":1,"method":"daemon.info","params":{"x":"\377"}}')"
# NUL inside a string: the parser refuses it (no C string may carry one).
expect -32700 "" '{"jsonrpc":"2.0","id":1,"method":"session.get","params":{"name":"a\u0000b"}}'

# JSON, but not a request.
# A batch is answered (tests/behave/batch-*.sh); an empty one is invalid.
expect -32600 "" '[]'
expect -32600 "" '"session.list"'
expect -32600 "" '42'
expect -32600 "" 'null'
expect -32600 jsonrpc '{"jsonrpc":"1.0","id":1,"method":"daemon.info"}'
expect -32600 jsonrpc '{"id":1,"method":"daemon.info"}'
expect -32600 method '{"jsonrpc":"2.0","id":1,"method":17}'
expect -32600 id '{"jsonrpc":"2.0","id":[1],"method":"daemon.info"}'
expect -32600 params '{"jsonrpc":"2.0","id":1,"method":"session.list","params":"x"}'

# No such method.
expect -32601 session.frobnicate "$(req session.frobnicate '{}')"
expect -32601 "" "$(req SESSION.LIST '{}')"

# Unknown, missing and mistyped parameters: -32602 naming the parameter.
expect -32602 colour "$(req session.get '{"name":"real","colour":"red"}')"
expect -32602 colour "$(req daemon.info '{"colour":"red"}')"
expect -32602 name "$(req session.get '{}')"
expect -32602 name "$(req session.get '{"name":5}')"
expect -32602 name "$(req session.create '{"grace_s":10}')"
expect -32602 token "$(req token.release '{}')"
expect -32602 token "$(req token.release '{"token":7}')"
expect -32602 ttl_s "$(req token.acquire '{"name":"real","ttl_s":"long"}')"
expect -32602 ttl_s "$(req token.acquire '{"name":"real","ttl_s":-1}')"
expect -32602 detach "$(req token.acquire '{"name":"real","detach":"yes","ttl_s":5}')"
expect -32602 force "$(req session.stop '{"name":"real","force":"yes"}')"
expect -32602 keep_storage "$(req session.delete '{"name":"real","keep_storage":1}')"
expect -32602 owner_uid "$(req session.list '{"owner_uid":"root"}')"
expect -32602 memory_mib "$(req session.create '{"name":"fresh","memory_mib":"lots"}')"
expect -32602 grace_s "$(req session.create '{"name":"fresh","grace_s":"soon"}')"
expect -32602 storage "$(req session.create '{"name":"fresh","storage":"tape"}')"
expect -32602 "" "$(req session.get '[]')"

# Invalid names, for every method that takes one.
long=$(printf 'x%.0s' $(seq 65))
for name in '../x' '' "$long" 'a/b' 'a b' '.hidden' '-dash' 'tab\tx' 'caf\u00e9'; do
	for m in session.create session.get session.start token.acquire session.delete; do
		expect -32602 name "$(req $m "{\"name\":\"$name\"}")"
	done
done

# Well-formed, but no such session.
expect -32001 ghost "$(req session.get '{"name":"ghost"}')"
expect -32001 ghost "$(req session.start '{"name":"ghost"}')"
expect -32001 ghost "$(req token.acquire '{"name":"ghost"}')"
expect -32001 "" "$(req token.release '{"token":"00000000-0000-0000-0000-000000000000"}')"

# Nothing of this created, started or changed anything.
[ "$(ctl list --json | jq '.sessions | length')" = 1 ] || fail "bad input created sessions: $(ctl list)"
[ "$(ls "$T/state/sessions" | wc -l)" = "$before" ] || fail "bad input wrote state files: $(ls "$T/state/sessions")"
[ "$(field real .state)" = stopped ] || fail "bad input started 'real'"
[ "$(field real .start_count)" = 0 ] || fail "bad input started 'real'"
exit 0
