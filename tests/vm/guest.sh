#!/usr/bin/env bash
# Runs inside a vmtest guest (tests/vm/init chroots into the host's root): the kernel's
# name, what tornwatch probes there (-v), then each suite; every suite's output, exit status
# and duration go to the results share, read back by tests/vm/vmtest.sh.
#
#   guest.sh RESULTS_DIR SUITES     (comma-separated: modtp, cli, core-ext4, core-xfs,
#                                    modes-ext4, modes-xfs, memkinds-ext4, memkinds-xfs,
#                                    uring-ext4, uring-xfs, atomic-scsi,
#                                    mmap-ext4, mmap-xfs, static-ext4, static-xfs)
# RESULTS_DIR/kroot, written by vmtest.sh, names the unpacked kernel package (its modules).
set -uo pipefail
cd "$(dirname "$0")/../.."
res=$1
suites=${2//,/ }

uname -r >"$res/kernel"
TW_VM_KROOT=$(cat "$res/kroot" 2>/dev/null)
export TW_VM_KROOT
# What tornwatch probes and chooses on this kernel (init loaded xfs: its BTF is there).
./tornwatch -v -d 1 -p $$ >/dev/null 2>"$res/probe-full.txt"
grep -E '^tornwatch: (tracepoint|syscalls|direct|io_uring|loaded|stablepage|probe|cannot)' "$res/probe-full.txt" >"$res/probe.txt"

# modtp: tp_btf on a module's tracepoint (xfs), on an XFS of its own.
modtp() {
	local img=/tmp/modtp.img loop rc
	truncate -s 300M $img && loop=$(losetup -f --show $img) || return 1
	mkfs.xfs -q -f "$loop" && mkdir -p /tmp/modtp && mount "$loop" /tmp/modtp || return 1
	build/vm/modtp /tmp/modtp/file 8
	rc=$?
	umount /tmp/modtp
	losetup -d "$loop"
	rm -f $img
	return $rc
}

for s in $suites; do
	case $s in
	modtp) cmd=(modtp) ;;
	cli) cmd=(tests/e2e/cli.sh) ;;
	core-ext4) cmd=(tests/e2e/core.sh ext4) ;;
	core-xfs) cmd=(tests/e2e/core.sh xfs) ;;
	modes-ext4) cmd=(tests/e2e/modes.sh ext4) ;;
	modes-xfs) cmd=(tests/e2e/modes.sh xfs) ;;
	# Direct writes only: their bios carry the buffer's own pages, joined by a kernel-
	# dependent path; a buffered write copies the buffer (the host runs those).
	memkinds-ext4) cmd=(env TW_MEMKINDS_MODES="direct aio" tests/e2e/memkinds.sh ext4) ;;
	memkinds-xfs) cmd=(env TW_MEMKINDS_MODES="direct aio" tests/e2e/memkinds.sh xfs) ;;
	uring-ext4) cmd=(tests/e2e/uring.sh ext4) ;;
	uring-xfs) cmd=(tests/e2e/uring.sh xfs) ;;
	mmap-ext4) cmd=(tests/e2e/mmap.sh ext4) ;;
	mmap-xfs) cmd=(tests/e2e/mmap.sh xfs) ;;
	atomic-scsi) cmd=(tests/vm/scsi_atomic.sh) ;;
	static-ext4) cmd=(tests/e2e/static.sh ext4) ;;
	static-xfs) cmd=(tests/e2e/static.sh xfs) ;;
	*) echo "not ok - unknown suite $s" >"$res/$s.out"; echo 1 >"$res/$s.rc"; continue ;;
	esac
	echo "vmtest guest: $s" >/dev/console
	t0=$(date +%s)
	"${cmd[@]}" 2>&1 | tee "$res/$s.out" >/dev/console
	echo "${PIPESTATUS[0]}" >"$res/$s.rc"
	echo $(($(date +%s) - t0)) >"$res/$s.secs"
done
