# lib.sh — shared by the behaviour scripts (one behaviour per script).
#
# Each script runs a real sessiond on a private socket and state directory
# under a temporary directory, drives it with sessionctl (or tests/tools
# programs for raw frames), and exits 0 (pass), 1 (fail) or 77 (skip, with
# the reason on stdout).  Waiting is always for a condition with a bound
# (wait_until), never a bare sleep.
#
# How every daemon ends is checked here, in the EXIT path, so that no
# script can forget it (see "Daemons" below): each daemon a script started
# must have exited as planned (0 after SIGTERM, sessiond(8) EXIT STATUS;
# 137 after kill -9), and no process of the script may have written a
# sanitizer or valgrind report.  Any of that fails the script, however it
# ended, and the report is printed.  A script needing more at exit
# registers a function with at_exit; it never sets an EXIT trap itself.
#
# Environment (set by tests/behave/run.sh):
#   BUILD      the build directory (binaries in $BUILD, tools in $BUILD/tests/tools)
#   SESSIOND_WRAP  optional command prefix for the daemon (valgrind: its
#              --log-file must be %q{SESSIOND_SANLOG}/vg.%p.log, as
#              tests/valgrind-check.sh sets it, so each script sees its own)
#   BEHAVE_REPORT  optional file: the end checks add one line there (one
#              per run of lib.sh: a script may run itself more than once);
#              run.sh requires it, so a script whose checks did not run fails
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

# Sanitizer reports of every process the script starts (daemon, sessionctl,
# tools: all are instrumented in a sanitizer build) go to files in $SANLOG
# rather than to a stderr nobody reads; valgrind's too (SESSIOND_WRAP).
# World-writable: tools also run as uid nobody.
SANLOG="$T/san"
mkdir -m 1777 "$SANLOG"
export SESSIOND_SANLOG="$SANLOG"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANLOG/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANLOG/ubsan:print_stacktrace=1"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$SANLOG/tsan"

AT_EXIT="" BEFORE_STOP="" CLEANUP_CMDS=""
# at_exit FUNCTION — runs FUNCTION at exit, after the daemons are stopped
# and before the end checks and the removal of $T.  before_stop FUNCTION
# runs it before the daemons are stopped (a frozen libvirtd must be thawed
# first, or a daemon's exit waits on it).  Neither may call fail (an exit
# there would skip the end checks).
at_exit() { AT_EXIT="$AT_EXIT $1"; }
before_stop() { BEFORE_STOP="$BEFORE_STOP $1"; }
# at_cleanup CMD — a script's own cleanup (a shell command line), run at
# exit before the daemons stop.
at_cleanup() {
	CLEANUP_CMDS="$CLEANUP_CMDS
$1"
}

cleanup() {
	_rc=$?
	trap - EXIT
	eval "$CLEANUP_CMDS"
	for _f in $BEFORE_STOP; do "$_f"; done
	for _p in $DAEMONS_LIVE; do stop_daemon "$_p" >/dev/null 2>&1; done
	for _f in $AT_EXIT; do "$_f"; done
	if ! end_checks >"$T/end-checks" 2>&1; then
		cat "$T/end-checks"
		show_daemon_log
		[ "$_rc" != 0 ] && [ "$_rc" != 77 ] || _rc=1
	fi
	[ -z "${BEHAVE_REPORT:-}" ] || end_summary >>"$BEHAVE_REPORT"
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
	exit "$_rc"
}
trap cleanup EXIT
# A timeout or ^C ends the script through the EXIT path too.
trap 'fail "terminated by SIGTERM (a timeout?)"' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

LOG_SHOWN=0
show_daemon_log() {
	[ $LOG_SHOWN = 0 ] || return 0
	LOG_SHOWN=1
	if [ -f "$DAEMON_LOG" ]; then
		echo "--- daemon log (last 40 lines) ---"
		tail -n 40 "$DAEMON_LOG"
	fi
}

