#!/usr/bin/env bash
# Writeback held BEFORE the block layer, on one filesystem (ext4 or xfs): blk-cgroup I/O
# throttling (cgroup v1 blkio.throttle.write_bps_device, the mechanism behind v2 io.max and
# systemd's IOWriteBandwidthMax=) holds a bio before block_bio_queue fires, while its folios
# are already PG_writeback. tornwatch must see the writeback begin from the writeback side
# (iomap's per-folio tracepoint on XFS, ext4's writepages pass), so that a change made
# while the bio is held is blamed on the unit in flight.
#
# The truth comes from the setup. Writer A, alone in a throttled cgroup, writes K 16 KiB
# units and fsyncs; its writeback is held (A blocks in D state inside fsync). Then another
# traced process changes units, and the throttle is lifted:
#   partial:  two 4 KiB pwrites (units 0 and 1) and one mmap store (unit 2);
#   rewrite:  one whole-unit pwrite of unit 3: its old instance is in flight, modified;
#             the new one is synced after the release;
#   stable:   the queue has stable_writes=1: the same whole-unit rewrite waits for the
#             writeback instead; nothing is modified and nothing superseded.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: throttle.sh ext4|xfs}
need_root "throttle $FS"
K=4 U=16384
BLKIO=/sys/fs/cgroup/blkio

if [ ! -w "$BLKIO/cgroup.procs" ] || [ ! -e "$BLKIO/blkio.throttle.write_bps_device" ]; then
	skip "throttle $FS: no cgroup v1 blkio controller with throttling at $BLKIO"
	exit 0
fi
CG="$BLKIO/tw-test.$$"
mkdir "$CG" || { notok "throttle $FS: cannot make $CG"; exit 1; }
trap 'cleanup; rmdir "$CG" 2>/dev/null' EXIT

# mkfs_loop_stable FS NAME STABLE: like mkfs_loop, with the queue's stable_writes set first
# (it only counts if set before the filesystem is mounted).
mkfs_loop_stable() {
	local img="$TMPD/$2.img"
	truncate -s 512M "$img"
	LOOP=$(losetup -f --show "$img") || return 1
	LOOPS+=("$LOOP")
	QUEUE=/sys/block/$(basename "$LOOP")/queue
	set_sysfs "$QUEUE/stable_writes" "$3" || return 1
	case $1 in
	ext4) mkfs.ext4 -q -F "$LOOP" ;;
	xfs) mkfs.xfs -q -f "$LOOP" ;;
	esac || return 1
	MNT="$TMPD/$2"
	mkdir -p "$MNT" && mount "$LOOP" "$MNT" || return 1
	MOUNTS=("$MNT" "${MOUNTS[@]}")
}

# The traced workload: A (throttled) rewrites the K units and fsyncs; once A waits inside
# fsync for the writeback it started, run $2 (shell) as the other process's changes; lift
# the throttle; wait for A; then run $3. $1: the file.
# A waits for the writeback only once it has put every dirty folio under it (fsync: write
# the range, then wait on it); its kernel stack says so. D state alone does not: A can sleep
# in D inside the writeback pass itself (an XFS allocation, a lock) with unit 3 still dirty,
# and a rewrite then truly supersedes it (seen once on XFS: superseded 1, modified 0).
A_WAITS='folio_wait_writeback|filemap_fdatawait'

held_workload() {
	cat <<EOF
set -e
echo "$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ') 512" > '$CG/blkio.throttle.write_bps_device'
( echo \$BASHPID > '$CG/cgroup.procs'; exec '$WRITER' -s $U -n $K '$1' ) &
A=\$!
for i in \$(seq 1000); do grep -Eq '$A_WAITS' /proc/\$A/stack && break; sleep 0.01; done
grep -Eq '$A_WAITS' /proc/\$A/stack || { echo 'writer A was not held' >&2; cat /proc/\$A/stack >&2; exit 1; }
$2
echo "$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ') 0" > '$CG/blkio.throttle.write_bps_device'
wait \$A
$3
EOF
}

# hist_counts JSON STAGE...: the number of samples of each stage, buffered mode.
hist_counts() {
	local json=$1
	shift
	python3 - "$json" "$@" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))['modes']['buffered']['hist']
print(*(sum(b['count'] for b in h[s]) for s in sys.argv[2:]))
PY
}

run_scenario() {	# NAME STABLE CHANGES AFTER
	local name=$1 f wl
	mkfs_loop_stable "$FS" "$name" "$2" || { notok "$FS $name: setup failed"; return 1; }
	f=$MNT/table
	"$WRITER" -s $U -n $K "$f"	# the file exists, synced, untraced
	wl=$(held_workload "$f" "$3" "$4")
	"$TW" --unit 16k --json "$TMPD/$name.json" $(tw_record "$name") -- bash -c "$wl" >"$TMPD/$name.txt" 2>&1
	check "$FS $name: workload exit status" 0 $?
}

# Two 4 KiB pwrites and one mmap store, each into its own unit (units 0, 1, 2): three units
# modified in flight, one whole. The store dirtied unit 2's folio again: a new mmap unit,
# whole once the file is synced after the release.
run_scenario partial 0 "
'$WRITER' -s 4k -n 2 -g $U -F '$TMPD/partial/table'
'$WRITER' -m mmap -s 4k -n 1 -o $((2 * U)) -F '$TMPD/partial/table'" \
	"sync '$TMPD/partial/table'" &&
	expect "partial" "$TMPD/partial.json" units.total=$((K + 1)) units.modified=3 \
		units.whole=$((K - 2)) modes.mmap.units=1 units.superseded=0 units.pending=0 \
		stable.modified=3 stable.modified_unit_unknown=0 &&
	check "$FS partial: writeback seen apart from its held bios (cache, queued samples)" \
		"$K $K" "$(hist_counts "$TMPD/partial.json" cache queued)"

# A whole-unit rewrite of unit 3 while its old instance is held: that one is modified in
# flight, not superseded; the new one is synced after the release and is whole.
run_scenario rewrite 0 "'$WRITER' -s $U -n 1 -o $((3 * U)) -F '$TMPD/rewrite/table'" \
	"sync '$TMPD/rewrite/table'" &&
	expect "rewrite" "$TMPD/rewrite.json" units.total=$((K + 1)) units.modified=1 \
		units.whole=$K units.superseded=0 units.pending=0 stable.modified=1

# Stable pages: the rewriter waits for the held writeback; nothing changes in flight, and
# the old instance reaches the device whole: it was not superseded.
run_scenario stable 1 "
'$WRITER' -s $U -n 1 -o $((3 * U)) -F '$TMPD/stable/table' &
B=\$!
for i in \$(seq 1000); do [ \"\$(awk '{print \$3}' /proc/\$B/stat)\" = D ] && break; sleep 0.01; done
[ \"\$(awk '{print \$3}' /proc/\$B/stat)\" = D ] || { echo 'the rewriter did not wait' >&2; exit 1; }" \
	"wait \$B; sync '$TMPD/stable/table'" &&
	expect "stable" "$TMPD/stable.json" units.total=$((K + 1)) units.modified=0 \
		units.whole=$((K + 1)) units.superseded=0 units.pending=0 stable.modified=0 \
		stable.waits_write=1
check_no_leftover_bpf "throttle $FS"
