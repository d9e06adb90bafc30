#!/usr/bin/env bash
# io_uring buffered writes, from build/writer -m uring (raw syscalls, tests/writer_uring.c):
# each request is a write with units, whichever thread issued it (ext4 hands every buffered
# write to an io-wq worker, XFS tries it inline with IOCB_NOWAIT and retries in a worker
# after -EAGAIN: one write either way), with registered buffers and file, the submission
# thread (SQPOLL), CQEs skipped on success, a CQ ring that overflows, RWF_DSYNC, RWF_ATOMIC
# (refused: buffered), a short write (RLIMIT_FSIZE), and direct writes. Exact counts from
# what the writer did: 16 KiB writes, unit 8 KiB.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
FS=${1:?usage: uring.sh ext4|xfs}
need_root "io_uring on $FS"
if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 2 ]; then
	skip "$FS io_uring: kernel.io_uring_disabled is 2"
	exit 0
fi
mkfs_loop "$FS" uring

# uring NAME WRITER-ARGS...: the writer's stdout goes through a pipe, never a traced file.
uring() {
	local name=$1 rc
	shift
	rm -f "$MNT"/u*
	"$TW" --json "$TMPD/$name.json" $(tw_record "$name") --unit 8k -- "$WRITER" -m uring -s 16k "$@" "$MNT/u" \
		2>"$TMPD/last.err" | cat >"$TMPD/$name.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 77 ]; then
		return 77
	fi
	check "$FS io_uring $name: exit status" 0 "$rc"
}

# why NAME: the report's nonzero unit, join and lost counts, as a comment line (for a failure).
why() {
	python3 - "$TMPD/$1.json" "$FS io_uring $1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
kv = [f"{k}.{kk}={v}" for k in ("units", "join", "lost", "bpf") for kk, v in t.get(k, {}).items()
      if v and not isinstance(v, bool) and kk != "records"]
print("#", sys.argv[2] + ":", " ".join(kv))
PY
}

# said NAME KEY: what the writer printed for KEY ("cq_overflow 1"), before the report.
said() {
	grep -m1 "^$2 [0-9]*$" "$TMPD/$1.out" | cut -d' ' -f2
}

uring plain -n 8
expect "io_uring plain" "$TMPD/plain.json" writes=8 units.total=16 units.whole=16 \
	units.pending=0 modes.buffered.writes=8 modes.buffered.units=16 \
	modes.buffered.incomplete=0 lost.uring_writes_unfollowed=0 files.0.path="$MNT/u"

# A rewrite of cached pages: XFS tries some inline with IOCB_NOWAIT, gets -EAGAIN and hands
# them to a worker (ext4 hands every one); a bpftrace count of io_uring_queue_async_work for
# the writer, which shares no code with tornwatch, says how many went that way. Each is one
# write all the same.
rm -f "$MNT"/u*
"$WRITER" -s 16k -n 8 "$MNT/u" || notok "$FS io_uring retry: the first, untraced writer failed"
need_tracefs
bpftrace -q -e 'tracepoint:io_uring:io_uring_queue_async_work /comm == "writer"/ { @punted = count(); }' \
	-c "$TW --json $TMPD/retry.json --unit 8k -- $WRITER -m uring -s 16k -n 8 -d 4 $MNT/u" \
	>"$TMPD/retry.bt" 2>&1
punted=$(sed -n 's/^@punted: \([0-9]*\)$/\1/p' "$TMPD/retry.bt")
if [ -n "$punted" ] && [ "$punted" -ge 1 ]; then
	ok "$FS io_uring retry: $punted of 8 writes went to a worker (bpftrace)"
else
	notok "$FS io_uring retry: no write went to a worker, the scenario proves nothing:" \
		"$(tail -3 "$TMPD/retry.bt")"
fi
expect "io_uring retry after -EAGAIN" "$TMPD/retry.json" writes=8 units.total=16 \
	units.whole=16 units.pending=0 modes.buffered.writes=8 modes.buffered.incomplete=0

