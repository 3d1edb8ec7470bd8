# lib-libvirtd.sh — private libvirtds and an outside observer, for the
# behaviour scripts that must see what the daemon did through libvirt
# rather than through the daemon's own answers.  Sourced after lib.sh.
#
# Each libvirtd has the test driver only (LIBVIRT_DRIVER_DIR is an empty
# directory, so no driver module loads: no QEMU driver, no libvirt-qemu
# user, nothing in /run or /var), its socket, pid file and log under $T,
# and is stopped when the script exits; a system libvirtd is never touched.
# Several of them are several independent "hosts" on this machine.
#
# The test driver of a libvirtd resets its state (domains, pools, volumes)
# once the last connection closes: the observer's view is consistent only
# while the daemon keeps its own connection open.  So look through vsh
# while the daemon runs, and create nothing through vsh before it starts
# (lv_hold keeps a connection open where a script needs the state to
# outlive the daemon's connection, as across a freeze).
#
# One libvirtd (the first scripts' way):
#   libvirtd_start      start it and wait until it answers; sets LV_URI
#   libvirtd_hold       keep one connection open until the end, so its test
#                       driver's state (pool, volumes) survives a daemon restart
#   libvirtd_stop       stop it (idempotent; called at exit)
#   libvirtd_freeze     SIGSTOP it: every libvirt call of the daemon blocks
#   libvirtd_thaw       SIGCONT it
#   vsh ARGS...         virsh -q on LV_URI
#   lv_prefix           the daemon's domain and volume prefix, "sd-XXXXXXXX"
#   lv_domains          the daemon's domains (names, running or not)
#   lv_volumes [POOL]   the daemon's volumes in POOL (default: its own pool,
#                       named as its prefix when sessiond.conf names none)
#   lv_instance_volumes POOL  ... only those of instances (scratch, boot)
#   lv_objects          both, through one connection (a virsh start costs
#                       about a quarter of a second)
#
# Several (hosts named H: any word):
#   lvh_start H [--log]  start host H's libvirtd (again after a stop: a new,
#                       empty test driver); --log logs libvirt.storage and
#                       libvirt.domain calls at debug level to lvh_log H;
#                       lvh_dir H has its start.sh and shell-pid
#   lvh_stop H / lvh_kill H / lvh_freeze H / lvh_thaw H
#   lvh_uri H           its URI
#   lvh_log H           its API log (appended to across restarts)
#   vshh H ARGS...      virsh -q on it
#   lv_hold H           keep one virsh connected to it until lv_unhold H or
#                       the end of the script
#   hosts_conf FILE H:MIB...  [host H] sections (uri, memory_mib MIB) into
#                       FILE, which start_daemon reads; then start the
#                       daemon with SESSIOND_URI= (empty: no --uri flag)
#   lvh_where DOM H...  the hosts among H whose libvirtd runs domain DOM
#   lvh_count H...      the daemon's running domains on those hosts
#   host_up H / host_down H   daemon.info's view of host H
#   watch_all FILE      every session.event into FILE; host_events FILE NAME
#                       EV counts session NAME's EV events
#   log_calls H FROM CALL KEY  calls CALL naming KEY in H's API log (after
#                       line FROM; log_lines H is where it ends now)
#
# The daemon's client keepalive closes a connection to a libvirtd that has
# not answered for about 10 s (keepalive_s, see sessiond.conf(5)): keep a
# freeze shorter unless the script means the daemon to lose the host.

lvh_dir() { echo "$T/libvirtd${1:+-$1}"; }
lvh_uri() { echo "test+unix:///default?socket=$(lvh_dir "$1")/sock/libvirt-sock"; }
lvh_log() { echo "$(lvh_dir "$1")/api.log"; }
lvh_pid() { cat "$(lvh_dir "$1")/shell-pid" 2>/dev/null; }
vshh() { h=$1; shift; virsh -q -c "$(lvh_uri "$h")" "$@"; }
lvh_answers() { vshh "$1" list >/dev/null 2>&1; }

