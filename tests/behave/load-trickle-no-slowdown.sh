#!/bin/sh
# load-trickle-no-slowdown — clients that send one byte a second do not
# slow anyone else: while ten of them trickle their requests (48 bytes,
# so about 48 s each), a well-behaved client goes on creating, holding,
# releasing, listing and deleting sessions, every command finishing within
# a generous 10 s bound, many times over before the tricklers are done.
# Each trickler's request, once whole, is answered correctly.
. "$(dirname "$0")/lib.sh"

start_daemon
ctl create keep --grace 60s >/dev/null || fail "create keep"

pids=""
for i in $(seq 10); do
	"$TOOLS/rawrpc" -t 120 -p 1000 -l "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"daemon.info\"}" \
		>"$T/trickle.$i" 2>"$T/trickle.$i.err" &
	pids="$pids $!"
done
trickling() {
	for p in $pids; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
bounded() { timeout 10 "$SESSIONCTL" "$@" >/dev/null 2>"$T/ctl.err" || fail "sessionctl $* failed or took over 10 s while clients trickled: $(cat "$T/ctl.err")"; }

rounds=0
while trickling; do
	bounded create "w$rounds" --grace 30s
	tok=$(timeout 10 "$SESSIONCTL" hold "w$rounds" --ttl 60s --detach) || fail "hold w$rounds failed while clients trickled"
	bounded status keep
	bounded list
	bounded release "$tok"
	bounded delete "w$rounds"
	rounds=$((rounds + 1))
done
echo "$rounds rounds of the well-behaved client while ten clients trickled"
[ $rounds -ge 10 ] || fail "only $rounds rounds of a well-behaved client while ten clients trickled"

i=0
for p in $pids; do
	i=$((i + 1))
	wait "$p" || fail "trickler $i: $(cat "$T/trickle.$i.err")"
	jq -e ".id == $i and (.result.protocol | type) == \"number\"" "$T/trickle.$i" >/dev/null ||
		fail "trickler $i got a wrong reply: $(cat "$T/trickle.$i")"
done
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = keep ] || fail "sessions left: $(ctl list)"
daemon_alive || fail "the daemon died"
exit 0
