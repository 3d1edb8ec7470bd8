#!/bin/sh
# reload-sighup — SIGHUP re-reads sessiond.conf and puts in force what may
# change live: a limit (max_sessions_per_user: a non-root user's next
# create follows the new figure), a default of new sessions (memory_mib:
# a new session gets it, an existing one keeps its own), the log level
# (debug lines appear).  A key that takes a restart (workers) is named in
# the log as ignored; a key a command-line flag gives (uri, from --uri)
# stays the flag's and is not even mentioned.  A broken file (an unknown key after
# valid changes) is refused whole with a line naming the file and the
# line: the limit, the default and the log level stay what they were.
# SIGHUP never stops the daemon.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"
command -v jq >/dev/null 2>&1 || skip "needs jq"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
memory_of() { ctl status "$1" --owner "$(id -u nobody)" --json | jq -r .memory_mib; }
hup() {  # hup WHAT-THE-LOG-MUST-SAY-NEXT
	n=$(grep -c 'reload' "$DAEMON_LOG")
	kill -HUP "$DAEMON_PID"
	wait_until 10 sh -c "[ \$(grep -c 'reload' '$DAEMON_LOG') -gt $n ] && grep -q '$1' '$DAEMON_LOG'" ||
		fail "no '$1' in the log after SIGHUP"
	daemon_alive || fail "SIGHUP stopped the daemon"
}

printf 'max_sessions_per_user = 1\nlog_level = info\n' >"$T/sessiond.conf"
start_daemon
as_nobody "$SESSIONCTL" create a >/dev/null || fail "nobody: first create"
as_nobody "$SESSIONCTL" create b 2>"$T/err" && fail "nobody: a second create past max_sessions_per_user = 1"
grep -q "at most 1 sessions per user" "$T/err" || fail "the refusal said: $(cat "$T/err")"
[ "$(memory_of a)" = 512 ] || fail "a has $(memory_of a) MiB, not the built-in 512"
grep -q '^<7>' "$DAEMON_LOG" && fail "debug lines at log_level = info"

# A valid file: three live changes, one that takes a restart, one that a
# flag overrides.
cat >"$T/sessiond.conf" <<EOF
max_sessions_per_user = 3
memory_mib = 256
log_level = debug
workers = 3
uri = test:///elsewhere
EOF
hup "reload: $T/sessiond.conf: applied"
grep -q "applied max_sessions_per_user = 3 (was 1), log_level = debug (was info), memory_mib = 256 (was 512)" "$DAEMON_LOG" ||
	fail "the log does not name what was applied: $(grep reload "$DAEMON_LOG")"
grep -q "ignored until a restart: workers = 3 (was 4)$" "$DAEMON_LOG" ||
	fail "the log does not name workers (alone) as ignored: $(grep reload "$DAEMON_LOG")"
grep 'reload' "$DAEMON_LOG" | grep -q uri && fail "the reload mentions uri, which --uri gives"
as_nobody "$SESSIONCTL" create b >/dev/null || fail "nobody: create b under the new limit"
[ "$(memory_of b)" = 256 ] || fail "b has $(memory_of b) MiB, not the new default 256"
[ "$(memory_of a)" = 512 ] || fail "a changed to $(memory_of a) MiB"
wait_until 5 grep -q '^<7>' "$DAEMON_LOG" || fail "no debug line after log_level = debug"
[ "$(ctl info a --owner "$(id -u nobody)" --json | jq -r .driver)" = TEST ] || fail "the libvirt connection changed"
"$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' | jq -e '.result.uri == "test:///default"' >/dev/null ||
	fail "uri changed without a restart"

# A broken file: valid changes first, then an unknown key.  Nothing applies.
cat >"$T/sessiond.conf" <<EOF
max_sessions_per_user = 10
memory_mib = 1024
log_level = error
bogus_key = 1
EOF
hup "reload refused"
grep -q "reload refused: $T/sessiond.conf:4: unknown key 'bogus_key'; the configuration in force is unchanged" "$DAEMON_LOG" ||
	fail "the refusal does not name file and line: $(grep 'reload refused' "$DAEMON_LOG")"
as_nobody "$SESSIONCTL" create c >/dev/null || fail "nobody: third create (limit 3)"
as_nobody "$SESSIONCTL" create d 2>"$T/err" && fail "nobody: a fourth create: the refused file's limit 10 applied"
grep -q "at most 3 sessions per user" "$T/err" || fail "the refusal said: $(cat "$T/err")"
[ "$(memory_of c)" = 256 ] || fail "c has $(memory_of c) MiB: the refused file's default applied"
n=$(grep -c '^<7>' "$DAEMON_LOG")
ctl list >/dev/null
wait_until 5 sh -c "[ \$(grep -c '^<7>' '$DAEMON_LOG') -gt $n ]" || fail "debug lines stopped: the refused file's log level applied"

stop_daemon || fail "the daemon did not exit cleanly"
exit 0
