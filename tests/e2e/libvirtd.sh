#!/bin/sh
# libvirtd.sh start|stop|kill|restart|status — a system libvirtd for the
# e2e tests (qemu:///system), started only when none answers, shared by
# whoever uses this script at the same time.
#
#   start    If `virsh -c qemu:///system uri` answers, use that libvirtd
#            (found running: never stopped by us).  Otherwise make what a
#            fresh Debian box lacks (packages via scripts/deps.sh e2e, the
#            run and log directories, the libvirt-qemu user and group that
#            the QEMU driver looks up, /dev/kvm as udev would have set it
#            up), run `virtlogd -d` and `libvirtd -d` and wait (bounded)
#            until it answers.  Either way the caller becomes a user.
#   stop     The caller stops being a user.  When no user is left and start
#            started libvirtd, stop it and virtlogd (by pid) and put
#            /dev/kvm back as start found it.
#   kill     SIGKILL of the system libvirtd (QEMU processes live on), for
#            tests/e2e/07-libvirtd-restart.sh: the one start started, or the
#            one it found (its program, arguments and environment are kept
#            from /proc for restart).  Refused (exit 77) while another user
#            shares it.
#   restart  start it again after kill and wait until it answers: ours with
#            libvirtd -d; a found one as it was (its systemd unit when
#            systemd runs it, else the same command line and environment,
#            detached), so it is left running as it was found.  A start in
#            the meantime waits for this instead of starting one, and a
#            start after a killer that died first brings the found one back.
#   status   prints "started", "found" or "none".
#
# Users: a caller is ${SESSIOND_E2E_USER:-the calling shell's pid}
# (tests/e2e/run.sh exports its own pid, so its scenarios count as it).
# Users whose process is gone are forgotten.  So the e2e run, the bench
# and tests/behave/chaos-outside.sh can overlap without one stopping the
# libvirtd another still uses.  State: $STATE (under /run), changed only
# under flock($STATE.lock).
#
# /dev/kvm: without udev it is root:root 0600.  QEMU's capability probe
# then sees KVM (it opens the device before dropping to libvirt-qemu) but
# libvirt's validity check (access as libvirt-qemu) does not, so libvirt
# throws its capability cache away and re-probes QEMU (~4 s) on every
# lookup: one virDomainCreateXML took 45 s instead of 0.6 s.  Debian's
# udev rule (group kvm, mode 0660 or 0666) makes both agree; KVM itself is
# still unusable here (no vmx/svm), the domains are type qemu (TCG).
#
# Exit 0 on success, 1 on failure, 77 (with a SKIP: line) when this cannot
# work here (not root, tools missing) or kill is refused.
set -u

URI=qemu:///system
STATE=${SESSIOND_E2E_LIBVIRTD_STATE:-/run/sessiond-e2e-libvirtd.state}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ME=${SESSIOND_E2E_USER:-$PPID}

answers() { timeout 10 virsh -c "$URI" uri >/dev/null 2>&1; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
say() { echo "libvirtd.sh: $*" >&2; }

# wait_answer SECONDS — true once libvirtd answers.
wait_answer() {
	end=$(( $(date +%s) + $1 ))
	while ! answers; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# pid_of_file FILE — the pid in a pid file, if that process lives.
pid_of_file() {
	[ -f "$1" ] || return 0
	p=$(cat "$1" 2>/dev/null)
	alive "$p" && echo "$p"
}

# ---- state: MODE KVM VIRTLOGD LIBVIRTD OUTAGE USERS -------------------

lock() { exec 8>"$STATE.lock" && flock -w 600 8; }
unlock() { exec 8>&-; }

load() {
	MODE="" KVM="" VIRTLOGD="" LIBVIRTD="" OUTAGE="" USERS=""
	[ -f "$STATE" ] || return 0
	while IFS='=' read -r k v; do
		case "$k" in
		mode) MODE=$v ;;
		kvm) KVM=$v ;;
		virtlogd) VIRTLOGD=$v ;;
		libvirtd) LIBVIRTD=$v ;;
		outage) OUTAGE=$v ;;
		user) alive "$v" && USERS="$USERS $v" ;;
		esac
	done <"$STATE"
}

