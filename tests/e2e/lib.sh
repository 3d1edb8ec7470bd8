# lib.sh — shared by the e2e scenarios (tests/e2e/NN-*.sh) on real QEMU.
#
# Builds on tests/behave/lib.sh (private socket and state directory in a
# temporary directory, wait_until with a bound, fail/skip, exit 0/1/77) and
# adds what a real libvirtd needs:
#
#   - the daemon runs on qemu:///system with domain_type qemu (TCG: KVM is
#     a trap on these machines), the guest of tests/e2e/guest.sh, a small
#     VM (256 MiB) and a 1 GiB scratch template;
#   - its storage pool has a name of its own (two daemons on one libvirtd
#     must not share the default pool "sessiond") and lives where a user's
#     would, in STATE/pool: QEMU runs as libvirt-qemu and reaches it
#     through the 0711 state directory the daemon creates;
#   - cleanup, even on failure (e2e_cleanup): what a user would do last,
#     through the daemon (release every token, delete every session), then
#     the daemon stops, then the scratch template (a cache the daemon
#     keeps by design) and the pool go if nothing else is in the pool;
#   - then tests/e2e/leftovers.sh checks, through libvirt, that nothing is
#     left: no domain or volume with the daemon's prefix, not its pool.
#     Under tests/e2e/run.sh that check is run.sh's, after each scenario
#     (E2E_RECORD names the record file this library writes the pool and
#     prefix to); a scenario run alone does it itself and fails on it.
#
# As root, what is missing here is a failure (tests/e2e/run.sh installs the
# packages as root: scripts/deps.sh e2e); only a scenario run as another
# user skips.
#
# Environment (set by tests/e2e/run.sh; a scenario run alone gets them
# itself): BUILD, GUEST_KERNEL, GUEST_INITRD, GUEST_CMDLINE, GUEST_READY,
# E2E_RECORD.
E2E_DIR=${E2E_DIR:-$(cd "$(dirname "$0")" && pwd)}
. "$E2E_DIR/../behave/lib.sh"
. "$E2E_DIR/virsh.sh"

export SESSIOND_URI=$URI

[ "$(id -u)" = 0 ] || skip "needs root (qemu:///system)"
command -v virsh >/dev/null 2>&1 || fail "virsh is not installed (scripts/deps.sh e2e)"
command -v qemu-img >/dev/null 2>&1 || fail "qemu-img is not installed (scripts/deps.sh e2e)"
timeout 10 virsh -c "$URI" uri >/dev/null 2>&1 || fail "no libvirtd answers on $URI (start it: tests/e2e/libvirtd.sh start)"
if [ -z "${GUEST_KERNEL:-}" ]; then
	eval "$(sh "$E2E_DIR/guest.sh")" || fail "cannot build the guest"
fi

# Alone, this scenario keeps its own record and checks it at exit.
E2E_ALONE=0
if [ -z "${E2E_RECORD:-}" ]; then
	E2E_ALONE=1
	E2E_RECORD="$T.record"
	: >"$E2E_RECORD"
	sh "$E2E_DIR/leftovers.sh" note-pools "$E2E_RECORD"
fi

POOL="sd-e2e-$(basename "$T" | tr -c 'A-Za-z0-9\n' '-')"
PREFIX=""                           # sd-<daemon id>, once the daemon ran
echo "pool $POOL" >>"$E2E_RECORD"

cat >"$T/sessiond.conf" <<EOF
uri = $URI
pool = $POOL
domain_type = qemu
kernel = $GUEST_KERNEL
initrd = $GUEST_INITRD
cmdline = $GUEST_CMDLINE
memory_mib = 256
scratch_gib = 1
disk_gib = 1
ready_timeout = 120s
stop_timeout = 10s
EOF

# The daemon id is created at its first start; domains are "sd-<8>-...".
e2e_prefix() {
	[ -n "$PREFIX" ] && return 0
	[ -f "$T/state/daemon-id" ] || return 1
	PREFIX="sd-$(cut -c1-8 "$T/state/daemon-id")-"
	echo "prefix $PREFIX" >>"$E2E_RECORD"
}

# e2e_teardown — the user's last word: every token released, every
# session deleted (which stops its VM and deletes its disks).
e2e_teardown() {
	daemon_alive || return 0
	# A list's summaries carry no holds: each session's status has them.
	for n in $(timeout 30 "$SESSIONCTL" list --json | jq -r '.sessions[].name'); do
		for tok in $(timeout 30 "$SESSIONCTL" status "$n" --json |
			jq -r '.holds[]? | select(.kind == "token") | .id'); do
			timeout 30 "$SESSIONCTL" release "$tok" >/dev/null || echo "e2e: cleanup: release $tok failed"
		done
		timeout 120 "$SESSIONCTL" delete "$n" >/dev/null || echo "e2e: cleanup: delete $n failed"
	done
}

