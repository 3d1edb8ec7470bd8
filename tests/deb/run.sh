#!/bin/sh
# run.sh — the Debian packages (debian/, issue 19), built and used as a
# Debian user would, in clean chroots of this machine's release
# (tests/deb/chroot.sh; nothing is installed on the machine itself):
#
#  1. scripts/build-deb.sh builds them from the tree's tracked files in a
#     root that has only the Build-Depends (nocheck: make check runs the
#     unit tests itself), so a missing Build-Depends fails the build;
#  2. lintian on the .changes: any error or warning fails, and so does a
#     hardening tag of any severity;
#  3. "apt-get install" of every built .deb into a root that has only what
#     apt pulled in for them (and gcc, pkg-config for step 5), then the
#     files: each package ships what the issue says (every man page and
#     systemd unit of the tree included), /var/lib/sessiond is there with
#     mode 0711, the configuration is a conffile, no unit is enabled;
#  4. the daemon from the system unit's ExecStart, on the test driver
#     (--uri test:///default appended), with a line added to the installed
#     sessiond.conf; the installed sessionctl on the default socket sees
#     that setting, creates a session and runs a command in it;
#  5. tests/install/client-demo.c built against the -dev package with
#     pkg-config, linked to the shared library (and once statically to
#     the static one), talking to that daemon;
#  6. remove keeps the configuration; purge removes it and says it leaves
#     the state directory (sessions in it), and nothing else is left: the
#     root's file list equals the one from before the install but for
#     /var/lib/sessiond; installed again and purged with an empty state
#     directory, not even that is left.
#
# Needs root (chroot, mount) and the tools of scripts/deps.sh deb; else one
# SKIP line.  Environment: DEB_CACHE (tests/deb/chroot.sh), KEEP_TMP=1.
. "$(dirname "$0")/../behave/lib.sh"
. "$(dirname "$0")/chroot.sh"
unset SESSIOND_SOCKET

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || skip "the package test needs root (chroot, mount)"
for t in dpkg-buildpackage lintian debootstrap jq readelf; do
	command -v "$t" >/dev/null 2>&1 || skip "needs $t (sh scripts/deps.sh deb check)"
done

# A root that cannot be unmounted is kept, and so is $T around it.
trap 'stop_daemon >/dev/null 2>&1; root_cleanup || KEEP_TMP=1; cleanup' EXIT
trap 'exit 130' INT TERM
all_start=$(date +%s)
# step WHAT — one line per step, with the seconds since the start.
step() { echo "deb: [at $(( $(date +%s) - all_start ))s] $*"; }

root_lock
base_tar

# ---- 1. build in a root with the Build-Depends only -------------------
setup_build() {
	mkdir -p "$1/tmp/src/debian"
	cp "$ROOT/debian/control" "$ROOT/debian/changelog" "$1/tmp/src/debian/"
	in_root "$1" apt-get build-dep -y -o APT::Build-Profiles=nocheck /tmp/src \
		>"$T/build-dep.log" 2>&1 ||
		fail "apt-get build-dep failed: $(tail -n 20 "$T/build-dep.log")"
}
root_prepared build "$(sed '/^$/q' "$ROOT/debian/control")" setup_build
root_new "$T/build-root" "$PREPARED_TAR"
step "building the packages in a root with the Build-Depends only"
DEBS="$T/debs"
DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck sh "$ROOT/scripts/build-deb.sh" --chroot "$T/build-root" \
	"$DEBS" >"$T/build.log" 2>&1 || fail "the package build failed: $(tail -n 40 "$T/build.log")"
grep '^build-deb: sessiond' "$T/build.log"
root_remove "$T/build-root"

