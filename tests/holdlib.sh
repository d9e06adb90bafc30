# shellcheck shell=bash
# Hold a filesystem's writeback I/O in flight on purpose, and release it on command.
# The filesystem sits on a loop device whose backing file is /disk on fusehold, a FUSE
# filesystem that makes writes wait while a hold file exists. Source after lib.sh: uses
# its TMPD, LOOPS, MOUNTS, HOLDS and LATE_MOUNTS, so that its cleanup first releases
# every hold, then unmounts the filesystems, detaches the loops, and unmounts FUSE last.
#
# Per NAME, in $TMPD: NAME.fuse (the FUSE mount), NAME.backing (the bytes that reached
# the "device", readable after the run), NAME.hold (exists while held), NAME.status (the
# number of writes waiting now), NAME (the filesystem's mount point).
#
# While held, unmount and fsync of the upper filesystem hang uninterruptibly (fsync of any
# file: ext4's journal commit waits for the held data, XFS's log write is itself held) until
# hold_release. By hand: `rm $TMPD/NAME.hold`. Last resort: `kill FUSEHOLD_PID` lets the
# held writes go, but every later write to the device fails (ext4 aborts its journal, XFS
# shuts down); unmounting still works.

FUSEHOLD=${FUSEHOLD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/fusehold}
HOLD_FUSE_ARGS=()	# more fusehold options for the next hold_setup (crash_setup: --log)

# hold_setup FS NAME [STABLE [dio]]: a fresh FS (ext4 or xfs) on a loop device over
# fusehold, mounted at $TMPD/NAME. STABLE (0 or 1, default 0) goes to the loop queue's
# stable_writes before mkfs (it only counts if set before mount; loop keeps the value across
# detach, so it is always written and restored on exit). The loop does buffered I/O on
# /disk unless "dio" is given. Sets LOOP, QUEUE and MNT like mkfs_loop.
#
# Buffered loop: the loop worker handles its queue one request at a time, so at most one
# write is held and every later request (reads too, journal writes too) waits behind it.
# dio: requests are asynchronous; each held bio is one waiting write, others go on.
hold_setup() {
	local fs=$1 name=$2 stable=${3:-0} mode=${4:-buffered} fuse="$TMPD/$2.fuse" dio=off opts=

	# grep reads it all (no -q): an early exit fails declare on SIGPIPE, and with pipefail
	# the check, now and then
	if ! declare -f cleanup | grep LATE_MOUNTS >/dev/null; then
		echo "hold_setup: lib.sh's cleanup does not release HOLDS / unmount LATE_MOUNTS" >&2
		return 1
	fi
	if [ ! -x "$FUSEHOLD" ]; then
		echo "hold_setup: $FUSEHOLD missing: run 'make build/fusehold'" >&2
		return 1
	fi
	case $mode in
	buffered) ;;
	dio) dio=on ;;
	*) echo "hold_setup: mode '$mode' is neither buffered nor dio" >&2; return 1 ;;
	esac
	mkdir -p "$fuse" "$TMPD/$name" || return 1
	HOLDS+=("$TMPD/$name.hold")
	"$FUSEHOLD" --size 512M --backing "$TMPD/$name.backing" --hold-file "$TMPD/$name.hold" \
		--status "$TMPD/$name.status" "${HOLD_FUSE_ARGS[@]}" "$fuse" || return 1
	LATE_MOUNTS=("$fuse" "${LATE_MOUNTS[@]}")
	LOOP=$(losetup -f --show --direct-io="$dio" "$fuse/disk") || return 1
	LOOPS+=("$LOOP")
	QUEUE=/sys/block/$(basename "$LOOP")/queue
	set_sysfs "$QUEUE/stable_writes" "$stable" || return 1
	case $fs in
	ext4) mkfs.ext4 -q -F "$LOOP" && opts=noinit_itable ;;	# no lazy-init writes
	xfs) mkfs.xfs -q -f "$LOOP" ;;
	*) echo "hold_setup: unknown fs $fs" >&2; return 1 ;;
	esac || return 1
	MNT="$TMPD/$name"
	mount ${opts:+-o "$opts"} "$LOOP" "$MNT" || return 1
	MOUNTS=("$MNT" "${MOUNTS[@]}")
}

# hold_blocked NAME: the number of writes waiting now.
hold_blocked() {
	cat "$TMPD/$1.status" 2>/dev/null || echo 0
}

