#!/bin/sh
# crashsafe-kill9-storm — what the daemon acknowledged survives kill -9 at
# any point.  Each round (8 per way by default, below), four clients
# pipeline a storm of session.create, token.acquire (detached with a long
# TTL, and bound to the connection), session.start and session.delete on
# fresh names; after a random number of replies the daemon gets SIGKILL,
# and is started again on the same state directory.  Then, from the
# replies the clients received (the acknowledgements):
#   - every acknowledged create exists (unless its delete may have run),
#     every acknowledged delete is gone, a failed create left nothing;
#   - every acknowledged detached token is held again; no token bound to a
#     connection survived;
#   - no acknowledged start is lost: start_count is at least what a reply
#     showed, and (unless a delete, which stops the VM first, may have run)
#     the daemon knew the instance (through a libvirtd: the VM was adopted
#     and runs, the very instance a reply showed; on the embedded driver,
#     where VMs die with the daemon: the session says its VM was "lost");
#   - no state file is torn: each parses with jq before the restart, the
#     daemon skips none, and there is one per listed session;
#   - through a libvirtd, no domain is orphaned: the daemon's domains are
#     exactly the instances its sessions list, and none is left once every
#     session is deleted at the end of the round.
# Two ways, each a run of this script (CRASH_VIA picks one; both by
# default): "embedded", the daemon on test:///default inside itself, and
# "libvirtd", the daemon on test+unix:///default through a private
# libvirtd this script starts (tests/behave/lib-libvirtd.sh: test driver
# only, its own socket), so the libvirtd way runs whatever ran before.
# CRASH_ROUNDS (per way) and CRASH_SEED override the round count and the
# random seed (printed on failure); 2 x 8 rounds fit behave/run.sh's
# 300 s on a loaded 2-CPU box, under ASan too.  Each client sends its
# creates on one connection and the rest on the next, so most starts find
# their session and the rounds check many acknowledged starts; a run that
# checked none fails.
if [ -z "${CRASH_VIA:-}" ]; then
	for via in embedded libvirtd; do
		CRASH_VIA=$via sh "$0" || exit $?
	done
	exit 0
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

ROUNDS=${CRASH_ROUNDS:-8}
SEED=${CRASH_SEED:-$$}
CLIENTS=4
NAMES=8

VIA=$CRASH_VIA
case $VIA in
embedded) SESSIOND_URI=test:///default ;;
libvirtd) libvirtd_start
	  SESSIOND_URI=$LV_URI ;;
*) fail "CRASH_VIA is '$VIA', not embedded or libvirtd" ;;
esac
export SESSIOND_URI
fail_round() { fail "round $r (seed $SEED, $VIA): $*"; }

# A random number in [1, $1], reproducible from SEED and the round.
rand() { awk -v s="$SEED" -v r="$r" -v m="$1" 'BEGIN { srand(s * 1000 + r); print 1 + int(rand() * m) }'; }

req() { printf '{"jsonrpc":"2.0","id":"%s:%s","method":"%s","params":%s}\n' "$1" "$2" "$3" "$4"; }

# storm_creates ROUND CLIENT — the creates, one connection's worth.
storm_creates() {
	for j in $(seq $NAMES); do req c "r$1c$2n$j" session.create "{\"name\":\"r$1c$2n$j\",\"grace_s\":300}"; done
}

# storm_rest ROUND CLIENT — holds and starts, then deletes, on the next
# connection (so they find the sessions created).  By name: a detached
# token; a start and a token bound to the connection; a start then a
# delete; a detached token and a start.
storm_rest() {
	for j in $(seq $NAMES); do
		n="r$1c$2n$j"
		case $((j % 4)) in
		0) req t $n token.acquire "{\"name\":\"$n\",\"ttl_s\":3600,\"detach\":true,\"reason\":\"storm\"}" ;;
		1) req s $n session.start "{\"name\":\"$n\"}"
		   req a $n token.acquire "{\"name\":\"$n\",\"reason\":\"bound\"}" ;;
		2) req s $n session.start "{\"name\":\"$n\"}" ;;
		3) req t $n token.acquire "{\"name\":\"$n\",\"ttl_s\":3600,\"detach\":true}"
		   req s $n session.start "{\"name\":\"$n\"}" ;;
		esac
	done
	for j in $(seq 2 4 $NAMES); do req d "r$1c$2n$j" session.delete "{\"name\":\"r$1c$2n$j\"}"; done
}

acks() { cat "$T"/acks.* 2>/dev/null | grep -c '"id":"[a-z]:r' ; }

# Every session object with its holds ({"sessions": [...]}): the listing
# gives summaries, each status the object.
full_list() {
	ctl list --json | jq -r '.sessions[].name' | while read -r n; do
		ctl status "$n" --json || return 1
	done | jq -s '{sessions: .}'
}

