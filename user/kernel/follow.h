/* SPDX-License-Identifier: GPL-2.0 */
/* Which processes are traced: -p PIDs and their descendants, or a command we start. */
#ifndef TW_FOLLOW_H
#define TW_FOLLOW_H

#include <stdbool.h>
#include <sys/types.h>

bool pid_alive(pid_t pid);
/*
 * A pidfd: the process itself, not its number, which the kernel gives to another
 * process once it is reaped. -1 and errno (ESRCH: none; EINVAL: a thread, not a process).
 */
int pid_watch(pid_t pid);
/* The process has exited (a zombie included: its writes are over). */
bool pid_watch_exited(int pidfd);
/*
 * Can -p PID be traced: alive, a user-space process (not a kernel thread), a thread group
 * leader (not one of its threads)? 0, or -1 with the reason and the fix in err.
 */
int pid_traceable(pid_t pid, char *err, size_t errlen);
/* Call add() for every live descendant of root (not root itself); returns how many. */
int follow_descendants(pid_t root, int (*add)(void *ctx, pid_t pid), void *ctx);

/*
 * Fork the command, held before exec until spawn_release(): the caller adds it
 * to the traced set first, so not one of its writes is missed.
 */
pid_t spawn_held(char **argv, int *release_fd);
int spawn_release(int release_fd);

#endif