# hold_engage NAME: from now on, writes reaching NAME's device wait.
hold_engage() {
	touch "$TMPD/$1.hold"
}

# hold_release NAME [TIMEOUT_S]: let waiting writes go; returns once none is waiting any
# more (they are then being written, not yet necessarily complete upstairs).
hold_release() {
	local n i tries=$((${2:-10} * 100))

	rm -f "$TMPD/$1.hold"
	for ((i = 0; i < tries; i++)); do
		n=$(hold_blocked "$1")
		[ "$n" -eq 0 ] && return 0
		sleep 0.01
	done
	echo "hold_release: $1: $n writes still waiting ${2:-10} s after the release" >&2
	return 1
}

# hold_wait_blocked NAME N [TIMEOUT_S]: wait until at least N writes are waiting.
hold_wait_blocked() {
	local n i tries=$((${3:-10} * 100))

	for ((i = 0; i < tries; i++)); do
		n=$(hold_blocked "$1")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.01
	done
	echo "hold_wait_blocked: $1: $n of $2 writes waiting after ${3:-10} s" >&2
	return 1
}

# crash_setup FS NAME [dio|buffered [MAX_SECTORS_KB]]: hold_setup with fusehold recording
# what the device receives: $TMPD/NAME.log (a line per write, fsync, fallocate: see
# tests/fusehold_log.h) and $TMPD/NAME.data (the written bytes), for tests/crash/cuts.py.
# The loop queue's max_sectors_kb is set (MAX_SECTORS_KB, default the largest that fits) and
# checked, so that one block request is one FUSE write: at most FUSE's max_write (noted in
# the log) less one page, since a request that does not start on a page boundary takes one
# page more than its size, and FUSE counts max_pages (max_write / 4 KiB) too.
#
# The loop does direct I/O (dio, the default): it hands the whole request to FUSE as one
# write_iter, which FUSE (no writeback cache: write-through) sends as one FUSE_WRITE of up to
# max_write bytes. In buffered mode the loop writes a request one page segment at a time
# (lo_write_simple: a vfs write per bvec), so a 16 KiB request reaches FUSE as four writes:
# the device would log pieces that no power cut could tear apart. Sets LOOP, QUEUE, MNT as
# hold_setup does; CRASH_LOG and CRASH_DATA.
crash_setup() {
	local fs=$1 name=$2 mode=${3:-dio} kb=${4:-} max_write limit cur

	HOLD_FUSE_ARGS=(--log "$TMPD/$name.log" --log-data "$TMPD/$name.data")
	hold_setup "$fs" "$name" 0 "$mode"
	local rc=$?
	HOLD_FUSE_ARGS=()
	[ $rc -eq 0 ] || return 1
	CRASH_LOG=$TMPD/$name.log CRASH_DATA=$TMPD/$name.data
	max_write=$(sed -n 's/^# max_write \([0-9]*\) .*$/\1/p' "$CRASH_LOG")
	if [ -z "$max_write" ]; then
		echo "crash_setup: $CRASH_LOG notes no max_write" >&2
		return 1
	fi
	limit=$((max_write / 1024 - 4))
	cur=$(cat "$QUEUE/max_sectors_kb")
	[ -n "$kb" ] || kb=$((cur < limit ? cur : limit))
	set_sysfs "$QUEUE/max_sectors_kb" "$kb" || return 1
	cur=$(cat "$QUEUE/max_sectors_kb")
	if [ "$cur" -ne "$kb" ] || [ "$cur" -gt "$limit" ]; then
		echo "crash_setup: max_sectors_kb is $cur, wanted $kb (at most $limit for FUSE's" \
			"max_write $max_write)" >&2
		return 1
	fi
}

# crash_mark NAME: sync until every change the log holds up to its last flush is durable
# (a write still in flight when that flush arrived is not: sync again), then print the mark:
# the number of log lines up to that flush (a background write logged meanwhile falls after
# the mark). cuts.py checks it again.
crash_mark() {
	local i mark log=$TMPD/$1.log
	for i in $(seq 20); do
		sync
		mark=$(grep -n '^F ' "$log" | tail -n 1 | cut -d: -f1)
		[ -n "$mark" ] && python3 "$TOP/tests/crash/devlog.py" check-mark "$log" \
			--mark "$mark" 2>/dev/null && break
		sleep 0.05
	done
	echo "$mark"
}
