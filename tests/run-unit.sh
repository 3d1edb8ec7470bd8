#!/bin/sh
# run-unit.sh BUILD — runs every cmocka unit test binary, one line per
# program, then the standard result line of a suite of "make check",
# counting test cases:
#     SUITE: N passed, N failed, N skipped (N known failures)
# (SUITE from the environment, default "unit").  A program that fails
# without a failed test case (a crash, a sanitizer's exit) counts as one
# failed.  Skipped tests ("SKIP  program: test") and known failures
# ("XFAIL ...", tests/harness/xfail.h) are shown and counted, never
# silent; tests/check-suite.sh carries both into the summary of
# "make check".  A program still running after UNIT_TIMEOUT seconds
# (default 600; the whole suite takes under 80 under TSan) is killed and
# counted as failed, by name, instead of hanging the suite.  Exits 1 if
# anything failed.
BUILD=${1:-build}
SUITE=${SUITE:-unit}
failed="" pass=0 nfail=0 nskip=0 xfail=0 n=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	prog=$(basename "$t")
	out=$(timeout "${UNIT_TIMEOUT:-600}" "$t" 2>&1)
	rc=$?
	[ $rc = 124 ] && out="$out
$prog: killed after ${UNIT_TIMEOUT:-600} s (UNIT_TIMEOUT): a test hangs"
	ok=$(echo "$out" | grep -c '^\[       OK \]')
	# cmocka names a failed or skipped test twice (as it happens, and in
	# the list at the end).
	bad=$(echo "$out" | grep '^\[  FAILED  \] [a-z_]' | sort -u | wc -l)
	skips=$(echo "$out" | grep '^\[  SKIPPED \] [a-z_]' | sort -u | sed 's/^\[  SKIPPED \] //')
	sk=$(echo "$skips" | grep -c .)
	xf=$(echo "$out" | grep -c '^XFAIL ')
	pass=$((pass + ok)) nskip=$((nskip + sk)) xfail=$((xfail + xf))
	if [ $rc = 0 ] && [ $bad = 0 ]; then
		echo "PASS  $prog ($ok tests$( [ $sk = 0 ] || echo ", $sk skipped")$( [ $xf = 0 ] || echo ", $xf known failures"))"
		echo "$out" | grep '^XFAIL ' | sed 's/^/      /'
		[ $sk = 0 ] || echo "$skips" | sed "s/^/SKIP  $prog: /"
	else
		[ $bad -gt 0 ] || bad=1
		nfail=$((nfail + bad))
		echo "FAIL  $prog (exit $rc)"
		echo "$out" | sed 's/^/      /'
		failed="$failed $prog"
	fi
done
[ $n -gt 0 ] || { echo "$SUITE: no test programs in $BUILD/tests"; nfail=1; }
echo "$SUITE: $pass passed, $nfail failed, $nskip skipped ($xfail known failures)"
[ -z "$failed" ] && [ $nfail = 0 ] || { echo "$SUITE: failed:$failed"; exit 1; }
