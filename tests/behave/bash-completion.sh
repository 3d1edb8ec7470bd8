#!/bin/sh
# bash-completion — contrib/bash-completion/sessionctl, loaded into a
# non-interactive bash, registers a function with "complete -F"; that
# function, driven the way readline drives it (COMP_WORDS, COMP_CWORD),
# completes: a session name from the daemon (only the caller's own: nobody
# never gets root's names; --owner as root gets that user's), commands,
# a command's options (its own, create's from settings_table, the common
# ones), enum values (--storage), file names for --socket, and a program
# after run's "--".  No daemon, or one that accepts but never answers,
# completes no name, prints nothing and does not hold the shell for long.
. "$(dirname "$0")/lib.sh"

command -v bash >/dev/null 2>&1 || skip "needs bash"
COMPLETION="$(cd "$(dirname "$0")/../.." && pwd)/contrib/bash-completion/sessionctl"
# Copies nobody can read and run: the tree may be under a directory only
# root may enter (a clone in mktemp -d).
cp "$COMPLETION" "$T/completion" && chmod 644 "$T/completion" || fail "cannot copy $COMPLETION"
install -m 0755 "$SESSIONCTL" "$T/sessionctl" || fail "cannot copy $SESSIONCTL"
COMPLETION="$T/completion" SESSIONCTL="$T/sessionctl"

# complete_words WORD... — what the registered function offers for the last
# word of "sessionctl WORD...", sorted, on one line (as the user $AS runs
# it, when set).
AS=""
complete_words() {
	$AS timeout 30 bash -c '
		. "$1" || exit 1
		fn=$(complete -p sessionctl | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || { echo "no complete -F for sessionctl" >&2; exit 1; }
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$fn" sessionctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$COMPLETION" "$SESSIONCTL" "$@" | sort | paste -sd' '
}
expect() {  # expect "WANT" WORD...
	want=$1
	shift
	got=$(complete_words "$@")
	[ "$got" = "$want" ] || fail "sessionctl $* <TAB>: got '$got', want '$want'"
}

# No daemon yet: no names, no noise.
expect "" status ""
err=$(complete_words status "" 2>&1 >/dev/null)
[ -z "$err" ] || fail "completion without a daemon printed: $err"

# A socket nobody serves (systemd-socket-activate starts only a sleep):
# the completion gives up within seconds.
if command -v systemd-socket-activate >/dev/null 2>&1; then
	systemd-socket-activate -l "$T/hung.sock" sleep 120 >/dev/null 2>&1 &
	HUNG_PID=$!
	at_cleanup 'kill "$HUNG_PID" 2>/dev/null'
	wait_until 10 test -S "$T/hung.sock" || fail "no socket at $T/hung.sock"
	t0=$(date +%s)
	expect "" --socket "$T/hung.sock" status ""
	[ $(($(date +%s) - t0)) -lt 15 ] || fail "completion against a daemon that never answers took $(($(date +%s) - t0)) s"
fi

start_daemon
for n in demo-one demo-two other; do ctl create "$n" >/dev/null || fail "create $n"; done

expect "demo-one demo-two" status demo
expect "demo-one demo-two other" start ""
expect "other" --socket "$SESSIOND_SOCKET" stop o
expect "" release ""
expect "start status stop" st
expect "--stop-timeout --storage" create x --st
expect "--force" stop demo-one --fo
expect "ephemeral persistent" create x --storage ""
expect "--json" --js
mkdir "$T/completion-dir"
expect "$T/completion-dir" --socket "$T/completion-d"
run_cmd=$(complete_words run demo-one -- jq)
case " $run_cmd " in *" jq "*) ;; *) fail "run NAME -- jq<TAB> offers '$run_cmd', not the program jq" ;; esac

# The caller's own names: nobody's, not root's; root with --owner: theirs.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody "$SESSIONCTL" create nb-mine >/dev/null || fail "nobody: create"
	AS=as_nobody expect "nb-mine" status ""
	AS=as_nobody expect "nb-mine" --owner "$(id -u nobody)" status ""
	AS=as_nobody expect "" --owner 0 status ""
	expect "nb-mine" --owner "$(id -u nobody)" status ""
fi
exit 0
