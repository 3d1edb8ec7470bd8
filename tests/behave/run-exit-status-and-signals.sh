#!/bin/sh
# run-exit-status-and-signals — "sessionctl run NAME -- CMD" exits with
# CMD's status (128+N when a signal N killed it; 127 when CMD is not
# found), forwards SIGTERM to CMD, gives CMD SESSIOND_SESSION,
# SESSIOND_DOMAIN (the running instance's domain) and SESSIOND_URI, and
# leaves no hold behind once it exits.
. "$(dirname "$0")/lib.sh"

no_holds() { [ "$(field runner '.holds | length')" = 0 ]; }
one_hold() { [ "$(field runner '.holds | length')" = 1 ]; }

start_daemon
ctl create runner --grace 30s >/dev/null || fail "create runner"
uri=$("$TOOLS/rpcpipe" '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' | jq -r .result.uri)
[ -n "$uri" ] && [ "$uri" != null ] || fail "daemon.info has no uri"

# Exit statuses.
ctl run runner -- sh -c 'exit 7'
rc=$?
[ $rc = 7 ] || fail "run -- sh -c 'exit 7' exited $rc"
no_holds || fail "a hold is left after run exited: $(ctl holds runner)"
ctl run runner -- true || fail "run -- true exited $?"
ctl run runner -- sh -c 'kill -KILL $$'
rc=$?
[ $rc = 137 ] || fail "a command killed by SIGKILL: run exited $rc, not 137"
no_holds || fail "a hold is left after a command died of SIGKILL"
ctl run runner -- sh -c 'kill -TERM $$'
rc=$?
[ $rc = 143 ] || fail "a command killed by SIGTERM: run exited $rc, not 143"
ctl run runner -- "$T/no-such-command" 2>"$T/err"
rc=$?
[ $rc = 127 ] || fail "a missing command: run exited $rc, not 127"
no_holds || fail "a hold is left after a missing command"

# The environment, seen from inside while the VM is held.
ctl run runner -- sh -c "env > '$T/env'; \"$SESSIONCTL\" status runner --json > '$T/inside.json'" ||
	fail "run (env) exited $?"
envval() { sed -n "s/^$1=//p" "$T/env"; }
[ "$(envval SESSIOND_SESSION)" = runner ] || fail "SESSIOND_SESSION is '$(envval SESSIOND_SESSION)'"
dom=$(jq -r .instance.domain "$T/inside.json")
[ "$(jq -r .state "$T/inside.json")" = running ] || fail "not running while run's command ran"
[ -n "$dom" ] && [ "$(envval SESSIOND_DOMAIN)" = "$dom" ] ||
	fail "SESSIOND_DOMAIN is '$(envval SESSIOND_DOMAIN)', the instance's domain is '$dom'"
[ "$(envval SESSIOND_URI)" = "$uri" ] || fail "SESSIOND_URI is '$(envval SESSIOND_URI)', the daemon's is '$uri'"
[ "$(jq -r '.holds | length' "$T/inside.json")" = 1 ] || fail "run's command ran without a hold"
no_holds || fail "a hold is left after run (env)"

# SIGTERM to sessionctl reaches the command, whose status run returns.
# (Not through ctl(): $! must be sessionctl itself.)
"$SESSIONCTL" run runner -- sh -c "trap 'echo terminated > \"$T/marker\"; exit 3' TERM
	echo \$\$ > '$T/child.pid'
	while :; do sleep 0.1; done" &
RUN=$!
wait_until 10 test -s "$T/child.pid" || fail "run's command did not start"
wait_until 5 one_hold || fail "run's hold is not listed: $(ctl holds runner)"
[ "$(field runner '.holds[0].owner_pid')" = "$RUN" ] || fail "the hold is not sessionctl's (pid $RUN): $(ctl holds runner)"
kill -TERM "$RUN"
wait "$RUN"
rc=$?
[ $rc = 3 ] || fail "run exited $rc after SIGTERM; the command's trap exits 3"
[ "$(cat "$T/marker" 2>/dev/null)" = terminated ] || fail "the command never saw the SIGTERM"
kill -0 "$(cat "$T/child.pid")" 2>/dev/null && fail "run's command is still alive"
no_holds || fail "a hold is left after a SIGTERM'd run: $(ctl holds runner)"
exit 0
