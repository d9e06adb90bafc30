#!/usr/bin/env bash
# End-to-end ground truth for the tracing core on one filesystem (argument: ext4 or xfs).
# Each scenario's truth comes from what the writer was told to do and how the device was
# set up; never from tornwatch's own output.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: core.sh ext4|xfs}
need_root "core $FS"
mkfs_loop "$FS" "fs"
N=32

scenario_buffered_whole() {
	tw "$TMPD/a.json" --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/buffered" ||
		notok "$FS buffered: tornwatch exit $?"
	expect "buffered 8k fsync" "$TMPD/a.json" units.total=$N units.whole=$N units.split=0 \
		units.pending=0 files.0.units=$N
	case $(jget "$TMPD/a.json" files.0.path) in
	*/buffered) ok "$FS buffered: file named by its path" ;;
	*) notok "$FS buffered: file path is $(jget "$TMPD/a.json" files.0.path)" ;;
	esac
}

scenario_buffered_split() {
	set_sysfs "$QUEUE/max_sectors_kb" 4
	tw "$TMPD/b.json" --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/buffered-split"
	expect "buffered 8k, max_sectors_kb 4" "$TMPD/b.json" units.total=$N units.split=$N \
		units.split_block=$N units.whole=0
	# CI's use: --check fails on the forced split, names it, and still writes the JSON.
	tw "$TMPD/b2.json" --check --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/check-split"
	check "$FS --check on splits: exit status 1" 1 $?
	grep -q "check failed: split $N: .*/check-split@0+8192" "$TMPD/last.err" &&
		ok "$FS --check names the split units" || notok "$FS --check: $(cat "$TMPD/last.err")"
	expect "--check on splits" "$TMPD/b2.json" check.passed=False check.failures.split=$N
	# --events: a line per unit that is not whole; --events=all with --json: NDJSON, all.
	"$TW" --events --unit 8k -- "$WRITER" -s 8k -n 8 "$MNT/events" >"$TMPD/ev.txt" 2>&1
	check "$FS --events: a line per split unit" 8 "$(grep -c ' split .*/events$' "$TMPD/ev.txt")"
	cleanup_sysfs_now
	"$TW" --events=all --unit 8k --json "$TMPD/ev.json" -- "$WRITER" -s 8k -n 8 -r "$MNT/ev2" \
		>"$TMPD/ev.ndjson" 2>&1
	check "$FS --events=all: one JSON object per unit (1 superseded, 8 whole)" "superseded 1 whole 8" \
		"$(python3 -c "
import json, collections
c = collections.Counter(json.loads(l)['verdict'] for l in open('$TMPD/ev.ndjson') if l.startswith('{'))
print(' '.join(f'{k} {c[k]}' for k in sorted(c)))")"
	tw "$TMPD/b3.json" --check --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/check-clean"
	check "$FS --check on a clean run: exit status 0" 0 $?
	expect "--check on a clean run" "$TMPD/b3.json" check.passed=True check.failures.split=0
}

scenario_direct() {
	local n=16
	tw "$TMPD/c.json" --unit 16k -- "$WRITER" -m direct -s 16k -n $n "$MNT/direct"
	expect "direct 16k" "$TMPD/c.json" units.total=$n units.whole=$n units.split=0
	set_sysfs "$QUEUE/max_sectors_kb" 4
	tw "$TMPD/d.json" --unit 16k -- "$WRITER" -m direct -s 16k -n $n "$MNT/direct-split"
	expect "direct 16k, max_sectors_kb 4" "$TMPD/d.json" units.total=$n units.split=$n \
		units.whole=0
	cleanup_sysfs_now
}

scenario_writeback_split() {
	# Each unit's first page is written back on its own (writer -W): two bios per unit.
	"$WRITER" -s 8k -n 16 "$MNT/wbsplit"		# the range, untraced
	tw "$TMPD/r.json" --unit 8k -- "$WRITER" -W -s 8k -n 16 "$MNT/wbsplit"
	expect "two writeback passes per unit" "$TMPD/r.json" units.total=16 units.split=16 \
		units.split_writeback=16 units.split_block=0
}

