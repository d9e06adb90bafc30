#!/usr/bin/env bash
# RWF_ATOMIC against a device that has atomic-write limits, in a vmtest guest: scsi_debug
# with its atomic_wr parameters (WRITE ATOMIC(16)), loaded from the guest kernel's own
# modules (TW_VM_KROOT: the unpacked Debian package, seen over 9p). Direct RWF_ATOMIC
# writes to the disk itself must each be one REQ_ATOMIC request (verdict atomic), the ones
# that break the kernel's rules refused with EINVAL and counted by the rule they break; the
# disk's limits as tornwatch reports them must be the queue's. A device command log
# (tracefs scsi:scsi_dispatch_cmd_done, WRITE_ATOMIC_16 only) is the independent truth.
# Then ext4 and XFS on the same disk: what their files allow (statx) decides what to expect.
# A kernel whose scsi_debug lacks the atomic parameters gets a skip line (6.1).
#
#   tests/vm/scsi_atomic.sh       (run by tests/vm/guest.sh as the suite atomic-scsi)
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "scsi atomic"
KROOT=${TW_VM_KROOT:-}
KVER=$(uname -r)
if [ -z "$KROOT" ] || [ ! -d "$KROOT/lib/modules/$KVER" ]; then
	skip "scsi atomic: no module tree of the running kernel (TW_VM_KROOT='$KROOT'); run under tests/vm/vmtest.sh"
	exit 0
fi
mod() { modprobe -d "$KROOT" -S "$KVER" "$@"; }
params=$(modinfo -b "$KROOT" -k "$KVER" -F parm scsi_debug 2>&1)
if ! grep -q '^atomic_wr_max_length:' <<<"$params"; then
	echo "# modinfo scsi_debug: $(grep -c . <<<"$params") parameters, none atomic_wr*"
	skip "scsi atomic: this kernel's scsi_debug has no atomic_wr* parameters: no scsi_debug atomic support"
	exit 0
fi

# 512-byte logical blocks, 4 KiB physical; atomic writes of 8 blocks (granularity and
# alignment) up to 128 blocks. sd (sd_config_atomic) and the block layer make of it:
# unit min 8 * 512, unit max rounddown_pow_of_two(128) * 512, max 128 * 512, boundary 0
# (sd never sets one). 320 MiB of RAM: mkfs.xfs wants 300 MiB at least.
LBS=512 GRAN=8 MAXLEN=128
UMIN=$((GRAN * LBS)) UMAX=$((MAXLEN * LBS))
PARAMS="dev_size_mb=320 sector_size=$LBS physblk_exp=3 atomic_wr=1 atomic_wr_gran=$GRAN \
atomic_wr_align=$GRAN atomic_wr_max_length=$MAXLEN"
# shellcheck disable=SC2086 # PARAMS is a word list
if ! mod sd_mod || ! mod scsi_debug $PARAMS; then
	notok "scsi atomic: modprobe scsi_debug $PARAMS failed"
	exit 1
fi
TRI=/sys/kernel/tracing/instances/tw-scsi-atomic	# the device's log (below)
unload() {
	cleanup
	echo 0 >"$TRI/events/enable" 2>/dev/null
	rmdir "$TRI" 2>/dev/null
	mod -r scsi_debug
}
trap unload EXIT

# The disk appears once the host's scan is done (asynchronous).
disk=
for _ in $(seq 6000); do	# a hang guard of 300 s
	disk=$(ls /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*:*/block 2>/dev/null)
	[ -n "$disk" ] && [ -b "/dev/$disk" ] && break
	sleep 0.05
done
if [ -z "$disk" ] || [ ! -b "/dev/$disk" ]; then
	notok "scsi atomic: scsi_debug loaded but no disk appeared"
	exit 1
fi
DEV=/dev/$disk
Q=/sys/block/$disk/queue
KDEV=$(cat "/sys/block/$disk/dev")
echo "# scsi_debug $PARAMS: $DEV ($KDEV)"
for a in unit_min unit_max boundary max; do
	echo "#   atomic_write_${a}_bytes $(cat "$Q/atomic_write_${a}_bytes")"
done
check "scsi atomic: sysfs atomic_write_unit_min_bytes" $UMIN "$(cat "$Q/atomic_write_unit_min_bytes")"
check "scsi atomic: sysfs atomic_write_unit_max_bytes" $UMAX "$(cat "$Q/atomic_write_unit_max_bytes")"
check "scsi atomic: sysfs atomic_write_max_bytes" $((MAXLEN * LBS)) "$(cat "$Q/atomic_write_max_bytes")"
check "scsi atomic: sysfs atomic_write_boundary_bytes" 0 "$(cat "$Q/atomic_write_boundary_bytes")"

