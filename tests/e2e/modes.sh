#!/usr/bin/env bash
# Write modes and their latency stages on one filesystem (ext4 or xfs): a workload that
# issues a known number of writes in each mode this kernel supports gives exact unit counts
# per mode, and every stage's histogram of a mode sums to that mode's units on the device.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: modes.sh ext4|xfs}
need_root "modes $FS"
mkfs_loop "$FS" fs

W=$WRITER D=$MNT
# RWF_ATOMIC on XFS is its software CoW path (6.16 on: tests/vm/ boots 6.1 and 6.12, which
# refuse it like ext4 does); its tracepoint says whether this kernel has it.
xfs_atomic=0
if [ "$FS" = xfs ]; then
	if have_tp xfs_iomap_atomic_write_cow; then
		xfs_atomic=1
	else
		skip "$FS modes: no xfs_iomap_atomic_write_cow tracepoint, so no XFS software" \
			"atomic writes in this kernel; checking their refusal instead"
	fi
fi
# mode: writes of one 8 KiB unit each (atomic: one 16 KiB write is one unit)
wl="set -e
'$W' -s 8k -n 8 '$D/buffered'
'$W' -m dsync -s 8k -n 4 '$D/dsync'
'$W' -m rwf-dsync -s 8k -n 3 '$D/rwf-dsync'
'$W' -m sync -s 8k -n 2 '$D/sync'
'$W' -m direct -s 8k -n 5 '$D/direct'
'$W' -m direct-dsync -s 8k -n 3 '$D/direct-dsync'
'$W' -m atomic-buffered -s 8k -n 1 -F '$D/atomic-buffered' 2>/dev/null && exit 1
true"
if [ $xfs_atomic = 1 ]; then
	wl="$wl
'$W' -m atomic -s 16k -n 2 '$D/atomic'"
	atomic="modes.atomic_direct.units=2 modes.atomic_direct.refused=0"
else
	wl="$wl
'$W' -m atomic -s 16k -n 1 '$D/atomic' 2>/dev/null && exit 1
true"
	atomic="modes.atomic_direct.units=0 modes.atomic_direct.refused=1 \
modes.atomic_direct.refused_errno.95=1"
fi
tw "$TMPD/m.json" --unit 8k -- bash -c "$wl"
check "$FS modes: workload exit status" 0 $?
# shellcheck disable=SC2086 # the atomic expectations are a word list
expect "modes" "$TMPD/m.json" modes.buffered.units=8 modes.buffered_dsync.units=7 \
	modes.buffered_sync.units=2 modes.direct.units=5 modes.direct_dsync.units=3 \
	modes.buffered_dsync.writes=7 modes.atomic_buffered.refused=1 \
	modes.atomic_buffered.refused_errno.95=1 modes.atomic_buffered.units=0 $atomic

# Each stage's histogram holds every unit of its mode that reached the device, once. The
# queued stage only units whose writeback start was seen apart from their bio: on XFS every
# page-cache unit (iomap's per-folio record); on ext4 none here (its writepages pass ends
# after its bios are queued, unless a throttle holds them: tests/e2e/throttle.sh).
python3 - "$TMPD/m.json" "$FS" <<'PY'
import json, sys
d, fs = json.load(open(sys.argv[1])), sys.argv[2]
for mode, m in d["modes"].items():
    if not m["units"]:
        continue
    for stage, h in m["hist"].items():
        n = sum(b["count"] for b in h)
        want = m["units"]
        if stage == "queued" and (fs != "xfs" or "direct" in mode):
            want = 0
        verdict = "ok" if n == want and m["incomplete"] == 0 else "not ok"
        print(f"{verdict} - {fs} modes: {mode} {stage} histogram holds {want} of its {m['units']} units (got {n}, incomplete {m['incomplete']})")
PY
# durable: a unit is persisted by its own FUA or by a flush issued after it reached the
# device. Direct writes with fdatasync after each: every unit persisted. Direct writes and
# no flush at all: none (ext4's journal commit, which flushes, is put off for the test).
[ "$FS" = ext4 ] && mount -o remount,commit=600 "$MNT"
tw "$TMPD/p.json" --unit 8k -- "$WRITER" -m direct -s 8k -n 6 -y 1 "$MNT/flushed"
expect "fdatasync after each" "$TMPD/p.json" modes.direct.units=6 modes.direct.not_persisted=0
check "$FS durable: every unit persisted" 6 "$(python3 -c "import json;print(sum(b['count'] for b in json.load(open('$TMPD/p.json'))['modes']['direct']['hist']['durable']))")"
tw "$TMPD/q.json" --unit 8k -- "$WRITER" -m direct -s 8k -n 6 -F "$MNT/unflushed"
expect "no flush" "$TMPD/q.json" modes.direct.units=6 modes.direct.not_persisted=6
check "$FS durable: no unit persisted" 0 "$(python3 -c "import json;print(sum(b['count'] for b in json.load(open('$TMPD/q.json'))['modes']['direct']['hist']['durable']))")"

