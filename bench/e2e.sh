#!/bin/sh
# e2e.sh BUILD — figures on real QEMU (no pass/fail), in this order (the
# disk-heavy part last, so its page cache churn does not blur the others):
#
#  3. scratch disk creation: a qcow2 overlay over a template vs a full copy
#     of it, for a 1 GiB and a 16 GiB template full of data, each through
#     libvirt on a dir pool (virsh --timing vol-create-as --backing-vol vs
#     vol-clone, which is what sessiond and a copying daemon would call)
#     and with qemu-img alone (the work without libvirt);
#  2. time to running: `sessionctl run NAME -- true` (cold: the VM is
#     stopped before each) vs `virsh create` of the same domain XML
#     (domxml.c's shape: same kernel, initrd, cmdline, memory, disks,
#     serial log) timed until the same ready line is in its console log;
#     alternating, median of BENCH_E2E_REPS (default 7).  The guest prints
#     its own uptime in the ready line, so each run also gives the host
#     side's share (total minus guest uptime), which TCG's boot-time noise
#     does not blur as much;
#  1. host memory returned by an idle stop: a 1 GiB guest that fills
#     BENCH_E2E_FILL_MIB (default 600) of its memory; QEMU's VmRSS while it
#     runs, MemAvailable before the start, while running, after the stop;
#  4. memory tiers (idle_action save): the same guest saved instead of
#     stopped: MemAvailable after the save next to after the stop (1.),
#     the image's size next to the memory in use; then time to a usable
#     VM (`sessionctl run NAME -- true`) after an idle save (a restore) vs
#     after a stop (a cold boot to the ready line), alternating, median of
#     BENCH_E2E_REPS each;
#  5. free page reporting: a 1 GiB guest fills and frees 600 MiB of its
#     tmpfs while a token holds it (guest.sh e2e.churn); QEMU's VmRSS
#     before, filled, and every 0.5 s after the free, for 15 s.
#
# Needs root, QEMU and a system libvirtd (started via tests/e2e/libvirtd.sh
# if none answers, and stopped again only then).  The guest is
# tests/e2e/guest.sh's.  Data goes to a temporary directory under
# BENCH_E2E_DIR (default /var/tmp): the 16 GiB template and its copy need
# ~33 GiB free there; BENCH_E2E_SIZES="1 16" picks the template sizes.
# BENCH_E2E_PARTS (default "1 2 3 4 5") picks the parts;
# BENCH_E2E_CPU_PROBE (default full) is the daemon's cpu_probe
# (sessiond.conf(5)): quick takes libvirt's CPU read out of every start
# and restore.
# Page cache is warm (the template was just written), so copies are at
# memory speed plus the writes; that favours the full copy.
set -u

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
export BUILD
REPS=${BENCH_E2E_REPS:-7}
FILL=${BENCH_E2E_FILL_MIB:-600}
SIZES=${BENCH_E2E_SIZES:-1 16}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: bench/e2e.sh needs root"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "SKIP: QEMU is not installed"; exit 77; }
command -v qemu-img >/dev/null 2>&1 || { echo "SKIP: qemu-img is not installed"; exit 77; }

SESSIOND_E2E_USER=$$
export SESSIOND_E2E_USER
LVD="sh $ROOT/tests/e2e/libvirtd.sh"
$LVD start || exit $?
trap '$LVD stop' EXIT
eval "$(sh "$ROOT/tests/e2e/guest.sh")" || { echo "bench/e2e: cannot build the guest"; exit 1; }
export GUEST_KERNEL GUEST_INITRD GUEST_CMDLINE GUEST_READY

# The e2e library: a private daemon on qemu:///system, its own pool,
# cleanup of domains, volumes and pool on exit (it replaces the trap,
# so it stops libvirtd too).
E2E_DIR="$ROOT/tests/e2e"
. "$E2E_DIR/lib.sh"
trap 'e2e_cleanup; $LVD stop' EXIT

# median of the numbers on stdin
median() { sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo ".." hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "inf" }'; }

# ---- 3. scratch creation --------------------------------------------------

