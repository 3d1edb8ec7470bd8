#!/bin/sh
# 08-pool-identity — every daemon has a storage pool of its own, named
# after its daemon id (issue 18), on qemu:///system with the default pool
# (no `pool =` in the configuration):
#
#  a. ten times in a row the state directory is reset (removed; every
#     other time the next one is elsewhere, so the last pool is left over a
#     vanished directory) and a persistent session is created at once after
#     the start: it never fails, its disk is a file in the new STATE/pool,
#     the pool is sd-<8 hex of the new daemon id>, and a pool the last
#     daemon left over the same directory is gone;
#  b. two daemons with their own state directories, each with persistent
#     sessions and a booted VM: every volume of each (disks, template,
#     scratch) lies in its own directory; once one daemon's state is
#     removed, the other's sessions and disks are all there and its guest
#     boots again from the same disk (boot counter 2);
#  c. a defined pool of the daemon's name over another directory: the
#     daemon exits 1 naming both directories, never serves, and the pool
#     stays as it was; a transient pool of its name over a vanished or
#     another directory is replaced (files there left alone) and a create
#     at once works.
. "$(dirname "$0")/lib.sh"

sed -i '/^pool = /d' "$T/sessiond.conf"

# Pools (and domain prefixes: the same name) of the daemons run here,
# removed at the end; never one that was there before.
BEFORE=" $(vsh pool-list --all --name | tr '\n' ' ') "
MADE=""
made() {
	case "$BEFORE$MADE " in *" $1 "*) ;; *) MADE="$MADE $1" ;; esac
}
pool_identity_cleanup() {
	stop_daemon_b >/dev/null 2>&1
	stop_daemon >/dev/null 2>&1
	for p in $MADE; do
		for d in $(vsh list --all --name 2>/dev/null); do
			case "$d" in "$p"-*) vsh destroy "$d" >/dev/null 2>&1 ;; esac
		done
		pool_remove "$p"
	done
	e2e_cleanup
}
trap pool_identity_cleanup EXIT

mk_b() {
	n=$1
	shift
	ctl_b create "$n" --domain-type qemu --ready-pattern "$GUEST_READY" "$@" >/dev/null ||
		fail "B: create $n"
}

# boots_b NAME N — B's guest NAME counted boot N on its persistent disk.
boots_b() { ctl_b console "$1" 2>/dev/null | tr -d '\r' | grep -q "^MARKER boots=$2\$"; }

# ---- a. reset state directories ------------------------------------------

last="" last_dir=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	if [ $((i % 2)) = 1 ]; then S="$T/state"; else S="$T/state-$i"; fi
	start_daemon --state-dir "$S"
	made "$(id_pool "$S")"
	ctl create "p$i" --domain-type qemu >"$T/create.out" 2>&1 ||
		fail "run $i: create right after the start: $(cat "$T/create.out")"
	dir=$(readlink -f "$S/pool")
	pool=$(daemon_pool "$SESSIOND_SOCKET")
	made "$pool"
	vols_in_dir "$pool" "$dir" 1
	disk="$dir/$(id_pool "$S")-$(field "p$i" .id)-disk.qcow2"
	[ -f "$disk" ] || fail "run $i: no disk file $disk"
	[ "$(pool_target "$pool")" = "$dir" ] || fail "run $i: pool $pool is over '$(pool_target "$pool")', not $dir"
	[ "$pool" = "$(id_pool "$S")" ] || fail "run $i: pool '$pool', not named after daemon id $(cat "$S/daemon-id")"
	if [ "$last_dir" = "$dir" ] && pool_known "$last"; then
		fail "run $i: the pool $last of the last daemon over $dir is still there"
	fi
	stop_daemon || fail "run $i: the daemon exited $?"
	rm -rf "$S"
	last=$pool last_dir=$dir
done

# ---- b. two daemons, one libvirtd ------------------------------------------

