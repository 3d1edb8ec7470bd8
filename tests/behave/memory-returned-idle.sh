#!/bin/sh
# memory-returned-idle — an idle daemon gives freed memory back.  1,000
# sessions are brought up at once and stop for idleness (grace 1 s); once
# the teardowns are over the daemon returns its freed heap to the host
# (malloc_trim) and says so in its log with its RSS before and after.  The
# line must come once the burst is over, the RSS it reports must have
# dropped, and the RSS the script reads itself (/proc/PID/status, right
# after the line) must be below the "before" figure too.  How much comes back is a figure, not a
# goal here: "make bench" (scale_bench) measures RSS per idle session
# before and after the trim.
#
# Under valgrind or a sanitizer the script runs all the same (200 sessions
# under valgrind, for time), and checks everything but the RSS: their
# allocators are not glibc's, so malloc_trim returns nothing there.  That
# run passes on what it checked and says which check it left out; the RSS
# is checked by the plain build's run of this script, which "make check"
# runs first (a sanitizer run is about memory errors on the same path).
. "$(dirname "$0")/lib.sh"

N=1000
NOT_GLIBC=""
if [ -n "${SESSIOND_WRAP:-}" ]; then
	NOT_GLIBC="the daemon runs under $(echo "$SESSIOND_WRAP" | cut -d' ' -f1)"
	N=200
elif ldd "$SESSIOND" 2>/dev/null | grep -q -e libasan -e libtsan; then
	NOT_GLIBC="the daemon is built with a sanitizer"
fi
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

# Watched in the log, not over RPC: a request now would allocate.
STOPPED="-> stopped (event stopped)"
all_stopped() { [ "$(grep -c -- "$STOPPED" "$DAEMON_LOG")" -ge $N ]; }
wait_until 120 all_stopped || fail "$(grep -c -- "$STOPPED" "$DAEMON_LOG") of $N sessions stopped long after their grace"
TRIM="memory: freed heap returned after teardowns"
last_line() { grep -n -- "$1" "$DAEMON_LOG" | tail -n 1 | cut -d: -f1; }
trimmed() { [ "$(last_line "$TRIM")" -gt "$(last_line "$STOPPED")" ]; }
wait_until 30 trimmed || fail "no '$TRIM' line 30 s after the last idle stop"
# Read before any further request (a list of N sessions allocates).
seen=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")
line=$(grep "$TRIM" "$DAEMON_LOG" | tail -n 1)
echo "$line"
set -- $(echo "$line" | sed -n 's/.*RSS \([0-9]*\) -> \([0-9]*\) KiB.*/\1 \2/p')
[ $# = 2 ] || fail "cannot read the RSS figures in: $line"
before=$1 after=$2
daemon_alive || fail "the daemon died"
[ "$(ctl list --json | jq '.sessions | length')" = $N ] || fail "sessions lost: $(ctl list | head -n 3)"
if [ -n "$NOT_GLIBC" ]; then
	echo "RSS not checked in this run ($NOT_GLIBC: its allocator is not glibc's; the plain build's run checks it); $N sessions up and idle-stopped, trim line seen"
	stop_daemon || fail "the daemon did not exit cleanly"
	exit 0
fi
[ "$after" -lt "$before" ] || fail "RSS did not drop at the trim ($before -> $after KiB)"
[ -n "$seen" ] && [ "$seen" -lt "$before" ] || fail "RSS read from /proc is $seen KiB, not below the $before KiB before the trim"
echo "RSS $before -> $after KiB at the trim, $seen KiB now"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