BDIR=$(mktemp -d "${BENCH_E2E_DIR:-/var/tmp}/sessiond-bench-e2e.XXXXXX")
BPOOL="sd-bench-$(basename "$BDIR" | tr -c 'A-Za-z0-9\n' '-')"
bench_storage_cleanup() {
	pool_remove "$BPOOL"
	rm -rf "$BDIR"
}
trap 'bench_storage_cleanup; e2e_cleanup; $LVD stop' EXIT

# virsh_ms CMD... — the command's own time, as virsh --timing reports it.
virsh_ms() {
	virsh -t -q -c "$URI" "$@" 2>&1 | sed -n 's/.*(Time: \([0-9.]*\) ms).*/\1/p' | tail -n 1
}

# fill_template NAME GIB — a qcow2 volume with GIB GiB of (non-zero) data.
fill_template() {
	vsh vol-create-as "$BPOOL" "$1" "${2}G" --format qcow2 >/dev/null || return 1
	p=$(vsh vol-path --pool "$BPOOL" "$1")
	i=0
	while [ $i -lt "$2" ]; do
		qemu-io -f qcow2 -c "write -P 0x5a ${i}G 1G" "$p" >/dev/null || return 1
		i=$((i + 1))
	done
	sync
	echo "$p"
}

bench_scratch() {
	vsh pool-create-as "$BPOOL" dir --target "$BDIR" >/dev/null || { echo "cannot create pool $BPOOL"; return 1; }
	for g in $SIZES; do
		tpl=$(fill_template "tpl-${g}g.qcow2" "$g") || { echo "cannot build the ${g} GiB template"; return 1; }
		n_copy=3
		[ "$g" -le 2 ] && n_copy=5
		: >"$BDIR/ov.virsh"; : >"$BDIR/cp.virsh"; : >"$BDIR/ov.img"; : >"$BDIR/cp.img"
		for r in $(seq 1 9); do
			virsh_ms vol-create-as "$BPOOL" "ov-$r.qcow2" "${g}G" --format qcow2 \
				--backing-vol "$tpl" --backing-vol-format qcow2 >>"$BDIR/ov.virsh"
			vsh vol-delete --pool "$BPOOL" "ov-$r.qcow2" >/dev/null
			t0=$(date +%s%N)
			qemu-img create -q -f qcow2 -o compat=1.1 -b "$tpl" -F qcow2 "$BDIR/img-ov.qcow2"
			echo "$(( ($(date +%s%N) - t0) / 1000 ))" | awk '{printf "%.2f\n", $1 / 1000}' >>"$BDIR/ov.img"
			rm -f "$BDIR/img-ov.qcow2"
		done
		for r in $(seq 1 $n_copy); do
			virsh_ms vol-clone --pool "$BPOOL" "tpl-${g}g.qcow2" "cp-$r.qcow2" >>"$BDIR/cp.virsh"
			vsh vol-delete --pool "$BPOOL" "cp-$r.qcow2" >/dev/null
			t0=$(date +%s%N)
			qemu-img convert -O qcow2 -o compat=1.1 "$tpl" "$BDIR/img-cp.qcow2"
			echo "$(( ($(date +%s%N) - t0) / 1000 ))" | awk '{printf "%.2f\n", $1 / 1000}' >>"$BDIR/cp.img"
			rm -f "$BDIR/img-cp.qcow2"
		done
		for how in virsh img; do
			ov=$(median <"$BDIR/ov.$how"); cp=$(median <"$BDIR/cp.$how")
			printf '  %2s GiB template, %-8s overlay %8.1f ms (%s, n=9)   full copy %9.1f ms (%s, n=%d)   copy/overlay %s\n' \
				"$g" "$([ $how = virsh ] && echo libvirt || echo qemu-img)" "$ov" "$(minmax <"$BDIR/ov.$how")" \
				"$cp" "$(minmax <"$BDIR/cp.$how")" "$n_copy" "$(ratio "$cp" "$ov")"
		done
		vsh vol-delete --pool "$BPOOL" "tpl-${g}g.qcow2" >/dev/null
	done
}

# ---- 2. time to running ----------------------------------------------------

