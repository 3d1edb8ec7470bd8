#!/bin/sh
# load-no-reader-disconnected — a client that sends requests and never
# reads the replies is disconnected once its unread output passes the
# daemon's bound (8 MiB), instead of growing the daemon's memory: four such
# clients at once, each sending 1 MB requests (a daemon.info whose long id
# comes back in the reply) for as long as the daemon lets it, are each cut
# off (a client the daemon never cut off would send until its deadline,
# gigabytes), a well-behaved client is answered throughout, a client that
# reads slowly but does read is not cut off, and a watching client keeps
# its event stream.  The daemon's peak RSS meanwhile is a figure of
# "make bench".
. "$(dirname "$0")/lib.sh"

fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
fds_back() { [ "$(fds)" -le "$fd0" ]; }

start_daemon --verbose
ctl create keep --grace 60s >/dev/null || fail "create keep"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' \
	>"$T/watch" 2>/dev/null &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/watch" || fail "session.watch not answered"
fd0=$(fds)

# A reader that is slow (one request every 50 ms, each reply 100 KB) but reads.
"$TOOLS/rawrpc" -t 60 -d 50 -N 100 -z 100000 >/dev/null 2>"$T/slow.err" &
SLOW=$!
pids=""
for i in 1 2 3 4; do
	"$TOOLS/rawrpc" -t 60 -R -N 0 -z 1000000 2>"$T/noread.$i.err" &
	pids="$pids $!"
done
for i in 1 2 3 4 5; do
	timeout 60 "$SESSIONCTL" list >/dev/null || fail "sessionctl list failed while clients did not read"
done
i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p" || fail "non-reading client $i was not disconnected: $(cat "$T/noread.$i.err")"
	sent=$(sed -n 's/.*sent=\([0-9]*\)\/.*/\1/p' "$T/noread.$i.err")
	[ "$sent" -lt 64000000 ] || fail "non-reading client $i could send $sent bytes before it was cut off"
done
wait "$SLOW" || fail "the slow but reading client did not get its 100 replies: $(cat "$T/slow.err")"

n=$(grep -c "not reading its replies" "$DAEMON_LOG")
[ "$n" = 4 ] || fail "$n connections logged as not reading their replies, not 4"
wait_until 30 fds_back || fail "the daemon holds $(fds) descriptors, $fd0 before"
daemon_alive || fail "the daemon died"
ctl create after >/dev/null || fail "create after"
wait_until 5 grep -q '"name":"after"' "$T/watch" || fail "the watching client saw no event afterwards"
kill "$WATCH" 2>/dev/null
exit 0
