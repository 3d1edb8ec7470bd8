#!/bin/sh
# installed-client-library — the client library through an installed copy:
# "make install DESTDIR=$T/inst PREFIX=/usr" stages the library as its real
# name libsessiond-client.so.0.X.Y (X.Y from the version) with the soname
# link .so.0 and the development link .so, and sessiond-client.pc with
# "Requires: jansson" (the header exposes json_t) and no -ljansson of its
# own.  tests/install/client-demo.c is built with nothing but
# "pkg-config --cflags --libs sessiond-client" pointed into the staged
# tree (PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_PATH), links the SHARED library
# (NEEDED libsessiond-client.so.0, the sdc_ functions undefined in the
# program, resolved to the staged copy), and calls the installed daemon:
# daemon.info, session.create, token.acquire and token.release, checking
# each answer.  The installed sessionctl confirms the session from outside.
# Built against a sanitizer build, the demo gets the library's sanitizers.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
INST="$T/inst"
LIBDIR="$INST/usr/lib"
command -v pkg-config >/dev/null || fail "needs pkg-config"
command -v readelf >/dev/null || fail "needs readelf (binutils)"

# Not as a sub-make of "make check": its jobserver is not ours.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory BUILD="$BUILD" \
	install DESTDIR="$INST" PREFIX=/usr >"$T/install.log" 2>&1 ||
	fail "make install failed: $(tail -n 20 "$T/install.log")"

export PKG_CONFIG_SYSROOT_DIR="$INST" PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
VERSION=$(pkg-config --modversion sessiond-client) || fail "pkg-config does not find the staged sessiond-client.pc"
REAL="libsessiond-client.so.0.$(echo "$VERSION" | cut -d. -f2-3)"

# The files: a real name, the soname link and the development link.
[ -f "$LIBDIR/$REAL" ] && [ ! -L "$LIBDIR/$REAL" ] || fail "no library file $REAL: $(ls -l "$LIBDIR")"
[ "$(readlink "$LIBDIR/libsessiond-client.so.0")" = "$REAL" ] || fail "libsessiond-client.so.0 is no link to $REAL: $(ls -l "$LIBDIR")"
[ -L "$LIBDIR/libsessiond-client.so" ] && [ "$(readlink -f "$LIBDIR/libsessiond-client.so")" = "$LIBDIR/$REAL" ] ||
	fail "libsessiond-client.so is no link to $REAL: $(ls -l "$LIBDIR")"
readelf -d "$LIBDIR/$REAL" | grep -q 'SONAME.*\[libsessiond-client\.so\.0\]' ||
	fail "$REAL has no soname libsessiond-client.so.0: $(readelf -d "$LIBDIR/$REAL" | grep SONAME)"
pc="$LIBDIR/pkgconfig/sessiond-client.pc"
grep -qx 'Requires: jansson' "$pc" || fail "sessiond-client.pc does not require jansson: $(cat "$pc")"
grep '^Libs:' "$pc" | grep -q jansson && fail "sessiond-client.pc links jansson itself: $(grep '^Libs' "$pc")"

# The demo, built the way a user of the installed -dev files would.
san=""
for s in asan:address ubsan:undefined tsan:thread; do
	readelf -d "$LIBDIR/$REAL" | grep -q "NEEDED.*lib${s%%:*}\." && san="$san,${s#*:}"
done
flags=$(pkg-config --cflags --libs sessiond-client) || fail "pkg-config --cflags --libs sessiond-client failed"
echo "pkg-config: $flags${san:+ (and -fsanitize=${san#,})}"
cc -std=c11 -Wall -Wextra -Werror ${san:+-fsanitize=${san#,}} -o "$T/client-demo" \
	"$ROOT/tests/install/client-demo.c" $flags >"$T/cc.log" 2>&1 ||
	fail "client-demo does not build with the staged tree: $(cat "$T/cc.log")"
readelf -d "$T/client-demo" | grep -q 'NEEDED.*\[libsessiond-client\.so\.0\]' ||
	fail "client-demo does not link the shared library: $(readelf -d "$T/client-demo" | grep NEEDED)"
nm -D --undefined-only "$T/client-demo" | grep -q ' sdc_token_acquire$' ||
	fail "client-demo carries sdc_token_acquire itself (static library?)"
export LD_LIBRARY_PATH="$LIBDIR"
ldd "$T/client-demo" | grep -q "libsessiond-client\.so\.0 => $LIBDIR/libsessiond-client\.so\.0 " ||
	fail "client-demo does not load the staged library: $(ldd "$T/client-demo")"

# The installed daemon and sessionctl, the staged library's client.
SESSIOND="$INST/usr/sbin/sessiond"
SESSIONCTL="$INST/usr/bin/sessionctl"
start_daemon
"$T/client-demo" "$SESSIOND_SOCKET" demo "$VERSION" >"$T/demo.out" 2>&1 || fail "client-demo: $(cat "$T/demo.out")"
cat "$T/demo.out"
[ "$(field demo .state)" = running ] || fail "demo is $(field demo .state) after the demo's token"
[ "$(field demo .start_count)" = 1 ] || fail "demo's start_count is $(field demo .start_count)"
[ "$(field demo '.holds | length')" = 0 ] || fail "holds left on demo: $(ctl holds demo)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the installed daemon did not exit cleanly on SIGTERM"
exit 0
