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
	stop_daemon_b >/dev/null 2>&1
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

# start_daemon_b STATE [flags...] — a second daemon beside the first, on
# socket $T/b.sock with state directory STATE; ctl_b talks to it.
DAEMON_B_PID=""
start_daemon_b() {
	b_state=$1
	shift
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$T/b.sock" --state-dir "$b_state" \
		--uri "${SESSIOND_URI:-test:///default}" --config "$T/sessiond.conf" "$@" \
		>>"$T/daemon-b.log" 2>&1 &
	DAEMON_B_PID=$!
	wait_until 30 ctl_b list || fail "the second sessiond did not come up: $(tail -n 5 "$T/daemon-b.log")"
}

stop_daemon_b() {
	[ -n "$DAEMON_B_PID" ] || return 0
	kill -TERM "$DAEMON_B_PID" 2>/dev/null
	wait "$DAEMON_B_PID"
	rc=$?
	DAEMON_B_PID=""
	return $rc
}

ctl_b() { SESSIOND_SOCKET="$T/b.sock" "$SESSIONCTL" "$@"; }
field_b() { (SESSIOND_SOCKET="$T/b.sock" && export SESSIOND_SOCKET && field "$@"); }

# start_refused STATE LOG — a daemon that must refuse to start: waits
# (bounded) until it exits or serves its socket ($T/refused.sock); fails
# if it serves.  Sets REFUSED_RC to its exit status; its log is in LOG.
start_refused() {
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$T/refused.sock" --state-dir "$1" \
		--uri "${SESSIOND_URI:-test:///default}" --config "$T/sessiond.conf" >"$2" 2>&1 &
	r_pid=$!
	wait_until 60 refused_settled "$r_pid" || fail "sessiond neither exited nor served in 60 s"
	if kill -0 "$r_pid" 2>/dev/null; then
		kill -TERM "$r_pid"
		wait "$r_pid"
		fail "sessiond started where it must refuse: $(cat "$2")"
	fi
	wait "$r_pid"
	REFUSED_RC=$?
	[ ! -e "$T/refused.sock" ] || fail "the refusing sessiond made its socket"
}
refused_settled() { ! kill -0 "$1" 2>/dev/null || [ -S "$T/refused.sock" ]; }

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

# ---- storage pools, as libvirt has them (through the caller's vsh) ------

# daemon_pool SOCKET — the pool the daemon on SOCKET names in daemon.info.
daemon_pool() {
	SESSIOND_SOCKET=$1 "$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' |
		jq -r .result.pool
}

# pool_target POOL — the directory POOL is over; empty without such a pool.
pool_target() { vsh pool-dumpxml "$1" 2>/dev/null | sed -n 's|.*<path>\(.*\)</path>.*|\1|p'; }
pool_known() { vsh pool-info "$1" >/dev/null 2>&1; }

# vols_in_dir POOL DIR MIN — every volume of POOL is a file in DIR, and
# there are at least MIN of them.
vols_in_dir() {
	n=0
	for p in $(vsh vol-list "$1" | awk '{print $2}'); do
		case "$p" in
		"$2"/*) n=$((n + 1)) ;;
		*) fail "volume $p of pool $1 is not in $2" ;;
		esac
	done
	[ "$n" -ge "$3" ] || fail "pool $1 has $n volume(s) in $2, expected at least $3"
}

# id_pool STATE — the pool name of the daemon id in STATE: sd-<8 hex>.
id_pool() { echo "sd-$(cut -c1-8 "$1/daemon-id")"; }

# new_state DIR — a state directory whose daemon id exists before the
# daemon's first start; prints the pool name that id gives.
new_state() {
	mkdir -p "$1"
	cat /proc/sys/kernel/random/uuid >"$1/daemon-id"
	id_pool "$1"
}

# An empty config file so a user's own sessiond.conf never leaks in.
: > "$T/sessiond.conf"

# ---- metrics (sessiond(8), METRICS) -----------------------------------------

# metrics_url — the daemon's metrics URL, as its log names it once serving
# ("metrics: serving http://127.0.0.1:PORT/metrics"); empty before.
metrics_url() { sed -n 's|.*metrics: serving \(http://[^ ]*/metrics\)$|\1|p' "$DAEMON_LOG" | tail -n 1; }
metrics_served() { [ -n "$(metrics_url)" ]; }

# scrape FILE [CURL ARGS...] — one scrape into FILE (default: the URL the
# log names); fails the script when nothing answers with 200.
scrape() {
	out=$1
	shift
	[ $# -gt 0 ] || set -- "$(metrics_url)"
	curl -sSf --max-time 10 "$@" >"$out" 2>"$out.err" || fail "scrape $*: $(cat "$out.err")"
}

# sample FILE SAMPLE — a sample's value in a scrape, SAMPLE written as the
# scrape writes it (name{label="value",...}); empty when it is absent.
sample() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# expect_metric FILE SAMPLE TEST N — fails unless the value passes
# [ value TEST N ] (-eq, -ge, -gt...; integers).
expect_metric() {
	v=$(sample "$1" "$2")
	[ -n "$v" ] || fail "no sample $2 in $1"
	v=$(echo "$v" | awk '{ printf "%.0f", $1 }')
	[ "$v" "$3" "$4" ] || fail "$2 is $v in $1, expected $3 $4"
}

# expect_moved BEFORE AFTER SAMPLE TEST N — fails unless SAMPLE grew from
# one scrape to the next by [ growth TEST N ].
expect_moved() {
	b=$(sample "$1" "$3")
	a=$(sample "$2" "$3")
	[ -n "$a" ] && [ -n "$b" ] || fail "no sample $3 in $1 or $2"
	d=$(echo "$a $b" | awk '{ printf "%.0f", $1 - $2 }')
	[ "$d" "$4" "$5" ] || fail "$3 moved by $d (from $b to $a), expected $4 $5"
}

# promtool_clean FILE — promtool's lint finds nothing in a scrape.
promtool_clean() {
	command -v promtool >/dev/null 2>&1 || fail "needs promtool (Debian package prometheus; scripts/deps.sh check)"
	promtool check metrics <"$1" >"$1.lint" 2>&1 || fail "promtool check metrics: $(cat "$1.lint")"
}
