#!/bin/sh
# build.sh [BUILD_DIR] — builds the libFuzzer harness tests/fuzz/fuzz_rpc.c
# with clang, -fsanitize=fuzzer,address,undefined, into BUILD_DIR
# (default build-fuzz) as BUILD_DIR/fuzz_rpc.
#
# The project sources the harness needs (every library folder, daemon/
# minus main.c, rpc/ minus the client, and the fault seam
# tests/fault/fault_driver.c) are compiled here again with
# coverage instrumentation: the gcc-built objects of "make" cannot be
# reused.  Objects are rebuilt only when a source or any header is newer.
#
# Environment: CC (default clang), JOBS (default nproc), EXTRA_CFLAGS.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-build-fuzz}
case $out in /*) ;; *) out=$top/$out ;; esac
CC=${CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

command -v "$CC" >/dev/null 2>&1 || { echo "build.sh: $CC not found (apt-get install clang)" >&2; exit 1; }
# The libraries are the Makefile's (its one PKGS line).
PKGS=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' "$top/Makefile")
[ -n "$PKGS" ] || { echo "build.sh: no PKGS line in $top/Makefile" >&2; exit 1; }
pkg_cflags=$(pkg-config --cflags $PKGS)
pkg_libs=$(pkg-config --libs $PKGS)

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -DSESSIOND_VERSION=\"0.1.0-fuzz\" -O1 -g $SAN \
	-Wall -Wextra -Wno-unused-parameter $pkg_cflags ${EXTRA_CFLAGS:-}"

cd "$top"
srcs="tests/fault/fault_driver.c"
for f in common/*.c settings/*.c lease/*.c idle/*.c virt/*.c session/*.c daemon/*.c rpc/*.c \
	metrics/*.c; do
	case "$f" in daemon/main.c|rpc/client.c) ;; *) srcs="$srcs $f" ;; esac
done

mkdir -p "$out/obj"
newest_h=$(ls -t common/*.h settings/*.h lease/*.h idle/*.h virt/*.h session/*.h daemon/*.h \
	rpc/*.h metrics/*.h tests/fault/*.h | head -n 1)

# One object per source, in parallel; fuzzer-no-link: coverage without a main.
todo=""
for f in $srcs tests/fuzz/fuzz_rpc.c; do
	o=$out/obj/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$newest_h" -nt "$o" ] || [ "$0" -nt "$o" ]; then
		todo="$todo $f"
	fi
done
if [ -n "$todo" ]; then
	echo "build.sh: compiling$(echo $todo | wc -w | sed 's/^/ /') file(s) with $CC"
	export CC CFLAGS out
	# shellcheck disable=SC2086
	printf '%s\n' $todo | xargs -P "$JOBS" -I{} sh -c '
		o=$out/obj/$(echo "{}" | tr / _ | sed "s/\.c\$/.o/")
		$CC $CFLAGS -fsanitize=fuzzer-no-link -c -o "$o" "{}"'
fi

objs=""
for f in $srcs tests/fuzz/fuzz_rpc.c; do
	objs="$objs $out/obj/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')"
done
# shellcheck disable=SC2086
$CC $SAN -fsanitize=fuzzer -o "$out/fuzz_rpc" $objs $pkg_libs -pthread -lm
echo "build.sh: $out/fuzz_rpc"
