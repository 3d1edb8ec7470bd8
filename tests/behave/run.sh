#!/bin/sh
# run.sh BUILD [SCRIPT...] — runs behaviour scripts, prints one line each
# and a summary; exits 1 if any failed.  77 from a script means skipped.
BUILD=${1:-build}
shift
export BUILD
cd "$(dirname "$0")/../.." || exit 1
[ $# -gt 0 ] || set -- tests/behave/[0-9a-z]*.sh
pass=0 failed=0 skipped=0 failures=""
for t in "$@"; do
	case "$t" in */lib.sh|*/lib-*.sh|*/run.sh|*/libvirtd.sh) continue ;; esac
	name=$(basename "$t" .sh)
	out=$(timeout 300 sh "$t" 2>&1)
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS  $name" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(echo "$out" | grep -m1 '^SKIP' | cut -c7-)" ;;
	*) failed=$((failed + 1)); failures="$failures $name"; echo "FAIL  $name (exit $rc)"; echo "$out" | sed 's/^/      /' ;;
	esac
done
echo "behaviour: $pass passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || { echo "failed:$failures"; exit 1; }
