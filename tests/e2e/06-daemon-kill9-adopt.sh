#!/bin/sh
# 06-daemon-kill9-adopt — kill -9 of sessiond while its VM runs: the VM
# runs on (same QEMU process), and the restarted daemon adopts it: same
# instance id, state running, start_count unchanged, domain still there;
# then, with nothing holding it, it idle-stops as usual (domain and scratch
# gone).  And a VM that died while the daemon was down: the restarted
# daemon says "lost", cleans up its scratch volume, and boots anew later.
. "$(dirname "$0")/lib.sh"

e2e_start
mk adoptee --grace 8s
ctl start adoptee >/dev/null || fail "start adoptee"
inst=$(inst_of adoptee)
dom=$(dom_of adoptee)
scratch=$(field adoptee .instance.scratch)
pid=$(qemu_pid "$dom") || fail "no QEMU process for $dom"
kill9_daemon
kill -0 "$pid" 2>/dev/null || fail "QEMU $pid died with the daemon"

e2e_start
[ "$(field adoptee .state)" = running ] || fail "after the restart adoptee is $(field adoptee .state), not running"
[ "$(inst_of adoptee)" = "$inst" ] || fail "instance changed across the restart: $inst -> $(inst_of adoptee)"
[ "$(field adoptee .start_count)" = 1 ] || fail "start_count $(field adoptee .start_count) after adoption"
[ "$(vsh domstate "$dom")" = running ] || fail "domain $dom is $(vsh domstate "$dom" 2>&1)"
[ "$(qemu_pid "$dom")" = "$pid" ] || fail "QEMU of $dom is not the same process ($pid)"
grep -q "adopted running domain $dom" "$DAEMON_LOG" || fail "the daemon did not log the adoption"
grep -q "destroyed orphan domain $dom" "$DAEMON_LOG" && fail "the daemon destroyed its own session's domain as an orphan"
ctl run adoptee -- true || fail "run on the adopted VM exited $?"
[ "$(field adoptee .start_count)" = 1 ] || fail "run on the adopted VM started another ($(field adoptee .start_count))"
wait_until 60 state_is adoptee stopped || fail "the adopted VM did not idle-stop (state $(field adoptee .state))"
[ "$(field adoptee .last_stop_reason)" = idle ] || fail "last stop $(field adoptee .last_stop_reason), not idle"
wait_until 10 dom_gone "$dom" || fail "domain $dom still listed after the idle stop"
vol_listed "$scratch" && fail "scratch $scratch left after the idle stop"

# The VM dies while no daemon watches it.
ctl start adoptee >/dev/null || fail "start adoptee again"
dom=$(dom_of adoptee)
scratch=$(field adoptee .instance.scratch)
kill9_daemon
vsh destroy "$dom" >/dev/null || fail "virsh destroy $dom"
e2e_start
wait_until 10 sh -c "[ \"\$(\"$SESSIONCTL\" status adoptee --json | jq -r .last_stop_reason)\" = lost ]" ||
	fail "last stop $(field adoptee .last_stop_reason), not lost"
[ "$(field adoptee .state)" = stopped ] || fail "adoptee is $(field adoptee .state)"
wait_until 10 sh -c "! virsh -q -c $URI vol-list $POOL | grep -q $scratch" ||
	fail "the lost instance's scratch $scratch was not swept"
ctl run adoptee -- true || fail "run after a lost VM exited $?"
[ "$(field adoptee .start_count)" = 3 ] || fail "start_count $(field adoptee .start_count), not 3"
exit 0
