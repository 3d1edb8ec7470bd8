#!/bin/sh
# run-unit.sh BUILD — runs every cmocka unit test binary; exits 1 if any failed.
# Known failures (XFAIL lines, tests/harness/xfail.h) and skipped tests are
# shown under their program and counted in the summary, never silent.
BUILD=${1:-build}
failed=""
n=0
xfail=0
skipped=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	if out=$("$t" 2>&1); then
		echo "PASS  $(basename "$t") ($(echo "$out" | grep -c '^\[       OK \]') tests)"
		echo "$out" | grep '^XFAIL ' | sed 's/^/      /'
		echo "$out" | grep '^\[  SKIPPED \] ' | grep -v ' test(s)' | sort -u | sed 's/^/      /'
		xfail=$((xfail + $(echo "$out" | grep -c '^XFAIL ')))
		skipped=$((skipped + $(echo "$out" | grep '^\[  SKIPPED \] ' | grep -v ' test(s)' | sort -u | grep -c .)))
	else
		echo "FAIL  $(basename "$t")"
		echo "$out" | sed 's/^/      /'
		failed="$failed $(basename "$t")"
	fi
done
[ -z "$failed" ] || { echo "unit: failed:$failed"; exit 1; }
echo "unit: $n programs passed ($xfail known failures, $skipped tests skipped)"
