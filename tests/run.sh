#!/usr/bin/env bash
# tornwatch's test runner: unit tests (no root), then CLI smoke and end-to-end tests on
# ext4 and XFS (root), with real peers: PostgreSQL under pgbench, and fio. Every test
# prints "ok - ...", "not ok - ..." or "skip - ..." lines; this script counts them and
# ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0

# count NAME RC OUT: print a suite's output and count its result lines; a crash without
# them is a failure.
count() {
	local name=$1 rc=$2 out=$3
	echo "# $name"
	printf '%s\n' "$out" | sed 's/^/  /'
	local p f s
	p=$(printf '%s\n' "$out" | grep -c '^ok - ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
	s=$(printf '%s\n' "$out" | grep -c '^skip - ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  not ok - $name exited $rc without a failed check"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run() {	# run NAME CMD...: one suite, now
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	count "$name" "$rc" "$out"
}

# The guests (qemu, TCG) take one CPU each for minutes and share nothing with the host's
# suites (their own kernel, loop devices and BPF programs): they run one after the other
# beside the host suites, and their results are counted at the end. PostgreSQL under power
# cuts follows them in that lane: it shares nothing with the host suites either (its own
# crash device, cluster, socket directory and traced processes; huge_pages off), and the
# guests end a few minutes before the host suites do.
BG=$(mktemp -d /tmp/tw-run.XXXXXX)
trap 'rm -rf "$BG"' EXIT
bg_start() {	# bg_start CMD...: run each "NAME|CMD ARGS" in turn, in the background
	(
		local i=0 spec
		for spec in "$@"; do
			i=$((i + 1))
			# shellcheck disable=SC2086
			${spec#*|} >"$BG/$i.out" 2>&1
			echo $? >"$BG/$i.rc"
			echo "${spec%%|*}" >"$BG/$i.name"
		done
	) &
	BG_PID=$!
}
bg_collect() {
	local i
	wait "$BG_PID"
	for i in $(ls "$BG" | sed -n 's/\.name$//p' | sort -n); do
		count "$(cat "$BG/$i.name")" "$(cat "$BG/$i.rc")" "$(cat "$BG/$i.out")"
	done
}

for t in build/tests/test_*; do
	[ -x "$t" ] && run "unit: $(basename "$t")" "$t"
done
run "golden replays" tests/golden/check.sh
run "layout" tests/layout.sh
if [ "${1:-}" != "--unit-only" ]; then
	# The same suites in guests running Debian's 6.1 and 6.12 kernels (qemu), meanwhile.
	# pgcut.sh with 26 cuts per model (20 random, 6 after writes) where 40 is its default
	pgcut="env PGCUT_RANDOM=20 PGCUT_WRITE_CUTS=6 tests/real/pgcut.sh"
	bg_start "vmtest 6.1|tests/vm/vmtest.sh 6.1" "vmtest 6.12|tests/vm/vmtest.sh 6.12" \
		"PostgreSQL power cuts on ext4|$pgcut ext4" "PostgreSQL power cuts on xfs|$pgcut xfs"
	run "fuzz" tests/fuzz/run.sh
	run "cli" tests/e2e/cli.sh
	run "bad input" tests/e2e/badinput.sh
	run "output files" tests/e2e/outfile.sh
	run "install" tests/e2e/install.sh
	run "debian package" tests/e2e/package.sh
	run "prometheus" tests/e2e/prom.sh
	run "alert rules" tests/e2e/alerts.sh
	run "json schema" tests/e2e/schema.sh
	run "sanitizers" tests/e2e/sanitize.sh
	run "bench builds" tests/e2e/benchbuilds.sh
	run "power-cut machinery" tests/crash/selftest.py
	for fs in ext4 xfs; do
		run "core on $fs" tests/e2e/core.sh "$fs"
		run "exits on $fs" tests/e2e/exits.sh "$fs"
		run "device facts on $fs" tests/e2e/devfacts.sh "$fs"
		run "torn exposure on $fs" tests/e2e/exposure.sh "$fs"
		run "stable pages on $fs" tests/e2e/stable.sh "$fs"
		run "throttled writeback on $fs" tests/e2e/throttle.sh "$fs"
		run "write modes on $fs" tests/e2e/modes.sh "$fs"
		run "mmap stores on $fs" tests/e2e/mmap.sh "$fs"
		run "buffer memory kinds on $fs" tests/e2e/memkinds.sh "$fs"
		run "io_uring on $fs" tests/e2e/uring.sh "$fs"
		run "records per write on $fs" tests/e2e/cost.sh "$fs"
		run "static binary on $fs" tests/e2e/static.sh "$fs"
		run "limits on $fs" tests/e2e/limits.sh "$fs"
		run "power cuts on $fs" tests/e2e/powercut.sh "$fs"
		run "PostgreSQL on $fs" tests/real/postgres.sh "$fs"
		run "fio on $fs" tests/real/fio.sh "$fs"
		run "stress on $fs" tests/real/stress.sh "$fs"
	done
	bg_collect
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
