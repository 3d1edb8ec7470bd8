#!/bin/sh
# badinput-names — a session name is [A-Za-z0-9][A-Za-z0-9._-]{0,63} for
# every method that takes one, including those bad-input-errors does not
# try (session.stop, session.reset, session.watch, vm.info, vm.console,
# token.acquire with a TTL, session.create with settings, and root naming
# an owner_uid): a name that tries to leave the state directory or is one
# byte too long is -32602 naming 'name', and so is a name of the wrong
# JSON type.  Names at the edge of the rule (64 bytes, dots, names that
# look like the daemon's own files) are accepted and stay distinct.
. "$(dirname "$0")/lib.sh"

# Requests are queued (expect) and sent as a batch on one connection by
# one rpcpipe, the replies checked by one jq and one awk (send): a process
# or three per request took 176 s under ASan.  A batch is some 400 short
# lines; its replies (under 100 KB) stay far below the 1 MiB the daemon
# lets wait before it reads no more, and it has no limit on requests in
# flight, so one connection takes it all.  Only an oversized frame closes
# a connection, and none is sent here.
B=$T/batch
n=0 k=0
# expect CODE WORD METHOD PARAMS — queues a request (id unique in the
# script); its reply must be error CODE with a message naming WORD, or,
# for CODE "result", a result whose .name is WORD.
expect() {
	n=$((n + 1)) k=$((k + 1))
	printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}\n' $n "$3" "$4" >>"$B.req"
	id=$n
	[ "$1" = -32700 ] && id=null             # a parse error cannot know the id
	# key id code word what; no field holds a tab (names are words, JSON
	# escapes its own).
	printf '%s\t%s\t%s\t%s\t%s %s\n' $k $id "$1" "$2" "$3" "$4" >>"$B.want"
}

# send [by-order] — sends the batch, checks that every request has
# exactly one reply as expected, and starts a new batch.  Replies are
# joined to requests by id; by-order joins them by position instead, for
# parse errors (id null): the daemon answers those at once as it reads
# each line, so in the order sent.
send() {
	rc=0
	# A bound on the whole batch, waited out only when a reply is missing.
	"$TOOLS/rpcpipe" -t 120 <"$B.req" >"$B.out" 2>"$B.err" || rc=$?
	# One line per frame: id, error code (or "result"), the message (or
	# the result's name) with control characters made spaces.
	jq -r 'def f(x): (try x catch null) // "" | tostring | gsub("[[:cntrl:]]"; " ");
		if type != "object" then ["?", "?", ""]
		elif has("error") then [(.id | tojson), f(.error.code), f(.error.message)]
		elif has("result") then [(.id | tojson), "result", f(.result.name)]
		else [(.id | tojson), "none", ""] end | join("\t")' \
		"$B.out" >"$B.fields" 2>"$B.jqerr" ||
		fail "replies that are not JSON ($(cat "$B.jqerr")): $(cat "$B.out")"
	# Each line: those fields, then the frame as it came.
	paste "$B.fields" "$B.out" | awk -F '\t' -v byorder=${1:+1} '
		NR == FNR {
			key = byorder ? $1 : $2
			id[key] = $2; code[key] = $3; word[key] = $4; what[key] = $5; keys[++nk] = key
			next
		}
		{
			key = byorder ? FNR : $1
			reply = $4
			if (!(key in code)) { print "a frame that answers no request: " reply; next }
			w = what[key]
			if (++seen[key] > 1) { print w ": a second reply: " reply; next }
			if ($2 != code[key]) { print w ": code " $2 ", not " code[key] ": " reply; next }
			if ($1 != id[key]) { print w ": reply id " $1 ", not " id[key] ": " reply; next }
			if (code[key] == "result") {
				if ($3 != word[key]) print w ": the result names " $3 ", not " word[key] ": " reply
			} else if (word[key] != "" && index($3, word[key]) == 0)
				print w ": the message does not name '\''" word[key] "'\'': " reply
		}
		END { for (i = 1; i <= nk; i++) if (!(keys[i] in seen)) print what[keys[i]] ": no reply" }' \
		"$B.want" - >"$B.bad"
	if [ -s "$B.bad" ]; then
		more=""
		[ "$(wc -l <"$B.bad")" -le 30 ] || more="
... $(wc -l <"$B.bad") in all"
		[ $rc = 0 ] || more="$more
rpcpipe (exit $rc): $(cat "$B.err")"
		fail "$(head -n 30 "$B.bad")$more"
	fi
	rm -f "$B".*
	k=0
}

start_daemon
ctl create real --grace 30s >/dev/null || fail "create real"

x64=$(printf 'x%.0s' $(seq 64))
x65=${x64}x
x300=$(printf 'y%.0s' $(seq 300))
# As JSON string bodies: escapes are JSON's.
bad='../x .. . ./x x/.. a/b /abs /etc/passwd ..\\x a\\b \/x ~root .hidden -dash _under
	x\n x\r x\t a%2fb \u002e\u002e/x \u002e\u002e \u2215x \u00e9'
# A NUL in a name: no C string may carry it, the frame is a parse error
# (id null), sent in a batch of its own.
nul='x\u0000y'
methods="session.create session.get session.start session.stop session.reset session.delete
	session.watch token.acquire vm.info vm.console"

# params METHOD NAME — sets p: the params of METHOD with NAME (a JSON
# string body), and what else each method takes.
params() {
	case $1 in
	token.acquire) p="{\"name\":\"$2\",\"ttl_s\":5,\"detach\":true}" ;;
	session.create) p="{\"name\":\"$2\",\"grace_s\":5,\"memory_mib\":256}" ;;
	vm.console) p="{\"name\":\"$2\",\"max_bytes\":100}" ;;
	session.stop) p="{\"name\":\"$2\",\"force\":true}" ;;
	*) p="{\"name\":\"$2\"}" ;;
	esac
}

for name in $bad $x65 $x300; do
	for m in $methods; do
		params $m "$name"
		expect -32602 name $m "$p"
	done
	# Root naming an owner: the name is checked all the same.
	expect -32602 name session.get "{\"name\":\"$name\",\"owner_uid\":65534}"
done

# Wrong JSON types.
for v in 5 1.5 true null '["real"]' '{"n":"real"}'; do
	for m in $methods; do
		[ $m = session.watch ] && [ "$v" = null ] && continue
		expect -32602 name $m "{\"name\":$v}"
	done
done
send

for m in $methods; do
	params $m "$nul"
	expect -32700 "" $m "$p"
done
send by-order

# Nothing of this made a session or a file.
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = real ] || fail "bad names created sessions: $(ctl list)"
[ "$(ls "$T/state/sessions" | wc -l)" = 1 ] || fail "bad names wrote state files: $(ls -a "$T/state/sessions")"

# The edge of the rule: accepted, distinct, each found by its own name.
# Created first (a get sent with its create may come first), then looked up.
edge="$x64 a..b x.json daemon-id sessions console pool 0 Z9._- a.tmp"
for name in $edge; do
	expect result "$name" session.create "{\"name\":\"$name\"}"
done
send
expect -32005 exists session.create "{\"name\":\"$x64\"}"
for name in $edge; do
	expect result "$name" session.get "{\"name\":\"$name\"}"
done
send
[ "$(ctl list --json | jq '.sessions | length')" = 11 ] || fail "not 11 sessions: $(ctl list)"
daemon_alive || fail "the daemon died"
exit 0
