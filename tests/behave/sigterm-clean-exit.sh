#!/bin/sh
# sigterm-clean-exit — SIGTERM makes the daemon exit 0 promptly, even with
# a running VM, a client holding it and a watcher connected; the socket
# file is removed, clients see the connection end, and a restart on the
# same state directory finds every session, and a detached token (which
# outlives its connection and the daemon) is still held by it.
. "$(dirname "$0")/lib.sh"

start_daemon
ctl create one --grace 30s >/dev/null || fail "create one"
ctl create two --grace never --storage ephemeral >/dev/null || fail "create two"
ctl run one -- true || fail "run one"
tok=$(ctl hold one --ttl 10m --reason kept --detach --json | jq -r .token)
[ -n "$tok" ] && [ "$tok" != null ] || fail "detached hold on one"
before=$(ctl list --json | jq -c '[.sessions[] | {name, id, start_count, grace_s, storage}] | sort_by(.name)')

"$SESSIONCTL" hold one >"$T/hold.out" 2>"$T/hold.err" &
HOLDER=$!
wait_until 10 grep -q '^holding' "$T/hold.out" || fail "hold did not start"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' >"$T/events" 2>&1 &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/events" || fail "watch not answered"

kill -TERM "$DAEMON_PID"
wait_until 30 exited "$DAEMON_PID" || fail "the daemon did not exit within 30 s of SIGTERM"
reap_daemon 0 || fail "the daemon exited $DAEMON_STATUS after SIGTERM, not 0"
[ ! -e "$SESSIOND_SOCKET" ] || fail "the socket file $SESSIOND_SOCKET is still there"
grep -q 'exited cleanly' "$DAEMON_LOG" || fail "no clean-exit line in the log"

# Its clients saw the connection end.
wait_until 5 exited "$HOLDER" || fail "the holder did not notice the daemon went away"
wait "$HOLDER"
rc=$?
[ $rc = 3 ] || fail "the holder exited $rc when the daemon went away, not 3 (unreachable)"
wait_until 5 exited "$WATCH" || fail "the watcher's connection stayed open"
ctl list >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "sessionctl list exited $rc with no daemon, not 3"

start_daemon
after=$(ctl list --json | jq -c '[.sessions[] | {name, id, start_count, grace_s, storage}] | sort_by(.name)')
[ "$after" = "$before" ] || fail "sessions differ after the restart: before $before, after $after"
field one '.holds' | jq -e --arg t "$tok" 'map(select(.id == $t and .reason == "kept")) | length == 1' >/dev/null ||
	fail "the detached token $tok did not survive the clean exit: $(field one .holds)"
ctl release "$tok" >/dev/null || fail "release $tok after the restart"
exit 0
