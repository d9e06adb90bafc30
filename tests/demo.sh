#!/usr/bin/env bash
# make demo: a small ext4 on a loop device, a built-in workload under tornwatch, the report.
# Buffered 8 KiB units and direct 16 KiB writes, first with the device's default limits,
# then with queue/max_sectors_kb lowered to 4 so the block layer really splits units.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (loop devices, BPF); run 'sudo make demo'" >&2
	exit 1
fi
mkfs_loop ext4 demo
echo "demo: ext4 on $LOOP mounted at $MNT; tracing the workload with --unit 8k"

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
WL
RESTORE+=("$QUEUE/max_sectors_kb $(cat "$QUEUE/max_sectors_kb")")
"$TW" --unit 8k -- sh "$TMPD/workload.sh"
