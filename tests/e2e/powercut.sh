#!/usr/bin/env bash
# Simulated power cuts on one filesystem (ext4 or xfs): the independent proof of what
# tornwatch says a power cut could tear (issue 15).
#
# The filesystem sits on a loop device over fusehold --log (tests/holdlib.sh crash_setup):
# the "device" records every write, flush and fallocate it receives, with their bytes. A
# stamped writer (writer -V: each 512-byte sector says which write it came from) rewrites
# 8 KiB units at random under tornwatch. Then tests/crash/cuts.py rebuilds the disk as a
# power cut at many moments would leave it (request-atomic and sector-atomic device models),
# mounts each image so the journal or log recovers, and reads the units back:
# torn units are the ground truth. tests/crash/check.py compares them with tornwatch's
# per-unit exposure and persistence times, once tornwatch's events carry them.
#
# Scenarios: buffered and direct writers; the loop queue as crash_setup leaves it (the
# largest request that is one FUSE write) and at max_sectors_kb 4 (an 8 KiB unit is two
# requests); and buffered at 4 with the device holding writes now and then (fusehold's hold
# file: hold_toggle), so that many requests are in flight at the cuts.
#
# Asserted: the device log is complete (replaying it gives the backing file byte for byte),
# one block request is one logged FUSE write (bpftrace on block_rq_issue), every image
# mounts, torn units occur under each model where they can, check.py passes on events made
# from the device log itself (tests/crash/oracle.py: what a perfect tracer would say),
# tornwatch's verdict of every version is the device log's (whole: one device write, split:
# more, superseded: none; persisted: a flush after every device write of it, both ways), and
# check.py's recall, precision and lost at every cut, from tornwatch's per-unit times.
#
# POWERCUT_RANDOM, POWERCUT_WRITE_CUTS: cuts per model (default 150 and 100); POWERCUT_SEED
# replays a run's cuts (the seed is printed); POWERCUT_LOOP=buffered puts the loop in
# buffered mode; POWERCUT_KEEP=DIR keeps each scenario's log, events, cuts and summary;
# NO_BPF=1: neither tornwatch nor bpftrace (the device and the images only, for machines
# where BPF is busy).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holdlib.sh"

FS=${1:?usage: powercut.sh ext4|xfs}
need_root "powercut $FS"
CRASH="$TOP/tests/crash"
# The interpreter itself: a version manager's shim (pyenv) costs seconds per start, and this
# test starts python about six times per scenario.
PY=$(python3 -c 'import sys; print(sys.executable)')
SIZE=8192 RANGE=$((32 * 8192)) COUNT=96 SYNC_EVERY=8
RANDOM_CUTS=${POWERCUT_RANDOM:-150} WRITE_CUTS=${POWERCUT_WRITE_CUTS:-100}
BPF=1
[ -n "${NO_BPF:-}" ] && BPF=0

