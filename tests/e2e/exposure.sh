#!/usr/bin/env bash
# Torn exposure on a loop device (argument: ext4 or xfs). N 8 KiB units whole but beyond the
# 512-byte power-fail atomic size (synced at the end: all exposed at once until its flush;
# synced each: one at a time), then split (max_sectors_kb 4), then whole within an
# --atomic-size of 8k. The oracle is each unit's own --events=all NDJSON line: its interval
# must be the rule's (from its first issue; until persisted, or the end), and the report's
# units, unit_seconds and max_concurrent, for the run, each file and each mode, must be what
# those intervals give, max_concurrent by brute force. --check --fail-on exposed fails on the
# exposed runs only, and a replay of the record says what the live run said.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FS=${1:?usage: exposure.sh ext4|xfs}
need_root "exposure $FS"
mkfs_loop "$FS" "fs"
DEV=$(stat -c '%Hr:%Lr' "$LOOP")
N=8
if [ "$(cat "$QUEUE/write_cache")" != "write back" ]; then
	echo "# exposure $FS: $LOOP came with write_cache '$(cat "$QUEUE/write_cache")';" \
		"set to 'write back' for this test, restored at exit"
	set_sysfs "$QUEUE/write_cache" "write back"
fi

# intervals NAME JSON NDJSON VERDICT EXPOSED: every unit has VERDICT and is exposed (1) or
# not (0) by the rule, and the report's figures are those of the units' own intervals.
intervals() {
	python3 - "$@" <<'PY'
import json, sys
name, rep, nd, verdict, exposed = sys.argv[1:6]
d = json.load(open(rep))
evs = [json.loads(l) for l in open(nd) if l.startswith("{")]
t0, end = d["t0_ns"], d["end_ns"]
bad = []

def res(what, cond):
    print(("ok" if cond else "not ok") + f" - {name}: {what}")

res(f"one line per unit ({d['units']['total']})", len(evs) == d["units"]["total"] and evs)
for e in evs:
    at = f"{e['path']}@{e['off']}"
    if e["verdict"] != verdict:
        bad.append(f"{at}: verdict {e['verdict']}")
    if bool(e["exposed_from_ns"]) != (exposed == "1"):
        bad.append(f"{at}: exposed_from_ns {e['exposed_from_ns']}")
    if e["exposed_from_ns"] and e["exposed_from_ns"] != e["issue_ns"]:
        bad.append(f"{at}: from {e['exposed_from_ns']} is not its first issue {e['issue_ns']}")
    if not (e["issue_ns"] and e["complete_ns"] and e["issue_ns"] <= e["complete_ns"]):
        bad.append(f"{at}: issue {e['issue_ns']} complete {e['complete_ns']}")
    if e["persisted_ns"] is not None and e["persisted_ns"] < e["complete_ns"]:
        bad.append(f"{at}: persisted before it completed")
    want_until = e["persisted_ns"] if e["exposed_from_ns"] else None
    if e["exposed_until_ns"] != want_until:
        bad.append(f"{at}: until {e['exposed_until_ns']}, persisted {e['persisted_ns']}")
    if not all(t0 <= t <= end for t in (e["write_ns"], e["complete_ns"]) if t is not None):
        bad.append(f"{at}: times outside [t0_ns, end_ns]")
res("each unit's interval follows the rule" + (": " + "; ".join(bad[:4]) if bad else ""),
    not bad)

def figures(sel):
    iv = [(e["exposed_from_ns"], e["exposed_until_ns"] or end) for e in evs
          if e["exposed_from_ns"] and sel(e)]
    most = max((sum(1 for a, b in iv if a <= t < b) for t, _ in iv), default=0)
    return len(iv), sum(b - a for a, b in iv), most

def same(what, x, sel):
    n, ns, most = figures(sel)
    got = (x["units"], round(x["unit_seconds"] * 1e9), x["max_concurrent"])
    per = x["expected_torn_per_cut"] * (end - t0) / 1e9
    ok = got == (n, ns, most) and abs(per - ns / 1e9) < 1e-6
    res(f"{what}: units, unit_seconds, max_concurrent {got} are the lines' {(n, ns, most)}",
        ok)

same("run", d["exposure"], lambda e: True)
for m, ms in d["modes"].items():
    if ms["units"]:
        same(f"mode {m}", ms["exposure"], lambda e: e["mode"] == m)
for f in d["files"]:
    if f["units"]:
        same(f"file {f['path']}", f["exposure"], lambda e: e["path"] == f["path"])
res("exposure.inexact 0", d["exposure"]["inexact"] == 0)
PY
}

