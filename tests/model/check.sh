#!/bin/sh
# shellcheck disable=SC2317 # the jobs are called through "$j"
# check.sh — model-checks tests/model/disposition.pml with spin.
#
#   1. safety, every property (PROP 0), exhaustive, with the reachability
#      probes on: a run passes only if no property is violated AND every
#      probe listed for it is reached (pan finds a trail to it; a branch
#      that is dead under the bounds fails the run)
#        safety-1client   every feature: readiness, reconnect, crash loop,
#                         tokens and leases, both crash policies
#        safety-2clients  a token beside a vm.info lease (-DCOLLAPSE)
#        safety-2rounds   one caller, two rounds, a ready pattern: a new
#                         instance after a stop during readiness
#        safety-tiers     memory tiers (-DTIERS=1: every idle expiry saves):
#                         one token caller, two rounds:
#                         save (or a failed save, a crash during it, a stop
#                         during it), suspended, restore (or a failed one
#                         and a cold boot, a crash during it), a stop of a
#                         suspended session; each image deleted once
#        safety-tiers-reconnect  tiers with the reconnect (SAVED events
#                         lost, a reconcile of a suspended session); no
#                         crash, no failed start
#        (MODEL_QUICK=1 skips safety-2clients, safety-2rounds and
#        safety-tiers-reconnect)
#   2. liveness (LTL p3: a parked caller is always answered), weak fairness
#        liveness-1client    every feature but the reconnect and the tiers
#        liveness-reconnect  the reconnect, with readiness, a token
#        liveness-tiers      tiers, a token, two rounds, no crash, no failed
#                            start (MODEL_QUICK=1 skips it)
#   3. mutations: each BUG_* variant re-introduces one known mistake and
#      is checked with only the property it is meant to break compiled in
#      (-DPROP=n); spin's report must name that property (p1_once ...
#      p7_legal), otherwise the check fails; BUG_RESTOREDEL, BUG_SUSPCLAIM
#      and BUG_OWNSAVE are mistakes of the tiers path (-DTIERS=1)
#
# The jobs run on MODEL_JOBS workers (default 2).  Exits 1 on any
# failure.  Needs spin and a C compiler.  MODEL_KEEP=1 keeps the work
# directory (pan output, probe trails) and prints its path.
set -u
here=$(cd "$(dirname "$0")" && pwd)
command -v spin >/dev/null 2>&1 || { echo "model: spin is missing (apt-get install spin)"; exit 1; }
w=$(mktemp -d /tmp/sessiond-model.XXXXXX)
if [ "${MODEL_KEEP:-0}" = 1 ]; then
	echo "model: work directory $w"
else
	trap 'rm -rf "$w"' EXIT
fi
cp "$here/disposition.pml" "$w/"
cd "$w" || exit 1
t_start=$(date +%s)

pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; }

# pan_run NAME SPIN-DEFINES CC-FLAGS PAN-FLAGS: builds and runs pan in
# NAME/; 0 when pan ran a complete search (errors or not).
pan_run() {
	name=$1 sdefs=$2 cflags=$3 flags=$4
	mkdir -p "$name" && cp disposition.pml "$name/" || return 1
	# shellcheck disable=SC2086
	(cd "$name" && spin $sdefs -a disposition.pml >spin.out 2>&1) || { sed 's/^/      /' "$name/spin.out"; return 1; }
	# shellcheck disable=SC2086
	(cd "$name" && cc -w $cflags -DMEMLIM=12000 -DVECTORSZ=2048 -o pan pan.c 2>cc.out) ||
		{ sed 's/^/      /' "$name/cc.out"; return 1; }
	# shellcheck disable=SC2086
	(cd "$name" && ./pan $flags >pan.out 2>&1)
	if grep -q "^error: \|pan: out of memory\|search not completed\|max search depth too small" "$name/pan.out" ||
		! grep -q "errors: " "$name/pan.out"; then
		grep -m 3 "^error: \|pan: out of memory\|search not completed\|max search depth too small" "$name/pan.out" |
			sed 's/^/      /'
		return 1
	fi
	return 0
}

# "12345 states, 2.1 s"
stats() {
	st=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$1/pan.out" | head -n 1)
	t=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$1/pan.out" | head -n 1)
	echo "$st states, ${t:-?} s"
}

# Every error pan reported ("pan:N: ..."), one per line, without "pan:N:".
reports() { sed -n 's/^pan:[0-9][0-9]*: \(.*\)$/\1/p' "$1/pan.out"; }

