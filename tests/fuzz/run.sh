#!/bin/sh
# run.sh — runs the fuzz harness built by tests/fuzz/build.sh.
#
#   run.sh corpus [BUILD_DIR]          every file of tests/fuzz/corpus once, as a
#                                      regression input (one process per file);
#                                      exit 1 if any of them fails
#   run.sh fuzz SECONDS [BUILD_DIR]    fuzz for SECONDS; new inputs go to
#                                      BUILD_DIR/fuzz-corpus, crashes, leaks and
#                                      timeouts to BUILD_DIR/artifacts; prints the
#                                      executions; exit 1 if anything was found
#
# BUILD_DIR defaults to build-fuzz.  Environment:
#   JOBS=N                  fuzz with N processes sharing the corpus (default 1)
#   FUZZ_KEEP_GOING=1       a job that stops on a finding starts again for the
#                           time left (artifacts accumulate)
#   FUZZ_WITH_REGRESS=1     seed with the regress-* reproducers too
#   FUZZ_TOLERATE=tag,...   passed on as SESSIOND_FUZZ_TOLERATE (fuzz_rpc.c):
#                           bad replies of these kinds are counted, not fatal
#   FUZZ_SUPPRESS_LEAKS="fn ..."  LeakSanitizer suppressions (leak:fn), to fuzz
#                           on past a known, unfixed leak
#   FUZZ_LEAKS=1            fuzz with a leak check after every input (slow)
#   FUZZ_CORPUS_DIR=dir     corpus mode: replay this directory instead (e.g.
#                           BUILD_DIR/fuzz-corpus, to look for leaks there)
#   FUZZ_ARGS="..."         more libFuzzer flags
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mode=${1:-}
case $mode in
corpus) build=${2:-build-fuzz} ;;
fuzz)
	secs=${2:-}
	build=${3:-build-fuzz}
	case $secs in ''|*[!0-9]*) echo "usage: run.sh fuzz SECONDS [BUILD_DIR]" >&2; exit 2 ;; esac
	;;
*) echo "usage: run.sh corpus [BUILD_DIR] | run.sh fuzz SECONDS [BUILD_DIR]" >&2; exit 2 ;;
esac
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/fuzz_rpc
corpus=$here/corpus
replay=${FUZZ_CORPUS_DIR:-$corpus}
[ -x "$bin" ] || { echo "run.sh: $bin missing: run tests/fuzz/build.sh first" >&2; exit 2; }

# Symbolized stacks.  Leaks: the regression run checks every input (full
# unwinding, so stacks through the uninstrumented jansson are complete and
# suppressions match); fuzzing does not unless FUZZ_LEAKS=1: with the
# daemon's state shared across inputs almost every input allocates more
# than it frees, and a leak scan per input costs ~10x the executions.
sym=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | tail -n 1)
[ -n "$sym" ] && export ASAN_SYMBOLIZER_PATH="$sym"
if [ "$mode" = corpus ] || [ "${FUZZ_LEAKS:-0}" = 1 ]; then
	leaks=1
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:fast_unwind_on_malloc=0}"
else
	leaks=0
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
[ -n "${FUZZ_TOLERATE:-}" ] && export SESSIOND_FUZZ_TOLERATE="$FUZZ_TOLERATE"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ -n "${FUZZ_SUPPRESS_LEAKS:-}" ]; then
	for fn in $FUZZ_SUPPRESS_LEAKS; do echo "leak:$fn"; done > "$tmp/lsan.supp"
	export LSAN_OPTIONS="suppressions=$tmp/lsan.supp:print_suppressions=0"
fi

if [ "$mode" = corpus ]; then
	n=0
	failed=""
	for f in "$replay"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		name=$(basename "$f")
		if "$bin" -runs=1 -artifact_prefix="$tmp/" "$f" > "$tmp/out" 2>&1; then
			echo "PASS  $name"
		else
			echo "FAIL  $name"
			# The report and the first frames in the daemon's own code.
			grep -E 'fuzz_rpc: |ERROR: |SUMMARY: |runtime error|#[0-9]+ .* /[^ ]*/(sessiond|rpc|lease|idle|common)/' \
				"$tmp/out" | grep -v 'libFuzzer: deadly signal' | head -n 8 | sed 's/^ *//; s/^/      /'
			failed="$failed $name"
		fi
	done
	[ -z "$failed" ] || { echo "fuzz corpus: $n inputs, failed:$failed"; exit 1; }
	echo "fuzz corpus: $n inputs passed"
	exit 0
fi

