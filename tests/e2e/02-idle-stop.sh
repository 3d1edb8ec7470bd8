#!/bin/sh
# 02-idle-stop — with a 2 s grace, the VM is torn down once nothing holds
# it: the session is stopped with last_stop_reason idle, and libvirt no
# longer lists the domain (virsh list --all).  Both stop paths: a guest
# that powers off on the ACPI button (shutdown), and one that ignores it
# (e2e.acpi=off: shutdown, stop_timeout, then destroy).  The metrics count
# both idle stops and the memory they gave back: the QEMU processes'
# resident sets as libvirt reads them, at least 16 MiB each for a QEMU
# that booted a guest.
. "$(dirname "$0")/lib.sh"

echo "metrics_listen = 127.0.0.1:0" >>"$T/sessiond.conf"

# idle_stop NAME — run once, then the grace; checks the stop.
idle_stop() {
	ctl run "$1" -- sh -c "\"$SESSIONCTL\" status $1 --json > \"$T/$1.json\"" || fail "run $1 exited $?"
	released=$(now_ms)
	dom=$(jq -r .instance.domain "$T/$1.json")
	[ "$(jq -r .state "$T/$1.json")" = running ] || fail "$1 was not running during run"
	dom_listed "$dom" || fail "domain $dom is not listed right after run"
	wait_until 60 state_is "$1" stopped || fail "$1 did not stop within 60 s (state $(field "$1" .state))"
	stopped=$(now_ms)
	[ $((stopped - released)) -ge 1800 ] || fail "$1 stopped $((stopped - released)) ms after the release; the grace is 2 s"
	[ "$(field "$1" .last_stop_reason)" = idle ] || fail "$1: last_stop_reason $(field "$1" .last_stop_reason), not idle"
	[ "$(field "$1" .start_count)" = 1 ] || fail "$1: start_count $(field "$1" .start_count)"
	[ "$(field "$1" .instance)" = null ] || fail "$1: a stopped session shows an instance"
	wait_until 10 dom_gone "$dom" || fail "virsh list --all still shows $dom after the idle stop"
	echo "$1: stopped $((stopped - released)) ms after the release"
}

e2e_start
wait_until 10 metrics_served || fail "no 'metrics: serving' line in the log"
scrape "$T/m0"
mk polite --grace 2s --stop-timeout 20s
idle_stop polite
ctl console polite | grep -q "power button" || fail "polite was not stopped through ACPI shutdown: $(ctl console polite)"

mk deaf --grace 2s --stop-timeout 2s --cmdline "$GUEST_CMDLINE e2e.acpi=off"
idle_stop deaf
ctl console deaf | grep -q "power button" && fail "deaf saw the power button"
grep -q "deaf: guest did not shut down within 2s, destroying" "$DAEMON_LOG" ||
	fail "deaf was not destroyed after stop_timeout"

scrape "$T/m1"
promtool_clean "$T/m1"
expect_moved "$T/m0" "$T/m1" 'sessiond_vm_stops_total{reason="idle"}' -eq 2
expect_moved "$T/m0" "$T/m1" 'sessiond_vm_starts_total{kind="boot"}' -eq 2
expect_moved "$T/m0" "$T/m1" 'sessiond_vm_time_to_running_seconds_count{kind="boot"}' -eq 2
expect_moved "$T/m0" "$T/m1" 'sessiond_idle_unmeasured_total{reason="unsupported"}' -eq 0
expect_moved "$T/m0" "$T/m1" 'sessiond_idle_unmeasured_total{reason="error"}' -eq 0
# Two QEMU processes that booted a guest: tens of MiB each at least.
expect_moved "$T/m0" "$T/m1" 'sessiond_idle_returned_bytes_total{action="stop"}' -ge $((2 * 16 * 1024 * 1024))
echo "returned by 2 idle stops: $(sample "$T/m1" 'sessiond_idle_returned_bytes_total{action="stop"}') bytes"
exit 0
