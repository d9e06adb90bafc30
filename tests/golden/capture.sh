#!/usr/bin/env bash
# Capture the golden replays' inputs (root): run end-to-end suites on ext4 and XFS with
# TW_RECORD_DIR set, so that each of their tornwatch runs also records (tests/lib.sh
# tw_record), keep the records of the suites that passed whole, add gen_records' synthetic
# record (every verdict, atomic limits, stable waits), and write the expected reports
# (check.sh --update). Run it only to change the inputs; say why in the commit.
#
#   sudo tests/golden/capture.sh [SUITE...]   (default: the suites below)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
DIR=tests/golden
SUITES=${*:-core modes mmap stable throttle uring exposure devfacts limits}
[ "$(id -u)" -eq 0 ] || { echo "capture.sh: needs root (it runs the e2e suites)" >&2; exit 2; }
make -s all build/gen_records build/fusehold || exit 2
tmp=$(mktemp -d /tmp/tw-capture.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$DIR/records"
for suite in $SUITES; do
	for fs in ext4 xfs; do
		rm -rf "$tmp/rec" && mkdir "$tmp/rec"
		TW_RECORD_DIR=$tmp/rec "tests/e2e/$suite.sh" "$fs" >"$tmp/out" 2>&1
		rc=$?
		if [ $rc -ne 0 ] || grep -q '^not ok' "$tmp/out" || ! grep -q '^ok' "$tmp/out"; then
			echo "capture.sh: $suite on $fs did not pass (exit $rc); its records are not kept:" >&2
			grep '^not ok' "$tmp/out" | head -n 5 >&2
			continue
		fi
		rm -f "$DIR/records/$suite-$fs-"*.twr
		cp "$tmp"/rec/*.twr "$DIR/records/" 2>/dev/null
		echo "# $suite on $fs: $(ls "$tmp/rec" | wc -l) records, $(du -sh "$tmp/rec" | cut -f1)"
	done
done
build/gen_records "$DIR/records/synthetic.twr" || exit 2
"$DIR/check.sh" --update
