#!/usr/bin/env bash
# tornwatch on other kernels: for each SERIES given (6.1, 6.12), fetch Debian's newest
# linux-image of that series with apt-get download (cached), build a busybox initramfs that
# loads the modules the tests need, boot it under qemu (TCG, no KVM needed) with the host's
# root shared read-only over virtio-9p, and run tests/vm/guest.sh there: a tp_btf program on
# a module's tracepoint (build/vm/modtp), the CLI smoke test, core.sh, modes.sh, uring.sh
# and mmap.sh on ext4 and on XFS and memkinds.sh on ext4, unchanged, and RWF_ATOMIC on a scsi_debug disk with atomic-write limits
# (tests/vm/scsi_atomic.sh: it loads scsi_debug from the unpacked package, seen over 9p), and the
# static binary from a root with nothing but it and busybox (tests/e2e/static.sh). Each result line comes back labelled with the guest's kernel, e.g.
# "ok - [6.1.0-57-amd64] xfs buffered 8k fsync: lost.total".
#
#   tests/vm/vmtest.sh [SERIES...]      (default: 6.1 6.12; needs root)
#
# Environment: TW_VM_CACHE (default /var/cache/tornwatch-vmtest: .debs and unpacked
# kernels), TW_VM_TIMEOUT (seconds per guest, default 2400), TW_VM_SUITES (what the guest
# runs, default "modtp cli core-ext4 core-xfs modes-ext4 modes-xfs memkinds-ext4 uring-ext4
# uring-xfs mmap-ext4 mmap-xfs atomic-scsi static-ext4 static-xfs"; memkinds-xfs too if asked), TW_VM_MEM (MiB, default 2048),
# TW_VM_SMP (vCPUs, default 1), TW_VM_KEEP (a directory to keep each guest's console logs and
# results).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

CACHE=${TW_VM_CACHE:-/var/cache/tornwatch-vmtest}
# 2400: a guest of 280-320 s alone took over 600 s (core-ext4 399 s instead of 111) with two
# other TCG guests and a busy loop on the 2-core machine; with modes, memkinds, io_uring and
# mmap a guest takes 12-15 min alone, and runs beside the host's suites in make test; a
# hang still ends it, a soft lockup panics.
TIMEOUT=${TW_VM_TIMEOUT:-2400}
# memkinds-xfs is there to be asked for: the buffer's memory kind meets no filesystem code
# (core-xfs runs direct and aio on XFS), and every suite costs minutes under TCG.
SUITES=${TW_VM_SUITES:-modtp cli core-ext4 core-xfs modes-ext4 modes-xfs memkinds-ext4 uring-ext4 uring-xfs mmap-ext4 mmap-xfs atomic-scsi static-ext4 static-xfs}
MEM=${TW_VM_MEM:-2048}
# One vCPU by default: with two, TCG sometimes ran a CPU's stale copy of kernel text that
# the other had just patched (tracepoint static keys toggled at attach and detach): an
# "Oops: int3" in exc_page_fault on 6.12, a soft lockup on 6.1.
SMP=${TW_VM_SMP:-1}
# Modules the guest loads (with their dependencies; built-in ones are skipped).
MODULES=(virtio_pci 9pnet_virtio 9p loop ext4 xfs)

# Debian package names of a series' amd64 images; 6.12 on bookworm is the security
# suite's linux-image-6.12.N+deb12-amd64, or linux-image-6.12.N+bpo-amd64 from backports.
series_regex() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+(deb[0-9]+|bpo)-amd64$' ;;
	*) return 1 ;;
	esac
}

# newest_image SERIES: the newest image package of the series that apt knows.
newest_image() {
	local re
	re=$(series_regex "$1") || return 1
	apt-cache search --names-only "$re" | awk '{print $1}' | grep -E "$re" | sort -V | tail -1
}

# fetch SERIES: sets KROOT (unpacked package), KVER (its uname -r) and VMLINUZ.
fetch() {
	local series=$1 pkg deb
	pkg=$(newest_image "$series")
	if [ -z "$pkg" ]; then
		# The package lists may be missing or stale on a fresh machine: refresh once.
		apt-get update -qq >/dev/null 2>&1
		pkg=$(newest_image "$series")
	fi
	if [ -z "$pkg" ]; then
		notok "vmtest $series: no package matching $(series_regex "$series") in the configured" \
			"apt sources (apt-cache search linux-image-$series shows: $(apt-cache search \
			--names-only "^linux-image-$series" | awk '{print $1}' | sort -V | tr '\n' ' '))"
		return 1
	fi
	mkdir -p "$CACHE/deb"
	deb=$(ls "$CACHE/deb/${pkg}_"*.deb 2>/dev/null | sort -V | tail -1)
	if [ -z "$deb" ]; then
		(cd "$CACHE/deb" && apt-get download "$pkg") >"$TMPD/download.log" 2>&1
		deb=$(ls "$CACHE/deb/${pkg}_"*.deb 2>/dev/null | sort -V | tail -1)
		if [ -z "$deb" ]; then
			notok "vmtest $series: apt-get download $pkg failed: $(tail -1 "$TMPD/download.log")"
			return 1
		fi
	fi
	KROOT="$CACHE/root/$(basename "$deb" .deb)"
	if [ ! -e "$KROOT/.unpacked" ]; then
		rm -rf "$KROOT"
		mkdir -p "$KROOT"
		if ! dpkg -x "$deb" "$KROOT"; then
			notok "vmtest $series: dpkg -x $deb failed"
			return 1
		fi
		touch "$KROOT/.unpacked"
	fi
	KVER=$(ls "$KROOT/lib/modules" | head -1)
	VMLINUZ="$KROOT/boot/vmlinuz-$KVER"
	if [ ! -r "$VMLINUZ" ]; then
		notok "vmtest $series: $deb has no /boot/vmlinuz-$KVER"
		return 1
	fi
	ok "vmtest $series: fetched $pkg ($(basename "$deb"))"
}

