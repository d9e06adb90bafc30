#!/usr/bin/env bash
# Pages modified while under writeback, and stable-page waits, on one filesystem (ext4 or
# xfs), with writeback held in flight on purpose: the loop device's backing file is on
# fusehold, which makes writes wait until the test releases them (tests/holdlib.sh).
#
# The truth comes from the setup: K units written and their writeback started while held,
# then M pages rewritten with pwrite and M2 through mmap, then released. With the queue's
# stable_writes = 0 each of those is a modification under writeback; with 1 the writers
# wait instead.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../holdlib.sh"

FS=${1:?usage: stable.sh ext4|xfs}
need_root "stable $FS"
K=16 M=3 M2=2


# K units in order-0 folios (one page per folio: an mmap store names one unit), untraced.
prepare() {
	local f=$1
	"$WRITER" -s 8k -n $K "$f"
	"$WRITER" -W -s 8k -n 1 -g $((8192 * K)) "$f" >/dev/null	# drops the cache, reads 4 KiB pages
}

# wait_for FILE: a flag another process creates (a hang guard of 300 s).
wait_for() {
	local i
	for i in $(seq 30000); do [ -e "$1" ] && return 0; sleep 0.01; done
	echo "timed out waiting for $1" >&2
	return 1
}

# The traced workload: rewrite the K units, engage the hold, start their writeback, wait
# until it is held. $1 = name (hold), $2 = file, then what to do while held (shell).
held_workload() {
	cat <<EOF
set -e
'$WRITER' -s 8k -n $K -F '$2'
touch '$TMPD/$1.hold'
xfs_io -c 'sync_range -w 0 $((8192 * K))' '$2'
for i in \$(seq 1000); do [ "\$(cat '$TMPD/$1.status' 2>/dev/null || echo 0)" -ge 1 ] && break; sleep 0.01; done
[ "\$(cat '$TMPD/$1.status')" -ge 1 ] || { echo 'no write held' >&2; exit 1; }
$3
EOF
}

