#!/bin/sh
# leftovers.sh note-pools RECORD | check RECORD — what an e2e scenario left
# on qemu:///system, seen through libvirt (virsh).
#
# A scenario ends by deleting its sessions through its daemon and removing
# its pool's scratch template and its pool (tests/e2e/lib.sh e2e_cleanup):
# a daemon that leaks a domain or a volume, or a scenario that leaves
# something of its own, shows up here.  The RECORD file names what the
# scenario may have made, one "KIND VALUE" per line:
#   before-pool NAME   a storage pool that existed before it ran (note-pools)
#   pool NAME          its daemon's storage pool (tests/e2e/lib.sh)
#   prefix PREFIX      its daemon's domain and volume prefix, "sd-<id8>-"
#
#   note-pools  appends the pools that exist now to RECORD, as before-pool.
#   check       lists, one "left behind: ..." line each, then removes:
#                 - every domain (running or defined) named PREFIX*;
#                 - in every pool, every volume named PREFIX*;
#                 - the scenario's pool, with whatever it holds, and every
#                   pool named sd-e2e-* that is not a before-pool;
#               and exits 1 if there was any, 0 if none.
#
# Called by tests/e2e/run.sh after each scenario, and by tests/e2e/lib.sh
# when a scenario runs alone.  Every run holds /tmp/sessiond-qemu.lock, so
# what has this run's prefix or pool name is this run's.
set -u
. "$(dirname "$0")/virsh.sh"

rec() { sed -n "s/^$1 //p" "$RECORD"; }

# has_prefix NAME — NAME starts with one of the recorded prefixes.
has_prefix() {
	for p in $(rec prefix); do
		case "$1" in "$p"*) return 0 ;; esac
	done
	return 1
}

left=0
say_left() {
	echo "left behind: $*"
	left=1
}

check_domains() {
	for d in $(vsh list --all --name 2>/dev/null); do
		has_prefix "$d" || continue
		say_left "domain $d ($(vsh domstate "$d" 2>&1))"
		vsh destroy "$d" >/dev/null 2>&1
		vsh undefine "$d" >/dev/null 2>&1
	done
}

# Volumes with the prefix in pools that stay (the scenario's own pool and
# sd-e2e-* pools go whole, below, with their volumes named there).
check_volumes() {
	for p in $(vsh pool-list --name 2>/dev/null); do
		doomed_pool "$p" && continue
		for v in $(vol_names "$p"); do
			has_prefix "$v" || continue
			say_left "volume $v in pool $p"
			vsh vol-delete --pool "$p" "$v" >/dev/null 2>&1
		done
	done
}

# doomed_pool POOL — the scenario's pool, or a new sd-e2e-* one.
doomed_pool() {
	rec pool | grep -qxF "$1" && return 0
	case "$1" in sd-e2e-*) ;; *) return 1 ;; esac
	! rec before-pool | grep -qxF "$1"
}

check_pools() {
	for p in $(vsh pool-list --all --name 2>/dev/null); do
		doomed_pool "$p" || continue
		vols=$(vol_names "$p" | tr '\n' ' ')
		say_left "storage pool $p (volumes: ${vols:-none})"
		pool_remove "$p"
	done
}

case "${1:-}" in
note-pools)
	RECORD=$2
	vsh pool-list --all --name 2>/dev/null | sed -n 's/^\(..*\)$/before-pool \1/p' >>"$RECORD"
	;;
check)
	RECORD=$2
	check_domains
	check_volumes
	check_pools
	exit $left
	;;
*)
	echo "usage: $0 note-pools|check RECORD" >&2
	exit 2
	;;
esac