# ---- fuzz -------------------------------------------------------------------
# A dictionary: the protocol's words, so mutations stay mostly well-formed.
{
	for w in '"jsonrpc"' '"2.0"' '"id"' '"method"' '"params"' '"result"' '"error"' \
		'"daemon.info"' '"session.create"' '"session.list"' '"session.get"' \
		'"session.start"' '"session.stop"' '"session.reset"' '"session.delete"' \
		'"session.watch"' '"token.acquire"' '"token.renew"' '"token.release"' \
		'"vm.info"' '"vm.console"' '"name"' '"owner_uid"' '"grace_s"' '"storage"' \
		'"crash_policy"' '"memory_mib"' '"vcpus"' '"domain_type"' '"kernel"' '"initrd"' \
		'"cmdline"' '"image"' '"disk"' '"disk_gib"' '"ready_pattern"' '"ready_timeout_s"' \
		'"stop_timeout_s"' '"force"' '"keep_storage"' '"ttl_s"' '"reason"' '"detach"' \
		'"token"' '"max_bytes"' '"never"' '"persistent"' '"ephemeral"' '"terminate"' \
		'"restart"' '"auto"' '"kvm"' '"qemu"' '"@TOKEN@"' true false null 0 -1 1e308 \
		4294967295 2147483648 0.001 '\u0000' '\ud800' '\u00e9' '!crash' \
		'!failstart' '!slowevents' '!wait' '!restart'; do
		printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
	done
	printf '"\\xc3\\xa9"\n"\\xe4\\xb8\\xad"\n"\\xf0\\x9f\\x98\\x80"\n"\\xff"\n"\\x0a"\n"\\x0d\\x0a"\n'
} > "$tmp/rpc.dict"
jobs=${JOBS:-1}
work=$build/fuzz-corpus
art=$build/artifacts
mkdir -p "$work" "$art" "$tmp/seeds"
rm -f "$build"/fuzz-*.log
# Seeds: the corpus minus the regress-* reproducers of known, unfixed bugs
# (they would stop the run at once); FUZZ_WITH_REGRESS=1 keeps them.
for f in "$corpus"/*; do
	case $(basename "$f") in regress-*) [ "${FUZZ_WITH_REGRESS:-0}" = 1 ] || continue ;; esac
	cp "$f" "$tmp/seeds/"
done
echo "run.sh: fuzzing ${secs}s with $jobs process(es); corpus $work (seeds $corpus), artifacts $art"

# One job: libFuzzer until the time is up; with FUZZ_KEEP_GOING=1 a job
# that stopped on a finding starts again for the time left.
fuzz_job() {
	end=$(($(date +%s) + secs))
	k=0
	while left=$((end - $(date +%s))) && [ "$left" -gt 0 ]; do
		# shellcheck disable=SC2086
		"$bin" -max_len=65536 -max_total_time="$left" -timeout=20 -rss_limit_mb=4096 \
			-detect_leaks="$leaks" -print_final_stats=1 -artifact_prefix="$art/" \
			-dict="$tmp/rpc.dict" ${FUZZ_ARGS:-} \
			"$work" "$tmp/seeds" > "$build/fuzz-$1.$k.log" 2>&1
		rc=$?
		k=$((k + 1))
		[ "$rc" -ne 0 ] && [ "${FUZZ_KEEP_GOING:-0}" = 1 ] || break
	done
}
i=0
while [ "$i" -lt "$jobs" ]; do
	fuzz_job "$i" &
	i=$((i + 1))
done
wait

total=0
found=0
for log in "$build"/fuzz-*.log; do
	[ -f "$log" ] || continue
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	# -fork mode, or a run cut short: the last status line has the count.
	[ -n "$execs" ] || execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	[ -n "$rate" ] || rate=$(echo "$last" | sed -n 's/.*exec\/s:* *\([0-9]*\).*/\1/p')
	echo "$(basename "$log" .log): ${execs:-?} executions, ${rate:-?}/s; last: $last"
	if grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehavior)|runtime error|fuzz_rpc: check failed|Test unit written' "$log"; then
		found=1
		echo "   found a problem (see $log):"
		grep -E 'fuzz_rpc: |ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -n 8 | sed 's/^/      /'
	fi
	total=$((total + ${execs:-0}))
done
echo "run.sh: $total executions in ${secs}s ($jobs job(s)); corpus now $(ls "$work" | wc -l) files"
grep -h 'tolerated bad repl' "$build"/fuzz-*.log 2>/dev/null | sed 's/^/run.sh: /'
exit "$found"
