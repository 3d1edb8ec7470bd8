#!/bin/sh
# survives-kill9 — kill -9 of the daemon loses nothing it acknowledged: a
# restart on the same state directory finds every session with its id,
# settings, creation time and start count, and a detached token (long TTL)
# is still listed in holds with its expiry and can still be released.
#
# Each kill comes right after the last acknowledgement (a detached hold
# that also starts the VM; a session.start): whatever that reply promised
# must already be on disk.  For a start that includes the instance, so
# the next daemon knows of it (here, on the test driver, the VM died with
# the daemon: the session must say its last VM was "lost"; on a real
# libvirtd the next daemon must adopt it rather than destroy it as an
# orphan).
. "$(dirname "$0")/lib.sh"

ms_of() { date -d "$1" +%s%3N; }
# What must survive, as one line of JSON per session ("created" apart).
kept() {
	ctl status "$1" --json | jq -c '{name, id, owner_uid, start_count, grace_s, storage,
		crash_policy, memory_mib, vcpus, domain_type}'
}

start_daemon
ctl create alpha --grace 45s --memory 256 --vcpus 2 --crash-policy restart >/dev/null || fail "create alpha"
ctl run alpha -- true || fail "run alpha"
ctl stop alpha >/dev/null || fail "stop alpha"
ctl run alpha -- true || fail "run alpha again"
[ "$(field alpha .start_count)" = 2 ] || fail "alpha's start_count is $(field alpha .start_count) before the kill"
ctl create beta --storage ephemeral --grace never --domain-type qemu >/dev/null || fail "create beta"
ctl create gamma --grace 5m >/dev/null || fail "create gamma"
for s in alpha beta gamma; do
	kept $s >"$T/kept.$s"
	field $s .created >"$T/created.$s"
done

# The last acknowledgement: a detached token on a stopped session (its
# reply shows the VM started, start_count 1), then at once kill -9.
ctl hold beta --ttl 10m --reason "survive the crash" --detach --json >"$T/hold.json" ||
	fail "hold beta --detach"
kill9_daemon
tok=$(jq -r .token "$T/hold.json")
exp_before=$(jq -r .expires "$T/hold.json")
[ "$(jq -r .session.start_count "$T/hold.json")" = 1 ] || fail "the hold's reply shows start_count $(jq -r .session.start_count "$T/hold.json")"
jq -c '.start_count = 1' "$T/kept.beta" >"$T/kept.beta.new" && mv "$T/kept.beta.new" "$T/kept.beta"

start_daemon
for s in alpha beta gamma; do
	ctl status $s >/dev/null 2>&1 || fail "session $s is gone after kill -9: $(ctl list)"
done
[ "$(ctl list --json | jq '.sessions | length')" = 3 ] || fail "not exactly three sessions: $(ctl list)"

h=$(ctl holds beta --json) || fail "holds beta"
t=$(echo "$h" | jq -c "map(select(.id == \"$tok\")) | .[0]")
[ "$t" != null ] || fail "the acknowledged detached token $tok is not in beta's holds after kill -9: $h"
[ "$(echo "$t" | jq -r .kind)" = token ] || fail "the restored hold is not a token: $t"
[ "$(echo "$t" | jq -r .reason)" = "survive the crash" ] || fail "the token lost its reason: $t"
d=$(( $(ms_of "$(echo "$t" | jq -r .expires)") - $(ms_of "$exp_before") ))
[ $d -ge -1000 ] && [ $d -le 1000 ] || fail "the token's expiry moved by $d ms: $exp_before -> $(echo "$t" | jq -r .expires)"

for s in alpha beta gamma; do
	want=$(cat "$T/kept.$s")
	was=$(cat "$T/created.$s")
	[ "$(kept $s)" = "$want" ] || fail "$s changed across kill -9: before $want, after $(kept $s)"
	now=$(field $s .created)
	[ "$now" = "$was" ] || fail "$s: 'created' changed across the restart: $was -> $now"
done

ctl release "$tok" >/dev/null || fail "the restored token could not be released"
[ "$(field beta '.holds | length')" = 0 ] || fail "beta still held after the release: $(ctl holds beta)"

# Second crash: right after an acknowledged start.
ctl start gamma --json >"$T/start.json" || fail "start gamma"
kill9_daemon
acked=$(jq -r .start_count "$T/start.json")
[ "$acked" = 1 ] || fail "start's reply shows start_count $acked"
start_daemon
[ "$(field gamma .start_count)" = "$acked" ] ||
	fail "gamma's acknowledged start was lost: start_count $(field gamma .start_count), acknowledged $acked"
[ "$(field gamma .last_stop_reason)" = lost ] ||
	fail "the restarted daemon did not know gamma's VM (last_stop_reason $(field gamma .last_stop_reason), not lost)"
exit 0
