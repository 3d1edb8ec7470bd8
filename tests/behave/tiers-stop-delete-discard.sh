#!/bin/sh
# tiers-stop-delete-discard — session.stop on a suspended session discards
# the saved memory: sessionctl says so, the session is stopped (reason
# requested, one stopped event for the instance), its image and scratch
# volume are gone, and the next start is a cold boot of a new instance.
# session.delete of a suspended session removes the image too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")

ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
ctl start t >/dev/null || fail "start"
inst=$(field t .instance.id)
scratch=$(field t .instance.scratch)
img=$(suspend_idle t)
watch_events t

ctl stop t >"$T/stop" || fail "stop: $(cat "$T/stop")"
cat "$T/stop"
grep -q "is suspended: stopping discards its saved memory" "$T/stop" || fail "stop did not say it discards"
grep -q "^session 't' is stopped$" "$T/stop" || fail "stop did not stop"
[ "$(field t .state)" = stopped ] || fail "state $(field t .state)"
[ "$(field t .last_stop_reason)" = requested ] || fail "last stop $(field t .last_stop_reason)"
[ "$(field t .instance)" = null ] || fail "an instance after the discard"
[ "$(saved_image t)" = null ] || fail "saved_state after the discard"
[ ! -e "$img" ] || fail "the image $img is still there"
lv_volumes "$POOL" | grep -qx "$scratch" && fail "the scratch volume $scratch is still there"
wait_until 5 has_events stopped 1 || fail "no stopped event: $(events)"
[ "$(event_field stopped .reason)/$(event_field stopped .instance)" = "requested/$inst" ] ||
	fail "stopped event: $(events stopped)"
ctl stop t >"$T/stop2" || fail "second stop"
grep -q discards "$T/stop2" && fail "a stopped session's stop says it discards"

ctl start t >/dev/null || fail "start after the discard"
[ "$(field t .instance.id)" != "$inst" ] || fail "the discarded instance came back"
[ "$(field t .start_count)/$(field t .restore_count)" = 2/0 ] || fail "not a cold boot"

img=$(suspend_idle t)
[ -f "$img" ] || fail "no second image"
ctl delete t >/dev/null || fail "delete"
[ ! -e "$img" ] || fail "delete left the image $img"
[ -z "$(ls -A "$T/state/saved")" ] || fail "left in the save directory: $(ls "$T/state/saved")"
[ -z "$(lv_instance_volumes "$POOL")" ] || fail "volumes left: $(lv_instance_volumes "$POOL")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
