# shellcheck shell=bash
# What the benchmarks of bench/ share: the three write storms, a scratch ext4 on a loop
# device, kernel.bpf_stats_enabled saved and restored, the measured run (BPF counters and
# the tracer's CPU around a workload) and the call of a python report. Source it after
# setting N_SYNC, N_CACHE, N_DIRECT and BENCH_NAME (the prefix of messages), from the
# repository's root: REPO, TORNWATCH and WRITER name it and the programs run there.

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly REPO=$PWD TORNWATCH=$PWD/tornwatch WRITER=$PWD/build/writer
TMP="" MNT="" LOOP="" OLD_STATS=""

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

# The write storms, run by build/writer: its options, writes per run, description.
# shellcheck disable=SC2034 # read by the scripts that source this file
declare -A WL_ARGS=(
	[fdatasync-storm]="-s 8k -y 64"
	[page-cache-storm]="-s 8k -F"
	[direct-storm]="-m direct -s 8k -y 0"
)
# shellcheck disable=SC2034
declare -A WL_N=(
	[fdatasync-storm]=$N_SYNC
	[page-cache-storm]=$N_CACHE
	[direct-storm]=$N_DIRECT
)
# shellcheck disable=SC2034
declare -A WL_DESC=(
	[fdatasync-storm]="buffered 8 KiB pwrite, fdatasync every 64 writes"
	[page-cache-storm]="buffered 8 KiB pwrite, no sync"
	[direct-storm]="O_DIRECT 8 KiB pwrite, no sync"
)

# scratch_fs_setup TEMPLATE EXTRA_BYTES: a scratch ext4 on a loop device over a sparse
# image, large enough for the storms' files plus EXTRA_BYTES, mounted at $TMP/mnt.
# Lazy inode-table/journal init is off so that ext4lazyinit does not write while we
# measure. Sets TMP, MNT, LOOP; $TMP/res is for the runs' files.
scratch_fs_setup() {
	local bytes=$(((N_SYNC + N_CACHE + N_DIRECT) * 8192 + $2))

	[ "$bytes" -ge $((1 << 30)) ] || bytes=$((1 << 30))
	TMP=$(mktemp -d -t "$1")
	MNT=$TMP/mnt
	mkdir -p "$MNT" "$TMP/res"
	truncate -s "$bytes" "$TMP/fs.img"
	LOOP=$(losetup -f --show "$TMP/fs.img") || die "losetup failed"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" >/dev/null ||
		die "mkfs.ext4 on $LOOP failed"
	mount "$LOOP" "$MNT" || die "mount $LOOP failed"
}

# The end of every exit path: no mount, loop device or sysctl left behind, and the
# temporary folder removed (never while a filesystem is still mounted in it).
scratch_fs_cleanup() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	[ -n "$OLD_STATS" ] && sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	if [ -n "$TMP" ] && ! { [ -n "$MNT" ] && mountpoint -q "$MNT"; }; then
		rm -rf "$TMP"
	fi
}

# kernel.bpf_stats_enabled times every program run, and that timing costs CPU itself:
# timed rounds run without it, one extra profiled round with it.
save_bpf_stats() {
	OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
}

bpf_stats() {
	sysctl -qw kernel.bpf_stats_enabled="$1" || die "cannot set kernel.bpf_stats_enabled"
}

# ---------------------------------------------------------------------------
# The measured run, shared by the benchmarks. measure and what it calls run on the
# traced side too (a benchmark exports them: tornwatch's child bash calls them).

# alive PID: the process exists and is not a zombie waiting for our wait.
alive() {
	local st

	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# cpu_ns PID: CPU time of PID's threads (ns, schedstat: not tick-sampled).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { print s }'
}

# drained PID: wait (at most 5 s) until the tracer has used less than 1 ms of
# CPU in 100 ms: it has consumed what the workload made it receive.
drained() {
	local a b i

	a=$(cpu_ns "$1") || return
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		b=$(cpu_ns "$1") || return
		[ $((b - a)) -lt 1000000 ] && return 0
		a=$b
	done
}

# snapshot PREFIX PID N: the BPF programs' run counters and PID's CPU time as
# PREFIX.progsN and PREFIX.cpuN; the CPU is read just before the workload and,
# at its end, once the tracer has drained its events.
snapshot() {
	local p=$1 pid=$2 n=$3

	if [ "$n" = 1 ]; then
		bpftool prog show -j >"$p.progs1" && drained "$pid" && cpu_ns "$pid" >"$p.cpu1"
	else
		bpftool prog show -j >"$p.progs0" && cpu_ns "$pid" >"$p.cpu0"
	fi
}

# measure PREFIX TRACER CMD...: CMD (the workload; it prints one line
# "writes N seconds S cpu_us C" to PREFIX.t) between two snapshots of the
# BPF counters and of the tracer's CPU, taken while the tracer is attached.
# TRACER is its pid, "parent" (tornwatch running us as its command) or 0
# (untraced).  The ids of the programs and maps the tracer holds (its
# fdinfo) tell them apart from everybody else's.
measure() {
	local p=$1 tp=$2

	[ "$tp" = parent ] && tp=$PPID
	if [ "$tp" != 0 ]; then
		snapshot "$p" "$tp" 0 || return
	fi
	"${@:3}" >"$p.t" || return
	[ "$tp" != 0 ] || return 0
	snapshot "$p" "$tp" 1 || return
	cat /proc/"$tp"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | sort -u >"$p.ids"
	cat /proc/"$tp"/fdinfo/* 2>/dev/null | sed -n 's/^map_id:[[:space:]]*//p' | sort -u >"$p.mapids"
	bpftool map show -j >"$p.maps" && bpftool perf show -j >"$p.perf"
}

# run_report SCRIPT ARRAY...: the python report SCRIPT ("-": from stdin) on the runs'
# files, given "$TMP/res", ROUNDS and per workload of WORKLOADS one spec, the workload's
# name and its value in each associative ARRAY, joined by "|".
run_report() {
	local script=$1 wl a v spec specs=()

	shift
	for wl in "${WORKLOADS[@]}"; do
		spec=$wl
		for a in "$@"; do
			v="${a}[$wl]"
			spec+="|${!v}"
		done
		specs+=("$spec")
	done
	PYTHONDONTWRITEBYTECODE=1 python3 "$script" "$TMP/res" "$ROUNDS" "${specs[@]}"
}
