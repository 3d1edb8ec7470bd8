#!/bin/sh
# 05-crash-policy — SIGKILL of the QEMU process (libvirt reports
# STOPPED/FAILED) is an exit nobody asked for:
#   terminate: the session goes to failed (last stop "crashed"), its token
#              holder is told, the domain and the scratch volume are gone;
#              sessionctl reset brings it back to stopped, and it boots again;
#   restart:   with a hold still there, a new instance comes up (new id,
#              new domain, start_count 2) and the old one is cleaned up.
. "$(dirname "$0")/lib.sh"

# crash NAME — SIGKILL of the session's QEMU; prints nothing.
crash() {
	dom=$(dom_of "$1")
	pid=$(qemu_pid "$dom") || fail "no QEMU process for $dom"
	kill -KILL "$pid"
}

e2e_start

# terminate
mk doomed --grace 30s --crash-policy terminate
tok=$(hold_detached doomed) || fail "hold doomed"
[ "$(field doomed .state)" = running ] || fail "doomed is $(field doomed .state) under a hold"
dom=$(dom_of doomed)
scratch=$(field doomed .instance.scratch)
vol_listed "$scratch" || fail "no scratch volume $scratch while doomed runs"
crash doomed
wait_until 30 state_is doomed failed || fail "doomed is $(field doomed .state) after SIGKILL of QEMU, not failed"
[ "$(field doomed .last_stop_reason)" = crashed ] || fail "doomed: last stop $(field doomed .last_stop_reason), not crashed"
field doomed .failed_reason | grep -q crashed || fail "doomed: failed_reason is $(field doomed .failed_reason)"
wait_until 10 dom_gone "$dom" || fail "the crashed domain $dom is still listed"
vol_listed "$scratch" && fail "the crashed instance's scratch $scratch is still in the pool"
[ "$(field doomed '.holds | length')" = 0 ] || fail "doomed's token survived the failure: $(ctl holds doomed)"
ctl run doomed -- true 2>"$T/refused" && fail "run on a failed session succeeded"
grep -q "failed" "$T/refused" || fail "run on a failed session: $(cat "$T/refused")"
ctl reset doomed >/dev/null || fail "reset doomed"
[ "$(field doomed .state)" = stopped ] || fail "doomed is $(field doomed .state) after reset"
ctl run doomed -- true || fail "run after reset exited $?"
[ "$(field doomed .start_count)" = 2 ] || fail "doomed: start_count $(field doomed .start_count) after reset and run"
ctl stop doomed >/dev/null || fail "stop doomed"

# restart
mk phoenix --grace 30s --crash-policy restart
tok=$(hold_detached phoenix) || fail "hold phoenix"
inst1=$(inst_of phoenix)
dom1=$(dom_of phoenix)
[ "$(field phoenix .start_count)" = 1 ] || fail "phoenix: start_count $(field phoenix .start_count)"
crash phoenix
wait_until 60 new_instance phoenix "$inst1" || fail "no new instance after the crash (state $(field phoenix .state), instance $(inst_of phoenix))"
[ "$(field phoenix .start_count)" = 2 ] || fail "phoenix: start_count $(field phoenix .start_count), not 2"
[ "$(field phoenix .last_stop_reason)" = crashed ] || fail "phoenix: last stop $(field phoenix .last_stop_reason)"
dom2=$(dom_of phoenix)
[ "$dom2" != "$dom1" ] && dom_listed "$dom2" || fail "the new instance's domain $dom2 is not listed"
dom_gone "$dom1" || fail "the crashed domain $dom1 is still listed"
field phoenix .holds | jq -e "map(select(.id == \"$tok\")) | length == 1" >/dev/null ||
	fail "the hold did not survive the restart: $(ctl holds phoenix)"
console_has phoenix "MARKER boots=2" || fail "the restarted guest did not see its persistent disk"
ctl release "$tok" >/dev/null || fail "release"
exit 0
