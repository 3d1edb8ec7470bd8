#!/bin/sh
# per-user-daemon-default-paths — sessiond run by a non-root user with no
# --socket, --state-dir or --config uses the defaults of sessiond(8): the
# socket $XDG_RUNTIME_DIR/sessiond/sessiond.sock, the state directory
# ~/.local/state/sessiond and the config ~/.config/sessiond/sessiond.conf;
# without XDG_RUNTIME_DIR the socket /tmp/sessiond-UID/sessiond.sock, and
# $XDG_STATE_HOME/sessiond and $XDG_CONFIG_HOME/sessiond/sessiond.conf when
# those are set.  sessionctl run by that user without SESSIOND_SOCKET or
# --socket finds the daemon each time; the config file is read (its grace
# is a new session's); the state file lands in the state directory, owned
# by the user, and is loaded again by the next daemon on the same paths;
# SIGTERM exits 0 and removes the socket.
#
# The user is a throwaway one (useradd, removed at exit), so its
# /tmp/sessiond-UID cannot be anyone else's.  The daemon runs under
# SESSIOND_WRAP too (valgrind writes its log as that user into lib.sh's
# world-writable $T/san), and lib.sh checks how each of its runs ended.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || fail "needs setpriv (util-linux)"
command -v useradd >/dev/null || fail "needs useradd (passwd)"

U=sdtest$$
UHOME="$T/home"
URUN="$T/run-user"
TMPSOCK=""

# At exit, once lib.sh has stopped (and checked) the daemon.
per_user_cleanup() {
	[ -n "$TMPSOCK" ] && rm -rf "$(dirname "$TMPSOCK")"
	if id "$U" >/dev/null 2>&1 && ! userdel "$U"; then
		echo "per-user-daemon-default-paths: could not remove the user $U"
	fi
	return 0
}
at_exit per_user_cleanup

# /etc/passwd may be locked by another useradd for a moment.
wait_until 30 useradd --system --no-create-home --user-group --shell /usr/sbin/nologin \
	--home-dir "$UHOME" "$U" || fail "useradd $U failed"
UID_U=$(id -u "$U")
TMPSOCK="/tmp/sessiond-$UID_U/sessiond.sock"
[ ! -e "$(dirname "$TMPSOCK")" ] || fail "$(dirname "$TMPSOCK") exists before the test; remove it"
install -d -o "$U" -g "$U" -m 0700 "$UHOME" "$URUN" "$T/xdg-state" "$T/xdg-config"

# The programs as copies the user may run: the tree may be under a
# directory only root may enter (a clone in mktemp -d).
for p in "$SESSIOND" "$SESSIONCTL"; do
	install -m 0755 "$p" "$T/${p##*/}" || fail "cannot copy $p"
done
SESSIOND="$T/sessiond" SESSIONCTL="$T/sessionctl"

# as_user ENV... CMD... — as the user, with only the given XDG variables.
AS_USER="setpriv --reuid=$U --regid=$U --clear-groups env -u XDG_RUNTIME_DIR -u XDG_STATE_HOME
	-u XDG_CONFIG_HOME -u SESSIOND_SOCKET HOME=$UHOME"
as_user() { $AS_USER "$@"; }
# conf FILE GRACE — a config file of the user's saying grace = GRACE.
conf() {
	as_user mkdir -p "$(dirname "$1")" || fail "mkdir for $1"
	echo "grace = $2" | as_user tee "$1" >/dev/null || fail "cannot write $1"
}
# daemon ENV... — the daemon as the user, on its defaults only.
daemon() {
	: >"$DAEMON_LOG"
	# Not through a function: $! must be the daemon (setpriv, env and
	# valgrind exec).
	$AS_USER "$@" ${SESSIOND_WRAP:-} "$SESSIOND" --foreground >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_daemon "$DAEMON_PID"
}
socket_up() { [ -S "$1" ] && daemon_alive; }
# ctl_as ENV... -- ARGS... — sessionctl as the user, finding the socket itself.
ctl_as() {
	envs=""
	while [ "$1" != -- ]; do envs="$envs $1"; shift; done
	shift
	as_user $envs "$SESSIONCTL" "$@"
}
# check_paths SOCKET STATE GRACE ENV... — a daemon on those defaults.
check_paths() {
	sock=$1 state=$2 grace=$3
	shift 3
	daemon "$@"
	wait_until "$DAEMON_START_BOUND" socket_up "$sock" || fail "no socket at $sock: $(tail -n 5 "$DAEMON_LOG")"
	grep -q "listening on $sock (state $state)" "$DAEMON_LOG" ||
		fail "the daemon does not say it listens on $sock with state $state: $(cat "$DAEMON_LOG")"
	[ "$(stat -c %U "$state/daemon-id")" = "$U" ] || fail "no daemon-id of $U in $state"
	ctl_as "$@" -- create "g$grace" >/dev/null || fail "sessionctl did not find $sock by itself"
	st=$(ctl_as "$@" -- status "g$grace" --json) || fail "status g$grace"
	[ "$(echo "$st" | jq -r .grace_s)" = "$grace" ] || fail "grace is not the config's $grace: $st"
	[ "$(echo "$st" | jq -r .owner_uid)" = "$UID_U" ] || fail "owner is not $UID_U: $st"
	f="$state/sessions/$(echo "$st" | jq -r .id).json"
	[ "$(stat -c %U "$f" 2>/dev/null)" = "$U" ] || fail "no state file $f of $U"
}
end_daemon() {
	stop_daemon || fail "the per-user daemon did not exit 0 on SIGTERM"
	[ ! -e "$1" ] || fail "the socket $1 is left after a clean exit"
}

# 1. XDG_RUNTIME_DIR set, the XDG state and config variables unset.
conf "$UHOME/.config/sessiond/sessiond.conf" 42
check_paths "$URUN/sessiond/sessiond.sock" "$UHOME/.local/state/sessiond" 42 XDG_RUNTIME_DIR="$URUN"
end_daemon "$URUN/sessiond/sessiond.sock"

# 2. No XDG_RUNTIME_DIR; XDG_STATE_HOME and XDG_CONFIG_HOME set.
conf "$T/xdg-config/sessiond/sessiond.conf" 43
check_paths "$TMPSOCK" "$T/xdg-state/sessiond" 43 XDG_STATE_HOME="$T/xdg-state" XDG_CONFIG_HOME="$T/xdg-config"
[ "$(ctl_as XDG_STATE_HOME="$T/xdg-state" -- list --json | jq -r '[.sessions[].name] | join(",")')" = g43 ] ||
	fail "the second daemon sees sessions of another state directory"
end_daemon "$TMPSOCK"

# 3. The first paths again: the session made there is loaded again.
daemon XDG_RUNTIME_DIR="$URUN"
wait_until "$DAEMON_START_BOUND" socket_up "$URUN/sessiond/sessiond.sock" || fail "no socket on the restart: $(tail -n 5 "$DAEMON_LOG")"
[ "$(ctl_as XDG_RUNTIME_DIR="$URUN" -- list --json | jq -r '[.sessions[].name] | join(",")')" = g42 ] ||
	fail "the restarted daemon did not load g42 from ~/.local/state/sessiond: $(ctl_as XDG_RUNTIME_DIR="$URUN" -- list)"
end_daemon "$URUN/sessiond/sessiond.sock"
exit 0
