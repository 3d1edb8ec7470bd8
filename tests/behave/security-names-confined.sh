#!/bin/sh
# security-names-confined — nothing a client names reaches the file system
# outside the state directory, and inside it files are named by ids, never
# by session names.  Names that try to escape ("../x", "a/b", "/abs",
# "..", ".hidden", 65 bytes, "..\x", "%2e%2e/x", "\u002e\u002e/x") sent by
# root (also for another owner_uid) and by uid nobody to every method that
# takes a name are refused and create nothing, neither beside the state
# directory nor in the daemon's working directory nor in /; names that
# look like the daemon's own files ("daemon-id", "x.json", "sessions",
# "console", "pool", "a.tmp") are ordinary sessions whose files are
# <uuid>.json, and the real daemon-id is untouched.  After a restart every
# session comes back, by name.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/cwd" "$T/beside" "$T/batch"
: >"$T/marker"
root_ls0=$(ls -a /)
cd "$T/cwd" || fail "cd $T/cwd"
start_daemon
daemon_id0=$(cat "$T/state/daemon-id")

AS_NOBODY=""
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
   setpriv --reuid=nobody --regid=nogroup --clear-groups "$SESSIONCTL" list >/dev/null 2>&1; then
	AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi

# Requests are queued (expect) in a batch per identity and each batch is
# sent on one connection by one rpcpipe (nobody's through setpriv), the
# replies checked by one jq and one awk (send): a process or two per
# request took 129 s under ASan.  A batch is a few hundred short lines;
# its replies (under 100 KB) stay far below the 1 MiB the daemon lets
# wait before it reads no more, and it has no limit on requests in
# flight, so one connection takes it all.  The files are in $T/batch.
n=0
# expect WHO CODE WORD METHOD PARAMS — queues a request (id unique in the
# script) in WHO's batch; its reply must be error CODE with a message
# naming WORD, or, for CODE "result", a result whose .name is WORD.
expect() {
	n=$((n + 1))
	printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}\n' $n "$4" "$5" >>"$T/batch/$1.req"
	# id code word what; no field holds a tab (names are words, JSON
	# escapes its own).
	printf '%s\t%s\t%s\t%s: %s %s\n' $n "$2" "$3" "$1" "$4" "$5" >>"$T/batch/$1.want"
}

# send WHO [COMMAND...] — sends WHO's batch (through COMMAND: setpriv),
# checks that every request has exactly one reply, joined by id, as
# expected, and empties the batch.
send() {
	b=$T/batch/$1
	shift
	rc=0
	# A bound on the whole batch, waited out only when a reply is missing.
	"$@" "$TOOLS/rpcpipe" -t 120 <"$b.req" >"$b.out" 2>"$b.err" || rc=$?
	# One line per frame: id, error code (or "result"), the message (or
	# the result's name) with control characters made spaces.
	jq -r 'def f(x): (try x catch null) // "" | tostring | gsub("[[:cntrl:]]"; " ");
		if type != "object" then ["?", "?", ""]
		elif has("error") then [(.id | tojson), f(.error.code), f(.error.message)]
		elif has("result") then [(.id | tojson), "result", f(.result.name)]
		else [(.id | tojson), "none", ""] end | join("\t")' \
		"$b.out" >"$b.fields" 2>"$b.jqerr" ||
		fail "replies that are not JSON ($(cat "$b.jqerr")): $(cat "$b.out")"
	# Each line: those fields, then the frame as it came.
	paste "$b.fields" "$b.out" | awk -F '\t' '
		NR == FNR { code[$1] = $2; word[$1] = $3; what[$1] = $4; keys[++nk] = $1; next }
		{
			reply = $4
			if (!($1 in code)) { print "a frame that answers no request: " reply; next }
			w = what[$1]
			if (++seen[$1] > 1) { print w ": a second reply: " reply; next }
			if ($2 != code[$1]) { print w ": code " $2 ", not " code[$1] ": " reply; next }
			if (code[$1] == "result") {
				if ($3 != word[$1]) print w ": the result names " $3 ", not " word[$1] ": " reply
			} else if (index($3, word[$1]) == 0)
				print w ": the message does not name '\''" word[$1] "'\'': " reply
		}
		END { for (i = 1; i <= nk; i++) if (!(keys[i] in seen)) print what[keys[i]] ": no reply" }' \
		"$b.want" - >"$b.bad"
	if [ -s "$b.bad" ]; then
		more=""
		[ "$(wc -l <"$b.bad")" -le 30 ] || more="
... $(wc -l <"$b.bad") in all"
		[ $rc = 0 ] || more="$more
rpcpipe (exit $rc): $(cat "$b.err")"
		fail "$(head -n 30 "$b.bad")$more"
	fi
	rm -f "$b".*
}

