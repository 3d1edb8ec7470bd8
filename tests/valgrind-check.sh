#!/bin/sh
# valgrind-check.sh BUILD [SCRIPT...] — runs the behaviour scripts (by
# default all but the ones below) with the daemon under valgrind memcheck.
# Each script checks its own daemons at exit (tests/behave/lib.sh): every
# daemon must have a valgrind log in the script's temporary directory
# (--log-file with %q{SESSIOND_SANLOG}), and any error in it (definite or
# indirect leaks, invalid reads, writes or frees, uninitialised values)
# fails that script and is printed; valgrind's --error-exitcode makes the
# daemon's exit status say so too.  Prints the standard result line
# "valgrind: N passed, N failed, N skipped".
BUILD=${1:-build}
[ $# -gt 0 ] && shift
export SESSIOND_WRAP="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \
--log-file=%q{SESSIOND_SANLOG}/vg.%p.log"
export CHAOS_DURATION=10
# Slow under valgrind: the behaviour scripts that need many connections or
# a tight schedule run in check-behave and check-asan; here the others.
if [ $# = 0 ]; then
	set -- $(ls tests/behave/*.sh | grep -v -e '/load-' -e '/crashsafe-' -e '/lib.sh' -e '/lib-' \
		-e '/run.sh')
	echo "valgrind: not run under valgrind (many connections or a tight schedule):" \
		$(ls tests/behave/load-*.sh tests/behave/crashsafe-*.sh | xargs -n1 basename | sed 's/\.sh$//')
fi
SUITE=valgrind exec sh tests/behave/run.sh "$BUILD" "$@"
