#!/bin/sh
# run.sh BUILD [SCENARIO...] — the end-to-end tests on real QEMU.
#
# Not root: every scenario is skipped (a loud SKIP line each, counted in
# the summary) and the exit status is 77.  As root nothing may be skipped:
# the Debian packages the scenarios need are installed first
# (scripts/deps.sh e2e), and a tool still missing, a libvirtd that cannot
# be started, a guest that cannot be built or a scenario that exits 77 is
# a failure (no /dev/kvm is no reason: the guests run under TCG).
#
# As root: starts a system libvirtd if none answers (tests/e2e/libvirtd.sh),
# builds or reuses the guest (tests/e2e/guest.sh, cached outside the
# tree), runs each scenario tests/e2e/NN-*.sh, prints PASS/FAIL per
# scenario with its time, and stops libvirtd again only if it started it.
# Each scenario runs its own sessiond on qemu:///system with a private
# socket, state directory and storage pool (tests/e2e/lib.sh) and cleans
# up after itself; after each, tests/e2e/leftovers.sh looks through
# libvirt for what it left (domains and volumes with its daemon's prefix,
# its pool, new sd-e2e-* pools): anything there fails the scenario and is
# removed, so the next one starts clean.
#
# The last line is the summary, exactly "e2e: P passed, F failed, S skipped".
# Exit 0 if all passed, 1 if any failed, 77 if skipped (not root).
#
# Run it under flock /tmp/sessiond-qemu.lock (make check-e2e does not take
# the lock itself): the system libvirtd is shared.
#
# Environment: SESSIOND_E2E_CACHE (guest cache, default
# /var/cache/sessiond-e2e), E2E_TIMEOUT (seconds per scenario, default 600),
# KEEP_TMP=1 (keep each scenario's temporary directory).
BUILD=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.." || exit 1
case "$BUILD" in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
export BUILD

[ $# -gt 0 ] || set -- tests/e2e/[0-9][0-9]-*.sh
SCENARIOS=""
for t in "$@"; do
	[ -f "$t" ] || t="tests/e2e/$(basename "$t" .sh).sh"
	SCENARIOS="$SCENARIOS $t"
done
COUNT=$(echo $SCENARIOS | wc -w)

summary() { echo "e2e: $1 passed, $2 failed, $3 skipped"; }

# Not root: nothing can run; say so loudly, for every scenario.
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: e2e: the QEMU end-to-end scenarios need root (a system libvirtd, qemu:///system)"
	for t in $SCENARIOS; do echo "SKIP  $(basename "$t" .sh): needs root"; done
	summary 0 0 "$COUNT"
	exit 77
fi

# broken WHY — as root, a missing piece fails every scenario.
broken() {
	echo "FAIL: e2e: $*; no scenario ran"
	summary 0 "$COUNT" 0
	exit 1
}

sh scripts/deps.sh e2e || broken "scripts/deps.sh e2e could not install the packages"
for tool in qemu-system-x86_64 qemu-img qemu-io virsh jq flock setpriv; do
	command -v "$tool" >/dev/null 2>&1 || broken "$tool is not on PATH ($PATH)"
done
for f in "$BUILD/sessiond" "$BUILD/sessionctl" "$BUILD/tests/tools/rpcpipe"; do
	[ -x "$f" ] || broken "$f is missing (make tests BUILD=$BUILD)"
done

# This run is one user of the shared libvirtd; its scenarios count as it.
SESSIOND_E2E_USER=$$
export SESSIOND_E2E_USER
LVD="sh tests/e2e/libvirtd.sh"
RECORD=$(mktemp /tmp/sessiond-e2e-record.XXXXXX)
trap '$LVD stop; rm -f "$RECORD"' EXIT
trap 'exit 130' INT TERM
$LVD start || broken "cannot start libvirtd (tests/e2e/libvirtd.sh start exited $?)"

guest=$(sh tests/e2e/guest.sh) || broken "cannot build the guest (tests/e2e/guest.sh)"
eval "$guest"
export GUEST_KERNEL GUEST_INITRD GUEST_CMDLINE GUEST_READY

stale=$(virsh -q -c qemu:///system pool-list --all --name 2>/dev/null | grep '^sd-e2e-')
[ -z "$stale" ] && stale=none
echo "e2e: libvirtd $($LVD status); sd-e2e-* pools from before this run (not checked): $stale"

pass=0 failed=0 failures=""
all_start=$(date +%s)
for t in $SCENARIOS; do
	name=$(basename "$t" .sh)
	: >"$RECORD"
	sh tests/e2e/leftovers.sh note-pools "$RECORD"
	start=$(date +%s)
	out=$(E2E_RECORD="$RECORD" timeout "${E2E_TIMEOUT:-600}" sh "$t" 2>&1)
	rc=$?
	secs=$(( $(date +%s) - start ))
	left=$(sh tests/e2e/leftovers.sh check "$RECORD")
	lrc=$?
	if [ $rc = 0 ] && [ $lrc = 0 ]; then
		pass=$((pass + 1))
		echo "PASS  $name (${secs}s)"
		continue
	fi
	failed=$((failed + 1))
	failures="$failures $name"
	case $rc in
	0) why="it left something behind" ;;
	77) why="skipped as root: $(echo "$out" | grep -m1 '^SKIP' | cut -c7-)" ;;
	124) why="timed out after ${E2E_TIMEOUT:-600}s" ;;
	*) why="exit $rc" ;;
	esac
	echo "FAIL  $name ($why, ${secs}s)"
	[ -z "$out" ] || echo "$out" | sed 's/^/      /'
	[ $lrc = 0 ] || echo "$left" | sed 's/^/      /'
done

echo "e2e: ran $COUNT scenarios in $(( $(date +%s) - all_start ))s"
[ $failed -eq 0 ] || echo "e2e: failed:$failures"
summary $pass $failed 0
[ $failed -eq 0 ]
