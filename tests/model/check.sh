#!/bin/sh
# check.sh — model-checks tests/model/disposition.pml with spin.
#
#   1. safety, every property (PROP 0), one client: exhaustive
#   2. safety, every property, two clients: exhaustive (-DCOLLAPSE; about
#      55 M states, 4 GB and 100 s on a 2-core box); MODEL_QUICK=1 skips it
#   3. liveness (LTL p3: a parked caller is always answered), one client,
#      weak fairness
#   4. mutations: each BUG_* variant re-introduces one known mistake and
#      must be caught (otherwise the model proves nothing about it)
#
# Exits 1 on any failure.  Needs spin and a C compiler.
set -u
here=$(cd "$(dirname "$0")" && pwd)
command -v spin >/dev/null 2>&1 || { echo "model: spin is missing (apt-get install spin)"; exit 1; }
w=$(mktemp -d /tmp/sessiond-model.XXXXXX)
trap 'rm -rf "$w"' EXIT
cp "$here/disposition.pml" "$w/"
cd "$w" || exit 1
failed=0

# pan_run NAME SPIN-DEFINES CC-DEFINES PAN-FLAGS — prints pan's error count.
pan_run() {
	name=$1 sdefs=$2 cdefs=$3 flags=$4
	# shellcheck disable=SC2086
	spin $sdefs -a disposition.pml >"$name.spin" 2>&1 || { cat "$name.spin"; echo 99; return; }
	# shellcheck disable=SC2086
	cc -O2 -w $cdefs -o "pan-$name" pan.c 2>"$name.cc" || { cat "$name.cc"; echo 99; return; }
	# shellcheck disable=SC2086
	"./pan-$name" $flags >"$name.out" 2>&1
	if grep -q "error: \|pan: out of memory\|search not completed\|max search depth too small" "$name.out"; then
		echo 98
		return
	fi
	sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$name.out" | head -n 1
}

stored() { sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$1.out" | head -n 1; }

expect_clean() {
	name=$1
	shift
	n=$(pan_run "$name" "$@")
	if [ "$n" = 0 ]; then
		echo "PASS  model $name ($(stored "$name") states, 0 errors)"
	else
		echo "FAIL  model $name (errors: ${n:-none})"
		grep -E "violated|error|cycle|invalid end" "$name.out" | head -n 5 | sed 's/^/      /'
		failed=1
	fi
}

expect_caught() {
	name=$1
	shift
	n=$(pan_run "$name" "$@")
	case "$n" in
	[1-9]*) [ "$n" -lt 98 ] && { echo "PASS  mutation $name caught: $(grep -m1 -E 'violated|invalid end|acceptance cycle' "$name.out" | cut -c1-100)"; return; } ;;
	esac
	echo "FAIL  mutation $name not caught (errors: ${n:-none}): the model no longer sees this mistake"
	failed=1
}

MEM="-DMEMLIM=12000 -DVECTORSZ=2048"
expect_clean safety-1client "-DNCLIENT=1" "-DSAFETY $MEM" "-m10000000"
if [ "${MODEL_QUICK:-0}" != 1 ]; then
	expect_clean safety-2clients "-DNCLIENT=2" "-DSAFETY -DCOLLAPSE $MEM" "-m10000000"
fi
expect_clean liveness-1client "-DNCLIENT=1 -DLIVENESS" "-DNFAIR=10 $MEM" "-a -f -m10000000"
for b in BUG_GRANT BUG_NOCAS BUG_LOSER BUG_NOGEN BUG_NOKICK BUG_NODEFER; do
	expect_caught "$b" "-DNCLIENT=2 -D$b" "-DSAFETY $MEM" "-m10000000"
done
[ $failed = 0 ] && echo "model: spin found every property to hold and every mutation caught"
exit $failed
