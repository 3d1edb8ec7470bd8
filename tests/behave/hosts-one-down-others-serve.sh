#!/bin/sh
# hosts-one-down-others-serve — three hosts (private libvirtds a, b, c).
# b's libvirtd stops: b is marked disconnected, its sessions keep their
# state (running) and say host_connected false; a request that needs one
# of their VMs waits host_wait_s (3 s) and fails with -32004 naming host
# b; the sessions on a and c go on being started and stopped, and a new
# ephemeral VM goes to a or c.  Then b's libvirtd starts again (an empty
# test driver: every VM of b is gone): each of b's sessions is reconciled
# exactly once, counted outside the daemon: one "crashed" event each, and
# in the restarted libvirtd's own API log one lookup of each gone domain
# (the teardown's destroy) and of each scratch volume (its delete); the
# sessions elsewhere were not touched (same instances, no event).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

lvh_start a
lvh_start b --log
lvh_start c
printf 'keepalive_s = 2\nhost_wait_s = 3\n' >"$T/sessiond.conf"
hosts_conf "$T/sessiond.conf" a:2048 b:2048 c:2048
SESSIOND_URI= start_daemon

for s in pa:a pb1:b pb2:b pc:c; do
	ctl create "${s%%:*}" --host "${s#*:}" --memory 256 >/dev/null || fail "create $s"
	ctl start "${s%%:*}" >/dev/null || fail "start $s"
done
ctl create e1 --storage ephemeral --memory 256 >/dev/null || fail "create e1"
pc_inst=$(field pc .instance.id)
pool=$(lv_prefix)
watch_all "$T/events"

lvh_stop b
wait_until 10 host_down b || fail "b is not marked disconnected: $(ctl hosts)"
for s in pb1 pb2; do
	[ "$(field $s .state)" = running ] || fail "$s is $(field $s .state), not running"
	[ "$(field $s .host_connected)" = false ] || fail "$s does not say its host is away"
done

# What needs b's VMs waits, then names the host.
t0=$(date +%s)
rpc vm.info '{"name":"pb1"}' >"$T/r" || fail "vm.info pb1 not answered: $(cat "$T/r")"
took=$(( $(date +%s) - t0 ))
[ "$(jq .error.code "$T/r")" = -32004 ] || fail "vm.info pb1 while b is away: $(cat "$T/r")"
jq -r .error.message "$T/r" | grep -q "host 'b' is not connected (waited 3s)" ||
	fail "the error does not name the host: $(cat "$T/r")"
[ "$took" -ge 2 ] || fail "vm.info failed after ${took}s, before host_wait_s"

# The other hosts serve.
ctl stop pa --force >/dev/null && ctl start pa >/dev/null || fail "pa cannot stop and start while b is away"
ctl start e1 >/dev/null || fail "an ephemeral session cannot start while b is away"
case "$(lvh_where "$(field e1 .instance.domain)" a c)" in
"a " | "c ") ;;
*) fail "e1 runs on '$(lvh_where "$(field e1 .instance.domain)" a c)'" ;;
esac

# b is back, empty: its VMs are gone.
ids="$(field pb1 .instance.id) $(field pb2 .instance.id)"
from=$(log_lines b)
lvh_start b --log
wait_until 30 host_up b || fail "b does not come back: $(ctl hosts)"
for s in pb1 pb2; do
	wait_until 10 state_is $s failed || fail "$s is $(field $s .state) after b came back"
	[ "$(host_events "$T/events" $s crashed)" = 1 ] || fail "$s crashed $(host_events "$T/events" $s crashed) times"
done
for id in $ids; do
	n=$(log_calls b "$from" virDomainLookupByUUID "uuid=$id")
	[ "$n" = 1 ] || fail "instance $id: its domain was looked up $n times on the new b"
	n=$(log_calls b "$from" virStorageVolLookupByName "name=$pool-$id-scratch.qcow2")
	[ "$n" = 1 ] || fail "instance $id: its scratch volume was looked up $n times on the new b"
done
[ "$(field pc .instance.id)" = "$pc_inst" ] || fail "pc got a new instance"
[ "$(host_events "$T/events" pc stopping)" = 0 ] || fail "pc was touched"
grep -q '(bug)' "$DAEMON_LOG" && fail "the daemon logged a bug"
exit 0
