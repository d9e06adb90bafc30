#!/usr/bin/env bash
# Run each libFuzzer target (build/fuzz/fuzz_*) for a fixed number of runs from a fixed
# seed, from its seed corpus in tests/fuzz/corpus/NAME (read-only: new inputs go to a
# temporary directory). A crash, a sanitizer report, a hang (-timeout) or a memory blow-up
# (-rss_limit_mb) is a failure, with the input saved and named. The run count and seed are
# fixed, so a run is the same every time; FUZZ_RUNS=N or FUZZ_SEED=N explore further.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/tw-fuzz.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SEED=${FUZZ_SEED:-1}
rc=0

# fuzz NAME RUNS MAX_LEN
fuzz() {
	local name=$1 runs=${FUZZ_RUNS:-$2} max_len=$3 bin="$TOP/build/fuzz/fuzz_$1"
	local keep="${TW_FUZZ_ARTIFACTS:-$TOP/build/fuzz}/"

	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz $name: $bin is missing: make fuzz-build"
		rc=1
		return
	fi
	mkdir -p "$TMP/$name"
	# -close_fd_mask=1: the option parser prints --help and --version on stdout
	"$bin" -runs="$runs" -seed="$SEED" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=1024 \
		-max_len="$max_len" -close_fd_mask=1 -print_final_stats=1 \
		-artifact_prefix="$keep$name-" "$TMP/$name" "$TOP/tests/fuzz/corpus/$name" \
		>"$TMP/$name.log" 2>&1
	local st=$? execs
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/$name.log")
	if [ $st -eq 0 ] && ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$TMP/$name.log"; then
		echo "ok - fuzz $name: $execs inputs (seed $SEED), no crash, hang, leak or blow-up"
	else
		echo "not ok - fuzz $name: exit $st; input kept as $(grep -o "Test unit written to .*" "$TMP/$name.log" | head -1 | cut -d' ' -f5-)"
		grep -E "ERROR|runtime error|SUMMARY|#[0-9]+ 0x.* in " "$TMP/$name.log" | head -20 | sed 's/^/#   /'
		rc=1
	fi
}

fuzz replay "${FUZZ_REPLAY_RUNS:-20000}" 32768
fuzz opts "${FUZZ_OPTS_RUNS:-200000}" 1024
exit $rc
