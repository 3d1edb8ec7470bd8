#!/bin/sh
# load-connection-limit — max_connections is a limit, not a hang: with
# max_connections = 20, twenty connections are served and every further
# one gets error -32006 ("limit reached", null id) and is closed at once;
# sessionctl fails rather than waits.  Once one of the
# twenty hangs up a new connection is accepted, and when all have gone
# the daemon serves as before.
. "$(dirname "$0")/lib.sh"

printf '[sessiond]\nmax_connections = 20\n' >"$T/sessiond.conf"
start_daemon
ctl create keep >/dev/null || fail "create keep"

"$TOOLS/loadclients" -m limit -c 30 -L 20 -H 3 -b 10 >"$T/load.out" 2>&1 &
LOAD=$!
wait_until 20 grep -q '^loadclients: full' "$T/load.out" || fail "loadclients did not fill the daemon: $(cat "$T/load.out")"

# At the limit: a raw client is refused with -32006 and closed...
"$TOOLS/rawrpc" -t 5 -E -n 1 -l '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' >"$T/refused" 2>"$T/refused.err" ||
	fail "a connection beyond the limit was not answered and closed: $(cat "$T/refused" "$T/refused.err")"
[ "$(jq -r .error.code "$T/refused")" = -32006 ] || fail "beyond the limit: not -32006: $(cat "$T/refused")"
[ "$(jq -c .id "$T/refused")" = null ] || fail "the refusal's id is not null: $(cat "$T/refused")"
jq -r .error.message "$T/refused" | grep -q "limit" || fail "the refusal does not say 'limit': $(cat "$T/refused")"
# ...and sessionctl fails at once rather than waiting, with the daemon's
# reason (even when its write meets the closed socket first).
timeout 10 "$SESSIONCTL" list >/dev/null 2>"$T/ctl.err"
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "sessionctl list at the limit exited $rc: $(cat "$T/ctl.err")"
grep -q "limit reached" "$T/ctl.err" || fail "sessionctl at the limit does not say why: $(cat "$T/ctl.err")"

wait "$LOAD"
rc=$?
cat "$T/load.out"
[ $rc = 0 ] || fail "loadclients exited $rc: $(grep FAIL "$T/load.out" | head -5)"
grep -q '^loadclients: 20 accepted, 10 refused' "$T/load.out" || fail "not 20 accepted and 10 refused"

daemon_alive || fail "the daemon died"
wait_until 10 ctl list || fail "sessionctl list fails after the connections went"
[ "$(field keep .name)" = keep ] || fail "session keep is gone"
grep -q "connection limit (20) reached" "$DAEMON_LOG" || fail "the daemon did not log the refusals"
exit 0
