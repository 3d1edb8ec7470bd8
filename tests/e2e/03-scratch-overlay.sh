#!/bin/sh
# 03-scratch-overlay — while the VM runs, its scratch disk (the status's
# instance.scratch, a volume in the daemon's pool) is a qcow2 overlay:
# qemu-img info shows the shared template as its backing file.  After the
# idle stop the file is gone.  The next instance gets a new overlay, and
# the guest finds it fresh (nothing the last instance wrote).
. "$(dirname "$0")/lib.sh"

# check_overlay NAME N — run, inspect the scratch from inside the run.
check_overlay() {
	ctl run "$1" -- sh -c "
		\"$SESSIONCTL\" status $1 --json > \"$T/s$2.json\"
		p=\$(virsh -q -c $URI vol-path --pool $POOL \"\$(jq -r .instance.scratch \"$T/s$2.json\")\")
		echo \"\$p\" > \"$T/path$2\"
		qemu-img info -U --output=json \"\$p\" > \"$T/info$2.json\"
		\"$SESSIONCTL\" console $1 > \"$T/console$2.txt\"" || fail "run $2 exited $?"
	vol=$(jq -r .instance.scratch "$T/s$2.json")
	path=$(cat "$T/path$2")
	[ "$vol" != null ] && [ -n "$path" ] || fail "no scratch volume while running: $(jq -c .instance "$T/s$2.json")"
	[ "$(jq -r .format "$T/info$2.json")" = qcow2 ] || fail "scratch $path is not qcow2: $(cat "$T/info$2.json")"
	backing=$(jq -r '.["full-backing-filename"] // .["backing-filename"] // empty' "$T/info$2.json")
	[ -n "$backing" ] || fail "scratch $path has no backing file: $(cat "$T/info$2.json")"
	case "$backing" in */"${PREFIX}template-"*) ;; *) fail "scratch backing file is $backing, not the template" ;; esac
	[ -f "$backing" ] || fail "the template $backing does not exist"
	grep -q "^SCRATCH fresh" "$T/console$2.txt" || fail "instance $2 did not get a fresh scratch disk: $(cat "$T/console$2.txt")"
	wait_until 60 state_is "$1" stopped || fail "no idle stop after run $2 (state $(field "$1" .state))"
	[ "$(field "$1" .last_stop_reason)" = idle ] || fail "last stop $(field "$1" .last_stop_reason), not idle"
	[ ! -e "$path" ] || fail "scratch $path is still there after the idle stop"
	vol_listed "$vol" && fail "the pool still lists $vol after the idle stop"
	echo "instance $2: $vol over $(basename "$backing")"
}

e2e_start
mk scratchy --grace 2s
check_overlay scratchy 1
check_overlay scratchy 2
[ "$(cat "$T/path1")" != "$(cat "$T/path2")" ] || fail "two instances used the same scratch file"
exit 0
