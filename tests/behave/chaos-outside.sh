#!/bin/sh
# chaos-outside — sixteen clients churn four sessions (tokens, starts,
# vm.info leases, stops, resets, abandoned requests, dropped connections)
# while their domains are destroyed behind the daemon's back about every
# 50 ms, through a libvirtd (test+unix:///default) that the daemon shares
# with a second connection of sessiond-stress.  Checked from outside:
# every request answered within 30 s, every instance ended by exactly one
# stopped or crashed event, no hold left once the clients are gone, no
# domain or scratch volume of the daemon left in libvirt, the daemon alive
# and clean on SIGTERM (under ASan a leak fails this too).
#
# Needs root (a system libvirtd).  Uses tests/e2e/libvirtd.sh when it is
# there, else starts libvirtd itself when none answers; it stops only a
# libvirtd it started.  The test driver of that libvirtd is shared by every
# client and holds a domain "test" of its own: sessiond-stress touches only
# domains with the daemon's prefix.
#
# CHAOS_DURATION (seconds, default 30) makes a longer run when the script
# is run by hand (run.sh bounds a script at 300 s).
. "$(dirname "$0")/lib.sh"

URI=test+unix:///default
HELPER="$(dirname "$0")/../e2e/libvirtd.sh"
STARTED=""

[ "$(id -u)" = 0 ] || skip "needs root"
command -v virsh >/dev/null 2>&1 || skip "needs virsh (libvirt-clients)"
[ -x "$TOOLS/sessiond-stress" ] || fail "no $TOOLS/sessiond-stress (make tests)"

libvirtd_answers() { virsh -c "$URI" list >/dev/null 2>&1; }

# The platform facts of DESIGN.md: runtime and log directories, virtlogd,
# and a libvirt-qemu user (the QEMU driver looks it up at start and
# libvirtd exits without it, even though only the test driver is used).
start_libvirtd_here() {
	command -v libvirtd >/dev/null 2>&1 || skip "needs libvirtd (libvirt-daemon-system)"
	mkdir -p /var/run/libvirt /var/log/libvirt
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu ||
		fail "cannot create the libvirt-qemu user libvirtd needs"
	if ! pgrep -x virtlogd >/dev/null; then
		virtlogd -d -p "$T/virtlogd.pid" || fail "virtlogd did not start"
	fi
	libvirtd -d -p "$T/libvirtd.pid" || fail "libvirtd did not start"
}

start_libvirtd() {
	libvirtd_answers && return 0
	if [ -f "$HELPER" ]; then
		sh "$HELPER" start >"$T/libvirtd-helper.log" 2>&1 ||
			fail "$HELPER start: $(tail -n 5 "$T/libvirtd-helper.log")"
		STARTED=helper
	else
		start_libvirtd_here
		STARTED=here
	fi
	wait_until 30 libvirtd_answers || fail "libvirtd does not answer on $URI"
}

# Only what this script started, by its own pid files.
stop_libvirtd() {
	case "$STARTED" in
	helper) sh "$HELPER" stop >/dev/null 2>&1 ;;
	here)
		for f in "$T/libvirtd.pid" "$T/virtlogd.pid"; do
			[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
		done ;;
	esac
	STARTED=""
}

# The daemon's volumes (its scratch template) would pile up in a
# long-lived libvirtd: remove those with this daemon's prefix, and only
# after the daemon is gone.
tidy_pool() {
	[ -n "${PREFIX:-}" ] || return 0
	virsh -c "$URI" vol-list sessiond 2>/dev/null | awk -v p="$PREFIX-" 'index($1, p) == 1 { print $1 }' |
		while read -r vol; do virsh -c "$URI" vol-delete "$vol" --pool sessiond >/dev/null 2>&1; done
}

# At exit, after lib.sh has stopped (and checked) the daemon.
chaos_cleanup() {
	tidy_pool
	stop_libvirtd
}
at_exit chaos_cleanup

start_libvirtd
SESSIOND_URI=$URI start_daemon

"$TOOLS/sessiond-stress" --socket "$SESSIOND_SOCKET" --uri "$URI" --clients 16 --sessions 4 \
	--duration "${CHAOS_DURATION:-30}" --kill-interval-ms 50 >"$T/stress.out" 2>&1
rc=$?
cat "$T/stress.out"
PREFIX=$(sed -n 's/.*daemon prefix \(sd-[0-9a-f]*\),.*/\1/p' "$T/stress.out")
[ $rc -eq 0 ] || fail "sessiond-stress exited $rc"
grep -q '^PASSED$' "$T/stress.out" || fail "sessiond-stress did not report PASSED"
grep -q '(bug)' "$DAEMON_LOG" && fail "the daemon logged a bug: $(grep -m3 '(bug)' "$DAEMON_LOG")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM after the chaos"
exit 0
