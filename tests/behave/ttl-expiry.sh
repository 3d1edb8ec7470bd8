#!/bin/sh
# ttl-expiry — "sessionctl hold --ttl D --detach" prints a token and exits;
# the hold outlives the CLI, disappears when its TTL runs out, and the idle
# stop follows.  Releasing the expired token is refused as not found.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
holds_empty() { [ "$(field "$1" '.holds | length')" = 0 ]; }

start_daemon
ctl create leased --grace 1s >/dev/null || fail "create leased"

acquired=$(now_ms)
token=$(ctl hold leased --ttl 2s --detach) || fail "hold --detach exited $?"
echo "$token" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' ||
	fail "hold --detach printed '$token', not a token"

# The CLI is gone; its hold is not.
h=$(ctl holds leased --json) || fail "holds exited $?"
[ "$(echo "$h" | jq length)" = 1 ] || fail "the detached hold did not outlive the CLI: $h"
[ "$(echo "$h" | jq -r '.[0].id')" = "$token" ] || fail "the hold is not token $token: $h"
[ "$(echo "$h" | jq -r '.[0].expires')" != null ] || fail "a TTL hold without an expiry: $h"
state_is leased running || fail "not running while held (state $(field leased .state))"

wait_until 6 holds_empty leased || fail "the hold did not expire within 6 s: $(ctl holds leased --json)"
expired=$(now_ms)
[ $((expired - acquired)) -ge 1800 ] || fail "the 2 s hold went after $((expired - acquired)) ms"
wait_until 10 state_is leased stopped || fail "no idle stop after the TTL ran out (state $(field leased .state))"
stopped=$(now_ms)
[ $((stopped - acquired)) -ge 2800 ] || fail "stopped $((stopped - acquired)) ms after the acquire; TTL 2 s + grace 1 s"
[ "$(field leased .last_stop_reason)" = idle ] || fail "last_stop_reason $(field leased .last_stop_reason), not idle"

ctl release "$token" >"$T/release.out" 2>"$T/release.err"
rc=$?
[ $rc = 1 ] || fail "release of an expired token exited $rc, not 1"
grep -Eqi 'no token|not found' "$T/release.err" || fail "release did not say not found: $(cat "$T/release.err")"
grep -q "$token" "$T/release.err" || fail "release's message does not name the token: $(cat "$T/release.err")"
code=$("$TOOLS/rpcpipe" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"token.release\",\"params\":{\"token\":\"$token\"}}" |
	jq -r '.error.code')
[ "$code" = -32001 ] || fail "token.release of an expired token: code $code, not -32001"
exit 0
