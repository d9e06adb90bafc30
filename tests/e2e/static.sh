#!/usr/bin/env bash
# The static binary (make static: build/static/tornwatch) on a loop device (argument: ext4 or
# xfs): it has no program interpreter and no dynamic section, and it traces from a root that
# holds nothing but itself and busybox (static): no libc, libbpf, libelf or zlib to find.
# /proc, /sys and /dev are bound in (the kernel's BTF, tracefs, the workload's /dev/zero).
# The workload, busybox dd inside that root, writes N 8 KiB blocks and fsyncs: N writes, N
# whole units, nothing lost. tests/vm/ runs it in the 6.1 and 6.12 guests too.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: static.sh ext4|xfs}
need_root "static $FS"
STATIC=$TOP/build/static/tornwatch
BUSYBOX=$(command -v busybox)
if [ ! -x "$STATIC" ]; then
	notok "static $FS: $STATIC missing (make static)"
	exit 0
fi
if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
	notok "static $FS: no static busybox (make deps installs busybox-static)"
	exit 0
fi
N=16

readelf -lW "$STATIC" >"$TMPD/phdrs" 2>&1
check "static $FS: no program interpreter (INTERP)" 0 "$(grep -c ' INTERP ' "$TMPD/phdrs")"
check "static $FS: no dynamic section (DYNAMIC)" 0 "$(grep -c ' DYNAMIC ' "$TMPD/phdrs")"

# The root: the two binaries, and the kernel's file systems bound in.
R=$TMPD/root
mkdir -p "$R/proc" "$R/sys" "$R/dev" "$R/mnt"
cp "$STATIC" "$R/tornwatch" && cp "$BUSYBOX" "$R/busybox"
unbind() {
	umount -R "$R/sys" "$R/proc" "$R/dev" 2>/dev/null
}
mount --bind /proc "$R/proc" && mount --rbind /sys "$R/sys" && mount --make-rslave "$R/sys" &&
	mount --bind /dev "$R/dev" || { notok "static $FS: cannot bind /proc, /sys, /dev"; unbind; exit 0; }
mkfs_loop "$FS" st
mount --bind "$MNT" "$R/mnt" && MOUNTS=("$R/mnt" "${MOUNTS[@]}")
check "static $FS: the root holds nothing else" "busybox dev mnt proc sys tornwatch" \
	"$(ls "$R" | tr '\n' ' ' | sed 's/ $//')"

chroot "$R" /tornwatch --unit 8k --json /mnt/out.json -- \
	/busybox dd if=/dev/zero of=/mnt/f bs=8192 count=$N conv=fsync status=none >"$TMPD/out.txt" 2>&1
rc=$?
check "static $FS: exit status in the bare root" 0 $rc
[ $rc -eq 0 ] || sed 's/^/# /' "$TMPD/out.txt"
expect "static" "$MNT/out.json" writes=$N units.total=$N units.whole=$N
umount "$R/mnt" 2>/dev/null
unbind
check_no_leftover_bpf "static $FS"
