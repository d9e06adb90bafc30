/* SPDX-License-Identifier: GPL-2.0 */
/* What a traced file is, from the live system: its full path (the writer's fd, mountinfo,
 * a block device's /dev node) and its statx atomic write limits. Live runs only. */
#ifndef TW_FILEFACTS_H
#define TW_FILEFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "tornwatch.h"

/*
 * The file e names, by its full path: the open fd gives the path as the process sees it;
 * a writer that already exited leaves the kernel's own walk up the dentries, put under the
 * filesystem's mount point (a block device: its node in /dev). False when none is known.
 */
bool filefacts_path(const struct tw_file_ev *e, char *path, size_t len);
/*
 * a->ino's atomic write limits (what RWF_ATOMIC writes must fit) from statx of path: 0
 * when the file takes no atomic writes. False when path is not that inode any more.
 */
bool filefacts_atomic_limits(const char *path, struct tw_atomic_limits_ev *a);

#endif
