/* SPDX-License-Identifier: GPL-2.0 */
/* Which processes are traced: -p PIDs and their descendants, or a command we start;
 * struct targets owns them for a run (targets__new .. targets__free). */
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

struct tracer;
struct tw_opts;

/* The run's traced processes: the -p PIDs or the command (-- COMMAND). */
struct targets;

/*
 * Check each -p PID (alive, a process, not a kernel thread) and hold it by a pidfd. NULL
 * after a one-line message on stderr.
 */
struct targets *targets__new(const struct tw_opts *o);
/*
 * Put them in tr's traced set: the command started held, traced, released; the -p PIDs,
 * with -f their descendants. -1 with a message in err.
 */
int targets__attach(struct targets *tg, struct tracer *tr, char *err, size_t errlen);
/* Does the run end with its targets: the command exited, or every -p PID did? */
bool targets__ended(struct targets *tg);
/* After a signal: Ctrl-C reaches the command too, give it a moment to end with us. */
void targets__grace(struct targets *tg, struct tracer *tr);
/* The command ended: its status (128 + signal when a signal ended it) in *status. */
bool targets__command_ended(const struct targets *tg, int *status);
/* A command that did not end: say that it keeps running. */
void targets__say_running(const struct targets *tg);
/* A command still held (a failed start) exits without running; pidfds are closed. */
void targets__free(struct targets *tg);

#endif
