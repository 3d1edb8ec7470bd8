#!/bin/sh
# security-other-uid-no-probe — what other-uid-denied leaves out: to uid
# nobody, root's session is indistinguishable from one that does not
# exist (for every method by name, the same error code and the same
# message but for the name), root's tokens (bound to a connection or
# detached) are indistinguishable from made-up ones for token.renew and
# token.release, session.reset is refused alike, daemon.info counts only
# nobody's own sessions, and an owner_uid in any spelling (0, -0, 0.0,
# "0", 2^32) never reaches root's sessions.  Nobody's session of the same
# name is its own.  After all of it root's session, its holds and its
# state file are exactly as they were.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || skip "needs setpriv"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
NOBODY_UID=$(id -u nobody)

# rpc_nobody METHOD PARAMS — nobody's reply (one frame).
rpc_nobody() {
	as_nobody "$TOOLS/rpcpipe" -t 5 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}
# The error as "code message", with NAME replaced by a placeholder.
err_of() { jq -r '"\(.error.code) \(.error.message)"' | sed "s/$1/<NAME>/g"; }

start_daemon
as_nobody "$SESSIONCTL" list >/dev/null 2>&1 || skip "nobody cannot reach the socket under $T"
ctl create rootsess --grace 60s >/dev/null || fail "create rootsess"
dtok=$(ctl hold rootsess --ttl 10m --detach) || fail "root's detached hold"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"rootsess","reason":"bound"}}' \
	>"$T/bound" 2>/dev/null &
BOUND=$!
wait_until 10 grep -q '"token"' "$T/bound" || fail "root's bound token not acquired"
btok=$(jq -r .result.token "$T/bound")
file=$(ls "$T/state/sessions/"*.json)
sum0=$(sha256sum "$file" | cut -d' ' -f1)
holds0=$(field rootsess '[.holds[].id] | sort | join(",")')

# Existing-but-not-yours looks exactly like not-there.
for m in session.get session.start session.stop session.reset session.delete session.watch \
	 token.acquire vm.info vm.console; do
	p='"name":"rootsess"'
	[ $m = token.acquire ] && p="$p,\"ttl_s\":5,\"detach\":true"
	[ $m = session.stop ] && p="$p,\"force\":true"
	mine=$(rpc_nobody $m "{$p}" | err_of rootsess)
	none=$(rpc_nobody $m "{$(echo "$p" | sed s/rootsess/ghostsess/)}" | err_of ghostsess)
	case "$mine" in -32001\ *) ;; *) fail "nobody: $m of root's session: $mine, not -32001" ;; esac
	[ "$mine" = "$none" ] || fail "nobody: $m tells root's session from a missing one: '$mine' vs '$none'"
done
made_up=00000000-1111-2222-3333-444444444444
for tok in "$dtok" "$btok"; do
	for m in token.renew token.release; do
		p="\"token\":\"$tok\""
		[ $m = token.renew ] && p="$p,\"ttl_s\":3600"
		mine=$(rpc_nobody $m "{$p}" | err_of "$tok")
		none=$(rpc_nobody $m "{$(echo "$p" | sed "s/$tok/$made_up/")}" | err_of "$made_up")
		case "$mine" in -32001\ *) ;; *) fail "nobody: $m of root's token: $mine, not -32001" ;; esac
		[ "$mine" = "$none" ] || fail "nobody: $m tells root's token from a made-up one: '$mine' vs '$none'"
	done
done
[ "$(rpc_nobody daemon.info '{}' | jq -r .result.sessions)" = 0 ] || fail "daemon.info counts root's sessions for nobody"

# owner_uid in every spelling: forbidden, invalid, or nobody's own; never root's.
for v in 0 -0 0.0 '"0"' 4294967296 -1 1e0 null true; do
	r=$(rpc_nobody session.get "{\"name\":\"rootsess\",\"owner_uid\":$v}")
	c=$(echo "$r" | jq -r '.error.code // "ok"')
	case $c in -32002|-32602) ;; *) fail "nobody: owner_uid $v gave $c: $r" ;; esac
	r=$(rpc_nobody session.delete "{\"name\":\"rootsess\",\"owner_uid\":$v}")
	case $(echo "$r" | jq -r '.error.code // "ok"') in -32002|-32602) ;; *) fail "nobody: delete with owner_uid $v: $r" ;; esac
done
r=$(rpc_nobody session.get "{\"name\":\"rootsess\",\"owner_uid\":$NOBODY_UID}")
[ "$(echo "$r" | jq -r .error.code)" = -32001 ] || fail "nobody naming itself found root's session: $r"

# nobody's own "rootsess" is its own, created, deleted, root's untouched.
as_nobody "$SESSIONCTL" create rootsess >/dev/null || fail "nobody cannot create its own 'rootsess'"
[ "$(as_nobody "$SESSIONCTL" status rootsess --json | jq -r .owner_uid)" = "$NOBODY_UID" ] ||
	fail "nobody's 'rootsess' is not nobody's"
as_nobody "$SESSIONCTL" delete rootsess >/dev/null || fail "nobody cannot delete its own 'rootsess'"

# Root's session is exactly as it was, on disk too.
[ "$(field rootsess .owner_uid)" = 0 ] || fail "root's rootsess is gone"
state_is rootsess running || fail "root's session is $(field rootsess .state)"
[ "$(field rootsess '[.holds[].id] | sort | join(",")')" = "$holds0" ] || fail "root's holds changed: $(ctl holds rootsess)"
[ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sum0" ] || fail "root's state file changed"
ctl release "$dtok" >/dev/null || fail "root cannot release its own detached token"
kill "$BOUND" 2>/dev/null
exit 0