# The device's own log: WRITE ATOMIC(16) commands (opcode 0x9c) done, in a tracefs instance.
mkdir -p "$TRI" || { notok "scsi atomic: no tracefs instance"; exit 1; }
echo 'opcode == 156' >"$TRI/events/scsi/scsi_dispatch_cmd_done/filter"
echo 1 >"$TRI/events/scsi/scsi_dispatch_cmd_done/enable"
# device_log: "LBA+TXLEN STATUS," per WRITE_ATOMIC_16 done since the last call, by LBA.
device_log() {
	sed -n 's/.*WRITE_ATOMIC_16 lba=\([0-9]*\) txlen=\([0-9]*\) .* status=\([A-Z_]*\).*/\1+\2 \3,/p' \
		"$TRI/trace" | sort -n | tr '\n' ' '
	echo >"$TRI/trace"
}

# statx_atomic PATH: "MIN MAX" of STATX_WRITE_ATOMIC, "0 0" when the file has no support.
statx_atomic() {
	python3 - "$1" <<'PY'
import ctypes, os, sys
buf = ctypes.create_string_buffer(256)
libc = ctypes.CDLL(None, use_errno=True)
# statx(AT_FDCWD, path, 0, STATX_WRITE_ATOMIC, buf); syscall 332 on x86_64
if libc.syscall(332, -100, os.fsencode(sys.argv[1]), 0, 0x10000, buf):
    sys.exit("statx: " + os.strerror(ctypes.get_errno()))
mask = int.from_bytes(buf.raw[0:4], "little")
umin, umax = (int.from_bytes(buf.raw[o:o + 4], "little") for o in (168, 172))
print(*((umin, umax) if mask & 0x10000 else (0, 0)))
PY
}
check "scsi atomic: statx of $DEV (unit min, max)" "$UMIN $UMAX" "$(statx_atomic "$DEV")"

# jcheck NAME JSON key=value...: as lib.sh's expect (lost.total first), in one python3 run,
# not one per key (each costs about a second under TCG). A path component @DEV picks the
# devices[] entry of that dev.
jcheck() {
	python3 - "$1" "$2" lost.total=0 "${@:3}" <<'PY'
import json, sys
name = sys.argv[1]
try:
    d = json.load(open(sys.argv[2]))
except (OSError, ValueError) as e:
    sys.exit(print(f"not ok - {name}: no report: {e}"))
for kv in sys.argv[3:]:
    key, want = kv.split("=", 1)
    v = d
    try:
        for k in key.split("."):
            if isinstance(v, list):
                v = [x for x in v if x["dev"] == k[1:]][0] if k[0] == "@" else v[int(k)]
            else:
                v = v[k]
        got = json.dumps(v) if isinstance(v, (dict, list)) else str(v)
    except (KeyError, IndexError, ValueError) as e:
        got = "nothing (%s %s)" % (type(e).__name__, e)
    print(f"ok - {name}: {key}" if got == want else f"not ok - {name}: {key}: expected {want}, got {got}")
PY
}

# The disk itself: 4 writes of 16 KiB, one of unit max, 2 of unit min; then one write for
# each rule the kernel enforces, each refused with EINVAL (the writer stops at its first).
W=$WRITER
wl="set -e
'$W' -m atomic -s 16k -n 4 -o 1m '$DEV'
'$W' -m atomic -s $UMAX -n 1 -o 2m '$DEV'
'$W' -m atomic -s $UMIN -n 2 -o 3m '$DEV'
'$W' -m atomic -s $((UMAX * 2)) -n 1 -o 4m '$DEV' 2>/dev/null && exit 1
'$W' -m atomic -s $((UMIN / 2)) -n 1 -o 5m '$DEV' 2>/dev/null && exit 1
'$W' -m atomic -s 12k -n 1 -o 6m '$DEV' 2>/dev/null && exit 1
'$W' -m atomic -s 16k -n 1 -o $((1048576 + 4096)) '$DEV' 2>/dev/null && exit 1
'$W' -m atomic-2iov -s 16k -n 1 -o 7m '$DEV' 2>/dev/null && exit 1
true"
# tw_run NAME JSON ARGS...: tornwatch as lib.sh's tw; its stderr shown when it fails.
tw_run() {
	local name=$1 rc
	shift
	tw "$@"
	rc=$?
	check "scsi atomic: $name: tornwatch exit status" 0 $rc
	[ $rc -eq 0 ] || sed 's/^/#   /' "$TMPD/last.err"
}
tw_run "raw disk" "$TMPD/raw.json" -- bash -c "$wl"
# The disk's entry in devices[]: the queue's limits as tornwatch read them.
lim=()
for a in unit_min unit_max boundary max; do
	lim+=("devices.@$KDEV.atomic_write_$a=$(cat "$Q/atomic_write_${a}_bytes")")
