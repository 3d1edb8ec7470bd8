#!/bin/sh
# killed-client-releases-token — a token is bound to the connection that
# acquired it: "sessionctl hold" killed with SIGKILL (no chance to release)
# drops its hold at once, and the idle stop follows one grace later.
# While the holder lived, the VM was never stopped.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ms_of() { date -d "$1" +%s%3N; }
events() { jq -c 'select(.method == "session.event") | .params' "$T/events"; }
holds_empty() { [ "$(field "$1" '.holds | length')" = 0 ]; }

start_daemon
ctl create pinned --grace 1s >/dev/null || fail "create pinned"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" \
	'{"jsonrpc":"2.0","id":"w","method":"session.watch","params":{"name":"pinned"}}' \
	>"$T/events" 2>"$T/watch.err" &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/events" || fail "session.watch not answered"

# Not through ctl(): $! must be sessionctl itself, not a subshell.
"$SESSIONCTL" hold pinned --reason "killed-client test" >"$T/hold.out" 2>"$T/hold.err" &
HOLDER=$!
wait_until 10 grep -q '^holding' "$T/hold.out" || fail "hold did not start: $(cat "$T/hold.out" "$T/hold.err")"
token=$(sed -n 's/.*(token \([0-9a-f-]*\)).*/\1/p' "$T/hold.out")
[ -n "$token" ] || fail "no token in: $(cat "$T/hold.out")"

h=$(ctl holds pinned --json) || fail "holds pinned exited $?"
[ "$(echo "$h" | jq length)" = 1 ] || fail "expected one hold, got: $h"
[ "$(echo "$h" | jq -r '.[0].kind')" = token ] || fail "the hold is not a token: $h"
[ "$(echo "$h" | jq -r '.[0].id')" = "$token" ] || fail "the hold is not the holder's token $token: $h"
[ "$(echo "$h" | jq -r '.[0].owner_pid')" = "$HOLDER" ] || fail "owner_pid is not the holder's pid $HOLDER: $h"
[ "$(echo "$h" | jq -r '.[0].reason')" = "killed-client test" ] || fail "reason not kept: $h"

# Held through more than the grace: it stays up.
end=$(( $(now_ms) + 1800 ))
while [ "$(now_ms)" -lt "$end" ]; do
	state_is pinned running || fail "the VM left running while held (state $(field pinned .state))"
	sleep 0.1
done

killed=$(now_ms)
kill -KILL "$HOLDER"
wait "$HOLDER" 2>/dev/null
wait_until 5 holds_empty pinned || fail "the killed client's token is still held: $(ctl holds pinned --json)"
wait_until 10 state_is pinned stopped || fail "no idle stop after the holder died (state $(field pinned .state))"
[ "$(field pinned .last_stop_reason)" = idle ] || fail "last_stop_reason $(field pinned .last_stop_reason), not idle"
ctl release "$token" >/dev/null 2>&1 && fail "the dead client's token could still be released"

wait_until 5 sh -c "grep -q '\"event\":\"stopping\"' '$T/events'" || fail "no stopping event"
stop_t=$(events | jq -r 'select(.event == "stopping") | .time' | head -n 1)
[ "$(ms_of "$stop_t")" -ge "$killed" ] || fail "the VM was stopping at $stop_t, before the holder was killed"
[ "$(events | jq -s 'map(select(.event == "stopping")) | length')" = 1 ] || fail "more than one stop: $(events)"
kill "$WATCH" 2>/dev/null
exit 0
