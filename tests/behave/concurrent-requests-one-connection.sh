#!/bin/sh
# concurrent-requests-one-connection — requests on one connection are in
# flight at once: a token.acquire that waits for a VM to boot does not hold
# back the replies to a session.get and a daemon.info sent right after it
# on the same connection.  Each request gets exactly one reply, with its id.
#
# The boot is made slow on purpose: the session has a ready pattern, and on
# the test driver nothing writes the console log, so the VM stays
# "starting" until this script writes the pattern into the log itself.
. "$(dirname "$0")/lib.sh"

replies_for() { jq -c "select(has(\"id\") and .id == $1)" "$T/out"; }
has_reply() { [ -n "$(replies_for "$1")" ]; }

start_daemon
ctl create slowboot --ready-pattern 'BEHAVE-READY' --ready-timeout 25s --grace 30s >/dev/null ||
	fail "create slowboot"
ctl create other --grace 30s >/dev/null || fail "create other"

"$TOOLS/rpcpipe" -t 25 \
	'{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"slowboot","reason":"concurrency"}}' \
	'{"jsonrpc":"2.0","id":2,"method":"session.get","params":{"name":"other"}}' \
	'{"jsonrpc":"2.0","id":3,"method":"daemon.info"}' \
	>"$T/out" 2>"$T/err" &
PIPE=$!

# get and info are answered while the acquire still waits for the boot.
wait_until 5 has_reply 2 || fail "session.get waited behind the acquire: $(cat "$T/out" "$T/err")"
wait_until 5 has_reply 3 || fail "daemon.info waited behind the acquire: $(cat "$T/out" "$T/err")"
has_reply 1 && fail "the acquire was answered before the VM was ready: $(replies_for 1)"
s=$(ctl status slowboot --json) || fail "status slowboot"
[ "$(echo "$s" | jq -r .state)" = starting ] || fail "slowboot is $(echo "$s" | jq -r .state), not starting"
[ "$(echo "$s" | jq -r .waiting)" = 1 ] || fail "slowboot has $(echo "$s" | jq -r .waiting) callers waiting, not 1"
inst=$(echo "$s" | jq -r .instance.id)
[ "$inst" != null ] || fail "a starting session without an instance"

# Now the guest "boots"; the acquire completes.
echo "BEHAVE-READY" >>"$T/state/console/$inst.log"
wait_until 10 has_reply 1 || fail "the acquire was not answered after the guest became ready: $(cat "$T/out")"
wait "$PIPE"
rc=$?
[ $rc = 0 ] || fail "rpcpipe exited $rc: $(cat "$T/err")"

# Exactly one reply per id, nothing else, each the right one.
for id in 1 2 3; do
	n=$(replies_for $id | wc -l)
	[ "$n" = 1 ] || fail "id $id got $n replies: $(cat "$T/out")"
done
n=$(jq -c 'select(has("id"))' "$T/out" | wc -l)
[ "$n" = 3 ] || fail "$n replies for 3 requests: $(cat "$T/out")"
replies_for 1 | jq -e '.result.token | test("^[0-9a-f-]{36}$")' >/dev/null || fail "id 1 is not a token: $(replies_for 1)"
replies_for 1 | jq -e '.result.session.name == "slowboot" and .result.session.state == "running"' >/dev/null ||
	fail "id 1 is not slowboot running: $(replies_for 1)"
replies_for 2 | jq -e '.result.name == "other"' >/dev/null || fail "id 2 is not session 'other': $(replies_for 2)"
replies_for 3 | jq -e '(.result.protocol | type) == "number" and (.result.version | type) == "string"' >/dev/null ||
	fail "id 3 is not daemon.info: $(replies_for 3)"
# Arrival order: the acquire's reply came last.
[ "$(jq -r 'select(has("id")) | .id' "$T/out" | tail -n 1)" = 1 ] || fail "the acquire's reply was not last: $(cat "$T/out")"
exit 0
