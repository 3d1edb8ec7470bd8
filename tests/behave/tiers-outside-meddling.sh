#!/bin/sh
# tiers-outside-meddling — what happens to a saved or restored VM behind
# the daemon's back goes through the disposition claims, and every
# instance is torn down once, its image and scratch volume with it:
#  A. the save fails (its directory replaced by a file): a normal stop,
#     reason idle, and the stop says why (event and last_stop_detail);
#  B. an outside "virsh restore" of a suspended instance's image: the
#     daemon's own restore then fails, the outside domain is destroyed
#     with the old instance (image, scratch), and a new instance boots
#     with a warning;
#  C. an outside "virsh save" of a running domain is no save of ours: the
#     exit is claimed as a crash (its STOPPED/SAVED event is not mistaken
#     for one of the daemon's own saves);
#  D. an outside destroy of a restored domain: a crash of that instance,
#     once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")
D="$T/state/saved"
gone_vol() { ! lv_volumes "$POOL" | grep -qx "$1"; }
acquire() {
	"$TOOLS/rpcpipe" -t 60 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"token.acquire\",\"params\":{\"name\":\"$1\",\"detach\":true,\"ttl_s\":60}}" \
		>"$T/acq-$1" || fail "token.acquire $1 not answered"
	jq -r '.result.token // empty' "$T/acq-$1"
}

echo "A. the save fails"
ctl create a --idle-action save --grace 1s >/dev/null || fail "create a"
ctl start a >/dev/null || fail "start a"
scratch=$(field a .instance.scratch)
rm -rf "$D" && : >"$D" || fail "cannot replace $D"
wait_until 30 state_is a stopped || fail "a is $(field a .state) after a failed save"
[ "$(field a .last_stop_reason)" = idle ] || fail "last stop $(field a .last_stop_reason)"
case "$(field a .last_stop_detail)" in "save failed: "*) ;; *) fail "detail: $(field a .last_stop_detail)" ;; esac
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
wait_until 10 gone_vol "$scratch" || fail "scratch $scratch left after the failed save"
rm -f "$D" && mkdir -m 700 "$D" || fail "cannot put $D back"
ctl delete a >/dev/null || fail "delete a"

echo "B. an outside restore of a suspended instance's image"
ctl create b --idle-action save --grace 1s >/dev/null || fail "create b"
ctl start b >/dev/null || fail "start b"
inst=$(field b .instance.id)
dom=$(field b .instance.domain)
scratch=$(field b .instance.scratch)
img=$(suspend_idle b)
vsh restore "$img" >/dev/null || fail "virsh restore $img"
vsh domstate "$dom" | grep -qx running || fail "the outside restore did not run $dom"
[ "$(field b .state)" = suspended ] || fail "b is $(field b .state) after the outside restore"
tok=$(acquire b)
[ -n "$tok" ] || fail "no VM for b: $(cat "$T/acq-b")"
case "$(field b .warning)" in *restore*) ;; *)
	fail "no restore warning: $(ctl status b --json)" ;; esac
[ "$(field b .instance.id)" != "$inst" ] || fail "b kept the instance"
wait_until 10 sh -c "! virsh -q -c '$LV_URI' list --all --name | grep -qx '$dom'" ||
	fail "the outside-restored domain $dom is still there"
[ ! -e "$img" ] || fail "the image $img is still there"
wait_until 10 gone_vol "$scratch" || fail "the old scratch $scratch is still there"
ctl release "$tok" >/dev/null || fail "release"
ctl delete b >/dev/null || fail "delete b"

echo "C. an outside save of a running domain"
ctl create c --idle-action save --grace 1m >/dev/null || fail "create c"
watch_events c
tok=$(acquire c)
[ -n "$tok" ] || fail "no VM for c"
dom=$(field c .instance.domain)
scratch=$(field c .instance.scratch)
vsh save "$dom" "$T/foreign.save" >/dev/null || fail "virsh save"
wait_until 20 state_is c failed || fail "c is $(field c .state) after an outside save"
[ "$(n_events crashed)" = 1 ] || fail "crashed events: $(events crashed)"
[ "$(field c .saved_state)" = null ] || fail "an outside save taken for the daemon's"
wait_until 10 gone_vol "$scratch" || fail "scratch $scratch left after the crash"
[ -f "$T/foreign.save" ] || fail "the outside save's file went"
ctl reset c >/dev/null && ctl delete c >/dev/null || fail "reset and delete c"

echo "D. an outside destroy of a restored domain"
ctl create d --idle-action save --grace 1s >/dev/null || fail "create d"
ctl start d >/dev/null || fail "start d"
inst=$(field d .instance.id)
dom=$(field d .instance.domain)
scratch=$(field d .instance.scratch)
img=$(suspend_idle d)
kill "$WATCH_PID" 2>/dev/null
watch_events d
tok=$(acquire d)
[ "$(field d .instance.id)/$(field d .restore_count)" = "$inst/1" ] || fail "d was not restored"
vsh destroy "$dom" >/dev/null || fail "virsh destroy $dom"
wait_until 20 state_is d failed || fail "d is $(field d .state) after the destroy"
wait_until 5 has_events crashed 1 || fail "no crashed event"
[ "$(n_events crashed)" = 1 ] && [ "$(n_events stopped)" = 0 ] || fail "ends of $inst: $(events | jq -c 'select(.event == "crashed" or .event == "stopped")')"
[ ! -e "$img" ] || fail "image $img left"
wait_until 10 gone_vol "$scratch" || fail "scratch $scratch left after the crash"
ctl reset d >/dev/null && ctl delete d >/dev/null || fail "reset and delete d"

[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
[ -z "$(lv_instance_volumes "$POOL")" ] || fail "volumes left: $(lv_instance_volumes "$POOL")"
[ -z "$(ls -A "$D")" ] || fail "left in the save directory: $(ls "$D")"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
