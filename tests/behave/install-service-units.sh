#!/bin/sh
# install-service-units — "make install" stages the systemd units and the
# bash completion, enabling nothing:
#
#  - by default into the directories pkg-config names (systemd's
#    systemdsystemunitdir and systemduserunitdir, bash-completion's
#    completionsdir); SYSTEMDSYSTEMUNITDIR, SYSTEMDUSERUNITDIR and
#    BASHCOMPDIR override them;
#  - system: sessiond.service and sessiond.socket; user: sessiond.service
#    and sessiond.socket (from sessiond-user.*); ExecStart names the
#    daemon installed under PREFIX (which exists in the staged tree), both
#    services are Type=notify with WatchdogSec= and an ExecReload that
#    sends SIGHUP, the sockets listen where sessiond's default socket is;
#  - systemd-analyze verify finds nothing to say about any of them (the
#    staged daemon's path put in ExecStart, a stub libvirtd.service beside
#    them);
#  - no .wants/ link anywhere: nothing is enabled;
#  - the staged completion is the tree's.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v pkg-config >/dev/null || fail "needs pkg-config"
command -v systemd-analyze >/dev/null 2>&1 || skip "needs systemd-analyze (systemd)"
pkg-config --exists systemd || skip "needs systemd's pkg-config file (systemd)"

# install DESTDIR [VAR=VALUE...] — make install PREFIX=/opt/sd into DESTDIR.
install_to() {
	dest=$1
	shift
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory BUILD="$BUILD" \
		install DESTDIR="$dest" PREFIX=/opt/sd "$@" >"$T/install.log" 2>&1 ||
		fail "make install failed: $(tail -n 20 "$T/install.log")"
}

SYS=$(pkg-config --variable=systemdsystemunitdir systemd)
USR=$(pkg-config --variable=systemduserunitdir systemd)
COMP=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null)
[ -n "$COMP" ] || COMP=/opt/sd/share/bash-completion/completions
[ -n "$SYS" ] && [ -n "$USR" ] || fail "pkg-config names no unit directories"

I="$T/inst"
install_to "$I"
for f in "$SYS/sessiond.service" "$SYS/sessiond.socket" "$USR/sessiond.service" \
	 "$USR/sessiond.socket" "$COMP/sessionctl"; do
	[ -f "$I$f" ] || fail "not staged: $f ($(find "$I" -name 'sessiond*' -o -name sessionctl | sort))"
done
cmp -s "$I$COMP/sessionctl" "$ROOT/contrib/bash-completion/sessionctl" || fail "the staged completion differs"
[ -z "$(find "$I" -name '*.wants' -o -name '*.requires')" ] || fail "make install enabled something"

# What the units say.
key() { sed -n "s/^$2=//p" "$1"; }
for u in "$I$SYS/sessiond.service" "$I$USR/sessiond.service"; do
	uri=qemu:///system
	case $u in "$I$USR"/*) uri=qemu:///session ;; esac
	[ "$(key "$u" ExecStart)" = "/opt/sd/sbin/sessiond --foreground --uri $uri" ] ||
		fail "$u: ExecStart=$(key "$u" ExecStart)"
	[ "$(key "$u" Type)" = notify ] || fail "$u: Type=$(key "$u" Type)"
	[ -n "$(key "$u" WatchdogSec)" ] || fail "$u: no WatchdogSec"
	[ "$(key "$u" ExecReload)" = '/bin/kill -HUP $MAINPID' ] || fail "$u: ExecReload=$(key "$u" ExecReload)"
done
[ -x "$I/opt/sd/sbin/sessiond" ] || fail "no daemon at /opt/sd/sbin/sessiond in the staged tree"
[ "$(key "$I$SYS/sessiond.socket" ListenStream)" = /run/sessiond/sessiond.sock ] ||
	fail "the system socket listens on $(key "$I$SYS/sessiond.socket" ListenStream)"
[ "$(key "$I$USR/sessiond.socket" ListenStream)" = "%t/sessiond/sessiond.sock" ] ||
	fail "the user socket listens on $(key "$I$USR/sessiond.socket" ListenStream)"

# systemd-analyze verify: silent about every unit.
mkdir -p "$T/verify/system" "$T/verify/user" "$T/xdg"
chmod 700 "$T/xdg"
printf '[Service]\nExecStart=/bin/true\n' >"$T/verify/system/libvirtd.service"
for d in system user; do
	src=$I$SYS
	[ $d = user ] && src=$I$USR
	for f in sessiond.service sessiond.socket; do
		sed "s|/opt/sd/sbin/sessiond|$I/opt/sd/sbin/sessiond|" "$src/$f" >"$T/verify/$d/$f"
	done
done
SYSTEMD_UNIT_PATH="$T/verify/system:" systemd-analyze verify --man=no \
	"$T/verify/system/sessiond.service" "$T/verify/system/sessiond.socket" >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify (system): $(cat "$T/verify.out")"
XDG_RUNTIME_DIR="$T/xdg" SYSTEMD_UNIT_PATH="$T/verify/user:" systemd-analyze --user verify --man=no \
	"$T/verify/user/sessiond.service" "$T/verify/user/sessiond.socket" >>"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify (user): $(cat "$T/verify.out")"
[ ! -s "$T/verify.out" ] || fail "systemd-analyze verify says: $(cat "$T/verify.out")"

# The directories can be chosen.
install_to "$T/inst2" SYSTEMDSYSTEMUNITDIR=/u/sys SYSTEMDUSERUNITDIR=/u/user BASHCOMPDIR=/u/comp
for f in /u/sys/sessiond.service /u/sys/sessiond.socket /u/user/sessiond.service \
	 /u/user/sessiond.socket /u/comp/sessionctl; do
	[ -f "$T/inst2$f" ] || fail "with the directories overridden, $f is not staged"
done
exit 0
