#!/bin/sh
# 04-persistent-disk — the session's persistent disk outlives its VMs: the
# guest keeps a boot counter on it (raw sector at 1 MiB), and across three
# VMs (stopped once by idle, once by sessionctl stop) the counter reads
# 1, 2, 3.  After the last stop the host reads "boots=3" from the volume
# itself, and the disk is still in the pool; each VM got a fresh scratch.
. "$(dirname "$0")/lib.sh"

# boot N — one VM; its console must show boot N.
boot() {
	ctl run keeper -- sh -c "\"$SESSIONCTL\" console keeper | tr -d '\\r' > \"$T/console$1.txt\"" || fail "run $1 exited $?"
	grep -q "^MARKER boots=$1\$" "$T/console$1.txt" ||
		fail "VM $1 did not count boot $1 on the persistent disk: $(cat "$T/console$1.txt")"
	grep -q "^SCRATCH fresh" "$T/console$1.txt" || fail "VM $1's scratch was not fresh"
}

e2e_start
mk keeper --grace 2s
sid=$(field keeper .id)
disk="${PREFIX}$sid-disk.qcow2"
vol_listed "$disk" || fail "no persistent disk $disk in pool $POOL after create: $(vsh vol-list "$POOL")"

boot 1
wait_until 60 state_is keeper stopped || fail "VM 1 did not idle-stop"
boot 2
ctl stop keeper >/dev/null || fail "sessionctl stop exited $?"
[ "$(field keeper .state)" = stopped ] || fail "stop returned with the session $(field keeper .state)"
[ "$(field keeper .last_stop_reason)" = requested ] || fail "last stop $(field keeper .last_stop_reason), not requested"
boot 3
wait_until 60 state_is keeper stopped || fail "VM 3 did not idle-stop"
[ "$(field keeper .start_count)" = 3 ] || fail "start_count $(field keeper .start_count), not 3"

vol_listed "$disk" || fail "the persistent disk $disk went with the VMs"
path=$(vol_path "$disk")
# qemu-io's hex dump of the sector, back to text (qemu-img dd of 7.2
# counts skipped blocks in count=, so it cannot read one sector alone).
qemu-io -r -f qcow2 -c "read -v 1048576 32" "$path" >"$T/sector.txt" 2>&1 || fail "qemu-io: $(cat "$T/sector.txt")"
text=""
for h in $(sed -n 's/^[0-9a-f]*: *//p' "$T/sector.txt" | cut -c1-48); do
	[ "$h" = 0a ] || [ "$h" = 00 ] && break
	text="$text$(printf "\\$(printf %o "0x$h")")"
done
[ "$text" = "SESSIOND-E2E-MARKER boots=3" ] || fail "the volume holds '$text' at 1 MiB, not boots=3"
exit 0
