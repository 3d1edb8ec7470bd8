#!/bin/sh
# metrics-loopback-only — the metrics endpoint never serves where other
# hosts can reach it unless told to: metrics_listen on 0.0.0.0 or [::]
# stops the daemon at start (exit 2, the message names
# metrics_allow_remote); with metrics_allow_remote = yes it serves there.
# Without metrics_listen nothing is served.  On a Unix socket path it
# serves with mode 0660 and removes the socket when it exits.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || fail "needs curl (scripts/deps.sh check)"

# Off by default.
start_daemon
metrics_served && fail "metrics served without metrics_listen: $(metrics_url)"
grep -q 'metrics:' "$DAEMON_LOG" && fail "metrics mentioned without metrics_listen: $(grep metrics: "$DAEMON_LOG")"
stop_daemon || fail "the daemon did not exit cleanly"

# Refused: every-address binds, IPv4 and IPv6, and a host name.
for addr in 0.0.0.0:0 '[::]:0' localhost:9464; do
	printf 'metrics_listen = %s\n' "$addr" >"$T/sessiond.conf"
	start_refused "$T/state-refused" "$T/refused.log"
	[ "$REFUSED_RC" = 2 ] || fail "metrics_listen = $addr: exit $REFUSED_RC, not 2: $(cat "$T/refused.log")"
	case $addr in
	localhost*) grep -q 'expected a numeric address' "$T/refused.log" ||
			fail "metrics_listen = $addr: $(cat "$T/refused.log")" ;;
	*) grep -q 'not a loopback address.*metrics_allow_remote = yes' "$T/refused.log" ||
			fail "metrics_listen = $addr: $(cat "$T/refused.log")" ;;
	esac
done

# Asked for: served on every address, so on loopback too.
printf 'metrics_listen = 0.0.0.0:0\nmetrics_allow_remote = yes\n' >"$T/sessiond.conf"
start_daemon
wait_until 10 metrics_served || fail "not served with metrics_allow_remote = yes"
url=$(metrics_url)
case "$url" in http://0.0.0.0:[1-9]*/metrics) ;; *) fail "metrics URL: $url" ;; esac
scrape "$T/remote" "http://127.0.0.1:${url#http://0.0.0.0:}"
expect_metric "$T/remote" sessiond_libvirt_connected -eq 1
stop_daemon || fail "the daemon did not exit cleanly"

# A Unix socket.
printf 'metrics_listen = %s\n' "$T/metrics.sock" >"$T/sessiond.conf"
: >"$DAEMON_LOG"
start_daemon
wait_until 10 grep -q "metrics: serving /metrics on the socket $T/metrics.sock" "$DAEMON_LOG" ||
	fail "no socket line in the log: $(grep metrics: "$DAEMON_LOG")"
[ -S "$T/metrics.sock" ] || fail "no socket at $T/metrics.sock"
[ "$(stat -c %a "$T/metrics.sock")" = 660 ] || fail "socket mode $(stat -c %a "$T/metrics.sock"), not 660"
scrape "$T/unix" --unix-socket "$T/metrics.sock" http://localhost/metrics
expect_metric "$T/unix" 'sessiond_build_info{version="0.1.0"}' -eq 1
stop_daemon || fail "the daemon did not exit cleanly"
[ ! -e "$T/metrics.sock" ] || fail "the metrics socket is left behind"
exit 0
