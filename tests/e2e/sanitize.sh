#!/usr/bin/env bash
# The ASan + UBSan build ('make SAN=1', in build-san/) on what the other suites run without
# it: every unit test, gen_records' record (every verdict) written and replayed, and live runs
# on ext4 (one recorded and replayed, one with every report writer), each report compared with
# the normal build's or with the writer's ground truth. Any sanitizer report (LeakSanitizer
# included) fails. Then the normal build once under valgrind: the unit tests and two replays.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

SANB="$TOP/build-san"
STW="$SANB/tornwatch"
# A report ends the process at once with a status of its own (LSan's leak check at exit uses
# ASan's exitcode); stderr is grepped as well, so a report cannot hide behind an exit status.
# fast_unwind_on_malloc=0: libbpf has no frame pointers, and a leak's stack would stop in it.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=86:fast_unwind_on_malloc=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
SAN_PAT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|Sanitizer:'
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)

# san_run NAME STATUS CMD...: CMD exits STATUS with no sanitizer report on stderr. Its output
# stays in $TMPD/NAME.out and .err; on failure, the report's first lines say what and where.
san_run() {
	local name=$1 want=$2 rc why=
	shift 2
	"$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
	rc=$?
	[ "$rc" -eq "$want" ] || why="exit status $rc, expected $want"
	if grep -Eq "$SAN_PAT" "$TMPD/$name.err"; then
		# the report's first line and its first frames in tornwatch's own code
		why="$why; $(grep -Em1 "$SAN_PAT" "$TMPD/$name.err"; grep -Em2 ' in .*(user|tests)/' \
			"$TMPD/$name.err" || grep -m2 '^    #[1-9] ' "$TMPD/$name.err")"
		why=$(printf '%s' "$why" | tr -s ' \n' ' ')
	elif [ -n "$why" ]; then
		why="$why; $(grep -m2 -e '^not ok' "$TMPD/$name.out" "$TMPD/$name.err" | tr '\n' ' ')"
	fi
	if [ -z "$why" ]; then
		ok "sanitize: $name: no sanitizer report"
	else
		notok "sanitize: $name: ${why#; }"
	fi
}

# jcheck NAME JSON_A JSON_B KEY...: each KEY (a jget path) has one value in both reports.
# jcheck NAME JSON "" KEY=VALUE...: each KEY of the report has VALUE. One python for all keys
# (python starts in a second on a busy machine; jget per key made this suite 3 times slower).
jcheck() {
	python3 - "$@" <<'PY'
import json, sys
name, a, b, *keys = sys.argv[1:]
def get(v, path):
    try:
        for k in path.split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError):
        return "(none)"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)
try:
    A = json.load(open(a))
    B = json.load(open(b)) if b else None
except (OSError, ValueError) as e:
    print(f"not ok - sanitize: {name}: no report to check: {e}")
    sys.exit(0)
for kv in keys:
    k, _, want = kv.partition("=")
    got = get(A, k)
    if B is not None:
        want = get(B, k)
    res = "ok" if got == want else "not ok"
    print(f"{res} - sanitize: {name}: {k}" + ("" if got == want else f": expected {want}, got {got}"))
PY
}

# lap WHAT: what the part just done cost (make test's time is watched: keep it short)
lap() {
	echo "# sanitize: $1: $((SECONDS - LAP)) s"
	LAP=$SECONDS
}
LAP=$SECONDS

# valgrind_run NAME CMD...: memcheck finds no error and no definite leak.
valgrind_run() {
	local name=$1
	shift
	"${VALGRIND[@]}" "$@" >"$TMPD/vg-$name.out" 2>"$TMPD/vg-$name.err"
	check "sanitize: valgrind $name: exit status (99: a memcheck error)" 0 $?
}

if [ ! -x "$STW" ] || [ ! -x "$SANB/gen_records" ]; then
	notok "sanitize: $STW or $SANB/gen_records is missing: run 'make SAN=1'"
	exit 0
fi
# A build without the flags would pass everything below: the sanitizers are linked in.
for rt in __asan_report_load __ubsan_handle_; do
	n=$(nm "$STW" 2>/dev/null | grep -c "$rt")
	if [ "$n" -gt 0 ]; then
		ok "sanitize: build-san/tornwatch calls $rt*"
	else
		notok "sanitize: build-san/tornwatch has no $rt*: not built with the sanitizers"
	fi
done

# (a) every unit test of the pure logic, sanitized
NR_UNIT=$(find "$TOP/tests/unit" -name 'test_*.c' | wc -l)
n=0
for t in "$SANB"/tests/test_*; do
	[ -x "$t" ] && san_run "unit $(basename "$t")" 0 "$t" && n=$((n + 1))
