#!/bin/sh
# run.sh BUILD [SCRIPT...] — runs behaviour scripts (all by default), prints
# one line each, then the standard result line of a suite of "make check":
#     SUITE: N passed, N failed, N skipped
# (SUITE from the environment, default "behave"); exits 1 if any failed.
# 77 from a script means skipped; its "SKIP:" line says why.  A script
# passes or skips only if lib.sh's end checks ran (every daemon ended as
# planned, no sanitizer or valgrind report): they leave a line in its
# report, shown after the script's name.  BEHAVE_TIMEOUT (seconds,
# default 900) bounds each script: a hang guard, generous because
# bad-input-errors alone took 123 s at a load average of 14 on two CPUs,
# and over 300 s there under ASan.
#
# Every script has its own daemon, socket, state directory and libvirtds
# under its own $T, so BEHAVE_JOBS (default 3) of them run at once: most
# of a script's time is spent waiting (for a grace to run out, a timer, a
# daemon to exit).  The scripts that measure the daemon's own timing or
# load it on purpose (SERIAL below) run first, one at a time, with
# nothing beside them.  Lines come in the order of the scripts.
if [ "${1:-}" = --one ]; then
	MODE=one
	shift
fi
BUILD=${1:-build}
[ $# -gt 0 ] && shift
export BUILD
SUITE=${SUITE:-behave}
JOBS=${BEHAVE_JOBS:-3}
SERIAL='/load-|/crashsafe-|/chaos-|/list-5000|/journald-|/anti-thrash'
cd "$(dirname "$0")/../.." || exit 1
[ $# -gt 0 ] || set -- tests/behave/[0-9a-z]*.sh

# one SCRIPT — runs it; leaves R/NAME.out, .rc, .secs and .report.
one() {
	name=$(basename "$1" .sh)
	start=$(date +%s)
	BEHAVE_REPORT="$R/$name.report" timeout "${BEHAVE_TIMEOUT:-900}" sh "$1" >"$R/$name.out" 2>&1
	echo $? >"$R/$name.rc"
	echo $(( $(date +%s) - start )) >"$R/$name.secs"
}
# run.sh --one BUILD R SCRIPT: one script for the xargs below.
if [ "${MODE:-}" = one ]; then
	R=$1
	one "$2"
	exit 0
fi
R=$(mktemp -d /tmp/sessiond-behave-run.XXXXXX)
trap 'rm -rf "$R"' EXIT
trap 'exit 130' INT TERM

list=""
for t in "$@"; do
	case "$t" in */lib.sh|*/lib-*.sh|*/run.sh|*/libvirtd.sh) continue ;; esac
	list="$list $t"
done
serial=$(printf '%s\n' $list | grep -E "$SERIAL")
others=$(printf '%s\n' $list | grep -vE "$SERIAL")
for t in $serial; do one "$t"; done
[ -z "$others" ] || printf '%s\n' $others |
	xargs -P "$JOBS" -I{} sh tests/behave/run.sh --one "$BUILD" "$R" {}

pass=0 failed=0 skipped=0 failures=""
for t in $serial $others; do
	name=$(basename "$t" .sh)
	out=$(cat "$R/$name.out" 2>/dev/null)
	rc=$(cat "$R/$name.rc" 2>/dev/null || echo 1)
	secs=$(cat "$R/$name.secs" 2>/dev/null || echo 0)
	[ "$rc" != 124 ] || out="$out
FAIL: timed out after ${BEHAVE_TIMEOUT:-900} s"
	case $rc in
	0 | 77)
		if [ ! -s "$R/$name.report" ]; then
			out="$out
FAIL: lib.sh's end checks did not run (a script must not replace its EXIT trap: use at_exit)"
			rc=1
		fi ;;
	esac
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name (${secs}s; $(paste -s -d ';' "$R/$name.report"))" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(echo "$out" | grep -m1 '^SKIP' | cut -c7-)" ;;
	*) failed=$((failed + 1)); failures="$failures $name"; echo "FAIL  $name (exit $rc, ${secs}s)"; echo "$out" | sed 's/^/      /' ;;
	esac
done
echo "$SUITE: $pass passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || { echo "failed:$failures"; exit 1; }