# make_initramfs OUT: busybox, the modules in load order, and tests/vm/init.
make_initramfs() {
	local out=$1 dir="$TMPD/initramfs" m line ko n=0
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/lib/modules"
	cp /bin/busybox "$dir/bin/busybox" || return 1	# the binary itself, not a link
	cp "$TOP/tests/vm/init" "$dir/init" && chmod 755 "$dir/init" || return 1
	[ -e "$KROOT/lib/modules/$KVER/modules.dep" ] || depmod -b "$KROOT" "$KVER" || return 1
	: >"$dir/lib/modules/order"
	for m in "${MODULES[@]}"; do
		modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" >"$TMPD/deps" 2>&1 || {
			echo "modprobe --show-depends $m: $(cat "$TMPD/deps")"
			return 1
		}
		while read -r line; do
			[ "${line%% *}" = insmod ] || continue	# "builtin NAME": nothing to load
			ko=${line#insmod }
			ko=${ko%% *}
			grep -qxF "$(basename "$ko")" "$TMPD/loaded" 2>/dev/null && continue
			basename "$ko" >>"$TMPD/loaded"
			n=$((n + 1))
			local name
			name=$(printf '%02d-%s' $n "$(basename "${ko%.xz}")")
			case $ko in	# busybox insmod cannot read compressed modules
			*.xz) xz -dc "$ko" >"$dir/lib/modules/$name" ;;
			*.zst) zstd -qdc "$ko" >"$dir/lib/modules/$name" ;;
			*) cp "$ko" "$dir/lib/modules/$name" ;;
			esac || return 1
			echo "$name" >>"$dir/lib/modules/order"
		done <"$TMPD/deps"
	done
	rm -f "$TMPD/loaded"
	(cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
}

# relabel KVER FILE: the guest's result lines with the kernel in front of their names.
relabel() {
	sed -E "s/^(ok|not ok|skip) - /\1 - [$1] /" "$2"
}

# boot SERIES: run the suites in a guest and print their labelled results.
boot() {
	local series=$1 res="$TMPD/res-$series" log="$TMPD/console-$series.log" initrd rc s t0 t1
	initrd="$TMPD/initrd-$series.gz"
	if ! make_initramfs "$initrd" >"$TMPD/initramfs.log" 2>&1; then
		notok "vmtest $series: cannot build the initramfs: $(tail -3 "$TMPD/initramfs.log")"
		return 1
	fi
	mkdir -p "$res"
	echo "$KROOT" >"$res/kroot"	# the guest loads more modules (scsi_debug) from there
	t0=$(date +%s)
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp "$SMP" -nic none \
		-m "$MEM" -nographic -no-reboot -kernel "$VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 softlockup_panic=1 loglevel=5 tw.top=$TOP tw.suites=${SUITES// /,}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$res",mount_tag=results,security_model=none \
		</dev/null >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	if [ -n "${TW_VM_KEEP:-}" ]; then
		mkdir -p "$TW_VM_KEEP/$series" && cp -r "$log" "$res/." "$TW_VM_KEEP/$series/"
	fi
	echo "# [$KVER] qemu exited $rc after $((t1 - t0)) s"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		notok "vmtest $series: the guest did not power off within ${TIMEOUT}s (TW_VM_TIMEOUT)"
	fi
	if [ ! -s "$res/kernel" ]; then
		notok "vmtest $series: the guest never started the tests; console:"
		tail -30 "$log" | sed 's/^/#   /'
		return 1
	fi
	check "vmtest $series: the guest runs the fetched kernel" "$KVER" "$(cat "$res/kernel")"
	sed "s/^/# [$KVER] probe: /" "$res/probe.txt" 2>/dev/null
	for s in $SUITES; do
		if [ ! -e "$res/$s.rc" ]; then
			[ -e "$res/$s.out" ] && relabel "$KVER" "$res/$s.out"
			notok "[$KVER] $s: did not finish in the guest; its console ends:"
			tail -15 "$log" | sed 's/^/#   /'
			continue
		fi
		relabel "$KVER" "$res/$s.out"
		echo "# [$KVER] $s: exit $(cat "$res/$s.rc"), $(cat "$res/$s.secs" 2>/dev/null) s"
		if [ "$(cat "$res/$s.rc")" != 0 ] && ! grep -q '^not ok - ' "$res/$s.out"; then
			notok "[$KVER] $s: exited $(cat "$res/$s.rc") without a failed check"
		fi
	done
}

need_root "vmtest"
for c in qemu-system-x86_64 busybox apt-get dpkg modprobe depmod xz; do
	if ! command -v "$c" >/dev/null; then
		notok "vmtest: $c is missing; run 'make deps' (scripts/deps.sh)"
		exit 1
	fi
done
all() {
	local series
	for series in "$@"; do
		if ! series_regex "$series" >/dev/null; then
			notok "vmtest: unknown kernel series '$series' (known: 6.1, 6.12)"
			continue
		fi
		fetch "$series" && boot "$series"
	done
}

[ $# -gt 0 ] || set -- 6.1 6.12
all "$@" 2>&1 | tee "$TMPD/all"
echo "# vmtest $*: $(grep -c '^ok - ' "$TMPD/all") passed," \
	"$(grep -c '^not ok - ' "$TMPD/all") failed, $(grep -c '^skip - ' "$TMPD/all") skipped"
! grep -q '^not ok - ' "$TMPD/all"