# expect_clean NAME "PROBES" SPIN-DEFINES CC-FLAGS PAN-FLAGS: no property
# violated, no invalid end state, no acceptance cycle, and each probe of
# PROBES reached.
expect_clean() {
	name=$1 probes=$2
	shift 2
	if ! pan_run "$name" "$@"; then
		fail "model $name: pan did not complete"
		return
	fi
	bad=$(reports "$name" | grep -v '^probe reach_[a-z_]* reached')
	if [ -n "$bad" ]; then
		fail "model $name ($(stats "$name")): $(echo "$bad" | wc -l) error(s)"
		echo "$bad" | head -n 5 | sed 's/^/      /'
		return
	fi
	pass "model $name ($(stats "$name"), 0 errors)"
	for p in $probes; do
		d=$(reports "$name" | sed -n "s/^probe $p reached (at depth \([0-9]*\))/\1/p" | head -n 1)
		if [ -n "$d" ]; then
			pass "reach $p in $name (trail at depth $d)"
		else
			fail "reach $p in $name: no run reaches it (the branch is dead under these bounds)"
		fi
	done
}

# property tag of PROP n (the names the model's assertions carry)
tag() {
	case $1 in
	1) echo p1_once ;; 2) echo p2_quiescent ;; 3) echo p3_answered ;;
	4) echo p4_not_held ;; 5) echo p5_no_dead_grant ;; 6) echo p6_holds_counted ;;
	7) echo p7_legal ;;
	esac
}

# expect_caught BUG PROP SPIN-DEFINES: with only property PROP compiled in,
# pan's first report must be an assertion of PROP.  Invalid end states
# are ignored (-E) unless PROP is 2, the property they belong to.
expect_caught() {
	bug=$1 prop=$2 sdefs=$3
	want=$(tag "$prop")
	flags="-m100000 -w22"
	[ "$prop" = 2 ] || flags="$flags -E"
	if ! pan_run "$bug" "-D$bug -DPROP=$prop $sdefs" "-O0 -DSAFETY" "$flags"; then
		fail "mutation $bug: pan did not complete"
		return
	fi
	first=$(reports "$bug" | head -n 1)
	case $first in
	"assertion violated ($want&&"*)
		pass "mutation $bug breaks $want: ${first#assertion violated }" ;;
	"invalid end state"*)
		if [ "$prop" = 2 ]; then
			pass "mutation $bug breaks $want: $first"
		else
			fail "mutation $bug: expected $want, pan reported: $first"
		fi ;;
	"")
		fail "mutation $bug not caught by $want ($(stats "$bug")): the model no longer sees this mistake" ;;
	*)
		fail "mutation $bug: expected $want, pan reported: $first" ;;
	esac
}

MEM="-DMEMLIM=12000"
ALL_PROBES="reach_ready_running reach_not_ready_won reach_not_ready_lost
	reach_reconcile_won reach_reconcile_lost reach_reconcile_gone reach_event_lost
	reach_lease_survives reach_survivor_released reach_start_in_grant
	reach_restart reach_crash_loop"
TWO="-DNCLIENT=2 -DC1_KINDS=K_INFO -DREADY=0 -DRECONNECT=0 -DMAXCRASH=1"
# memory tiers: one caller, two rounds (the second restores), no readiness
TIERS="-DTIERS=1 -DNCLIENT=1 -DROUNDS=2 -DREADY=0"
TIERS_PROBES="reach_saved reach_restored reach_restore_failed_boot reach_crash_saving
	reach_crash_restoring reach_stop_suspended reach_save_failed reach_stop_while_saving"

