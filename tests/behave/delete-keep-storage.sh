#!/bin/sh
# delete-keep-storage — session.delete removes the persistent volume the
# daemon created, and keeps it with keep_storage; a volume the session
# was given (disk) is never removed.  Seen from outside, through a private
# libvirtd (test driver) that the daemon uses: the volume list and the
# domain list, each read right after the delete is answered (the reply
# comes once all that is done, so no waiting).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
P=$(lv_prefix)

has_vol() { lv_volumes | grep -qx "$1"; }
has_dom() { lv_domains | grep -qx "$1"; }
# The volume name of sessiond(8), STORAGE: sd-D-SESSION_ID-disk.qcow2.
disk_of() { echo "$P-$(field "$1" .id)-disk.qcow2"; }

# create_started NAME [create flags] — created, its volume there, its VM up.
create_started() {
	n=$1
	shift
	ctl create "$n" --grace 60s "$@" >/dev/null || fail "create $n"
	ctl start "$n" >/dev/null || fail "start $n"
	dom=$(field "$n" .instance.domain)
	has_dom "$dom" || fail "$n: domain $dom not in libvirt: $(lv_domains)"
}

# Without keep_storage: the volume, the domain and the state file go.
create_started gone
gid=$(field gone .id)
gdisk=$(disk_of gone)
has_vol "$gdisk" || fail "no volume $gdisk after create: $(lv_volumes)"
[ -f "$T/state/sessions/$gid.json" ] || fail "no state file for 'gone'"
ctl delete gone >/dev/null || fail "delete gone"
has_vol "$gdisk" && fail "delete without keep_storage left the volume $gdisk"
has_dom "$dom" && fail "delete left the domain $dom"
[ -e "$T/state/sessions/$gid.json" ] && fail "delete left the state file"
ctl status gone >/dev/null 2>&1 && fail "'gone' still answers after its delete"

# With keep_storage: the volume stays, the rest goes.
create_started kept
kdisk=$(disk_of kept)
has_vol "$kdisk" || fail "no volume $kdisk after create: $(lv_volumes)"
ctl delete kept --keep-storage >/dev/null || fail "delete kept --keep-storage"
has_vol "$kdisk" || fail "delete with keep_storage removed the volume $kdisk"
has_dom "$dom" && fail "delete with keep_storage left the domain $dom"
ctl status kept >/dev/null 2>&1 && fail "'kept' still answers after its delete"

# The kept volume as another session's disk: attached, and left alone by
# a delete without keep_storage, since the daemon did not create it.
create_started reuse --disk "$kdisk"
vsh dumpxml "$dom" | grep -q "volume='$kdisk'" || fail "'reuse' does not boot with $kdisk: $(vsh dumpxml "$dom")"
has_vol "$(disk_of reuse)" && fail "'reuse' got a volume of its own besides $kdisk"
ctl delete reuse >/dev/null || fail "delete reuse"
has_vol "$kdisk" || fail "deleting 'reuse' removed $kdisk, which it was given, not created"
has_dom "$dom" && fail "delete left the domain $dom"

# Nothing else of the three sessions is left: no domain, and only the
# kept disk and the shared scratch template among the volumes.
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
left=$(lv_volumes | grep -v -x -e "$kdisk" -e "$P-template-[0-9.]*g.qcow2")
[ -z "$left" ] || fail "volumes left: $left"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
