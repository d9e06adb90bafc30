#!/usr/bin/env bash
# What tornwatch sends per write, on a loop device (argument: ext4 or xfs). The cost of a traced
# write is mostly its ring-buffer records (bench/compare.sh measures the time): each path's
# records per write are counted here exactly, from the --record file, by tests/recstat.py
# (which reads the format on its own). N 8 KiB writes of one thread, then its fsync:
#   direct pwrite:    WRITE_BEGIN, BIO_QUEUE (88 bytes: room for its one extent), RQ_ISSUE,
#                     RQ_COMPLETE each; no DIO_BEGIN/DIO_END
#                     (the syscall's kiocb says nothing its WRITE_BEGIN and return do not);
#                     one WRITE_END, the last write's held return, sent at the fsync;
#   io_uring direct:  the kiocb is the write: DIO_BEGIN and DIO_END each, no WRITE_BEGIN (and
#                     a DIO_BEGIN more for each NOWAIT attempt that failed, as below);
#   buffered:         one WRITE_BEGIN each (each return rides on the next one), one WRITE_END;
#   fdatasync after each: no WAIT_BEGIN for its writeback waits (counted in BPF: checked
#                     against bpftrace's count); FLUSH records of its own disk only;
#   ext4's fsync passes (buffered, fdatasync after each): no WB_START: every page a
#                     data-integrity pass wrote went into a bio it queued, which says all.
# Records of the file's own writeback, other processes' flushes and the run's bookkeeping
# (FILE, TASK, DEVICE, PATH, STATS) are not per write and not counted. The verdicts are.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: cost.sh ext4|xfs}
need_root "cost $FS"
mkfs_loop "$FS" cost
N=64

# uncache FILE: its clean pages dropped from the page cache (posix_fadvise DONTNEED).
uncache() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1"
}

# records NAME TWR TYPE=COUNT...: the record file holds COUNT records of each TYPE.
records() {
	local name=$1 twr=$2 kv got
	shift 2
	if ! got=$(python3 "$TOP/tests/recstat.py" "$twr"); then
		notok "$FS $name: $twr unreadable"
		return
	fi
	for kv in "$@"; do
		check "$FS $name: ${kv%%=*} records" "${kv#*=}" \
			"$(awk -v t="${kv%%=*}" '$1 == t { n = $2 } END { print n + 0 }' <<<"$got")"
	done
}

tw "$TMPD/direct.json" --unit 8k --record "$TMPD/direct.twr" -- \
	"$WRITER" -m direct -s 8k -n $N "$MNT/direct"
expect "direct pwrite" "$TMPD/direct.json" writes=$N units.total=$N units.whole=$N
records "direct pwrite" "$TMPD/direct.twr" WRITE_BEGIN=$N WRITE_END=1 DIO_BEGIN=0 DIO_END=0 \
	BIO_QUEUE=$N RQ_ISSUE=$N RQ_COMPLETE=$N
# A direct write's bio carries one extent: its record has room for one (88 bytes, not 256).
check "$FS direct pwrite: BIO_QUEUE records of one extent's room (88 bytes)" "BIO_QUEUE 88 $N" \
	"$(python3 "$TOP/tests/recstat.py" --sizes "$TMPD/direct.twr" | grep '^BIO_QUEUE')"

if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 2 ]; then
	skip "$FS io_uring direct: kernel.io_uring_disabled is 2"
else
	# An overwrite of written blocks, none of them cached (written, synced and dropped from
	# the cache untraced): each IOCB_NOWAIT attempt goes through. (On a fresh file XFS
	# cannot allocate without waiting, and its attempts fail or not by timing.)
	"$WRITER" -s 8k -n $N "$MNT/uring" >/dev/null
	uncache "$MNT/uring"
	tw "$TMPD/uring.json" --unit 8k --record "$TMPD/uring.twr" -- \
		"$WRITER" -m uring -U direct -s 8k -n $N "$MNT/uring"
	expect "io_uring direct" "$TMPD/uring.json" writes=$N units.total=$N units.whole=$N
	records "io_uring direct" "$TMPD/uring.twr" WRITE_BEGIN=0 DIO_BEGIN=$N DIO_END=$N \
		BIO_QUEUE=$N RQ_ISSUE=$N RQ_COMPLETE=$N
	# The same over cached pages: attempts fail with -EAGAIN before any bio and before
	# iomap_dio_complete (kiocb_invalidate_pages), and a worker begins the same kiocb again.
	# How many fail is the kernel's business; each is no write of its own.
	cat "$MNT/uring" >/dev/null
	tw "$TMPD/uring2.json" --unit 8k --record "$TMPD/uring2.twr" -- \
		"$WRITER" -m uring -U direct -s 8k -n $N "$MNT/uring"
	expect "io_uring direct, cached" "$TMPD/uring2.json" writes=$N units.total=$N \
		units.whole=$N units.superseded=0
	records "io_uring direct, cached" "$TMPD/uring2.twr" DIO_END=$N BIO_QUEUE=$N