x65=$(printf 'x%.0s' $(seq 65))
bad='../x ../beside/x ../../x .. . a/b /abs /tmp/x ./x .hidden ..\\x %2e%2e/x \u002e\u002e/x \u002fabs x\n '"$x65"
me=$(id -u)
for name in $bad; do
	for m in session.create session.get session.start session.stop session.reset session.delete \
		 session.watch token.acquire vm.info vm.console; do
		expect root -32602 name $m "{\"name\":\"$name\"}"
		# Root acting for another owner (only root may name one).
		[ "$me" = 0 ] && expect root -32602 name $m "{\"name\":\"$name\",\"owner_uid\":65534}"
		[ -n "$AS_NOBODY" ] && expect nobody -32602 name $m "{\"name\":\"$name\"}"
	done
done
send root
[ -z "$AS_NOBODY" ] || send nobody $AS_NOBODY

# Names that look like the daemon's own files are just names.
look='daemon-id x.json sessions console pool a.tmp json'
for name in $look; do
	expect root result "$name" session.create "{\"name\":\"$name\"}"
done
send root
ctl start x.json >/dev/null || fail "start x.json"
ctl hold daemon-id --ttl 10m --detach >/dev/null || fail "hold daemon-id"
[ "$(cat "$T/state/daemon-id")" = "$daemon_id0" ] || fail "the daemon-id file changed"

# Nothing new outside the state directory but what this script made (the
# batches, and the sanitizer or valgrind logs lib.sh collects in san/).
new=$(cd "$T" && find . -newer marker ! -path './state' ! -path './state/*' ! -path . \
	! -name sock ! -name daemon.log ! -path ./cwd ! -path ./san ! -path './san/*' \
	! -path ./batch | sort)
[ -z "$new" ] || fail "files appeared outside the state directory: $new"
[ -z "$(ls -A "$T/cwd")" ] || fail "files appeared in the daemon's working directory: $(ls -A "$T/cwd")"
[ -z "$(ls -A "$T/beside")" ] || fail "files appeared beside the state directory: $(ls -A "$T/beside")"
[ "$(ls -a /)" = "$root_ls0" ] || fail "/ changed: $(ls -a /)"
# Inside it: ids only.
odd=$(cd "$T/state" && find . -type f | grep -Ev '^\./daemon-id$|^\./sessions/[0-9a-f-]{36}\.json$|^\./console/[0-9a-f-]{36}\.log$|^\./pool/')
[ -z "$odd" ] || fail "state files not named by id: $odd"
[ "$(ls "$T/state/sessions" | wc -l)" = 7 ] || fail "not 7 state files: $(ls -a "$T/state/sessions")"

# A restart finds them all, by name.
kill9_daemon
start_daemon
for name in $look; do
	expect root result "$name" session.get "{\"name\":\"$name\"}"
done
send root
[ "$(ctl list --json | jq '.sessions | length')" = 7 ] || fail "not 7 sessions after the restart: $(ctl list)"
grep -q "skipped" "$DAEMON_LOG" && fail "the daemon skipped a state file: $(grep skipped "$DAEMON_LOG")"
exit 0
