#!/bin/sh
# lazy-start — creating a session starts no VM; the first operation that
# needs one (sessionctl run) brings it up; looking at a session (status,
# list, holds) never starts its VM and never counts as activity.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ms_of() { date -d "$1" +%s%3N; }
# The wall-clock view of the (monotonic) deadline is recomputed at each
# read, so it wobbles (by a millisecond on a quiet machine; more when the
# daemon is preempted between its two clock reads, or under valgrind).  A
# re-armed grace moves it by the time since the last arm: the reads below
# go on for 2 s, so a re-arm shows as a shift of up to 2 s, far beyond the
# tolerance of 250 ms, which only absorbs the wobble.
same_deadline() { dd=$(( $(ms_of "$1") - $(ms_of "$2") )); [ $dd -ge -250 ] && [ $dd -le 250 ]; }

start_daemon
ctl create lazy --grace 30s >/dev/null || fail "create lazy"

[ "$(field lazy .state)" = stopped ] || fail "a new session is $(field lazy .state), not stopped"
[ "$(field lazy .start_count)" = 0 ] || fail "a new session has start_count $(field lazy .start_count)"
[ "$(field lazy .instance)" = null ] || fail "a new session has an instance: $(field lazy .instance)"

# Looking, many times over, on a stopped session.
i=0
while [ $i -lt 10 ]; do
	ctl status lazy >/dev/null || fail "status lazy exited $?"
	ctl status lazy --json >/dev/null || fail "status --json lazy exited $?"
	ctl list >/dev/null || fail "list exited $?"
	ctl holds lazy >/dev/null || fail "holds lazy exited $?"
	i=$((i + 1))
done
[ "$(field lazy .state)" = stopped ] || fail "status/list started the VM (state $(field lazy .state))"
[ "$(field lazy .start_count)" = 0 ] || fail "status/list started the VM (start_count $(field lazy .start_count))"
[ "$(ctl list --json | jq -r '.sessions[] | select(.name == "lazy") | .state')" = stopped ] ||
	fail "list shows lazy as not stopped"

# The first operation that needs the VM brings it up, once.
ctl run lazy -- true || fail "run lazy -- true exited $?"
[ "$(field lazy .start_count)" = 1 ] || fail "start_count after run is $(field lazy .start_count), not 1"
state_is lazy running || fail "after run (grace 30s) lazy is $(field lazy .state), not running"
[ "$(field lazy '.holds | length')" = 0 ] || fail "run left a hold behind"

# Running and idle: the grace deadline is set and reading does not move
# it, for at least 2 s and 5 rounds of reads.
d1=$(field lazy .idle_deadline)
[ "$d1" != null ] || fail "a running idle session has no idle_deadline"
until=$(( $(now_ms) + 2000 ))
reads=0
while [ $(now_ms) -lt $until ] || [ $reads -lt 5 ]; do
	d=$(field lazy .idle_deadline)
	[ "$d" != null ] && same_deadline "$d" "$d1" || fail "status moved the idle deadline: $d1 -> $d"
	ctl list >/dev/null || fail "list exited $?"
	ctl holds lazy >/dev/null || fail "holds exited $?"
	reads=$((reads + 1))
done
d2=$(ctl list --json | jq -r '.sessions[] | select(.name == "lazy") | .idle_deadline')
[ "$d2" != null ] && same_deadline "$d2" "$d1" || fail "list moved the idle deadline: $d1 -> $d2"
[ "$(field lazy .start_count)" = 1 ] || fail "reading restarted the VM (start_count $(field lazy .start_count))"
state_is lazy running || fail "lazy stopped while only being looked at"
exit 0
