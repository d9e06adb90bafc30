#!/usr/bin/env bash
# Stores through a shared mapping (mode mmap) on one filesystem (ext4 or xfs): the writer
# maps a file that exists already (written and synced untraced, so the traced process never
# writes it through an fd), stores N units through the mapping and msyncs. The truth is the
# writer's: each store to a clean page makes the unit holding it; a store to a page already
# dirty is not seen (README: "Stores through a shared mapping").
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: mmap.sh ext4|xfs}
need_root "mmap $FS"
mkfs_loop "$FS" fs
N=8

# prepare FILE [order0]: N 8 KiB units on disk, clean in the cache. order0: the cache holds
# the file in 4 KiB folios (read back page by page), so a store dirties one page only and
# the number of stores seen is known on any kernel. Without it, the folios are what the
# kernel made for the 8 KiB writes (8 KiB on 6.18, 4 KiB on 6.1's ext4): one store event
# per folio, so only the unit counts are asserted, not the writes.
prepare() {
	"$WRITER" -s 8k -n $N "$1"
	[ -n "${2:-}" ] && "$WRITER" -W -s 8k -n 1 -g $((8192 * N)) "$1" >/dev/null
	true
}

# One unit per store, each msync'd, and no fsync (-y 0): whole, written back by msync; the
# file, met only through the mapping, is reported by its path. Each msync(MS_SYNC) sends a
# SYNC_END with the MSYNC flag (what a lost completion would be inferred from).
f=$MNT/each
prepare "$f"
tw "$TMPD/a.json" --unit 8k --record "$TMPD/a.twr" -- "$WRITER" -m mmap -s 8k -n $N -M 1 -y 0 "$f"
check "$FS msync each: writer exit status" 0 $?
expect "msync each" "$TMPD/a.json" modes.mmap.units=$N units.total=$N units.whole=$N units.pending=0 writeback_triggers.msync=$N \
	writeback_triggers.fsync=0 files.0.path="$f" join.unmatched_bytes=0
check "$FS msync each: SYNC_END records of msync" "$N" "$(python3 - "$TMPD/a.twr" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
at, n = 96, 0
while at + 24 <= len(d):
    typ, size = struct.unpack_from("<II", d, at + 8)
    if typ == 23:	# SYNC_END: ino, t0, ret, dev, flags
        ret, dev, flags = struct.unpack_from("<qII", d, at + 40)
        n += ret == 0 and flags == 1
    at += size
print(n)
PY
)"

# One msync for all, and the first unit stored to twice before it (4 KiB folios: two per
# store): the second store finds its pages dirty and is not seen (2N writes, not 2N + 2).
f=$MNT/twice
prepare "$f" order0
tw "$TMPD/b.json" --unit 8k -- "$WRITER" -m mmap -s 8k -n $N -r -M $N "$f"
check "$FS store to a dirty page: writer exit status" 0 $?
expect "store to a dirty page" "$TMPD/b.json" writes=$((2 * N)) modes.mmap.writes=$((2 * N)) \
	modes.mmap.units=$N \
	units.whole=$N units.total=$N units.pending=0 writeback_triggers.msync=$N

# A store to half of each unit (4 KiB folios): the unit's bytes are that folio's, the rest of
# the unit is clean (already on the device). One request each: whole, of 4 KiB.
f=$MNT/half
prepare "$f" order0
tw "$TMPD/c.json" --unit 8k --events=all -- "$WRITER" -m mmap -s 4k -g 8k -n $N -M $N "$f"
check "$FS half units: writer exit status" 0 $?
expect "half units" "$TMPD/c.json" modes.mmap.writes=$N modes.mmap.units=$N \
	units.whole=$N units.total=$N units.pending=0
check "$FS half units: each unit is its 4 KiB folio" "$N" \
	"$(python3 -c "
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
print(sum(e['mode'] == 'mmap' and e['len'] == 4096 and e['verdict'] == 'whole' for e in evs))
" "$TMPD/last.txt")"

# Stores to neighbouring folios of one unit before any leaves the cache make one instance:
# --unit 16k, 8 KiB stores into 4 KiB folios: two stores (four folios) per unit.
f=$MNT/grow
prepare "$f" order0
tw "$TMPD/d.json" --unit 16k -- "$WRITER" -m mmap -s 8k -n $N -M $N "$f"
check "$FS grown units: writer exit status" 0 $?
expect "grown units" "$TMPD/d.json" modes.mmap.writes=$((2 * N)) \
	modes.mmap.units=$((N / 2)) units.whole=$((N / 2)) units.total=$((N / 2)) units.pending=0

# Split on the way: at max_sectors_kb 4 each 8 KiB unit goes in two requests.
f=$MNT/split
prepare "$f"
set_sysfs "$QUEUE/max_sectors_kb" 4
tw "$TMPD/e.json" --unit 8k -- "$WRITER" -m mmap -s 8k -n $N -M 1 "$f"
check "$FS split: writer exit status" 0 $?
cleanup_sysfs_now
expect "split" "$TMPD/e.json" modes.mmap.units=$N units.split=$N units.split_block=$N \
	units.whole=0 units.pending=0

# Neither msync nor fsync: the stores stay in the cache, every unit pending.
f=$MNT/nosync
prepare "$f"
tw "$TMPD/f.json" --unit 8k -- "$WRITER" -m mmap -s 8k -n $N -F "$f"
check "$FS no msync: writer exit status" 0 $?
expect "no msync" "$TMPD/f.json" modes.mmap.units=$N units.pending=$N \
	units.pending_cached=$N units.whole=0

check_no_leftover_bpf "mmap $FS"
