#!/bin/sh
# 10-tiers-save-restore — idle_action save on QEMU.  The guest keeps a
# marker only in memory (a random id drawn after boot, in a shell variable
# and in a file of its tmpfs root) and prints it with its boot id and
# uptime every second.  With nothing holding it, the VM is saved at the
# end of its grace: the session is suspended, QEMU's process and the
# domain are gone, the instance and its scratch volume stay, and the
# memory image is a 0600 file in a 0700 directory.  The next hold
# restores the same instance without a boot: same boot id and marker, a
# greater uptime, one ready line on the console, restore_count 1 and
# start_count still 1, the image deleted.  After a stop (which discards
# nothing now: the VM runs) the next hold boots anew: a new boot id and a
# new marker, start_count 2.
. "$(dirname "$0")/lib.sh"

count() { ctl console "$1" | tr -d '\r' | grep -c "$2"; }
# beat_not NAME BOOT_ID — a heartbeat of a boot other than BOOT_ID.
beat_not() { b=$(beat "$1"); [ -n "$b" ] && [ "${b%% *}" != "$2" ]; }

e2e_start
mk tiered --grace 5s --idle-action save --cmdline "$GUEST_CMDLINE e2e.heartbeat=1"
[ "$(field tiered .idle_action)" = save ] || fail "idle_action is $(field tiered .idle_action), not save"
tok=$(hold_detached tiered) || fail "hold tiered"
inst=$(inst_of tiered)
dom=$(dom_of tiered)
scratch=$(field tiered .instance.scratch)
pid=$(qemu_pid "$dom") || fail "no QEMU process for $dom"
wait_until 30 has_beat tiered || fail "no heartbeat from the guest: $(ctl console tiered | tail -n 5)"
set -- $(beat tiered)
boot=$1 up1=$2 mark=$3
[ "$4" = "$mark" ] || fail "the guest's /mark ($4) is not its marker ($mark)"

# The grace runs out: saved, not stopped.
ctl release "$tok" >/dev/null || fail "release $tok"
wait_until 120 state_is tiered suspended ||
	fail "not suspended after the grace: state $(field tiered .state), last stop $(field tiered .last_stop_detail)"
wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "QEMU $pid still runs while suspended"
dom_gone "$dom" || fail "domain $dom still listed while suspended: $(vsh domstate "$dom" 2>&1)"
[ "$(inst_of tiered)" = "$inst" ] || fail "the instance changed at the save: $inst -> $(inst_of tiered)"
vol_listed "$scratch" || fail "scratch $scratch deleted while suspended"
img=$(field tiered .saved_state.path)
bytes=$(field tiered .saved_state.bytes)
[ -f "$img" ] || fail "no memory image at $img"
[ "$(stat -c %s "$img")" = "$bytes" ] || fail "image is $(stat -c %s "$img") bytes, session.get says $bytes"
[ "$(stat -c %a "$img")" = 600 ] || fail "image mode $(stat -c %a "$img"), not 600"
[ "$(stat -c %a "$(dirname "$img")")" = 700 ] || fail "image directory mode $(stat -c %a "$(dirname "$img")"), not 700"
ctl status tiered | grep -q "suspended (saved" || fail "status does not show the tier: $(ctl status tiered | head -n 3)"
echo "saved $dom: $bytes bytes at $img, QEMU $pid gone"

# The next hold restores it: the same boot goes on.
tok=$(hold_detached tiered) || fail "hold tiered after the save"
[ "$(field tiered .state)" = running ] || fail "state $(field tiered .state) after the hold, not running"
[ "$(inst_of tiered)" = "$inst" ] || fail "the restore made a new instance: $inst -> $(inst_of tiered)"
[ "$(field tiered .restore_count)" = 1 ] || fail "restore_count $(field tiered .restore_count), not 1"
[ "$(field tiered .start_count)" = 1 ] || fail "start_count $(field tiered .start_count) after a restore, not 1"
[ "$(field tiered .saved_state)" = null ] || fail "saved_state still set after the restore: $(field tiered .saved_state)"
[ -e "$img" ] && fail "the image $img is left after the restore"
pid2=$(qemu_pid "$dom") || fail "no QEMU process for $dom after the restore"
wait_until 30 beat_after tiered "$up1" || fail "no heartbeat after uptime $up1: $(beat tiered)"
set -- $(beat tiered)
[ "$1" = "$boot" ] || fail "the guest booted again: boot id $boot -> $1"
[ "$3" = "$mark" ] && [ "$4" = "$mark" ] || fail "the in-memory marker changed: $mark -> $3 (file $4)"
[ "$(count tiered "$GUEST_READY")" = 1 ] || fail "the console shows $(count tiered "$GUEST_READY") boots, not 1"
echo "restored $dom (QEMU $pid2): boot $boot, marker $mark, uptime $up1 s before the save, $2 s after"

# A stop discards the running VM; the next hold is a cold boot.
ctl release "$tok" >/dev/null || fail "release $tok"
ctl stop tiered >/dev/null || fail "stop tiered"
wait_until 60 state_is tiered stopped || fail "not stopped: $(field tiered .state)"
tok=$(hold_detached tiered) || fail "hold tiered after the stop"
[ "$(inst_of tiered)" != "$inst" ] || fail "the same instance $inst after a stop"
[ "$(field tiered .start_count)" = 2 ] || fail "start_count $(field tiered .start_count) after a stop and a hold, not 2"
wait_until 30 beat_not tiered "$boot" || fail "no heartbeat of a new boot: $(beat tiered)"
set -- $(beat tiered)
[ "$3" != "$mark" ] || fail "the marker $mark survived a stop"
echo "after the stop: boot $1, marker $3"
ctl release "$tok" >/dev/null || fail "release $tok"
exit 0
