#!/bin/sh
# tiers-restore-failure-cold-boot — a saved image that cannot be restored
# (here corrupted on disk) never costs the caller its VM: the old instance
# is torn down once (its image and scratch volume deleted, a stopped event
# with reason restore-failed), a new instance boots, and token.acquire's
# reply, session.get, status and the running event carry a warning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
POOL=$(daemon_pool "$SESSIOND_SOCKET")

ctl create t --idle-action save --grace 1s >/dev/null || fail "create"
ctl start t >/dev/null || fail "start"
inst=$(field t .instance.id)
scratch=$(field t .instance.scratch)
img=$(suspend_idle t)
watch_events t
printf 'not a saved domain\n' >"$img" || fail "cannot corrupt $img"

# A detached token holds the new VM up while it is looked at.
"$TOOLS/rpcpipe" -t 60 '{"jsonrpc":"2.0","id":1,"method":"token.acquire","params":{"name":"t","detach":true,"ttl_s":60}}' \
	>"$T/start" || fail "token.acquire not answered"
[ "$(jq -r .result.session.state "$T/start")" = running ] || fail "no VM for the caller: $(cat "$T/start")"
# The reply's summary has no texts (protocol 2); session.get has the warning.
w=$(field t .warning)
echo "warning: $w"
case "$w" in *restore*) ;; *) fail "session.get has no restore warning: $(ctl status t --json)" ;; esac
inst2=$(jq -r .result.session.instance.id "$T/start")
[ "$inst2" != "$inst" ] || fail "the same instance after a failed restore"
ctl status t | grep -q "^Warning: .*restore" || fail "status shows no warning: $(ctl status t)"
[ "$(field t .start_count)/$(field t .restore_count)" = 2/0 ] || fail "counts $(field t .start_count)/$(field t .restore_count)"
[ "$(field t .last_stop_reason)" = restore-failed ] || fail "last stop $(field t .last_stop_reason)"

[ ! -e "$img" ] || fail "the bad image $img is still there"
lv_volumes "$POOL" | grep -qx "$scratch" && fail "the old scratch volume $scratch is still there"
[ "$(lv_domains | wc -l)" = 1 ] || fail "domains: $(lv_domains)"
[ "$(vsh domuuid "$(lv_domains)")" = "$inst2" ] || fail "the running domain is not the new instance"

wait_until 5 has_events running 1 || fail "no running event: $(events)"
[ "$(n_events stopped)" = 1 ] || fail "stopped events: $(events stopped)"
[ "$(event_field stopped .reason)" = restore-failed ] || fail "stopped event: $(events stopped)"
[ "$(event_field stopped .instance)" = "$inst" ] || fail "stopped event: $(events stopped)"
[ "$(event_field running .instance)" = "$inst2" ] || fail "running event: $(events running)"
[ "$(event_field running .warning)" = "$w" ] || fail "running event: $(events running)"
[ "$(event_field running .restore)" = null ] || fail "a cold boot marked as a restore"

ctl release "$(jq -r .result.token "$T/start")" >/dev/null || fail "release"
ctl delete t >/dev/null || fail "delete"
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
