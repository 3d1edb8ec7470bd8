#!/bin/sh
# pool-identity — every daemon has a storage pool of its own, named after
# its daemon id, and never works in a pool over another daemon's
# directory.  Through a private libvirtd (test driver), whose pools outlive
# a daemon as a real libvirtd's do:
#
#  1. four times in a row the state directory is reset (removed; every
#     other time the next one is elsewhere) and a persistent session is
#     created at once after the start (tests/e2e/08-pool-identity.sh does
#     it ten times on QEMU; four keep this script short under valgrind):
#     it never fails, the pool is sd-<8 hex of the new daemon id> over
#     the new STATE/pool, and a pool the last daemon left over the same
#     directory is gone;
#  2. two daemons with their own state directories: all volumes of each
#     (disks, scratch template, scratch) lie in its own directory; after
#     one daemon's state is removed the other's sessions and disks are all
#     there and its session starts again;
#  3. a pool of the daemon's name over another directory: a transient one
#     is replaced; with a defined one the daemon exits 1 naming both
#     directories, never serves its socket, and leaves that pool alone.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null 2>&1 || skip "needs jq"
. "$(dirname "$0")/lib-libvirtd.sh"
libvirtd_start
libvirtd_hold                           # its state outlives each daemon
export SESSIOND_URI="$LV_URI"

# ---- 1. reset state directories ----------------------------------------

last="" last_dir=""
for i in 1 2 3 4; do
	if [ $((i % 2)) = 1 ]; then S="$T/state"; else S="$T/state-$i"; fi
	start_daemon --state-dir "$S"
	ctl create "p$i" >"$T/create.out" 2>&1 || fail "run $i: create right after the start: $(cat "$T/create.out")"
	dir=$(readlink -f "$S/pool")
	pool=$(daemon_pool "$SESSIOND_SOCKET")
	vols_in_dir "$pool" "$dir" 1
	[ "$(pool_target "$pool")" = "$dir" ] || fail "run $i: pool $pool is over '$(pool_target "$pool")', not $dir"
	[ "$pool" = "$(id_pool "$S")" ] || fail "run $i: pool '$pool', not named after daemon id $(cat "$S/daemon-id")"
	if [ "$last_dir" = "$dir" ] && pool_known "$last"; then
		fail "run $i: the pool $last of the last daemon over $dir is still there"
	fi
	stop_daemon || fail "run $i: the daemon exited $?"
	rm -rf "$S"
	last=$pool last_dir=$dir
done

# ---- 2. two daemons, one libvirtd ---------------------------------------

start_daemon --state-dir "$T/a"
start_daemon_b "$T/b"
pa=$(daemon_pool "$SESSIOND_SOCKET")
pb=$(daemon_pool "$T/b.sock")
for n in a1 a2; do ctl create "$n" >/dev/null || fail "A: create $n"; done
for n in b1 b2; do ctl_b create "$n" >/dev/null || fail "B: create $n"; done
ctl start a1 >/dev/null || fail "A: start a1"
ctl_b start b1 >/dev/null || fail "B: start b1"
# two disks, the scratch template and a1's (b1's) scratch each
vols_in_dir "$pa" "$(readlink -f "$T/a/pool")" 4
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
[ "$pa" != "$pb" ] || fail "both daemons use the pool $pa"
disks_b=""
for n in b1 b2; do
	disks_b="$disks_b $(id_pool "$T/b")-$(field_b "$n" .id)-disk.qcow2"
done

stop_daemon || fail "daemon A exited $?"
rm -rf "$T/a"
for d in $disks_b; do
	vsh vol-list "$pb" | awk '{print $1}' | grep -qx "$d" || fail "B's disk $d went with A's state"
done
stop_daemon_b || fail "daemon B exited $?"
start_daemon_b "$T/b"
[ "$(ctl_b list --json | jq -r '[.sessions[].name] | sort | join(" ")')" = "b1 b2" ] ||
	fail "B's sessions after A's state went: $(ctl_b list)"
[ "$(field_b b1 .state)" = running ] ||
	fail "B did not adopt b1's VM: $(ctl_b status b1)"
ctl_b stop b1 >/dev/null || fail "B: stop b1"
ctl_b start b1 >/dev/null || fail "B: b1 does not start again"
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
stop_daemon_b || fail "daemon B exited $?"

# ---- 3. a pool of its name over another directory -----------------------

# Transient (left by a run with another pool_path, say): replaced.
S="$T/d"
name=$(new_state "$S")
mkdir -p "$T/other"
vsh pool-create-as "$name" dir --target "$T/other" >/dev/null || fail "cannot create pool $name"
start_daemon --state-dir "$S"
dir=$(readlink -f "$S/pool")
[ "$(pool_target "$name")" = "$dir" ] ||
	fail "the transient pool $name over $T/other was kept: it is over $(pool_target "$name")"
ctl create d1 >/dev/null || fail "create in the replaced pool"
vols_in_dir "$name" "$dir" 1
stop_daemon || fail "the daemon exited $?"

# Defined: somebody's configuration; the daemon refuses to start.
S="$T/c"
name=$(new_state "$S")
mkdir -p "$T/elsewhere"
vsh pool-define-as "$name" dir --target "$T/elsewhere" >/dev/null || fail "cannot define pool $name"
start_refused "$S" "$T/c.log"
[ "$REFUSED_RC" = 1 ] ||
	fail "with $name defined over $T/elsewhere the daemon exited $REFUSED_RC, not 1: $(cat "$T/c.log")"
grep "$name" "$T/c.log" | grep "$T/elsewhere" | grep -q "$(readlink -f "$S/pool")" ||
	fail "the refusal does not name $name, $T/elsewhere and $S/pool: $(cat "$T/c.log")"
[ "$(pool_target "$name")" = "$T/elsewhere" ] || fail "the defined pool $name was changed: $(pool_target "$name")"
exit 0