fi

tw "$TMPD/buffered.json" --unit 8k --record "$TMPD/buffered.twr" -- \
	"$WRITER" -s 8k -n $N "$MNT/buffered"
expect "buffered" "$TMPD/buffered.json" writes=$N units.total=$N units.pending=0
records "buffered" "$TMPD/buffered.twr" WRITE_BEGIN=$N WRITE_END=1 DIO_BEGIN=0 DIO_END=0
[ "$FS" = ext4 ] && records "buffered, fsync's pass" "$TMPD/buffered.twr" WB_START=0

# Writeback waits inside fdatasync are counted by the BPF side, not sent: no WAIT_BEGIN record
# for them. Their number, against bpftrace's own count for this writer (a copy of it under a
# name of this run) inside its fdatasync calls.
need_tracefs || exit 0
COMM=tw-cost-$$
cp "$WRITER" "$TMPD/$COMM"
bpftrace -e "tracepoint:syscalls:sys_enter_fdatasync /comm == \"$COMM\"/ { @in[tid] = 1; }
tracepoint:syscalls:sys_exit_fdatasync /comm == \"$COMM\"/ { delete(@in[tid]); }
tracepoint:writeback:folio_wait_writeback /@in[tid]/ { @waits = count(); }" \
	>"$TMPD/waits.bt" 2>"$TMPD/waits.bt.err" &
BT_PID=$!
KILLS+=("$BT_PID")
until_true grep -q Attaching "$TMPD/waits.bt" ||
	notok "$FS records per write: bpftrace did not attach: $(cat "$TMPD/waits.bt.err")"
tw "$TMPD/sync.json" --unit 8k --record "$TMPD/sync.twr" -- \
	"$TMPD/$COMM" -s 8k -n $N -y 1 "$MNT/synced"
kill -INT "$BT_PID"
wait "$BT_PID"
bt_waits=$(sed -n 's/^@waits: //p' "$TMPD/waits.bt")
echo "# $FS fdatasync after each write: ${bt_waits:-0} writeback waits inside it (bpftrace)"
expect "fdatasync after each" "$TMPD/sync.json" writes=$N units.whole=$N \
	stable.waits_fsync="${bt_waits:-0}" stable.waits=0
records "fdatasync after each" "$TMPD/sync.twr" WRITE_BEGIN=$N WAIT_BEGIN=0
[ "$FS" = ext4 ] && records "fdatasync after each, its passes" "$TMPD/sync.twr" WB_START=0
# Cache flushes: only those of the disk that carried the writer's bios (the loop device), not
# the host's (the loop device's backing file is flushed to its own disk at each one).
check "$FS fdatasync after each: FLUSH records only of $LOOP" "$(cat "/sys/block/$(basename "$LOOP")/dev")" \
	"$(python3 "$TOP/tests/recstat.py" --flush-devs "$TMPD/sync.twr" | paste -sd' ')"

# The record, replayed, says what the live run said.
"$TW" --replay "$TMPD/direct.twr" --json "$TMPD/direct-replay.json" >/dev/null 2>&1
check "$FS direct pwrite: replay = live (units.whole)" "$(jget "$TMPD/direct.json" units.whole)" \
	"$(jget "$TMPD/direct-replay.json" units.whole)"
"$TW" --replay "$TMPD/sync.twr" --json "$TMPD/sync-replay.json" >/dev/null 2>&1
check "$FS fdatasync after each: replay = live (stable.waits_fsync)" \
	"$(jget "$TMPD/sync.json" stable.waits_fsync)" "$(jget "$TMPD/sync-replay.json" stable.waits_fsync)"
check_no_leftover_bpf "$FS cost"
