#!/bin/sh
# token-acquire-reply-constant-size — protocol 2: a token.acquire reply
# carries the session summary, no holds list and no count of them, and
# its size does not depend on the holders: measured in bytes with 1 holder
# (itself) and with 1,000, the replies are the same size.  session.list's
# rows count the holds.  session.holds lists every holder, page after page
# (raw pages of 100, and sessionctl holds), each exactly once.
. "$(dirname "$0")/lib.sh"

N=999                                   # holders besides the measured one
ACQ='{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"h","reason":"measure"}}'

# measure OUT — one token.acquire on its own connection; its reply line
# in OUT (the token goes with the connection).
measure() {
	"$TOOLS/rpcpipe" -t 10 "$ACQ" >"$1" || fail "token.acquire: $(cat "$1")"
	[ "$(jq -r '.result.token | length' "$1")" = 36 ] || fail "no token in $(cat "$1")"
}
holds_are() { [ "$(field h .holds_count)" = "$1" ]; }

start_daemon
ctl create h --grace 60s >/dev/null || fail "create h"
ctl start h >/dev/null || fail "start h"
measure "$T/one"

i=0
while [ $i -lt $N ]; do
	printf '{"jsonrpc":"2.0","id":%d,"method":"token.acquire","params":{"name":"h","reason":"holder %d"}}\n' $i $i
	i=$((i + 1))
done >"$T/holders.in"
# One connection holds them all until this script ends it.
"$TOOLS/rpcpipe" -n -1 -t 240 <"$T/holders.in" >"$T/holders.out" 2>&1 &
HOLDERS=$!
wait_until 60 holds_are $N || fail "$N holders did not all get a token: $(field h .holds_count)"
jq -r '.result.token' "$T/holders.out" | sort >"$T/held.ids"
[ "$(sort -u "$T/held.ids" | grep -c .)" = $N ] || fail "not $N distinct tokens acquired"
measure "$T/many"

for f in one many; do
	jq -e '.result.session | has("holds") or has("holds_count") | not' "$T/$f" >/dev/null ||
		fail "a protocol 2 token.acquire reply lists or counts holds: $(cut -c1-300 "$T/$f")"
done
[ "$(jq -c '.result.session | keys' "$T/one")" = "$(jq -c '.result.session | keys' "$T/many")" ] ||
	fail "the summary's fields differ: $(jq -c '.result.session | keys' "$T/one") / $(jq -c '.result.session | keys' "$T/many")"
echo "token.acquire reply: $(wc -c <"$T/one") bytes with 1 holder, $(wc -c <"$T/many") with $((N + 1))"
[ "$(wc -c <"$T/one")" = "$(wc -c <"$T/many")" ] ||
	fail "the reply grew with the holders: $(wc -c <"$T/one") bytes with 1, $(wc -c <"$T/many") with $((N + 1))"

# session.holds, raw pages of 100: every holder once, nothing else.
wait_until 10 holds_are $N || fail "the measured tokens were not released"
# The listing's row counts them.
[ "$(ctl list --json | jq '.sessions[] | select(.name == "h") | .holds_count')" = $N ] ||
	fail "session.list does not count $N holds: $(ctl list --json | cut -c1-300)"
after=""
: >"$T/paged.ids"
pages=0
while :; do
	p='{"name":"h","limit":100'${after:+,\"after\":\"$after\"}'}'
	"$TOOLS/rpcpipe" -t 10 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session.holds\",\"params\":$p}" >"$T/page" ||
		fail "session.holds: $(cat "$T/page")"
	[ "$(jq '.result.holds | length' "$T/page")" -le 100 ] || fail "a page over its limit"
	jq -r '.result.holds[].id' "$T/page" >>"$T/paged.ids"
	pages=$((pages + 1))
	after=$(jq -r '.result.next // empty' "$T/page")
	[ -n "$after" ] || break
	[ $pages -lt 100 ] || fail "session.holds does not end"
done
[ $pages = 10 ] || fail "$N holds in $pages pages of 100, not 10"
[ "$(sort "$T/paged.ids" | uniq -d | grep -c .)" = 0 ] || fail "a hold listed twice"
sort "$T/paged.ids" | cmp -s - "$T/held.ids" || fail "the pages are not the holders: $(sort "$T/paged.ids" | diff - "$T/held.ids" | head -5)"
# sessionctl holds --json: one array, the same holders.
ctl holds h --json >"$T/ctl.json" || fail "sessionctl holds"
jq -r '.[].id' "$T/ctl.json" | sort | cmp -s - "$T/held.ids" || fail "sessionctl holds --json is not the holders"
[ "$(ctl holds h | grep -c '^  token ')" = $N ] || fail "sessionctl holds does not show $N tokens"

kill "$HOLDERS" 2>/dev/null
wait "$HOLDERS" 2>/dev/null
wait_until 10 holds_are 0 || fail "the holders' tokens outlived their connection"
exit 0
