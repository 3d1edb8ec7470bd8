#!/bin/sh
# tiers-restore-same-instance — a suspended session's next use (a token)
# restores it without a boot: the same instance id, domain name and
# scratch volume, the domain running again in libvirt under the same uuid;
# restore_count counts it, start_count does not; the image is deleted
# once it has served.  The starting and running events say "restore".
# Idle again, it is saved again under a new image name; delete removes it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")

ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
ctl start t >/dev/null || fail "start"
inst=$(field t .instance.id)
dom=$(field t .instance.domain)
scratch=$(field t .instance.scratch)
img=$(suspend_idle t)
watch_events t

tok=$(ctl hold t --detach --ttl 1m --reason restore) || fail "hold"
[ "$(field t .state)" = running ] || fail "not running after hold: $(field t .state)"
[ "$(field t .instance.id)/$(field t .instance.domain)/$(field t .instance.scratch)" = "$inst/$dom/$scratch" ] ||
	fail "another instance: $(field t .instance)"
[ "$(vsh domuuid "$dom")" = "$inst" ] || fail "libvirt's domain $dom has uuid $(vsh domuuid "$dom")"
vsh domstate "$dom" | grep -qx running || fail "domain $dom not running in libvirt"
[ "$(field t .restore_count)" = 1 ] || fail "restore_count $(field t .restore_count)"
[ "$(field t .start_count)" = 1 ] || fail "start_count $(field t .start_count): a restore is not a boot"
[ "$(saved_image t)" = null ] || fail "saved_state still set: $(field t .saved_state)"
[ ! -e "$img" ] || fail "the image $img is still there"
lv_volumes "$POOL" | grep -qx "$scratch" || fail "scratch volume gone"
wait_until 5 has_events running 1 || fail "no running event: $(events)"
[ "$(event_field starting .restore)" = true ] || fail "starting event: $(events starting)"
[ "$(event_field running .restore)" = true ] || fail "running event: $(events running)"
[ "$(event_field running .instance)" = "$inst" ] || fail "running event: $(events running)"

ctl release "$tok" >/dev/null || fail "release"
img2=$(suspend_idle t)
[ "$img2" != "$img" ] || fail "saved again under the same name $img"
[ -f "$img2" ] || fail "no second image"
ctl delete t >/dev/null || fail "delete"
[ ! -e "$img2" ] || fail "delete left the image $img2"
[ -z "$(ls -A "$T/state/saved")" ] || fail "left in the save directory: $(ls "$T/state/saved")"
[ -z "$(lv_instance_volumes "$POOL")" ] || fail "volumes left: $(lv_instance_volumes "$POOL")"
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
