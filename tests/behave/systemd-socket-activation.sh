#!/bin/sh
# systemd-socket-activation — started the way sessiond.socket starts it:
# systemd-socket-activate listens on the control socket, and the first
# sessionctl call execs the daemon with that socket passed (LISTEN_FDS).
# The daemon serves on the passed socket (the same inode, never rebound or
# removed), the very first call is answered, requests carry the caller's
# credentials as on a socket of its own (a non-root user sees only its own
# sessions), and at SIGTERM the daemon exits cleanly and leaves the socket
# file to its owner.
. "$(dirname "$0")/lib.sh"

ino() { stat -c %i "$SESSIOND_SOCKET"; }
comm_of() { cat "/proc/$1/comm" 2>/dev/null; }

start_daemon_activated
chmod 666 "$SESSIOND_SOCKET"            # sessiond.socket: SocketMode=0666
before=$(ino)
# systemd-socket-activate, until a connection comes and it execs.
waiting=$(comm_of "$DAEMON_PID")
[ "$waiting" = systemd-socket- ] || fail "pid $DAEMON_PID is '$waiting' before anything connected"

# The first call starts the daemon and is itself answered.
out=$(ctl list --json) || fail "the first call through the passed socket failed: $out"
[ "$(echo "$out" | jq '.sessions | length')" = 0 ] || fail "first list: $out"
[ "$(comm_of "$DAEMON_PID")" != "$waiting" ] || fail "pid $DAEMON_PID did not exec the daemon"
grep -q "the socket systemd passed" "$DAEMON_LOG" || fail "the daemon does not say it serves the passed socket"
[ "$(ino)" = "$before" ] || fail "the socket was replaced (inode $before -> $(ino))"

# The socket serves as the daemon's own would: work, and peer credentials.
ctl create demo --grace 60s >/dev/null || fail "create through the passed socket"
ctl run demo -- true || fail "run through the passed socket"
state_is demo running || fail "demo is $(field demo .state) after run"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody "$SESSIONCTL" create mine >/dev/null || fail "nobody could not create through the passed socket"
	n=$(as_nobody "$SESSIONCTL" list --json | jq -r '[.sessions[].name] | join(",")')
	[ "$n" = mine ] || fail "nobody sees '$n' through the passed socket, not just its own session"
	[ "$(ctl list --json | jq '.sessions | length')" = 2 ] || fail "root does not see both sessions"
fi

# SIGTERM: a clean exit; the socket file is systemd's, not removed.
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
[ -S "$SESSIOND_SOCKET" ] || fail "the daemon removed the socket systemd owns"
[ "$(ino)" = "$before" ] || fail "the socket changed at exit"
exit 0
