#!/bin/sh
# systemd-notify — what a Type=notify unit hears from sessiond on
# NOTIFY_SOCKET (a datagram socket of tests/tools/notifylisten stands in
# for systemd's):
#
#  - READY=1 only once the sessions are loaded, running VMs adopted and
#    the socket served: the daemon is started while its libvirtd (a
#    private one) is stopped, so the load cannot finish; READY=1 comes
#    after the script's mark "libvirtd continues" (sent before SIGCONT),
#    the STATUS= sent with it counts the loaded sessions with the adopted
#    one running, and the socket answers at once;
#  - started without --foreground it does not detach under systemd: the
#    notifications come from the process that was started, still alive;
#  - STATUS= follows the counts (a start, a hold);
#  - WATCHDOG=1 at half of WATCHDOG_USEC: with 1 s, seven pings within
#    5 s (at the full interval seven take 7 s);
#  - STOPPING=1 at SIGTERM, then a clean exit.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null 2>&1 || skip "needs jq"
. "$(dirname "$0")/lib-libvirtd.sh"
libvirtd_start
libvirtd_hold                           # its state outlives each daemon
export SESSIOND_URI="$LV_URI"

# A daemon leaves a running VM (a) and a stopped session (b) behind.
start_daemon
ctl create a --grace 1h >/dev/null || fail "create a"
ctl create b --grace 1h >/dev/null || fail "create b"
ctl start a >/dev/null || fail "start a"
stop_daemon || fail "the first daemon did not exit cleanly"
[ "$(vsh list --name | grep -c '^sd-')" = 1 ] || fail "a's VM did not outlive the daemon: $(vsh list --all)"

# The next one starts while libvirtd cannot answer.
notify_listen
libvirtd_freeze
NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=1000000 ${SESSIOND_WRAP:-} "$SESSIOND" \
	--socket "$SESSIOND_SOCKET" --state-dir "$T/state" --uri "$SESSIOND_URI" \
	--config "$T/sessiond.conf" >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
track_daemon "$DAEMON_PID"
if ! wait_until 60 notified '^STATUS=starting'; then
	libvirtd_thaw
	fail "no STATUS=starting: $(cat "$T/notify.out")"
fi
notify_mark "libvirtd continues"
libvirtd_thaw
wait_until 60 notified '^READY=1$' || fail "no READY=1 after libvirtd continued: $(cat "$T/notify.out")"

# What READY=1 promises, at once.
ready=$(notify_line '^READY=1$')
mark=$(notify_line '^MARK=libvirtd continues$')
[ "$ready" -gt "$mark" ] || fail "READY=1 came before libvirtd could answer: $(cat "$T/notify.out")"
status=$(cut -d' ' -f3- "$T/notify.out" | sed -n "$((ready + 1))p")
[ "$status" = "STATUS=sessions 2: stopped 1, running 1; holds 0" ] ||
	fail "READY=1 came with '$status', not the loaded sessions with a adopted"
[ "$(field a .state)" = running ] || fail "a is not running right after READY=1"
[ "$(field a .instance.id)" != null ] || fail "a has no instance right after READY=1"

# Not detached: the started process says it all, and still runs.
daemon_alive || fail "the started process is gone (detached?)"
senders=$(awk '$3 !~ /^MARK=/ { print $2 }' "$T/notify.out" | sort -u)
[ "$senders" = "$DAEMON_PID" ] || fail "notifications from pids '$senders', not the started $DAEMON_PID"

# STATUS= follows the counts.
ctl start b >/dev/null || fail "start b"
wait_until 10 notified '^STATUS=sessions 2: running 2; holds 0$' ||
	fail "no STATUS= with two running: $(tail -n 5 "$T/notify.out")"
tok=$(ctl hold b --detach --ttl 10m) || fail "hold b"
wait_until 10 notified '^STATUS=sessions 2: running 2; holds 1$' ||
	fail "no STATUS= with the hold: $(tail -n 5 "$T/notify.out")"
ctl release "$tok" >/dev/null || fail "release"

# The watchdog, at half of WATCHDOG_USEC.
n0=$(notify_count '^WATCHDOG=1$')
[ "$n0" -ge 1 ] || fail "no WATCHDOG=1 yet"
pings_since() { [ $(($(notify_count '^WATCHDOG=1$') - n0)) -ge "$1" ]; }
wait_until 5 pings_since 7 ||
	fail "$(($(notify_count '^WATCHDOG=1$') - n0)) WATCHDOG=1 in 5 s; at half of 1 s there are 10"

# SIGTERM.
stop_daemon || fail "exit status $DAEMON_STATUS after SIGTERM"
notified '^STOPPING=1$' || fail "no STOPPING=1: $(tail -n 5 "$T/notify.out")"
[ "$(notify_line '^STOPPING=1$')" -gt "$(notify_line '^STATUS=sessions 2: running 2; holds 1$')" ] ||
	fail "STOPPING=1 came before the end"
exit 0
