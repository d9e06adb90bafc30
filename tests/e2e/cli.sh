#!/usr/bin/env bash
# CLI smoke: help, version, refusals with one-line errors, exit paths, no BPF left behind.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

# expect_fail NAME NEEDLE ARGS...: exit 2 and a single error line naming the problem.
expect_fail() {
	local name=$1 needle=$2 rc lines
	shift 2
	"$TW" "$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	check "cli $name: exit status" 2 $rc
	lines=$(wc -l <"$TMPD/err")
	check "cli $name: one error line" 1 "$lines"
	if grep -q -- "$needle" "$TMPD/err"; then
		ok "cli $name: says '$needle'"
	else
		notok "cli $name: message '$(cat "$TMPD/err")' lacks '$needle'"
	fi
}

"$TW" --help >"$TMPD/help"
check "cli --help: exit status" 0 $?
grep -q "^EXAMPLES" "$TMPD/help" && ok "cli --help: has EXAMPLES" || notok "cli --help: no EXAMPLES"
for use in " -p " "--check" "--prom"; do
	sed -n '/^EXAMPLES/,$p' "$TMPD/help" | grep -q -- "$use" && ok "cli --help: an example with $use" ||
		notok "cli --help: no example with $use"
done
"$TW" --version | grep -qE '^tornwatch [0-9]+\.[0-9]+' && ok "cli --version" ||
	notok "cli --version"

expect_fail "--unit 3k" "--unit: 3k is not a power of two" --unit 3k -- true
expect_fail "--unit abc" "--unit: 'abc' is not a size" --unit abc -- true
expect_fail "--unit 2m" "out of range" --unit 2m -- true
expect_fail "--unit 256" "out of range" --unit 256 -- true
expect_fail "no target" "give -p PID or -- COMMAND" --unit 8k
expect_fail "-p abc" "-p/--pid: 'abc' is not a number" -p abc
expect_fail "unknown option" "unknown option '--frobnicate'" --frobnicate
expect_fail "replay of a non-record" "not a tornwatch record" --replay "$TW"
expect_fail "--fail-on bad word" "--fail-on: unknown kind 'splat'" --check --fail-on split,splat -- true
expect_fail "--fail-on empty" "--fail-on: empty list" --check --fail-on "" -- true
expect_fail "--fail-on without --check" "--fail-on goes with --check" --fail-on split -- true
expect_fail "--events=bogus" "--events: 'bogus' is not 'all'" --events=bogus -- true
expect_fail "replay of a missing file" "cannot open" --replay "$TMPD/none"
# --atomic-size: refused before anything is loaded (no root needed to see it)
expect_fail "--atomic-size without SIZE" "--atomic-size: '7:0' is not DEV=SIZE; give e.g." \
	--atomic-size 7:0 -- true
expect_fail "--atomic-size bad DEV" "--atomic-size: 'sda' is neither MAJ:MIN nor a /dev path" \
	--atomic-size sda=16k -- true
expect_fail "--atomic-size of a char device" "--atomic-size: /dev/null is not a block device" \
	--atomic-size /dev/null=16k -- true
expect_fail "--atomic-size 1000" "--atomic-size: 1000 is not a multiple of 512" \
	--atomic-size 7:0=1000 -- true
# a record of the previous format (6): refused, with what to do
python3 -c "
import struct, sys
open(sys.argv[1], 'wb').write(b'TORNWREC' + struct.pack('<IIQQ64s', 6, 96, 8192, 0, b'old'))
" "$TMPD/old.twr"
expect_fail "replay of an old record format" "has record format 6; .* or record again" \
	--replay "$TMPD/old.twr"

need_root "cli (root part)"
expect_fail "no such pid" "no such process" -p 4194303
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TW" -- true 2>"$TMPD/err" >/dev/null
	check "cli not root: exit status" 2 $?
	grep -q "needs root" "$TMPD/err" && ok "cli not root: says needs root" ||
		notok "cli not root: $(cat "$TMPD/err")"
fi

# The command's exit status is tornwatch's.
"$TW" -- sh -c 'exit 3' >/dev/null 2>&1
check "cli -- CMD: exit status of the command" 3 $?
"$TW" -- /nonexistent/cmd >/dev/null 2>"$TMPD/err"
check "cli -- missing command: exit status 127" 127 $?
# --check: the command's failure is its own exit code (3), reported, not hidden.
"$TW" --check -- sh -c 'exit 5' >/dev/null 2>"$TMPD/err"
check "cli --check, command fails: exit status 3" 3 $?
grep -q "the command itself failed with status 5" "$TMPD/err" && ok "cli --check: says the command failed" ||
	notok "cli --check: $(cat "$TMPD/err")"
"$TW" --check -- true >/dev/null 2>&1
check "cli --check, nothing failed: exit status 0" 0 $?

# SIGINT: report printed, exit 0, nothing left attached.
sleep 30 &
sleeper=$!
"$TW" -v -p $sleeper >"$TMPD/int.txt" 2>"$TMPD/int.err" &
twpid=$!
for i in $(seq 200); do grep -q "tornwatch: tracing" "$TMPD/int.err" && break; sleep 0.05; done
kill -INT $twpid
wait $twpid
check "cli SIGINT: exit status" 0 $?
grep -q "^LOST" "$TMPD/int.txt" && ok "cli SIGINT: report printed" || notok "cli SIGINT: no report"
kill $sleeper 2>/dev/null
wait $sleeper 2>/dev/null

# -d: stops by itself with a report.
"$TW" -p $$ -d 1 >"$TMPD/d.txt" 2>&1
check "cli -d 1: exit status" 0 $?
grep -q "^UNITS" "$TMPD/d.txt" && ok "cli -d 1: report printed" || notok "cli -d 1: no report"

check_no_leftover_bpf "cli"
