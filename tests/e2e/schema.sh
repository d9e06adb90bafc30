#!/usr/bin/env bash
# The JSON report against its schema (docs/tornwatch.schema.json), checked by a real
# validator (Debian's python3-jsonschema, draft 2020-12): an empty live run, a --check run,
# a live run on ext4 with whole, split, superseded, pending units, misaligned writes and
# three modes, a replayed record that holds every verdict (tests/gen_records.c: atomic and
# modified need hardware or a held writeback), and a corrupted report the schema must reject;
# then --json-version 1 against the schema-1 file (docs/tornwatch.schema.v1.json), and each
# version refused by the other's schema.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "schema"
SCHEMA="$TOP/docs/tornwatch.schema.json"
SCHEMA1="$TOP/docs/tornwatch.schema.v1.json"
GEN="$TOP/build/gen_records"

# Debian's python3-jsonschema is on /usr/bin/python3's path; a python3 earlier in PATH
# (pyenv, a venv) may have another jsonschema, or none.
PY=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import jsonschema' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	skip "schema: no jsonschema module for python3 (Debian: apt-get install python3-jsonschema)"
	exit 0
fi

# jsonschema_run JSON [PYTHON [SCHEMA]]: validate JSON against the schema (default: schema
# 2's), after applying PYTHON to the report `d` (a corruption). Invalid: prints the
# validator's first (best) error and exits 3; any other failure (no JSON, a broken
# corruption) is another status.
jsonschema_run() {
	"$PY" - "${3:-$SCHEMA}" "$1" "${2:-}" <<'PY'
import json, sys
import jsonschema
from jsonschema import Draft202012Validator as V

schema = json.load(open(sys.argv[1]))
V.check_schema(schema)			# the schema itself is valid 2020-12
try:
    d = json.load(open(sys.argv[2]))
except ValueError as e:
    print(f"not JSON: {e}")
    sys.exit(1)
exec(sys.argv[3])			# a corruption, for the negative check
# No "format" keyword in the schema: format checking (off by default) changes nothing.
err = jsonschema.exceptions.best_match(V(schema).iter_errors(d))
if err is not None:
    at = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    msg = err.message if len(err.message) < 200 else err.message[:200] + "..."
    print(f"at {at}: {msg}")
    sys.exit(3)
PY
}

# validate NAME JSON [SCHEMA]: one result line; on failure, the validator's first error.
validate() {
	local msg
	if msg=$(jsonschema_run "$2" "" "${3:-}" 2>&1); then
		ok "schema: $1"
	else
		notok "schema: $1: ${msg//$'\n'/ }"
	fi
}

# (a) an empty run: no write at all, every array empty
tw "$TMPD/empty.json" -- true
check "schema: empty run: tornwatch exit status" 0 $?
check "schema: empty run: lost.total" 0 "$(jget "$TMPD/empty.json" lost.total)"
validate "empty live run (-- true)" "$TMPD/empty.json"
# the same with --check, whose object is written only then; the command fails: exit 3
tw "$TMPD/check.json" --check -- false
check "schema: --check run: tornwatch exit status" 3 $?
check "schema: --check run: check.command_status" 1 \
	"$(jget "$TMPD/check.json" check.command_status)"
validate "--check run (-- false)" "$TMPD/check.json"

# (b) a live run on ext4: whole, split in the block layer (max_sectors_kb 4 for one file;
# the workload sets it and puts it back, and the exit trap does if it cannot), superseded
# (-r), pending (-F), misaligned writes; buffered, O_DSYNC and O_DIRECT writes.
mkfs_loop ext4 fs
MSK="$QUEUE/max_sectors_kb"
msk=$(cat "$MSK")
RESTORE+=("$MSK $msk")	# as set_sysfs does: put back at exit
wl="set -e
'$WRITER' -s 8k -n 8 '$MNT/whole'
echo 4 > '$MSK'
'$WRITER' -s 8k -n 4 '$MNT/split'
echo $msk > '$MSK'
'$WRITER' -s 8k -n 4 -r '$MNT/superseded'
'$WRITER' -s 12k -o 4k -g 16k -n 4 '$MNT/misaligned'
'$WRITER' -m dsync -s 8k -n 4 '$MNT/dsync'
'$WRITER' -m direct -s 16k -n 4 '$MNT/direct'
'$WRITER' -s 8k -n 4 -F '$MNT/pending'
'$WRITER' -s 8k -n 1 \"$MNT/not-utf8-\$(printf '\\377')\""
tw "$TMPD/live.json" --unit 8k -- bash -c "$wl"
check "schema: ext4 run: workload exit status" 0 $?
check "schema: ext4 run: lost.total" 0 "$(jget "$TMPD/live.json" lost.total)"
validate "live ext4 run (whole, split, superseded, pending, misaligned; 3 modes)" \
	"$TMPD/live.json"
