# lib-batch.sh — requests queued into batches, each batch sent on one
# connection by one rpcpipe, and its replies checked by one jq and one awk
# pass.  Sourced after lib.sh by scripts that send hundreds of requests:
# a process or three per request took minutes under ASan.
#
# A batch is a few hundred short lines; its replies stay far below the
# 1 MiB of unsent replies past which the daemon reads no more, and it has
# no limit on requests in flight, so one connection takes a whole batch.
# Only an oversized frame closes a connection: send none in a batch.
# Replies are matched to requests by id, so a lookup queued with the
# create it needs may be answered first: send the create's batch before.
# The files are in $T/batch (left for a failure to be read).

mkdir -p "$T/batch"
batch_id=0

# expect BATCH CODE WORD METHOD PARAMS — queues a request (its id unique
# in the script) in BATCH; its reply must be error CODE with a message
# naming WORD (any message for ""), or, for CODE "result", a result whose
# .name is WORD.  A parse error (-32700) cannot know the id: its reply is
# expected with id null.
expect() {
	batch_id=$((batch_id + 1))
	printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}\n' $batch_id "$4" "$5" \
		>>"$T/batch/$1.req"
	id=$batch_id
	[ "$2" = -32700 ] && id=null
	# id code word what; no field holds a tab (names are words, JSON
	# escapes its own).
	printf '%s\t%s\t%s\t%s: %s %s\n' $id "$2" "$3" "$1" "$4" "$5" >>"$T/batch/$1.want"
}

# send [-o] BATCH [COMMAND...] — sends BATCH (through COMMAND: setpriv),
# checks that every request has exactly one reply, as expected, and
# empties the batch.  Replies are joined to requests by id; -o joins them
# by position instead, for parse errors (id null): the daemon answers
# those at once as it reads each line, so in the order sent.
send() {
	byorder=""
	[ "$1" = -o ] && { byorder=1; shift; }
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
	paste "$b.fields" "$b.out" | awk -F '\t' -v byorder="$byorder" '
		NR == FNR {
			key = byorder ? FNR : $1
			id[key] = $1; code[key] = $2; word[key] = $3; what[key] = $4; keys[++nk] = key
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
