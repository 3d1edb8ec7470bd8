#!/bin/sh
# chaos-outside — sixteen clients churn four sessions (tokens, starts,
# vm.info leases, stops, resets, abandoned requests, dropped connections)
# while their domains are destroyed behind the daemon's back about every
# 50 ms, through a libvirtd (test+unix:///default) that the daemon shares
# with sessiond-stress.  Checked from outside: every request answered
# within 30 s, every instance ended by exactly one stopped or crashed
# event, no hold left once the clients are gone, no domain or scratch
# volume of the daemon left in libvirt, the daemon alive and clean on
# SIGTERM (under ASan a leak fails this too); chaos happened (kills, and
# crashes of them); and teardowns counted outside the daemon: an observer
# connection sees each domain start and stop at most once and each scratch
# volume gone for good, and the libvirtd's own log of storage calls shows
# each scratch volume deleted exactly once.
#
# The libvirtd is private: the test driver only (LIBVIRT_DRIVER_DIR names
# an empty directory, so no QEMU driver and no libvirt-qemu user), its
# socket, pid file and log under the script's temporary directory, its
# libvirt.storage calls logged at debug level for sessiond-stress
# --libvirtd-log.  Nothing of a system libvirtd is used or touched, and
# root is not needed (as another user libvirtd runs in session mode, with
# HOME and XDG_RUNTIME_DIR in that directory too).
#
# CHAOS_DURATION (seconds, default 30) makes a longer run when the script
# is run by hand (run.sh bounds a script, BEHAVE_TIMEOUT); CHAOS_ARGS adds
# sessiond-stress options (CHAOS_ARGS="--kill-interval-ms 0" turns the
# kills off, which must fail the run).
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib-libvirtd.sh"

[ -x "$TOOLS/sessiond-stress" ] || fail "no $TOOLS/sessiond-stress (make tests)"

lvh_start "" --log
URI=$LV_URI
SESSIOND_URI=$URI start_daemon

"$TOOLS/sessiond-stress" --socket "$SESSIOND_SOCKET" --uri "$URI" --clients 16 --sessions 4 \
	--duration "${CHAOS_DURATION:-30}" --kill-interval-ms 50 --libvirtd-log "$(lvh_log "")" \
	${CHAOS_ARGS:-} >"$T/stress.out" 2>&1
rc=$?
cat "$T/stress.out"
[ $rc -eq 0 ] || fail "sessiond-stress exited $rc"
grep -q '^PASSED$' "$T/stress.out" || fail "sessiond-stress did not report PASSED"
grep -q '(bug)' "$DAEMON_LOG" && fail "the daemon logged a bug: $(grep -m3 '(bug)' "$DAEMON_LOG")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM after the chaos"
exit 0
