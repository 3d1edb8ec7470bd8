#!/bin/sh
# image-boot-overlay — a session created with an image boots every
# instance from an overlay volume of its own, backed by the image; the
# image itself is never attached, written, moved or removed.  Seen from
# outside through a private libvirtd (test driver): the domain XML's first
# disk is the instance's boot overlay in the daemon's pool, the overlay's
# backing store is the image, no disk of the domain is the image; each
# instance gets a new overlay and its teardown deletes it; the image file
# keeps its checksum, size and mtime through starts, stops and the delete.
# (The test driver opens no disk file, so the content of the image does
# not matter; it is random bytes, so a write would change the checksum.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
P=$(lv_prefix)

IMG="$T/images/base.qcow2"
mkdir -p "$T/images"
head -c 1048576 /dev/urandom >"$IMG" || fail "cannot write $IMG"
touch -d '2020-01-01 00:00:00' "$IMG"
image_id() { echo "$(sha256sum <"$IMG" | cut -d' ' -f1) $(stat -c '%s %Y %i' "$IMG")"; }
IMG_ID=$(image_id)

# check_instance — the running instance boots from its own overlay over
# the image.  Sets OVERLAY.
check_instance() {
	inst=$(field img .instance.id)
	dom=$(field img .instance.domain)
	OVERLAY="$P-$inst-boot.qcow2"
	vsh domblklist "$dom" --details >"$T/disks" || fail "no domain $dom in libvirt"
	vsh dumpxml "$dom" >"$T/dom.xml" || fail "no domain $dom in libvirt"
	# TYPE DEVICE TARGET SOURCE, one disk a line; a volume's source is its name.
	[ "$(awk '$3 == "vda" { print $1, $4 }' "$T/disks")" = "volume $OVERLAY" ] ||
		fail "vda is not the volume $OVERLAY: $(cat "$T/disks")"
	grep -q "<source pool='$P' volume='$OVERLAY'/>" "$T/dom.xml" ||
		fail "the overlay is not attached from the pool $P: $(cat "$T/dom.xml")"
	awk '$1 != "volume"' "$T/disks" | grep -q . && fail "a disk that is no pool volume: $(cat "$T/disks")"
	grep -q -F "$IMG" "$T/dom.xml" && fail "the domain names the image itself: $(cat "$T/dom.xml")"
	vsh vol-list "$P" | grep -q -F "$IMG" && fail "the image is a volume of the pool: $(vsh vol-list "$P")"
	vsh vol-dumpxml --pool "$P" "$OVERLAY" >"$T/vol.xml" || fail "no volume $OVERLAY"
	back=$(sed -n '/<backingStore>/,/<\/backingStore>/s|.*<path>\(.*\)</path>.*|\1|p' "$T/vol.xml")
	[ "$back" = "$IMG" ] || fail "the overlay's backing store is '$back', not $IMG: $(cat "$T/vol.xml")"
	[ "$(image_id)" = "$IMG_ID" ] || fail "the image changed: $IMG_ID -> $(image_id)"
}

ctl create img --image "$IMG" --grace 60s >/dev/null || fail "create img"
[ -z "$(lv_volumes | grep -e '-boot\.qcow2$')" ] || fail "a boot overlay before any start: $(lv_volumes)"
ctl start img >/dev/null || fail "start img"
check_instance
first=$OVERLAY

# A second instance: a new overlay; the first one is gone with its VM.
ctl stop img >/dev/null || fail "stop img"
lv_volumes | grep -qx "$first" && fail "the stop left the overlay $first"
[ "$(image_id)" = "$IMG_ID" ] || fail "the image changed at the stop"
ctl start img >/dev/null || fail "second start of img"
check_instance
[ "$OVERLAY" != "$first" ] || fail "the second instance reuses the overlay $first"

# The delete removes the overlay and the session's disk, never the image.
ctl delete img >/dev/null || fail "delete img"
boots=$(lv_volumes | grep -e '-boot\.qcow2$')
[ -z "$boots" ] || fail "boot overlays left after the delete: $boots"
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
[ -f "$IMG" ] || fail "the image is gone"
[ "$(image_id)" = "$IMG_ID" ] || fail "the image changed: $IMG_ID -> $(image_id)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
[ "$(image_id)" = "$IMG_ID" ] || fail "the image changed at the daemon's exit"
exit 0
