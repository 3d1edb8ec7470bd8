#!/bin/sh
# journald-fields — with stderr connected to the journal (as systemd does
# for a service: a stream to journald, named by JOURNAL_STREAM) sessiond
# logs through journald's native protocol with fields, so that
# "journalctl SESSION=demo" tells one session's story:
#
#  - a real systemd-journald, private to this script: in a mount
#    namespace of its own, with tmpfs over /run/systemd, /run/log and
#    /var/log/journal (nothing of the host's journal is touched); the
#    daemon runs under systemd-cat (stdout and stderr a journal stream)
#    with JOURNAL_STREAM set to that stream's device and inode;
#  - SESSION=demo lists demo's lines only (another session's never):
#    created, the state changes stopped, starting, running, stopping,
#    stopped in order, each with MESSAGE_ID (the state change id), STATE
#    (the new state), SESSION_ID, OWNER_UID, PRIORITY 6; INSTANCE (the
#    instance the daemon reports) on running; REASON=requested on the
#    stop, REASON=deleted on the delete; no HOST (one host);
#  - a line about no session (the socket) has no SESSION field;
#  - without JOURNAL_STREAM, and with one that names another file, the
#    daemon writes plain lines to stderr and sends nothing to journald.
#
# "journalctl -u sessiond" needs systemd as PID 1 to attach the unit;
# here the entries are selected by the daemon's _PID instead.
if [ -z "${SESSIOND_MOUNT_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare --mount true 2>/dev/null; then
	SESSIOND_MOUNT_NS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

[ "${SESSIOND_MOUNT_NS:-}" = 1 ] || skip "needs root and unshare --mount (a private journald)"
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || skip "needs $JOURNALD (systemd)"
for c in journalctl systemd-cat jq; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done

# ---- a journald of our own -------------------------------------------------
for d in /run/systemd /run/log /var/log/journal; do
	mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || fail "cannot mount a tmpfs over $d"
done
"$JOURNALD" >"$T/journald.log" 2>&1 &
JOURNALD_PID=$!
at_cleanup 'kill -TERM "$JOURNALD_PID" 2>/dev/null; wait "$JOURNALD_PID" 2>/dev/null'
wait_until 10 test -S /run/systemd/journal/socket || fail "journald did not start: $(cat "$T/journald.log")"
wait_until 10 test -S /run/systemd/journal/stdout || fail "journald has no stream socket"

# entries PID [MATCH...] — the daemon's journal entries, one JSON object per line.
entries() { p=$1; shift; journalctl --no-pager -o json _PID="$p" "$@" 2>/dev/null; }

# ---- the daemon under systemd-cat, JOURNAL_STREAM set ----------------------
systemd-cat -t sessiond sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) &&
	export JOURNAL_STREAM && exec "$@"' sh \
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$SESSIOND_SOCKET" --state-dir "$T/state" \
	--uri "${SESSIOND_URI:-test:///default}" --config "$T/sessiond.conf" &
DAEMON_PID=$!
track_daemon "$DAEMON_PID"
wait_until 30 "$SESSIONCTL" list || fail "sessiond did not come up under systemd-cat"

ctl create demo --grace 1h >/dev/null || fail "create demo"
ctl create other --grace 1h >/dev/null || fail "create other"
ctl start other >/dev/null || fail "start other"
ctl start demo >/dev/null || fail "start demo"
inst=$(field demo .instance.id)
id=$(field demo .id)
ctl stop demo >/dev/null || fail "stop demo"
ctl delete demo >/dev/null || fail "delete demo"
has_deleted() { entries "$DAEMON_PID" SESSION=demo | jq -e 'select(.MESSAGE | endswith("deleted"))' >/dev/null; }
wait_until 10 has_deleted || fail "demo's delete never reached the journal: $(entries "$DAEMON_PID" | jq -r .MESSAGE)"
entries "$DAEMON_PID" SESSION=demo >"$T/demo.json"

