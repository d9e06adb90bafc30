// SPDX-License-Identifier: GPL-2.0
/* What a traced file is (see filefacts.h): its path from /proc/PID/fd, /proc/self/mountinfo
 * or sysfs's uevent and /dev, and its atomic write limits from statx. */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "tracker.h"
#include "filefacts.h"

/* Where a filesystem (kernel dev_t) is mounted with its root, from mountinfo. */
static bool mount_point(uint32_t kdev, char *out, size_t len)
{
	unsigned int maj, min;
	char line[4096], root[PATH_MAX], mnt[PATH_MAX];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %4095s %4095s", &maj, &min, root, mnt) != 4)
			continue;
		if (((maj << 20) | min) == kdev && !strcmp(root, "/")) {
			snprintf(out, len, "%s", strcmp(mnt, "/") ? mnt : "");
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* The dev_t a traced file is followed by: a block device's own, else its filesystem's. */
static uint32_t followed_kdev(const struct stat *st)
{
	dev_t d = S_ISBLK(st->st_mode) ? st->st_rdev : st->st_dev;

	return (major(d) << 20) | minor(d);
}

/* A block device written directly (its dev is the disk's): /dev/NAME from sysfs's uevent. */
static bool bdev_node(uint32_t kdev, uint64_t ino, char *out, size_t len)
{
	char path[96], line[256];
	struct stat st;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", kdev >> 20, kdev & 0xfffff);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "/dev/%s", line + 8);
		found = !stat(out, &st) && S_ISBLK(st.st_mode) && followed_kdev(&st) == kdev &&
			st.st_ino == ino;
	}
	fclose(f);
	return found;
}

bool filefacts_path(const struct tw_file_ev *e, char *path, size_t len)
{
	char link[64], mnt[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/fd/%u", e->h.pid, e->fd);
	n = readlink(link, path, len - 1);
	if (n > 0) {
		path[n] = '\0';
		/* The fd may already point elsewhere: trust it only for the same inode. */
		if (!stat(path, &st) && st.st_ino == e->ino && followed_kdev(&st) == e->dev)
			return true;
	}
	if (mount_point(e->dev, mnt, sizeof(mnt))) {
		tw_rpath_join(e->rpath, sizeof(e->rpath), mnt, path, len);
		return true;
	}
	return bdev_node(e->dev, e->ino, path, len);
}

/* struct statx as the kernel fills it (glibc 2.36's lacks the atomic fields). */
struct tw_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	uint8_t times[64];
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint32_t dio_mem_align, dio_offset_align;
	uint64_t subvol;
	uint32_t atomic_write_unit_min, atomic_write_unit_max, atomic_write_segments_max;
	uint8_t rest[76];
};

_Static_assert(sizeof(struct tw_statx) == 256, "struct statx layout");
_Static_assert(offsetof(struct tw_statx, atomic_write_unit_min) == 168, "statx atomic fields");

#define TW_STATX_WRITE_ATOMIC 0x00010000U

bool filefacts_atomic_limits(const char *path, struct tw_atomic_limits_ev *a)
{
	struct tw_statx sx = {};

	if (syscall(SYS_statx, AT_FDCWD, path, 0, TW_STATX_WRITE_ATOMIC, &sx) || sx.ino != a->ino)
		return false;
	if (sx.mask & TW_STATX_WRITE_ATOMIC) {
		a->unit_min = sx.atomic_write_unit_min;
		a->unit_max = sx.atomic_write_unit_max;
		a->segments_max = sx.atomic_write_segments_max;
	}
	return true;
}
