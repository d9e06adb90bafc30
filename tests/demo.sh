#!/usr/bin/env bash
# make demo: a small ext4 on a loop device, a built-in workload under tornwatch, the report.
# Buffered 8 KiB units and direct 16 KiB writes, first with the device's default limits,
# then with queue/max_sectors_kb lowered to 4 so the block layer really splits units.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/holdlib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (loop devices, BPF); run 'sudo make demo'" >&2
	exit 1
fi
mkfs_loop ext4 demo
DEMO_MNT=$MNT DEMO_QUEUE=$QUEUE DEMO_LOOP=$LOOP
# A second ext4 whose device's writes the demo holds in flight (fusehold), to change a
# page while its writeback I/O is under way: the unit it carries is torn in flight.
hold_setup ext4 held 0
HELD=$MNT
MNT=$DEMO_MNT QUEUE=$DEMO_QUEUE LOOP=$DEMO_LOOP
echo "demo: ext4 on $LOOP mounted at $MNT (and one with writes held at $HELD);"
echo "demo: tracing the workload with --unit 8k"

# The workload: the first half whole, the second half split by the block layer.
cat >"$TMPD/workload.sh" <<WL
set -e
"$WRITER" -s 8k -n 64 "$MNT/table-whole"
"$WRITER" -m direct -s 16k -n 16 "$MNT/direct-whole"
echo 4 > "$QUEUE/max_sectors_kb"
"$WRITER" -s 8k -n 64 "$MNT/table-split"
"$WRITER" -m direct -s 16k -n 16 "$MNT/direct-split"
"$WRITER" -s 12k -o 4k -g 16k -n 8 "$MNT/misaligned"
"$WRITER" -s 8k -n 8 -F "$MNT/still-cached"
"$WRITER" -s 8k -n 4 -F "$HELD/torn"
touch "$TMPD/held.hold"
xfs_io -c "sync_range -w 0 32768" "$HELD/torn"
while [ "\$(cat "$TMPD/held.status")" -lt 1 ]; do sleep 0.01; done
"$WRITER" -s 4k -n 1 -o 8k -F "$HELD/torn"
rm "$TMPD/held.hold"
WL
RESTORE+=("$QUEUE/max_sectors_kb $(cat "$QUEUE/max_sectors_kb")")
"$TW" --unit 8k -- sh "$TMPD/workload.sh"
