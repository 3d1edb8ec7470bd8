#!/bin/sh
# guest.sh — the e2e guest: a Debian kernel and a busybox initramfs that
# boot under TCG in seconds, cached outside the repository in
# ${SESSIOND_E2E_CACHE:-/var/cache/sessiond-e2e} and rebuilt only when
# missing (or when this script changed: the stamp is its checksum).
#
# Prints, on stdout, shell assignments for the caller to eval:
#   GUEST_KERNEL=...  GUEST_INITRD=...  GUEST_CMDLINE=...  GUEST_READY=...
#
# What the guest does (its /init, below):
#   - mounts proc, sysfs, devtmpfs; loads virtio_blk with its dependencies
#     (modules copied from the kernel package, in dependency order);
#   - on the persistent disk (e2e.disk=, default vda) reads a marker at a
#     fixed raw offset (1 MiB), increments its boot counter, writes it back
#     with fsync, reads it back, and prints "MARKER boots=N";
#   - on the scratch disk (e2e.scratch=, default vdb) checks that no marker
#     of an earlier instance is there ("SCRATCH fresh" / "SCRATCH stale"),
#     then writes one;
#   - with e2e.fill=MIB, fills that much of its memory (bench/e2e.sh);
#   - unless e2e.acpi=off, powers off when the ACPI power button is pressed
#     (virDomainShutdown), so the graceful stop path can be exercised too;
#   - prints the ready line "SESSIOND-GUEST-READY uptime=<s>" on ttyS0;
#   - loads virtio_balloon, so QEMU's balloon (statistics, free page
#     reporting) has a driver in the guest;
#   - keeps a marker only in memory: a random id drawn after boot, in a
#     shell variable and in a file of its tmpfs root (/mark);
#   - with e2e.heartbeat=SECS, then prints "E2E heartbeat boot_id=<id>
#     uptime=<s> mark=<marker> file=<what /mark holds>" every SECS seconds, so a test can tell this
#     boot going on (same boot id and marker, a greater uptime: adopted,
#     or restored from a memory image) from a new one
#     (tests/e2e/08-daemon-sigterm-adopt.sh, 10-tiers-save-restore.sh);
#   - with e2e.churn=MIB, 10 s after the ready line, fills that much of
#     its tmpfs root, prints "E2E churn filled", waits 5 s, deletes it
#     and prints "E2E churn freed": free page reporting gives those pages
#     back to the host (tests/e2e/11-free-page-reporting.sh).
#
# Needs root only for apt-get download's cache dir; uses apt-get download,
# dpkg-deb, cpio, gzip and the busybox-static binary.
set -eu

CACHE=${SESSIOND_E2E_CACHE:-/var/cache/sessiond-e2e}
READY=SESSIOND-GUEST-READY
CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init"
SELF=$0

log() { echo "guest.sh: $*" >&2; }

emit() {
	echo "GUEST_KERNEL='$CACHE/vmlinuz'"
	echo "GUEST_INITRD='$CACHE/initrd.gz'"
	echo "GUEST_CMDLINE='$CMDLINE'"
	echo "GUEST_READY='$READY'"
}

# The guest's /init, a busybox sh script.
write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# /init of the sessiond e2e guest (tests/e2e/guest.sh)
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

arg() {
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}
DISK=$(arg e2e.disk vda)
SCRATCH=$(arg e2e.scratch vdb)
ACPI=$(arg e2e.acpi on)

for m in $(cat /etc/modules.load); do
	insmod "/lib/modules/$m.ko" || echo "E2E insmod $m failed"
done

# /sys/block/X appears during the probe; its /dev node a moment later.
wait_dev() {
	[ -e "/sys/block/$1" ] || return 1
	i=0
	while [ ! -b "/dev/$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -b "/dev/$1" ]
}

# A marker: one 512-byte sector at 1 MiB; text, NUL padded.
read_marker() { dd if="/dev/$1" bs=512 skip=2048 count=1 2>/dev/null | tr -d '\000' | head -n 1; }
write_marker() { printf '%s\n' "$2" | dd of="/dev/$1" bs=512 seek=2048 count=1 conv=sync,fsync 2>/dev/null; }

if wait_dev "$DISK"; then
	old=$(read_marker "$DISK")
	case "$old" in
	"SESSIOND-E2E-MARKER boots="*) n=${old#SESSIOND-E2E-MARKER boots=} ;;
	*) n=0 ;;
	esac
	n=$((n + 1))
	write_marker "$DISK" "SESSIOND-E2E-MARKER boots=$n"
	sync
	if [ "$(read_marker "$DISK")" = "SESSIOND-E2E-MARKER boots=$n" ]; then
		echo "MARKER boots=$n"
	else
		echo "MARKER write failed on /dev/$DISK"
	fi
else
	echo "MARKER no disk /dev/$DISK"
fi

if wait_dev "$SCRATCH"; then
	case "$(read_marker "$SCRATCH")" in
	SESSIOND-E2E-SCRATCH*) echo "SCRATCH stale" ;;
	*) echo "SCRATCH fresh" ;;
	esac
	write_marker "$SCRATCH" "SESSIOND-E2E-SCRATCH $(cat /proc/sys/kernel/random/boot_id)"
	sync
else
	echo "SCRATCH none"
fi

