#!/bin/sh
# 09-domain-type — the session's domain_type picks the libvirt domain type,
# seen in the domain XML libvirt holds (virsh dumpxml), not in the daemon:
#   qemu  the domain is type qemu (TCG) and the guest boots;
#   auto  kvm only where a KVM guest can run (/dev/kvm opens and the CPU
#         advertises vmx or svm, DESIGN.md), else qemu; either way the
#         guest boots.  On a box where KVM is a trap (/dev/kvm without
#         vmx/svm, or no /dev/kvm at all) auto must say qemu;
#   kvm   the domain is type kvm even where KVM cannot run: libvirt is
#         given type kvm (dumpxml while the start waits, or libvirt's own
#         refusal of a KVM domain when it will not create one), the start
#         fails within the ready timeout instead of hanging, the session
#         says so (stopped, last stop start-failed, the reason in
#         last_stop_detail) and nothing is left running.
. "$(dirname "$0")/lib.sh"

# dom_type DOMAIN — the type in the domain's XML, as libvirt has it.
dom_type() { vsh dumpxml "$1" 2>/dev/null | sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p"; }

# kvm_runs — a KVM guest can run here: /dev/kvm is a device that opens
# read-write (tested first: <> alone would create a file), vmx or svm.
kvm_runs() { [ -c /dev/kvm ] && (: <>/dev/kvm) 2>/dev/null && grep -qwE 'vmx|svm' /proc/cpuinfo; }

# boots_as NAME TYPE — a run, the domain's type read while the VM is up.
boots_as() {
	ctl run "$1" -- sh -c "
		d=\$(\"$SESSIONCTL\" status $1 --json | jq -r .instance.domain)
		virsh -q -c $URI dumpxml \"\$d\" > \"$T/$1.xml\"
		\"$SESSIONCTL\" console $1 > \"$T/$1.console\"" || fail "run $1 exited $?"
	t=$(sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p" "$T/$1.xml")
	[ "$t" = "$2" ] || fail "$1 (domain_type $(field "$1" .domain_type)) ran as type '$t', not $2: $(head -n 1 "$T/$1.xml")"
	grep -q "$GUEST_READY" "$T/$1.console" || fail "$1 ran before its guest was ready"
	echo "$1: domain_type $(field "$1" .domain_type) -> libvirt type $t, booted"
}

if kvm_runs; then auto_expect=kvm; else auto_expect=qemu; fi
echo "this host: /dev/kvm $([ -c /dev/kvm ] && echo present || echo absent)," \
	"vmx/svm $(grep -qwE 'vmx|svm' /proc/cpuinfo && echo yes || echo no): auto must choose $auto_expect"

e2e_start
mk tcg --grace 2s --domain-type qemu
boots_as tcg qemu
mk chooser --grace 2s --domain-type auto
boots_as chooser "$auto_expect"

# kvm, asked for: watch the domain while the start runs in the background.
mk hw --grace 2s --domain-type kvm --ready-timeout 15s
[ "$(field hw .domain_type)" = kvm ] || fail "hw's domain_type is $(field hw .domain_type)"
timeout 120 "$SESSIONCTL" start hw >"$T/hw.out" 2>&1 &
spid=$!
seen="" seen_dom=""
# seen_type — the type of hw's domain once libvirt has it; true then, or
# once the start has returned.
seen_type() {
	d=$(field hw .instance.domain)
	if [ -n "$d" ] && [ "$d" != null ] && [ -z "$seen" ]; then
		seen=$(dom_type "$d")
		[ -n "$seen" ] && seen_dom=$d
	fi
	[ -n "$seen" ] || ! kill -0 $spid 2>/dev/null
}
wait_until 150 seen_type || fail "neither a domain nor the start's end within 150 s"
wait $spid
rc=$?
[ $rc != 124 ] || fail "sessionctl start hw did not return within 120 s (ready timeout 15 s)"
if kvm_runs; then
	# A real KVM host: the guest boots as kvm.
	[ $rc = 0 ] || fail "start hw failed on a host where KVM runs: $(cat "$T/hw.out")"
	[ "$seen" = kvm ] || fail "hw ran as type '$seen', not kvm"
	exit 0
fi
[ $rc != 0 ] || fail "start hw succeeded as a KVM guest on a host where KVM cannot run (domain type '$seen')"
detail=$(field hw .last_stop_detail)
if [ -n "$seen" ]; then
	[ "$seen" = kvm ] || fail "hw's domain $seen_dom is type '$seen', not kvm"
	why="libvirt held $seen_dom as type kvm"
else
	# libvirt refused the domain before creating it; its message names the
	# type it was given ("could not get preferred machine for ... type=kvm"
	# from libvirt 9 without /dev/kvm; "domaintype=kvm", "requires KVM").
	echo "$detail" | grep -qE "type=kvm|requires KVM|accel 'kvm'" ||
		fail "no domain appeared, and the start's error does not say libvirt refused a KVM domain: $detail"
	why="libvirt refused a KVM domain"
fi
wait_until 30 state_is hw stopped || fail "hw is $(field hw .state) after its failed start"
[ "$(field hw .last_stop_reason)" = start-failed ] || fail "hw's last stop is $(field hw .last_stop_reason), not start-failed"
[ -n "$detail" ] && [ "$detail" != null ] || fail "hw's failed start left no last_stop_detail"
grep -qF "$(echo "$detail" | cut -c1-40)" "$T/hw.out" || fail "sessionctl start did not report the failure: $(cat "$T/hw.out")"
[ -z "$seen_dom" ] || wait_until 30 dom_gone "$seen_dom" || fail "the failed KVM domain $seen_dom is still listed"
echo "hw: domain_type kvm: $why; start failed: $detail"
exit 0