# batch FILE — its requests pipelined on one connection (one process, not
# one sessionctl each: the round's slowest part under ASan otherwise);
# every one must succeed.
batch() {
	[ -s "$1" ] || return 0
	"$TOOLS/rawrpc" -t 60 -f "$1" >"$1.out" 2>"$1.err" || fail_round "$(basename "$1"): rawrpc failed: $(tail -n 3 "$1.err")"
	[ "$(jq -s '[.[] | select(has("result"))] | length' "$1.out")" = "$(wc -l <"$1")" ] ||
		fail_round "$(basename "$1"): not every request succeeded: $(jq -c 'select(has("result") | not)' "$1.out" | head -3)"
}
acked_at_least() { [ "$(acks)" -ge "$1" ]; }

# The violations, one per line, from the replies and the session list.
VERIFY='
def rep(id): [$replies[] | select(.id == id)] | first;
def ok(id): rep(id) | has("result")? // false;
def err(id): rep(id) | has("error")? // false;
def sent(id): any($ids[]; . == id);
def sess(n): [$sessions[] | select(.name == n)] | first;
def exists(n): sess(n) != null;
def undeleted(n): (sent("d:"+n) | not) or err("d:"+n);
def started(n): [(if ok("s:"+n) then rep("s:"+n).result.start_count else empty end),
                 (if ok("t:"+n) then rep("t:"+n).result.session.start_count else empty end)] | max // 0;
($names[] as $n |
  (if ok("d:"+$n) and exists($n) then "\($n): its delete was acknowledged, yet it exists" else empty end),
  (if ok("c:"+$n) and undeleted($n) and (exists($n) | not)
   then "\($n): its create was acknowledged, yet it is missing" else empty end),
  (if err("c:"+$n) and exists($n) then "\($n): its create failed (\(rep("c:"+$n).error.message)), yet it exists" else empty end),
  (if ok("t:"+$n) and exists($n) then rep("t:"+$n).result.token as $t |
     (if any(sess($n).holds[]; .id == $t) then empty
      else "\($n): acknowledged detached token \($t) is not held after the restart" end) else empty end),
  (if ok("a:"+$n) and exists($n) then rep("a:"+$n).result.token as $t |
     (if any(sess($n).holds[]; .id == $t) then "\($n): token \($t), bound to a dead connection, survived" else empty end)
   else empty end),
  started($n) as $acked |
  (if $acked > 0 and exists($n) and sess($n).start_count < $acked
   then "\($n): an acknowledged start was lost: start_count \(sess($n).start_count), acknowledged \($acked)"
   elif $acked > 0 and undeleted($n) and exists($n) and $via == "embedded" and
        sess($n).last_stop_reason != "lost"
   then "\($n): the daemon did not know the acknowledged VM (last_stop_reason \(sess($n).last_stop_reason))"
   elif $acked > 0 and undeleted($n) and exists($n) and $via == "libvirtd" and
        (sess($n).state != "running" or sess($n).instance == null)
   then "\($n): the acknowledged VM was not adopted (state \(sess($n).state), last stop \(sess($n).last_stop_reason))"
   else empty end),
  ([(if ok("s:"+$n) then rep("s:"+$n).result else empty end),
    (if ok("t:"+$n) then rep("t:"+$n).result.session else empty end)] |
   map(select(.instance != null)) | max_by(.start_count) | .instance.id?) as $inst |
  (if $via == "libvirtd" and $inst != null and undeleted($n) and exists($n) and sess($n).instance.id != $inst
   then "\($n): the acknowledged instance \($inst) was not adopted (now \(sess($n).instance.id // "none"), start_count \(sess($n).start_count))"
   else empty end)
),
($sessions[] | select(.name | startswith("r\($round)c") | not) | "\(.name): a session of an earlier round came back"),
"CHECKED \([$names[] | . as $n | select(started($n) > 0 and undeleted($n) and exists($n))] | length)"
'

domains() { virsh -c "$SESSIOND_URI" list --all --name 2>/dev/null | grep "^$PREFIX-" | sort; }

# libvirtd's test driver forgets its domains once its last client hangs
# up, and the killed daemon may be the only one: a virsh stays connected
# meanwhile (until the end of the script).
[ $VIA = libvirtd ] && libvirtd_hold

