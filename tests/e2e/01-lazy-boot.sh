#!/bin/sh
# 01-lazy-boot — creating a session starts no VM; the first `sessionctl run`
# boots one and runs its command only once the guest's ready line is on
# the serial console (the console, read from inside the command, already
# holds it), with start_count 1 and the domain listed by libvirt.  A
# session whose ready pattern never appears fails its start after
# ready_timeout instead: run fails, nothing is left running.
. "$(dirname "$0")/lib.sh"

e2e_start
mk lazy --grace 30s
[ "$(field lazy .state)" = stopped ] || fail "a new session is $(field lazy .state), not stopped"
[ "$(field lazy .start_count)" = 0 ] || fail "a new session has start_count $(field lazy .start_count)"
[ -z "$(vsh list --all --name | grep "^$PREFIX")" ] || fail "create started a domain: $(vsh list --all --name)"

# What the command sees is what run guaranteed when it started it.
ctl run lazy -- sh -c "
	\"$SESSIONCTL\" status lazy --json > \"$T/held.json\"
	\"$SESSIONCTL\" console lazy > \"$T/console.txt\"
	virsh -q -c $URI list --name > \"$T/domains.txt\"" || fail "run exited $?"
[ "$(jq -r .state "$T/held.json")" = running ] || fail "not running while run held it: $(jq -c . "$T/held.json")"
[ "$(jq -r .start_count "$T/held.json")" = 1 ] || fail "start_count $(jq -r .start_count "$T/held.json"), not 1"
grep -q "$GUEST_READY" "$T/console.txt" ||
	fail "run's command ran before the ready line was on the console: $(cat "$T/console.txt")"
grep -q "^MARKER boots=1" "$T/console.txt" || fail "the guest did not see a fresh persistent disk: $(cat "$T/console.txt")"
dom=$(jq -r .instance.domain "$T/held.json")
grep -qx "$dom" "$T/domains.txt" || fail "domain $dom was not running during run: $(cat "$T/domains.txt")"
[ "$(field lazy .start_count)" = 1 ] || fail "start_count after run is $(field lazy .start_count)"

# A ready line that never comes: the start fails after ready_timeout.
mk mute --grace 30s --ready-pattern 'NEVER-PRINTED-[0-9]+' --ready-timeout 3s
ctl run mute -- true >"$T/mute.out" 2>&1 && fail "run succeeded on a guest that never became ready"
grep -q "not ready" "$T/mute.out" || fail "run's error does not say the guest was not ready: $(cat "$T/mute.out")"
wait_until 30 state_is mute stopped || fail "mute is $(field mute .state) after its failed start"
[ "$(field mute .last_stop_reason)" = start-failed ] || fail "mute's last stop is $(field mute .last_stop_reason)"
[ -z "$(vsh list --name | grep "^$PREFIX" | grep -v "^$dom\$")" ] ||
	fail "the failed start left a domain: $(vsh list --name)"
exit 0
