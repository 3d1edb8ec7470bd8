#!/bin/sh
# metrics-count-real-work — the metrics endpoint counts what the daemon
# does.  With metrics_listen = 127.0.0.1:0 the daemon serves on the port
# its log names; scrapes taken before and after real work (a create, a
# start, a hold, an idle stop, a failed lookup, a bad frame) show each
# counter move by what was done, the gauges say what is up while it is,
# and promtool's lint finds nothing in either scrape.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || fail "needs curl (scripts/deps.sh check)"
printf 'metrics_listen = 127.0.0.1:0\nscratch_gib = 0\n' >"$T/sessiond.conf"
start_daemon
wait_until 10 metrics_served || fail "no 'metrics: serving' line in the log"
case "$(metrics_url)" in http://127.0.0.1:[1-9]*/metrics) ;; *) fail "metrics URL: $(metrics_url)" ;; esac

scrape "$T/s0"
promtool_clean "$T/s0"
expect_metric "$T/s0" 'sessiond_build_info{version="0.1.0"}' -eq 1
expect_metric "$T/s0" 'sessiond_libvirt_connected' -eq 1

# A create, a start, a hold: the VM is up and held.
ctl create w --grace 1s >/dev/null || fail "create"
ctl start w >/dev/null || fail "start"
tok=$(ctl hold w --detach --ttl 60s --reason metrics) || fail "hold"
ctl status nosuch >/dev/null 2>&1 && fail "status of a session that does not exist succeeded"
"$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"no.such"}' >/dev/null ||
	fail "no answer to an unknown method"
scrape "$T/s1"
promtool_clean "$T/s1"
expect_moved "$T/s0" "$T/s1" 'sessiond_vm_starts_total{kind="boot"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_vm_time_to_running_seconds_count{kind="boot"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_requests_total{method="session.create",code="0"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_requests_total{method="session.start",code="0"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_requests_total{method="token.acquire",code="0"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_requests_total{method="session.get",code="-32001"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_requests_total{method="other",code="-32601"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_request_duration_seconds_count{method="session.start"}' -eq 1
expect_moved "$T/s0" "$T/s1" 'sessiond_rpc_connections_total' -ge 5
expect_moved "$T/s0" "$T/s1" 'sessiond_state_file_writes_total{op="write",result="ok"}' -ge 3
expect_metric "$T/s1" 'sessiond_sessions{state="running"}' -eq 1
expect_metric "$T/s1" 'sessiond_sessions{state="stopped"}' -eq 0
expect_metric "$T/s1" 'sessiond_holds{kind="token"}' -eq 1
expect_metric "$T/s1" 'sessiond_vm_memory_bytes' -eq $((512 * 1024 * 1024))
# Every write and removal is fsynced, and timed: as many observations.
w=$(sample "$T/s1" 'sessiond_state_file_writes_total{op="write",result="ok"}')
r=$(sample "$T/s1" 'sessiond_state_file_writes_total{op="remove",result="ok"}')
expect_metric "$T/s1" 'sessiond_state_file_fsync_seconds_count' -eq $((w + r))

# Released: the grace runs out and the VM stops for idleness.
ctl release "$tok" >/dev/null || fail "release"
wait_until 30 state_is w stopped || fail "no idle stop: $(field w .state)"
lag_moved() { scrape "$T/s2" && [ "$(sample "$T/s2" sessiond_loop_lag_seconds_count)" -gt "$(sample "$T/s1" sessiond_loop_lag_seconds_count)" ]; }
wait_until 10 lag_moved || fail "the loop lag timer did not fire"
promtool_clean "$T/s2"
expect_moved "$T/s1" "$T/s2" 'sessiond_vm_stops_total{reason="idle"}' -eq 1
expect_moved "$T/s1" "$T/s2" 'sessiond_vm_stops_total{reason="requested"}' -eq 0
expect_metric "$T/s2" 'sessiond_sessions{state="stopped"}' -eq 1
expect_metric "$T/s2" 'sessiond_sessions{state="running"}' -eq 0
expect_metric "$T/s2" 'sessiond_holds{kind="token"}' -eq 0
expect_metric "$T/s2" 'sessiond_vm_memory_bytes' -eq 0
# The idle stop's memory: counted, or (the test driver tells no resident
# set for the domains sessiond makes) counted as unmeasured, once.
b=$(sample "$T/s2" 'sessiond_idle_returned_bytes_total{action="stop"}')
u=$(sample "$T/s2" 'sessiond_idle_unmeasured_total{reason="unsupported"}')
[ "$b" != 0 ] || [ "$u" = 1 ] || fail "the idle stop's memory was neither counted nor said unmeasured (bytes $b, unsupported $u)"

# Only /metrics, only GET and HEAD.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$(metrics_url | sed 's|/metrics$|/other|')")
[ "$code" = 404 ] || fail "GET /other answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$(metrics_url)")
[ "$code" != 200 ] || fail "POST /metrics answered 200"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