# What the workload was told to do is in the report, so the validation saw those shapes.
"$PY" - "$TMPD/live.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u, m = d["units"], d["modes"]
want = {"units." + k: u[k] for k in ("whole", "split", "superseded", "pending", "misaligned")}
want.update({f"modes.{k}.units": m[k]["units"] for k in ("buffered", "buffered_dsync", "direct")})
want["files"] = len(d["files"])
want["modes.direct.hist.end_to_end"] = len(m["direct"]["hist"]["end_to_end"])
zero = [k for k, v in want.items() if not v]
print(("not ok" if zero else "ok") + " - schema: ext4 run has every case it was given" +
      (": none in " + ", ".join(zero) if zero else ""))
PY

# (c) every verdict, through the replay path: synthetic records (REQ_ATOMIC on a device
# with atomic limits, a page rewritten under writeback, ...), then --replay.
if [ ! -x "$GEN" ]; then
	notok "schema: $GEN is missing: make build/gen_records"
else
	"$GEN" "$TMPD/all.twr"
	check "schema: gen_records exit status" 0 $?
	"$TW" --replay "$TMPD/all.twr" --json "$TMPD/all.json" >"$TMPD/all.txt"
	check "schema: replay exit status" 0 $?
	validate "replayed record with every verdict" "$TMPD/all.json"
	"$PY" - "$TMPD/all.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))["units"]
verdicts = ("whole", "atomic", "split", "cow_atomic", "superseded", "modified", "discarded",
            "pending")
zero = [v for v in verdicts if not u[v] > 0]
print(("not ok" if zero else "ok") + " - schema: replay: every verdict under units is > 0" +
      (": 0 for " + ", ".join(zero) if zero else ""))
x = json.load(open(sys.argv[1]))["exposure"]
print(("ok" if x["units"] > 0 and x["max_concurrent"] > 0 else "not ok") +
      f" - schema: replay: exposed units and their maximum are > 0 ({x['units']}, {x['max_concurrent']})")
PY
fi

# (d) the validator can fail: report (b), corrupted in ways the schema forbids.
bad=
for c in 'd["units"]["whole"] = str(d["units"]["whole"])' \
	'd["units"]["torn"] = 0' \
	'del d["lost"]["total"]' \
	'd["modes"]["readonly"] = d["modes"]["direct"]' \
	'd["modes"]["buffered"]["hist"]["device"].append({"lo": 3, "hi": 8, "count": 1})' \
	'del d["exposure"]["max_concurrent"]' \
	'd["modes"]["direct"]["exposure"]["units"] = -1' \
	'd["t0_ns"] = "0"' \
	'd["units"]["refused"] = 0' \
	'd["stable"]["devices"] = []' \
	'd["modes"]["buffered-dsync"] = d["modes"].pop("buffered_dsync")' \
	'd["modes"]["direct"]["hist"]["end_to_end"][0]["hi"] = 1099511627776'; do
	jsonschema_run "$TMPD/live.json" "$c" >/dev/null 2>&1
	[ $? -eq 3 ] || bad="$bad [$c]"
done
if [ -z "$bad" ]; then
	ok "schema rejects a corrupted report"
else
	notok "schema rejects a corrupted report: not rejected:$bad"
fi

# (e) --json-version 1: the keys of schema 1, valid against its own file and not against
# schema 2's; schema 2's report not valid against schema 1's.
if [ -s "$TMPD/all.twr" ]; then
	"$TW" --replay "$TMPD/all.twr" --json-version 1 --json "$TMPD/all1.json" >/dev/null
	check "schema: --json-version 1: replay exit status" 0 $?
	check "schema: --json-version 1 writes schema 1" 1 "$(jget "$TMPD/all1.json" schema)"
	validate "--json-version 1 against docs/tornwatch.schema.v1.json" "$TMPD/all1.json" \
		"$SCHEMA1"
	jsonschema_run "$TMPD/all1.json" "" "$SCHEMA" >/dev/null 2>&1
	check "schema: a schema-1 report is refused by schema 2's file" 3 $?
	jsonschema_run "$TMPD/all.json" "" "$SCHEMA1" >/dev/null 2>&1
	check "schema: a schema-2 report is refused by schema 1's file" 3 $?
fi

check_no_leftover_bpf "schema"