# bpftrace_start NAME: every request issued to the loop device, in $TMPD/NAME.rq:
# "ns rwbs sector nr_sector". Returns once attached.
bpftrace_start() {
	local name=$1 majmin dev
	majmin=$(cat "/sys/block/$(basename "$LOOP")/dev")
	dev=$(( (${majmin%%:*} << 20) | ${majmin##*:} ))
	mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
	bpftrace -e "tracepoint:block:block_rq_issue /args->dev == $dev/ {
		printf(\"%llu %s %llu %u\\n\", nsecs, args->rwbs, args->sector, args->nr_sector); }" \
		>"$TMPD/$name.rq" 2>"$TMPD/$name.bt.err" &
	BT_PID=$!
	KILLS+=("$BT_PID")
	for _ in $(seq 15000); do	# a hang guard of 300 s: bpftrace compiles first
		grep -q Attaching "$TMPD/$name.rq" && return 0
		kill -0 "$BT_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "bpftrace did not attach: $(cat "$TMPD/$name.bt.err")" >&2
	return 1
}

# requests_match NAME MARK: the write, discard and write-zeroes requests issued after the
# mark's flush replied, as (kind, offset, length), against the log's W and Z lines received
# after it: prints "ISSUED LOGGED DIFFERING".
requests_match() {
	"$PY" - "$TMPD/$1.rq" "$CRASH_LOG" "$2" <<'PY'
import collections, sys
rq, log, mark = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(log).read().splitlines()
t0 = int(lines[mark - 1].split()[3])	# the mark's flush: its reply
logged = collections.Counter((f[0], int(f[4]), int(f[5])) for f in (l.split() for l in lines[mark:])
                             if f[0] in "WZ" and int(f[2]) > t0)
issued = collections.Counter()
for l in open(rq):
    f = l.split()	# ns rwbs sector nr_sector; rwbs: D discard, WZ write-zeroes, W write
    if len(f) != 4 or not f[0].isdigit() or int(f[0]) <= t0 or not int(f[3]):
        continue
    kind = "Z" if "D" in f[1] or "Z" in f[1] else "W" if "W" in f[1] else None
    if kind:
        issued[(kind, int(f[2]) * 512, int(f[3]) * 512)] += 1
differ = (issued - logged) + (logged - issued)
print(sum(issued.values()), sum(logged.values()), sum(differ.values()))
for k in list(differ)[:5]:
    print("differs:", k, "issued", issued[k], "logged", logged[k], file=sys.stderr)
PY
}

# has_exposure_keys EVENTS: tornwatch's events carry the per-unit times check.py needs.
has_exposure_keys() {
	"$PY" - "$1" <<'PY'
import json, sys
keys = ("write_ns", "persisted_ns", "exposed_from_ns", "exposed_until_ns")
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(0 if ev and all(k in e for e in ev for k in keys) else 1)
PY
}

# report_cuts SUMMARY LABEL MAX_SECTORS_KB: cuts.py's totals, asserted, in one python run.
# Every image mounts; request-atomic, with recovery alone (sector-atomic, a torn superblock,
# ext4's 1 KiB in two sectors, checksummed, may need fsck: counted, allowed). Torn units
# occur under each model where they can: request-atomic, only where a unit is more than one
# request (max_sectors_kb 4).
report_cuts() {
	"$PY" - "$@" <<'PY'
import json, sys
summary, label, kb = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(summary))
def check(name, expected, got):
    print(f"ok - {name}" if expected == got else f"not ok - {name}: expected {expected}, got {got}")
for model in ("request", "sector"):
    m, lab = s["models"][model], f"{label}: {model}-atomic"
    check(f"{lab}: every image mounted", 0, m["mount_failures"])
    if model == "request":
        check(f"{lab}: every image mounted without fsck", 0, m["repaired"])
    elif m["repaired"]:
        print(f"# {lab}: {m['repaired']} images mounted only after fsck, e.g. {m['repairs'][0]}")
    print(f"# {lab}: {m['cuts']} cuts, {m['images']} images mounted, {m['torn_units']} torn "
          f"units in {m['cuts_with_torn']} cuts, {m['seconds_per_image']} s per image")
    if model == "sector" or kb == "4":
        if m["torn_units"] > 0:
            print(f"ok - {lab}: torn units found ({m['torn_units']})")
        else:
            print(f"not ok - {lab}: no torn unit: the cuts prove nothing")
PY
}

# since T0: seconds since T0 (date +%s.%N), one decimal.
since() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'
}

# hold_toggle NAME: until $TMPD/NAME.done exists, hold the device's writes: engage the hold,
# wait until a write is waiting (a sync period of the writer reaches the device), keep it
# 100 ms, let the waiting writes go (and 5 ms more), again. The writes of a held period stay
# in flight together. The caller engages nothing itself but waits for the first engagement,
# so the writer's first sync period is always held; the later ones, which take about 2 ms
# each, mostly pass while the toggler (a shell loop) re-engages. Prints the number of holds
# that held a write.
hold_toggle() {
	local held=0
	while [ ! -e "$TMPD/$1.done" ]; do
		touch "$TMPD/$1.hold"
		while [ "$(hold_blocked "$1")" -eq 0 ] && [ ! -e "$TMPD/$1.done" ]; do
			sleep 0.005
		done
		if [ "$(hold_blocked "$1")" -gt 0 ]; then
			held=$((held + 1))
			sleep 0.1
		fi
		rm -f "$TMPD/$1.hold"
		while [ "$(hold_blocked "$1")" -gt 0 ]; do sleep 0.002; done
		sleep 0.005
	done
	echo "$held"
}

# scenario NAME MODE MAX_SECTORS_KB("" for crash_setup's) [held]: one device, one workload,
# its cuts. held: the device holds writes now and then (hold_toggle) while the writer runs.
scenario() {
	local name=$1 mode=$2 kb=$3 held=${4:-} label f mark start rc nrq t0 s toggler
	label="$FS $mode max_sectors_kb ${kb:-(largest)}${held:+ held}"
	t0=$(date +%s.%N)
	crash_setup "$FS" "$name" "${POWERCUT_LOOP:-dio}" "$kb" ||
		{ notok "$label: crash device setup"; return; }
	label="$FS $mode max_sectors_kb $(cat "$QUEUE/max_sectors_kb")${held:+ held}"
	echo "# $label: loop $LOOP"
	f=$MNT/table
	# The units exist, stamped version 0, durable before the mark (untraced).
	"$WRITER" -V -P -s $SIZE -R $RANGE -n 0 "$f" || { notok "$label: preallocation"; return; }
	if [ $BPF = 1 ]; then
		bpftrace_start "$name" || { notok "$label: bpftrace on block_rq_issue"; return; }
	fi
	mark=$(crash_mark "$name")
	# COUNT stamped writes of SIZE at random units of RANGE (each unit about 3 times),
	# fdatasync every SYNC_EVERY: the flushes that make them durable. Direct: half a sync
	# period more, on the device and never flushed while traced (persisted: the reverse).
	local n=$COUNT end=0
	[ "$mode" = direct ] && n=$((COUNT + SYNC_EVERY / 2))
	local wargs=(-V -m "$mode" -s "$SIZE" -R "$RANGE" -n "$n" -y "$SYNC_EVERY" "$f")
	if [ -n "$held" ]; then
		# engaged before the writer starts: its first sync period is held, at least
		hold_toggle "$name" >"$TMPD/$name.holds" &
		toggler=$!
		KILLS+=("$toggler")
		while [ ! -e "$TMPD/$name.hold" ]; do sleep 0.005; done
	fi
	if [ $BPF = 1 ]; then
		"$TW" --json "$TMPD/$name.json" --events=all --unit $SIZE -- "$WRITER" "${wargs[@]}" \
			>"$TMPD/$name.events" 2>"$TMPD/$name.tw.err"
		rc=$?
		end=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["end_ns"])' \
			"$TMPD/$name.json" 2>/dev/null || echo 0)
	else
		"$WRITER" "${wargs[@]}"
		rc=$?
	fi
	check "$label: workload exit status" 0 $rc
	if [ $BPF = 1 ]; then
		local j=$TMPD/$name.json
		check "$label: tornwatch lost.total" 0 "$(jget "$j" lost.total)"
		check "$label: tornwatch units.pending" 0 "$(jget "$j" units.pending)"
		# the device's power-fail atomic size is a 512 B sector: no 8 KiB unit within it
		check "$label: every whole unit beyond the device's atomic size" \
			"$(jget "$j" units.whole)" "$(jget "$j" units.whole_beyond_device_atomic)"
	fi
	if [ -n "$held" ]; then
		touch "$TMPD/$name.done"
		wait "$toggler"
		hold_release "$name"
		local holds long
		holds=$(cat "$TMPD/$name.holds")
		long=$(awk '$1 == "W" && $4 - $3 > 90000000' "$CRASH_LOG" | wc -l)
		echo "# $label: $holds holds; $long of $(grep -c '^W' "$CRASH_LOG") writes in" \
			"flight more than 90 ms"
		check "$label: the device held writes (holds, writes held 90 ms)" "yes yes" \
			"$([ "${holds:-0}" -gt 0 ] && echo yes) $([ "$long" -gt 0 ] && echo yes)"
	fi
	umount "$MNT" || { notok "$label: umount"; return; }
	if [ $BPF = 1 ]; then
		kill -INT "$BT_PID"
		wait "$BT_PID" 2>/dev/null
		read -r nrq s rc < <(requests_match "$name" "$mark" 2>"$TMPD/$name.differ")
		sed 's/^/# /' "$TMPD/$name.differ"
		echo "# $label: $nrq write requests issued after the mark, $s FUSE writes logged"
		check "$label: each write request is one logged FUSE write (same offsets, lengths)" \
			"0 differ" "$rc differ"
		[ "$nrq" -gt 0 ] || notok "$label: no write request seen by bpftrace"
	else
		skip "$label: 1 request = 1 FUSE write: NO_BPF"
	fi
	# The log holds every change: replayed from zeros, it gives the backing file.
	"$PY" "$CRASH/devlog.py" verify "$CRASH_LOG" "$CRASH_DATA" "$TMPD/$name.backing" 2>&1 |
		sed 's/^/# /'
	check "$label: the log replayed gives the backing file byte for byte" 0 "${PIPESTATUS[0]}"
	start=$(date +%s.%N)
	"$PY" "$CRASH/cuts.py" --log "$CRASH_LOG" --data "$CRASH_DATA" --mark "$mark" --fs "$FS" \
		--file table --length $RANGE --unit $SIZE --random "$RANDOM_CUTS" \
		--write-cuts "$WRITE_CUTS" ${POWERCUT_SEED:+--seed "$POWERCUT_SEED"} \
		--out "$TMPD/$name.cuts.jsonl" --summary "$TMPD/$name.summary.json" 2>&1 |
		sed 's/^/# /'
	check "$label: cuts.py exit status" 0 "${PIPESTATUS[0]}"
	[ -s "$TMPD/$name.summary.json" ] && report_cuts "$TMPD/$name.summary.json" "$label" "$kb"
	# The machinery against the ground truth: events as a perfect tracer would give them,
	# from the device log (tests/crash/oracle.py), must pass check.py on these cuts.
	"$PY" "$CRASH/oracle.py" --log "$CRASH_LOG" --data "$CRASH_DATA" --mark "$mark" \
		--path "$f" --size $SIZE --range $RANGE --count $n --end "$end" >"$TMPD/$name.oracle"
	check "$label: oracle.py exit status" 0 $?
	"$PY" "$CRASH/check.py" --events "$TMPD/$name.oracle" --cuts "$TMPD/$name.cuts.jsonl" \
		--path /table --size $SIZE --range $RANGE --count $n --label "$label: oracle"
	if [ $BPF = 0 ]; then
		skip "$label: tornwatch against the cuts: NO_BPF"
		return
	fi
	# Against the device log: whole = one device write, split = more, superseded = none,
	# persisted = a flush after every device write of it; then recall, precision and lost
	# at every cut, from tornwatch's per-unit times.
	if has_exposure_keys "$TMPD/$name.events"; then
		"$PY" "$CRASH/check.py" --events "$TMPD/$name.events" --oracle "$TMPD/$name.oracle" \
			--cuts "$TMPD/$name.cuts.jsonl" --path /table --size $SIZE --range $RANGE \
			--count $n --label "$label"
	else
		notok "$label: tornwatch's events lack write_ns/persisted_ns/exposed_*_ns"
	fi
	echo "# $label: $(since "$t0") s in all, $(since "$start") s for the cuts and checks"
	if [ -n "${POWERCUT_KEEP:-}" ]; then
		mkdir -p "$POWERCUT_KEEP" && cp "$TMPD/$name".{log,data,cuts.jsonl,summary.json,oracle} \
			"$POWERCUT_KEEP/" && { [ $BPF = 0 ] || cp "$TMPD/$name".{events,json} "$POWERCUT_KEEP/"; }
	fi
}

# log_failure_fails_write: a write whose bytes cannot be logged (the data file is /dev/full)
# fails with EIO, and fusehold says why, rather than going unlogged.
log_failure_fails_write() {
	local fuse=$TMPD/full.fuse pid err
	mkdir -p "$fuse"
	"$FUSEHOLD" -f --size 1M --backing "$TMPD/full.backing" --log "$TMPD/full.log" \
		--log-data /dev/full "$fuse" 2>"$TMPD/full.err" &
	pid=$!
	LATE_MOUNTS=("$fuse" "${LATE_MOUNTS[@]}")
	until_true grep -q max_write "$TMPD/full.log" 2>/dev/null
	err=$(dd if=/dev/zero of="$fuse/disk" bs=4k count=1 conv=notrunc 2>&1 >/dev/null)
	check "a write whose log append fails: EIO" "Input/output error" \
		"$(echo "$err" | grep -o 'Input/output error' | head -n 1)"
	check "a write whose log append fails: no W line" 0 "$(grep -c '^W' "$TMPD/full.log")"
	check "a write whose log append fails: fusehold says why" 1 \
		"$(grep -c 'cannot append 4096 bytes to the log data file /dev/full' "$TMPD/full.err")"
	umount "$fuse"
	wait "$pid"
}

log_failure_fails_write
# POWERCUT_ONLY="buffered:4 direct:" picks scenarios (MODE:MAX_SECTORS_KB[:held])
for sc in ${POWERCUT_ONLY:-buffered: buffered:4 direct: direct:4 buffered:4:held}; do
	IFS=: read -r mode kb held <<<"$sc"
	scenario "$FS${mode:0:1}$kb${held:0:1}" "$mode" "$kb" "$held"
done
[ $BPF = 1 ] && check_no_leftover_bpf "powercut $FS"
