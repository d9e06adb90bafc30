#!/usr/bin/env bash
# CLI smoke: help, version, exit paths, no BPF left behind. Refusals: tests/e2e/badinput.sh.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

"$TW" --help >"$TMPD/help"
check "cli --help: exit status" 0 $?
grep -q "^EXAMPLES" "$TMPD/help" && ok "cli --help: has EXAMPLES" || notok "cli --help: no EXAMPLES"
for use in " -p " "--check" "--prom"; do
	sed -n '/^EXAMPLES/,$p' "$TMPD/help" | grep -q -- "$use" && ok "cli --help: an example with $use" ||
		notok "cli --help: no example with $use"
done
"$TW" --version | grep -qE '^tornwatch [0-9]+\.[0-9]+' && ok "cli --version" ||
	notok "cli --version"

need_root "cli (root part)"
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
await_tracing "cli SIGINT" "$TMPD/int.err" $twpid
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
