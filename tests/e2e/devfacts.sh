#!/usr/bin/env bash
# What the device promises, on a loop device (argument: ext4 or xfs). The oracle is the
# queue's own sysfs files, read here (no code shared with tornwatch): the JSON devices[]
# entry must hold the same write_cache, fua, block sizes and atomic limits, and the
# power-fail atomic size that follows from them (atomic_write_unit_max_bytes when not 0,
# else physical_block_size). N 8 KiB units, each carried by one request, are whole but
# larger than that size (512 bytes on a loop device): whole_beyond_device_atomic N; with
# --atomic-size 8k, 0. Then the queue is flipped to "write through": direct writes with no
# fsync are persisted at completion (not_persisted 0), where "write back" leaves them all
# not persisted.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: devfacts.sh ext4|xfs}
need_root "devfacts $FS"
mkfs_loop "$FS" "fs"
DEV=$(stat -c '%Hr:%Lr' "$LOOP")
N=16
# A loop device keeps its write_cache across detach and attach: a test that set "write
# through" and never put it back leaves it to the next user of that loop. Start from the
# default, and leave the device as it was found (set_sysfs restores it at exit).
if [ "$(cat "$QUEUE/write_cache")" != "write back" ]; then
	echo "# devfacts $FS: $LOOP came with write_cache '$(cat "$QUEUE/write_cache")' from an" \
		"earlier user; set to 'write back' for this test, restored at exit"
	set_sysfs "$QUEUE/write_cache" "write back"
fi

# dget JSON KEY: KEY of the devices[] entry of $DEV ("missing" when there is none).
dget() {
	python3 - "$1" "$2" "$DEV" <<'PY'
import json, sys
devs = [d for d in json.load(open(sys.argv[1]))["devices"] if d["dev"] == sys.argv[3]]
print(devs[0][sys.argv[2]] if devs else "missing")
PY
}

# same_as_live NAME LIVE.json REPLAY.json: the replay reports the same units, devices and
# persistence as the live run (the record carries what was read from sysfs then).
same_as_live() {
	python3 - "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("units", "devices")
diff = [k for k in keys if a[k] != b[k]]
diff += [f"modes.{m}.not_persisted" for m in a["modes"]
         if a["modes"][m]["not_persisted"] != b["modes"][m]["not_persisted"]]
print(",".join(diff))
PY
}

# The oracle: the queue's settings as sysfs has them now, and the rule of the brief.
q() { cat "$QUEUE/$1" 2>/dev/null || echo 0; }
awu_max=$(q atomic_write_unit_max_bytes)
pbs=$(q physical_block_size)
if [ "$awu_max" -gt 0 ]; then
	want_size=$awu_max want_src=sysfs_atomic
else
	want_size=$pbs want_src=physical_block
fi

scenario_facts_and_beyond() {
	tw "$TMPD/a.json" --unit 8k -- "$WRITER" -s 8k -n $N "$MNT/whole"
	check "devfacts $FS: tornwatch exit status" 0 $?
	expect "devfacts" "$TMPD/a.json" units.whole=$N units.split=0 \
		units.whole_beyond_device_atomic=$N units.whole_atomic_size_unknown=0 \
		files.0.verdicts.whole_beyond_device_atomic=$N
	check "$FS devices[loop].write_cache is sysfs's" "$(q write_cache)" \
		"$(dget "$TMPD/a.json" write_cache)"
	check "$FS devices[loop].fua is sysfs's" "$(q fua)" "$(dget "$TMPD/a.json" fua)"
	check "$FS devices[loop].logical_block_size is sysfs's" "$(q logical_block_size)" \
		"$(dget "$TMPD/a.json" logical_block_size)"
	check "$FS devices[loop].physical_block_size is sysfs's" "$pbs" \
		"$(dget "$TMPD/a.json" physical_block_size)"
	check "$FS devices[loop].atomic_write_unit_max is sysfs's" "$awu_max" \
		"$(dget "$TMPD/a.json" atomic_write_unit_max)"
	check "$FS devices[loop].atomic_write_unit_min is sysfs's" \
		"$(q atomic_write_unit_min_bytes)" "$(dget "$TMPD/a.json" atomic_write_unit_min)"
	check "$FS devices[loop].power_fail_atomic_size" "$want_size" \
		"$(dget "$TMPD/a.json" power_fail_atomic_size)"
	check "$FS devices[loop].atomic_size_source" "$want_src" \
		"$(dget "$TMPD/a.json" atomic_size_source)"
	check "$FS devices[loop].whole_beyond_device_atomic" $N \
		"$(dget "$TMPD/a.json" whole_beyond_device_atomic)"
	# What the platform says of loop queues (PLATFORM.md): the oracle read what it expects.
	check "$FS loop queue facts (sysfs): write back, fua 0, 512, 512, atomic 0" \
		"write back 0 512 512 0" \
		"$(q write_cache) $(q fua) $(q logical_block_size) $pbs $awu_max"
	grep -Eq "beyond device atomic size +$N  one request, but a power cut during the request can still tear it" \
		"$TMPD/last.txt" && ok "$FS text report: the beyond line says what it means" ||
		notok "$FS text report: no beyond line with $N: $(grep -i beyond "$TMPD/last.txt")"
}