PKGS=""
for d in "$DEBS"/*.deb; do PKGS="$PKGS $(dpkg-deb -f "$d" Package)"; done
for p in sessiond libsessiond-client0 libsessiond-client-dev; do
	case " $PKGS " in *" $p "*) ;; *) fail "no package $p was built (built:$PKGS)" ;; esac
done
VERSION=$(dpkg-deb -f "$DEBS"/sessiond_*.deb Version)
UPSTREAM=${VERSION%%-*}

# ---- 2. lintian ----------------------------------------------------------
step "built:$PKGS ($VERSION); lintian"
lintian --fail-on error,warning --display-info "$DEBS"/*.changes >"$T/lintian.log" 2>&1
lrc=$?
grep -v '^running with root privileges' "$T/lintian.log" | sed 's/^/  lintian: /'
[ $lrc -eq 0 ] || fail "lintian reports errors or warnings (exit $lrc)"
# debian/rules asks for every hardening flag: lintian names a missing one
# (bindnow: the link lost LDFLAGS) only as information.
grep -q ': hardening-' "$T/lintian.log" && fail "a binary lacks a hardening flag (see lintian above)"

# ---- 3. install into a root with the dependencies only -------------------
# What apt pulls in for the packages, and the tools to build a client.
TOOLS_IN_ROOT="gcc libc6-dev pkg-config"
setup_install() {
	mkdir -p "$1/tmp/pkgs"
	cp "$DEBS"/*.deb "$1/tmp/pkgs/"
	deps=$(in_root "$1" sh -c 'apt-get install -s /tmp/pkgs/*.deb' | awk '/^Inst /{ print $2 }' |
		grep -vxF "$(echo $PKGS | tr ' ' '\n')")
	# shellcheck disable=SC2086
	in_root "$1" apt-get install -y $deps $TOOLS_IN_ROOT >"$T/deps.log" 2>&1 ||
		fail "installing the dependencies failed: $(tail -n 20 "$T/deps.log")"
}
deps_key=$(for d in "$DEBS"/*.deb; do dpkg-deb -f "$d" Package Depends Pre-Depends; done)
root_prepared install "$deps_key
$TOOLS_IN_ROOT" setup_install
R="$T/root"
root_new "$R" "$PREPARED_TAR"

# snapshot FILE — the root's files (type, mode, owner, path, link target),
# but for what is volatile or apt's and dpkg's own bookkeeping.
snapshot() {
	(cd "$R" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./run -o -path ./tmp \
		-o -path ./var/cache -o -path ./var/log -o -path ./var/lib/apt -o -path ./var/lib/dpkg \) \
		-prune -o -printf '%y %m %u:%g %p %l\n' | sort) >"$1"
}
snapshot "$T/before"
mkdir -p "$R/tmp/pkgs"
cp "$DEBS"/*.deb "$R/tmp/pkgs/"
step "installing with apt-get install ./*.deb"
in_root "$R" sh -c 'cd /tmp/pkgs && apt-get install -y ./*.deb' >"$T/install.log" 2>&1 ||
	fail "apt-get install failed: $(tail -n 30 "$T/install.log")"
grep 'newly installed' "$T/install.log" | sed 's/^/  apt: /'

# ships PACKAGE PATH — PACKAGE has PATH (as dpkg -L lists it).
ships() {
	in_root "$R" dpkg -L "$1" | grep -qxF "$2" || fail "package $1 does not ship $2"
}
LIB="/usr/lib/$(in_root "$R" gcc -print-multiarch)"
ships sessiond /usr/sbin/sessiond
ships sessiond /usr/bin/sessionctl
ships sessiond /etc/sessiond/sessiond.conf
in_root "$R" dpkg-query -W -f '${Conffiles}\n' sessiond | grep -q '^ /etc/sessiond/sessiond.conf ' ||
	fail "/etc/sessiond/sessiond.conf is no conffile of sessiond"
for m in "$ROOT"/man/*.[0-9]; do
	n=${m##*/}
	case "$n" in *.3 | *.7) p=libsessiond-client-dev ;; *) p=sessiond ;; esac
	ships "$p" "/usr/share/man/man${n##*.}/$n.gz"
done
for u in "$ROOT"/contrib/systemd/*.service.in "$ROOT"/contrib/systemd/*.socket; do
	[ -f "$u" ] || continue
	n=${u##*/}
	n=${n%.in}
	case "$n" in
	*-user.*) ships sessiond "/usr/lib/systemd/user/${n%-user.*}.${n##*.}" ;;
	*) ships sessiond "/lib/systemd/system/$n" ;;
	esac
