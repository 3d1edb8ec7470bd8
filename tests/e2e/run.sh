#!/bin/sh
# run.sh BUILD [SCENARIO...] — the end-to-end tests on real QEMU.
#
# Skips (exit 77, a "SKIP:" line) when not root or QEMU / qemu-img are not
# installed.  Otherwise starts a system libvirtd if none answers
# (tests/e2e/libvirtd.sh), builds or reuses the guest (tests/e2e/guest.sh,
# cached outside the tree), runs each scenario tests/e2e/NN-*.sh, prints
# PASS/FAIL/SKIP per scenario and a summary, and stops libvirtd again only
# if it started it.  Each scenario runs its own sessiond on qemu:///system
# with a private socket, state directory and storage pool (tests/e2e/lib.sh)
# and cleans up after itself, also when it fails.  Exit 1 if any failed.
#
# Environment: SESSIOND_E2E_CACHE (guest cache, default
# /var/cache/sessiond-e2e), E2E_TIMEOUT (seconds per scenario, default 600),
# KEEP_TMP=1 (keep each scenario's temporary directory).
BUILD=${1:-build}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.." || exit 1
case "$BUILD" in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
export BUILD

skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "e2e tests need root (a system libvirtd, qemu:///system)"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "QEMU is not installed (qemu-system-x86)"
command -v qemu-img >/dev/null 2>&1 || skip "qemu-img is not installed (qemu-utils)"
command -v jq >/dev/null 2>&1 || skip "jq is not installed"
for f in "$BUILD/sessiond" "$BUILD/sessionctl" "$BUILD/tests/tools/rpcpipe"; do
	[ -x "$f" ] || { echo "e2e: $f is missing (make tests BUILD=$BUILD)"; exit 1; }
done

# This run is one user of the shared libvirtd; its scenarios count as it.
SESSIOND_E2E_USER=$$
export SESSIOND_E2E_USER
LVD="sh tests/e2e/libvirtd.sh"
$LVD start
rc=$?
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || { echo "e2e: cannot start libvirtd"; $LVD stop; exit 1; }
trap '$LVD stop' EXIT
trap 'exit 130' INT TERM

guest=$(sh tests/e2e/guest.sh) || { echo "e2e: cannot build the guest"; exit 1; }
eval "$guest"
export GUEST_KERNEL GUEST_INITRD GUEST_CMDLINE GUEST_READY

[ $# -gt 0 ] || set -- tests/e2e/[0-9][0-9]-*.sh
pass=0 failed=0 skipped=0 failures=""
all_start=$(date +%s)
for t in "$@"; do
	[ -f "$t" ] || t="tests/e2e/$(basename "$t" .sh).sh"
	name=$(basename "$t" .sh)
	start=$(date +%s)
	out=$(timeout "${E2E_TIMEOUT:-600}" sh "$t" 2>&1)
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s)" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(echo "$out" | grep -m1 '^SKIP' | cut -c7-)" ;;
	*) failed=$((failed + 1)); failures="$failures $name"
	   echo "FAIL  $name (exit $rc, ${secs}s)"; echo "$out" | sed 's/^/      /' ;;
	esac
done

# Each scenario removes its pool; one left over means a cleanup failed.
left=$(virsh -q -c qemu:///system pool-list --all --name 2>/dev/null | grep '^sd-e2e-')
[ -z "$left" ] || echo "e2e: warning: storage pools left behind: $left"

echo "e2e: $pass passed, $failed failed, $skipped skipped ($(( $(date +%s) - all_start ))s)"
[ $failed -eq 0 ] || { echo "failed:$failures"; exit 1; }
exit 0