done
# The power-fail atomic size follows from atomic_write_unit_max_bytes; no atomic unit here
# is larger.
lim+=("devices.@$KDEV.power_fail_atomic_size=$UMAX" "devices.@$KDEV.atomic_size_source=sysfs_atomic"
	"devices.@$KDEV.whole_beyond_device_atomic=0" units.whole_beyond_device_atomic=0)
jcheck "scsi atomic: raw disk RWF_ATOMIC" "$TMPD/raw.json" "${lim[@]}" \
	units.total=7 units.atomic=7 units.whole=0 units.split=0 units.cow_atomic=0 units.pending=0 atomic.refused=5 \
	modes.atomic_direct.writes=12 modes.atomic_direct.units=7 \
	modes.atomic_direct.refused=5 modes.atomic_direct.refused_errno.22=5 \
	atomic.checked=12 atomic.device_misaligned=0 atomic.violations.above_max=1 \
	atomic.violations.below_min=1 atomic.violations.not_pow2=1 \
	atomic.violations.unaligned=1 atomic.violations.segments=1 \
	atomic.violations.unsupported=0 atomic.violations.buffered=0 \
	bpf.dio_no_state=0 join.unknown_bio=0 join.unmatched_bytes=0 files.0.path="$DEV"
# Only the seven reached the device, each as one WRITE ATOMIC(16) of its own place and length
# (in 512-byte blocks: 16 KiB at 1 MiB.., 64 KiB at 2 MiB, 4 KiB at 3 MiB..).
want=
for c in 2048+32 2080+32 2112+32 2144+32 4096+128 6144+8 6152+8; do
	want+="$c SAM_STAT_GOOD, "
done
check "scsi atomic: the device's WRITE_ATOMIC_16 commands (lba+txlen status)" "$want" "$(device_log)"

# ext4 and XFS on the disk: what a file there allows (statx) says what RWF_ATOMIC gets.
for fs in ext4 xfs; do
	case $fs in
	ext4) mkfs.ext4 -q -F -b 4096 -E nodiscard,lazy_itable_init=1,lazy_journal_init=1 "$DEV" ;;
	xfs) mkfs.xfs -q -f -b size=4096 "$DEV" ;;
	esac || { notok "scsi atomic: mkfs.$fs $DEV failed"; continue; }
	MNT=$TMPD/$fs
	mkdir -p "$MNT"
	if ! mount "$DEV" "$MNT"; then
		notok "scsi atomic: mount $fs failed"
		continue
	fi
	MOUNTS=("$MNT" "${MOUNTS[@]}")
	: >"$MNT/probe"
	fslim=$(statx_atomic "$MNT/probe")
	if [ "$fslim" != "0 0" ]; then
		skip "scsi atomic: $fs files allow RWF_ATOMIC here (statx unit $fslim): no expectations written for that yet"
	else
		tw_run "$fs" "$TMPD/$fs.json" -- \
			bash -c "'$W' -m atomic -s 16k -n 1 '$MNT/f' 2>/dev/null && exit 1; true"
		jcheck "scsi atomic: $fs, no atomic support on an atomic disk" "$TMPD/$fs.json" \
			units.total=0 atomic.refused=1 modes.atomic_direct.refused=1 \
			modes.atomic_direct.refused_errno.95=1 atomic.checked=1 \
			atomic.violations.unsupported=1 atomic.device_misaligned=0 \
			"devices.@$KDEV.atomic_write_unit_max=$UMAX" \
			"devices.@$KDEV.power_fail_atomic_size=$UMAX"
		check "scsi atomic: $fs: no WRITE_ATOMIC_16 reached the device" "" "$(device_log)"
	fi
	umount "$MNT" && MOUNTS=("${MOUNTS[@]:1}")
done
check_no_leftover_bpf "scsi atomic"
