# libvirtd.sh — sourced by a behaviour script, after lib.sh: a private
# libvirtd of the script's own, test driver only (as bench/run.sh starts
# one).  LIBVIRT_DRIVER_DIR is an empty directory, so only the built-in
# test driver is there (no QEMU driver: no libvirt-qemu user, nothing in
# /run or /var); its sockets, pid file and log are under the script's $T.
# So the script never depends on a system libvirtd or on another script's
# (one that stopped "its" libvirtd before this one ran), and never
# disturbs them.  Clients reach it at
# test+unix:///default?socket=$T/libvirtd/sock/libvirt-sock.
#
#   private_libvirtd_start  starts it and waits (bounded) until it answers;
#                           sets PRIVATE_LIBVIRTD_PID and PRIVATE_LIBVIRTD_URI.
#                           Fails the script when libvirtd is not installed
#                           (libvirt-daemon: scripts/deps.sh check) or does
#                           not answer within 30 s.
#   private_libvirtd_stop   SIGTERM and wait; private_libvirtd_start makes
#                           it an at_exit hook (lib.sh runs it once the
#                           daemons, its clients, are stopped and checked).
PRIVATE_LIBVIRTD_PID=""
PRIVATE_LIBVIRTD_URI=""

private_libvirtd_answers() { virsh -c "$PRIVATE_LIBVIRTD_URI" uri >/dev/null 2>&1; }

private_libvirtd_start() {
	command -v libvirtd >/dev/null 2>&1 || fail "libvirtd is not installed (libvirt-daemon; scripts/deps.sh check)"
	command -v virsh >/dev/null 2>&1 || fail "virsh is not installed (libvirt-clients; scripts/deps.sh check)"
	d="$T/libvirtd"
	mkdir -p "$d/drivers" "$d/sock" || fail "cannot make $d"
	cat >"$d/libvirtd.conf" <<-CONF
	unix_sock_dir = "$d/sock"
	unix_sock_ro_perms = "0700"
	unix_sock_rw_perms = "0700"
	auth_unix_rw = "none"
	auth_unix_ro = "none"
	listen_tls = 0
	listen_tcp = 0
	log_outputs = "3:stderr"
	CONF
	LIBVIRT_DRIVER_DIR="$d/drivers" libvirtd --config "$d/libvirtd.conf" \
		--pid-file "$d/pid" >"$d/log" 2>&1 &
	PRIVATE_LIBVIRTD_PID=$!
	at_exit private_libvirtd_stop
	PRIVATE_LIBVIRTD_URI="test+unix:///default?socket=$d/sock/libvirt-sock"
	wait_until 30 private_libvirtd_answers ||
		fail "the private libvirtd did not answer on $PRIVATE_LIBVIRTD_URI: $(tail -n 5 "$d/log")"
}

private_libvirtd_stop() {
	[ -n "$PRIVATE_LIBVIRTD_PID" ] || return 0
	kill -TERM "$PRIVATE_LIBVIRTD_PID" 2>/dev/null
	wait "$PRIVATE_LIBVIRTD_PID" 2>/dev/null
	PRIVATE_LIBVIRTD_PID=""
}