done
check "sanitize: every unit test (tests/unit/test_*.c) ran sanitized" "$NR_UNIT" "$n"

lap "unit tests"

# (b) gen_records' record, written and replayed by the sanitized build: the same report,
# byte for byte, as the normal build's replay of it
san_run "gen_records" 0 "$SANB/gen_records" "$TMPD/all.twr"
san_run "replay of gen_records" 0 "$STW" --replay "$TMPD/all.twr" --json "$TMPD/all-san.json"
"$TW" --replay "$TMPD/all.twr" --json "$TMPD/all.json" >"$TMPD/all.txt"
check "sanitize: gen_records: normal replay exit status" 0 $?
cmp -s "$TMPD/all.json" "$TMPD/all-san.json"
check "sanitize: gen_records: same JSON report as the normal build" 0 $?
cmp -s "$TMPD/all.txt" "$TMPD/replay of gen_records.out"
check "sanitize: gen_records: same text report as the normal build" 0 $?
jcheck "gen_records, both builds' replays" "$TMPD/all-san.json" "$TMPD/all.json" units lost.total

lap "gen_records"

# (c) live on ext4 with the sanitized build, recorded, then replayed by both builds. The
# writer's truth: 8 units of 8 KiB, the first written twice before the fsync (superseded).
need_root "sanitize: live runs"
mkfs_loop ext4 san
san_run "live --record" 0 "$STW" --unit 8k --record "$TMPD/run.twr" --json "$TMPD/live.json" \
	-- "$WRITER" -s 8k -n 8 -r "$MNT/recorded"
jcheck "live" "$TMPD/live.json" "" lost.total=0 writes=9 units.total=9 units.whole=8 \
	units.superseded=1 units.split=0 units.pending=0
san_run "replay of the live record" 0 "$STW" --replay "$TMPD/run.twr" --json "$TMPD/run-san.json"
"$TW" --replay "$TMPD/run.twr" --json "$TMPD/run.json" >/dev/null
check "sanitize: live record: normal replay exit status" 0 $?
cmp -s "$TMPD/run.json" "$TMPD/run-san.json"
check "sanitize: live record: same JSON report from both builds' replays" 0 $?
jcheck "live record, sanitized replay against live" "$TMPD/run-san.json" "$TMPD/live.json" \
	units lost files writes unit_size

lap "live record and replays"

# (d) the writers a replay does not reach: intervals, events, --check, Prometheus. 4 buffered
# 8 KiB writes, then (after one interval) 2 direct 16 KiB ones: 8 units, all whole.
wl="'$WRITER' -s 8k -n 4 '$MNT/buffered' && sleep 1.2 && '$WRITER' -m direct -s 16k -n 2 '$MNT/direct'"
san_run "live, every report writer" 0 "$STW" --unit 8k -i 1 --events=all --check \
	--json "$TMPD/every.json" --prom "$TMPD/every.prom" -- bash -c "$wl"
jcheck "live, every report writer" "$TMPD/every.json" "" lost.total=0 units.total=8 \
	units.whole=8 modes.buffered.units=4 modes.direct.units=4 check.passed=True
check "sanitize: live, every report writer: one event per unit" 8 \
	"$(grep -c '^{' "$TMPD/live, every report writer.out")"
check "sanitize: live, every report writer: whole units in the Prometheus file" 8 \
	"$(awk '/^tornwatch_units_total\{verdict="whole"/ { n += $2 } END { print n + 0 }' \
		"$TMPD/every.prom")"

lap "live, every report writer"

# (e) the normal build under valgrind: what ASan cannot see (uninitialised reads). A live run
# is left out: valgrind 3.19 does not know every bpf() command and flags libbpf's partly
# zeroed bpf_attr (only the used prefix is set), and it takes 10 s.
if ! command -v valgrind >/dev/null; then
	notok "sanitize: no valgrind (Debian: apt-get install valgrind; make deps does)"
else
	n=0
	for t in "$TOP"/build/tests/test_*; do
		[ -x "$t" ] && valgrind_run "$(basename "$t")" "$t" && n=$((n + 1))
	done
	check "sanitize: every unit test ran under valgrind" "$NR_UNIT" "$n"
	valgrind_run "replay of gen_records" "$TW" --replay "$TMPD/all.twr" --json "$TMPD/vg-all.json"
	valgrind_run "replay of the live record" "$TW" --replay "$TMPD/run.twr" \
		--json "$TMPD/vg-run.json"
	cmp -s "$TMPD/all.json" "$TMPD/vg-all.json"
	check "sanitize: valgrind: same JSON report of gen_records" 0 $?
fi

lap valgrind
check_no_leftover_bpf "sanitize"
echo "# sanitize: ${SECONDS} s in all"
