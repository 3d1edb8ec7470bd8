#!/bin/sh
# bigstate.sh BUILD — a daemon with many sessions on disk (issues 17, 20).
#
#   1. N sessions (BENCH_BIG_N, default 100000) are created through one
#      connection (pipelined session.create, as a provisioning script
#      would), on test:///default, state on tmpfs (/dev/shm when there);
#   2. the daemon is stopped (SIGTERM) and started again: the time from
#      the exec to the first daemon.info answer is "start to serving" (the
#      control socket opens only once every state file is loaded and the
#      host reconciled, daemon/main.c); BENCH_BIG_RUNS times (default 3);
#   3. `sessionctl list --json` of all N sessions (page after page), to
#      /dev/null, BENCH_BIG_RUNS times, each checked once for N sessions;
#   4. the token.acquire reply's bytes with 1 and with 1,000 holders on
#      the session (protocol 2: a constant-size summary);
#   5. the daemon's RSS with N idle sessions.
#
# Prints figures and RESULT lines; never fails on a number.
set -u

BUILD=${1:-build}
N=${BENCH_BIG_N:-100000}
RUNS=${BENCH_BIG_RUNS:-3}
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
T=$(mktemp -d "$base/sessiond-bigstate.XXXXXX")
SOCK=$T/sock
PID=""
RPCPIPE=$BUILD/tests/tools/rpcpipe
CTL=$BUILD/sessionctl

stop() {
	[ -n "$PID" ] || return 0
	kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=""
}
trap 'stop; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

ms() { echo $(( $(date +%s%N) / 1000000 )); }
info() { "$RPCPIPE" -s "$SOCK" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' 2>/dev/null; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# start — the daemon; prints the milliseconds from exec to serving.
start() {
	t0=$(ms)
	"$BUILD/sessiond" --foreground --socket "$SOCK" --state-dir "$T/state" \
		--uri test:///default --config "$T/sessiond.conf" >>"$T/daemon.log" 2>&1 &
	PID=$!
	until info | grep -q '"result"'; do
		kill -0 "$PID" 2>/dev/null || { echo "bigstate: the daemon died: $(tail -n 3 "$T/daemon.log")"; exit 1; }
		sleep 0.01
	done
	echo $(( $(ms) - t0 ))
}

for x in "$RPCPIPE" "$CTL" "$BUILD/sessiond"; do
	[ -x "$x" ] || { echo "SKIP: $x not built"; exit 0; }
done
command -v jq >/dev/null 2>&1 || { echo "SKIP: jq missing"; exit 0; }
printf 'max_sessions_per_user = 0\nlog_level = warning\n' >"$T/sessiond.conf"

echo "$N sessions, state on $base, test:///default"
start >/dev/null
# Pipelined creates, 1,000 per connection (rpcpipe writes all its lines
# before it reads: a whole 100,000 at once would fill both directions).
t0=$(ms)
: >"$T/create.out"
i=0
while [ $i -lt "$N" ]; do
	end=$((i + 1000))
	[ $end -le "$N" ] || end=$N
	seq "$i" $((end - 1)) |
		awk '{ printf "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"session.create\",\"params\":{\"name\":\"b%d\"}}\n", $1, $1 }' |
		"$RPCPIPE" -s "$SOCK" -t 600 >>"$T/create.out" || { echo "bigstate: creates not all answered"; exit 1; }
	i=$end
done
made=$(grep -c '"result"' "$T/create.out")
echo "created: $made of $N in $(( $(ms) - t0 )) ms (1,000 pipelined per connection)"
[ "$made" = "$N" ] || { echo "bigstate: $(grep -m1 error "$T/create.out")"; exit 1; }

: >"$T/start.ms"
r=0
while [ $r -lt "$RUNS" ]; do
	stop
	start >>"$T/start.ms"
	r=$((r + 1))
done
echo "start to serving with $N sessions on disk, ms: $(tr '\n' ' ' <"$T/start.ms")(median $(median <"$T/start.ms"))"
echo "RESULT bigstate start_ms=$(median <"$T/start.ms") sessions=$N"

count=$(SESSIOND_SOCKET=$SOCK "$CTL" list --json | jq '.sessions | length')
echo "sessionctl list --json: $count sessions listed"
: >"$T/list.ms"
r=0
while [ $r -lt "$RUNS" ]; do
	t0=$(ms)
	SESSIOND_SOCKET=$SOCK "$CTL" list --json >/dev/null
	echo $(( $(ms) - t0 )) >>"$T/list.ms"
	r=$((r + 1))
done
echo "sessionctl list --json of $N sessions, ms: $(tr '\n' ' ' <"$T/list.ms")(median $(median <"$T/list.ms"))"
echo "RESULT bigstate list_ms=$(median <"$T/list.ms") listed=$count"

rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
echo "daemon RSS with $N idle sessions: $rss KiB ($(( rss * 1024 / N )) bytes per session, all included)"
echo "RESULT bigstate rss_kib=$rss"

ACQ='{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"b0","reason":"measure"}}'
"$RPCPIPE" -s "$SOCK" -t 30 "$ACQ" >"$T/one"
i=0
while [ $i -lt 999 ]; do
	echo "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"token.acquire\",\"params\":{\"name\":\"b0\",\"reason\":\"holder $i\"}}"
	i=$((i + 1))
done >"$T/holders.in"
"$RPCPIPE" -s "$SOCK" -n -1 -t 120 <"$T/holders.in" >"$T/holders.out" 2>&1 &
H=$!
until [ "$(grep -c '"result"' "$T/holders.out")" -ge 999 ]; do
	kill -0 $H 2>/dev/null || break
	sleep 0.1
done
"$RPCPIPE" -s "$SOCK" -t 30 "$ACQ" >"$T/many"
GET='{"jsonrpc":"2.0","id":1,"method":"session.get","params":{"name":"b0"}}'
"$RPCPIPE" -s "$SOCK" -t 30 "$GET" >"$T/get"
kill $H 2>/dev/null
wait $H 2>/dev/null
echo "token.acquire reply: $(wc -c <"$T/one") bytes with 1 holder, $(wc -c <"$T/many") with" \
	"$(jq -r .result.holds_count "$T/get") + the measured one"
echo "RESULT bigstate reply_bytes_1=$(wc -c <"$T/one") reply_bytes_1000=$(wc -c <"$T/many")"
stop
exit 0