# The domain XML sessiond writes (domxml.c), for virsh create.
virsh_xml() {
	cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>
  <description>bench baseline</description>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$GUEST_INITRD</initrd>
    <cmdline>$GUEST_CMDLINE</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='$POOL' volume='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='$POOL' volume='$3'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$4'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# guest_up FILE — the guest's uptime at its ready line, in ms.
guest_up() {
	tr -d '\r' <"$1" | sed -n "s/.*$GUEST_READY uptime=\([0-9.]*\).*/\1/p" | tail -n 1 |
		awk '{printf "%d\n", $1 * 1000}'
}

# One cold start through sessiond; prints "total_ms guest_uptime_ms".
run_sessiond() {
	t0=$(now_ms)
	ctl run ttr -- true || return 1
	t1=$(now_ms)
	ctl console ttr >"$T/ttr-console.txt"
	ctl stop ttr >/dev/null || return 1
	echo "$((t1 - t0)) $(guest_up "$T/ttr-console.txt")"
}

# One cold start through virsh create, until the ready line; prints
# "total_ms guest_uptime_ms".
run_virsh() {
	name="${PREFIX}virsh-$1"
	log="$T/virsh-$1.log"
	vsh vol-create-as "$POOL" "vs-$1.qcow2" 1G --format qcow2 --backing-vol "$TEMPLATE" \
		--backing-vol-format qcow2 >/dev/null || return 1
	virsh_xml "$name" "$DISK" "vs-$1.qcow2" "$log" >"$T/virsh-$1.xml"
	t0=$(now_ms)
	vsh create "$T/virsh-$1.xml" >/dev/null || return 1
	end=$((t0 + 120000))
	until grep -q "$GUEST_READY" "$log" 2>/dev/null; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.01
	done
	t1=$(now_ms)
	vsh destroy "$name" >/dev/null
	vsh vol-delete --pool "$POOL" "vs-$1.qcow2" >/dev/null
	echo "$((t1 - t0)) $(guest_up "$log")"
}

bench_ttr() {
	mk ttr --grace 60s --stop-timeout 0
	ctl run ttr -- true || { echo "first run failed"; return 1; }   # builds the template
	ctl stop ttr >/dev/null
	DISK="${PREFIX}$(field ttr .id)-disk.qcow2"
	TEMPLATE=$(vsh vol-path --pool "$POOL" "${PREFIX}template-1g.qcow2") || return 1
	: >"$T/ttr.s"; : >"$T/ttr.v"
	for r in $(seq 1 "$REPS"); do
		run_sessiond >>"$T/ttr.s" || { echo "sessionctl run failed"; return 1; }
		run_virsh "$r" >>"$T/ttr.v" || { echo "virsh create failed"; return 1; }
	done
	for f in s v; do
		awk '{print $1}' "$T/ttr.$f" >"$T/ttr.$f.total"
		awk '{print $1 - $2}' "$T/ttr.$f" >"$T/ttr.$f.host"
		awk '{print $2}' "$T/ttr.$f" >"$T/ttr.$f.guest"
	done
	s=$(median <"$T/ttr.s.total"); v=$(median <"$T/ttr.v.total")
	sh_=$(median <"$T/ttr.s.host"); vh=$(median <"$T/ttr.v.host")
	printf '  sessionctl run -- true   median %6s ms (%s); host side %6s ms (%s); guest uptime at ready %s ms\n' \
		"$s" "$(minmax <"$T/ttr.s.total")" "$sh_" "$(minmax <"$T/ttr.s.host")" "$(median <"$T/ttr.s.guest")"
	printf '  virsh create + ready     median %6s ms (%s); host side %6s ms (%s); guest uptime at ready %s ms\n' \
		"$v" "$(minmax <"$T/ttr.v.total")" "$vh" "$(minmax <"$T/ttr.v.host")" "$(median <"$T/ttr.v.guest")"
	printf '  sessiond / virsh         total %s, host side %s (goal <= 1.05), n=%s each, alternating\n' \
		"$(ratio "$s" "$v")" "$(ratio "$sh_" "$vh")" "$REPS"
	echo "  runs (total/guest ms): sessiond $(tr ' \n' '/ ' <"$T/ttr.s")| virsh $(tr ' \n' '/ ' <"$T/ttr.v")"
}

# ---- 1. memory returned -------------------------------------------------------

mem_avail() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }

