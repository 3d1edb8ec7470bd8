#!/bin/sh
# hosts-config-errors — a sessiond.conf with a mistake in its host sections
# stops sessiond before it serves: exit status 2 and a message that names
# the file and the line (an unknown key, a number that is none, a host
# named twice, a host without a uri, uri beside host sections).  --uri
# makes one host whatever the sections say.
. "$(dirname "$0")/lib.sh"

# refused LINE SAYS TEXT... — sessiond refuses the file made of TEXT with
# exit 2 and "FILE:LINE: ...SAYS..." as its message.
refused() {
	want=$1
	says=$2
	shift 2
	printf '%s\n' "$@" >"$T/bad.conf"
	"$SESSIOND" --foreground --socket "$T/bad.sock" --state-dir "$T/bad-state" \
		--config "$T/bad.conf" >"$T/bad.out" 2>&1
	rc=$?
	[ $rc = 2 ] || fail "exit $rc, not 2, for: $* ($(cat "$T/bad.out"))"
	grep -qF "$T/bad.conf:$want: " "$T/bad.out" && grep -qF "$says" "$T/bad.out" ||
		fail "no '$T/bad.conf:$want: ...$says' for: $* ($(cat "$T/bad.out"))"
	[ ! -e "$T/bad.sock" ] || fail "it served for: $*"
}

refused 3 "unknown key 'memroy_mib' in [host a]" '[host a]' 'uri = test:///default' 'memroy_mib = 1024'
refused 3 memory_mib '[host a]' 'uri = test:///default' 'memory_mib = lots'
refused 3 reserve_mib '[host a]' 'uri = test:///default' 'reserve_mib = -1'
refused 4 "duplicate host 'a' (first at line 1)" '[host a]' 'uri = test:///default' '' \
	'[host a]' 'uri = test:///default'
refused 1 "[host a] has no uri" '[host a]' 'memory_mib = 1024'
refused 1 "exclude each other" 'uri = test:///default' '[host a]' 'uri = test:///default'
refused 1 "host name 'x/y'" '[host x/y]' 'uri = test:///default'
refused 1 keepalive_s 'keepalive_s = never'

# --uri: one host, whatever the file says.
printf '[host a]\nuri = test:///nowhere-at-all\n' >"$T/sessiond.conf"
start_daemon
ctl hosts --json | jq -e '.hosts | length == 1 and .[0].name == "local" and .[0].connected' >/dev/null ||
	fail "--uri did not make one connected host 'local': $(ctl hosts)"
exit 0
