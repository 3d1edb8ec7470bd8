#!/bin/sh
# reload-sessionctl — "sessionctl reload" (daemon.reload) does what SIGHUP
# does and answers with it: root's reload applies a new
# max_tokens_per_connection (a connection's next token past the old limit
# is granted) and prints what was applied and what waits for a restart
# (--json: the report); a user other than root is refused (exit 1,
# forbidden, -32002 by RPC) and changes nothing, even with a changed file
# waiting; a broken file is refused with exit 1 and a message naming the
# file and the line, and the limit stays.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"
command -v jq >/dev/null 2>&1 || skip "needs jq"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
acquire() { echo "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"token.acquire\",\"params\":{\"name\":\"s\",\"ttl_s\":60}}"; }
# granted N — of N token.acquire on one connection, how many are granted.
granted() {
	reqs=""
	for i in $(seq "$1"); do reqs="$reqs$(acquire "$i")
"; done
	printf '%s' "$reqs" | "$TOOLS/rpcpipe" -t 30 | jq -s '[.[] | select(.result)] | length'
}

echo "max_tokens_per_connection = 2" >"$T/sessiond.conf"
start_daemon
ctl create s --grace 1h >/dev/null || fail "create s"
[ "$(granted 3)" = 2 ] || fail "max_tokens_per_connection = 2 did not hold before the reload"

# Another user may not reload, even with a new file waiting.
printf 'max_tokens_per_connection = 3\nworkers = 2\n' >"$T/sessiond.conf"
as_nobody "$SESSIONCTL" reload >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "nobody: sessionctl reload exited $rc, not 1"
grep -q "forbidden: only root may reload sessiond" "$T/err" || fail "nobody was told: $(cat "$T/err")"
code=$(as_nobody "$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.reload"}' | jq -r .error.code)
[ "$code" = -32002 ] || fail "nobody: daemon.reload gave $code, not -32002"
[ "$(granted 3)" = 2 ] || fail "nobody's refused reload changed the limit"

# Root's reload: applied and ignored, as text and as JSON.
ctl reload >"$T/out" 2>"$T/err" || fail "root: sessionctl reload failed: $(cat "$T/err")"
grep -qx "reloaded $T/sessiond.conf" "$T/out" || fail "reload printed: $(cat "$T/out")"
grep -qx "  max_tokens_per_connection = 3 (was 2)" "$T/out" || fail "reload did not list the applied limit: $(cat "$T/out")"
grep -A1 -x "ignored until sessiond restarts:" "$T/out" | grep -qx "  workers = 2 (was 4)" ||
	fail "reload did not list workers as ignored: $(cat "$T/out")"
[ "$(granted 4)" = 3 ] || fail "the reloaded limit of 3 tokens is not in force"
ctl reload --json >"$T/out" || fail "reload --json"
jq -e '.applied == [] and .ignored == [{"key":"workers","old":4,"new":2}]' "$T/out" >/dev/null ||
	fail "a second reload reported: $(cat "$T/out")"

# A broken file: refused, the limit stays.
printf 'max_tokens_per_connection = 9\nmax_tokens_per_connection 4\n' >"$T/sessiond.conf"
ctl reload >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "a broken file: sessionctl reload exited $rc, not 1"
grep -q "$T/sessiond.conf:2: syntax error.*the configuration in force is unchanged" "$T/err" ||
	fail "a broken file: reload said: $(cat "$T/err")"
[ "$(granted 4)" = 3 ] || fail "the broken file's limit applied"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
