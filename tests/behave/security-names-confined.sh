#!/bin/sh
# security-names-confined — nothing a client names reaches the file system
# outside the state directory, and inside it files are named by ids, never
# by session names.  Names that try to escape ("../x", "a/b", "/abs",
# "..", ".hidden", 65 bytes, "..\x", "%2e%2e/x", "\u002e\u002e/x") sent by
# root (also for another owner_uid) and by uid nobody to every method that
# takes a name are refused and create nothing, neither beside the state
# directory nor in the daemon's working directory nor in /; names that
# look like the daemon's own files ("daemon-id", "x.json", "sessions",
# "console", "pool", "a.tmp") are ordinary sessions whose files are
# <uuid>.json, and the real daemon-id is untouched.  After a restart every
# session comes back, by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-batch.sh"

mkdir -p "$T/cwd" "$T/beside"
: >"$T/marker"
root_ls0=$(ls -a /)
cd "$T/cwd" || fail "cd $T/cwd"
start_daemon
daemon_id0=$(cat "$T/state/daemon-id")

AS_NOBODY=""
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
   setpriv --reuid=nobody --regid=nogroup --clear-groups "$SESSIONCTL" list >/dev/null 2>&1; then
	AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi

x65=$(printf 'x%.0s' $(seq 65))
bad='../x ../beside/x ../../x .. . a/b /abs /tmp/x ./x .hidden ..\\x %2e%2e/x \u002e\u002e/x \u002fabs x\n '"$x65"
me=$(id -u)
for name in $bad; do
	for m in session.create session.get session.start session.stop session.reset session.delete \
		 session.watch token.acquire vm.info vm.console; do
		expect root -32602 name $m "{\"name\":\"$name\"}"
		# Root acting for another owner (only root may name one).
		[ "$me" = 0 ] && expect root -32602 name $m "{\"name\":\"$name\",\"owner_uid\":65534}"
		[ -n "$AS_NOBODY" ] && expect nobody -32602 name $m "{\"name\":\"$name\"}"
	done
done
send root
[ -z "$AS_NOBODY" ] || send nobody $AS_NOBODY

# Names that look like the daemon's own files are just names.
look='daemon-id x.json sessions console pool a.tmp json'
for name in $look; do
	expect root result "$name" session.create "{\"name\":\"$name\"}"
done
send root
ctl start x.json >/dev/null || fail "start x.json"
ctl hold daemon-id --ttl 10m --detach >/dev/null || fail "hold daemon-id"
[ "$(cat "$T/state/daemon-id")" = "$daemon_id0" ] || fail "the daemon-id file changed"

# Nothing new outside the state directory but what this script made (the
# batches, and the sanitizer or valgrind logs lib.sh collects in san/).
new=$(cd "$T" && find . -newer marker ! -path './state' ! -path './state/*' ! -path . \
	! -name sock ! -name daemon.log ! -path ./cwd ! -path ./san ! -path './san/*' \
	! -path ./batch | sort)
[ -z "$new" ] || fail "files appeared outside the state directory: $new"
[ -z "$(ls -A "$T/cwd")" ] || fail "files appeared in the daemon's working directory: $(ls -A "$T/cwd")"
[ -z "$(ls -A "$T/beside")" ] || fail "files appeared beside the state directory: $(ls -A "$T/beside")"
[ "$(ls -a /)" = "$root_ls0" ] || fail "/ changed: $(ls -a /)"
# Inside it: ids only.
odd=$(cd "$T/state" && find . -type f | grep -Ev '^\./daemon-id$|^\./sessions/[0-9a-f-]{36}\.json$|^\./console/[0-9a-f-]{36}\.log$|^\./pool/')
[ -z "$odd" ] || fail "state files not named by id: $odd"
[ "$(ls "$T/state/sessions" | wc -l)" = 7 ] || fail "not 7 state files: $(ls -a "$T/state/sessions")"

# A restart finds them all, by name.
kill9_daemon
start_daemon
for name in $look; do
	expect root result "$name" session.get "{\"name\":\"$name\"}"
done
send root
[ "$(ctl list --json | jq '.sessions | length')" = 7 ] || fail "not 7 sessions after the restart: $(ctl list)"
grep -q "skipped" "$DAEMON_LOG" && fail "the daemon skipped a state file: $(grep skipped "$DAEMON_LOG")"
exit 0
