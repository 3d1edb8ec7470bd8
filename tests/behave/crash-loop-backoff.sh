#!/bin/sh
# crash-loop-backoff — a session with crash_policy restart, held by a
# client's token, whose domain is destroyed from outside (virsh destroy
# through the private libvirtd the daemon uses) as soon as it runs:
# sessiond(8) says each crash is followed by a new instance after 1, 2, 4,
# 8, 16 s, and the 6th crash within 10 minutes makes the session failed
# with last_stop_reason "crash loop".  Checked over RPC, from the holder's
# own connection (session.watch, then token.acquire): every crashed event
# names the instance that was destroyed, in order; each restart's
# "starting" event comes after its crash and not before the back-off
# (event times: wall clock, milliseconds; 50 ms slack; no upper bound but a
# generous hang guard); after the 6th crash the session is failed and
# stays down (6 starts in all), the holder receives token.revoked for its
# token, the token is gone, and no domain is left in libvirt.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
ctl create cl --crash-policy restart --grace 60s >/dev/null || fail "create cl"

"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" \
	'{"jsonrpc":"2.0","id":2,"method":"session.watch","params":{"name":"cl"}}' \
	'{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"cl","reason":"crash-loop holder"}}' \
	>"$T/holder" 2>/dev/null &
HOLDER=$!
answered() { grep -q '"id":2,"result"' "$T/holder" && grep -q '"id":1,"result"' "$T/holder"; }
wait_until 60 answered || fail "the holder's token.acquire and watch were not answered: $(cat "$T/holder")"
TOKEN=$(jq -r 'select(.id == 1) | .result.token' "$T/holder")
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || fail "no token: $(cat "$T/holder")"

# ev EVENT — that event's "instance time_ms" lines, in stream order.
ev() {
	jq -r --arg e "$1" 'def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);
		select(.method == "session.event" and .params.event == $e) |
		"\(.params.instance) \(.params.time | ms)"' "$T/holder"
}
crashed_seen() { ev crashed | grep -q "^$1 "; }
running_new() { state_is cl running && [ "$(field cl .instance.id)" != "$1" ]; }

prev=none
k=1
while [ $k -le 6 ]; do
	wait_until 90 running_new "$prev" || fail "crash $((k - 1)): no new instance running: $(ctl status cl)"
	inst=$(field cl .instance.id)
	dom=$(field cl .instance.domain)
	[ "$(field cl '.holds | map(.id) | join(",")')" = "$TOKEN" ] || fail "the token does not hold cl: $(ctl holds cl)"
	vsh destroy "$dom" >/dev/null || fail "virsh destroy $dom"
	wait_until 30 crashed_seen "$inst" || fail "no crashed event for $inst after crash $k: $(cat "$T/holder")"
	echo "crash $k: instance $inst"
	prev=$inst
	k=$((k + 1))
done

# The 6th crash: failed, told, nothing restarts.
failed_told() { grep -q '"method":"token.revoked"' "$T/holder" && state_is cl failed; }
wait_until 30 failed_told || fail "no failure and revocation after the 6th crash: $(ctl status cl); $(cat "$T/holder")"
[ "$(field cl .last_stop_reason)" = "crash loop" ] || fail "last_stop_reason is '$(field cl .last_stop_reason)'"
case "$(field cl .failed_reason)" in *"crash loop"*) ;; *) fail "failed_reason: $(field cl .failed_reason)" ;; esac
[ "$(jq -r 'select(.method == "token.revoked") | .params.token' "$T/holder")" = "$TOKEN" ] ||
	fail "token.revoked does not name $TOKEN: $(grep revoked "$T/holder")"
# events EVENT JQ — JQ over that event's params, one value per event.
events() { jq -c --arg e "$1" "select(.method == \"session.event\" and .params.event == \$e) | .params | $2" "$T/holder"; }
[ "$(events failed '.reason | test("crash loop")')" = true ] || fail "the watch saw no one failed event for the crash loop"
[ "$(field cl '.holds | length')" = 0 ] || fail "holds left on a failed session: $(ctl holds cl)"
[ "$(field cl .start_count)" = 6 ] || fail "start_count is $(field cl .start_count), not 6"
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
ctl release "$TOKEN" >/dev/null 2>&1 && fail "the revoked token could still be released"
[ "$(events crashed .detail | sort -u)" = '"destroyed outside sessiond"' ] ||
	fail "crash details: $(events crashed .detail | sort -u)"

# The order and the back-off: crash i's instance is start i's, and start
# i+1 comes at least 2^(i-1) s after crash i.
ev starting >"$T/starts"
ev crashed >"$T/crashes"
[ "$(wc -l <"$T/starts")" = 6 ] && [ "$(wc -l <"$T/crashes")" = 6 ] ||
	fail "expected 6 starts and 6 crashes: $(cat "$T/starts" "$T/crashes")"
i=1
while [ $i -le 5 ]; do
	set -- $(sed -n "${i}p" "$T/starts") $(sed -n "${i}p" "$T/crashes") $(sed -n "$((i + 1))p" "$T/starts")
	[ "$1" = "$3" ] || fail "crash $i is of instance $3, start $i of $1"
	backoff=$((1000 << (i - 1)))
	gap=$(($6 - $4))
	echo "restart $i: ${gap} ms after the crash (back-off ${backoff} ms)"
	[ $gap -ge $((backoff - 50)) ] || fail "restart $i came ${gap} ms after crash $i, before the ${backoff} ms back-off"
	[ $gap -le $((backoff + 60000)) ] || fail "restart $i came ${gap} ms after crash $i"
	i=$((i + 1))
done
[ "$(sed -n 6p "$T/starts" | cut -d' ' -f1)" = "$(sed -n 6p "$T/crashes" | cut -d' ' -f1)" ] ||
	fail "the 6th crash is not of the 6th instance"

kill "$HOLDER" 2>/dev/null
ctl reset cl >/dev/null || fail "reset cl"
ctl delete cl >/dev/null || fail "delete cl"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
