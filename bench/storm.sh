#!/usr/bin/env bash
# How much memory and CPU does tornwatch need for a storm of page-cache writes, and is its
# memory bounded by --max-units?
#
# For each N in COUNTS (1M, then 10M), build/writer makes N buffered 8 KiB writes at random
# 8 KiB-aligned offsets (a fixed sequence: writer -R) in a FILE_SIZE (4 GiB) file on a
# scratch ext4 over a loop device, under `tornwatch --unit 8k`, in two phases:
#   fsync    fdatasync every SYNC_EVERY (1000) writes, default --max-units: every unit is
#            followed; the target is untracked 0 and lost 0.
#   bounded  no sync at all, --max-units BOUND (100000): the table fills, the units past
#            it are counted untracked; the target is at most BOUND units followed at once,
#            so memory stays near BOUND * (bytes per unit), and lost 0.
# Per phase it prints writes/s, tornwatch's peak RSS (VmHWM, from /usr/bin/time) and its
# RSS once attached, before the first write (the baseline), the peak of its anonymous
# memory (RssAnon, sampled every 0.2 s: the unit table lives there; the ring buffer's
# pages do not), the most units followed at once (-v's "unit table" line), the bytes per
# unit followed ((peak RssAnon - baseline RssAnon) / that peak; "-" below 10000 units, where
# the other state, some MiB of tables and buffers, outweighs the units), tornwatch's CPU time
# (user + sys) and per write, units, untracked and lost. A benchmark, not a test: the
# targets are reported PASS/MISS, the exit status is non-zero only when something broke.
#
# Environment: COUNTS ("1000000 10000000"), PHASES ("fsync bounded"), FILE_SIZE (4g),
# SYNC_EVERY (1000), BOUND (100000), TW_EXTRA (more tornwatch options), RESULTS (a folder
# to keep every run's raw files in).
set -euo pipefail

read -ra COUNTS <<<"${COUNTS:-1000000 10000000}"
read -ra PHASES <<<"${PHASES:-fsync bounded}"
FILE_SIZE=${FILE_SIZE:-4g}
SYNC_EVERY=${SYNC_EVERY:-1000}
BOUND=${BOUND:-100000}

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

BENCH_NAME=storm N_SYNC=0 N_CACHE=0 N_DIRECT=0
# shellcheck source=bench/lib.sh
. bench/lib.sh

TW_PID="" TIME_PID="" WRITER_PID=""
cleanup() {
	local p

	for p in $WRITER_PID $TW_PID; do	# the writer first: its files are on $MNT
		kill "$p" 2>/dev/null || true
	done
	[ -z "$TIME_PID" ] || wait "$TIME_PID" 2>/dev/null || true
	[ -z "$WRITER_PID" ] || wait "$WRITER_PID" 2>/dev/null || true
	scratch_fs_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (tornwatch and a loop device)"
{ [ -x "$TORNWATCH" ] && [ -x "$WRITER" ]; } || die "build first: make"
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time; Debian: apt-get install time)"
file_bytes=$(numfmt --from=iec "${FILE_SIZE^^}")
# The image is sparse: it takes what the file's blocks take, plus ext4's metadata.
avail=$(df --output=avail -B1 "${TMPDIR:-/tmp}" | tail -1)
[ "$avail" -gt $((file_bytes + (2 << 30))) ] ||
	die "${TMPDIR:-/tmp} has $((avail >> 20)) MiB free; needs $(((file_bytes >> 20) + 2048)) MiB (set TMPDIR)"
scratch_fs_setup tw-storm.XXXXXX $((file_bytes + (1 << 30)))
RES=${RESULTS:-$TMP/res}
mkdir -p "$RES"

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null; }

