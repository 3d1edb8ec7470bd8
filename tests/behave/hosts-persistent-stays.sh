#!/bin/sh
# hosts-persistent-stays — a persistent session is placed at create on the
# host with the most room and its disk is made in that host's pool (virsh
# on each libvirtd: there and nowhere else); every later start runs its VM
# there even when another host has more room, and after a daemon restart
# too.  create --host pins a session to a host; an unknown host is refused
# (-32602).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

for h in a b c; do lvh_start $h; done
hosts_conf "$T/sessiond.conf" a:1024 b:4096 c:2048
SESSIOND_URI= start_daemon
pool=$(lv_prefix)

ctl create p --memory 512 >/dev/null || fail "create p"
[ "$(field p .host)" = b ] || fail "p was placed on $(field p .host), not b (the most room)"
disk="$pool-$(field p .id)-disk.qcow2"
for h in a b c; do
	if vshh $h vol-list "$pool" | awk '{print $1}' | grep -qx "$disk"; then
		[ $h = b ] || fail "p's disk is in host $h's pool"
	else
		[ $h != b ] || fail "p's disk is not in host b's pool"
	fi
done

# Fill b so that a and c have more room: p still goes to b.
ctl create big --storage ephemeral --memory 3072 --host b >/dev/null || fail "create big"
ctl start big >/dev/null || fail "start big"
check_on_b() {
	ctl start p >/dev/null || fail "start p ($1)"
	[ "$(lvh_where "$(field p .instance.domain)" a b c)" = "b " ] ||
		fail "p's VM runs on '$(lvh_where "$(field p .instance.domain)" a b c)' ($1)"
	ctl stop p --force >/dev/null || fail "stop p ($1)"
}
for i in 1 2 3; do check_on_b "start $i"; done
lv_hold b                               # b's test driver outlives the daemon's connection
stop_daemon || fail "the daemon did not stop cleanly"
SESSIOND_URI= start_daemon
[ "$(field p .host)" = b ] || fail "after a restart p is on $(field p .host)"
vshh b vol-list "$pool" | awk '{print $1}' | grep -qx "$disk" || fail "p's disk left host b"
check_on_b "after a restart"

ctl create q --host c --storage ephemeral >/dev/null || fail "create q --host c"
ctl start q >/dev/null || fail "start q"
[ "$(lvh_where "$(field q .instance.domain)" a b c)" = "c " ] || fail "q does not run on c"
rpc session.create '{"name":"z","host":"nowhere"}' >"$T/r"
[ "$(jq .error.code "$T/r")" = -32602 ] || fail "an unknown host was accepted: $(cat "$T/r")"
jq -r .error.message "$T/r" | grep -q "no host 'nowhere'" || fail "the message: $(cat "$T/r")"
exit 0