scenario_aio_direct() {
	# io_submit writes: no write syscall; the kiocb (iomap_dio_rw_begin) is the record, or
	# (6.1) io_submit's own iocbs with their bios placed by iomap_iter. Without
	# iomap_dio_complete the completion is never seen: every latency sample is incomplete.
	local n=16 inc=0
	have_tp iomap_dio_complete || inc=$n
	tw "$TMPD/o.json" --unit 16k -- "$WRITER" -m aio -s 16k -n $n "$MNT/aio"
	expect "aio direct 16k" "$TMPD/o.json" units.total=$n units.whole=$n writes=$n \
		units.pending=0 modes.direct.incomplete=$inc
	# 40 writes as io_submit calls of 16, 16 and 8 iocbs: each iocb's bios are its own.
	tw "$TMPD/o2.json" --unit 16k -- "$WRITER" -m aio-batch -s 16k -n 40 "$MNT/aio-batch"
	expect "aio direct 16k, 16 iocbs per io_submit" "$TMPD/o2.json" units.total=40 \
		units.whole=40 writes=40 units.pending=0 join.bad_records=0 join.unmatched_bytes=0
	set_sysfs "$QUEUE/max_sectors_kb" 4
	tw "$TMPD/p.json" --unit 16k -- "$WRITER" -m aio -s 16k -n $n "$MNT/aio-split"
	expect "aio direct 16k, max_sectors_kb 4" "$TMPD/p.json" units.total=$n units.split=$n
	tw "$TMPD/p2.json" --unit 16k -- "$WRITER" -m aio-batch -s 16k -n 40 "$MNT/aio-batch-split"
	expect "aio direct 16k batched, max_sectors_kb 4" "$TMPD/p2.json" units.total=40 \
		units.split=40 units.pending=0
	cleanup_sysfs_now
}

scenario_misaligned() {
	# 8 writes of 12 KiB at 4k + 16k*i: each covers exactly one 8 KiB unit [8k+16k*i, +8k).
	tw "$TMPD/e.json" --unit 8k -- "$WRITER" -s 12k -o 4k -g 16k -n 8 "$MNT/misaligned"
	expect "misaligned" "$TMPD/e.json" units.misaligned=8 units.total=8 units.whole=8
}

scenario_superseded() {
	# The first unit is written twice before the fsync: one instance never reaches disk.
	tw "$TMPD/f.json" --unit 8k -- "$WRITER" -s 8k -n 8 -r "$MNT/superseded"
	expect "superseded" "$TMPD/f.json" units.superseded=1 units.total=9 units.whole=8
}

scenario_unrelated_writer() {
	# An untraced process hammers another file of the same filesystem meanwhile.
	"$WRITER" -s 8k -n 4000 -y 16 "$MNT/noise" &
	local noise=$!
	tw "$TMPD/g.json" --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/quiet"
	wait $noise
	expect "with an unrelated writer" "$TMPD/g.json" units.total=$N units.whole=$N \
		units.split=0 writes=$N
	check "$FS unrelated writer: only the traced file is listed" 1 \
		"$(python3 -c "import json;print(len(json.load(open('$TMPD/g.json'))['files']))")"
}

