#!/bin/sh
# check-summary.sh DIR SUITE... — the summary at the end of "make check":
# one row per suite with its passed, failed and skipped counts (recorded
# by tests/check-suite.sh), the totals, every skip with its reason, and
# every known failure (XFAIL) apart, each suite's seconds, and the whole
# run's time when CHECK_STARTED (epoch seconds) is set.
# A suite with no record did not run (its build failed, or make stopped):
# it counts as failed.  Exits 1 if any suite failed.
DIR=$1
shift
bad=""
tp=0 tf=0 ts=0
echo
echo "==== make check: summary ===="
printf '%-17s %7s %7s %8s %8s\n' suite passed failed skipped seconds
for s in "$@"; do
	if [ -f "$DIR/$s.result" ]; then
		read -r _ p f k _ secs <"$DIR/$s.result"
		printf '%-17s %7d %7d %8d %8s\n' "$s" "$p" "$f" "$k" "${secs:--}"
		tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + k))
		[ "$f" = 0 ] || bad="$bad $s"
	else
		printf '%-17s %7s %7s %8s %8s\n' "$s" - "not run" - -
		bad="$bad $s"
	fi
done
printf '%-17s %7d %7d %8d\n' total "$tp" "$tf" "$ts"
[ -z "${CHECK_STARTED:-}" ] ||
	echo "make check took $(( ($(date +%s) - CHECK_STARTED) / 60 )) min $(( ($(date +%s) - CHECK_STARTED) % 60 )) s (builds included)"
if [ "$ts" -gt 0 ]; then
	echo "skipped:"
	for s in "$@"; do
		[ -s "$DIR/$s.skips" ] && sed 's/^/  /' "$DIR/$s.skips"
	done
fi
xf=$(for s in "$@"; do cat "$DIR/$s.xfails" 2>/dev/null; done)
if [ -n "$xf" ]; then
	echo "known failures (XFAIL: checks the code is known to fail, not counted above):"
	echo "$xf" | sed 's/^/  /'
fi
if [ -n "$bad" ]; then
	echo "make check: FAILED:$bad (logs in $DIR)"
	exit 1
fi
echo "make check: every suite passed ($ts skipped, $(echo "$xf" | grep -c .) known failures)"
