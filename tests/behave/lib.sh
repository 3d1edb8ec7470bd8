# lib.sh — shared by the behaviour scripts (one behaviour per script).
#
# Each script runs a real sessiond on a private socket and state directory
# under a temporary directory, drives it with sessionctl (or tests/tools
# programs for raw frames), and exits 0 (pass), 1 (fail) or 77 (skip, with
# the reason on stdout).  Waiting is always for a condition with a bound
# (wait_until), never a bare sleep.
#
# Environment (set by tests/behave/run.sh):
#   BUILD      the build directory (binaries in $BUILD, tools in $BUILD/tests/tools)
#   SESSIOND_WRAP  optional command prefix for the daemon (valgrind)
set -u

: "${BUILD:=build}"
case "$BUILD" in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
SESSIOND="$BUILD/sessiond"
SESSIONCTL="$BUILD/sessionctl"
TOOLS="$BUILD/tests/tools"
T=$(mktemp -d /tmp/sessiond-behave.XXXXXX)
chmod 755 "$T"
export SESSIOND_SOCKET="$T/sock"
DAEMON_PID=""
DAEMON_LOG="$T/daemon.log"

cleanup() {
	stop_daemon >/dev/null 2>&1
	stop_private_libvirtd
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$DAEMON_LOG" ]; then
		echo "--- daemon log (last 40 lines) ---"
		tail -n 40 "$DAEMON_LOG"
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# wait_until SECONDS CMD... — polls CMD every 50 ms; fails after SECONDS.
wait_until() {
	limit=$1
	shift
	end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -lt $end ] || return 1
		sleep 0.05
	done
	return 0
}

# start_daemon [extra sessiond flags...] — foreground daemon, waits for the socket.
start_daemon() {
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$SESSIOND_SOCKET" \
		--state-dir "$T/state" --uri "${SESSIOND_URI:-test:///default}" \
		--config "$T/sessiond.conf" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	wait_until 30 "$SESSIONCTL" list || fail "sessiond did not come up"
}

# stop_daemon — SIGTERM and wait; returns the daemon's exit status.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=""
	return $rc
}

# kill9_daemon — SIGKILL, as a crash would.
kill9_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=""
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null
}

ctl() { "$SESSIONCTL" "$@"; }

# field NAME JQ-EXPR — one field of session.get as text.
field() { "$SESSIONCTL" status "$1" --json | jq -r "$2"; }

state_is() { [ "$(field "$1" .state)" = "$2" ]; }

# private_libvirtd — a libvirtd of this script's own, for what the
# embedded test:///default cannot show (its state ends with the daemon's
# process; this one's pools and domains outlive a daemon, and virsh sees
# them): the test driver only (LIBVIRT_DRIVER_DIR is an empty directory),
# socket and pid file under $T, nothing in /run touched.  The test driver
# resets itself when its last connection closes, so one virsh stays
# connected until cleanup (its answer to "uri" shows that it is).  Sets
# PRIVATE_URI; cleanup stops both.  Skips without libvirtd or virsh.
PRIVATE_LIBVIRTD_PID="" PRIVATE_HOLDER_PID=""
private_libvirtd() {
	lvd=$(command -v libvirtd || echo /usr/sbin/libvirtd)
	[ -x "$lvd" ] || skip "needs libvirtd (libvirt-daemon)"
	command -v virsh >/dev/null 2>&1 || skip "needs virsh (libvirt-clients)"
	mkdir -p "$T/libvirtd/drivers" "$T/libvirtd/sock"
	cat >"$T/libvirtd/libvirtd.conf" <<-EOF
	unix_sock_dir = "$T/libvirtd/sock"
	listen_tls = 0
	listen_tcp = 0
	EOF
	LIBVIRT_DRIVER_DIR="$T/libvirtd/drivers" HOME="$T/libvirtd" XDG_RUNTIME_DIR="$T/libvirtd" \
		"$lvd" --config "$T/libvirtd/libvirtd.conf" --pid-file "$T/libvirtd/pid" \
		>"$T/libvirtd/log" 2>&1 &
	PRIVATE_LIBVIRTD_PID=$!
	PRIVATE_URI="test+unix:///default?socket=$T/libvirtd/sock/libvirt-sock"
	wait_until 30 virsh -c "$PRIVATE_URI" uri ||
		fail "the private libvirtd does not answer: $(tail -n 5 "$T/libvirtd/log")"
	mkfifo "$T/libvirtd/holder.in"
	virsh -c "$PRIVATE_URI" <"$T/libvirtd/holder.in" >"$T/libvirtd/holder.out" 2>&1 &
	PRIVATE_HOLDER_PID=$!
	exec 9>"$T/libvirtd/holder.in"
	echo uri >&9
	wait_until 30 grep -q '^test+unix' "$T/libvirtd/holder.out" ||
		fail "virsh did not connect to the private libvirtd: $(cat "$T/libvirtd/holder.out")"
}

stop_private_libvirtd() {
	if [ -n "$PRIVATE_HOLDER_PID" ]; then
		kill -TERM "$PRIVATE_HOLDER_PID" 2>/dev/null
		wait "$PRIVATE_HOLDER_PID" 2>/dev/null
		exec 9>&-
		PRIVATE_HOLDER_PID=""
	fi
	[ -n "$PRIVATE_LIBVIRTD_PID" ] || return 0
	kill -TERM "$PRIVATE_LIBVIRTD_PID" 2>/dev/null
	wait "$PRIVATE_LIBVIRTD_PID" 2>/dev/null
	PRIVATE_LIBVIRTD_PID=""
}

# An empty config file so a user's own sessiond.conf never leaks in.
: > "$T/sessiond.conf"