scenario_discarded() {
	# Units whose bytes left the page cache unwritten: 4 of a file unlinked while dirty (its
	# inode freed), 2 past a truncation. 'new' is made after 'old' was unlinked and may get
	# its inode number back (ext4 does): it is another file, with its own path and units.
	tw "$TMPD/d.json" --unit 8k -- bash -c "
		'$WRITER' -n 4 -F '$MNT/del' && rm '$MNT/del' &&
		'$WRITER' -n 4 -F '$MNT/trunc' && truncate -s 16k '$MNT/trunc' &&
		'$WRITER' -n 2 -F '$MNT/old' && stat -c %i '$MNT/old' >'$TMPD/ino' && rm '$MNT/old' &&
		'$WRITER' -n 2 '$MNT/new' && stat -c %i '$MNT/new' >>'$TMPD/ino' && sync -f '$MNT/new'"
	expect "discarded" "$TMPD/d.json" units.total=12 units.discarded=8 units.whole=4 \
		units.pending=0 units.superseded=0
	check "$FS discarded: per file (units discarded whole deleted)" \
		"del 4 4 0 True; new 2 0 2 False; old 2 2 0 True; trunc 4 2 2 False" \
		"$(python3 -c "
import json, os
fs = json.load(open('$TMPD/d.json'))['files']
print('; '.join(sorted(f\"{os.path.basename(f['path'])} {f['units']} \"
                       f\"{f['verdicts']['discarded']} {f['verdicts']['whole']} {f['deleted']}\"
                       for f in fs if f['units'])))")"
	if [ "$(sort -u "$TMPD/ino" | wc -l)" -eq 1 ]; then
		echo "# $FS discarded: 'new' reused the inode number of 'old'"
	fi
}

# attach_run NAME JSON MODE CMD...: start CMD, which waits for $TMPD/go (its writer prints
# its pid first), attach tornwatch, let the writes go. MODE "writer": -p the writer's pid;
# "parent": -p CMD's own pid with -f (the writer is a child that already exists).
attach_run() {
	local name=$1 json=$2 mode=$3 pidf="$TMPD/writer.pid" cmdpid target twpid
	shift 3
	rm -f "$TMPD/go" "$pidf"
	"$@" >"$pidf" &
	cmdpid=$!
	until_true test -s "$pidf"
	if [ "$mode" = writer ]; then
		target=(-p "$(cat "$pidf")")
	else
		target=(-p "$cmdpid" -f)
	fi
	"$TW" -v "${target[@]}" --unit 8k --json "$json" >/dev/null 2>"$TMPD/attach.err" &
	twpid=$!
	await_tracing "$FS $name" "$TMPD/attach.err" "$twpid"
	touch "$TMPD/go"
	wait "$twpid"
	check "$FS $name: tornwatch exit status" 0 $?
	wait "$cmdpid"
}

scenario_pid_attach() {
	# A writer already running, attached by -p: the same counts as under "--".
	attach_run "-p" "$TMPD/h.json" writer "$WRITER" -s 8k -n $N -w "$TMPD/go" "$MNT/attached"
	expect "-p PID" "$TMPD/h.json" units.total=$N units.whole=$N units.split=0
	# Four threads, all started before the attach: every thread of the process is traced.
	attach_run "-p, 4 threads" "$TMPD/h2.json" writer \
		"$WRITER" -T 4 -s 8k -n $N -w "$TMPD/go" "$MNT/threads"
	expect "-p PID, 4 threads" "$TMPD/h2.json" units.total=$N units.whole=$N writes=$N
	# -f finds a child that was forked before tornwatch started (the /proc scan).
	attach_run "-p PARENT -f, child already there" "$TMPD/h3.json" parent \
		sh -c "'$WRITER' -s 8k -n $N -w '$TMPD/go' '$MNT/existing-child'; true"
	expect "-p PARENT -f, existing child" "$TMPD/h3.json" units.total=$N units.whole=$N \
		writes=$N
}

scenario_children_followed() {
	# The command forks two writers (the trailing 'true' keeps sh from exec'ing the last).
	tw "$TMPD/m.json" --unit 8k -- sh -c "'$WRITER' -s 8k -n 16 '$MNT/child1' &&
		'$WRITER' -s 8k -n 16 '$MNT/child2'; true"
	expect "-- CMD's children" "$TMPD/m.json" units.total=32 units.whole=32 writes=32
	# -p PARENT -f: the parent starts its writer only after tornwatch is attached.
	local flag="$TMPD/go2" twpid ppid
	rm -f "$flag"
	sh -c "while [ ! -e '$flag' ]; do sleep 0.05; done; '$WRITER' -s 8k -n 16 '$MNT/child3'; true" &
	ppid=$!
	"$TW" -v -p "$ppid" -f --unit 8k --json "$TMPD/n.json" >/dev/null 2>"$TMPD/n.err" &
	twpid=$!
	await_tracing "$FS -p PARENT -f" "$TMPD/n.err" "$twpid"
	touch "$flag"
	wait "$twpid"
	expect "-p PARENT -f" "$TMPD/n.json" units.total=16 units.whole=16 writes=16
}

