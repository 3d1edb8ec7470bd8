#!/bin/sh
# delete-races-start-and-stop — session.delete lands while the session's
# VM is still being started, and while it is being stopped.  The daemon
# runs on a private libvirtd (test driver); to hold a start or a stop in
# flight the libvirtd is frozen (SIGSTOP) from outside, so the worker's
# libvirt call blocks until it is thawed: the fault is injected, and the
# events prove each delete landed before the start or stop finished.
#
#   A  a start job in flight (its caller gave up): the delete is taken
#      (state "stopping") but not answered while libvirt is frozen; a stop,
#      a second delete and a start come in meanwhile;
#   B  a stop in flight: the delete and a second stop join it;
#   C  a start waiting for its ready pattern (the test driver writes no
#      console, so it never comes): the delete ends the wait;
#   D  20 rounds unfrozen: a start whose caller hangs up at once, then a
#      delete, retried while it is refused as "in use"; how the two met is
#      counted, not required (the test driver is fast).
#
# Every case: every request is answered (delete {}, stop the stopped
# session, start -32001 "being deleted"), the session is gone (get -32001,
# no state file), its events end in "deleted" (with no "running" when the
# delete beat the start), and the observer's libvirt (virsh, not the
# daemon's counters) holds no domain and no volume of it.  At the end the
# daemon logged no "(bug)", is alive, and exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
P=$(lv_prefix)
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' >"$T/events" 2>/dev/null &
WATCH=$!
wait_until 10 grep -q '"id":"w","result"' "$T/events" || fail "the watch was not answered"

req() { echo "{\"jsonrpc\":\"2.0\",\"id\":\"$1\",\"method\":\"session.$2\",\"params\":{\"name\":\"$3\"}}"; }
# bg OUT METHOD NAME — one request on a connection of its own, in the
# background, its reply in $T/OUT; BG_PID is its rpcpipe.  A daemon.info
# follows it on that connection: its reply ("taken OUT") says the daemon
# has dispatched the request, whether or not it is answered yet.
bg() {
	"$TOOLS/rpcpipe" -t 60 "$(req "$1" "$2" "$3")" '{"jsonrpc":"2.0","id":"taken","method":"daemon.info"}' \
		>"$T/$1" 2>/dev/null &
	BG_PID=$!
}
taken() { grep -q '"id":"taken"' "$T/$1"; }
# take OUT... — wait until each is dispatched.
take() {
	for o in "$@"; do
		wait_until 10 taken "$o" || fail "$o: not dispatched"
	done
}
answer() { jq -c --arg id "$1" 'select(.id == $id)' "$T/$1"; }
answered() { [ -n "$(answer "$1")" ]; }
expect() {  # expect OUT JQ VALUE — the reply in OUT, through JQ, is VALUE
	answered "$1" || fail "$1: no answer"
	[ "$(answer "$1" | jq -r "$2")" = "$3" ] || fail "$1: $2 is not $3: $(answer "$1")"
}
nobody_waits() { [ "$(field "$1" '.waiting + (.holds | length)')" = 0 ]; }
# events_of NAME — that session's events but idle and busy, in order.
events_of() {
	jq -r --arg n "$1" 'select(.method == "session.event" and .params.name == $n) | .params.event |
		select(. != "idle" and . != "busy")' \
		"$T/events" | tr '\n' ' ' | sed 's/ $//'
}
# deleted_event NAME — true once NAME's events end in "deleted"; sets EV.
deleted_event() {
	EV=$(events_of "$1")
	case "$EV" in *deleted) return 0 ;; esac
	return 1
}
# gone NAME ID — the session and everything of it is gone, seen from outside.
gone() {
	wait_until 10 deleted_event "$1" || fail "$1: no deleted event: $EV"
	ctl status "$1" >/dev/null 2>&1 && fail "$1 still answers after its delete"
	[ -e "$T/state/sessions/$2.json" ] && fail "$1: state file left"
	left=$(lv_objects | grep -v -x -e "$P-template-[0-9.]*g.qcow2")
	[ -z "$left" ] || fail "$1: domains or volumes left in libvirt: $left"
}

