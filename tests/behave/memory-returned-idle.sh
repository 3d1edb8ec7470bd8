#!/bin/sh
# memory-returned-idle — an idle daemon gives freed memory back.  1,000
# sessions are brought up at once and stop for idleness (grace 1 s); once
# the teardowns are over the daemon returns its freed heap to the host
# (malloc_trim) and says so in its log with its RSS before and after.  The
# line must come, and the RSS must have dropped by at least 1 MiB (the
# teardowns of 1,000 instances free ~3 MiB of bookkeeping; glibc kept it).
# Not under valgrind or a sanitizer, whose allocators are not glibc's.
. "$(dirname "$0")/lib.sh"

[ -z "${SESSIOND_WRAP:-}" ] || skip "RSS under $SESSIOND_WRAP says nothing about glibc"
ldd "$SESSIOND" 2>/dev/null | grep -q -e libasan -e libtsan &&
	skip "built with a sanitizer: its allocator is not glibc's"
N=1000
echo "max_sessions_per_user = $N" >"$T/sessiond.conf"
start_daemon

frames() {  # frames METHOD PARAMS-WITHOUT-NAME: one request per session
	i=0
	while [ $i -lt $N ]; do
		echo "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"$1\",\"params\":{\"name\":\"m$i\"$2}}"
		i=$((i + 1))
	done
}
frames session.create ',"grace_s":1' | "$TOOLS/rpcpipe" -t 120 >"$T/create.out" ||
	fail "not every create was answered"
[ "$(grep -c '"result"' "$T/create.out")" = $N ] || fail "creates failed: $(grep -m3 error "$T/create.out")"
frames session.start '' | "$TOOLS/rpcpipe" -t 180 >"$T/start.out" ||
	fail "not every start was answered"
[ "$(grep -c '"result"' "$T/start.out")" = $N ] || fail "starts failed: $(grep -m3 error "$T/start.out")"

none_running() { ! ctl list | grep -q running; }
wait_until 120 none_running || fail "sessions still running long after their grace"
TRIM="memory: freed heap returned after teardowns"
trimmed() { grep -q "$TRIM" "$DAEMON_LOG"; }
wait_until 30 trimmed || fail "no '$TRIM' line 30 s after the last idle stop"
line=$(grep "$TRIM" "$DAEMON_LOG" | tail -n 1)
echo "$line"
set -- $(echo "$line" | sed -n 's/.*RSS \([0-9]*\) -> \([0-9]*\) KiB.*/\1 \2/p')
[ $# = 2 ] || fail "cannot read the RSS figures in: $line"
before=$1 after=$2
[ $((before - after)) -ge 1024 ] || fail "RSS dropped by $((before - after)) KiB only ($before -> $after)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
