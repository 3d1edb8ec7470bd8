#!/bin/sh
# hosts-lost-and-back-vm-kept — host b stops answering (its libvirtd is
# frozen, as when the network drops): within keepalive_s the daemon marks
# it disconnected, its session keeps its state, and a request for the VM
# times out with -32004 naming b.  b answers again: the daemon reconnects
# and finds the VM still running; it keeps it (same instance, no new
# start, no stop or crash event) and the request for it succeeds.  Counted
# outside the daemon, in b's API log: after the freeze, no lookup of the
# domain or of its scratch volume (nothing tore it down) but the listing
# that reconciled it, once; and virsh still shows it running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

lvh_start a
lvh_start b --log
printf 'keepalive_s = 2\nhost_wait_s = 3\n' >"$T/sessiond.conf"
hosts_conf "$T/sessiond.conf" a:2048 b:2048
SESSIOND_URI= start_daemon
lv_hold b                               # b's test driver outlives the daemon's connection

ctl create pb --host b --memory 256 >/dev/null && ctl start pb >/dev/null || fail "start pb"
ctl create pa --host a --memory 256 >/dev/null && ctl start pa >/dev/null || fail "start pa"
inst=$(field pb .instance.id)
dom=$(field pb .instance.domain)
starts=$(field pb .start_count)
pool=$(lv_prefix)
watch_all "$T/events"

from=$(log_lines b)
lvh_freeze b
wait_until 15 host_down b || { lvh_thaw b; fail "b is not marked disconnected: $(ctl hosts)"; }
[ "$(field pb .state)" = running ] && [ "$(field pb .host_connected)" = false ] ||
	{ lvh_thaw b; fail "pb: $(field pb .state), host_connected $(field pb .host_connected)"; }
rpc vm.info '{"name":"pa"}' | jq -e .result >/dev/null || { lvh_thaw b; fail "pa does not answer while b is away"; }
rpc vm.info '{"name":"pb"}' >"$T/r"
lvh_thaw b
[ "$(jq .error.code "$T/r")" = -32004 ] || fail "vm.info pb while b is away: $(cat "$T/r")"
jq -r .error.message "$T/r" | grep -q "host 'b'" || fail "the error does not name b: $(cat "$T/r")"

wait_until 30 host_up b || fail "b does not come back: $(ctl hosts)"
[ "$(field pb .state)" = running ] || fail "pb is $(field pb .state)"
[ "$(field pb .instance.id)" = "$inst" ] || fail "pb has a new instance"
[ "$(field pb .start_count)" = "$starts" ] || fail "pb was started again"
for ev in stopping stopped crashed starting; do
	[ "$(host_events "$T/events" pb $ev)" = 0 ] || fail "pb had a '$ev' event"
done
[ "$(log_calls b "$from" virDomainLookupByUUID "uuid=$inst")" = 0 ] || fail "pb's domain was looked up (a teardown?)"
[ "$(log_calls b "$from" virStorageVolLookupByName "$pool-$inst-scratch")" = 0 ] ||
	fail "pb's scratch volume was looked up (a teardown?)"
[ "$(log_calls b "$from" virConnectListAllDomains "conn=")" = 1 ] ||
	fail "b's domains were listed $(log_calls b "$from" virConnectListAllDomains "conn=") times after the freeze, not once"
# (virsh's own listing comes after the count: it is a listing too.)
[ "$(lvh_where "$dom" b)" = "b " ] || fail "virsh does not show pb's domain running on b"
rpc vm.info '{"name":"pb"}' | jq -e '.result.state == "running"' >/dev/null || fail "vm.info pb after b is back"
exit 0
