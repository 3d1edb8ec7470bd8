#!/bin/sh
# chaos-hosts — the chaos of chaos-outside over three hosts (private
# libvirtds a, b, c, each with its storage calls logged), and a host
# killer besides: sessiond-stress --host-kill SIGKILLs one libvirtd about
# every 3 s and starts it again, empty, 0.5 to 2.5 s later.  Sixteen
# clients churn six ephemeral sessions meanwhile (placed afresh at every
# start, so they run on every host; requests that need a VM on a dead host
# wait host_wait_s, 1 s, then get -32004) while domains are destroyed
# behind the daemon's back on every host.  Checked from outside, as in
# chaos-outside, on every host: every request answered within 30 s, every
# instance ended by exactly one stopped or crashed event (those a killed
# host took with it included: each reconciled once), nothing held or left
# in any libvirtd, no scratch volume deleted twice (each libvirtd's log);
# and chaos happened: domain kills, crashes of them, host kills.
#
# CHAOS_DURATION (seconds, default 30) and CHAOS_ARGS as in chaos-outside
# (CHAOS_ARGS="--host-kill-interval-ms 3600000" keeps the hosts alive,
# which must fail the run).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

[ -x "$TOOLS/sessiond-stress" ] || fail "no $TOOLS/sessiond-stress (make tests)"
for h in a b c; do lvh_start $h --log; done
printf 'keepalive_s = 2\nhost_wait_s = 1\n' >"$T/sessiond.conf"
hosts_conf "$T/sessiond.conf" a:65536 b:65536 c:65536
SESSIOND_URI= start_daemon

"$TOOLS/sessiond-stress" --socket "$SESSIOND_SOCKET" --uri "$(lvh_uri a)" --clients 16 --sessions 6 \
	--duration "${CHAOS_DURATION:-30}" --kill-interval-ms 50 --settings '{"storage":"ephemeral"}' \
	--libvirtd-log "a=$(lvh_log a)" --libvirtd-log "b=$(lvh_log b)" --libvirtd-log "c=$(lvh_log c)" \
	--host-kill "a=$(lvh_dir a)" --host-kill "b=$(lvh_dir b)" --host-kill "c=$(lvh_dir c)" \
	${CHAOS_ARGS:-} >"$T/stress.out" 2>&1
rc=$?
cat "$T/stress.out"
[ $rc -eq 0 ] || fail "sessiond-stress exited $rc"
grep -q '^PASSED$' "$T/stress.out" || fail "sessiond-stress did not report PASSED"
grep -q 'host kills (a libvirtd killed and started again, empty): [1-9]' "$T/stress.out" ||
	fail "no host was killed"
grep -q '(bug)' "$DAEMON_LOG" && fail "the daemon logged a bug: $(grep -m3 '(bug)' "$DAEMON_LOG")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM after the chaos"
exit 0
