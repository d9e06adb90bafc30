#!/usr/bin/env bash
# Every buffer memory kind a database writes from, through every write path of build/writer:
# private anonymous memory, MAP_SHARED anonymous memory (PostgreSQL's shared buffers),
# SysV shm, a memfd, and hugetlbfs pages, each written buffered (pwrite, io_submit
# without O_DIRECT, and io_uring), direct (pwrite O_DIRECT) and aio direct (io_submit). A direct write's bio carries the buffer's pages, which belong
# to a shmem or hugetlbfs mapping for the shared kinds: tornwatch must join the bio by the
# writing context, not take those pages for another file's page cache. Exact counts:
# 8 writes of 16 KiB, unit 8 KiB: 16 units, all whole, none pending, nothing lost.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
FS=${1:?usage: memkinds.sh ext4|xfs}
need_root "memory kinds on $FS"

mkfs_loop "$FS" mem
# Four 2 MiB huge pages for the hugetlb kind (restored on exit).
set_sysfs /proc/sys/vm/nr_hugepages 4
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 1 ]; then
	skip "$FS memory kinds: no huge page could be reserved (vm.nr_hugepages): hugetlb not run"
	KINDS="private shared sysv memfd"
else
	KINDS="private shared sysv memfd hugetlb"
fi

# TW_MEMKINDS_MODES narrows the write paths (tests/vm/guest.sh: the direct ones only, whose
# bios carry the buffer's own pages; a buffered write copies it into the page cache).
MODES=${TW_MEMKINDS_MODES:-buffered aio-buffered uring direct aio}
for mode in buffered aio-buffered uring direct aio; do
	case " $MODES " in
	*" $mode "*) ;;
	*) echo "# $FS memory kinds: $mode not run here (TW_MEMKINDS_MODES=\"$MODES\"; the host runs every mode)" ;;
	esac
done

for mem in $KINDS; do
	for mode in $MODES; do
		name="$mode from $mem memory"
		tw "$TMPD/m.json" --unit 8k -- "$WRITER" -m "$mode" -B "$mem" -s 16k -n 8 \
			"$MNT/$mode-$mem"
		rc=$?
		check "$FS $name: exit status" 0 $rc
		# 77: no huge page free. Another process may hold them: a PostgreSQL started with
		# huge_pages=try (its default) takes every free one (seen while a second test ran).
		[ $rc = 77 ] && echo "# $FS $name: $(grep -E 'HugePages_(Total|Free)' /proc/meminfo |
			tr -s ' \n' ' ')(another process, such as a PostgreSQL, may hold them)"
		case $mode in
		buffered | aio-buffered | uring) jmode=buffered ;;
		*) jmode=direct ;;
		esac
		expect "$name" "$TMPD/m.json" writes=8 units.total=16 units.whole=16 \
			units.pending=0 units.split=0 "modes.$jmode.units=16" join.bad_records=0
	done
done