fail() {
	echo "FAIL: $*"
	show_daemon_log
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# CLIENT_DEADLINE — the -t of a background client that must outlive the
# script's work (a watcher, a holder): run.sh's bound on the whole script.
# A shorter one is a timing assumption a loaded machine breaks (and a
# watcher gone at its deadline makes "the connection ended" true for
# nothing).  The daemon's exit ends such a client anyway.
CLIENT_DEADLINE=${BEHAVE_TIMEOUT:-900}

# wait_until SECONDS CMD... — polls CMD every 50 ms; fails after SECONDS.
wait_until() {
	_wu_end=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -lt $_wu_end ] || return 1
		sleep 0.05
	done
	return 0
}

# exited PID — the process is gone or a zombie (a zombie still answers kill -0).
exited() {
	! kill -0 "$1" 2>/dev/null || [ "$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# ---- Daemons --------------------------------------------------------------
#
# start_daemon starts one (several may run at once: DAEMON_PID is the
# latest; start_daemon_b starts a second on its own socket, start_refused
# one that must refuse to start, and track_daemon registers one a script
# started its own way).  Each ends through one of:
#   stop_daemon [PID]            SIGTERM; must exit 0
#   kill9_daemon [PID]           SIGKILL; must die of it (status 137)
#   reap_daemon STATUS [PID]     waits for an exit the script caused some
#                                other way; must be STATUS
# Each returns 0 if the daemon ended as it must (else its exit status, or
# 1 for a status of 0), sets DAEMON_STATUS, and records the outcome in
# $T/daemons; the EXIT path stops every daemon still running and fails the
# script for any outcome that was not as planned.
# A daemon gets DAEMON_START_BOUND seconds to answer, and DAEMON_EXIT_BOUND
# to exit, then is killed and counted as failed: hang guards, generous
# (valgrind on a loaded machine takes over 30 s to start the daemon).
DAEMON_START_BOUND=${DAEMON_START_BOUND:-120}
DAEMON_EXIT_BOUND=${DAEMON_EXIT_BOUND:-120}
DAEMON_STATUS=""
DAEMONS_LIVE=""
DAEMONS_STARTED=""

# start_daemon [extra sessiond flags...] — foreground daemon, waits for the
# socket.  On SESSIOND_URI (default test:///default); SESSIOND_URI set and
# empty: no --uri flag, the hosts of $T/sessiond.conf (lib-libvirtd.sh).
start_daemon() {
	uri_flag="--uri=${SESSIOND_URI:-test:///default}"
	[ -n "${SESSIOND_URI-x}" ] || uri_flag=""
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$SESSIOND_SOCKET" \
		--state-dir "$T/state" $uri_flag \
		--config "$T/sessiond.conf" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_daemon "$DAEMON_PID"
	wait_until "$DAEMON_START_BOUND" daemon_up || fail "sessiond did not come up within $DAEMON_START_BOUND s"
	exited "$DAEMON_PID" && fail "sessiond exited as it started"
	return 0
}

# track_daemon PID — a daemon the script started itself (as another user,
# say): its end is checked like any other's.
track_daemon() {
	DAEMONS_LIVE="$DAEMONS_LIVE $1"
	DAEMONS_STARTED="$DAEMONS_STARTED $1"
}

# daemon_up — it answers, or it is gone (no use waiting any longer).
daemon_up() { "$SESSIONCTL" list >/dev/null 2>&1 || exited "$DAEMON_PID"; }

reap_daemon() {
	_rd_want=$1
	_rd_pid=${2:-$DAEMON_PID}
	[ -n "$_rd_pid" ] || return 0
	_rd_how=""
	if ! wait_until "$DAEMON_EXIT_BOUND" exited "$_rd_pid"; then
		_rd_how="still running $DAEMON_EXIT_BOUND s later, killed"
		kill -KILL "$_rd_pid" 2>/dev/null
	fi
	wait "$_rd_pid"
	DAEMON_STATUS=$?
	echo "$_rd_pid $_rd_want $DAEMON_STATUS $_rd_how" >>"$T/daemons"
	DAEMONS_LIVE=$(echo " $DAEMONS_LIVE " | sed "s/ $_rd_pid / /")
	[ "$_rd_pid" != "$DAEMON_PID" ] || DAEMON_PID=""
	[ "$_rd_pid" != "$DAEMON_B_PID" ] || DAEMON_B_PID=""
	[ -z "$_rd_how" ] && [ "$DAEMON_STATUS" = "$_rd_want" ] && return 0
	[ "$DAEMON_STATUS" = 0 ] && return 1
	return "$DAEMON_STATUS"
}

# start_daemon_activated [-E VAR=VALUE]... — sessiond as a socket unit
# starts it: systemd-socket-activate listens on $SESSIOND_SOCKET and, at
# the first connection, execs the daemon in its own process (DAEMON_PID)
# with that socket passed (LISTEN_FDS).  -E sets the daemon's environment
# (systemd-socket-activate passes little else).  Nothing connects here.
start_daemon_activated() {
	command -v systemd-socket-activate >/dev/null 2>&1 ||
		fail "needs systemd-socket-activate (systemd; scripts/deps.sh check)"
	# A wrapper (valgrind) names its log after SESSIOND_SANLOG: pass it on.
	systemd-socket-activate -l "$SESSIOND_SOCKET" ${SESSIOND_WRAP:+-E SESSIOND_SANLOG} "$@" \
		${SESSIOND_WRAP:-} "$SESSIOND" \
		--foreground --socket "$SESSIOND_SOCKET" --state-dir "$T/state" \
		--uri "${SESSIOND_URI:-test:///default}" --config "$T/sessiond.conf" \
		>>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	track_daemon "$DAEMON_PID"
	wait_until 10 test -S "$SESSIOND_SOCKET" || fail "systemd-socket-activate does not listen"
}

# notify_listen — systemd's end of NOTIFY_SOCKET, at $T/notify: every
# line the daemon sends lands in $T/notify.out as "MS PID FIELD=VALUE"
# (tests/tools/notifylisten.c).
NOTIFY_PID=""
notify_listen() {
	"$TOOLS/notifylisten" listen "$T/notify" 300 >"$T/notify.out" 2>&1 &
	NOTIFY_PID=$!
	at_exit stop_notify_listener
	wait_until 5 test -S "$T/notify" || fail "notifylisten did not bind $T/notify"
}
stop_notify_listener() {
	[ -n "$NOTIFY_PID" ] || return 0
	kill -TERM "$NOTIFY_PID" 2>/dev/null
	wait "$NOTIFY_PID" 2>/dev/null
	NOTIFY_PID=""
}
# notified REGEX — a notification line's FIELD=VALUE matches (grep -E).
notified() { cut -d' ' -f3- "$T/notify.out" | grep -Eq "$1"; }
# notify_count REGEX — how many do.
notify_count() { cut -d' ' -f3- "$T/notify.out" | grep -Ec "$1"; }
# notify_mark TEXT — the script's own line among the daemon's.
notify_mark() { "$TOOLS/notifylisten" send "$T/notify" "MARK=$1" || fail "cannot send to $T/notify"; }
# notify_line REGEX — the line number of the first line matching (0: none).
notify_line() {
	n=$(cut -d' ' -f3- "$T/notify.out" | grep -Enm1 "$1" | cut -d: -f1)
	echo "${n:-0}"
}

# stop_daemon — SIGTERM and wait; returns the daemon's exit status.
stop_daemon() {
	_sd_pid=${1:-$DAEMON_PID}
	[ -n "$_sd_pid" ] || return 0
	kill -TERM "$_sd_pid" 2>/dev/null
	reap_daemon 0 "$_sd_pid"
}

kill9_daemon() {
	_kd_pid=${1:-$DAEMON_PID}
	[ -n "$_kd_pid" ] || return 0
	kill -KILL "$_kd_pid" 2>/dev/null
	reap_daemon 137 "$_kd_pid"
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
	track_daemon "$DAEMON_B_PID"
	wait_until "$DAEMON_START_BOUND" daemon_b_up ||
		fail "the second sessiond did not come up: $(tail -n 5 "$T/daemon-b.log")"
	exited "$DAEMON_B_PID" && fail "the second sessiond exited as it started: $(tail -n 5 "$T/daemon-b.log")"
	return 0
}
daemon_b_up() { ctl_b list >/dev/null 2>&1 || exited "$DAEMON_B_PID"; }

# stop_daemon_b — SIGTERM; must exit 0 (see stop_daemon).
stop_daemon_b() { stop_daemon "$DAEMON_B_PID"; }

ctl_b() { SESSIOND_SOCKET="$T/b.sock" "$SESSIONCTL" "$@"; }
field_b() { (SESSIOND_SOCKET="$T/b.sock" && export SESSIOND_SOCKET && field "$@"); }

# start_refused STATE LOG — a daemon that must refuse to start: waits
# (bounded) until it exits or serves its socket ($T/refused.sock); fails
# if it serves.  Sets REFUSED_RC to its exit status; its log is in LOG.
# Its end is recorded as a planned one with the status it had (the caller
# checks that status against sessiond(8)); a daemon that serves instead is
# stopped and must exit 0 like any other.
start_refused() {
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$T/refused.sock" --state-dir "$1" \
		--uri "${SESSIOND_URI:-test:///default}" --config "$T/sessiond.conf" >"$2" 2>&1 &
	r_pid=$!
	track_daemon "$r_pid"
	wait_until "$DAEMON_START_BOUND" refused_settled "$r_pid" ||
		fail "sessiond neither exited nor served in $DAEMON_START_BOUND s"
	if ! exited "$r_pid"; then
		stop_daemon "$r_pid"
		fail "sessiond started where it must refuse: $(cat "$2")"
	fi
	wait "$r_pid"
	REFUSED_RC=$?
	echo "$r_pid $REFUSED_RC $REFUSED_RC" >>"$T/daemons"
	DAEMONS_LIVE=$(echo " $DAEMONS_LIVE " | sed "s/ $r_pid / /")
	[ ! -e "$T/refused.sock" ] || fail "the refusing sessiond made its socket"
}
refused_settled() { exited "$1" || [ -S "$T/refused.sock" ]; }

# status_meaning STATUS — words for an exit status, as the shell reports it.
status_meaning() {
	case $1 in
	0) echo "clean exit" ;;
	1) echo "fatal error (or a sanitizer's error exit)" ;;
	2) echo "usage or configuration error" ;;
	23) echo "LeakSanitizer found leaks" ;;
	99) echo "valgrind found errors" ;;
	127) echo "not a child of this shell" ;;
	137) echo "killed by SIGKILL" ;;
	13[0-9] | 1[4-9][0-9]) echo "killed by signal $(($1 - 128))" ;;
	*) echo "exit status $1" ;;
	esac
}

