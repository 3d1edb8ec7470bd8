#!/bin/sh
# run-unit.sh BUILD — runs every cmocka unit test binary, one line per
# program, then the standard result line of a suite of "make check",
# counting test cases:
#     SUITE: N passed, N failed, N skipped
# (SUITE from the environment, default "unit").  A program that fails
# without a failed test case (a crash, a sanitizer's exit) counts as one
# failed.  Exits 1 if anything failed.
BUILD=${1:-build}
SUITE=${SUITE:-unit}
failed="" pass=0 nfail=0 nskip=0 n=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	out=$("$t" 2>&1)
	rc=$?
	ok=$(echo "$out" | grep -c '^\[       OK \]')
	# cmocka names a failed test twice (as it fails, and in the list at the end).
	bad=$(echo "$out" | grep '^\[  FAILED  \] [a-z_]' | sort -u | wc -l)
	sk=$(echo "$out" | grep '^\[  SKIPPED \] [a-z_]' | sort -u | wc -l)
	pass=$((pass + ok)) nskip=$((nskip + sk))
	if [ $rc = 0 ] && [ $bad = 0 ]; then
		if [ $sk = 0 ]; then echo "PASS  $(basename "$t") ($ok tests)"
		else echo "PASS  $(basename "$t") ($ok tests, $sk skipped)"; fi
	else
		[ $bad -gt 0 ] || bad=1
		nfail=$((nfail + bad))
		echo "FAIL  $(basename "$t") (exit $rc)"
		echo "$out" | sed 's/^/      /'
		failed="$failed $(basename "$t")"
	fi
done
[ $n -gt 0 ] || { echo "$SUITE: no test programs in $BUILD/tests"; nfail=1; }
echo "$SUITE: $pass passed, $nfail failed, $nskip skipped"
[ -z "$failed" ] && [ $nfail = 0 ] || { echo "$SUITE: failed:$failed"; exit 1; }
