#!/usr/bin/env bash
# Does tornwatch's cost grow with scale? (issue #17: "cost that does not grow with scale")
#
# The fdatasync storm of bench/compare.sh (buffered pwrite, fdatasync every 64 writes),
# at random SIZE-aligned offsets in a sparse file (writer -R: the same sequence every run),
# on a scratch ext4 on a loop device, under `tornwatch -v --unit 8k`, in rows that each
# change one thing from the base row (1 thread, 8 KiB writes, a 16 MiB file):
#   threads-2, threads-4  writer -T: 2 or 4 threads share one file, write i by thread
#                         i % T; fdatasync every 64 writes counted over all threads (so
#                         one thread issues them all)
#   write-64k             64 KiB writes (8 units each), N/8 of them: the base's bytes and units
#   file-4g               a 4 GiB file (sparse: only the written blocks take room)
# A first untraced run per row allocates the blocks; then ROUNDS runs under tornwatch, all
# with kernel.bpf_stats_enabled=1. Per row (medians of the rounds): writes/s; BPF time per
# program run, per write and per unit (tornwatch's programs between snapshots taken while
# attached, as in compare's profile round); tornwatch's own CPU (its process, user + sys)
# per write and per unit; memory: the BPF maps' bytes (preallocated at load: the same
# whatever the load) and what a file and a bio in flight take in them (the files and bios
# maps' bytes / their max_entries), and, since units live in user space, tornwatch's
# anonymous memory growth (peak RssAnon, sampled every 50 ms, minus RssAnon once
# attached) per unit followed at once (-v's peak). Each row is judged against the base,
# by the ratio of the medians: "flat within noise" when every per-event and per-unit ratio
# is within the noise (the larger of 20% and the spread of either row's rounds), else
# "NOT flat, GROWS" or "not flat but does not grow", naming the figures (bytes per unit at
# once only with 10000 units at once or more). kernel.bpf_stats_enabled is global: a round during which another program turned
# it off is void for BPF (warned, left out). A benchmark, not a test: the exit status is
# non-zero only when something broke.
# With the defaults (N=20000, ROUNDS=3) it took 44 to 63 s on a 2-CPU machine.
#
# Environment: N (20000 writes per run), ROUNDS (3), ROWS ("base threads-2 threads-4
# write-64k file-4g"; base is always run, first), TW_EXTRA (more tornwatch options),
# RESULTS (a folder to keep every run's raw files in).
set -euo pipefail

N=${N:-20000}
ROUNDS=${ROUNDS:-3}
read -ra ROWS <<<"${ROWS:-base threads-2 threads-4 write-64k file-4g}"

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

BENCH_NAME=scale N_SYNC=0 N_CACHE=0 N_DIRECT=0
# shellcheck source=bench/lib.sh
. bench/lib.sh

# Per row: writer options (on top of -y 64), writes per run, units (8 KiB) per write.
declare -A ROW_ARGS=(
	[base]="-s 8k -R 16m" [threads-2]="-s 8k -R 16m -T 2" [threads-4]="-s 8k -R 16m -T 4"
	[write-64k]="-s 64k -R 16m" [file-4g]="-s 8k -R 4g"
)
declare -A ROW_N=(
	[base]=$N [threads-2]=$N [threads-4]=$N [write-64k]=$((N / 8)) [file-4g]=$N
)
# shellcheck disable=SC2034 # read by run_report, by name
declare -A ROW_UNITS=([base]=1 [threads-2]=1 [threads-4]=1 [write-64k]=8 [file-4g]=1)
declare -A ROW_DESC=(
	[base]="1 thread, 8 KiB writes, 16 MiB file"
	[threads-2]="2 threads, 8 KiB writes, 16 MiB file"
	[threads-4]="4 threads, 8 KiB writes, 16 MiB file"
	[write-64k]="1 thread, 64 KiB writes, 16 MiB file"
	[file-4g]="1 thread, 8 KiB writes, 4 GiB file"
)

# Every exit path comes here: leave no mount, loop device or sysctl behind.
cleanup() {
	local rc=$?

	set +e
	if [ -n "${RESULTS:-}" ] && [ -n "$TMP" ] && [ -d "$TMP/res" ]; then
		mkdir -p "$RESULTS" && cp -r "$TMP/res/." "$RESULTS/"
	fi
	scratch_fs_cleanup
	exit "$rc"
}