done
ships sessiond /usr/share/bash-completion/completions/sessionctl
real="libsessiond-client.so.0.$(echo "$UPSTREAM" | cut -d. -f2-3)"
ships libsessiond-client0 "$LIB/$real"
ships libsessiond-client0 "$LIB/libsessiond-client.so.0"
[ "$(readlink "$R$LIB/libsessiond-client.so.0")" = "$real" ] || fail "libsessiond-client.so.0 is no link to $real"
ships libsessiond-client-dev "$LIB/libsessiond-client.so"
ships libsessiond-client-dev "$LIB/libsessiond-client.a"
ships libsessiond-client-dev "$LIB/pkgconfig/sessiond-client.pc"
ships libsessiond-client-dev /usr/include/sessiond-client.h
ships libsessiond-client-dev /usr/include/sessiond-protocol.h
in_root "$R" dpkg -L libsessiond-client0 | grep -q '\.so$\|\.a$\|/include/' &&
	fail "libsessiond-client0 ships development files: $(in_root "$R" dpkg -L libsessiond-client0)"

[ "$(stat -c '%a %U:%G' "$R/var/lib/sessiond")" = "711 root:root" ] ||
	fail "/var/lib/sessiond is $(stat -c '%a %U:%G' "$R/var/lib/sessiond" 2>&1), not 711 root:root"
[ -z "$(ls -A "$R/var/lib/sessiond")" ] || fail "/var/lib/sessiond is not empty after the install"
enabled=$(find "$R/etc/systemd" -name 'sessiond*' 2>/dev/null)
[ -z "$enabled" ] || fail "the install enabled units: $enabled"

# ---- 4. the daemon as its unit starts it ---------------------------------
step "the daemon from the unit's ExecStart"
UNIT="$R/lib/systemd/system/sessiond.service"
[ "$(grep -c '^ExecStart=' "$UNIT")" = 1 ] || fail "sessiond.service has no single ExecStart: $(cat "$UNIT")"
exec_start=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$UNIT")
case "$exec_start" in
*%* | *'$'*) fail "ExecStart has specifiers or variables this test cannot expand: $exec_start" ;;
esac
echo "  ExecStart: $exec_start"
# The administrator's edit: the examples and one setting of their own.
sed -i 's/^#\([a-z_]* = \)/\1/' "$R/etc/sessiond/sessiond.conf"
echo 'grace = 7m' >>"$R/etc/sessiond/sessiond.conf"
ctl() { in_root "$R" sessionctl "$@"; }
# chroot, env and the daemon are one process: $! is the daemon.
# shellcheck disable=SC2086
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	$exec_start --uri test:///default >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
wait_until 30 ctl list || fail "the installed sessiond did not answer the installed sessionctl"
[ -S "$R/run/sessiond/sessiond.sock" ] || fail "no socket at the default /run/sessiond/sessiond.sock"
ctl create pkg >"$T/ctl.out" 2>&1 || fail "sessionctl create: $(cat "$T/ctl.out")"
st=$(ctl status pkg --json) || fail "sessionctl status: $st"
[ "$(echo "$st" | jq -r .grace_s)" = 420 ] ||
	fail "the session's grace is not the 7m of /etc/sessiond/sessiond.conf: $st"
out=$(ctl run pkg -- sh -c 'echo "in $SESSIOND_SESSION"' 2>&1) || fail "sessionctl run: $out"
[ "$out" = "in pkg" ] || fail "sessionctl run printed '$out'"
[ "$(ctl status pkg --json | jq -r .start_count)" = 1 ] || fail "pkg did not start once"
ls "$R/var/lib/sessiond/sessions/"* >/dev/null 2>&1 || fail "no session state file in /var/lib/sessiond/sessions"

# ---- 5. a client program built against the -dev package ------------------
step "a client built with pkg-config against libsessiond-client-dev"
cp "$ROOT/tests/install/client-demo.c" "$R/tmp/"
in_root "$R" sh -c 'cc -std=c11 -Wall -Wextra -Werror -o /tmp/client-demo /tmp/client-demo.c \
	$(pkg-config --cflags --libs sessiond-client)' >"$T/cc.log" 2>&1 ||
	fail "client-demo does not build: $(cat "$T/cc.log")"
readelf -d "$R/tmp/client-demo" | grep -q 'NEEDED.*\[libsessiond-client\.so\.0\]' ||
	fail "client-demo does not link the shared library: $(readelf -d "$R/tmp/client-demo" | grep NEEDED)"
loaded=$(in_root "$R" ldd /tmp/client-demo | awk '$1 == "libsessiond-client.so.0" { print $3 }')
[ -n "$loaded" ] && [ "$(in_root "$R" readlink -f "$loaded")" = "$LIB/$real" ] ||
	fail "client-demo does not load the installed $LIB/$real: $(in_root "$R" ldd /tmp/client-demo)"