# ---- A: delete while a start job is in flight -----------------------------
ctl create a --grace 60s >/dev/null || fail "create a"
ida=$(field a .id)
libvirtd_freeze
bg a.start1 start a
wait_until 10 state_is a starting || fail "a did not begin to start"
kill "$BG_PID"                          # the caller gives up: nothing holds a
wait "$BG_PID" 2>/dev/null
wait_until 10 nobody_waits a || fail "a: the start's caller is still counted: $(ctl status a)"
bg a.delete1 delete a
DEL=$BG_PID
wait_until 10 state_is a stopping || fail "a: the delete was not taken during the start: $(ctl status a)"
bg a.stop stop a
STOP=$BG_PID
bg a.delete2 delete a
DEL2=$BG_PID
bg a.start2 start a
START2=$BG_PID
take a.stop a.delete2 a.start2
answered a.start2 || fail "a: a start during the delete was not answered at once"
answered a.stop && fail "a: the stop was answered while the start job was blocked in libvirt"
answered a.delete1 && fail "a: the delete was answered while the start job was blocked in libvirt"
libvirtd_thaw
wait "$DEL" "$DEL2" "$STOP" "$START2"
expect a.delete1 '.result | tojson' '{}'
expect a.delete2 '.result | tojson' '{}'
expect a.stop .result.state stopped
expect a.start2 .error.code -32001
gone a "$ida"
[ "$(events_of a)" = "created starting stopping stopped deleted" ] || fail "a: events: $(events_of a)"
jq -e -s '[.[] | select(.params.name == "a" and .params.event == "stopping")][0].params.reason == "deleted"' \
	"$T/events" >/dev/null || fail "a: the stop was not the delete's"

# ---- B: delete while a stop is in flight ----------------------------------
ctl create b --grace 60s >/dev/null || fail "create b"
idb=$(field b .id)
ctl start b >/dev/null || fail "start b"
libvirtd_freeze
bg b.stop1 stop b
STOP=$BG_PID
wait_until 10 state_is b stopping || fail "b did not begin to stop"
bg b.delete delete b
DEL=$BG_PID
bg b.stop2 stop b
STOP2=$BG_PID
take b.delete b.stop2
answered b.stop1 && fail "b: the stop was answered while blocked in libvirt"
answered b.delete && fail "b: the delete was answered while the stop was blocked in libvirt"
libvirtd_thaw
wait "$STOP" "$DEL" "$STOP2"
expect b.stop1 .result.state stopped
expect b.stop2 .result.state stopped
expect b.delete '.result | tojson' '{}'
gone b "$idb"
[ "$(events_of b)" = "created starting running stopping stopped deleted" ] || fail "b: events: $(events_of b)"

# ---- C: delete while a start waits for its ready pattern ------------------
ctl create c --grace 60s --ready-pattern 'never printed' --ready-timeout 120s >/dev/null || fail "create c"
idc=$(field c .id)
bg c.start start c
wait_until 10 state_is c starting || fail "c did not begin to start"
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
wait_until 10 nobody_waits c || fail "c: the start's caller is still counted"
state_is c starting || fail "c is $(field c .state), not waiting for readiness"
ctl delete c >/dev/null || fail "delete c during the readiness wait"
gone c "$idc"
[ "$(events_of c)" = "created starting stopping stopped deleted" ] || fail "c: events: $(events_of c)"

# ---- D: unfrozen rounds ---------------------------------------------------
i=0 early=0 refused=0
while [ $i -lt 20 ]; do
	n=d$i
	ctl create "$n" --grace 60s >/dev/null || fail "create $n"
	"$TOOLS/rawrpc" -t 10 -H -l "$(req s start "$n")" >/dev/null 2>&1
	tries=0
	until ctl delete "$n" >/dev/null 2>"$T/err"; do
		grep -q "in use" "$T/err" || fail "$n: delete failed: $(cat "$T/err")"
		refused=$((refused + 1))
		tries=$((tries + 1))
		[ $tries -lt 200 ] || fail "$n: the delete was refused 200 times: $(cat "$T/err")"
	done
	wait_until 10 deleted_event "$n" || fail "$n: no deleted event: $EV"
	case "$EV" in
	"created starting stopping stopped deleted") early=$((early + 1)) ;;
	"created deleted"|"created starting running stopping stopped deleted") ;;
	*) fail "$n: events: $EV" ;;
	esac
	i=$((i + 1))
done
# What the rounds left, all at once: nothing.
ls "$T/state/sessions" | grep -q . && fail "state files left: $(ls "$T/state/sessions")"
left=$(lv_objects | grep -v -x -e "$P-template-[0-9.]*g.qcow2")
[ -z "$left" ] || fail "D: domains or volumes left in libvirt: $left"
echo "D: 20 rounds, $early deletes before the VM ran, $refused refusals while the start was held"

kill "$WATCH" 2>/dev/null
grep -q '(bug)' "$DAEMON_LOG" && fail "the daemon logged a bug: $(grep -m3 '(bug)' "$DAEMON_LOG")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
