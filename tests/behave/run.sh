#!/bin/sh
# run.sh BUILD [SCRIPT...] — runs behaviour scripts (all by default), prints
# one line each, then the standard result line of a suite of "make check":
#     SUITE: N passed, N failed, N skipped
# (SUITE from the environment, default "behave"); exits 1 if any failed.
# 77 from a script means skipped; its "SKIP:" line says why.  A script
# passes or skips only if lib.sh's end checks ran (every daemon ended as
# planned, no sanitizer or valgrind report): they leave a line in
# $BEHAVE_REPORT, shown after the script's name.  BEHAVE_TIMEOUT (seconds,
# default 900) bounds each script: a hang guard, generous because
# bad-input-errors alone took 123 s at a load average of 14 on two CPUs,
# and over 300 s there under ASan.
BUILD=${1:-build}
[ $# -gt 0 ] && shift
export BUILD
SUITE=${SUITE:-behave}
cd "$(dirname "$0")/../.." || exit 1
[ $# -gt 0 ] || set -- tests/behave/[0-9a-z]*.sh
R=$(mktemp -d /tmp/sessiond-behave-run.XXXXXX)
trap 'rm -rf "$R"' EXIT
trap 'exit 130' INT TERM
pass=0 failed=0 skipped=0 failures=""
for t in "$@"; do
	case "$t" in */lib.sh|*/lib-*.sh|*/run.sh|*/libvirtd.sh) continue ;; esac
	name=$(basename "$t" .sh)
	rm -f "$R/report"
	start=$(date +%s)
	out=$(BEHAVE_REPORT="$R/report" timeout "${BEHAVE_TIMEOUT:-900}" sh "$t" 2>&1)
	rc=$?
	[ $rc != 124 ] || out="$out
FAIL: timed out after ${BEHAVE_TIMEOUT:-900} s"
	secs=$(( $(date +%s) - start ))
	case $rc in
	0 | 77)
		if [ ! -s "$R/report" ]; then
			out="$out
FAIL: lib.sh's end checks did not run (a script must not replace its EXIT trap: use at_exit)"
			rc=1
		fi ;;
	esac
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s; $(paste -s -d ';' "$R/report"))" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(echo "$out" | grep -m1 '^SKIP' | cut -c7-)" ;;
	*) failed=$((failed + 1)); failures="$failures $name"; echo "FAIL  $name (exit $rc, ${secs}s)"; echo "$out" | sed 's/^/      /' ;;
	esac
done
echo "$SUITE: $pass passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || { echo "failed:$failures"; exit 1; }