start_daemon --state-dir "$T/a"
start_daemon_b "$T/b"
pa=$(daemon_pool "$SESSIOND_SOCKET")
pb=$(daemon_pool "$T/b.sock")
made "$pa"
made "$pb"
mk a1 --grace 10m
mk a2 --grace 10m
mk_b b1 --grace 10m
mk_b b2 --grace 10m
ctl start a1 >/dev/null || fail "A: start a1"
ctl_b start b1 >/dev/null || fail "B: start b1"
wait_until 10 boots_b b1 1 || fail "B's b1 did not count boot 1: $(ctl_b console b1)"
# two disks, the scratch template and one scratch each
vols_in_dir "$pa" "$(readlink -f "$T/a/pool")" 4
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
[ "$pa" != "$pb" ] || fail "both daemons use the pool $pa"
disks_b=""
for n in b1 b2; do disks_b="$disks_b $(id_pool "$T/b")-$(field_b "$n" .id)-disk.qcow2"; done

# A's state goes, as a user resetting it would: daemon, VMs, directory.
stop_daemon || fail "daemon A exited $?"
for d in $(vsh list --name); do
	case "$d" in "$pa"-*) vsh destroy "$d" >/dev/null || fail "destroy $d" ;; esac
done
rm -rf "$T/a"
for d in $disks_b; do
	vsh vol-list "$pb" | awk '{print $1}' | grep -qx "$d" || fail "B's disk $d is not in its pool $pb"
	[ -f "$T/b/pool/$d" ] || fail "B's disk $d went with A's state"
done
[ "$(ctl_b list --json | jq -r '[.sessions[].name] | sort | join(" ")')" = "b1 b2" ] ||
	fail "B's sessions after A's state went: $(ctl_b list)"
ctl_b stop b1 >/dev/null || fail "B: stop b1"
ctl_b start b1 >/dev/null || fail "B: b1 does not start again"
wait_until 10 boots_b b1 2 || fail "B's b1 did not boot from its own disk again: $(ctl_b console b1)"
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
ctl_b stop b1 >/dev/null || fail "B: stop b1"
stop_daemon_b || fail "daemon B exited $?"

# ---- c. a pool of the daemon's name over another directory -----------------

# Defined: somebody's configuration, never used, never changed.
S="$T/c"
name=$(new_state "$S")
made "$name"
mkdir -p "$T/elsewhere"
vsh pool-define-as "$name" dir --target "$T/elsewhere" >/dev/null || fail "cannot define pool $name"
start_refused "$S" "$T/c.log"
[ "$REFUSED_RC" = 1 ] ||
	fail "with $name defined over $T/elsewhere the daemon exited $REFUSED_RC, not 1: $(cat "$T/c.log")"
grep "$name" "$T/c.log" | grep "$T/elsewhere" | grep -q "$(readlink -f "$S/pool")" ||
	fail "the refusal does not name $name, $T/elsewhere and $S/pool: $(cat "$T/c.log")"
[ "$(pool_target "$name")" = "$T/elsewhere" ] || fail "the defined pool $name was changed: $(pool_target "$name")"
vsh pool-info "$name" | grep -q '^Persistent: *yes' || fail "the defined pool $name is no longer defined"

# Transient over a vanished directory, then over another one: replaced.
for kind in vanished other; do
	S="$T/$kind-state"
	name=$(new_state "$S")
	made "$name"
	mkdir -p "$T/$kind"
	echo keep >"$T/$kind/keep"
	vsh pool-create-as "$name" dir --target "$T/$kind" >/dev/null || fail "cannot create pool $name"
	[ "$kind" = vanished ] && rm -rf "${T:?}/$kind"
	start_daemon --state-dir "$S"
	ctl create "$kind" --domain-type qemu >"$T/create.out" 2>&1 ||
		fail "create at once over a replaced $kind pool: $(cat "$T/create.out")"
	dir=$(readlink -f "$S/pool")
	[ "$(pool_target "$name")" = "$dir" ] ||
		fail "the transient pool $name over the $kind directory was kept: it is over $(pool_target "$name")"
	vols_in_dir "$name" "$dir" 1
	[ "$kind" = vanished ] || [ "$(cat "$T/$kind/keep")" = keep ] ||
		fail "replacing the pool touched the files in $T/$kind"
	stop_daemon || fail "the daemon exited $?"
done
exit 0