# The ACPI power button: one input event on its device, then power off.
if [ "$ACPI" != off ]; then
	for e in /sys/class/input/event*; do
		[ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] || continue
		dev=/dev/input/${e##*/}
		(
			dd if="$dev" bs=24 count=1 >/dev/null 2>&1
			echo "E2E power button: powering off"
			sync
			poweroff -f
		) &
	done
fi

# e2e.fill=MIB: touch that much guest memory (a file in the tmpfs root),
# so a bench can see the host memory an idle stop returns.
FILL=$(arg e2e.fill 0)
if [ "$FILL" -gt 0 ]; then
	dd if=/dev/zero of=/fill bs=1M count="$FILL" 2>/dev/null
	echo "FILL ${FILL}MiB"
fi

MARK=$(cat /proc/sys/kernel/random/uuid)
echo "$MARK" >/mark
read up idle </proc/uptime
echo "SESSIOND-GUEST-READY uptime=$up"
CHURN=$(arg e2e.churn 0)
if [ "$CHURN" -gt 0 ]; then
	(
		sleep 10
		dd if=/dev/zero of=/churn bs=1M count="$CHURN" 2>/dev/null
		echo "E2E churn filled ${CHURN}MiB"
		sleep 5
		rm -f /churn
		echo "E2E churn freed ${CHURN}MiB"
	) &
fi
BEAT=$(arg e2e.heartbeat 0)
BOOT=$(cat /proc/sys/kernel/random/boot_id)
while :; do
	if [ "$BEAT" -gt 0 ]; then
		read up idle </proc/uptime
		echo "E2E heartbeat boot_id=$BOOT uptime=$up mark=$MARK file=$(cat /mark)"
		sleep "$BEAT"
	else
		sleep 3600
	fi
done
EOF
	chmod 755 "$1"
}

# The modules to load, dependencies first (depends= from .modinfo; the
# package has no modules.dep and kmod may be absent).
mod_file() { find "$1" -name "$2.ko" | head -n 1; }
mod_deps() { tr '\000' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '; }
mod_resolve() {
	# mod_resolve MODDIR NAME — prints NAME's dependencies, then NAME.
	case " $RESOLVED " in *" $2 "*) return 0 ;; esac
	f=$(mod_file "$1" "$2")
	[ -n "$f" ] || { log "module $2 not in the kernel package"; return 1; }
	for d in $(mod_deps "$f"); do
		mod_resolve "$1" "$d" || return 1
	done
	RESOLVED="$RESOLVED $2"
}

# download DIR PACKAGE — apt-get download; on a fresh box the package
# lists may be empty, so once more after apt-get update.
download() {
	(cd "$1" && apt-get download -q -o APT::Sandbox::User=root "$2" >&2) && return 0
	log "apt-get download $2 failed; apt-get update, then again"
	apt-get update -q >&2 && (cd "$1" && apt-get download -q -o APT::Sandbox::User=root "$2" >&2)
}

kernel_package() {
	# linux-image-amd64 is a metapackage: the kernel is its dependency.
	download "$1" linux-image-amd64 || return 1
	meta=$(ls "$1"/linux-image-amd64_*.deb | head -n 1)
	dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' |
		head -n 1
}

build() {
	work=$(mktemp -d "$CACHE/.build.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$CACHE/debs"
	pkg=$(kernel_package "$CACHE/debs")
	[ -n "$pkg" ] || { log "cannot tell the kernel package of linux-image-amd64"; exit 1; }
	if ! ls "$CACHE/debs/${pkg}_"*.deb >/dev/null 2>&1; then
		log "downloading $pkg"
		download "$CACHE/debs" "$pkg"
	fi
	dpkg-deb -x "$(ls "$CACHE/debs/${pkg}_"*.deb | head -n 1)" "$work/k"
	vmlinuz=$(ls "$work"/k/boot/vmlinuz-* | head -n 1)
	moddir=$(ls -d "$work"/k/lib/modules/* | head -n 1)

	root="$work/root"
	mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/lib/modules" "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	RESOLVED=""
	for m in virtio_blk virtio_pci virtio_balloon button evdev; do
		mod_resolve "$moddir" "$m" || exit 1
	done
	: >"$root/etc/modules.load"
	for m in $RESOLVED; do
		cp "$(mod_file "$moddir" "$m")" "$root/lib/modules/$m.ko"
		echo "$m" >>"$root/etc/modules.load"
	done
	write_init "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -9 >"$work/initrd.gz"
	cp "$vmlinuz" "$work/vmlinuz"
	chmod 644 "$work/vmlinuz" "$work/initrd.gz"
	mv -f "$work/vmlinuz" "$CACHE/vmlinuz"
	mv -f "$work/initrd.gz" "$CACHE/initrd.gz"
	echo "$STAMP" >"$CACHE/stamp"
	log "built $CACHE/vmlinuz ($pkg) and $CACHE/initrd.gz (modules:$RESOLVED)"
}

mkdir -p "$CACHE"
chmod 755 "$CACHE"
STAMP=$(cat "$SELF" | sha256sum | cut -c1-16)
exec 9>"$CACHE/.lock"
flock 9
if [ ! -s "$CACHE/vmlinuz" ] || [ ! -s "$CACHE/initrd.gz" ] ||
   [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
	build
fi
emit
