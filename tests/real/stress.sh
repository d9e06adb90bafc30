#!/usr/bin/env bash
# The fio job that once came out `split` on a fresh clone (issue #12), 20 times in a row under
# tornwatch on one filesystem (argument: ext4 or xfs): io_uring, bs=8k, direct, fsync after
# each write, iodepth 8, 4 MiB. The truth is fio's own JSON report (jobs[0].write.total_ios).
#
# Every run asserts, as one line: tornwatch's writes and units equal fio's count, all whole,
# none split or pending, nothing lost, and every completion it had to infer (a completion no
# BPF program saw: see README, join.completions_inferred) decided exactly one unit, counted in
# join.units_inferred. How many were inferred is the machine's business (it depends on where
# the completion softirqs ran), so it is printed, not asserted; that an inference never makes
# a unit split is.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: stress.sh ext4|xfs}
RUNS=${RUNS:-20}
need_root "stress $FS"
if ! command -v fio >/dev/null; then
	skip "stress $FS: fio is not installed (apt-get install fio)"
	exit 0
fi
if [ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 2 ]; then
	skip "stress $FS: kernel.io_uring_disabled is 2"
	exit 0
fi
mkfs_loop "$FS" fs

# fio writes its JSON into a FIFO read outside the traced tree (as in fio.sh): a write to a
# regular file would be a traced write of its own.
FIFO="$TMPD/fio.fifo"
mkfifo "$FIFO"

# summary TWJSON FIOOUT: "writes=.. units=.. whole=.. split=.. pending=.. lost=..
# inferred_units=..", the last one the units decided by an inferred completion minus the
# completions inferred (0: each inference decided one unit, as one bio carries one unit here),
# then fio's write count on a line of its own.
summary() {
	python3 - "$1" "$2" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
u, j = t["units"], t["join"]
print(f"writes={t['writes']} units={u['total']} whole={u['whole']} split={u['split']} "
      f"pending={u['pending']} lost={t['lost']['total']} "
      f"inferred_units={j['units_inferred'] - j['completions_inferred']}")
print(j["completions_inferred"])
s = open(sys.argv[2]).read()
if "{" in s:
    job = json.JSONDecoder().raw_decode(s[s.index("{"):])[0]["jobs"][0]
    print(job["write"]["total_ios"] if job["error"] == 0 else f"error{job['error']}")
else:
    print("none")
PY
}

inferred_total=0
for i in $(seq "$RUNS"); do
	json="$TMPD/run$i.json" out="$TMPD/run$i.fio"
	rm -f "$MNT/stress"
	cat "$FIFO" >"$out" &
	reader=$!
	tw "$json" --unit 8k -- fio --name=stress --filename="$MNT/stress" --rw=write --bs=8k \
		--size=4096k --ioengine=io_uring --direct=1 --fsync=1 --iodepth=8 \
		--output-format=json --output="$FIFO"
	rc=$?
	exec {fd}<>"$FIFO"	# a reader still waiting (fio never opened the FIFO) sees EOF
	exec {fd}>&-
	wait "$reader"
	if [ $rc -ne 0 ] || [ ! -s "$json" ]; then
		notok "$FS stress run $i: tornwatch/fio exit status $rc: $(head -c 300 "$TMPD/last.err")"
		continue
	fi
	mapfile -t S < <(summary "$json" "$out")
	ios=${S[2]:-none}
	check "$FS stress run $i (fio: $ios writes; completions inferred: ${S[1]:-?})" \
		"writes=$ios units=$ios whole=$ios split=0 pending=0 lost=0 inferred_units=0" \
		"${S[0]:-no report}"
	[[ ${S[1]:-} =~ ^[0-9]+$ ]] && inferred_total=$((inferred_total + S[1]))
done
echo "# $FS: $RUNS runs, $inferred_total completions inferred in all"
check_no_leftover_bpf "stress $FS"