save() {
	{
		echo "mode=$MODE"
		[ -n "$KVM" ] && echo "kvm=$KVM"
		[ -n "$VIRTLOGD" ] && echo "virtlogd=$VIRTLOGD"
		[ -n "$LIBVIRTD" ] && echo "libvirtd=$LIBVIRTD"
		[ -n "$OUTAGE" ] && echo "outage=$OUTAGE"
		for u in $USERS; do echo "user=$u"; done
	} >"$STATE.new" && mv "$STATE.new" "$STATE"
}

add_user() {
	case " $USERS " in *" $ME "*) ;; *) USERS="$USERS $ME" ;; esac
}

# users_but_me — the users other than the caller.
users_but_me() {
	rest=""
	for u in $USERS; do [ "$u" = "$ME" ] || rest="$rest $u"; done
	echo "$rest"
}

drop_user() { USERS=$(users_but_me); }

# ---- a fresh box ---------------------------------------------------------

ensure_user() {
	getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu || return 1
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin \
			libvirt-qemu || return 1
}

ensure_tools() {
	sh "$ROOT/scripts/deps.sh" e2e >&2 || return 1
	for t in virsh libvirtd virtlogd qemu-system-x86_64 qemu-img; do
		command -v "$t" >/dev/null 2>&1 && continue
		[ -x "/usr/sbin/$t" ] && continue
		echo "SKIP: $t is not installed (apt-get install libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils)"
		return 77
	done
}

# kvm_fixup — give libvirt-qemu the access udev would have given it.
kvm_fixup() {
	[ -c /dev/kvm ] || return 0
	if setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --init-groups \
		sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null; then
		return 0
	fi
	KVM=$(stat -c '%a:%U:%G' /dev/kvm)
	getent group kvm >/dev/null || groupadd --system kvm || return 1
	usermod -a -G kvm libvirt-qemu || return 1
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
}

