#!/bin/sh
# run-unit.sh BUILD — runs every cmocka unit test binary; exits 1 if any failed.
BUILD=${1:-build}
failed=""
n=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	if out=$("$t" 2>&1); then
		echo "PASS  $(basename "$t") ($(echo "$out" | grep -c '^\[       OK \]') tests)"
	else
		echo "FAIL  $(basename "$t")"
		echo "$out" | sed 's/^/      /'
		failed="$failed $(basename "$t")"
	fi
done
[ -z "$failed" ] || { echo "unit: failed:$failed"; exit 1; }
echo "unit: $n programs passed"