bench_memory() {
	mk fat --grace 3s --stop-timeout 0 --memory 1024 --cmdline "$GUEST_CMDLINE e2e.fill=$FILL"
	sync
	a0=$(mem_avail)
	ctl start fat >/dev/null || { echo "start fat failed"; return 1; }
	console_has fat "FILL ${FILL}MiB" || { echo "the guest did not fill its memory"; return 1; }
	dom=$(dom_of fat)
	pid=$(qemu_pid "$dom") || { echo "no QEMU process"; return 1; }
	rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$pid/status")
	a1=$(mem_avail)
	wait_until 60 state_is fat stopped || { echo "fat did not idle-stop"; return 1; }
	wait_until 30 sh -c "! kill -0 $pid 2>/dev/null" || { echo "QEMU $pid still there"; return 1; }
	a2=$(mem_avail)
	echo "  guest: 1024 MiB, ${FILL} MiB of it filled; grace 3 s"
	echo "  QEMU VmRSS while running       $rss MiB"
	echo "  MemAvailable before the start  $a0 MiB"
	echo "  MemAvailable while running     $a1 MiB  (-$((a0 - a1)) MiB)"
	echo "  MemAvailable after idle stop   $a2 MiB  (+$((a2 - a1)) MiB returned)"
}

# ---- 4. memory tiers ---------------------------------------------------------

bench_tiers_memory() {
	mk saver --grace 3s --stop-timeout 0 --memory 1024 --idle-action save \
		--cmdline "$GUEST_CMDLINE e2e.fill=$FILL"
	sync
	a0=$(mem_avail)
	ctl start saver >/dev/null || { echo "start saver failed"; return 1; }
	console_has saver "FILL ${FILL}MiB" || { echo "the guest did not fill its memory"; return 1; }
	pid=$(qemu_pid "$(dom_of saver)") || { echo "no QEMU process"; return 1; }
	rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$pid/status")
	a1=$(mem_avail)
	wait_until 120 state_is saver suspended || { echo "saver was not saved ($(field saver .state))"; return 1; }
	wait_until 30 sh -c "! kill -0 $pid 2>/dev/null" || { echo "QEMU $pid still there"; return 1; }
	img=$(field saver .saved_state.path)
	# The image was just written: drop its clean page cache, as the
	# kernel would under pressure, so MemAvailable compares with the stop.
	sync
	echo 1 >/proc/sys/vm/drop_caches
	a2=$(mem_avail)
	bytes=$(field saver .saved_state.bytes)
	echo "  guest: 1024 MiB, ${FILL} MiB of it filled; grace 3 s, idle_action save"
	echo "  QEMU VmRSS while running       $rss MiB"
	echo "  MemAvailable before the start  $a0 MiB"
	echo "  MemAvailable while running     $a1 MiB  (-$((a0 - a1)) MiB)"
	echo "  MemAvailable after idle save   $a2 MiB  (+$((a2 - a1)) MiB returned; page cache dropped)"
	echo "  memory image                   $((bytes / 1048576)) MiB for $rss MiB resident ($img)"
	ctl delete saver >/dev/null
}

# One use after an idle save or a stop; prints the ms to a usable VM.
use_ms() {
	t0=$(now_ms)
	ctl run tier -- true || return 1
	echo $(( $(now_ms) - t0 ))
}