scenario_record_replay() {
	tw "$TMPD/i.json" --unit 8k --record "$TMPD/run.twr" -- \
		"$WRITER" -s 8k -n 8 -r "$MNT/recorded"
	"$TW" --replay "$TMPD/run.twr" --json "$TMPD/j.json" >/dev/null
	check "$FS replay: exit status" 0 $?
	for k in units lost files writes unit_size; do
		check "$FS replay: same $k as live" "$(jget "$TMPD/i.json" $k)" \
			"$(jget "$TMPD/j.json" $k)"
	done
}

scenario_atomic() {
	if [ "$FS" = xfs ] && ! have_tp xfs_iomap_atomic_write_cow; then
		skip "$FS cow-atomic: no xfs_iomap_atomic_write_cow tracepoint, so no XFS software" \
			"atomic writes in this kernel; checking the refusal instead"
	fi
	if [ "$FS" = xfs ] && have_tp xfs_iomap_atomic_write_cow; then
		# No device here has atomic limits: XFS makes RWF_ATOMIC writes atomic by CoW.
		tw "$TMPD/k.json" -- "$WRITER" -m atomic -s 16k -n 4 "$MNT/atomic"
		expect "atomic 16k" "$TMPD/k.json" units.total=4 units.whole=4 atomic.refused=0
		set_sysfs "$QUEUE/max_sectors_kb" 4
		tw "$TMPD/l.json" -- "$WRITER" -m atomic -s 16k -n 4 "$MNT/atomic-split"
		expect "atomic 16k, max_sectors_kb 4" "$TMPD/l.json" units.total=4 \
			units.cow_atomic=4 units.split=0
		# RWF_ATOMIC through aio: known from the kiocb's IOCB_ATOMIC alone.
		tw "$TMPD/q.json" -- "$WRITER" -m aio-atomic -s 16k -n 4 "$MNT/aio-atomic"
		expect "aio atomic 16k, max_sectors_kb 4" "$TMPD/q.json" units.total=4 \
			units.cow_atomic=4 units.split=0
		cleanup_sysfs_now
	else
		# ext4 (and an older XFS) refuses RWF_ATOMIC here (EOPNOTSUPP): one refused
		# write, no unit.
		tw "$TMPD/k.json" -- "$WRITER" -m atomic -s 16k -n 1 "$MNT/atomic"
		check "$FS atomic: the writer's failure is tornwatch's exit status" 1 $?
		expect "atomic refused" "$TMPD/k.json" atomic.refused=1 units.total=0
	fi
}

# Direct writes are followed from iomap_dio_rw_begin (6.2 on) or iomap_iter (5.15 on).
have_dio() {
	have_tp iomap_dio_rw_begin || have_tp iomap_iter
}

scenario_buffered_whole
scenario_buffered_split
if have_dio; then
	scenario_direct
else
	skip "$FS direct 16k: neither iomap_dio_rw_begin nor iomap_iter in this kernel: direct" \
		"writes are not followed"
fi
scenario_writeback_split
if have_dio; then
	scenario_aio_direct
else
	skip "$FS aio direct 16k: neither iomap_dio_rw_begin nor iomap_iter: not followed"
fi
scenario_misaligned
scenario_superseded
scenario_discarded
scenario_unrelated_writer
scenario_pid_attach
scenario_children_followed
scenario_record_replay
scenario_atomic
check_no_leftover_bpf "core $FS"