start_daemon
PREFIX="sd-$(cut -c1-8 "$T/state/daemon-id")"
r=0 checked=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	rm -f "$T"/acks.* "$T"/storm.*
	for k in $(seq $CLIENTS); do
		storm_creates $r $k >"$T/storm.$k.1"
		storm_rest $r $k >"$T/storm.$k.2"
	done
	total=$(cat "$T"/storm.* | wc -l)
	kill_at=$(rand $((total - 8)))
	pids=""
	# Each client: its creates, then (a new connection) the rest; the
	# clients overlap.  A kill during the creates leaves the rest
	# nothing to connect to (the daemon restarts only after all ended).
	for k in $(seq $CLIENTS); do
		{ "$TOOLS/rawrpc" -t 60 -d 2 -f "$T/storm.$k.1" &&
		  "$TOOLS/rawrpc" -t 60 -d 2 -f "$T/storm.$k.2"; } >"$T/acks.$k" 2>/dev/null &
		pids="$pids $!"
	done
	wait_until 60 acked_at_least "$kill_at" || fail_round "only $(acks) of $kill_at replies came"
	kill9_daemon
	for p in $pids; do wait "$p"; done

	# Torn files?  (A left-over .<id>.json.tmp is allowed: it was never renamed.)
	for f in "$T"/state/sessions/*.json; do
		[ -e "$f" ] || continue
		jq -e 'type == "object" and .version == 1' "$f" >/dev/null 2>&1 || fail_round "torn state file $f: $(head -c 300 "$f")"
	done
	[ "$(cat "$T/state/daemon-id" | cut -c1-8)" = "${PREFIX#sd-}" ] || fail_round "daemon-id changed"

	logged=$(wc -l <"$DAEMON_LOG")
	start_daemon
	tail -n +$((logged + 1)) "$DAEMON_LOG" >"$T/round.log"
	grep -E "state file .*(skipped|not valid)|\(bug\)" "$T/round.log" && fail_round "the daemon could not read its state"

	full_list >"$T/list.json" || fail_round "list after the restart"
	[ "$(jq '.sessions | length' "$T/list.json")" = "$(ls "$T/state/sessions" | grep -c '\.json$')" ] ||
		fail_round "$(jq '.sessions | length' "$T/list.json") sessions but $(ls "$T/state/sessions" | grep -c '\.json$') state files"
	cat "$T"/acks.* | jq -cs '[.[] | select(type == "object" and has("id"))]' >"$T/replies.json" ||
		fail_round "unreadable replies"
	cat "$T"/storm.* | jq -cs '[.[].id]' >"$T/ids.json"
	cat "$T"/storm.* | jq -cs '[.[] | select(.method == "session.create") | .params.name]' >"$T/names.json"
	jq -r --slurpfile replies "$T/replies.json" --slurpfile ids "$T/ids.json" \
		--slurpfile names "$T/names.json" --arg via "$VIA" --arg round "$r" \
		"\$replies[0] as \$replies | \$ids[0] as \$ids | \$names[0] as \$names | .sessions as \$sessions | $VERIFY" \
		"$T/list.json" >"$T/verdict" || fail_round "the check itself failed"
	grep -v '^CHECKED ' "$T/verdict" >"$T/violations"
	[ -s "$T/violations" ] && fail_round "$(acks) replies before the kill; $(head -5 "$T/violations")"
	checked=$((checked + $(sed -n 's/^CHECKED //p' "$T/verdict")))

	if [ $VIA = libvirtd ]; then
		libvirtd_answers || fail_round "the private libvirtd died under the test"
		jq -r '.sessions[] | .instance.id // empty' "$T/list.json" | sort >"$T/instances"
		domains | sed 's/.*-\([0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}\)$/\1/' | sort >"$T/doms"
		cmp -s "$T/instances" "$T/doms" ||
			fail_round "domains and instances differ (< instances, > domains): $(diff "$T/instances" "$T/doms" | grep '^[<>]' | head -5)"
	fi

	# Clean slate for the next round (a held session cannot be deleted):
	# every token released, then every session deleted.
	jq -r '.sessions[].holds[] | select(.kind == "token") | .id' "$T/list.json" |
		while read -r tok; do req x "$tok" token.release "{\"token\":\"$tok\"}"; done >"$T/release"
	jq -r '.sessions[].name' "$T/list.json" |
		while read -r n; do req x "$n" session.delete "{\"name\":\"$n\"}"; done >"$T/delete"
	batch "$T/release"
	batch "$T/delete"
	[ "$(ctl list --json | jq '.sessions | length')" = 0 ] || fail_round "sessions left after deleting all"
	if [ $VIA = libvirtd ]; then
		[ -z "$(domains)" ] || fail_round "domains left after every session was deleted: $(domains)"
	fi
done
# Rounds where no start was acknowledged before the kill prove nothing
# about adoption or loss; the run must have had some.
[ $checked -gt 0 ] || fail "no acknowledged start survived to be checked in $ROUNDS rounds (seed $SEED, $VIA)"
echo "$ROUNDS rounds of kill -9 ($VIA), seed $SEED: $checked acknowledged starts checked after the restart"
stop_daemon || fail "the daemon did not exit cleanly at the end"
exit 0
