#!/bin/sh
# load-fd-exhaustion — a daemon out of file descriptors keeps serving and
# does not spin.  Its open-file limit is lowered (prlimit) to what it uses
# plus 24, and 100 clients connect at once: some are served, the rest wait
# in the listen backlog.  Meanwhile the daemon's event loop does not spin:
# its thread is busy (on a CPU or waiting for one, /proc/PID/task/PID/
# schedstat) less than half of the 15 s stall, where a busy loop on the
# readable listening socket would be busy all of it however loaded the
# machine is (its CPU time is printed, a figure); it logs the shortage
# once per episode rather than every retry (each "pausing accept" line
# follows an "accepting connections again", never another "pausing"),
# and a connection it already had is still answered; a create it cannot
# save either fails cleanly or is kept, as its reply says.  Once clients
# hang up, every waiting one is answered, and the daemon works as before.
. "$(dirname "$0")/lib.sh"

command -v prlimit >/dev/null || skip "needs prlimit (util-linux)"
fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
req() { printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}' "$1" "$2" "$3"; }

start_daemon
ctl create pre >/dev/null || fail "create pre"
# The connection that was there first: one request now, two more 3 s later.
"$TOOLS/rawrpc" -t 60 -d 3000 -l "$(req 1 daemon.info '{}')" -l "$(req 2 daemon.info '{}')" \
	-l "$(req 3 session.create '{"name":"during"}')" >"$T/early" 2>"$T/early.err" &
EARLY=$!
wait_until 5 grep -q '"id":1,"result"' "$T/early" || fail "the early connection was not answered"
lim=$(( $(fds) + 24 ))
prlimit --pid "$DAEMON_PID" --nofile=$lim: || fail "prlimit failed"

"$TOOLS/loadclients" -m stall -c 100 -H 15 -b 60 -p "$DAEMON_PID" >"$T/load.out" 2>&1 &
LOAD=$!
wait "$EARLY" || fail "the early connection was not answered while out of descriptors: $(cat "$T/early.err")"
grep -q '^loadclients: stall:' "$T/load.out" &&
	fail "the early connection was answered only after the stall: $(cat "$T/load.out")"
wait "$LOAD"
rc=$?
cat "$T/load.out"
[ $rc = 0 ] || fail "loadclients exited $rc: $(grep FAIL "$T/load.out" | head -5)"

# No busy loop while out of descriptors.
busy=$(sed -n 's/.*stall_busy_ms=\([0-9]*\) .*/\1/p' "$T/load.out")
wall=$(sed -n 's/.* stall_ms=\([0-9]*\).*/\1/p' "$T/load.out")
[ -n "$busy" ] && [ -n "$wall" ] || fail "no busy-time figures from loadclients (schedstat)"
[ $((busy * 2)) -lt "$wall" ] || fail "the daemon's loop was busy $busy ms of the $wall ms out of descriptors: it spins"
grep -q "Too many open files; pausing accept" "$DAEMON_LOG" || fail "the daemon did not run out of descriptors"
# Once per episode: an episode ends with an accepted connection.
twice=$(grep -o -e "pausing accept" -e "accepting connections again" "$DAEMON_LOG" | uniq -c |
	awk '$2 == "pausing" && $1 > 1 { print $1 }' | head -n 1)
[ -z "$twice" ] || fail "the shortage was logged $twice times in a row (per retry, not per episode)"

# The create made while out of descriptors: its reply and the state agree.
if jq -e 'select(.id == 3) | .result' "$T/early" >/dev/null; then
	ctl status during >/dev/null || fail "an acknowledged create is missing"
else
	jq -e 'select(.id == 3) | .error.code == -32603' "$T/early" >/dev/null ||
		fail "the create while out of descriptors: $(grep '"id":3' "$T/early")"
	ctl status during >/dev/null 2>&1 && fail "a create that failed left a session"
fi

daemon_alive || fail "the daemon died"
prlimit --pid "$DAEMON_PID" --nofile=4096: || fail "cannot give the daemon its descriptors back"
ctl create after >/dev/null || fail "create after the shortage"
[ "$(field pre .name)" = pre ] || fail "session pre is gone"
ls -a "$T/state/sessions" | grep -q '\.tmp$' && fail "temporary state files left: $(ls -a "$T/state/sessions")"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
