#!/bin/sh
# list-5000-sessions-under-churn — issue 20's listing test: 5,000 sessions
# (and 1,000 victims made between them) listed through "sessionctl list",
# "sessionctl list --json" and the client library's iterator while another
# client creates sessions and deletes the victims: every session that
# existed throughout is listed exactly once, nothing is listed twice, and
# nothing is listed that never existed.  "--state running" lists the
# running ones only, all of them.
#
# The churn must happen during each listing, not before or after it:
# sessionctl's output goes through a FIFO that this script stops reading
# after the first line until the churner has done 20 operations (sessionctl
# is then blocked writing, at most a few pages in); the library walk churns
# itself between its pages (tests/tools/listwalk -c) beside the churner.
. "$(dirname "$0")/lib.sh"

BASE=5000
VICTIMS=1000

# The state directory on a memory file system where there is one: what is
# tested is listing, and 6,000 state files written with fsync on a disk
# take minutes.
SHM=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/sessiond-behave.XXXXXX)
	trap 'rm -rf "$SHM"; cleanup' EXIT
fi
start_daemon ${SHM:+--state-dir "$SHM/state"}
# Sessions in registration order: every sixth one a victim.
i=0 b=0 v=0
: >"$T/base" ; : >"$T/victims"
while [ $i -lt $((BASE + VICTIMS)) ]; do
	if [ $((i % 6)) = 5 ]; then name=$(printf 'v%04d' $v); v=$((v + 1)); echo "$name" >>"$T/victims"
	else name=$(printf 'b%04d' $b); b=$((b + 1)); echo "$name" >>"$T/base"; fi
	printf '{"jsonrpc":"2.0","id":%d,"method":"session.create","params":{"name":"%s","storage":"ephemeral","grace_s":600}}\n' $i "$name"
	i=$((i + 1))
done >"$T/create.in"
"$TOOLS/rpcpipe" -t 240 <"$T/create.in" >"$T/create.out" 2>"$T/create.err" ||
	fail "creating $((BASE + VICTIMS)) sessions: $(tail -n 3 "$T/create.err")"
[ "$(jq -s '[.[] | select(.result.name)] | length' "$T/create.out")" = $((BASE + VICTIMS)) ] ||
	fail "not every session was created: $(jq -c 'select(.error)' "$T/create.out" | head -3)"
sort "$T/base" >"$T/base.sorted"
# A few running.
for s in b0007 b1234 b2500 b4999; do ctl start $s >/dev/null || fail "start $s"; done
printf '%s\n' b0007 b1234 b2500 b4999 >"$T/running"
# Victims in random order: half for the churner, half for the library walk.
shuf "$T/victims" >"$T/victims.shuf"
head -n $((VICTIMS / 2)) "$T/victims.shuf" >"$T/churner.victims"
tail -n $((VICTIMS / 2)) "$T/victims.shuf" >"$T/lw.victims"

# churner — creates churn-N and deletes the next victim, again and again,
# until $T/stop appears; counts in $T/churned.
churner() {
	k=0
	while [ ! -e "$T/stop" ]; do
		"$SESSIONCTL" create "churn-$k" --storage ephemeral >/dev/null 2>&1 && echo "churn-$k" >>"$T/churn.made"
		vic=$(sed -n "$((k + 1))p" "$T/churner.victims")
		[ -n "$vic" ] && "$SESSIONCTL" delete "$vic" >/dev/null 2>&1 && echo "$vic" >>"$T/churn.gone"
		k=$((k + 1))
		echo $k >"$T/churned"
	done
}
churned() { [ "$(cat "$T/churned" 2>/dev/null || echo 0)" -ge "$1" ]; }

