# lib-libvirtd.sh — a private libvirtd and an outside observer, for the
# behaviour scripts that must see what the daemon did through libvirt
# rather than through the daemon's own answers.  Sourced after lib.sh.
#
# The libvirtd has the test driver only (LIBVIRT_DRIVER_DIR is an empty
# directory, so no driver module loads: no QEMU driver, no libvirt-qemu
# user, nothing in /run or /var), its sockets and pid file under $T, and is
# stopped when the script exits; a system libvirtd is never touched.  The
# daemon runs on it with SESSIOND_URI=$LV_URI; "vsh" is the observer.
#
# The test driver of a libvirtd resets its state (domains, pools, volumes)
# once the last connection closes: the observer's view is consistent only
# while the daemon keeps its own connection open.  So look through vsh
# while the daemon runs, and create nothing through vsh before it starts.
#
#   libvirtd_start      start it and wait until it answers; sets LV_URI
#   libvirtd_hold       keep one connection open until the end, so its test
#                       driver's state (pool, volumes) survives a daemon restart
#   libvirtd_stop       stop it (idempotent; called at exit)
#   libvirtd_freeze     SIGSTOP it: every libvirt call of the daemon blocks
#   libvirtd_thaw       SIGCONT it
#   vsh ARGS...         virsh -q on LV_URI
#   lv_prefix           the daemon's domain and volume prefix, "sd-XXXXXXXX"
#   lv_domains          the daemon's domains (names, running or not)
#   lv_volumes [POOL]   the daemon's volumes in POOL (default "sessiond")
#   lv_instance_volumes POOL  ... only those of instances (scratch, boot)
#   lv_objects          both, through one connection (a virsh start costs
#                       about a quarter of a second)
#
# The daemon's client keepalive closes a connection to a libvirtd that has
# not answered for about 20 s (5 s interval, 3 missed): keep a freeze short.

LV_DIR="$T/libvirtd"
LV_URI="test+unix:///default?socket=$LV_DIR/sock/libvirt-sock"
LV_PID=""

vsh() { virsh -q -c "$LV_URI" "$@"; }

libvirtd_answers() { vsh list >/dev/null 2>&1; }

libvirtd_start() {
	command -v libvirtd >/dev/null 2>&1 || fail "needs libvirtd (libvirt-daemon; scripts/deps.sh check)"
	command -v virsh >/dev/null 2>&1 || fail "needs virsh (libvirt-clients; scripts/deps.sh check)"
	mkdir -p "$LV_DIR/drivers" "$LV_DIR/sock"
	cat >"$LV_DIR/libvirtd.conf" <<-EOF
	unix_sock_dir = "$LV_DIR/sock"
	listen_tls = 0
	listen_tcp = 0
	log_outputs = "3:stderr"
	EOF
	LIBVIRT_DRIVER_DIR="$LV_DIR/drivers" libvirtd --config "$LV_DIR/libvirtd.conf" \
		--pid-file "$LV_DIR/pid" >"$LV_DIR/log" 2>&1 &
	LV_PID=$!
	wait_until 30 libvirtd_answers || fail "the private libvirtd does not answer: $(tail -n 5 "$LV_DIR/log")"
}

libvirtd_hold() { hold_libvirt "$LV_URI" "$LV_DIR"; }

libvirtd_stop() {
	[ -n "$LV_PID" ] || return 0
	kill -CONT "$LV_PID" 2>/dev/null
	kill -TERM "$LV_PID" 2>/dev/null
	wait "$LV_PID" 2>/dev/null
	LV_PID=""
}

libvirtd_freeze() { kill -STOP "$LV_PID" || fail "cannot freeze libvirtd $LV_PID"; }
libvirtd_thaw() { kill -CONT "$LV_PID" || fail "cannot thaw libvirtd $LV_PID"; }

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
	vsh vol-list "${1:-sessiond}" | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'
}

lv_instance_volumes() { lv_volumes "$1" | grep -E -e '-(scratch|boot)\.qcow2$'; }

lv_objects() {
	p=$(lv_prefix)
	vsh "list --all --name; vol-list sessiond" | awk -v p="$p-" 'index($1, p) == 1 { print $1 }'
}

# At exit, lib.sh stops (and checks) the daemon first: it is a client of
# the libvirtd, so a frozen libvirtd is thawed before, or the daemon's exit
# would wait on it; then the libvirtd goes.
lv_thaw_at_exit() {
	[ -z "$LV_PID" ] || kill -CONT "$LV_PID" 2>/dev/null
	return 0
}
before_stop lv_thaw_at_exit
at_exit libvirtd_stop