check_setup() {
	local v rows=(base)

	[ "$(id -u)" -eq 0 ] || die "needs root"
	for v in N ROUNDS; do
		[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
	done
	[ "$N" -ge 64 ] || die "N must be >= 64 (write-64k runs N/8 writes)"
	for v in "${ROWS[@]}"; do
		[ -n "${ROW_ARGS[$v]:-}" ] || die "unknown row '$v' in ROWS"
		[ "$v" = base ] || rows+=("$v")
	done
	ROWS=("${rows[@]}")
	if [ ! -x "$TORNWATCH" ] || [ ! -x "$WRITER" ]; then
		die "$TORNWATCH or $WRITER missing; run make"
	fi
	for v in bpftool python3 mkfs.ext4 losetup sysctl; do
		command -v "$v" >/dev/null || die "$v not found"
	done
}

# ---------------------------------------------------------------------------
# Run by tornwatch's child bash (exported).

# anon_kb PID: PID's RssAnon in kB as ANON (0 once it is gone), read with builtins only.
anon_kb() {
	local k v _

	ANON=0
	while read -r k v _; do
		[ "$k" = RssAnon: ] && ANON=$v && return
	done <"/proc/$1/status"
}

# sample_anon PID: the peak of PID's RssAnon (kB), sampled every 50 ms, printed at SIGTERM.
sample_anon() {
	local peak=0

	trap 'echo "$peak"; exit 0' TERM
	while :; do
		anon_kb "$1" 2>/dev/null || true
		[ "$ANON" -gt "$peak" ] && peak=$ANON
		sleep 0.05
	done
}

# scale_child PREFIX CMD...: measure CMD (see lib.sh) with tornwatch's ($PPID) RssAnon
# once attached in PREFIX.anon0 and its peak until tornwatch drained in PREFIX.anon1.
scale_child() {
	local p=$1 spid rc=0

	anon_kb "$PPID"
	echo "$ANON" >"$p.anon0"
	sample_anon "$PPID" >"$p.anon1" &
	spid=$!
	measure "$p" parent "${@:2}" || rc=$?
	kill -TERM "$spid" && wait "$spid"
	return "$rc"
}

# ---------------------------------------------------------------------------

# writer_cmd ROW: the argv of one run of ROW (sets WCMD).
writer_cmd() {
	local args

	read -ra args <<<"${ROW_ARGS[$1]}"
	WCMD=("$WRITER" "${args[@]}" -y 64 -n "${ROW_N[$1]}" -t "$MNT/$1.dat")
}

# run_traced ROW PREFIX: one run under tornwatch; PREFIX.json, .err (-v), and measure's.
run_traced() {
	local row=$1 p=$2 rc=0

	writer_cmd "$row"
	# shellcheck disable=SC2086,SC2016 # TW_EXTRA is a list of options; $@ is the child's
	"$TORNWATCH" -v --unit 8k ${TW_EXTRA:-} --json "$p.json" -- \
		bash -c 'scale_child "$@"' scale_child "$p" "${WCMD[@]}" >"$p.out" 2>"$p.err" || rc=$?
	[ "$rc" -ne 130 ] || die "$row: interrupted"
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$p.err" >&2
		die "$row: traced run failed (exit $rc; tornwatch or the writer, log above)"
	fi
	if [ ! -s "$p.json" ] || [ ! -s "$p.t" ] || [ ! -s "$p.progs1" ]; then
		die "$row: tornwatch JSON, timing line or BPF snapshot missing"
	fi
	# The sysctl is global: another benchmark (compare.sh's timed rounds) may turn it off.
	if [ "$(sysctl -n kernel.bpf_stats_enabled)" != 1 ]; then
		echo "   WARNING: kernel.bpf_stats_enabled was turned off during this run (another" \
			"benchmark?): its BPF figures are void; turned on again" >&2
		touch "$p.stats_off"
		bpf_stats 1
	fi
	sync -f "$MNT"
}

bench_row() {
	local row=$1 r p

	echo "== $row: ${ROW_DESC[$row]}, ${ROW_N[$row]} writes per run, $ROUNDS rounds"
	writer_cmd "$row"
	"${WCMD[@]}" >"$TMP/res/$row.warmup.t" || die "$row: untraced warm-up run failed"
	sync -f "$MNT"
	for ((r = 1; r <= ROUNDS; r++)); do
		p=$TMP/res/$row.$r
		run_traced "$row" "$p"
		echo "   round $r/$ROUNDS: $(awk '{ printf "%.0f writes/s", $2 / $4 }' "$p.t")," \
			"tornwatch $((($(cat "$p.cpu1") - $(cat "$p.cpu0")) / 1000000)) ms CPU," \
			"anonymous memory +$(($(cat "$p.anon1") - $(cat "$p.anon0"))) KiB"
	done
}

main() {
	local start=$EPOCHREALTIME row

	trap cleanup EXIT
	trap 'echo "scale: interrupted" >&2; exit 130' INT
	trap 'echo "scale: terminated" >&2; exit 143' TERM
	check_setup
	scratch_fs_setup tw-scale.XXXXXX $((N * 8192 + (256 << 20)))
	export -f alive cpu_ns drained snapshot measure anon_kb sample_anon scale_child
	save_bpf_stats
	bpf_stats 1
	echo "scale: tornwatch's cost against scale on $LOOP (ext4), kernel $(uname -r), $(nproc) CPUs;" \
		"fdatasync every 64 writes at random offsets (writer -R), bpf_stats on"
	for row in "${ROWS[@]}"; do
		bench_row "$row"
	done
	bpf_stats 0
	WORKLOADS=("${ROWS[@]}")
	run_report "$REPO/bench/scale_report.py" ROW_N ROW_UNITS ROW_DESC
	echo "scale: done in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}

main "$@"
