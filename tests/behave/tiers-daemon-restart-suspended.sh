#!/bin/sh
# tiers-daemon-restart-suspended — a suspended session stays suspended
# across a daemon restart (its image checked to exist): the same instance,
# image and scratch volume, and its next use restores it.  When the image
# is gone meanwhile (here after a kill -9 of the daemon), the next daemon
# makes the session stopped with reason lost and cleans the instance up.
# When a setting the image depends on changed meanwhile (the state file
# edited: guest memory), the image is discarded (reason settings-changed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
libvirtd_hold
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")

ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
ctl start t >/dev/null || fail "start"
inst=$(field t .instance.id)
scratch=$(field t .instance.scratch)
img=$(suspend_idle t)
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"

SESSIOND_URI=$LV_URI start_daemon
[ "$(field t .state)" = suspended ] || fail "state after a restart: $(field t .state)"
[ "$(field t .instance.id)" = "$inst" ] || fail "instance after a restart: $(field t .instance.id)"
[ "$(saved_image t)" = "$img" ] || fail "image after a restart: $(saved_image t)"
[ -f "$img" ] || fail "the image is gone"
lv_volumes "$POOL" | grep -qx "$scratch" || fail "the restart swept the suspended scratch volume"
ctl start t >/dev/null || fail "start after the restart"
[ "$(field t .instance.id)" = "$inst" ] || fail "not restored: $(field t .instance.id)"
[ "$(field t .restore_count)" = 1 ] || fail "restore_count $(field t .restore_count)"

img=$(suspend_idle t)
kill9_daemon
rm -f "$img"
SESSIOND_URI=$LV_URI start_daemon
[ "$(field t .state)" = stopped ] || fail "state with the image gone: $(field t .state)"
[ "$(field t .last_stop_reason)" = lost ] || fail "last stop $(field t .last_stop_reason)"
[ "$(field t .instance)" = null ] || fail "an instance without an image"
wait_until 10 sh -c "! virsh -q -c '$LV_URI' vol-list '$POOL' | grep -q -e '$scratch'" ||
	fail "the lost instance's scratch volume $scratch is still there"
ctl start t >/dev/null || fail "start after the loss"
[ "$(field t .instance.id)" != "$inst" ] || fail "the lost instance came back"

img=$(suspend_idle t)
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
f="$T/state/sessions/$(jq -r .id "$T"/state/sessions/*.json).json"
jq -c '.settings.memory_mib = 1024' "$f" >"$f.new" && mv "$f.new" "$f" || fail "cannot edit $f"
SESSIOND_URI=$LV_URI start_daemon
[ "$(field t .state)/$(field t .last_stop_reason)" = stopped/settings-changed ] ||
	fail "after a memory change: $(field t .state)/$(field t .last_stop_reason)"
[ ! -e "$img" ] || fail "the image that no longer fits is still there"
ctl delete t >/dev/null || fail "delete"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