kvm_restore() {
	[ -n "$KVM" ] && [ -c /dev/kvm ] || return 0
	u=${KVM#*:}
	chmod "${KVM%%:*}" /dev/kvm
	chown "${u%%:*}:${KVM##*:}" /dev/kvm
}

start_libvirtd() {
	libvirtd -d 8>&- || return 1
	wait_answer 60 || { say "libvirtd did not answer within 60 s"; return 1; }
	LIBVIRTD=$(pid_of_file /run/libvirtd.pid)
}

start_virtlogd() {
	[ -n "$(pid_of_file /run/virtlogd.pid)" ] && return 0
	virtlogd -d 8>&- || return 1
	i=0
	while [ -z "$(pid_of_file /run/virtlogd.pid)" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	VIRTLOGD=$(pid_of_file /run/virtlogd.pid)
}

# wait_gone PID — true once PID has exited; gives up after 10 s.
wait_gone() {
	i=0
	while alive "$1" && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	! alive "$1"
}

# stop_pid PID — SIGTERM, then SIGKILL after 10 s.
stop_pid() {
	alive "$1" || return 0
	kill -TERM "$1"
	wait_gone "$1" || kill -KILL "$1"
	return 0
}

# ---- a found libvirtd -------------------------------------------------------

# system_pid — the running system libvirtd (its default pid file as root).
system_pid() {
	p=$(pid_of_file /run/libvirtd.pid)
	[ -n "$p" ] && [ "$(basename "$(readlink "/proc/$p/exe")")" = libvirtd ] && echo "$p"
}

# remember PID — what it takes to start the found libvirtd again: its
# systemd unit, or its environment and command line (NUL-separated).
remember() {
	rm -f "$STATE.unit" "$STATE.exec"
	if [ -d /run/systemd/system ] && grep -q '/libvirtd\.service$' "/proc/$1/cgroup" 2>/dev/null; then
		echo libvirtd.service >"$STATE.unit"
	else
		cat "/proc/$1/environ" "/proc/$1/cmdline" >"$STATE.exec"
	fi
}

# relaunch — start the found libvirtd again, as remembered.
relaunch() {
	if [ -f "$STATE.unit" ]; then
		systemctl start "$(cat "$STATE.unit")" 8>&- || return 1
	else
		[ -s "$STATE.exec" ] || { say "nothing remembered to restart the found libvirtd with"; return 1; }
		# env -i VAR=... PROGRAM ARGS...: with -d it detaches itself;
		# without, setsid and the background keep it running after us.
		(cd / && setsid xargs -0 -a "$STATE.exec" env -i </dev/null >/dev/null 2>&1 8>&- &)
	fi
	wait_answer 60 || { say "the found libvirtd did not answer within 60 s of its restart"; return 1; }
	say "restarted the libvirtd found running (pid $(system_pid))"
}

# ---- commands ------------------------------------------------------------

do_start() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: a system libvirtd needs root"
		return 77
	fi
	lock || return 1
	load
	# A kill/restart in progress (scenario 07): wait for it, do not race it.
	end=$(( $(date +%s) + 120 ))
	while alive "$OUTAGE" && ! answers && [ "$(date +%s)" -lt "$end" ]; do
		unlock
		sleep 0.2
		lock || return 1
		load
	done
	# Its killer died before the restart: the box gets its libvirtd back.
	if [ "$MODE" = found ] && [ -n "$OUTAGE" ] && ! answers; then
		relaunch || return 1
		OUTAGE="" LIBVIRTD=""
	fi
	if command -v virsh >/dev/null 2>&1 && answers; then
		if [ -z "$MODE" ]; then
			MODE=found
			say "libvirtd found running ($URI answers); it will be left running"
			[ -c /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ] &&
				say "warning: /dev/kvm is 0600; libvirt may re-probe QEMU on every start (slow)"
		fi
		add_user
		save
		return 0
	fi
	ensure_tools || return $?
	mkdir -p /var/run/libvirt /var/log/libvirt /var/lib/libvirt/qemu /var/cache/libvirt/qemu ||
		return 1
	ensure_user || { say "cannot create the libvirt-qemu user"; return 1; }
	[ "$MODE" = started ] || KVM=""
	MODE=started
	OUTAGE=""
	kvm_fixup || { say "cannot give libvirt-qemu access to /dev/kvm"; save; return 1; }
	start_virtlogd || { save; return 1; }
	start_libvirtd || { save; return 1; }
	add_user
	save
	say "started libvirtd (pid $LIBVIRTD)"
}

do_stop() {
	lock || return 1
	load
	drop_user
	if [ -n "$USERS" ]; then
		save
		return 0
	fi
	if [ "$MODE" = started ]; then
		stop_pid "$LIBVIRTD"
		stop_pid "$VIRTLOGD"
		kvm_restore
		say "stopped the libvirtd we started"
	fi
	rm -f "$STATE" "$STATE.unit" "$STATE.exec"
}

do_kill() {
	lock || return 1
	load
	case "$MODE" in
	started) ;;
	found) LIBVIRTD=$(system_pid)
	       [ -n "$LIBVIRTD" ] || { say "cannot tell the found libvirtd's pid (/run/libvirtd.pid)"; return 1; }
	       remember "$LIBVIRTD" || return 1 ;;
	*) say "no libvirtd in use: run start first"; return 1 ;;
	esac
	others=$(users_but_me)
	[ -z "$others" ] || { echo "SKIP: libvirtd is shared with other users (pids$others)"; return 77; }
	alive "$LIBVIRTD" || { say "libvirtd (pid $LIBVIRTD) is not running"; return 1; }
	OUTAGE=$ME
	save
	kill -KILL "$LIBVIRTD"
	wait_gone "$LIBVIRTD"
}

do_restart() {
	lock || return 1
	load
	case "$MODE" in started|found) ;; *) say "no libvirtd in use: run start first"; return 1 ;; esac
	if alive "$LIBVIRTD"; then
		kill -KILL "$LIBVIRTD"
		wait_gone "$LIBVIRTD"
	fi
	# A SIGKILLed libvirtd leaves its pid file; libvirtd -d replaces it.
	if [ "$MODE" = started ]; then
		start_libvirtd || { save; return 1; }
	else
		relaunch || { save; return 1; }
		LIBVIRTD=""
	fi
	OUTAGE=""
	save
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
kill) do_kill ;;
restart) do_restart ;;
status) load; echo "${MODE:-none}" ;;
*) echo "usage: $0 start|stop|kill|restart|status" >&2; exit 2 ;;
esac
