#!/bin/sh
# scratch-failure-fallback-warning — when the scratch disk cannot be
# made, the VM starts without one and says why: the session.start reply,
# session.get and the "running" event carry a warning "no scratch disk:
# ...", the instance shows no scratch volume, and the domain has no scratch
# disk.  The failure is real: the daemon's (transient) pool is destroyed
# from outside, through the private libvirtd the daemon uses, so libvirt
# refuses the template and the overlay.  Once the pool is back, the next
# instance gets its scratch disk and the warning is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-libvirtd.sh"

libvirtd_start
SESSIOND_URI=$LV_URI start_daemon
P=$(lv_prefix)
ppath=$(vsh pool-dumpxml "$P" | sed -n 's|.*<path>\(.*\)</path>.*|\1|p')
[ -n "$ppath" ] || fail "the daemon's pool '$P' has no path: $(vsh pool-list --all)"

start_req='{"jsonrpc":"2.0","id":1,"method":"session.start","params":{"name":"eph"}}'
# running_events — the warning of each "running" event, "null" if none.
running_events() { jq -r 'select(.params.event == "running") | .params.warning // "null"' "$T/events"; }
n_running() { [ "$(running_events | wc -l)" -ge "$1" ]; }

# Ephemeral: the pool holds no persistent disk that the failure would
# take with it; the scratch disk is all that is at stake.
ctl create eph --storage ephemeral --grace 60s >/dev/null || fail "create eph"
"$TOOLS/rpcpipe" -n -1 -t "$CLIENT_DEADLINE" '{"jsonrpc":"2.0","id":"w","method":"session.watch","params":{"name":"eph"}}' \
	>"$T/events" 2>/dev/null &
WATCH=$!
wait_until 10 grep -q '"id":"w","result"' "$T/events" || fail "the watch was not answered"

vsh pool-destroy "$P" >/dev/null || fail "cannot destroy the pool from outside"
vsh pool-info "$P" >/dev/null 2>&1 && fail "the pool is still there after pool-destroy"

"$TOOLS/rpcpipe" -t 60 "$start_req" >"$T/start1" || fail "session.start not answered"
# The start's reply is the session's summary (protocol 2: constant size,
# no texts); the warning is session.get's and the running event's.
[ "$(jq -r .result.state "$T/start1")" = running ] || fail "the VM did not start: $(cat "$T/start1")"
w=$(field eph .warning)
echo "warning: $w"
case "$w" in "no scratch disk: "?*) ;; *) fail "session.get has no scratch warning: $(ctl status eph --json)" ;; esac
[ "$(field eph .instance.scratch)" = null ] || fail "session.get names a scratch volume"
dom=$(field eph .instance.domain)
inst=$(field eph .instance.id)
vsh domstate "$dom" | grep -qx running || fail "domain $dom is not running in libvirt"
vsh domblklist "$dom" --details | grep -q -e '-scratch\.qcow2' && fail "the domain has a scratch disk: $(vsh domblklist "$dom")"
wait_until 10 n_running 1 || fail "no running event: $(cat "$T/events")"
[ "$(running_events | sed -n 1p)" = "$w" ] || fail "the running event's warning is '$(running_events | sed -n 1p)', not '$w'"

# The pool back where the daemon made it: the next instance has its
# scratch disk and no warning.
vsh pool-create-as "$P" dir --target "$ppath" >/dev/null || fail "cannot create the pool again"
ctl stop eph >/dev/null || fail "stop eph"
"$TOOLS/rpcpipe" -t 60 "$start_req" >"$T/start2" || fail "second session.start not answered"
[ "$(field eph .warning)" = null ] || fail "the second start still warns: $(field eph .warning)"
inst2=$(field eph .instance.id)
[ "$inst2" != "$inst" ] || fail "the second start reused instance $inst"
scratch="$P-$inst2-scratch.qcow2"
[ "$(field eph .instance.scratch)" = "$scratch" ] || fail "session.get's scratch is $(field eph .instance.scratch), not $scratch"
lv_volumes | grep -qx "$scratch" || fail "no volume $scratch: $(lv_volumes)"
vsh domblklist "$(field eph .instance.domain)" --details | grep -q -e " $scratch\$" ||
	fail "the second domain does not attach $scratch: $(vsh domblklist "$(field eph .instance.domain)")"
wait_until 10 n_running 2 || fail "no second running event: $(cat "$T/events")"
[ "$(running_events | sed -n 2p)" = null ] || fail "the second running event warns: $(running_events | sed -n 2p)"

ctl delete eph >/dev/null || fail "delete eph"
[ -z "$(lv_domains)" ] || fail "domains left: $(lv_domains)"
kill "$WATCH" 2>/dev/null
daemon_alive || fail "the daemon died"
stop_daemon || fail "the daemon did not exit cleanly on SIGTERM"
exit 0
