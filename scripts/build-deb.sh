#!/bin/sh
# build-deb.sh [--chroot DIR] OUT — the Debian packages of this tree
# (debian/), unsigned: "dpkg-buildpackage -b -us -uc" in an export of the
# tracked files into a temporary directory, so that nothing of the tree's
# own builds goes in and dpkg-buildpackage's output, written next to the
# source directory, is outside the tree.  The export is of the working
# tree as "git stash create" sees it: committed and uncommitted changes to
# tracked files, no untracked file (a new file must be git-added to ship).
#
# The .deb, .changes and .buildinfo files end up in OUT (made if missing,
# never inside the tree); files of an earlier build of these packages there
# are removed first.  DEB_BUILD_OPTIONS and DEB_BUILD_PROFILES pass through
# (nocheck in both skips the unit tests and their Build-Depends).  With --chroot DIR the build runs in that Debian root as
# root, with its own Build-Depends (tests/deb/run.sh); DIR/build is used.
set -eu

chroot_dir=""
if [ "${1:-}" = --chroot ]; then
	chroot_dir=$2
	shift 2
fi
[ $# -eq 1 ] || { echo "usage: build-deb.sh [--chroot DIR] OUT" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in
"$top"/*) echo "build-deb: $out is inside the tree $top; give a directory outside it" >&2; exit 2 ;;
esac
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "build-deb: $top is no git checkout: the packages are built from its tracked files" >&2; exit 2; }

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -SVersion)
rev=$(git -C "$top" stash create)
rev=${rev:-HEAD}
if [ -n "$chroot_dir" ]; then
	work="$chroot_dir/build"
	rm -rf "$work"
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/sessiond-deb.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
src="sessiond-$version"
git -C "$top" archive --format=tar --prefix="$src/" "$rev" | tar -x -C "$work"
echo "build-deb: sessiond $version from $(git -C "$top" rev-parse --short HEAD)$([ "$rev" = HEAD ] || echo ' with uncommitted changes'), in $work/$src"

if [ -n "$chroot_dir" ]; then
	chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-}" DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES:-}" \
		sh -c "cd /build/$src && dpkg-buildpackage -b -us -uc"
else
	(cd "$work/$src" && dpkg-buildpackage -b -us -uc)
fi

for p in $(sed -n 's/^Package: *//p' "$top/debian/control"); do
	rm -f "$out/${p}_"*.deb "$out/${p}-dbgsym_"*.deb
done
rm -f "$out/sessiond_"*.changes "$out/sessiond_"*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
echo "build-deb: in $out:"
(cd "$out" && ls -1 ./*.deb ./*.changes ./*.buildinfo)