lvh_start() {
	command -v libvirtd >/dev/null 2>&1 || fail "needs libvirtd (libvirt-daemon; scripts/deps.sh check)"
	command -v virsh >/dev/null 2>&1 || fail "needs virsh (libvirt-clients; scripts/deps.sh check)"
	d=$(lvh_dir "$1")
	mkdir -p "$d/drivers" "$d/sock" "$d/sock-new" "$d/home"
	{
		echo "unix_sock_dir = \"$d/sock\""
		echo "listen_tls = 0"
		echo "listen_tcp = 0"
		if [ "${2:-}" = --log ]; then
			echo 'log_filters = "1:libvirt.storage 1:libvirt.domain"'
			echo "log_outputs = \"1:file:$d/api.log 3:stderr\""
		else
			echo 'log_outputs = "3:stderr"'
		fi
	} >"$d/libvirtd.conf"
	sed "s|^unix_sock_dir = .*|unix_sock_dir = \"$d/sock-new\"|" "$d/libvirtd.conf" >"$d/libvirtd-hidden.conf"
	# DIR/start.sh starts it again as it was (sessiond-stress --host-kill
	# uses it too); the libvirtd is never this shell's child, so a kill is
	# waited for the same way whoever started it.  "start.sh hidden" puts
	# its sockets in DIR/sock-new instead, where only the caller looks: it
	# connects there first, then moves sock-new/libvirt-sock over
	# sock/libvirt-sock, and the daemon finds the new libvirtd.
	cat >"$d/start.sh" <<-EOF
	conf="$d/libvirtd.conf"
	[ "\${1:-}" = hidden ] && conf="$d/libvirtd-hidden.conf"
	rm -f "$d/sock/libvirt-sock" "$d/sock-new/libvirt-sock"
	HOME="$d/home" XDG_RUNTIME_DIR="$d/home" LIBVIRT_DRIVER_DIR="$d/drivers" \\
		libvirtd --config "\$conf" --pid-file "$d/pid" >>"$d/log" 2>&1 </dev/null &
	echo \$! >"$d/shell-pid"
	EOF
	sh "$d/start.sh"
	wait_until 30 lvh_answers "$1" || fail "the private libvirtd ${1:-} does not answer: $(tail -n 5 "$d/log")"
}

# lvh_signal H SIG — signals host H's libvirtd; for TERM and KILL waits
# (bounded) until it is gone.
lvh_signal() {
	p=$(lvh_pid "$1")
	[ -n "$p" ] || return 0
	case $2 in
	TERM | KILL)
		kill -CONT "$p" 2>/dev/null
		kill -"$2" "$p" 2>/dev/null
		wait_until 30 lvh_gone "$p" || echo "libvirtd ${1:-} ($p) outlived SIG$2"
		rm -f "$(lvh_dir "$1")/shell-pid" ;;
	*) kill -"$2" "$p" || fail "cannot send SIG$2 to libvirtd ${1:-} ($p)" ;;
	esac
}
lvh_gone() { ! kill -0 "$1" 2>/dev/null; }
lvh_stop() { lvh_signal "$1" TERM; }
lvh_kill() { lvh_signal "$1" KILL; }
lvh_freeze() { lvh_signal "$1" STOP; }
lvh_thaw() { lvh_signal "$1" CONT; }

# lv_hold H — one virsh stays connected to host H (its test driver keeps
# its state while the daemon's connection is closed).
lv_hold() {
	d=$(lvh_dir "$1")
	rm -f "$d/hold.in"
	mkfifo "$d/hold.in"
	virsh -c "$(lvh_uri "$1")" <"$d/hold.in" >"$d/hold.out" 2>&1 &
	echo $! >"$d/hold-pid"
	# The fifo's writer: a sleeper the cleanup ends (a shell fd would be
	# one per script, and there may be several hosts).
	sleep 100000 >"$d/hold.in" &
	echo $! >"$d/hold-writer"
	wait_until 30 lv_hold_ready "$1" || fail "virsh did not connect to ${1:-}: $(cat "$d/hold.out")"
}
lv_hold_ready() { printf 'uri\n' >"$(lvh_dir "$1")/hold.in" && grep -q '^test+unix' "$(lvh_dir "$1")/hold.out"; }
lv_unhold() {
	d=$(lvh_dir "$1")
	for f in hold-writer hold-pid; do
		[ -s "$d/$f" ] || continue
		kill -TERM "$(cat "$d/$f")" 2>/dev/null
		wait "$(cat "$d/$f")" 2>/dev/null
		rm -f "$d/$f"
	done
}

