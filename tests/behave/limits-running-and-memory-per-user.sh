#!/bin/sh
# limits-running-and-memory-per-user — max_running_per_user = 2 and
# max_memory_mib_per_user = 1280 for a non-root user (nobody, against a
# root daemon): a third VM, or one whose memory would pass the figure, is
# refused with -32006 and a message naming the limit, the user's use and
# the figure; the caller is answered at once (never parked), through
# sessionctl and raw frames; nothing of it reaches libvirt (the private
# libvirtd's own list, through virsh); root is exempt, also for big VMs;
# root acting for nobody meets nobody's limit; a stop makes room.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || fail "needs setpriv (util-linux)"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"

NOBODY=$(id -u nobody)
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
start_req() {  # start_req ID NAME [OWNER]
	echo "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"session.start\",\"params\":{\"name\":\"$2\"${3:+,\"owner_uid\":$3}}}"
}
running_domains() { lv_domains | wc -l; }

libvirtd_start
printf 'max_running_per_user = 2\nmax_memory_mib_per_user = 1280\nscratch_gib = 0\n' >"$T/sessiond.conf"
SESSIOND_URI=$LV_URI start_daemon
as_nobody "$SESSIONCTL" list >/dev/null 2>&1 || fail "nobody cannot reach the socket under $T"

for n in a b c; do as_nobody "$SESSIONCTL" create "$n" --memory 512 >/dev/null || fail "nobody: create $n"; done
as_nobody "$SESSIONCTL" create big --memory 1024 >/dev/null || fail "nobody: create big"
as_nobody "$SESSIONCTL" start a >/dev/null || fail "nobody: start a"
as_nobody "$SESSIONCTL" start b >/dev/null || fail "nobody: start b"
[ "$(running_domains)" = 2 ] || fail "libvirt runs $(running_domains) domains, not 2: $(lv_domains)"

# The third: refused at once, through sessionctl ...
t0=$(date +%s%N)
as_nobody "$SESSIONCTL" start c >"$T/out" 2>"$T/err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 1 ] || fail "nobody: third start exited $rc, not 1: $(cat "$T/out" "$T/err")"
grep -q "limit reached: max_running_per_user is 2 and user $NOBODY has 2 VM(s) starting or running" "$T/err" ||
	fail "nobody: third start said: $(cat "$T/err")"
echo "refused in $ms ms"
# ... by raw frames, and for a command that needs the VM (run) too.
code=$(as_nobody "$TOOLS/rpcpipe" -t 10 "$(start_req 1 c)" | jq -r '.error.code')
[ "$code" = -32006 ] || fail "nobody: third start by RPC gave $code, not -32006"
as_nobody "$SESSIONCTL" run c -- true 2>"$T/err" && fail "nobody: run c succeeded past the limit"
grep -q "max_running_per_user is 2" "$T/err" || fail "nobody: run c said: $(cat "$T/err")"
[ "$(as_nobody "$SESSIONCTL" status c --json | jq -r '.state + " " + (.waiting|tostring)')" = "stopped 0" ] ||
	fail "c after the refusals: $(as_nobody "$SESSIONCTL" status c --json | jq -c '{state, waiting}')"
[ "$(running_domains)" = 2 ] || fail "a refused start reached libvirt: $(lv_domains)"

# Root for nobody meets nobody's limit; root for itself does not.
code=$("$TOOLS/rpcpipe" -t 10 "$(start_req 1 c "$NOBODY")" | jq -r '.error.code')
[ "$code" = -32006 ] || fail "root starting nobody's third VM gave $code, not -32006"
for n in r1 r2 r3; do ctl create "$n" --memory 2048 >/dev/null || fail "root: create $n"; done
for n in r1 r2 r3; do ctl start "$n" >/dev/null || fail "root: start $n (root is exempt)"; done
[ "$(running_domains)" = 5 ] || fail "libvirt runs $(running_domains) domains, not 5"

# Memory: with one of nobody's VMs stopped, 512 + 1024 > 1280 is refused.
as_nobody "$SESSIONCTL" stop a >/dev/null || fail "nobody: stop a"
as_nobody "$SESSIONCTL" start big 2>"$T/err" && fail "nobody: start big succeeded past the memory limit"
grep -q "limit reached: max_memory_mib_per_user is 1280 and user $NOBODY has 512 MiB in VMs starting or running; 'big' needs 1024 MiB more" "$T/err" ||
	fail "nobody: start big said: $(cat "$T/err")"
# ... and a stop makes room for what fits.
as_nobody "$SESSIONCTL" start c >/dev/null || fail "nobody: start c after a stop"
[ "$(running_domains)" = 5 ] || fail "libvirt runs $(running_domains) domains, not 5 (r1-r3, b, c)"
grep -q "session $NOBODY/c: limit reached" "$DAEMON_LOG" || fail "the refusal is not logged"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly"
exit 0
