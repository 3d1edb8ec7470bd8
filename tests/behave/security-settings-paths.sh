#!/bin/sh
# security-settings-paths — a session's settings name host files the
# daemon (root) hands to libvirt: "disk" (an absolute path is used as the
# VM's disk as it is), "image" (the backing file of a boot volume),
# "kernel" and "initrd".  A user must not get a file into a VM that the
# user could not read: uid nobody asking for /etc/shadow (mode 0640 or
# 0600, root's) in any of them is refused, at create or at the latest at
# start, and no VM runs with it.  Group permission bits count for the
# owner's groups (user database).  Root may name such files.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv >/dev/null || skip "needs setpriv"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
SECRET=/etc/shadow
[ -f $SECRET ] || skip "no $SECRET"
as_nobody cat $SECRET >/dev/null 2>&1 && skip "nobody can read $SECRET here"

rpc_nobody() {
	as_nobody "$TOOLS/rpcpipe" -t 10 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}

start_daemon
as_nobody "$SESSIONCTL" list >/dev/null 2>&1 || skip "nobody cannot reach the socket under $T"
i=0
for setting in "\"disk\":\"$SECRET\"" "\"image\":\"$SECRET\"" "\"kernel\":\"$SECRET\"" \
	       "\"kernel\":\"/boot/../$SECRET\",\"initrd\":\"$SECRET\""; do
	i=$((i + 1))
	r=$(rpc_nobody session.create "{\"name\":\"steal$i\",$setting}")
	if [ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ]; then
		r=$(rpc_nobody session.start "{\"name\":\"steal$i\"}")
		[ "$(echo "$r" | jq -r '.error.code // "ok"')" != ok ] ||
			fail "uid nobody got a VM started with {$setting}: $(echo "$r" | jq -c '.result | {name, state, instance}')"
		s=$(rpc_nobody session.get "{\"name\":\"steal$i\"}")
		[ "$(echo "$s" | jq -r .result.state)" != running ] || fail "a VM of nobody runs with {$setting}"
	fi
done

# A file nobody owns (and a world-readable one) nobody may name.
: >"$T/own.img"
chown nobody:nogroup "$T/own.img"
chmod 0600 "$T/own.img"
r=$(rpc_nobody session.create "{\"name\":\"mine\",\"disk\":\"$T/own.img\",\"kernel\":\"/etc/hostname\"}")
[ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ] || fail "nobody may not name its own file: $r"
# Group permissions count as the kernel counts them, with nobody's groups
# from the user database (nogroup): a root-owned file of group nogroup,
# mode 0640, nobody may read; one of mode 0604 it may not (the group bits
# apply to a member, whatever "other" allows).  Likewise a directory.
: >"$T/group-read.img"; chown root:nogroup "$T/group-read.img"; chmod 0640 "$T/group-read.img"
: >"$T/group-none.img"; chown root:nogroup "$T/group-none.img"; chmod 0604 "$T/group-none.img"
: >"$T/group-rw.img"; chown root:nogroup "$T/group-rw.img"; chmod 0660 "$T/group-rw.img"
mkdir "$T/gdir"; chown root:nogroup "$T/gdir"; chmod 0750 "$T/gdir"
: >"$T/gdir/k"; chmod 0644 "$T/gdir/k"
as_nobody cat "$T/group-read.img" >/dev/null 2>&1 || skip "nobody cannot read a 0640 file of group nogroup here"
r=$(rpc_nobody session.create "{\"name\":\"grp1\",\"kernel\":\"$T/group-read.img\"}")
[ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ] || fail "nobody may not name a file its group may read: $r"
r=$(rpc_nobody session.create "{\"name\":\"grp2\",\"kernel\":\"$T/group-none.img\"}")
[ "$(echo "$r" | jq -r .error.code)" = -32002 ] || fail "nobody named a file its group may not read (mode 0604): $r"
r=$(rpc_nobody session.create "{\"name\":\"grp3\",\"disk\":\"$T/group-rw.img\"}")
[ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ] || fail "nobody may not name a disk its group may write: $r"
r=$(rpc_nobody session.create "{\"name\":\"grp4\",\"disk\":\"$T/group-read.img\"}")
[ "$(echo "$r" | jq -r .error.code)" = -32002 ] || fail "nobody named as its disk a file its group may only read: $r"
r=$(rpc_nobody session.create "{\"name\":\"grp5\",\"kernel\":\"$T/gdir/k\"}")
[ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ] || fail "nobody may not pass a directory its group may search: $r"

# Refused with forbidden, naming the setting.
r=$(rpc_nobody session.create "{\"name\":\"steal9\",\"disk\":\"$SECRET\"}")
[ "$(echo "$r" | jq -r .error.code)" = -32002 ] || fail "not forbidden: $r"
echo "$r" | jq -r .error.message | grep -q disk || fail "the error does not name the setting: $r"
# Root may.
ctl create rootdisk >/dev/null || fail "create rootdisk"
r=$("$TOOLS/rpcpipe" -t 10 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session.create\",\"params\":{\"name\":\"rootsecret\",\"disk\":\"$SECRET\"}}")
[ "$(echo "$r" | jq -r '.error.code // "ok"')" = ok ] || fail "root may not name $SECRET: $r"
daemon_alive || fail "the daemon died"
exit 0