# The jobs, longest first.  Safety: -c0 goes on past the probe reports,
# -e writes a trail for each.
safety_1client() {
	expect_clean safety-1client "$ALL_PROBES" \
		"-DNCLIENT=1 -DREACH=1" "-O2 -DSAFETY $MEM" "-c0 -e -m100000"
}
safety_2clients() {
	expect_clean safety-2clients "reach_lease_survives reach_survivor_released reach_restart" \
		"$TWO -DREACH=1" "-O2 -DSAFETY -DCOLLAPSE $MEM" "-c0 -e -m100000"
}
safety_2rounds() {
	expect_clean safety-2rounds "reach_ready_running reach_not_ready_won reach_not_ready_lost reach_restart" \
		"-DNCLIENT=1 -DROUNDS=2 -DC0_KINDS=K_TOKEN -DREADY=1 -DRECONNECT=0 -DMAXCRASH=1 -DREACH=1" \
		"-O2 -DSAFETY $MEM" "-c0 -e -m100000"
}
safety_tiers() {
	expect_clean safety-tiers "$TIERS_PROBES reach_restart" \
		"$TIERS -DC0_KINDS=K_TOKEN -DRECONNECT=0 -DMAXCRASH=1 -DREACH=1" \
		"-O2 -DSAFETY -DCOLLAPSE $MEM" "-c0 -e -m100000"
}
safety_tiers_reconnect() {
	expect_clean safety-tiers-reconnect "reach_saved reach_restored reach_stop_suspended reach_reconcile_gone" \
		"$TIERS -DC0_KINDS=K_TOKEN -DRECONNECT=1 -DMAXCRASH=0 -DMAXFAIL=0 -DREACH=1" \
		"-O2 -DSAFETY -DCOLLAPSE $MEM" "-c0 -e -m100000"
}
liveness_tiers() {
	expect_clean liveness-tiers "" \
		"$TIERS -DLIVENESS -DC0_KINDS=K_TOKEN -DRECONNECT=0 -DMAXCRASH=0 -DMAXFAIL=0" \
		"-O2 -DNFAIR=10 -DCOLLAPSE $MEM" "-a -f -m100000"
}
liveness_1client() {
	expect_clean liveness-1client "" \
		"-DNCLIENT=1 -DLIVENESS -DRECONNECT=0" "-O2 -DNFAIR=10 $MEM" "-a -f -m100000"
}
liveness_reconnect() {
	expect_clean liveness-reconnect "" \
		"-DNCLIENT=1 -DLIVENESS -DREADY=1 -DRECONNECT=1 -DMAXCRASH=1 -DC0_KINDS=K_TOKEN" \
		"-O2 -DNFAIR=10 $MEM" "-a -f -m100000"
}
# mutations: BUG PROPERTY BOUNDS
mutations_a() {
	expect_caught BUG_GRANT 5 "$TWO"
	expect_caught BUG_NOCAS 1 "$TWO"
	expect_caught BUG_LOSER 1 "$TWO"
	expect_caught BUG_NOGEN 4 "$TWO"
	expect_caught BUG_NOKICK 3 "$TWO"
}
mutations_b() {
	expect_caught BUG_NODEFER 1 "$TWO"
	expect_caught BUG_NOTREADY 1 "-DNCLIENT=1 -DREADY=1 -DRECONNECT=0"
	expect_caught BUG_RECONCILE 1 "-DNCLIENT=1 -DREADY=0 -DRECONNECT=1"
	expect_caught BUG_NOREVOKE 4 "-DNCLIENT=1 -DC0_KINDS=K_TOKEN -DREADY=0 -DRECONNECT=0"
	expect_caught BUG_DROPHOLDS 6 "-DNCLIENT=1 -DC0_KINDS=K_INFO -DREADY=0 -DRECONNECT=0"
}
mutations_c() {
	expect_caught BUG_RESTOREDEL 1 "$TIERS -DRECONNECT=0 -DMAXCRASH=1"
	expect_caught BUG_SUSPCLAIM 2 "$TIERS -DRECONNECT=0 -DMAXCRASH=1"
	expect_caught BUG_OWNSAVE 4 "$TIERS -DRECONNECT=0 -DMAXCRASH=1"
}
JOBS="safety_1client safety_tiers liveness_1client liveness_reconnect mutations_a mutations_b
	mutations_c"
[ "${MODEL_QUICK:-0}" = 1 ] || JOBS="safety_1client safety_2clients safety_tiers liveness_1client
	liveness_reconnect liveness_tiers safety_2rounds safety_tiers_reconnect mutations_a
	mutations_b mutations_c"

# MODEL_JOBS (default 2, the machine's CPUs) workers take the jobs in
# order: the first to create claim.JOB runs it; each job's lines are
# printed when it ends.
worker() {
	for j in $JOBS; do
		mkdir "claim.$j" 2>/dev/null || continue
		"$j" >"result.$j" 2>&1
		cat "result.$j"
	done
}
n=0
while [ "$n" -lt "${MODEL_JOBS:-2}" ]; do
	worker &
	n=$((n + 1))
done
wait

npass=$(cat result.* | grep -c '^PASS')
nfail=$(cat result.* | grep -c '^FAIL')
for j in $JOBS; do
	[ -f "result.$j" ] || { echo "FAIL  model: job $j did not run"; nfail=$((nfail + 1)); }
done
t=$(($(date +%s) - t_start))
if [ "$nfail" = 0 ]; then
	echo "model: $npass passed, 0 failed in ${t}s: every property holds, every probe is reached, every mutation breaks its property"
	exit 0
fi
echo "model: $npass passed, $nfail failed in ${t}s"
exit 1
