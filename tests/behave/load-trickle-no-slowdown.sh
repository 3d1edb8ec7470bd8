#!/bin/sh
# load-trickle-no-slowdown — clients that send one byte a second do not
# hold anyone else up: while ten of them trickle their requests (48 bytes,
# so about 48 s each), a well-behaved client goes on creating, holding,
# releasing, listing and deleting sessions.  Whole rounds of its commands
# must finish while every trickler is connected and still mid-frame (alive,
# no reply yet): a daemon that waited for a trickler's frame could answer
# nothing before that trickler's last byte.  Each trickler's request, once
# whole, is answered correctly.  The number of rounds is printed, a figure
# (rpc_bench in "make bench" measures throughput); only a hang is bounded.
. "$(dirname "$0")/lib.sh"

fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

start_daemon
ctl create keep --grace 60s >/dev/null || fail "create keep"
fd0=$(fds)

pids=""
for i in $(seq 10); do
	"$TOOLS/rawrpc" -t 120 -p 1000 -l "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"daemon.info\"}" \
		>"$T/trickle.$i" 2>"$T/trickle.$i.err" &
	pids="$pids $!"
done
all_connected() { [ "$(fds)" -ge $((fd0 + 10)) ]; }
wait_until 30 all_connected || fail "the ten tricklers did not get connected ($(fds) descriptors, $fd0 before)"

trickling() {
	for p in $pids; do exited "$p" || return 0; done
	return 1
}
# Every trickler alive and unanswered.
all_mid_frame() {
	i=0
	for p in $pids; do
		i=$((i + 1))
		! exited "$p" && [ ! -s "$T/trickle.$i" ] || return 1
	done
}
bounded() { timeout 60 "$SESSIONCTL" "$@" >/dev/null 2>"$T/ctl.err" || fail "sessionctl $* failed or hung while clients trickled: $(cat "$T/ctl.err")"; }

rounds=0 during=0
while trickling; do
	bounded create "w$rounds" --grace 30s
	tok=$(timeout 60 "$SESSIONCTL" hold "w$rounds" --ttl 60s --detach) || fail "hold w$rounds failed while clients trickled"
	bounded status keep
	bounded list
	bounded release "$tok"
	bounded delete "w$rounds"
	rounds=$((rounds + 1))
	all_mid_frame && during=$((during + 1))
done
echo "$rounds rounds of the well-behaved client while ten clients trickled, $during of them while all ten were mid-frame"
[ $during -ge 1 ] || fail "no round of a well-behaved client finished while the ten clients were mid-frame ($rounds rounds in all)"

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