# lvh_where DOMAIN H... — the hosts among H... whose libvirtd runs DOMAIN
# (what libvirt says, not the daemon).
lvh_where() {
	dom=$1
	shift
	for h in "$@"; do
		vshh "$h" list --name | grep -qx "$dom" && printf '%s ' "$h"
	done
}

# lvh_count H... — how many domains of the daemon the hosts run, in all.
lvh_count() {
	p=$(lv_prefix)
	for h in "$@"; do vshh "$h" list --name; done | awk -v p="$p-" 'index($1, p) == 1' | wc -l
}

# host_up H — daemon.info says host H is up (connected and reconciled).
host_up() { rpc daemon.info | jq -e --arg h "$1" '.result.hosts[] | select(.name == $h) | .connected' >/dev/null; }
host_down() { rpc daemon.info | jq -e --arg h "$1" '.result.hosts[] | select(.name == $h) | .connected | not' >/dev/null; }

# watch_all FILE — every session.event from now on, one frame a line, in
# FILE (a connection of its own, until the script ends).
watch_all() {
	"$TOOLS/rpcpipe" -n -1 -t 600 '{"jsonrpc":"2.0","id":"w","method":"session.watch"}' >"$1" 2>&1 &
	wait_until 5 grep -q '"id":"w","result"' "$1" || fail "session.watch not answered: $(cat "$1")"
}

# host_events FILE NAME EVENT — how many EVENT events session NAME had
# (lib.sh's "events" reads watch_events' file).
host_events() {
	jq -r --arg n "$2" --arg e "$3" 'select(.method == "session.event" and .params.name == $n
		and .params.event == $e) | .params.event' "$1" | wc -l
}

# log_calls H FROM WHAT KEY — lines of host H's API log after line FROM
# where call WHAT names KEY (a domain uuid, a volume name): the calls the
# daemon made there, counted outside it.
log_calls() {
	tail -n +"$(($2 + 1))" "$(lvh_log "$1")" | grep -F " $3:" | grep -cF "$4"
}
log_lines() { wc -l <"$(lvh_log "$1")"; }

# hosts_conf FILE H:MIB... — a [host H] section per argument.
hosts_conf() {
	f=$1
	shift
	for hm in "$@"; do
		printf '[host %s]\nuri = %s\nmemory_mib = %s\n\n' "${hm%%:*}" "$(lvh_uri "${hm%%:*}")" \
			"${hm#*:}" >>"$f"
	done
}

# The one libvirtd of the first scripts: host "".
LV_DIR=$(lvh_dir "")
LV_URI=$(lvh_uri "")
LV_PID=""

vsh() { vshh "" "$@"; }
libvirtd_answers() { lvh_answers ""; }
libvirtd_start() { lvh_start ""; LV_PID=$(lvh_pid ""); }
libvirtd_stop() { lvh_stop ""; LV_PID=""; }
libvirtd_hold() { lv_hold ""; }
libvirtd_freeze() { lvh_freeze ""; }
libvirtd_thaw() { lvh_thaw ""; }

lv_prefix() {
	[ -s "$T/state/daemon-id" ] || fail "no $T/state/daemon-id"
	echo "sd-$(cut -c1-8 "$T/state/daemon-id")"
}

lv_domains() {
	p=$(lv_prefix)
	vsh list --all --name | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'
}

lv_volumes() {
	p=$(lv_prefix)
	vsh vol-list "${1:-$p}" | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'
}

lv_instance_volumes() { lv_volumes "$1" | grep -E -e '-(scratch|boot)\.qcow2$'; }

lv_objects() {
	p=$(lv_prefix)
	vsh "list --all --name; vol-list $p" | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'
}

# At exit, lib.sh stops (and checks) the daemons first: they are clients
# of the libvirtds, so a frozen libvirtd is thawed before, or a daemon's
# exit would wait on it; then every holder and libvirtd goes.
lv_thaw_all() {
	for d in "$T"/libvirtd*; do
		[ -s "$d/shell-pid" ] && kill -CONT "$(cat "$d/shell-pid")" 2>/dev/null
	done
	return 0
}
lv_stop_all() {
	for d in "$T"/libvirtd*; do
		[ -d "$d" ] || continue
		h=${d#"$T"/libvirtd}
		h=${h#-}
		lv_unhold "$h"
		lvh_stop "$h"
	done
}
before_stop lv_thaw_all
at_exit lv_stop_all