scenario_unstable() {
	local f g wl
	hold_setup "$FS" s0 0 || { notok "$FS stable_writes=0: hold setup failed"; return; }
	f=$MNT/table g=$MNT/other
	prepare "$f"
	"$WRITER" -s 8k -n $K "$g"	# an untraced file
	# While held: M pwrites and M2 mmap stores, each to the first page of its own unit;
	# then the test's untraced writer changes the other file under writeback; then
	# release, and change a page that is dirty but not under writeback: not reported.
	wl=$(held_workload s0 "$f" "
'$WRITER' -s 4k -n $M -g 8k -F '$f'
'$WRITER' -m mmap -s 4k -n $M2 -o $((8192 * M)) -g 8k -F '$f'
touch '$TMPD/traced-done'
for i in \$(seq 1000); do [ -e '$TMPD/untraced-done' ] && break; sleep 0.01; done
rm -f '$TMPD/s0.hold'
xfs_io -c 'sync_range -b 0 $((8192 * K))' '$f'
'$WRITER' -s 8k -n $K -o 0 '$f'
'$WRITER' -s 4k -n 1 -o 4k -F '$f'
'$WRITER' -s 4k -n 1 -o 4k -F '$f'")
	rm -f "$TMPD/traced-done" "$TMPD/untraced-done"
	"$TW" --unit 8k --json "$TMPD/s0.json" $(tw_record s0) -- bash -c "$wl" >"$TMPD/s0.txt" 2>&1 &
	local twpid=$!
	if wait_for "$TMPD/traced-done"; then
		"$WRITER" -s 8k -n $K -F "$g"
		xfs_io -c "sync_range -w 0 $((8192 * K))" "$g"	# its writeback queues behind
		"$WRITER" -s 4k -n $K -g 8k -F "$g"		# changed under writeback, untraced
	fi
	touch "$TMPD/untraced-done"
	wait $twpid
	check "$FS stable_writes=0: workload exit status" 0 $?
	# K units under writeback: M+M2 changed in flight. Then K units rewritten and synced:
	# whole. The writes of single pages are misaligned and make no unit. Each mmap store
	# dirtied its page again: a new mmap unit (of that 4 KiB folio), superseded by the
	# rewrite before any writeback.
	expect "stable_writes=0" "$TMPD/s0.json" stable.modified=$((M + M2)) \
		units.modified=$((M + M2)) units.whole=$((2 * K - M - M2)) \
		units.total=$((2 * K + M2)) units.superseded=$M2 modes.mmap.writes=$M2 \
		modes.mmap.units=$M2 stable.waits=0 devices.0.stable_writes=0
	check "$FS stable_writes=0: the mmap stores named their pages" "$M2" \
		"$(python3 -c "import json;print(sum(1 for m in json.load(open('$TMPD/s0.json'))['stable']['modifications'] if m['mmap'] and m['range_known']))")"
	check "$FS stable_writes=0: only the traced file" "$((M + M2))" \
		"$(python3 -c "import json;print(sum(1 for m in json.load(open('$TMPD/s0.json'))['stable']['modifications'] if m['path'].endswith('/table')))")"
	hold_release s0
}

scenario_stable() {
	local f wl i pw="" warm
	hold_setup "$FS" s1 1 || { notok "$FS stable_writes=1: hold setup failed"; return; }
	f=$MNT/table
	prepare "$f"
	# Each pwrite writer gets a file of its own: writers of one file queue on its inode
	# lock behind the first, and find the writeback over when their turn comes.
	for i in $(seq 0 $((M - 1))); do
		"$WRITER" -s 8k -n 1 "$MNT/own$i"
		pw="$pw '$MNT/own$i'"
	done
	warm=$MNT/warm
	"$WRITER" -s 8k -n 1 "$warm"
	# While held: a first pwrite writer blocks (state D) before tornwatch has its wake-up
	# hook (sched_wakeup is attached at the first traced wait): an untimed wait. Once the
	# hook is armed (stablepage's wakeup_armed, read from the tracer's own map), M pwrite
	# writers (one per file) and M2 mmap writers (pages of the table) start; each must
	# block until the release, and each wait is timed.
	wl=$(held_workload s1 "$f" "
blocked() {
	for i in \$(seq 1000); do [ \"\$(awk '{print \$3}' /proc/\$1/stat 2>/dev/null)\" = D ] && return 0; sleep 0.01; done
	echo \"writer \$1 did not block\" >&2; exit 1
}
for g in $pw '$warm'; do '$WRITER' -s 8k -n 1 -F \$g; done
for g in $pw '$warm'; do xfs_io -c 'sync_range -w 0 8192' \$g; done
'$WRITER' -s 4k -n 1 -F '$warm' & warm=\$!
blocked \$warm
for i in \$(seq 1000); do [ \"\$('$TOP/tests/twbss.py' \$PPID stablepa.bss wakeup_armed)\" = 1 ] && break; sleep 0.01; done
[ \"\$('$TOP/tests/twbss.py' \$PPID stablepa.bss wakeup_armed)\" = 1 ] || { echo 'sched_wakeup not attached' >&2; exit 1; }
pids=
for g in $pw; do '$WRITER' -s 4k -n 1 -F \$g & pids=\"\$pids \$!\"; done
for i in \$(seq $M $((M + M2 - 1))); do '$WRITER' -m mmap -s 4k -n 1 -o \$((8192 * i)) -F '$f' & pids=\"\$pids \$!\"; done
for p in \$pids; do blocked \$p; done
rm -f '$TMPD/s1.hold'
wait \$warm \$pids
'$WRITER' -s 8k -n 1 -o 0 '$f'")
	"$TW" --unit 8k --json "$TMPD/s1.json" $(tw_record s1) -- bash -c "$wl" >"$TMPD/s1.txt" 2>&1
	check "$FS stable_writes=1: workload exit status (every writer blocked)" 0 $?
	[ -n "${DEBUG:-}" ] && sed -n '/STABLE/,/LOST/p' "$TMPD/s1.txt" >&2
	# The mmap stores dirtied their pages (then waited): new mmap units, whole by the
	# last writer's fsync. The first wait began before the hook: counted, not timed.
	expect "stable_writes=1" "$TMPD/s1.json" stable.modified=0 units.modified=0 \
		modes.mmap.writes=$M2 modes.mmap.units=$M2 units.pending=0 \
		stable.waits_write=$((M + 1)) stable.waits_mmap=$M2 stable.waits=$((M + M2)) \
		stable.waits_untimed=1 devices.0.stable_writes=1
	hold_release s1
}

[ "${ONLY:-}" != stable ] && scenario_unstable
[ "${ONLY:-}" != unstable ] && scenario_stable
check_no_leftover_bpf "stable $FS"
