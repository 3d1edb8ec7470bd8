#!/bin/sh
# badinput-half-frame-hangup — a frame is only a frame once its newline
# arrives: a client that sends part of a request and hangs up has asked
# for nothing (a session.create cut before its "\n" creates nothing, nor
# does one cut inside a UTF-8 sequence or after 900 KB), while a whole
# frame sent before the cut one is carried out.  Fifty clients trickling
# half frames and hanging up mid-way leave no connection behind (the
# daemon's descriptor count comes back to where it was), the daemon stays
# up, a watching client keeps its stream and a well-behaved client is
# answered throughout.
. "$(dirname "$0")/lib.sh"

fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
fds_back() { [ "$(fds)" -le "$fd0" ]; }
ok_client() { timeout 10 "$SESSIONCTL" list >/dev/null; }
exists() { ctl status "$1" >/dev/null 2>&1; }
create() { printf '{"jsonrpc":"2.0","id":%s,"method":"session.create","params":{"name":"%s"}}' "$1" "$2"; }

# hangup NAME BYTES... — sends BYTES (rawrpc -e escapes) and hangs up.
hangup() {
	what=$1
	shift
	"$TOOLS/rawrpc" -t 10 -H "$@" 2>"$T/hangup.err" || fail "$what: rawrpc: $(cat "$T/hangup.err")"
	daemon_alive || fail "$what: the daemon died"
	ok_client || fail "$what: sessionctl list failed afterwards"
}

start_daemon
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' \
	>"$T/watch" 2>/dev/null &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/watch" || fail "session.watch not answered"
ok_client || fail "sessionctl list"
fd0=$(fds)

# A whole request but for its newline.
hangup "create without newline" -e "$(create 1 nonewline)"
# Half an object; a cut inside a two-byte UTF-8 sequence; a CR but no LF.
hangup "half object" -e '{"jsonrpc":"2.0","id":2,"method":"session.cre'
hangup "cut UTF-8" -e "$(create 3 cut | cut -c1-60)\\xc3"
hangup "CR only" -e "$(create 4 cronly)\\r"
# 900 KB of a frame that never ends.
hangup "900 KB unterminated" -Z 900000
# A whole frame, then half of the next: the first is carried out.
hangup "whole then half" -l "$(create 5 whole)" -e "$(create 6 halfsecond | cut -c1-50)"
wait_until 10 exists whole || fail "a whole frame sent before a cut one was not carried out"

# Fifty at once, trickling (2 ms a byte) and hanging up mid-frame, while a
# well-behaved client keeps asking.
pids=""
for i in $(seq 50); do
	"$TOOLS/rawrpc" -t 30 -H -p 2 -e "$(create $i "trickle$i" | cut -c1-$((20 + i)))" 2>/dev/null &
	pids="$pids $!"
done
for i in 1 2 3 4 5; do
	ok_client || fail "sessionctl list failed while 50 clients hung up mid-frame"
done
for p in $pids; do
	wait "$p" || fail "a trickling client did not get its bytes out"
done

# Nothing of the cut frames was carried out.
for name in nonewline cut cronly halfsecond; do
	exists "$name" && fail "session '$name' exists: a frame cut before its newline was carried out"
done
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = whole ] ||
	fail "sessions other than 'whole' exist: $(ctl list)"

# No connection left behind, and the others were not disturbed.
wait_until 10 fds_back || fail "the daemon holds $(fds) descriptors, $fd0 before the hang-ups"
daemon_alive || fail "the daemon died"
ctl create after >/dev/null || fail "create after the hang-ups"
wait_until 5 grep -q '"name":"after"' "$T/watch" || fail "the watching client saw no event after the hang-ups"
kill "$WATCH" 2>/dev/null
exit 0
