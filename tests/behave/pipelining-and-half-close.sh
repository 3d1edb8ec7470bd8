#!/bin/sh
# pipelining-and-half-close — a client that writes many requests in one go
# and then reads gets every reply (its requests wait while replies pile
# up; it is not taken for a client that never reads), and a client that
# shuts down its sending side after a request (as socat does) still gets
# the answer, even of a request that waits for work (session.create).
. "$(dirname "$0")/lib.sh"

start_daemon
# Sixty sessions make each session.list reply ~30 KB: 1,000 of them are
# far beyond the output bound if they were all answered at once.
i=0
while [ $i -lt 60 ]; do
	i=$((i + 1))
	ctl create "s$i" >/dev/null || fail "create s$i"
done
i=0
while [ $i -lt 1000 ]; do
	i=$((i + 1))
	echo "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"session.list\"}"
done >"$T/lists"
out=$("$TOOLS/rawrpc" -t 60 -n 1000 -f "$T/lists" 2>&1 >"$T/replies")
echo "$out" | grep -q "end=replies .*replies=1000" || fail "pipelined session.list: $out"
[ "$(jq -s 'map(select(.result.sessions | length == 60)) | length' "$T/replies")" = 1000 ] ||
	fail "not every pipelined reply lists 60 sessions"

out=$("$TOOLS/rawrpc" -W -E -t 10 -l '{"jsonrpc":"2.0","id":7,"method":"session.create","params":{"name":"halfclosed"}}' 2>&1 >"$T/hc")
[ "$(jq -r '.id' "$T/hc")" = 7 ] && [ "$(jq -r '.result.name' "$T/hc")" = halfclosed ] ||
	fail "no reply after a half-close: $out $(cat "$T/hc")"
echo "$out" | grep -q "end=closed" || fail "the daemon did not close after answering: $out"
daemon_alive || fail "the daemon died"
exit 0
