#!/usr/bin/env bash
# The golden replays: every record in tests/golden/records/ (captured from the end-to-end
# suites on ext4 and XFS by capture.sh, and gen_records' synthetic one) replayed into each
# report tornwatch writes (text, --check lines and exit status, JSON, Prometheus, NDJSON
# events), compared byte for byte with tests/golden/expected/NAME.golden; and a few into
# --json-version 1, compared with tests/golden/schema1/. Needs no root.
#
#   check.sh            compare; a line per record
#   check.sh --update   rewrite the expected files (a deliberate change: say why in the commit)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TW=${TW:-./tornwatch}
DIR=tests/golden
FAIL_ON=split,modified,misaligned,refused,pending,lost,untracked,inferred,exposed
update=0
[ "${1:-}" = --update ] && update=1
tmp=$(mktemp -d /tmp/tw-golden.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# golden REC: every report of one replay, in sections.
golden() {
	local rec=$1 rc
	"$TW" --replay "$rec" --check --fail-on "$FAIL_ON" >"$tmp/text" 2>"$tmp/check"
	rc=$?
	"$TW" --replay "$rec" --json "$tmp/json" --events=all --prom "$tmp/prom" >"$tmp/events" \
		2>"$tmp/err" || { echo "replay with --json failed: $(head -n 1 "$tmp/err")"; return 1; }
	echo "== text"
	cat "$tmp/text"
	echo "== check (exit $rc)"
	cat "$tmp/check"
	echo "== json"
	cat "$tmp/json"
	echo "== prom"
	cat "$tmp/prom"
	echo "== events"
	cat "$tmp/events"
}

n=0
for rec in "$DIR"/records/*.twr; do
	[ -e "$rec" ] || { echo "not ok - golden replays: no record in $DIR/records"; exit 0; }
	name=$(basename "$rec" .twr)
	exp=$DIR/expected/$name.golden
	n=$((n + 1))
	if ! golden "$rec" >"$tmp/got"; then
		echo "not ok - golden $name: $(tail -n 1 "$tmp/got")"
	elif [ $update = 1 ]; then
		mkdir -p "$DIR/expected" && cp "$tmp/got" "$exp" && echo "# golden $name: written"
	elif [ ! -e "$exp" ]; then
		echo "not ok - golden $name: no $exp (check.sh --update writes it)"
	elif cmp -s "$exp" "$tmp/got"; then
		echo "ok - golden $name: identical"
	else
		echo "not ok - golden $name: differs from $exp:"
		diff -u "$exp" "$tmp/got" | head -n 20 | sed 's/^/#   /'
	fi
done
for exp in "$DIR"/expected/*.golden; do	# an expected file whose record is gone
	[ -e "$exp" ] && [ ! -e "$DIR/records/$(basename "$exp" .golden).twr" ] &&
		echo "not ok - golden $(basename "$exp"): no record $DIR/records/$(basename "$exp" .golden).twr"
done
# --json-version 1: schema 1 as the last release wrote it (schema1/NAME.json and .events,
# kept from before schema 2), byte for byte, for a few records that hold every schema-1
# difference (mode keys, units.refused, stable.devices[], cow-atomic events).
for exp in "$DIR"/schema1/*.json; do
	name=$(basename "$exp" .json)
	"$TW" --replay "$DIR/records/$name.twr" --json-version 1 --json "$tmp/v1.json" \
		--events=all >"$tmp/v1.events" 2>"$tmp/err"
	if cmp -s "$exp" "$tmp/v1.json" && cmp -s "$DIR/schema1/$name.events" "$tmp/v1.events"; then
		echo "ok - golden $name --json-version 1: schema 1 as before"
	else
		echo "not ok - golden $name --json-version 1: differs from schema1/$name:"
		diff -u "$exp" "$tmp/v1.json" | head -n 20 | sed 's/^/#   /'
	fi
done
echo "# golden: $n records"
