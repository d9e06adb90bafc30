#!/usr/bin/env bash
# Prometheus for a fleet: tornwatch --prom writes node_exporter's textfile format; Debian's
# real prometheus-node-exporter, on loopback, serves it; the scrape must show the exact
# values of a known workload. promtool validates the file.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

need_root "prom"
for cmd in prometheus-node-exporter promtool; do
	if ! command -v $cmd >/dev/null; then
		notok "prom: $cmd missing (make deps installs prometheus-node-exporter and prometheus)"
		exit 0
	fi
done
mkfs_loop ext4 fs
DEV=$(stat -c '%Hd:%Ld' "$MNT")
mkdir -p "$TMPD/textfile"
PORT=$((20000 + $$ % 20000))
prometheus-node-exporter --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$TMPD/textfile" \
	>"$TMPD/exporter.log" 2>&1 &
KILLS+=($!)

# scrape: the exporter's /metrics, over loopback only
scrape() {
	python3 - "$PORT" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
PY
}
until_true scrape >/dev/null 2>&1

N=24
set_sysfs "$QUEUE/max_sectors_kb" 4
t0=$(date +%s%N)
"$TW" --unit 8k --prom "$TMPD/textfile/tornwatch.prom" --record "$TMPD/run.twr" -- sh -c "
'$WRITER' -s 8k -n $N '$MNT/split'
echo 1280 > '$QUEUE/max_sectors_kb'
'$WRITER' -m direct -s 8k -n 8 '$MNT/direct'" >/dev/null 2>&1
check "prom: tornwatch exit status" 0 $?
t1=$(date +%s%N)
promtool check metrics <"$TMPD/textfile/tornwatch.prom" >"$TMPD/promtool.txt" 2>&1
check "prom: promtool check metrics finds nothing" "0 " "$? $(cat "$TMPD/promtool.txt")"

scrape >"$TMPD/metrics.txt" 2>&1
value() {	# value METRIC{labels}: its value in the scrape
	awk -v m="$1" '$1 == m { print $2 }' "$TMPD/metrics.txt"
}
check "prom: scrape: split buffered units" $N \
	"$(value "tornwatch_units_total{device=\"$DEV\",mode=\"buffered\",verdict=\"split\"}")"
check "prom: scrape: whole direct units" 8 \
	"$(value "tornwatch_units_total{device=\"$DEV\",mode=\"direct\",verdict=\"whole\"}")"
check "prom: scrape: buffered writes" $N "$(value 'tornwatch_writes_total{mode="buffered"}')"
check "prom: scrape: lost events" 0 "$(value tornwatch_lost_events_total)"
check "prom: scrape: end-to-end histogram count" 8 \
	"$(value 'tornwatch_write_latency_seconds_count{mode="direct",stage="end_to_end"}')"
check "prom: scrape: the +Inf bucket holds them all" 8 \
	"$(value 'tornwatch_write_latency_seconds_bucket{mode="direct",stage="end_to_end",le="+Inf"}')"
check "prom: scrape: whole units beyond the device's power-fail atomic size (the direct ones)" 8 \
	"$(value "tornwatch_units_whole_beyond_device_atomic_total{device=\"$DEV\"}")"
check "prom: scrape: power-fail atomic size (physical block, from sysfs)" \
	"$(cat "$QUEUE/physical_block_size")" \
	"$(value "tornwatch_device_power_fail_atomic_size_bytes{device=\"$DEV\"}")"
# a label value with a space ("write back"): the whole line, not awk's first field
info="tornwatch_device_info{atomic_size_source=\"physical-block\",device=\"$DEV\",fua=\"$(cat "$QUEUE/fua")\",write_cache=\"$(cat "$QUEUE/write_cache")\"} 1"
check "prom: scrape: device info (sysfs's write cache and fua)" 1 \
	"$(grep -cxF "$info" "$TMPD/metrics.txt")"
check "prom: scrape: no textfile error" 0 "$(value node_textfile_scrape_error)"
# The file's own timestamp (the alert on a stopped tornwatch reads it): written within the run,
# wall clock; a replay's is the recorded run's end: its header's start plus its records' span,
# as this reader of the format computes it.
python3 - "$t0" "$t1" "$(value tornwatch_report_timestamp_seconds)" <<'PY'
import sys
t0, t1, v = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ok = v and t0 // 10**6 <= round(float(v) * 1000) <= t1 // 10**6
print(("ok" if ok else "not ok") + f" - prom: the report's timestamp {v} lies within the run [{t0}, {t1}] ns")
PY
"$TW" --replay "$TMPD/run.twr" --prom "$TMPD/replay.prom" >/dev/null 2>&1
python3 - "$TMPD/run.twr" "$TMPD/replay.prom" <<'PY'
import re, struct, sys
b = open(sys.argv[1], "rb").read()
start = struct.unpack_from("<Q", b, 24)[0]
hdr = struct.unpack_from("<I", b, 12)[0]
ts, at = [], hdr
while at + 24 <= len(b):
    t, _, size = struct.unpack_from("<QII", b, at)
    if t:
        ts.append(t)
    at += size
ns = start + (max(ts) - min(ts))
want = f"{ns // 10**9}.{ns // 10**6 % 1000:03d}"
got = re.search(r"^tornwatch_report_timestamp_seconds (\S+)$", open(sys.argv[2]).read(), re.M)
got = got.group(1) if got else None
print(("ok" if got == want else "not ok") + f" - prom: a replay's timestamp is the recorded run's end: {want} (got {got})")
PY
check_no_leftover_bpf "prom"
