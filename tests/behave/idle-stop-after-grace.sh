#!/bin/sh
# idle-stop-after-grace — once the last hold goes, the VM runs one grace
# period more and is torn down (last_stop_reason "idle"); the session
# lives on, and the next operation brings a new VM (a new instance) up.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

start_daemon
ctl create idler --grace 1s >/dev/null || fail "create idler"

# The command looks at the session while run holds it.
ctl run idler -- sh -c "\"$SESSIONCTL\" status idler --json > \"$T/held1.json\"" ||
	fail "first run exited $?"
released=$(now_ms)
[ "$(jq -r .state "$T/held1.json")" = running ] || fail "not running while held: $(jq -c . "$T/held1.json")"
[ "$(jq -r '.holds | length' "$T/held1.json")" = 1 ] || fail "run's hold not listed while it ran"
inst1=$(jq -r .instance.id "$T/held1.json")
dom1=$(jq -r .instance.domain "$T/held1.json")
[ -n "$inst1" ] && [ "$inst1" != null ] || fail "no instance while running"

wait_until 10 state_is idler stopped || fail "idler did not stop within 10 s of the last release (state $(field idler .state))"
stopped=$(now_ms)
[ $((stopped - released)) -ge 800 ] || fail "stopped $((stopped - released)) ms after the release; the grace is 1 s"
[ "$(field idler .last_stop_reason)" = idle ] || fail "last_stop_reason is $(field idler .last_stop_reason), not idle"
[ "$(field idler .start_count)" = 1 ] || fail "start_count after the idle stop is $(field idler .start_count), not 1"
[ "$(field idler .instance)" = null ] || fail "a stopped session still shows an instance"
ctl list --json | jq -e '.sessions[] | select(.name == "idler")' >/dev/null || fail "the session went with its VM"

# The next operation brings a new VM up.
ctl run idler -- sh -c "\"$SESSIONCTL\" status idler --json > \"$T/held2.json\"" ||
	fail "second run exited $?"
[ "$(jq -r .state "$T/held2.json")" = running ] || fail "not running on the second run"
[ "$(jq -r .start_count "$T/held2.json")" = 2 ] || fail "start_count on the second run is $(jq -r .start_count "$T/held2.json"), not 2"
inst2=$(jq -r .instance.id "$T/held2.json")
[ "$inst2" != null ] && [ "$inst2" != "$inst1" ] || fail "the second VM has the same instance id $inst1"
[ "$(jq -r .instance.domain "$T/held2.json")" != "$dom1" ] || fail "the second VM reuses domain $dom1"

wait_until 10 state_is idler stopped || fail "the second VM did not stop after its grace"
[ "$(field idler .last_stop_reason)" = idle ] || fail "second stop reason is $(field idler .last_stop_reason)"
[ "$(field idler .start_count)" = 2 ] || fail "start_count changed after the second stop"
exit 0