bench_tiers_wake() {
	mk tier --grace 2s --stop-timeout 0 --idle-action save
	ctl run tier -- true || { echo "first run failed"; return 1; }
	: >"$T/wake.boot"; : >"$T/wake.restore"
	for r in $(seq 1 "$REPS"); do
		ctl stop tier >/dev/null || { echo "stop failed"; return 1; }
		wait_until 60 state_is tier stopped || return 1
		use_ms >>"$T/wake.boot" || { echo "cold run failed"; return 1; }
		wait_until 120 state_is tier suspended || { echo "not saved: $(field tier .state)"; return 1; }
		use_ms >>"$T/wake.restore" || { echo "restore run failed"; return 1; }
		[ "$(field tier .restore_count)" = "$r" ] || { echo "run $r did not restore"; return 1; }
	done
	b=$(median <"$T/wake.boot"); s=$(median <"$T/wake.restore")
	printf '  after a stop (cold boot)    median %6s ms (%s)\n' "$b" "$(minmax <"$T/wake.boot")"
	printf '  after an idle save (restore) median %5s ms (%s)\n' "$s" "$(minmax <"$T/wake.restore")"
	# The guest's size as the session has it (lib.sh's default), not a
	# figure written here: a restore's load grows with it.
	printf '  restore / cold boot         %s (goal <= 0.2), n=%s each, alternating; %s MiB guest\n' \
		"$(ratio "$s" "$b")" "$REPS" "$(field tier .memory_mib)"
	echo "  runs (ms): boot $(tr '\n' ' ' <"$T/wake.boot")| restore $(tr '\n' ' ' <"$T/wake.restore")"
	ctl delete tier >/dev/null
}

# ---- 5. free page reporting -------------------------------------------------

bench_fpr() {
	mk churn --grace 60s --memory 1024 --cmdline "$GUEST_CMDLINE e2e.churn=600"
	tok=$(hold_detached churn) || { echo "hold failed"; return 1; }
	pid=$(qemu_pid "$(dom_of churn)") || { echo "no QEMU process"; return 1; }
	kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
	base=$(kib)
	wait_until 60 console_has churn "E2E churn filled" || { echo "no fill"; return 1; }
	filled=$(kib)
	wait_until 30 console_has churn "E2E churn freed" || { echo "no free"; return 1; }
	t0=$(now_ms)
	line=""
	at10=""
	t80=""
	while [ $(( $(now_ms) - t0 )) -lt 15000 ]; do
		now=$(kib)
		el=$(( $(now_ms) - t0 ))
		line="$line $((el / 100))/$((now / 1024))"
		[ -z "$at10" ] && [ $el -ge 10000 ] && at10=$now
		[ -z "$t80" ] && [ $((filled - now)) -ge $(( (filled - base) * 8 / 10 )) ] && t80=$el
		sleep 0.5
	done
	echo "  QEMU VmRSS: $((base / 1024)) MiB at ready, $((filled / 1024)) MiB filled (+$(((filled - base) / 1024)))"
	echo "  at 10 s after the free: $((at10 / 1024)) MiB: $(( (filled - at10) * 100 / (filled - base) ))% of the fill back (goal >= 80%)"
	echo "  80% back after: ${t80:-more than 15000} ms"
	echo "  samples (0.1 s/MiB):$line"
	ctl release "$tok" >/dev/null
	ctl delete churn >/dev/null
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

part() { case " ${BENCH_E2E_PARTS:-1 2 3 4 5} " in *" $1 "*) return 0 ;; esac; return 1; }

echo "cpu_probe = ${BENCH_E2E_CPU_PROBE:-full}" >>"$T/sessiond.conf"
e2e_start
echo "bench/e2e: cpu_probe ${BENCH_E2E_CPU_PROBE:-full}, $(uname -r), $(nproc) CPUs, QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'), domain type qemu (TCG)"
if part 1; then
	echo "1. host memory returned by an idle stop (load average $(load))"
	bench_memory
fi
if part 2; then
	echo "2. time to running (cold start to ready line, 256 MiB guest; load average $(load))"
	bench_ttr
fi
if part 3; then
	echo "3. scratch disk creation (warm page cache, dir pool in ${BENCH_E2E_DIR:-/var/tmp}; load average $(load))"
	bench_scratch
	bench_storage_cleanup
fi
if part 4; then
	echo "4. memory tiers: idle save (load average $(load))"
	bench_tiers_memory
	echo "   time to a usable VM after an idle save vs after a stop"
	bench_tiers_wake
fi
if part 5; then
	echo "5. free page reporting while running (load average $(load))"
	bench_fpr
fi
echo "   (load average at the end $(load))"
exit 0