# Writeback triggers: what wrote each buffered unit back, from a workload that decides it.
# The periodic flusher is made quick for the last file only (restored at exit); the test
# waits until the file has no delayed allocation left (its writeback began), then until
# its I/O is done (sync_file_range WAIT_AFTER starts nothing).
VM=/proc/sys/vm
RESTORE+=("$VM/dirty_expire_centisecs $(cat $VM/dirty_expire_centisecs)")
RESTORE+=("$VM/dirty_writeback_centisecs $(cat $VM/dirty_writeback_centisecs)")
wl="set -e
'$W' -s 8k -n 4 '$D/by-fsync'
'$W' -s 8k -n 3 -F '$D/by-range'
xfs_io -c 'sync_range -w 0 24576' -c 'sync_range -a 0 24576' '$D/by-range'
'$W' -m dsync -s 8k -n 2 '$D/by-write'
echo 10 > $VM/dirty_expire_centisecs
echo 10 > $VM/dirty_writeback_centisecs
'$W' -s 8k -n 5 -F '$D/by-flusher'
for i in \$(seq 1000); do filefrag -v '$D/by-flusher' | grep -q delalloc || break; sleep 0.02; done
xfs_io -c 'sync_range -a 0 40960' '$D/by-flusher'"
tw "$TMPD/t.json" --unit 8k -- bash -c "$wl"
check "$FS triggers: workload exit status" 0 $?
expect "writeback triggers" "$TMPD/t.json" writeback_triggers.fsync=4 \
	writeback_triggers.sync_file_range=3 writeback_triggers.write=2 \
	writeback_triggers.periodic=5 writeback_triggers.background=0 \
	writeback_triggers.unknown=0 units.total=14 units.pending=0
for f in $VM/dirty_expire_centisecs $VM/dirty_writeback_centisecs; do
	for ((i = ${#RESTORE[@]} - 1; i >= 0; i--)); do
		[ "${RESTORE[i]%% *}" = "$f" ] && echo "${RESTORE[i]#* }" >"$f" && break
	done
done

# RWF_ATOMIC rules, checked from the file's statx limits (XFS with CoW atomics: 4 KiB ..
# 1 MiB, one segment; ext4, and XFS before 6.16: no atomic writes at all): one write per
# kind, each refused by the kernel.
A="'$W' -m atomic"
wl="$A -s 16k -n 1 '$D/atomic-ok'
$A -s 12k -n 1 '$D/atomic-12k'
$A -s 2m -n 1 '$D/atomic-2m'
$A -s 16k -o 4k -n 1 -P '$D/atomic-unaligned'
'$W' -m atomic-2iov -s 16k -n 1 '$D/atomic-2iov'
$A -s 2k -n 1 '$D/atomic-2k'
'$W' -m atomic-buffered -s 16k -n 1 '$D/atomic-buffered'
true"
tw "$TMPD/v.json" -- bash -c "$wl" 2>/dev/null
if [ $xfs_atomic = 1 ]; then
	expect "atomic rules" "$TMPD/v.json" atomic.violations.not_pow2=1 \
		atomic.violations.above_max=1 atomic.violations.unaligned=1 \
		atomic.violations.segments=1 atomic.violations.below_min=1 \
		atomic.violations.buffered=1 atomic.violations.unsupported=0 \
		modes.atomic_direct.units=1 modes.atomic_direct.refused=5 \
		modes.atomic_direct.refused_errno.22=5 modes.atomic_buffered.refused_errno.95=1
else
	expect "atomic rules" "$TMPD/v.json" atomic.violations.unsupported=6 \
		atomic.violations.buffered=1 modes.atomic_direct.refused=6 \
		modes.atomic_direct.refused_errno.95=6 modes.atomic_buffered.refused_errno.95=1
fi

# -i 1 over 40 writes spread across about 2.5 s: the intervals add up to the totals exactly.
tw "$TMPD/i.json" --unit 8k -i 1 -- "$WRITER" -s 8k -n 40 -y 1 -S 60000 "$MNT/intervals"
expect "-i 1" "$TMPD/i.json" units.total=40 units.whole=40
check "$FS -i 1: more than one interval" 1 "$(grep -c '^INTERVAL 2 ' "$TMPD/last.txt")"
for key in writes units whole; do
	check "$FS -i 1: intervals' $key add up to the total" 40 \
		"$(grep '^INTERVAL' "$TMPD/last.txt" | grep -o " $key [0-9]*" | awk '{n += $2} END {print n}')"
done

# A full write sends its return time later, with its thread's next write, sync or exit. A
# writer still alive when tracing stops (-d), whose one unit an untraced sync wrote back:
# its return time is read from its task storage, so the write returned and the unit has
# each stage once.
rm -f "$TMPD/go"
"$WRITER" -s 8k -n 2 -F -S 5000000 -w "$TMPD/go" "$MNT/held" >/dev/null &
wpid=$!
"$TW" -v --unit 8k -p "$wpid" -d 3 --json "$TMPD/h.json" >"$TMPD/h.txt" 2>"$TMPD/h.err" &
twpid=$!
await_tracing "$FS held write" "$TMPD/h.err" "$twpid"
touch "$TMPD/go"
until_true test -s "$MNT/held"
sync
wait "$twpid"
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
expect "return held by a live thread" "$TMPD/h.json" writes=1 units.whole=1 \
	modes.buffered.incomplete=0
check "$FS return held by a live thread: syscall and end_to_end samples" "1 1" "$(python3 -c "
import json
h = json.load(open('$TMPD/h.json'))['modes']['buffered']['hist']
print(*(sum(b['count'] for b in h[s]) for s in ('syscall', 'end_to_end')))")"

check_no_leftover_bpf "modes $FS"
