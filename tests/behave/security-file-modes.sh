#!/bin/sh
# security-file-modes — the modes the code sets, whatever umask the daemon
# is started with: the socket 0666 (anyone may connect: each request is
# authorized by the peer's uid), the state directory 0711 (QEMU of
# qemu:///system must pass through it), sessions/ 0700, console/ and
# pool/ 0711, daemon-id 0644, every session state file
# 0600, also after it is rewritten, and nothing in the state tree is group-
# or world-writable.  A socket directory the daemon creates is 0755.  So
# uid nobody can connect but cannot list the state directory, read a
# state file or write into console/.  Started again under umask 077 the
# socket is still 0666.
. "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }
expect_mode() { [ "$(mode "$1")" = "$2" ] || fail "$1 has mode $(mode "$1"), not $2"; }

export SESSIOND_SOCKET="$T/run/sub/sock"
umask 000
start_daemon
umask 022
ctl create alpha >/dev/null || fail "create alpha"
ctl create beta --storage ephemeral >/dev/null || fail "create beta"

[ -S "$SESSIOND_SOCKET" ] || fail "no socket at $SESSIOND_SOCKET"
expect_mode "$SESSIOND_SOCKET" 666
expect_mode "$T/run/sub" 755
expect_mode "$T/run" 755
expect_mode "$T/state" 711
expect_mode "$T/state/sessions" 700
expect_mode "$T/state/console" 711
[ -d "$T/state/pool" ] && expect_mode "$T/state/pool" 711
expect_mode "$T/state/daemon-id" 644
for f in "$T"/state/sessions/*.json; do expect_mode "$f" 600; done
[ "$(ls "$T/state/sessions" | wc -l)" = 2 ] || fail "not two state files: $(ls -a "$T/state/sessions")"

# Rewritten (a detached token is saved in it): still 0600.
ctl hold alpha --ttl 5m --detach >/dev/null || fail "hold alpha"
ctl start beta >/dev/null || fail "start beta"
for f in "$T"/state/sessions/*.json; do expect_mode "$f" 600; done
w=$(find "$T/state" -perm /022 ! -type l)
[ -z "$w" ] || fail "group- or world-writable in the state tree: $w"
for f in "$T"/state/sessions/*.json; do
	[ "$(stat -c %u "$f")" = 0 ] || fail "$f is not owned by root"
done

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody "$SESSIONCTL" list >/dev/null || fail "nobody cannot use the 0666 socket"
	as_nobody ls "$T/state" >/dev/null 2>&1 && fail "nobody can list the state directory"
	as_nobody cat "$T"/state/sessions/*.json >/dev/null 2>&1 && fail "nobody can read a state file"
	as_nobody sh -c ": > '$T/state/console/intruder'" 2>/dev/null && fail "nobody can write into console/"
	as_nobody ls "$T/state/console" >/dev/null 2>&1 && fail "nobody can list console/"
fi

# umask 077 for the next daemon: the socket is still for everyone.
stop_daemon || fail "the daemon did not stop"
umask 077
start_daemon
umask 022
expect_mode "$SESSIOND_SOCKET" 666
ctl create gamma >/dev/null || fail "create gamma"
ctl delete beta >/dev/null || fail "delete beta"
for f in "$T"/state/sessions/*.json; do expect_mode "$f" 600; done
exit 0
