#!/bin/sh
# other-uid-denied — a user sees and touches only their own sessions:
# root's session is invisible to nobody (empty list; not found for status,
# start, stop, delete, hold, release of its token; no events in a watch),
# asking for another owner explicitly is forbidden (-32002), and nobody
# can still create and use a session of its own.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || skip "needs setpriv"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"

AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
NOBODY_UID=$(id -u nobody)
as_nobody() { $AS_NOBODY "$@"; }
events_of() { jq -c "select(.method == \"session.event\") | .params | select(.name == \"$2\")" "$1"; }
# rpc_nobody ID METHOD PARAMS — the error code of one request made by nobody.
rpc_nobody() {
	as_nobody "$TOOLS/rpcpipe" -t 5 \
		"{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"$2\",\"params\":$3}" | jq -r '.error.code // "ok"'
}

start_daemon
as_nobody "$SESSIONCTL" list >/dev/null 2>&1 || skip "nobody cannot reach the socket under $T"
ctl create rootsess --grace 60s >/dev/null || fail "create rootsess"
roottok=$(ctl hold rootsess --ttl 60s --detach) || fail "root's hold"

# Both watch everything, from before root's session changes.
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' \
	>"$T/root.events" 2>/dev/null &
RW=$!
as_nobody "$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' \
	>"$T/nobody.events" 2>/dev/null &
NW=$!
wait_until 5 grep -q '"id":"w","result"' "$T/root.events" || fail "root's watch not answered"
wait_until 5 grep -q '"id":"w","result"' "$T/nobody.events" || fail "nobody's watch not answered"

# Invisible: an empty list and "not found" for everything by name.
[ "$(as_nobody "$SESSIONCTL" list --json | jq '.sessions | length')" = 0 ] ||
	fail "nobody sees sessions: $(as_nobody "$SESSIONCTL" list)"
for cmd in "status rootsess" "start rootsess" "stop rootsess" "stop rootsess --force" \
	   "delete rootsess" "hold rootsess --ttl 5s --detach" "holds rootsess" "info rootsess" \
	   "release $roottok"; do
	as_nobody "$SESSIONCTL" $cmd >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 1 ] || fail "nobody: sessionctl $cmd exited $rc, not 1"
	grep -Eqi 'no session|no token' "$T/err" || fail "nobody: sessionctl $cmd did not say not found: $(cat "$T/err")"
done
for m in session.get session.start session.stop session.delete session.watch token.acquire vm.info vm.console; do
	c=$(rpc_nobody 1 $m '{"name":"rootsess"}')
	[ "$c" = -32001 ] || fail "nobody: $m of root's session gave $c, not -32001"
done
c=$(rpc_nobody 1 token.release "{\"token\":\"$roottok\"}")
[ "$c" = -32001 ] || fail "nobody: token.release of root's token gave $c, not -32001"

# Naming another owner outright is forbidden.
forbidden() {
	c=$(rpc_nobody 1 "$1" "$2")
	[ "$c" = -32002 ] || fail "nobody: $1 $2 gave $c, not -32002"
}
forbidden session.list '{"owner_uid":0}'
forbidden session.get '{"name":"rootsess","owner_uid":0}'
forbidden session.create '{"name":"squat","owner_uid":0}'
forbidden token.acquire '{"name":"rootsess","owner_uid":0}'
forbidden session.delete '{"name":"rootsess","owner_uid":0}'
forbidden session.watch '{"name":"rootsess","owner_uid":0}'
as_nobody "$SESSIONCTL" --owner 0 list >/dev/null 2>"$T/err"
[ $? = 1 ] || fail "nobody: sessionctl --owner 0 list did not exit 1"
grep -qi forbidden "$T/err" || fail "nobody: --owner 0 did not say forbidden: $(cat "$T/err")"

# Root's session is untouched, and changes state while nobody watches.
[ "$(field rootsess '.holds | map(.id) | join(",")')" = "$roottok" ] || fail "root's hold changed: $(ctl holds rootsess)"
state_is rootsess running || fail "root's session is $(field rootsess .state)"
ctl release "$roottok" >/dev/null || fail "root could not release its own token"
ctl stop rootsess >/dev/null || fail "root could not stop its session"
ctl create rootsess2 >/dev/null || fail "create rootsess2"
wait_until 5 sh -c "grep -q '\"event\":\"stopped\"' '$T/root.events'" || fail "root's watch saw no stop"

# nobody's own session: created, seen, used.  Its "created" event also
# marks a point in nobody's stream after every event of root's above.
as_nobody "$SESSIONCTL" create mine --grace 30s >/dev/null || fail "nobody could not create a session"
wait_until 5 sh -c "grep -q '\"name\":\"mine\"' '$T/nobody.events'" || fail "nobody's watch did not see its own session"
[ -z "$(events_of "$T/nobody.events" rootsess)$(events_of "$T/nobody.events" rootsess2)" ] ||
	fail "nobody received events of root's sessions: $(events_of "$T/nobody.events" rootsess)"
[ -n "$(events_of "$T/root.events" rootsess)" ] || fail "root's own watch saw nothing of rootsess"
[ -n "$(events_of "$T/root.events" mine)" ] || fail "root's watch-all did not see nobody's session"

l=$(as_nobody "$SESSIONCTL" list --json) || fail "nobody: list"
[ "$(echo "$l" | jq -r '[.sessions[].name] | join(",")')" = mine ] || fail "nobody's list is not just its own session: $l"
[ "$(echo "$l" | jq -r '.sessions[0].owner_uid')" = "$NOBODY_UID" ] || fail "nobody's session is not owned by $NOBODY_UID: $l"
as_nobody "$SESSIONCTL" run mine -- true || fail "nobody could not run in its own session"
[ "$(as_nobody "$SESSIONCTL" status mine --json | jq -r .start_count)" = 1 ] || fail "nobody's run did not start its VM"
# Root sees all, and nobody's session is not root's by name.
[ "$(ctl list --json | jq '.sessions | length')" = 3 ] || fail "root does not see all sessions: $(ctl list)"
ctl status mine >/dev/null 2>&1 && fail "root's own namespace has a 'mine' (it is nobody's)"
ctl status mine --owner "$NOBODY_UID" >/dev/null || fail "root could not see nobody's session with --owner"
kill "$RW" "$NW" 2>/dev/null
exit 0
