#!/bin/sh
# 08-pool-legacy — an installation from before pools were named after the
# daemon keeps working.  An earlier sessiond named every pool "sessiond";
# here that is `pool = sessiond` in the configuration.  It creates a
# session and boots its guest once (boot counter 1 on the persistent
# disk).  With the configuration line gone (the new default) the daemon
# keeps the pool "sessiond" over its STATE/pool, records that in
# STATE/pool-name, boots the same disk (counter 2) and puts a new
# session's disk there too.  When libvirt has lost the transient pool (as
# a libvirtd restart does), the next start makes "sessiond" again over the
# same directory and the disk boots a third time.
#
# Skips when a pool "sessiond" exists already on this libvirtd: it is
# somebody else's, and this scenario must not touch it.
. "$(dirname "$0")/lib.sh"

LEGACY=sessiond
pool_known "$LEGACY" &&
	skip "a pool named $LEGACY exists on this libvirtd (over $(pool_target "$LEGACY")); not touching it"

OURS=""
legacy_cleanup() {
	stop_daemon >/dev/null 2>&1
	[ -n "$OURS" ] && pool_remove "$LEGACY"
	e2e_cleanup
}
trap legacy_cleanup EXIT

# boots NAME N — the guest NAME counted boot N on its persistent disk.
boots() { ctl console "$1" 2>/dev/null | tr -d '\r' | grep -q "^MARKER boots=$2\$"; }

# boot NAME N — start, boot counter N, stop.
boot() {
	ctl start "$1" >/dev/null || fail "start $1 ($2)"
	wait_until 10 boots "$1" "$2" || fail "$1 did not count boot $2: $(ctl console "$1")"
	ctl stop "$1" >/dev/null || fail "stop $1 ($2)"
}

sed -i "s/^pool = .*/pool = $LEGACY/" "$T/sessiond.conf"
OURS=1
e2e_start
mk old --grace 10m
boot old 1
stop_daemon || fail "the daemon exited $?"

sed -i '/^pool = /d' "$T/sessiond.conf"
e2e_start
dir=$(readlink -f "$T/state/pool")
[ "$(daemon_pool "$SESSIOND_SOCKET")" = "$LEGACY" ] ||
	fail "the daemon left the pool $LEGACY for $(daemon_pool "$SESSIOND_SOCKET")"
[ "$(cat "$T/state/pool-name")" = "$LEGACY" ] || fail "STATE/pool-name: '$(cat "$T/state/pool-name" 2>&1)'"
grep -q "keeping the pool '$LEGACY'" "$DAEMON_LOG" || fail "the daemon did not say it keeps the pool $LEGACY"
boot old 2
mk new
[ -f "$dir/${PREFIX}$(field new .id)-disk.qcow2" ] || fail "the new session's disk is not in $dir"
vols_in_dir "$LEGACY" "$dir" 3
stop_daemon || fail "the daemon exited $?"

vsh pool-destroy "$LEGACY" >/dev/null || fail "pool-destroy $LEGACY"
e2e_start
[ "$(daemon_pool "$SESSIOND_SOCKET")" = "$LEGACY" ] ||
	fail "after libvirt lost it the daemon uses $(daemon_pool "$SESSIOND_SOCKET"), not $LEGACY"
[ "$(pool_target "$LEGACY")" = "$dir" ] || fail "the pool $LEGACY is over $(pool_target "$LEGACY"), not $dir"
boot old 3
exit 0
