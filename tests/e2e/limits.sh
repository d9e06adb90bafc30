#!/usr/bin/env bash
# Limits on one filesystem (argument: ext4 or xfs): a full unit table (--max-units) counts
# each unit it cannot follow as untracked, exactly, and the run still ends normally.
#
# Ground truth: a unit is followed from its write until its verdict (engine/units.c unit_new());
# while --max-units are alive, the next ones are untracked. The writer puts 5000 8 KiB
# units in the page cache before any sync, so all are alive at once: the first 1000 are
# followed, 4000 untracked. After a sync gives the 1000 their verdicts, the table is
# empty again and the next 1000 are followed.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: limits.sh ext4|xfs}
need_root "limits $FS"
mkfs_loop "$FS" "fs"
MAX=1000 N=5000

# No sync: the 1000 followed units are still in the page cache when the writer exits
# (pending, cached); the kernel writes them back later, untraced.
tw "$TMPD/a.json" -v --unit 8k --max-units $MAX -- "$WRITER" -s 8k -n $N -F "$MNT/nosync"
check "$FS --max-units $MAX, $N units, no sync: exit status" 0 $?
grep -q "unit table: at most $MAX units followed at once (--max-units $MAX)" "$TMPD/last.err" &&
	ok "$FS --max-units: -v says $MAX units followed at once" ||
	notok "$FS --max-units: -v says '$(grep "unit table" "$TMPD/last.err")'"
grep -q "^UNITS" "$TMPD/last.txt" && ok "$FS --max-units: text report written" ||
	notok "$FS --max-units: no text report"
expect "--max-units $MAX, $N units, no sync" "$TMPD/a.json" units.total=$MAX \
	units.pending=$MAX units.pending_cached=$MAX units.untracked=$((N - MAX)) \
	files.0.units=$MAX files.0.verdicts.untracked=$((N - MAX))
sync -f "$MNT"

# fsync at the end: the 1000 reach the device whole; the 4000 others' bytes are bios of no
# followed unit. Then the table is free again: 1000 more units, all followed.
tw "$TMPD/b.json" --unit 8k --max-units $MAX -- sh -c \
	"'$WRITER' -s 8k -n $N '$MNT/fsync' && '$WRITER' -s 8k -n $MAX -o 80m '$MNT/fsync'"
check "$FS --max-units $MAX, $N + $MAX units, fsync: exit status" 0 $?
expect "--max-units $MAX, $N + $MAX units, fsync" "$TMPD/b.json" units.total=$((2 * MAX)) \
	units.whole=$((2 * MAX)) units.pending=0 units.untracked=$((N - MAX)) \
	join.unmatched_bytes=$(((N - MAX) * 8192))

# --check fails on untracked units by default, and says how many.
tw "$TMPD/c.json" --check --unit 8k --max-units $MAX -- "$WRITER" -s 8k -n $N "$MNT/check"
check "$FS --check with untracked units: exit status 1" 1 $?
grep -q "untracked $((N - MAX))" "$TMPD/last.err" && ok "$FS --check names the untracked units" ||
	notok "$FS --check: $(cat "$TMPD/last.err")"
expect "--check, --max-units $MAX" "$TMPD/c.json" check.passed=False \
	check.failures.untracked=$((N - MAX))

check_no_leftover_bpf "limits $FS"
