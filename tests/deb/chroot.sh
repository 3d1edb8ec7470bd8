# chroot.sh — clean Debian roots for tests/deb/run.sh (sourced after
# tests/behave/lib.sh, for fail and $T).
#
# The base is a minimal root of this machine's Debian release
# (debootstrap --variant=minbase) with the Debian suites of the machine's
# own apt configuration, upgraded, services never started in it
# (policy-rc.d), kept as a tarball in $DEB_CACHE (default
# /var/cache/sessiond-deb) and made anew after 30 days.  A root prepared
# from the base for one purpose (the build's Build-Depends, the installed
# packages' dependencies) is kept too, one per purpose, under a key of what
# went into it, so a run downloads and installs nothing that did not change.
# The caller holds $DEB_CACHE/lock (root_lock).
DEB_CACHE=${DEB_CACHE:-/var/cache/sessiond-deb}
ROOTS=""

# root_lock — one run at a time uses and refreshes the cache.
root_lock() {
	mkdir -p "$DEB_CACHE"
	exec 8>"$DEB_CACHE/lock"
	flock -w 1800 8 || fail "another package test holds $DEB_CACHE/lock"
}

# in_root ROOT CMD... — CMD inside ROOT, with a clean environment.
in_root() {
	ir_root=$1
	shift
	chroot "$ir_root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# apt_sources — "deb URI SUITE main" for this machine's Debian suites.
apt_sources() {
	(. /etc/os-release && apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Identifier: Packages' |
		awk -v c="$VERSION_CODENAME" '$3 == "main" && ($2 == c || index($2, c "-") == 1) {
			print "deb " $1 " " $2 " main" }' | sort -u)
}

# root_mounts DIR — mount points at or below DIR.
root_mounts() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# root_new DIR TAR — a root in DIR from TAR, /proc mounted; root_cleanup
# removes it.
root_new() {
	mkdir -p "$1"
	ROOTS="$ROOTS $1"
	tar -C "$1" -xf "$2" || fail "cannot unpack $2 into $1"
	mount -t proc proc "$1/proc" || fail "cannot mount /proc in $1"
}

# root_remove DIR — unmounts /proc and removes the root; a root with any
# other mount below it is left alone (and that is an error).
root_remove() {
	[ -d "$1" ] || return 0
	if mountpoint -q "$1/proc"; then umount "$1/proc" || umount -l "$1/proc"; fi
	m=$(root_mounts "$1")
	[ -z "$m" ] || { echo "FAIL: mounts left in $1, not removed: $m"; return 1; }
	rm -rf --one-file-system "$1"
}

root_cleanup() {
	rc_all=0
	for r in $ROOTS; do root_remove "$r" || rc_all=1; done
	ROOTS=""
	return $rc_all
}

# root_tar DIR TAR — TAR made from the root DIR (its /proc unmounted first).
root_tar() {
	if mountpoint -q "$1/proc"; then umount "$1/proc" || fail "cannot unmount $1/proc"; fi
	in_dir_clean "$1"
	tar --one-file-system -C "$1" -cf "$2.new" . && mv "$2.new" "$2" || fail "cannot write $2"
}
in_dir_clean() { rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/tmp/* "$1"/root/.cache; }

# base_tar — sets BASE_TAR, making the base if it is missing or too old.
base_tar() {
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	BASE_TAR="$DEB_CACHE/base-$codename.tar"
	[ -f "$BASE_TAR" ] && [ -z "$(find "$BASE_TAR" -mtime +30)" ] && return 0
	mirror=$(apt_sources | awk -v c="$codename" '$3 == c { print $2; exit }')
	[ -n "$mirror" ] || fail "no Debian $codename suite in this machine's apt sources"
	command -v debootstrap >/dev/null || fail "needs debootstrap (scripts/deps.sh deb)"
	echo "deb: making the base root ($codename, minbase) in $DEB_CACHE"
	d="$DEB_CACHE/base.new"
	root_remove "$d" || fail "cannot clear $d"
	debootstrap --variant=minbase "$codename" "$d" "$mirror" >"$T/debootstrap.log" 2>&1 ||
		fail "debootstrap failed: $(tail -n 20 "$T/debootstrap.log")"
	ROOTS="$ROOTS $d"
	apt_sources >"$d/etc/apt/sources.list"
	echo force-unsafe-io >"$d/etc/dpkg/dpkg.cfg.d/sessiond-test"
	echo 'APT::Install-Recommends "false";' >"$d/etc/apt/apt.conf.d/99sessiond-test"
	printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d"
	chmod 0755 "$d/usr/sbin/policy-rc.d"
	mount -t proc proc "$d/proc" || fail "cannot mount /proc in $d"
	{ in_root "$d" apt-get update && in_root "$d" apt-get -y dist-upgrade; } >"$T/base-apt.log" 2>&1 ||
		fail "cannot update the base root: $(tail -n 20 "$T/base-apt.log")"
	root_tar "$d" "$BASE_TAR"
	root_remove "$d"
}

# root_prepared PURPOSE KEY SETUP — sets PREPARED_TAR, the base with
# "SETUP ROOT" run in it, made if the cache has none for this KEY (the
# base's age is part of it); the tarball of an older key is removed.
root_prepared() {
	key=$(printf '%s\n%s\n' "$(stat -c %Y "$BASE_TAR")" "$2" | sha256sum | cut -c1-16)
	PREPARED_TAR="$DEB_CACHE/$1-$key.tar"
	[ -f "$PREPARED_TAR" ] && return 0
	echo "deb: preparing the $1 root ($key)"
	d="$DEB_CACHE/$1.new"
	root_remove "$d" || fail "cannot clear $d"
	root_new "$d" "$BASE_TAR"
	in_root "$d" apt-get update >"$T/$1-apt.log" 2>&1 ||
		fail "apt-get update in the $1 root failed: $(tail -n 20 "$T/$1-apt.log")"
	"$3" "$d"
	for old in "$DEB_CACHE/$1"-*.tar; do [ -f "$old" ] && rm -f "$old"; done
	root_tar "$d" "$PREPARED_TAR"
	root_remove "$d"
}
