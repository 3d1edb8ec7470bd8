#!/bin/sh
# 07-libvirtd-restart — libvirtd killed (SIGKILL) and started again under a
# running session.  The daemon keeps answering while libvirtd is away,
# reconnects, and reconciles:
#   - the VM survived (QEMU outlives libvirtd): still running, same
#     instance, nothing torn down, and a lease on it is granted at once;
#   - the VM died while libvirtd was away (QEMU SIGKILLed too): the exit
#     goes through the spontaneous-exit path exactly once (one "stopped
#     unexpectedly", no double teardown), and the restart policy brings up
#     exactly one new instance.
# Whichever libvirtd answers on qemu:///system: the one tests/e2e/libvirtd.sh
# started, or the box's own that it found running, which is restarted as it
# was found and left running (libvirtd.sh kill/restart).  Refused only while
# another user of libvirtd.sh shares it: not ours to take away then, and a
# failure (the e2e runs take /tmp/sessiond-qemu.lock so this does not
# happen).  If this script fails during an outage, its exit brings
# libvirtd back before the usual cleanup.
. "$(dirname "$0")/lib.sh"

# Run alone, this script is a user of libvirtd.sh itself (run.sh is one
# for its scenarios): start records the libvirtd that answers as found.
LVD="sh $E2E_DIR/libvirtd.sh"
own_user=0
if [ -z "${SESSIOND_E2E_USER:-}" ]; then
	SESSIOND_E2E_USER=$$
	export SESSIOND_E2E_USER
	own_user=1
fi
$LVD start || fail "tests/e2e/libvirtd.sh start failed"
mode=$($LVD status)
case "$mode" in
started|found) echo "libvirtd: $mode by tests/e2e/libvirtd.sh" ;;
*) fail "tests/e2e/libvirtd.sh status is $mode after start" ;;
esac

down=0
restart_cleanup() {
	[ $down = 1 ] && $LVD restart
	e2e_cleanup
	[ $own_user = 1 ] && $LVD stop
}
trap restart_cleanup EXIT

# answering — the daemon replies to status within 2 s.
answering() { timeout 2 "$SESSIONCTL" status steady >/dev/null; }

# outage — kill libvirtd; the daemon notices and keeps answering.
outage() {
	down=1
	out=$($LVD kill 2>&1) || fail "cannot kill libvirtd: $out"
	wait_until 15 daemon_disconnected || fail "the daemon did not notice libvirtd going ($(daemon_info))"
	answering || fail "the daemon does not answer while libvirtd is down"
	[ "$(field steady .state)" = running ] || fail "steady is $(field steady .state) while libvirtd is down"
}

back() {
	$LVD restart || fail "cannot restart libvirtd"
	down=0
	[ "$($LVD status)" = "$mode" ] || fail "libvirtd is $($LVD status) after its restart, not $mode"
	wait_until 60 daemon_connected || fail "the daemon did not reconnect within 60 s ($(daemon_info))"
	answering || fail "the daemon does not answer after the reconnect"
}

e2e_start
mk steady --grace 30s --crash-policy restart
tok=$(hold_detached steady) || fail "hold steady"
inst=$(inst_of steady)
dom=$(dom_of steady)
pid=$(qemu_pid "$dom") || fail "no QEMU process for $dom"

# 1. The VM survives the outage.
outage
kill -0 "$pid" || fail "QEMU died with libvirtd"
back
grep -q "reconnected to $URI" "$DAEMON_LOG" || fail "no reconnect in the daemon log"
# Reconciliation is a job after the reconnect; give it a moment to act
# (it must not), then check nothing changed.
wait_until 10 sh -c "grep -q 'reconciling sessions' '$DAEMON_LOG'"
ctl run steady -- true || fail "run after the reconnect exited $?"
[ "$(field steady .state)" = running ] || fail "steady is $(field steady .state) after the reconnect"
[ "$(inst_of steady)" = "$inst" ] || fail "the instance changed: $inst -> $(inst_of steady)"
[ "$(field steady .start_count)" = 1 ] || fail "start_count $(field steady .start_count)"
[ "$(qemu_pid "$dom")" = "$pid" ] || fail "QEMU of $dom changed"
grep -q "stopped unexpectedly" "$DAEMON_LOG" && fail "a surviving VM was taken for an exit"

# 2. The VM dies while libvirtd is away.
outage
kill -KILL "$pid"
back
wait_until 90 new_instance steady "$inst" || fail "no new instance after the VM died during the outage (state $(field steady .state))"
[ "$(grep -c "VM $dom stopped unexpectedly" "$DAEMON_LOG")" = 1 ] ||
	fail "the exit of $dom was handled $(grep -c "VM $dom stopped unexpectedly" "$DAEMON_LOG") times, not once"
grep -q "torn down twice" "$DAEMON_LOG" && fail "an instance was torn down twice"
[ "$(field steady .start_count)" = 2 ] || fail "start_count $(field steady .start_count), not 2"
[ "$(field steady .last_stop_reason)" = crashed ] || fail "last stop $(field steady .last_stop_reason), not crashed"
dom_gone "$dom" || fail "the dead domain $dom is still listed"
ctl run steady -- true || fail "run on the new instance exited $?"
ctl release "$tok" >/dev/null || fail "release"
answering || fail "the daemon stopped answering"
exit 0
