#!/bin/sh
# pool-identity — every daemon has a storage pool of its own, named after
# its daemon id, and never works in a pool over another daemon's
# directory.  Through a private libvirtd (test driver), whose pools outlive
# a daemon as a real libvirtd's do:
#
#  1. ten times in a row the state directory is reset (removed; every other
#     time the next one is elsewhere) and a persistent session is created
#     at once after the start: it never fails, the pool is
#     sd-<8 hex of the new daemon id> over the new STATE/pool, and a pool
#     the last daemon left over the same directory is gone;
#  2. two daemons with their own state directories: all volumes of each
#     (disks, scratch template, scratch) lie in its own directory; after
#     one daemon's state is removed the other's sessions and disks are all
#     there and its session starts again;
#  3. a pool of the daemon's name over another directory: a transient one
#     is replaced; with a defined one the daemon exits 1 naming both
#     directories, never serves its socket, and leaves that pool alone.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null 2>&1 || skip "needs jq"
private_libvirtd
export SESSIOND_URI="$PRIVATE_URI"

vsh() { virsh -q -c "$PRIVATE_URI" "$@"; }

# daemon_pool SOCKET — the pool daemon.info names.
daemon_pool() {
	SESSIOND_SOCKET=$1 "$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' |
		jq -r .result.pool
}

pool_target() { vsh pool-dumpxml "$1" 2>/dev/null | sed -n 's|.*<path>\(.*\)</path>.*|\1|p'; }
pool_known() { vsh pool-info "$1" >/dev/null 2>&1; }

# vols_in_dir POOL DIR MIN — every volume of POOL is a file of DIR, and
# there are at least MIN of them.
vols_in_dir() {
	n=0
	for p in $(vsh vol-list "$1" | awk '{print $2}'); do
		case "$p" in
		"$2"/*) n=$((n + 1)) ;;
		*) fail "volume $p of pool $1 is not in $2" ;;
		esac
	done
	[ "$n" -ge "$3" ] || fail "pool $1 has $n volume(s) in $2, expected at least $3"
}

# id_pool STATE — the pool name a daemon id gives.
id_pool() { echo "sd-$(cut -c1-8 "$1/daemon-id")"; }

# ---- 1. reset state directories ----------------------------------------

last="" last_dir=""
for i in 1 2 3 4 5 6 7 8 9 10; do
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

B_PID=""
B_SOCK="$T/b.sock"
start_b() {
	${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$B_SOCK" --state-dir "$T/b" \
		--uri "$PRIVATE_URI" --config "$T/sessiond.conf" >>"$T/b.log" 2>&1 &
	B_PID=$!
	wait_until 30 ctlb list || fail "daemon B did not come up: $(tail -n 5 "$T/b.log")"
}
stop_b() {
	[ -n "$B_PID" ] || return 0
	kill -TERM "$B_PID" 2>/dev/null
	wait "$B_PID"
	rc=$?
	B_PID=""
	return $rc
}
ctlb() { SESSIOND_SOCKET="$B_SOCK" "$SESSIONCTL" "$@"; }
trap 'stop_b >/dev/null 2>&1; cleanup' EXIT

start_daemon --state-dir "$T/a"
start_b
pa=$(daemon_pool "$SESSIOND_SOCKET")
pb=$(daemon_pool "$B_SOCK")
for n in a1 a2; do ctl create "$n" >/dev/null || fail "A: create $n"; done
for n in b1 b2; do ctlb create "$n" >/dev/null || fail "B: create $n"; done
ctl start a1 >/dev/null || fail "A: start a1"
ctlb start b1 >/dev/null || fail "B: start b1"
# two disks, the scratch template and a1's (b1's) scratch each
vols_in_dir "$pa" "$(readlink -f "$T/a/pool")" 4
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
[ "$pa" != "$pb" ] || fail "both daemons use the pool $pa"
disks_b=""
for n in b1 b2; do
	disks_b="$disks_b $(id_pool "$T/b")-$(SESSIOND_SOCKET="$B_SOCK" field "$n" .id)-disk.qcow2"
done

stop_daemon || fail "daemon A exited $?"
rm -rf "$T/a"
for d in $disks_b; do
	vsh vol-list "$pb" | awk '{print $1}' | grep -qx "$d" || fail "B's disk $d went with A's state"
done
stop_b || fail "daemon B exited $?"
start_b
[ "$(ctlb list --json | jq -r '[.sessions[].name] | sort | join(" ")')" = "b1 b2" ] ||
	fail "B's sessions after A's state went: $(ctlb list)"
[ "$(SESSIOND_SOCKET="$B_SOCK" field b1 .state)" = running ] ||
	fail "B did not adopt b1's VM: $(ctlb status b1)"
ctlb stop b1 >/dev/null || fail "B: stop b1"
ctlb start b1 >/dev/null || fail "B: b1 does not start again"
vols_in_dir "$pb" "$(readlink -f "$T/b/pool")" 4
stop_b || fail "daemon B exited $?"

# ---- 3. a pool of its name over another directory -----------------------

# new_state DIR — a state directory whose daemon id is known before the
# start; prints the pool name that id gives.
new_state() {
	mkdir -p "$1"
	cat /proc/sys/kernel/random/uuid >"$1/daemon-id"
	id_pool "$1"
}

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
${SESSIOND_WRAP:-} "$SESSIOND" --foreground --socket "$T/c.sock" --state-dir "$S" \
	--uri "$PRIVATE_URI" --config "$T/sessiond.conf" >"$T/c.log" 2>&1 &
C_PID=$!
c_settled() { ! kill -0 "$C_PID" 2>/dev/null || [ -S "$T/c.sock" ]; }
wait_until 30 c_settled || fail "the daemon neither exited nor served its socket in 30 s"
if kill -0 "$C_PID" 2>/dev/null; then
	kill -TERM "$C_PID"
	wait "$C_PID"
	fail "the daemon started with $name defined over $T/elsewhere: $(cat "$T/c.log")"
fi
wait "$C_PID"
rc=$?
[ $rc = 1 ] || fail "with $name defined over $T/elsewhere the daemon exited $rc, not 1: $(cat "$T/c.log")"
grep "$name" "$T/c.log" | grep "$T/elsewhere" | grep -q "$(readlink -f "$S/pool")" ||
	fail "the refusal does not name $name, $T/elsewhere and $S/pool: $(cat "$T/c.log")"
[ ! -e "$T/c.sock" ] || fail "the refusing daemon made its socket"
[ "$(pool_target "$name")" = "$T/elsewhere" ] || fail "the defined pool $name was changed: $(pool_target "$name")"
exit 0
