#!/bin/sh
# 08-daemon-sigterm-adopt — SIGTERM of sessiond while its VM runs: the
# daemon exits 0 and leaves the VM up (same QEMU process); the restarted
# daemon adopts it: same instance id, state running, start_count
# unchanged, and the guest did not reboot (its heartbeat goes on with the
# same boot id and a growing uptime, its console shows one boot).  Then,
# with nothing holding it, the adopted VM idle-stops as usual: domain,
# QEMU process and scratch volume gone.
. "$(dirname "$0")/lib.sh"

count() { ctl console "$1" | tr -d '\r' | grep -c "$2"; }

e2e_start
mk adoptee --grace 8s --cmdline "$GUEST_CMDLINE e2e.heartbeat=1"
tok=$(hold_detached adoptee) || fail "hold adoptee"
inst=$(inst_of adoptee)
dom=$(dom_of adoptee)
scratch=$(field adoptee .instance.scratch)
pid=$(qemu_pid "$dom") || fail "no QEMU process for $dom"
wait_until 30 has_beat adoptee || fail "no heartbeat from the guest: $(ctl console adoptee | tail -n 5)"
set -- $(beat adoptee)
boot=$1 up1=$2

stop_daemon
rc=$?
[ $rc = 0 ] || fail "sessiond exited with status $rc on SIGTERM, not 0"
grep -q "shutting down (VMs keep running)" "$DAEMON_LOG" || fail "the daemon did not log its SIGTERM shutdown"
kill -0 "$pid" 2>/dev/null || fail "QEMU $pid died with the daemon"
[ "$(vsh domstate "$dom")" = running ] || fail "domain $dom is $(vsh domstate "$dom" 2>&1) after SIGTERM"

e2e_start
[ "$(field adoptee .state)" = running ] || fail "after the restart adoptee is $(field adoptee .state), not running"
[ "$(inst_of adoptee)" = "$inst" ] || fail "instance changed across the restart: $inst -> $(inst_of adoptee)"
[ "$(field adoptee .start_count)" = 1 ] || fail "start_count $(field adoptee .start_count) after adoption"
[ "$(qemu_pid "$dom")" = "$pid" ] || fail "QEMU of $dom is not the same process ($pid)"
grep -q "adopted running domain $dom" "$DAEMON_LOG" || fail "the daemon did not log the adoption"
grep -q "destroyed orphan domain $dom" "$DAEMON_LOG" && fail "the daemon destroyed its own session's domain as an orphan"

# The same boot goes on: a later heartbeat, same boot id, one boot shown.
wait_until 30 beat_after adoptee "$up1" || fail "no heartbeat after uptime $up1: $(beat adoptee)"
set -- $(beat adoptee)
[ "$1" = "$boot" ] || fail "the guest rebooted: boot id $boot -> $1"
[ "$(count adoptee "$GUEST_READY")" = 1 ] || fail "the console shows $(count adoptee "$GUEST_READY") boots, not 1"
[ "$(count adoptee '^MARKER boots=')" = 1 ] || fail "the persistent disk counted $(count adoptee '^MARKER boots=') boots"
echo "adopted $dom: boot $boot, uptime $up1 s before SIGTERM, $2 s after"

# The token was detached: it survived the restart and still holds the VM.
field adoptee .holds | jq -e --arg t "$tok" 'map(select(.id == $t)) | length == 1' >/dev/null ||
	fail "the detached token did not survive the restart: $(ctl holds adoptee)"
ctl run adoptee -- true || fail "run on the adopted VM exited $?"
[ "$(field adoptee .start_count)" = 1 ] || fail "run on the adopted VM started another ($(field adoptee .start_count))"

# Idle stop on the adopted VM.
ctl release "$tok" >/dev/null || fail "release $tok"
released=$(now_ms)
wait_until 60 state_is adoptee stopped || fail "the adopted VM did not idle-stop (state $(field adoptee .state))"
[ $(( $(now_ms) - released )) -ge 7500 ] || fail "stopped $(( $(now_ms) - released )) ms after the release; the grace is 8 s"
[ "$(field adoptee .last_stop_reason)" = idle ] || fail "last stop $(field adoptee .last_stop_reason), not idle"
wait_until 10 dom_gone "$dom" || fail "domain $dom still listed after the idle stop"
wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "QEMU $pid still runs after the idle stop"
vol_listed "$scratch" && fail "scratch $scratch left after the idle stop"
exit 0
