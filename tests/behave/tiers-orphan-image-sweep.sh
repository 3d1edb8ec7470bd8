#!/bin/sh
# tiers-orphan-image-sweep — at start the daemon deletes the memory images
# of its own (named with its prefix) that no session records, as it sweeps
# stale scratch volumes; another daemon's images, other files, and the
# image of a suspended session stay.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
libvirtd_hold
SESSIOND_URI=$LV_URI start_daemon
P=$(lv_prefix)
ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
ctl start t >/dev/null || fail "start"
img=$(suspend_idle t)
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"

D="$T/state/saved"
orphan="$D/$P-0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f-0.save"
foreign="$D/sd-ffffffff-0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f-0.save"
: >"$orphan"
: >"$foreign"
# Left by an earlier run: the sweep keeps what was written since it listed.
touch -d '1 hour ago' "$orphan" "$foreign"
: >"$D/notes.txt"

SESSIOND_URI=$LV_URI start_daemon
[ ! -e "$orphan" ] || fail "the orphan image $orphan was not swept"
[ -e "$foreign" ] || fail "another daemon's image was swept"
[ -e "$D/notes.txt" ] || fail "a file that is no image was swept"
[ -f "$img" ] || fail "the suspended session's image was swept"
[ "$(field t .state)" = suspended ] || fail "state $(field t .state)"
grep -q "removed memory image $orphan" "$DAEMON_LOG" || fail "the sweep did not say what it removed"
ctl delete t >/dev/null || fail "delete"
[ "$(ls "$D" | sort | tr '\n' ' ')" = "notes.txt $(basename "$foreign") " ] || fail "left: $(ls "$D")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
