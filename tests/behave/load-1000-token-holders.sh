#!/bin/sh
# load-1000-token-holders — 1,000 concurrent connections (within the
# default max_connections of 4096), each holding a token on one of four
# sessions and renewing it again and again, do not starve a well-behaved
# client: every one of its session.get calls is answered within a
# generous bound (30 s; the latencies are printed, not judged) and is
# right: the session running, exactly as many token holds as holders.
# When half of them hang up, then the rest, the holds follow at once, and
# the daemon is left with the descriptors it had before.
. "$(dirname "$0")/lib.sh"

N=1000
fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
fds_back() { [ "$(fds)" -le "$fd0" ]; }

# The daemon and the tool each need N descriptors and more.
ulimit -n 4096 2>/dev/null || skip "cannot raise RLIMIT_NOFILE to 4096 (hard limit $(ulimit -Hn))"
start_daemon
lim=$(awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits")
[ "$lim" -ge 4096 ] || fail "the daemon's open-file limit is $lim, not 4096"
for s in l0 l1 l2 l3; do
	ctl create $s --grace 60s >/dev/null || fail "create $s"
done
fd0=$(fds)

"$TOOLS/loadclients" -c $N -S l0 -S l1 -S l2 -S l3 -A -g 200 -b 30 -t 240 >"$T/load.out" 2>&1
rc=$?
cat "$T/load.out"
[ $rc = 0 ] || fail "loadclients exited $rc: $(grep FAIL "$T/load.out" | head -5)"
grep -q "^loadclients: $N tokens held on 4 session(s)" "$T/load.out" || fail "not $N tokens held"
grep -q "^loadclients: 200 of 200 session.get correct" "$T/load.out" || fail "not every session.get was right"

daemon_alive || fail "the daemon died under $N connections"
for s in l0 l1 l2 l3; do
	[ "$(field $s '.holds | length')" = 0 ] || fail "$s still held after every holder hung up: $(ctl holds $s)"
done
wait_until 10 fds_back || fail "the daemon holds $(fds) descriptors, $fd0 before the $N connections"
grep -q "connection limit" "$DAEMON_LOG" && fail "the daemon refused connections below max_connections"
stop_daemon || fail "the daemon did not exit cleanly after the load"
exit 0
