#!/usr/bin/env bash
# Regenerate the replay fuzzer's seed corpus (tests/fuzz/corpus/replay/) from real records:
# small runs of build/writer under `tornwatch --record` on ext4 and XFS loop devices, one
# per write mode and writeback shape, plus gen_records' synthetic file of every verdict.
# Needs root. The corpus is checked in; this script says how it was made.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need_root "mkcorpus"
OUTD="$TOP/tests/fuzz/corpus/replay"
mkdir -p "$OUTD"
"$TOP/build/gen_records" "$OUTD/gen_records.twr"
for fs in ext4 xfs; do
	mkfs_loop "$fs" "c-$fs"
	rec() {	# rec NAME WRITER-ARGS...
		local name=$1
		shift
		"$TW" --unit 8k --record "$OUTD/$fs-$name.twr" -- "$WRITER" "$@" >/dev/null
	}
	rec buffered -s 8k -n 4 -r "$MNT/b"
	rec direct -m direct -s 8k -n 4 "$MNT/d"
	rec dsync -m dsync -s 16k -n 2 "$MNT/s"
	rec aio -m aio -s 8k -n 3 "$MNT/a"
	rec aio-buffered -m aio-buffered -s 8k -n 3 "$MNT/ab"
	rec uring -m uring -s 16k -n 4 -d 2 "$MNT/ur"
	rec uring-skip -m uring -s 8k -n 4 -d 2 -U skip,fixedfile "$MNT/us"
	rec misaligned -s 6k -n 3 -o 1k "$MNT/m"
	rec unsynced -s 8k -n 4 -F "$MNT/u"
	"$WRITER" -s 16k -n 2 "$MNT/mm" >/dev/null
	rec mmap -m mmap -s 16k -n 2 -M 1 "$MNT/mm"
	rec atomic -m atomic -s 4k -n 2 "$MNT/at" || true	# refused on a loop device: kept
	set_sysfs "$QUEUE/max_sectors_kb" 4
	rec split -s 8k -n 3 "$MNT/sp"
	cleanup_sysfs_now
	find "$MNT" -maxdepth 1 -type f -delete
done
ls -l "$OUTD"
