#!/bin/sh
# hosts-full-fleet-limit — two hosts of 1024 and 768 MiB run VMs of 768
# MiB each: 256 MiB are left on a, none on b.  A start that needs 300 MiB
# fails at once (no silent wait) with -32006, and the message names the
# memory asked and the most room left; so does the create of a persistent
# session of 512 MiB (it is placed at create); the session is still
# stopped and no VM of it runs on either libvirtd.  Once a VM stops, the
# start succeeds on the host that has room now.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

for h in a b; do lvh_start $h; done
hosts_conf "$T/sessiond.conf" a:1024 b:768
SESSIOND_URI= start_daemon

for s in f1 f2; do
	ctl create $s --storage ephemeral --memory 768 >/dev/null || fail "create $s"
	ctl start $s >/dev/null || fail "start $s"
done
ctl create big --storage ephemeral --memory 300 >/dev/null || fail "create big"

t0=$(date +%s%N)
rpc session.start '{"name":"big"}' >"$T/r" || fail "session.start not answered"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(jq .error.code "$T/r")" = -32006 ] || fail "not -32006: $(cat "$T/r")"
msg=$(jq -r .error.message "$T/r")
case "$msg" in
*"no host has room for 300 MiB: the most room left is 256 MiB (host 'a')"*) ;;
*) fail "the message does not give the figures: $msg" ;;
esac
[ "$ms" -lt 5000 ] || fail "the refusal took $ms ms: a wait, not an answer"
[ "$(field big .state)" = stopped ] || fail "big is $(field big .state)"
[ "$(lvh_count a b)" = 2 ] || fail "the libvirtds run $(lvh_count a b) VMs, expected 2"

rpc session.create '{"name":"p","memory_mib":512}' >"$T/r" || fail "session.create not answered"
[ "$(jq .error.code "$T/r")" = -32006 ] || fail "a persistent session with no room was created: $(cat "$T/r")"
jq -r .error.message "$T/r" | grep -q 'no host has room for 512 MiB: the most room left is 256 MiB' ||
	fail "create's message does not give the figures: $(jq -r .error.message "$T/r")"

ctl stop f2 --force >/dev/null || fail "stop f2"
ctl start big >/dev/null || fail "big does not start once there is room"
[ -n "$(lvh_where "$(field big .instance.domain)" a b)" ] || fail "big runs nowhere libvirt can see"
exit 0