# run_phase NAME N WRITER_OPTS TW_OPTS: one traced storm; prints its line. The writer is
# started first and waits; tornwatch follows it with -p, so that /usr/bin/time counts
# tornwatch alone (a -- COMMAND would be its child, and its CPU time counted in).
run_phase() {
	local name=$1 n=$2 wopts=$3 topts=$4 tag="$1-$2" base_rss base_anon peak_anon=0 a i
	local t0 t1 ut st hwm peak units untracked lost rc=0

	rm -f "$TMP/go"
	# shellcheck disable=SC2086
	"$WRITER" -s 8k -n "$n" -R "$FILE_SIZE" $wopts -w "$TMP/go" "$MNT/storm" >"$RES/$tag.wpid" &
	WRITER_PID=$!
	for i in $(seq 200); do [ -s "$RES/$tag.wpid" ] && break; sleep 0.05; done
	# shellcheck disable=SC2086
	/usr/bin/time -f '%U %S %M' -o "$RES/$tag.time" "$TORNWATCH" -v --unit 8k $topts \
		${TW_EXTRA:-} --json "$RES/$tag.json" -p "$WRITER_PID" >"$RES/$tag.txt" \
		2>"$RES/$tag.err" &
	TIME_PID=$!
	for i in $(seq 600); do
		grep -q "tornwatch: tracing" "$RES/$tag.err" && break
		kill -0 "$TIME_PID" 2>/dev/null || break
		sleep 0.05
	done
	TW_PID=$(pgrep -P "$TIME_PID" -x tornwatch) ||
		die "$tag: tornwatch did not start: $(tail -n 1 "$RES/$tag.err")"
	base_rss=$(kb "$TW_PID" VmRSS)
	base_anon=$(kb "$TW_PID" RssAnon)
	t0=$(date +%s.%N)
	touch "$TMP/go"
	while kill -0 "$TW_PID" 2>/dev/null; do
		a=$(kb "$TW_PID" RssAnon)
		[ -n "$a" ] && [ "$a" -gt "$peak_anon" ] && peak_anon=$a
		# reap the writer once it is done: tornwatch -p ends when its pid is gone
		if [ -n "$WRITER_PID" ] && { ! [ -e "/proc/$WRITER_PID" ] ||
			[ "$(awk '{ print $3 }' "/proc/$WRITER_PID/stat" 2>/dev/null)" == Z ]; }; then
			t1=$(date +%s.%N)
			wait "$WRITER_PID" || die "$tag: the writer failed"
			WRITER_PID=""
		fi
		sleep 0.2
	done
	wait "$TIME_PID" || rc=$?
	TIME_PID=""
	[ "$rc" -eq 0 ] || die "$tag: tornwatch exited $rc: $(grep -v '^libbpf' "$RES/$tag.err" | tail -n 2)"
	[ -z "$WRITER_PID" ] || die "$tag: tornwatch ended before the writer"
	read -r ut st hwm <"$RES/$tag.time"
	peak=$(sed -n 's/.*unit table: at most \([0-9]*\) units.*/\1/p' "$RES/$tag.err")
	read -r units untracked lost < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["units"]["total"], j["units"]["untracked"], j["lost"]["total"])' "$RES/$tag.json")
	printf '%-8s %9d %9.0f %8d %8d %8d %9d %9s %8.1f %6.2f %9d %9d %6d\n' "$name" "$n" \
		"$(echo "$n / ($t1 - $t0)" | bc -l)" "$hwm" "$base_rss" "$peak_anon" "$peak" \
		"$([ "$peak" -ge 10000 ] && echo $(((peak_anon - base_anon) * 1024 / peak)) || echo -)" \
		"$(echo "$ut + $st" | bc -l)" "$(echo "($ut + $st) * 1000000 / $n" | bc -l)" \
		"$units" "$untracked" "$lost"
	echo "$name $n $peak $untracked $lost" >>"$TMP/targets"
	sync -f "$MNT"	# the next phase starts with a clean page cache (untraced)
}

echo "storm: 8 KiB writes at random offsets in a $FILE_SIZE file on ext4 ($LOOP), kernel $(uname -r)"
echo "fsync: fdatasync every $SYNC_EVERY writes, default --max-units; bounded: no sync, --max-units $BOUND"
printf '%-8s %9s %9s %8s %8s %8s %9s %9s %8s %6s %9s %9s %6s\n' phase writes writes/s \
	hwm_kb base_kb anon_kb peak_units B/unit cpu_s cpu_us units untracked lost
: >"$TMP/targets"
for n in "${COUNTS[@]}"; do
	for p in "${PHASES[@]}"; do
		case $p in
		fsync) run_phase fsync "$n" "-y $SYNC_EVERY" "" ;;
		bounded) run_phase bounded "$n" "-F" "--max-units $BOUND" ;;
		*) die "unknown phase $p (fsync, bounded)" ;;
		esac
	done
done

echo "targets:"
while read -r name n peak untracked lost; do
	case $name in
	fsync) t="untracked 0 and lost 0 (default sizes)"
		v=$([ "$untracked" -eq 0 ] && [ "$lost" -eq 0 ] && echo PASS || echo MISS) ;;
	bounded) t="at most $BOUND units followed, the rest untracked ($untracked), lost 0"
		v=$([ "$peak" -le "$BOUND" ] && [ "$untracked" -gt 0 ] && [ "$lost" -eq 0 ] &&
			echo PASS || echo MISS) ;;
	esac
	printf '  %-8s %9d: %s: %s\n' "$name" "$n" "$t" "$v"
done <"$TMP/targets"
