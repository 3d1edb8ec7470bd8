#!/bin/sh
# hosts-last-slot-once — two hosts of 1024 MiB hold three VMs of 512 MiB:
# one slot is left.  Eight starts for it arrive at once, twice: first
# eight requests written together on one connection, then eight sessionctl
# processes started together.  Each time exactly one wins and seven are
# refused with -32006 (no host has room), and the libvirtds (virsh on
# each, not the daemon) run exactly four of the daemon's VMs, at most two
# per host: two racing starts never both take the slot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

for h in a b; do lvh_start $h; done
hosts_conf "$T/sessiond.conf" a:1024 b:1024
SESSIOND_URI= start_daemon

for i in 1 2 3; do
	ctl create "f$i" --storage ephemeral --memory 512 >/dev/null || fail "create f$i"
	ctl start "f$i" >/dev/null || fail "start f$i"
done
for i in 1 2 3 4 5 6 7 8; do
	ctl create "r$i" --storage ephemeral --memory 512 >/dev/null || fail "create r$i"
done

# fleet_holds N — the libvirtds run N of the daemon's VMs, at most 2 each.
fleet_holds() {
	n=$(lvh_count a b)
	[ "$n" = "$1" ] || fail "the libvirtds run $n VMs of the daemon, expected $1"
	for h in a b; do
		[ "$(lvh_count $h)" -le 2 ] || fail "host $h runs $(lvh_count $h) VMs of 512 MiB in 1024"
	done
}

# Round 1: eight requests in one write.
lines=""
for i in 1 2 3 4 5 6 7 8; do
	lines="$lines{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"session.start\",\"params\":{\"name\":\"r$i\"}}
"
done
printf '%s' "$lines" | "$TOOLS/rpcpipe" -t 60 >"$T/burst" || fail "not every start was answered: $(cat "$T/burst")"
won=$(jq -s '[.[] | select(.result)] | length' "$T/burst")
full=$(jq -s '[.[] | select(.error.code == -32006)] | length' "$T/burst")
[ "$won" = 1 ] && [ "$full" = 7 ] || fail "round 1: $won won and $full refused for lack of room: $(cat "$T/burst")"
jq -r 'select(.error) | .error.message' "$T/burst" | grep -qv 'no host has room for 512 MiB' &&
	fail "a refusal does not say why: $(jq -r 'select(.error) | .error.message' "$T/burst")"
fleet_holds 4
winner=$(jq -r 'select(.result) | .result.name' "$T/burst")
ctl stop "$winner" --force >/dev/null || fail "stop $winner"
fleet_holds 3

# Round 2: eight processes at once.
pids=""
for i in 1 2 3 4 5 6 7 8; do
	"$SESSIONCTL" start "r$i" >"$T/p.$i" 2>&1 &
	pids="$pids $!"
done
won=0 full=0
for p in $pids; do
	wait "$p" && won=$((won + 1))
done
full=$(cat "$T"/p.* | grep -c 'no host has room for 512 MiB')
[ "$won" = 1 ] && [ "$full" = 7 ] || fail "round 2: $won won and $full refused for lack of room: $(cat "$T"/p.*)"
fleet_holds 4
exit 0