# check FILE WHAT — FILE (names, one a line) has every base session once,
# nothing twice, nothing that never existed.
check() {
	sort "$1" >"$1.sorted"
	dup=$(uniq -d "$1.sorted" | head -3)
	[ -z "$dup" ] || fail "$2: listed twice: $dup"
	missing=$(comm -23 "$T/base.sorted" "$1.sorted" | head -3)
	[ -z "$missing" ] || fail "$2: sessions that existed throughout are missing: $missing"
	cat "$T/base" "$T/victims" "$T/churn.made" "$T/lw.made" 2>/dev/null | sort >"$T/ever"
	extra=$(comm -23 "$1.sorted" "$T/ever" | head -3)
	[ -z "$extra" ] || fail "$2: listed what never existed: $extra"
	echo "$2: $(grep -c . "$1") listed, every one of the $BASE once"
}

# listed_during CMD... — runs CMD (stdout into a FIFO); reads its first
# line, waits for 20 more churn operations, then reads the rest into
# $T/listed.raw.
listed_during() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$@" >"$T/fifo" 2>"$T/list.err" &
	lister=$!
	exec 8<"$T/fifo"
	IFS= read -r first <&8 || fail "$*: no output"
	c0=$(cat "$T/churned" 2>/dev/null || echo 0)
	wait_until 60 churned $((c0 + 20)) || fail "the churner made no progress"
	{ printf '%s\n' "$first"; cat <&8; } >"$T/listed.raw"
	exec 8<&-
	wait "$lister" || fail "$*: exit $?: $(cat "$T/list.err")"
}

churner &
CHURNER=$!
wait_until 30 churned 1 || fail "the churner does not run"

listed_during "$SESSIONCTL" list
awk 'NR > 1 { print $1 }' "$T/listed.raw" >"$T/listed.ctl"
check "$T/listed.ctl" "sessionctl list"

listed_during "$SESSIONCTL" list --json
jq -r '.sessions[].name' "$T/listed.raw" >"$T/listed.json" || fail "sessionctl list --json is not one JSON document"
check "$T/listed.json" "sessionctl list --json"

# The library, pages of 100, churning between them itself.
"$TOOLS/listwalk" -l 100 -c "$T/lw.victims" -k 37 -m 100 >"$T/listed.lib" 2>"$T/lw.err" ||
	fail "listwalk: $(tail -n 3 "$T/lw.err")"
sed -n 's/^created //p' "$T/lw.err" >"$T/lw.made"
[ "$(grep -c '^deleted ' "$T/lw.err")" -ge 50 ] || fail "listwalk deleted too little: $(tail -n 1 "$T/lw.err")"
check "$T/listed.lib" "library iterator"

touch "$T/stop"
wait "$CHURNER"
[ "$(grep -c . "$T/churn.gone")" -ge 40 ] || fail "the churner deleted only $(grep -c . "$T/churn.gone") victims"

# Only the running ones, every one of them.
ctl list --state running | awk 'NR > 1 { print $1 }' | sort >"$T/up.ctl"
sort "$T/running" | cmp -s - "$T/up.ctl" || fail "list --state running: $(tr '\n' ' ' <"$T/up.ctl")"
"$TOOLS/listwalk" -S running -l 3 | sort >"$T/up.lib" || fail "listwalk -S running"
sort "$T/running" | cmp -s - "$T/up.lib" || fail "library, state running: $(tr '\n' ' ' <"$T/up.lib")"
ctl list --state stopped | awk 'NR > 1 { print $1 }' | grep -x -F -f "$T/running" &&
	fail "list --state stopped lists a running session"
# daemon.info counts what the listing shows, by state too.
n=$(ctl list --json | jq '.sessions | length')
"$TOOLS/rpcpipe" -t 10 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' >"$T/info" || fail "daemon.info"
[ "$(jq '.result.states.running' "$T/info")" = 4 ] || fail "daemon.info counts $(jq -c .result.states "$T/info")"
[ "$(jq '.result.sessions' "$T/info")" = "$n" ] || fail "daemon.info counts $(jq .result.sessions "$T/info") sessions, the list $n"
[ "$(jq '.result.states.stopped' "$T/info")" = $((n - 4)) ] || fail "daemon.info counts $(jq -c .result.states "$T/info")"
daemon_alive || fail "the daemon died"
exit 0
