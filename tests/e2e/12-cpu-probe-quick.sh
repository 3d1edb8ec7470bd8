#!/bin/sh
# 12-cpu-probe-quick — cpu_probe = quick in sessiond.conf: the domain the
# daemon defines carries libvirt's QEMU-namespace override that removes
# the cpu-unavailable-features capability, libvirt applies it (it says so:
# the domain is tainted by a hypervisor feature override), the guest boots
# to its ready line, and a save and a restore (idle_action save) keep the
# override: the restored domain is the same instance, still overridden.
# Without the key (every other scenario) no domain carries it.
. "$(dirname "$0")/lib.sh"

echo "cpu_probe = quick" >>"$T/sessiond.conf"

# overridden DOMAIN — the live XML removes the capability, and libvirt
# reports the override.
overridden() {
	vsh dumpxml "$1" | grep -q "del capability=.cpu-unavailable-features." &&
		vsh dominfo "$1" | grep -q "hypervisor feature autodetection override"
}

e2e_start
mk quick --grace 3s --idle-action save
tok=$(hold_detached quick) || fail "hold quick"
inst=$(inst_of quick)
dom=$(dom_of quick)
overridden "$dom" || fail "no CPU probe override on $dom: $(vsh dumpxml "$dom" | grep -i capabilit; vsh dominfo "$dom" | grep -i messages)"
echo "booted $dom with the override"

ctl release "$tok" >/dev/null || fail "release $tok"
wait_until 120 state_is quick suspended ||
	fail "not suspended after the grace: state $(field quick .state), last stop $(field quick .last_stop_detail)"
tok=$(hold_detached quick) || fail "hold quick after the save"
[ "$(inst_of quick)" = "$inst" ] || fail "the restore made a new instance: $inst -> $(inst_of quick)"
[ "$(field quick .restore_count)" = 1 ] || fail "restore_count $(field quick .restore_count), not 1"
overridden "$dom" || fail "the restored $dom lost the override"
echo "restored $dom with the override"
ctl release "$tok" >/dev/null || fail "release $tok"
exit 0
