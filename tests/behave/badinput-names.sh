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

n=0
req() { printf '{"jsonrpc":"2.0","id":%s,"method":"%s","params":%s}' "$1" "$2" "$3"; }

# expect CODE WORD METHOD PARAMS — one reply, error CODE naming WORD.
expect() {
	code=$1 word=$2 m=$3 params=$4
	n=$((n + 1))
	"$TOOLS/rpcpipe" -t 5 "$(req $n "$m" "$params")" >"$T/out" 2>"$T/err" ||
		fail "$m $params: no reply: $(cat "$T/err")"
	# One jq for the three fields (this runs some 300 times): code, id,
	# then the message (which may hold anything) on the lines after.
	jq -r '.error.code, .id, .error.message' "$T/out" >"$T/fields"
	got=$(sed -n 1p "$T/fields") id=$(sed -n 2p "$T/fields")
	[ "$got" = "$code" ] || fail "$m $params: code $got, not $code: $(cat "$T/out")"
	want=$n
	[ "$code" = -32700 ] && want=null          # a parse error cannot know the id
	[ "$id" = $want ] || fail "$m $params: reply id $id, not $want"
	sed 1,2d "$T/fields" | grep -qF -- "$word" ||
		fail "$m $params: the message does not name '$word': $(cat "$T/out")"
}

start_daemon
ctl create real --grace 30s >/dev/null || fail "create real"

x64=$(printf 'x%.0s' $(seq 64))
x65=${x64}x
x300=$(printf 'y%.0s' $(seq 300))
# As JSON string bodies: escapes are JSON's.
bad='../x .. . ./x x/.. a/b /abs /etc/passwd ..\\x a\\b \/x ~root .hidden -dash _under
	x\n x\r x\t a%2fb \u002e\u002e/x \u002e\u002e \u2215x \u00e9 x\u0000y'
methods="session.create session.get session.start session.stop session.reset session.delete
	session.watch token.acquire vm.info vm.console"

for name in $bad $x65 $x300; do
	for m in $methods; do
		case $m in
		token.acquire) p="{\"name\":\"$name\",\"ttl_s\":5,\"detach\":true}" ;;
		session.create) p="{\"name\":\"$name\",\"grace_s\":5,\"memory_mib\":256}" ;;
		vm.console) p="{\"name\":\"$name\",\"max_bytes\":100}" ;;
		session.stop) p="{\"name\":\"$name\",\"force\":true}" ;;
		*) p="{\"name\":\"$name\"}" ;;
		esac
		case $name in
		*u0000*) expect -32700 "" $m "$p" ;;     # no C string may carry a NUL
		*) expect -32602 name $m "$p" ;;
		esac
	done
	# Root naming an owner: the name is checked all the same.
	case $name in
	*u0000*) ;;
	*) expect -32602 name session.get "{\"name\":\"$name\",\"owner_uid\":65534}" ;;
	esac
done

# Wrong JSON types.
for v in 5 1.5 true null '["real"]' '{"n":"real"}'; do
	for m in $methods; do
		[ $m = session.watch ] && [ "$v" = null ] && continue
		expect -32602 name $m "{\"name\":$v}"
	done
done

# Nothing of this made a session or a file.
[ "$(ctl list --json | jq -r '[.sessions[].name] | join(",")')" = real ] || fail "bad names created sessions: $(ctl list)"
[ "$(ls "$T/state/sessions" | wc -l)" = 1 ] || fail "bad names wrote state files: $(ls -a "$T/state/sessions")"

# The edge of the rule: accepted, distinct, each found by its own name.
edge="$x64 a..b x.json daemon-id sessions console pool 0 Z9._- a.tmp"
for name in $edge; do
	ctl create "$name" >/dev/null || fail "the valid name '$name' was refused"
done
expect -32005 exists session.create "{\"name\":\"$x64\"}"
for name in $edge; do
	[ "$(field "$name" .name)" = "$name" ] || fail "session '$name' is not found by its name"
done
[ "$(ctl list --json | jq '.sessions | length')" = 11 ] || fail "not 11 sessions: $(ctl list)"
daemon_alive || fail "the daemon died"
exit 0
