#!/bin/sh
# deps.sh PURPOSE... — make sure the Debian packages a make target needs are
# installed.  As root, missing packages are installed with apt-get; otherwise
# the exact command is printed and we exit 1, so "make run" / "make check"
# never fail later with a confusing compiler or linker error.
#
# Purposes: build (compile everything), run (make run), check (make check),
# e2e (QEMU end-to-end tests), fuzz (libFuzzer harness), deb (make deb and
# the package test tests/deb: the packaging tools, lintian, debootstrap for
# its clean chroots).
set -eu

pkgs_build="gcc make pkg-config libevent-dev libvirt-dev libjansson-dev uuid-dev
	libcmocka-dev libinih-dev libxml2-dev libsystemd-dev"
pkgs_run="libvirt0"
pkgs_check="libvirt-daemon libvirt-clients mandoc spin valgrind jq util-linux acl
	procps psmisc systemd curl prometheus"
pkgs_e2e="libvirt-daemon libvirt-clients qemu-system-x86 qemu-utils busybox-static cpio
	e2fsprogs jq util-linux gzip"
pkgs_fuzz="clang libclang-rt-14-dev"
pkgs_deb="debhelper dpkg-dev lintian debootstrap"

want=""
for purpose in "$@"; do
	case "$purpose" in
	build) want="$want $pkgs_build" ;;
	run) want="$want $pkgs_build $pkgs_run" ;;
	check) want="$want $pkgs_build $pkgs_run $pkgs_check $pkgs_fuzz $pkgs_deb"
		# The e2e and package tests run only as root: only root needs
		# QEMU and the packaging tools for them (others get a SKIP line).
		[ "$(id -u)" -eq 0 ] && want="$want $pkgs_e2e $pkgs_deb" ;;
	e2e) want="$want $pkgs_e2e" ;;
	fuzz) want="$want $pkgs_fuzz" ;;
	deb) want="$want $pkgs_build $pkgs_deb" ;;
	*) echo "deps.sh: unknown purpose '$purpose'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing missing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
	exit 0
fi

echo "deps: missing Debian packages:$missing" >&2
echo "deps: install them with:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1
