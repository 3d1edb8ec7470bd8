#!/bin/sh
# valgrind-check.sh BUILD — runs the behaviour scripts with the daemon
# under valgrind memcheck, then requires every daemon run to report
# "definitely lost: 0 bytes" and "indirectly lost: 0 bytes" (or no leaks at
# all) and no memory errors.
BUILD=${1:-build}
LOGS=$(mktemp -d /tmp/sessiond-valgrind.XXXXXX)
export SESSIOND_WRAP="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --track-fds=no --log-file=$LOGS/vg.%p.log"
export CHAOS_DURATION=10
# Slow under valgrind: the behaviour scripts that need many connections or
# a tight schedule run in check-behave; here the ordinary ones.
sh tests/behave/run.sh "$BUILD" $(ls tests/behave/*.sh | grep -v -e '/load-' -e '/crashsafe-' \
	-e '/lib.sh' -e '/run.sh' -e '/libvirtd.sh') || { echo "valgrind: behaviour scripts failed"; exit 1; }
bad=0 runs=0
for f in "$LOGS"/vg.*.log; do
	[ -f "$f" ] || continue
	runs=$((runs + 1))
	if grep -q -e 'definitely lost: [1-9]' -e 'indirectly lost: [1-9]' -e 'Invalid read' -e 'Invalid write' \
		-e 'uninitialised' -e 'Invalid free' "$f"; then
		echo "valgrind: problems in $f:"
		sed 's/^/    /' "$f" | head -60
		bad=$((bad + 1))
	fi
done
rm -rf "$LOGS"
[ $runs -gt 0 ] || { echo "valgrind: no daemon run was recorded"; exit 1; }
[ $bad -eq 0 ] || exit 1
echo "valgrind: $runs daemon runs, 0 bytes definitely or indirectly lost, no memory errors"