# 32 in flight, and all of them no more than one bio can hold without a block-layer split:
# max_segments pages (writeback may build one bio of the whole file, and a split at a
# segment count falls mid-unit when some pages are physically adjacent: the 6.1 guest once
# gave 127 whole, 1 split_block, for 64 writes against 128 segments).
limit=$(($(cat "$QUEUE/max_segments") * 4096))
[ $(($(cat "$QUEUE/max_sectors_kb") * 1024)) -lt $limit ] && limit=$(($(cat "$QUEUE/max_sectors_kb") * 1024))
n=$((limit / 16384))
[ $n -gt 64 ] && n=64
uring depth32 -n $n -d 32
expect "io_uring 32 in flight ($n writes)" "$TMPD/depth32.json" writes=$n \
	units.total=$((2 * n)) units.whole=$((2 * n)) units.pending=0 modes.buffered.incomplete=0
why depth32

for opts in vec fixedbuf fixedfile vec,fixedbuf,fixedfile; do
	if uring "$opts" -n 8 -d 4 -U "$opts"; then
		expect "io_uring $opts" "$TMPD/$opts.json" writes=8 units.total=16 \
			units.whole=16 units.pending=0 modes.buffered.incomplete=0
	else
		skip "$FS io_uring $opts: the kernel has no IORING_OP_WRITEV_FIXED (6.15)"
	fi
done

uring sqpoll -n 16 -d 4 -U sqpoll
expect "io_uring SQPOLL" "$TMPD/sqpoll.json" writes=16 units.total=32 units.whole=32 \
	units.pending=0 modes.buffered.incomplete=0

# No CQE on success: every unit judged, none with a return time (incomplete, not invented).
uring skip -n 16 -d 4 -U skip,fixedfile
expect "io_uring CQE skipped on success" "$TMPD/skip.json" writes=16 units.total=32 \
	units.whole=32 units.pending=0 modes.buffered.incomplete=32

# 32 CQEs into a ring of 4: the overflow list holds the rest; each is still one write.
uring overflow -n 32 -d 2 -U cq=4
check "$FS io_uring CQ overflow: the writer saw its CQ ring overflow" 1 "$(said overflow cq_overflow)"
expect "io_uring CQ overflow" "$TMPD/overflow.json" writes=32 units.total=64 units.whole=64 \
	units.pending=0 modes.buffered.incomplete=0

# Direct: followed from the kiocb (iomap_dio_rw_begin), or on 6.1 from the request, its
# bios placed by iomap_iter.
uring direct -n 8 -d 4 -U direct
expect "io_uring direct" "$TMPD/direct.json" writes=8 units.total=16 units.whole=16 \
	units.pending=0 modes.direct.writes=8 modes.direct.units=16 modes.buffered.writes=0

uring dsync -n 8 -U dsync
expect "io_uring RWF_DSYNC" "$TMPD/dsync.json" writes=8 units.total=16 units.whole=16 \
	modes.buffered_dsync.writes=8 modes.buffered_dsync.units=16 modes.buffered.writes=0

uring atomic -n 8 -U atomic
check "$FS io_uring RWF_ATOMIC buffered: the writer saw every write refused" 8 "$(said atomic refused)"
expect "io_uring RWF_ATOMIC buffered" "$TMPD/atomic.json" writes=8 units.total=0 \
	modes.atomic_buffered.writes=8 modes.atomic_buffered.refused=8

# RLIMIT_FSIZE at 40 KiB: writes 0 and 1 whole, write 2 short (8 KiB), 3..7 refused (EFBIG).
uring short -n 8 -U short=40k
check "$FS io_uring short write: the writer saw one short write" 1 "$(said short short)"
check "$FS io_uring short write: the writer saw five refused" 5 "$(said short refused)"
expect "io_uring short write" "$TMPD/short.json" writes=8 units.total=5 units.whole=5 \
	units.pending=0 modes.buffered.refused=5 modes.buffered.refused_errno.27=5
check_no_leftover_bpf "io_uring $FS"