# Only demo's lines, each with the session's fields.
[ "$(jq -s 'length' "$T/demo.json")" -ge 7 ] || fail "too few lines for demo: $(jq -r .MESSAGE "$T/demo.json")"
jq -e -s --arg id "$id" 'all(.[]; .SESSION == "demo" and .SESSION_ID == $id and .OWNER_UID == "0"
	and .SYSLOG_IDENTIFIER == "sessiond" and (.MESSAGE | startswith("session 0/demo: "))
	and .HOST == null)' "$T/demo.json" >/dev/null ||
	fail "a line of demo without its fields: $(jq -c '{MESSAGE, SESSION, SESSION_ID, OWNER_UID, HOST}' "$T/demo.json")"
jq -e -s 'any(.[]; .MESSAGE | startswith("session 0/demo: created"))' "$T/demo.json" >/dev/null ||
	fail "no 'created' line for demo"

# The state changes, in order, with their id and fields.
states=$(jq -r --arg m 7dcfa187ae9e4cc4952ae1f9a62a3840 'select(.MESSAGE_ID == $m) | .STATE' "$T/demo.json" | paste -sd,)
[ "$states" = stopped,starting,running,stopping,stopped ] || fail "demo's state changes: $states"
jq -e -s --arg i "$inst" 'any(.[]; .STATE == "running" and .MESSAGE_ID != null and .INSTANCE == $i
	and .PRIORITY == "6")' "$T/demo.json" >/dev/null || fail "no running change with INSTANCE=$inst"
jq -e -s 'any(.[]; .STATE == "stopping" and .MESSAGE_ID != null and .REASON == "requested")' \
	"$T/demo.json" >/dev/null || fail "the stop has no REASON=requested"
jq -e -s 'any(.[]; (.MESSAGE | endswith("deleted")) and .REASON == "deleted")' "$T/demo.json" >/dev/null ||
	fail "the delete has no REASON=deleted"

# The other session's lines are its own; a daemon line has no session.
[ "$(entries "$DAEMON_PID" SESSION=other | jq -s 'length')" -ge 3 ] || fail "no lines for other"
entries "$DAEMON_PID" SESSION=other | jq -e -s 'all(.[]; .SESSION == "other")' >/dev/null ||
	fail "SESSION=other lists lines of another session"
entries "$DAEMON_PID" | jq -e -s 'any(.[]; (.MESSAGE | contains("listening on")) and .SESSION == null
	and ._TRANSPORT == "journal")' >/dev/null || fail "the daemon's own line is missing or has a SESSION"
stop_daemon || fail "the daemon did not exit cleanly"

# ---- plain lines without JOURNAL_STREAM, or with one for another file --------
for how in unset other-file; do
	: >"$T/plain.log"
	: >"$T/elsewhere"
	case $how in
	unset) js="" ;;
	other-file) js=$(stat -c %d:%i "$T/elsewhere") ;;
	esac
	env ${js:+JOURNAL_STREAM=$js} ${SESSIOND_WRAP:-} "$SESSIOND" --foreground \
		--socket "$SESSIOND_SOCKET" --state-dir "$T/state" --uri "${SESSIOND_URI:-test:///default}" \
		--config "$T/sessiond.conf" >>"$T/plain.log" 2>&1 &
	DAEMON_PID=$!
	track_daemon "$DAEMON_PID"
	wait_until 30 "$SESSIONCTL" list || fail "$how: sessiond did not come up"
	ctl start other >/dev/null || fail "$how: start other"
	grep -q '^<6>session 0/other: stopped -> starting' "$T/plain.log" ||
		fail "$how: no plain line on stderr: $(cat "$T/plain.log")"
	[ "$(entries "$DAEMON_PID" | jq -s 'length')" = 0 ] || fail "$how: the daemon sent lines to journald"
	stop_daemon || fail "$how: the daemon did not exit cleanly"
done
exit 0
