#!/usr/bin/env bash
# The benchmark's builds of tornwatch (bench/compare.sh's columns), on a loop device: each
# must load, attach and exit clean, and be what its column says it is. 8 direct 8 KiB writes
# of one thread under each:
#   tornwatch (./tornwatch):       8 whole units, records sent;
#   floor (make FLOOR=1):          every program returns at once: no record, no unit (the one
#                                  record is the stats map's, read by user space at the end), and
#                                  the bio hook never notes the write's disk (.bss last_disk 0);
#   norec (make NOREC=1):          the programs do their work (the disk noted, last_disk set)
#                                  but no record reaches the ring buffer: no unit.
# The disk is read from the tracer's own .bss (tests/twbss.py) while it is attached.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "bench builds"
for b in build-floor/tornwatch build-norec/tornwatch; do
	if [ ! -x "$TOP/$b" ]; then
		notok "bench builds: $b missing (make bench-builds)"
		exit 0
	fi
done
FS=ext4
mkfs_loop "$FS" bb

# run NAME BIN: BIN traces 8 direct writes; its report in $TMPD/NAME.json, the .bss
# last_disk it held at the end in $TMPD/NAME.disk.
run() {
	local name=$1 bin=$2
	"$bin" --unit 8k --json "$TMPD/$name.json" -- bash -c "
'$WRITER' -m direct -s 8k -n 8 '$MNT/$name.dat' >/dev/null || exit 1
'$TOP/tests/twbss.py' \$PPID tornwatc.bss last_disk >'$TMPD/$name.disk'" \
		>"$TMPD/$name.txt" 2>&1
	check "bench builds: $name exits 0" 0 $?
}

run tornwatch "$TW"
run floor "$TOP/build-floor/tornwatch"
run norec "$TOP/build-norec/tornwatch"

expect "tornwatch" "$TMPD/tornwatch.json" units.total=8 units.whole=8
[ "$(jget "$TMPD/tornwatch.json" join.records)" -gt 0 ] &&
	ok "bench builds: tornwatch sent records" || notok "bench builds: tornwatch sent no record"
[ "$(cat "$TMPD/tornwatch.disk")" != 0 ] &&
	ok "bench builds: tornwatch noted the disk" || notok "bench builds: tornwatch noted no disk"
for b in floor norec; do
	expect "$b" "$TMPD/$b.json" units.total=0 join.records=1	# the end's STATS
done
check "bench builds: floor noted no disk" 0 "$(cat "$TMPD/floor.disk")"
[ "$(cat "$TMPD/norec.disk")" != 0 ] &&
	ok "bench builds: norec's programs did their work (the disk noted)" ||
	notok "bench builds: norec noted no disk: its programs did not run their work"
check_no_leftover_bpf "bench builds"