# run NAME OUTJSON ARGS...: --events=all with --json; NDJSON and text in $TMPD/NAME.out
run_tw() {
	local name=$1 out=$2
	shift 2
	"$TW" --json "$out" --events=all $(tw_record "$out" "$@") "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
}

# (a) whole, one request each, beyond the 512-byte atomic size: exposed during the request
# and, on the write-back cache, until the fsync's flush.
run_tw a "$TMPD/a.json" --unit 8k --record "$TMPD/a.twr" -- "$WRITER" -s 8k -n $N "$MNT/beyond"
check "exposure $FS whole beyond: tornwatch exit status" 0 $?
expect "whole beyond" "$TMPD/a.json" units.whole=$N units.whole_beyond_device_atomic=$N \
	exposure.units=$N
intervals "exposure $FS whole beyond" "$TMPD/a.json" "$TMPD/a.out" whole 1

# The replay says the same, figures and lines.
"$TW" --replay "$TMPD/a.twr" --json "$TMPD/ar.json" --events=all >"$TMPD/ar.out" 2>&1
check "exposure $FS replay: exit status" 0 $?
python3 - "$TMPD/a.json" "$TMPD/ar.json" "$TMPD/a.out" "$TMPD/ar.out" "exposure $FS" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
la, lb = ([l for l in open(p) if l.startswith("{")] for p in sys.argv[3:5])
keys = ["t0_ns", "end_ns", "exposure"]
diff = [k for k in keys if a[k] != b[k]]
diff += [f"modes.{m}.exposure" for m in a["modes"] if a["modes"][m]["exposure"] != b["modes"][m]["exposure"]]
diff += [f"files[{f['path']}]" for f, g in zip(a["files"], b["files"]) if f["exposure"] != g["exposure"]]
if sorted(la) != sorted(lb):
    diff.append("the --events lines")
print(("not ok" if diff else "ok") + f" - {sys.argv[5]}: the replay has the live run's exposure" +
      (": differs in " + ", ".join(diff) if diff else ""))
PY

# (a2) the same, fdatasync after each write: each unit's exposure ends at its own flush,
# before the next write begins, so never two at once.
run_tw a2 "$TMPD/a2.json" --unit 8k -- "$WRITER" -s 8k -n $N -y 1 "$MNT/synced"
check "exposure $FS whole, synced each: tornwatch exit status" 0 $?
expect "whole, synced each" "$TMPD/a2.json" units.whole=$N exposure.units=$N \
	exposure.max_concurrent=1
intervals "exposure $FS whole, synced each" "$TMPD/a2.json" "$TMPD/a2.out" whole 1

# (b) split in the block layer: exposed from the first request's issue; --fail-on exposed.
set_sysfs "$QUEUE/max_sectors_kb" 4
run_tw b "$TMPD/b.json" --unit 8k --check --fail-on exposed -- "$WRITER" -s 8k -n $N "$MNT/split"
check "exposure $FS split: --check --fail-on exposed exit status" 1 $?
cleanup_sysfs_now
expect "split" "$TMPD/b.json" units.split=$N exposure.units=$N check.failures.exposed=$N
grep -q "check failed: exposed $N: .*/split@0+8192" "$TMPD/b.err" &&
	ok "exposure $FS --check names the exposed units" ||
	notok "exposure $FS --check: $(cat "$TMPD/b.err")"
intervals "exposure $FS split" "$TMPD/b.json" "$TMPD/b.out" split 1

# (c) whole within --atomic-size 8k: a power cut cannot tear them; the check passes.
run_tw c "$TMPD/c.json" --unit 8k --atomic-size "$DEV=8k" --check --fail-on exposed -- \
	"$WRITER" -s 8k -n $N "$MNT/within"
check "exposure $FS within: --check --fail-on exposed exit status" 0 $?
expect "within" "$TMPD/c.json" units.whole=$N units.whole_beyond_device_atomic=0 \
	exposure.units=0 exposure.max_concurrent=0
intervals "exposure $FS within" "$TMPD/c.json" "$TMPD/c.out" whole 0

check_no_leftover_bpf "exposure $FS"
