#!/bin/sh
# hosts-placement-spreads-by-room — three private libvirtds are three
# hosts of 1024, 2048 and 1536 MiB; six ephemeral sessions of 512 MiB
# started one after another each go to the host with the most room left,
# ties to the first by name: b, b, c, a, b, c.  Where each VM runs is read
# from the libvirtds themselves (virsh on each), not from the daemon; the
# daemon's hosts table must agree, and each decision is logged with the
# room of every host behind it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

for h in a b c; do lvh_start $h; done
hosts_conf "$T/sessiond.conf" a:1024 b:2048 c:1536
SESSIOND_URI= start_daemon

want="b b c a b c"
i=0
for w in $want; do
	i=$((i + 1))
	ctl create "e$i" --storage ephemeral --memory 512 >/dev/null || fail "create e$i"
	ctl start "e$i" >/dev/null || fail "start e$i"
	dom=$(field "e$i" .instance.domain)
	where=$(lvh_where "$dom" a b c)
	[ "$where" = "$w " ] || fail "e$i runs on '$where' (libvirt), expected $w; $(ctl hosts)"
	[ "$(field "e$i" .host)" = "$w" ] || fail "e$i: the daemon says host $(field "e$i" .host), libvirt $w"
done

# Each host's committed memory is what runs there, as libvirt shows it.
info=$(rpc daemon.info)
for h in a b c; do
	n=$(lvh_count "$h")
	c=$(echo "$info" | jq -r --arg h "$h" '.result.hosts[] | select(.name == $h) | .committed_mib')
	v=$(echo "$info" | jq -r --arg h "$h" '.result.hosts[] | select(.name == $h) | .vms')
	[ "$c" = "$((n * 512))" ] && [ "$v" = "$n" ] ||
		fail "host $h runs $n VMs (libvirt) but daemon.info says $v VMs, $c MiB committed"
done

# The decisions are logged with their figures.
grep -q 'placement: session 0/e1 (512 MiB) -> host b; room before, MiB: a 1024, b 2048, c 1536' "$DAEMON_LOG" ||
	fail "the first placement is not logged with its figures"
grep -q 'placement: session 0/e4 (512 MiB) -> host a; room before, MiB: a 1024, b 1024, c 1024' "$DAEMON_LOG" ||
	fail "the tie is not logged with its figures"

# What sessionctl shows.
[ "$(ctl list --host b --json | jq -r '[.sessions[].name] | join(",")')" = e1,e2,e5 ] ||
	fail "list --host b: $(ctl list --host b)"
ctl list --host nowhere >"$T/out" 2>&1 && fail "list --host nowhere succeeded"
grep -q "no host 'nowhere'" "$T/out" || fail "list --host nowhere: $(cat "$T/out")"
ctl hosts >"$T/hosts" || fail "sessionctl hosts"
for h in a:1024:512 b:2048:1536 c:1536:1024; do
	set -- $(echo "$h" | tr : ' ')
	grep -Eq "^$1 +up +$2 +$3 " "$T/hosts" || fail "hosts does not show $1 up, $2 MiB, $3 committed: $(cat "$T/hosts")"
done
ctl status e3 | grep -q '^Host: *c (connected)$' || fail "status does not show the host: $(ctl status e3)"
exit 0
