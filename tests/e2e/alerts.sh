#!/usr/bin/env bash
# The alert rules (docs/tornwatch.rules.yml): promtool checks them, runs their unit tests
# (tests/alerts/tornwatch.rules.test.yml: each alert fires on a synthetic series and stays
# silent on a clean one), and every tornwatch_* metric their expressions name must be one
# tornwatch writes: a replay of a golden record into --prom has each (no root needed).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

RULES=$TOP/docs/tornwatch.rules.yml
if ! command -v promtool >/dev/null; then
	notok "alerts: promtool missing (make deps installs prometheus)"
	exit 0
fi
promtool check rules "$RULES" >"$TMPD/check.txt" 2>&1
rc=$?
check "alerts: promtool check rules" 0 $rc
[ $rc -eq 0 ] || sed 's/^/# /' "$TMPD/check.txt"
(cd "$TOP/tests/alerts" && promtool test rules tornwatch.rules.test.yml) >"$TMPD/test.txt" 2>&1
rc=$?
check "alerts: promtool test rules (every alert fires and stays silent where it should)" 0 $rc
[ $rc -eq 0 ] || sed 's/^/# /' "$TMPD/test.txt"
n=$(grep -c "^      - alert: " "$RULES")
check "alerts: the rules hold the four alerts" 4 "$n"
check "alerts: each alert has a test" "$n" \
	"$(grep -oE 'alertname: [A-Za-z]+' "$TOP/tests/alerts/tornwatch.rules.test.yml" | sort -u | wc -l)"

"$TW" --replay "$TOP/tests/golden/records/synthetic.twr" --prom "$TMPD/replay.prom" \
	>/dev/null 2>&1
for m in $(grep -E '^ +expr: ' "$RULES" | grep -oE 'tornwatch_[a-z_]+' | sort -u); do
	check "alerts: tornwatch writes the metric $m" 1 \
		"$(grep -c "^# TYPE $m " "$TMPD/replay.prom")"
done
