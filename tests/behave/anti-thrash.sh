#!/bin/sh
# anti-thrash — short bursts of work during the grace period re-arm the
# full grace each time: with grace 2 s and a hold taken and dropped every
# ~0.5 s for ~5 s (more than twice the grace), the VM stays up the whole
# time (one instance, no "stopping" event), and it stops one full grace
# after the last release.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ms_of() { date -d "$1" +%s%3N; }
events() { jq -c 'select(.method == "session.event") | .params' "$T/events"; }
count_events() { events | jq -s "map(select(.event == \"$1\")) | length"; }

start_daemon
ctl create thrash --grace 2s >/dev/null || fail "create thrash"

# The event stream, on its own connection, from before the first start.
"$TOOLS/rpcpipe" -n -1 -t 60 \
	'{"jsonrpc":"2.0","id":"w","method":"session.watch","params":{"name":"thrash"}}' \
	>"$T/events" 2>"$T/watch.err" &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/events" || fail "session.watch not answered: $(cat "$T/events" "$T/watch.err")"

begin=$(now_ms)
prev=0
inst=""
i=0
while [ $i -lt 10 ]; do
	ctl run thrash -- true || fail "burst $i: run exited $?"
	released=$(now_ms)
	s=$(ctl status thrash --json) || fail "status"
	[ "$(echo "$s" | jq -r .state)" = running ] || fail "burst $i: state $(echo "$s" | jq -r .state) during the bursts"
	id=$(echo "$s" | jq -r .instance.id)
	[ -z "$inst" ] || [ "$id" = "$inst" ] || fail "burst $i: a new instance ($inst -> $id): the VM was stopped between bursts"
	inst=$id
	dl=$(echo "$s" | jq -r .idle_deadline)
	[ "$dl" != null ] || fail "burst $i: no idle deadline after the release"
	d=$(ms_of "$dl")
	# The full grace from this release, not what was left of an older one
	# (that one would be at most ~1500 ms away and not later than $prev).
	left=$((d - released))
	[ $left -ge 1000 ] && [ $left -le 2100 ] || fail "burst $i: deadline $dl is $left ms after the release, not ~2000"
	[ $d -gt $prev ] || fail "burst $i: the idle deadline did not move forward ($prev -> $d)"
	prev=$d
	i=$((i + 1))
	# The gap between bursts: shorter than the grace (this is the load, not a wait).
	sleep 0.5
done
last_release=$released
[ $((last_release - begin)) -gt 4000 ] || fail "the bursts took only $((last_release - begin)) ms, not more than twice the grace"
[ "$(field thrash .start_count)" = 1 ] || fail "start_count $(field thrash .start_count) after the bursts, not 1"
[ "$(count_events stopping)" = 0 ] || fail "a stopping event during the bursts: $(events | grep stopping)"
[ "$(count_events starting)" = 1 ] || fail "expected one starting event, got $(count_events starting)"

# Then, with nothing more, it stops one grace after the last release.
wait_until 10 state_is thrash stopped || fail "thrash did not stop after the bursts ended"
wait_until 5 sh -c "grep -q '\"event\":\"stopped\"' '$T/events'" || fail "no stopped event"
stop_t=$(events | jq -r 'select(.event == "stopping") | .time' | head -n 1)
[ -n "$stop_t" ] || fail "no stopping event: $(events)"
gap=$(( $(ms_of "$stop_t") - last_release ))
[ $gap -ge 1900 ] || fail "stopped $gap ms after the last release; the grace is 2000 ms"
[ "$(count_events stopping)" = 1 ] || fail "expected one stopping event, got $(count_events stopping)"
[ "$(events | jq -r 'select(.event == "stopped") | .reason')" = idle ] || fail "the stop was not an idle stop: $(events | grep stopped)"
[ "$(field thrash .last_stop_reason)" = idle ] || fail "last_stop_reason $(field thrash .last_stop_reason)"
kill "$WATCH" 2>/dev/null
exit 0
