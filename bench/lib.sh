# shellcheck shell=bash
# What bench/overhead.sh and bench/compare.sh share: the three write storms, a scratch
# ext4 on a loop device, and kernel.bpf_stats_enabled saved and restored. Source it
# after setting N_SYNC, N_CACHE, N_DIRECT and BENCH_NAME (the prefix of messages).

TMP="" MNT="" LOOP="" OLD_STATS=""

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

# The write storms, run by build/writer: its options, writes per run, description.
declare -A WL_ARGS=(
	[fdatasync-storm]="-s 8k -y 64"
	[page-cache-storm]="-s 8k -F"
	[direct-storm]="-m direct -s 8k -y 0"
)
declare -A WL_N=(
	[fdatasync-storm]=$N_SYNC
	[page-cache-storm]=$N_CACHE
	[direct-storm]=$N_DIRECT
)
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