scenario_atomic_size_option() {
	tw "$TMPD/b.json" --unit 8k --atomic-size "$DEV=8k" --record "$TMPD/b.twr" -- \
		"$WRITER" -s 8k -n $N "$MNT/option"
	expect "--atomic-size $DEV=8k" "$TMPD/b.json" units.whole=$N \
		units.whole_beyond_device_atomic=0
	check "$FS --atomic-size: atomic_size_source" option \
		"$(dget "$TMPD/b.json" atomic_size_source)"
	check "$FS --atomic-size: power_fail_atomic_size" 8192 \
		"$(dget "$TMPD/b.json" power_fail_atomic_size)"
	# the record carries the option: a replay without it reports the same
	"$TW" --replay "$TMPD/b.twr" --json "$TMPD/b2.json" >/dev/null
	check "$FS --atomic-size: replay: whole_beyond_device_atomic" 0 \
		"$(jget "$TMPD/b2.json" units.whole_beyond_device_atomic)"
	check "$FS --atomic-size: replay: atomic_size_source" option \
		"$(dget "$TMPD/b2.json" atomic_size_source)"
	check "$FS --atomic-size: replay differs from live in nothing (units, devices)" "" \
		"$(same_as_live x "$TMPD/b.json" "$TMPD/b2.json")"
	# on replay, the option wins over the recorded value
	"$TW" --replay "$TMPD/b.twr" --atomic-size "$DEV=4k" --json "$TMPD/b3.json" >/dev/null
	check "$FS --atomic-size on replay: whole_beyond_device_atomic" $N \
		"$(jget "$TMPD/b3.json" units.whole_beyond_device_atomic)"
	# the device named by its node, 4k: 8 KiB units are beyond it again
	tw "$TMPD/c.json" --unit 8k --atomic-size "$LOOP=4k" -- "$WRITER" -s 8k -n $N "$MNT/node"
	expect "--atomic-size $LOOP=4k" "$TMPD/c.json" units.whole=$N \
		units.whole_beyond_device_atomic=$N
	check "$FS --atomic-size $LOOP: power_fail_atomic_size" 4096 \
		"$(dget "$TMPD/c.json" power_fail_atomic_size)"
}

scenario_write_through() {
	"$WRITER" -s 8k -n $N "$MNT/dio"	# the range exists, synced, untraced
	# write back: direct writes, no fsync, no flush: on the device, not persisted
	tw "$TMPD/d.json" --unit 8k -- "$WRITER" -m direct -F -s 8k -n $N "$MNT/dio"
	expect "direct, no fsync, write back" "$TMPD/d.json" units.whole=$N \
		modes.direct.not_persisted=$N
	set_sysfs "$QUEUE/write_cache" "write through"
	check "$FS write_cache flipped (sysfs)" "write through" "$(q write_cache)"
	tw "$TMPD/e.json" --unit 8k --record "$TMPD/e.twr" -- \
		"$WRITER" -m direct -F -s 8k -n $N "$MNT/dio"
	expect "direct, no fsync, write through" "$TMPD/e.json" units.whole=$N \
		modes.direct.not_persisted=0
	check "$FS write through: devices[loop].write_cache" "write through" \
		"$(dget "$TMPD/e.json" write_cache)"
	check "$FS write through: durable samples" $N "$(python3 -c "
import json
h = json.load(open('$TMPD/e.json'))['modes']['direct']['hist']['durable']
print(sum(b['count'] for b in h))")"
	# the queue is back to write back now: the replay knows it was write through
	cleanup_sysfs_now
	"$TW" --replay "$TMPD/e.twr" --json "$TMPD/e2.json" >/dev/null
	check "$FS write through: replay differs from live in nothing (units, devices, persisted)" \
		"" "$(same_as_live x "$TMPD/e.json" "$TMPD/e2.json")"
}

scenario_facts_and_beyond
scenario_atomic_size_option
if [ -w "$QUEUE/write_cache" ]; then
	scenario_write_through
else
	skip "devfacts $FS write through: $QUEUE/write_cache is not writable here"
fi
check_no_leftover_bpf "devfacts $FS"
