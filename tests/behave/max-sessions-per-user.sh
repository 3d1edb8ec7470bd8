#!/bin/sh
# max-sessions-per-user — with max_sessions_per_user = 2 a non-root user
# (nobody, through sessionctl and raw frames) creates two sessions, and
# the third fails with -32006 "limit reached" and leaves nothing behind;
# root is exempt for its own sessions but not when it creates one for
# that user; another user has a limit of its own; a delete makes room;
# creates sent at once on one connection cannot overshoot the limit.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || fail "needs setpriv (util-linux)"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"

NOBODY=$(id -u nobody)
OTHER=54321                             # a uid of its own; needs no passwd entry
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_other() { setpriv --reuid=$OTHER --regid=$OTHER --clear-groups "$@"; }
names_of() { "$@" list --json | jq -r '[.sessions[].name] | sort | join(",")'; }
state_files() { ls "$T/state/sessions" | wc -l; }
create_req() {  # create_req ID NAME [OWNER]
	echo "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"session.create\",\"params\":{\"name\":\"$2\"${3:+,\"owner_uid\":$3}}}"
}

echo "max_sessions_per_user = 2" >"$T/sessiond.conf"
start_daemon
as_nobody "$SESSIONCTL" list >/dev/null 2>&1 || fail "nobody cannot reach the socket under $T"

as_nobody "$SESSIONCTL" create a >/dev/null || fail "nobody: first create"
as_nobody "$SESSIONCTL" create b >/dev/null || fail "nobody: second create"
files=$(state_files)
as_nobody "$SESSIONCTL" create c >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "nobody: third create exited $rc, not 1: $(cat "$T/out" "$T/err")"
grep -q "limit reached: at most 2 sessions per user" "$T/err" || fail "nobody: third create said: $(cat "$T/err")"
code=$(as_nobody "$TOOLS/rpcpipe" -t 10 "$(create_req 1 c)" | jq -r '.error.code')
[ "$code" = -32006 ] || fail "nobody: third create by RPC gave $code, not -32006"
[ "$(names_of as_nobody "$SESSIONCTL")" = a,b ] || fail "nobody has: $(names_of as_nobody "$SESSIONCTL")"
[ "$(state_files)" = "$files" ] || fail "a refused create left a state file"

# Root for itself: not limited.  Root for nobody: nobody's limit holds.
for n in r1 r2 r3 r4; do ctl create "$n" >/dev/null || fail "root: create $n"; done
[ "$(names_of ctl --owner 0)" = r1,r2,r3,r4 ] || fail "root has: $(names_of ctl --owner 0)"
code=$("$TOOLS/rpcpipe" -t 10 "$(create_req 1 c "$NOBODY")" | jq -r '.error.code')
[ "$code" = -32006 ] || fail "root creating a third session for nobody gave $code, not -32006"

# Another user counts its own sessions.
as_other "$SESSIONCTL" create o1 >/dev/null || fail "uid $OTHER: first create"
as_other "$SESSIONCTL" create o2 >/dev/null || fail "uid $OTHER: second create"
as_other "$SESSIONCTL" create o3 >/dev/null 2>&1 && fail "uid $OTHER: third create succeeded"

# A delete makes room for exactly one more.
as_nobody "$SESSIONCTL" delete a >/dev/null || fail "nobody: delete a"
as_nobody "$SESSIONCTL" create c >/dev/null || fail "nobody: create after a delete"
as_nobody "$SESSIONCTL" create d >/dev/null 2>&1 && fail "nobody: create past the limit after a delete"

# At the limit minus one, four creates in flight at once on one
# connection: exactly one is accepted.
as_nobody "$SESSIONCTL" delete b >/dev/null || fail "nobody: delete b"
as_nobody "$SESSIONCTL" delete c >/dev/null || fail "nobody: delete c"
as_nobody "$SESSIONCTL" create keep >/dev/null || fail "nobody: create keep"
as_nobody "$TOOLS/rpcpipe" -t 30 "$(create_req 1 p1)" "$(create_req 2 p2)" "$(create_req 3 p3)" \
	"$(create_req 4 p4)" >"$T/burst" || fail "not every create of the burst was answered"
ok=$(jq -s '[.[] | select(.result)] | length' "$T/burst")
lim=$(jq -s '[.[] | select(.error.code == -32006)] | length' "$T/burst")
[ "$ok" = 1 ] && [ "$lim" = 3 ] || fail "burst at the limit: $ok created, $lim refused: $(cat "$T/burst")"
[ "$(as_nobody "$SESSIONCTL" list --json | jq '.sessions | length')" = 2 ] ||
	fail "nobody owns $(names_of as_nobody "$SESSIONCTL") after the burst"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
