#!/bin/sh
# anti-thrash — short bursts of work during the grace period re-arm the
# full grace each time: with grace 8 s and a hold taken and dropped about
# every 0.5 s for more than twice the grace, the VM stays up the whole
# time (one instance, no "stopping" event), and it stops once the grace
# after the last release has run out, not before.
#
# Times are checked against what caused them, not against a window that a
# slow machine (or valgrind) could miss: a release happens while
# "sessionctl run" runs, between the script's clock readings before and
# after it, so its deadline is in [before + grace, after + grace] (give or
# take WOBBLE, the jitter of the wall-clock view of a monotonic deadline);
# a burst whose hold came before the last deadline (its "after" is earlier)
# must find the same instance; the stop must not begin before the last
# deadline.  A burst taking longer than the grace proves nothing and fails
# as too slow: a hang guard, generous (a burst takes tens of milliseconds
# on a quiet machine, seconds at a load average of 17 on two CPUs).
. "$(dirname "$0")/lib.sh"

GRACE_MS=8000
WOBBLE=250
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ms_of() { date -d "$1" +%s%3N; }
events() { jq -c 'select(.method == "session.event") | .params' "$T/events"; }
count_events() { events | jq -s "map(select(.event == \"$1\")) | length"; }

start_daemon
ctl create thrash --grace 8s >/dev/null || fail "create thrash"

# The event stream, on its own connection, from before the first start.
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" \
	'{"jsonrpc":"2.0","id":"w","method":"session.watch","params":{"name":"thrash"}}' \
	>"$T/events" 2>"$T/watch.err" &
WATCH=$!
wait_until 5 grep -q '"id":"w","result"' "$T/events" || fail "session.watch not answered: $(cat "$T/events" "$T/watch.err")"

begin=$(now_ms)
prev=0
inst=""
i=0
while [ $i -lt 3 ] || [ $(( $(now_ms) - begin )) -le $((2 * GRACE_MS)) ]; do
	before=$(now_ms)
	ctl run thrash -- true || fail "burst $i: run exited $?"
	after=$(now_ms)
	[ $prev = 0 ] || [ $after -lt $prev ] ||
		fail "burst $i ended $((after - prev)) ms after the previous deadline: the machine is too slow to tell a re-armed grace from a new start"
	set -- $(ctl status thrash --json | jq -r '"\(.state) \(.instance.id) \(.idle_deadline)"')
	[ $# = 3 ] || fail "burst $i: status"
	[ "$1" = running ] || fail "burst $i: state $1 during the bursts"
	[ -z "$inst" ] || [ "$2" = "$inst" ] || fail "burst $i: a new instance ($inst -> $2): the VM was stopped between bursts"
	inst=$2
	dl=$3
	[ "$dl" != null ] || fail "burst $i: no idle deadline after the release"
	d=$(ms_of "$dl")
	# The full grace from this release, not what was left of an older one.
	[ $d -ge $((before + GRACE_MS - WOBBLE)) ] && [ $d -le $((after + GRACE_MS + WOBBLE)) ] ||
		fail "burst $i: deadline $dl ($d) is not one grace ($GRACE_MS ms) after a release between $before and $after"
	[ $d -gt $prev ] || fail "burst $i: the idle deadline did not move forward ($prev -> $d)"
	prev=$d
	i=$((i + 1))
	# The gap between bursts: shorter than the grace (this is the load, not a wait).
	sleep 0.5
done
echo "$i bursts in $(( after - begin )) ms, grace $GRACE_MS ms"
[ "$(field thrash .start_count)" = 1 ] || fail "start_count $(field thrash .start_count) after the bursts, not 1"
[ "$(count_events stopping)" = 0 ] || fail "a stopping event during the bursts: $(events | grep stopping)"
[ "$(count_events starting)" = 1 ] || fail "expected one starting event, got $(count_events starting)"

# Then, with nothing more, it stops once the last deadline has passed.
wait_until 40 state_is thrash stopped || fail "thrash did not stop after the bursts ended"
wait_until 5 sh -c "grep -q '\"event\":\"stopped\"' '$T/events'" || fail "no stopped event"
stop_t=$(events | jq -r 'select(.event == "stopping") | .time' | head -n 1)
[ -n "$stop_t" ] || fail "no stopping event: $(events)"
early=$(( prev - $(ms_of "$stop_t") ))
[ $early -le $WOBBLE ] || fail "the stop began $early ms before the last idle deadline"
[ "$(count_events stopping)" = 1 ] || fail "expected one stopping event, got $(count_events stopping)"
[ "$(events | jq -r 'select(.event == "stopped") | .reason')" = idle ] || fail "the stop was not an idle stop: $(events | grep stopped)"
[ "$(field thrash .last_stop_reason)" = idle ] || fail "last_stop_reason $(field thrash .last_stop_reason)"
kill "$WATCH" 2>/dev/null
exit 0
