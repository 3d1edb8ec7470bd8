#!/bin/sh
# badinput-names — a session name is [A-Za-z0-9][A-Za-z0-9._-]{0,63} for
# every method that takes one, including those bad-input-errors does not
# try (session.stop, session.reset, session.watch, vm.info, vm.console,
# token.acquire with a TTL, session.create with settings, and root naming
# an owner_uid): a name that tries to leave the state directory or is one
# byte too long is -32602 naming 'name', and so is a name of the wrong
# JSON type.  Names at the edge of the rule (64 bytes, dots, names that
# look like the daemon's own files) are accepted and stay distinct.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-batch.sh"

start_daemon
ctl create real --grace 30s >/dev/null || fail "create real"

x64=$(printf 'x%.0s' $(seq 64))
x65=${x64}x
x300=$(printf 'y%.0s' $(seq 300))
# As JSON string bodies: escapes are JSON's.
bad='../x .. . ./x x/.. a/b /abs /etc/passwd ..\\x a\\b \/x ~root .hidden -dash _under
	x\n x\r x\t a%2fb \u002e\u002e/x \u002e\u002e \u2215x \u00e9'
# A NUL in a name: no C string may carry it, the frame is a parse error
# (id null), sent in a batch of its own.
nul='x\u0000y'
methods="session.create session.get session.start session.stop session.reset session.delete
	session.watch token.acquire vm.info vm.console"

# params METHOD NAME — sets p: the params of METHOD with NAME (a JSON
# string body), and what else each method takes.
params() {
	case $1 in
	token.acquire) p="{\"name\":\"$2\",\"ttl_s\":5,\"detach\":true}" ;;
	session.create) p="{\"name\":\"$2\",\"grace_s\":5,\"memory_mib\":256}" ;;
	vm.console) p="{\"name\":\"$2\",\"max_bytes\":100}" ;;
	session.stop) p="{\"name\":\"$2\",\"force\":true}" ;;
	*) p="{\"name\":\"$2\"}" ;;
	esac
}

for name in $bad $x65 $x300; do
	for m in $methods; do
		params $m "$name"
		expect names -32602 name $m "$p"
	done
	# Root naming an owner: the name is checked all the same.
	expect names -32602 name session.get "{\"name\":\"$name\",\"owner_uid\":65534}"
done

# Wrong JSON types.
for v in 5 1.5 true null '["real"]' '{"n":"real"}'; do
	for m in $methods; do
		[ $m = session.watch ] && [ "$v" = null ] && continue
		expect names -32602 name $m "{\"name\":$v}"
	done
done
send names

for m in $methods; do
	params $m "$nul"
	expect names -32700 "" $m "$p"
done
send -o names

# Nothing of this made a session or a file.
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = real ] || fail "bad names created sessions: $(ctl list)"
[ "$(ls "$T/state/sessions" | wc -l)" = 1 ] || fail "bad names wrote state files: $(ls -a "$T/state/sessions")"

# The edge of the rule: accepted, distinct, each found by its own name.
# Created first (a get sent with its create may come first), then looked up.
edge="$x64 a..b x.json daemon-id sessions console pool 0 Z9._- a.tmp"
for name in $edge; do
	expect names result "$name" session.create "{\"name\":\"$name\"}"
done
send names
expect names -32005 exists session.create "{\"name\":\"$x64\"}"
for name in $edge; do
	expect names result "$name" session.get "{\"name\":\"$name\"}"
done
send names
[ "$(ctl list --json | jq '.sessions | length')" = 11 ] || fail "not 11 sessions: $(ctl list)"
daemon_alive || fail "the daemon died"
exit 0
