# virsh.sh — sourced: virsh on qemu:///system, for tests/e2e/lib.sh (the
# scenarios, bench/e2e.sh) and tests/e2e/leftovers.sh alike.
URI=qemu:///system

vsh() { timeout 60 virsh -q -c "$URI" "$@"; }

# vol_names POOL — the names of its volumes, one a line.
vol_names() { vsh vol-list "$1" 2>/dev/null | awk 'NF { print $1 }'; }

# pool_remove POOL — its volumes, then the pool (running or defined), if any.
pool_remove() {
	vsh pool-info "$1" >/dev/null 2>&1 || return 0
	for v in $(vol_names "$1"); do
		vsh vol-delete --pool "$1" "$v" >/dev/null 2>&1
	done
	vsh pool-destroy "$1" >/dev/null 2>&1
	vsh pool-undefine "$1" >/dev/null 2>&1
	return 0
}