# e2e_pool_done — the scratch template is a cache the daemon keeps; with
# it gone, an empty pool is this scenario's to remove.  Anything else in
# it stays for the leftover check to name.
e2e_pool_done() {
	vsh pool-info "$POOL" >/dev/null 2>&1 || return 0
	if e2e_prefix; then
		for v in $(vol_names "$POOL"); do
			case "$v" in "${PREFIX}template-"*g.qcow2) vsh vol-delete --pool "$POOL" "$v" >/dev/null ;; esac
		done
	fi
	[ -z "$(vol_names "$POOL")" ] && pool_remove "$POOL"
}

# e2e_cleanup — teardown through the daemon, daemon stop (SIGTERM: exit
# status 0), pool; alone, also the leftover check.  Returns 1 if the
# daemon did not exit cleanly or something was left behind.
e2e_cleanup() {
	ok=0
	e2e_teardown
	if [ -n "$DAEMON_PID" ]; then
		stop_daemon
		rc=$?
		[ $rc = 0 ] || { echo "FAIL: sessiond exited with status $rc (SIGTERM at cleanup)"; ok=1; }
	fi
	e2e_prefix
	e2e_pool_done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
	[ "$E2E_ALONE" = 1 ] || return $ok
	sh "$E2E_DIR/leftovers.sh" check "$E2E_RECORD" || { echo "FAIL: the scenario left the above behind"; ok=1; }
	rm -f "$E2E_RECORD"
	return $ok
}
trap 'e2e_cleanup || exit 1' EXIT
# A timeout (SIGTERM) or ^C must clean up too: exit runs the EXIT trap.
trap 'exit 1' INT TERM HUP
cleanup() { e2e_cleanup; }

# e2e_start [flags] — the daemon on qemu:///system, then its prefix.
e2e_start() {
	start_daemon "$@"
	e2e_prefix || fail "no daemon-id in $T/state"
}

# mk NAME [create options] — a session that boots the e2e guest and is
# ready when the guest's ready line is on its console.
mk() {
	n=$1
	shift
	ctl create "$n" --domain-type qemu --ready-pattern "$GUEST_READY" "$@" >/dev/null ||
		fail "create $n"
}

dom_of() { field "$1" .instance.domain; }
inst_of() { field "$1" .instance.id; }

# dom_listed DOMAIN — `virsh list --all` shows it.
dom_listed() { vsh list --all --name | grep -qx "$1"; }
dom_gone() { ! dom_listed "$1"; }

# qemu_pid DOMAIN — the QEMU process of a running domain.
qemu_pid() {
	p=$(cat "/run/libvirt/qemu/$1.pid" 2>/dev/null)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

# vol_path NAME — a volume's file in this daemon's pool.
vol_path() { vsh vol-path --pool "$POOL" "$1"; }
vol_listed() { vsh vol-list "$POOL" | awk '{print $1}' | grep -qx "$1"; }

console_has() { ctl console "$1" 2>/dev/null | grep -q "$2"; }

# beat NAME — the last heartbeat on the console (guest.sh, e2e.heartbeat):
# "BOOT_ID UPTIME MARK FILE", FILE being what the guest's /mark held.
beat() {
	ctl console "$1" | tr -d '\r' |
		sed -n 's/^E2E heartbeat boot_id=\([0-9a-f-]*\) uptime=\([0-9.]*\) mark=\([0-9a-f-]*\) file=\([0-9a-f-]*\)$/\1 \2 \3 \4/p' |
		tail -n 1
}
has_beat() { [ -n "$(beat "$1")" ]; }
# beat_after NAME UPTIME — a heartbeat later than UPTIME.
beat_after() {
	set -- "$2" $(beat "$1")
	[ $# -ge 3 ] && awk -v a="$3" -v u="$1" 'BEGIN { exit !(a > u) }'
}

# daemon_connected — daemon.info says the libvirt connection is up.
daemon_info() {
	"$TOOLS/rpcpipe" -t 5 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' | jq -c .result
}
daemon_connected() { [ "$(daemon_info | jq -r .connected)" = true ]; }
daemon_disconnected() { [ "$(daemon_info | jq -r .connected)" = false ]; }

# hold_detached NAME — a detached token (holds the VM up); prints its id.
hold_detached() {
	ctl hold "$1" --ttl 10m --reason e2e --detach --json | jq -r .token
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# new_instance NAME OLD_ID — running on an instance other than OLD_ID
# (one status snapshot: state and instance read together).
new_instance() {
	"$SESSIONCTL" status "$1" --json |
		jq -e --arg old "$2" '.state == "running" and .instance != null and .instance.id != $old' >/dev/null
}