# is_report FILE — a sanitizer log, or a valgrind log with anything but
# the warnings valgrind prints for a clean program.
is_report() {
	case "$1" in
	*/vg.*.log) grep -v -E '^==[0-9]+== +Warning: (set address range perms|noted but unhandled ioctl|client switching stacks)' \
			"$1" | grep -q . ;;
	*) [ -s "$1" ] ;;
	esac
}

# end_checks — every daemon ended as planned, no report anywhere; prints
# what is wrong and returns 1.
end_checks() {
	_ec_bad=0
	if [ -f "$T/daemons" ]; then
		while read -r _ec_pid _ec_want _ec_got _ec_how; do
			[ "$_ec_got" = "$_ec_want" ] && [ -z "$_ec_how" ] && continue
			echo "FAIL: daemon $_ec_pid ended with status $_ec_got ($(status_meaning "$_ec_got")${_ec_how:+, $_ec_how}), expected $_ec_want ($(status_meaning "$_ec_want"))"
			_ec_bad=1
		done <"$T/daemons"
	fi
	for _ec_f in "$SANLOG"/*; do
		[ -f "$_ec_f" ] && is_report "$_ec_f" || continue
		echo "FAIL: report in $(basename "$_ec_f"):"
		sed 's/^/    /' "$_ec_f" | head -n 400
		_ec_bad=1
	done
	case "${SESSIOND_WRAP:-}" in
	*valgrind*)
		for _ec_pid in $DAEMONS_STARTED; do
			[ -f "$SANLOG/vg.$_ec_pid.log" ] && continue
			echo "FAIL: no valgrind log for daemon $_ec_pid (SESSIOND_WRAP without --log-file=%q{SESSIOND_SANLOG}/vg.%p.log?)"
			_ec_bad=1
		done ;;
	esac
	return $_ec_bad
}

# end_summary — one line for run.sh: how the daemons ended.
end_summary() {
	_es_n=0 _es_term=0 _es_kill=0 _es_other=0
	if [ -f "$T/daemons" ]; then
		while read -r _es_pid _es_want _es_got _es_how; do
			_es_n=$((_es_n + 1))
			case $_es_want in
			0) _es_term=$((_es_term + 1)) ;;
			137) _es_kill=$((_es_kill + 1)) ;;
			*) _es_other=$((_es_other + 1)) ;;
			esac
		done <"$T/daemons"
	fi
	_es_line="daemons checked: $_es_n ($_es_term exit 0 on SIGTERM, $_es_kill kill -9"
	[ $_es_other = 0 ] || _es_line="$_es_line, $_es_other other planned ends"
	echo "$_es_line)"
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] && ! exited "$DAEMON_PID"
}

ctl() { "$SESSIONCTL" "$@"; }

# field NAME JQ-EXPR — one field of session.get as text.
field() { "$SESSIONCTL" status "$1" --json | jq -r "$2"; }

state_is() { [ "$(field "$1" .state)" = "$2" ]; }

# rpc METHOD [PARAMS] — one request (PARAMS a JSON object) on a connection
# of its own; prints the reply frame.
rpc() {
	params=${2:-"{}"}
	"$TOOLS/rpcpipe" -t "${RPC_TIMEOUT:-30}" \
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$params}"
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

# ---- session events (session.watch) ---------------------------------------

# watch_events NAME — session.watch of NAME on a connection of its own,
# every frame into $T/events, in the background until the script ends;
# returns once the watch is answered.
watch_events() {
	"$TOOLS/rpcpipe" -n -1 -t 300 \
		"{\"jsonrpc\":\"2.0\",\"id\":\"w\",\"method\":\"session.watch\",\"params\":{\"name\":\"$1\"}}" \
		>"$T/events" 2>"$T/watch.err" &
	WATCH_PID=$!
	wait_until 10 grep -q '"id":"w","result"' "$T/events" ||
		fail "session.watch not answered: $(cat "$T/events" "$T/watch.err")"
}

# events [EVENT] — the params of every session.event so far (of kind EVENT),
# one compact JSON object per line.
events() {
	jq -c --arg e "${1:-}" 'select(.method == "session.event") | .params |
		select($e == "" or .event == $e)' "$T/events"
}
# n_events EVENT — how many EVENT events so far.
n_events() { events "$1" | wc -l; }
# has_events EVENT N — at least N EVENT events so far (for wait_until).
has_events() { [ "$(n_events "$1")" -ge "$2" ]; }
# event_field EVENT JQ — JQ of the last EVENT event.
event_field() { events "$1" | tail -n 1 | jq -r "$2"; }

# ---- memory tiers ------------------------------------------------------------

# saved_image NAME — the path of NAME's saved memory image ("null": none).
saved_image() { field "$1" .saved_state.path; }
# suspend_idle NAME — waits (bounded) until NAME's grace ran out and it is
# suspended; prints the image path.
suspend_idle() {
	wait_until 30 state_is "$1" suspended ||
		fail "session $1 is $(field "$1" .state), not suspended: $(field "$1" .last_stop_detail)"
	saved_image "$1"
}

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
