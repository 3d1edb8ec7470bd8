#!/bin/sh
# tiers-save-on-idle — with idle_action save, the end of the grace saves
# the VM's memory instead of stopping it.  The session is suspended: its
# domain is gone from libvirt (the outside observer, virsh, sees none),
# while the instance, its scratch volume and a memory image stay; the
# image is a file in the state directory (STATE/saved, mode 0700) of mode
# 0600, as large as session.get says.  status shows the tier, list shows
# suspended; the events are stopping (reason idle, action save) and
# suspended (with the instance and saved_state), and no stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")

ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
[ "$(field t .idle_action)" = save ] || fail "idle_action is $(field t .idle_action)"
watch_events t
tok=$(ctl hold t --detach --ttl 1m) || fail "hold"
inst=$(field t .instance.id)
dom=$(field t .instance.domain)
scratch=$(field t .instance.scratch)
vsh domstate "$dom" | grep -qx running || fail "domain $dom is not running"
ctl release "$tok" >/dev/null || fail "release"

img=$(suspend_idle t)
echo "image: $img"
[ "$(field t .instance.id)" = "$inst" ] || fail "the instance changed: $(field t .instance.id), not $inst"
[ "$(field t .instance.domain)" = "$dom" ] || fail "the domain name changed"
vsh list --all --name | grep -qx "$dom" && fail "domain $dom is still in libvirt while suspended"
lv_volumes "$POOL" | grep -qx "$scratch" || fail "scratch volume $scratch is gone: $(lv_volumes "$POOL")"
case "$img" in "$T/state/saved/"*) ;; *) fail "the image is not in STATE/saved: $img" ;; esac
[ -f "$img" ] || fail "no image file $img"
[ "$(stat -c %a "$img")" = 600 ] || fail "image mode $(stat -c %a "$img")"
[ "$(stat -c %a "$T/state/saved")" = 700 ] || fail "save directory mode $(stat -c %a "$T/state/saved")"
[ "$(field t .saved_state.bytes)" = "$(stat -c %s "$img")" ] ||
	fail "saved_state.bytes $(field t .saved_state.bytes), the file has $(stat -c %s "$img")"
[ "$(field t .start_count)" = 1 ] && [ "$(field t .restore_count)" = 0 ] || fail "counts"
[ "$(field t .last_stop_reason)" = idle ] || fail "last stop $(field t .last_stop_reason)"

ctl status t | grep -Eq '^State: +suspended \(saved [0-9]+ [KMG]iB, [0-9.hms]+ ago\)$' ||
	fail "status does not show the tier: $(ctl status t)"
ctl status t | grep -q "^Saved memory: $img\$" || fail "status does not name the image"
[ "$(ctl list | awk '$1 == "t" { print $3 }')" = suspended ] || fail "list: $(ctl list)"
[ "$(ctl list --state suspended --json | jq '.sessions | length')" = 1 ] || fail "list --state suspended"

wait_until 5 has_events suspended 1 || fail "no suspended event: $(events)"
[ "$(event_field stopping .reason)/$(event_field stopping .action)" = idle/save ] ||
	fail "stopping event: $(events stopping)"
[ "$(event_field suspended .instance)" = "$inst" ] || fail "suspended event: $(events suspended)"
[ "$(event_field suspended .saved_state.path)" = "$img" ] || fail "suspended event: $(events suspended)"
[ "$(n_events stopped)" = 0 ] || fail "a stopped event for a save: $(events stopped)"

daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