in_root "$R" /tmp/client-demo /run/sessiond/sessiond.sock demo "$UPSTREAM" >"$T/demo.out" 2>&1 ||
	fail "client-demo: $(cat "$T/demo.out")"
in_root "$R" sh -c 'cc -std=c11 -static -o /tmp/client-demo-static /tmp/client-demo.c \
	$(pkg-config --static --cflags --libs sessiond-client)' >"$T/cc-static.log" 2>&1 ||
	fail "client-demo does not build statically: $(cat "$T/cc-static.log")"
readelf -d "$R/tmp/client-demo-static" 2>/dev/null | grep -q NEEDED &&
	fail "the static client-demo needs shared libraries"
in_root "$R" /tmp/client-demo-static /run/sessiond/sessiond.sock demo-static "$UPSTREAM" \
	>"$T/demo-static.out" 2>&1 || fail "static client-demo: $(cat "$T/demo-static.out")"
[ "$(ctl list --json | jq '.sessions | length')" = 3 ] || fail "not 3 sessions: $(ctl list)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the installed daemon did not exit cleanly on SIGTERM"

# ---- 6. remove, purge, and what is left --------------------------------
step "remove and purge"
in_root "$R" apt-get remove -y $PKGS >"$T/remove.log" 2>&1 || fail "apt-get remove: $(tail -n 20 "$T/remove.log")"
[ ! -e "$R/usr/sbin/sessiond" ] || fail "remove left /usr/sbin/sessiond"
[ -f "$R/etc/sessiond/sessiond.conf" ] || fail "remove did not keep the configuration"
# known — the packages dpkg still knows (remove forgets those without
# conffiles or postrm, and apt cannot name a forgotten local package).
known() {
	for p in $PKGS; do
		in_root "$R" dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q . && echo "$p"
	done
}
kept=$(known)
[ "$kept" = sessiond ] || fail "after remove, dpkg knows '$(echo $kept)', not sessiond alone (its conffile)"
in_root "$R" apt-get purge -y sessiond >"$T/purge.log" 2>&1 || fail "apt-get purge: $(tail -n 20 "$T/purge.log")"
grep '^sessiond: ' "$T/purge.log" | sed 's/^/  purge: /'
grep -q '^sessiond: purge leaves /var/lib/sessiond' "$T/purge.log" ||
	fail "purge did not say it leaves /var/lib/sessiond: $(cat "$T/purge.log")"
[ ! -e "$R/etc/sessiond" ] || fail "purge left /etc/sessiond: $(ls -la "$R/etc/sessiond")"
ls "$R/var/lib/sessiond/sessions/"* >/dev/null 2>&1 || fail "purge removed the sessions' state"
[ -z "$(known)" ] || fail "dpkg still knows $(known) after the purge"
snapshot "$T/after"
left=$(diff "$T/before" "$T/after" | grep '^[<>]' | grep -v '^> d 711 root:root ./var/lib/sessiond $' |
	grep -v '^> . [0-7]* [a-z:]* ./var/lib/sessiond/')
[ -z "$left" ] || fail "install and purge changed the root beyond /var/lib/sessiond (< before, > after):
$left"

step "installed again, purged with an empty state directory"
rm -rf "$R/var/lib/sessiond"
in_root "$R" sh -c 'cd /tmp/pkgs && apt-get install -y ./*.deb' >"$T/install2.log" 2>&1 ||
	fail "the second apt-get install failed: $(tail -n 30 "$T/install2.log")"
[ "$(stat -c %a "$R/var/lib/sessiond")" = 711 ] || fail "the second install made no /var/lib/sessiond 0711"
in_root "$R" apt-get purge -y $PKGS >"$T/purge2.log" 2>&1 || fail "apt-get purge: $(tail -n 20 "$T/purge2.log")"
[ -z "$(known)" ] || fail "dpkg still knows $(known) after the second purge"
grep -q 'purge leaves' "$T/purge2.log" && fail "purge claims to leave an empty state directory"
snapshot "$T/after2"
left=$(diff "$T/before" "$T/after2" | grep '^[<>]')
[ -z "$left" ] || fail "install and purge changed the root (< before, > after):
$left"
step "done"
echo "deb: the packages built, lint-clean, installed, used and purged ($(( $(date +%s) - all_start ))s)"
exit 0
