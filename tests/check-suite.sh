#!/bin/sh
# check-suite.sh DIR SUITE CMD... — runs one suite of "make check" and
# records its counts in DIR for tests/check-summary.sh.
#
# The standard result line, which a suite runner prints at the end
# (tests/run-unit.sh, tests/behave/run.sh, tests/valgrind-check.sh,
# tests/e2e/run.sh):
#
#     NAME: N passed, N failed, N skipped[ anything else]
#
# The last such line of CMD's output gives the counts (its NAME may differ
# from SUITE: run-unit.sh serves unit, asan-unit and tsan-unit).  A
# runner that prints none is counted from its unindented "PASS " / "FAIL "
# / "SKIP " lines, or else by its exit status: 0 is one passed, 77 one
# skipped, anything else one failed.  An exit status other than 0 (or 77)
# with no failure counted counts one failed, so a failing suite never
# shows as passed.  Each "SKIP" line (a script's, or the runner's own
# "SKIP: reason") is kept for the summary, so every skip is seen there;
# so is each "XFAIL" line (a known failure of a unit test,
# tests/harness/xfail.h), listed apart: it is neither passed nor skipped.
#
# Output goes to the terminal as it comes and to DIR/SUITE.log; the
# suite's seconds (its builds not included) go in its record.  Exits 1
# if anything failed, else 0.
DIR=$1 SUITE=$2
shift 2
mkdir -p "$DIR"
LOG="$DIR/$SUITE.log"
t0=$(date +%s)
{ "$@" 2>&1; echo $? >"$DIR/$SUITE.rc"; } | tee "$LOG"
secs=$(( $(date +%s) - t0 ))
rc=$(cat "$DIR/$SUITE.rc")
line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$LOG" | tail -n 1)
if [ -n "$line" ]; then
	set -- $(echo "$line" | sed -E 's/^[^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
	p=$1 f=$2 s=$3
else
	p=$(grep -c '^PASS ' "$LOG") f=$(grep -c '^FAIL ' "$LOG") s=$(grep -c '^SKIP' "$LOG")
	if [ $((p + f + s)) = 0 ]; then
		case $rc in 0) p=1 ;; 77) s=1 ;; *) f=1 ;; esac
	fi
fi
case $rc in 0 | 77) ;; *) [ "$f" -gt 0 ] || f=1 ;; esac
grep '^SKIP' "$LOG" | sed "s/^SKIP:* */$SUITE: /" >"$DIR/$SUITE.skips"
[ "$s" -le "$(wc -l <"$DIR/$SUITE.skips")" ] ||
	echo "$SUITE: $s skipped (no reason printed)" >>"$DIR/$SUITE.skips"
grep -E '^ *XFAIL ' "$LOG" | sed "s/^ *XFAIL */$SUITE: /" >"$DIR/$SUITE.xfails"
printf '%s %s %s %s %s %s\n' "$SUITE" "$p" "$f" "$s" "$rc" "$secs" >"$DIR/$SUITE.result"
[ "$f" = 0 ]
