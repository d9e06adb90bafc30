// SPDX-License-Identifier: GPL-2.0
/* Which processes are traced (see follow.h): /proc walks, pidfds, the held command, and the
 * run's targets, which own the -p PIDs' pidfds and the command's pid and exit status. */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "opts.h"
#include "tracer.h"
#include "follow.h"

bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int pid_watch(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

bool pid_watch_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

#define TW_PF_KTHREAD 0x00200000	/* include/linux/sched.h: the task is a kernel thread */

int pid_traceable(pid_t pid, char *err, size_t errlen)
{
	char path[64], buf[512], comm[32] = "?", *p, *q;
	unsigned int flags = 0;
	int tgid = pid;
	FILE *f;
	size_t n;

	if (!pid_alive(pid)) {
		snprintf(err, errlen, "-p %d: no such process; check the pid with 'ps -p %d'", pid,
			 pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;	/* gone since: its exit ends the run */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strchr(buf, '(');
	q = strrchr(buf, ')');
	if (p && q > p)
		snprintf(comm, sizeof(comm), "%.*s", (int)(q - p - 1), p + 1);
	for (char *c = comm; *c; c++)	/* a process names itself: keep the message one line */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	/* after ") ": state ppid pgrp session tty_nr tpgid flags */
	if (q && sscanf(q + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) == 1 &&
	    (flags & TW_PF_KTHREAD)) {
		snprintf(err, errlen, "-p %d: %s is a kernel thread, it writes no files of its own; "
			 "give the pid of a user process (e.g. pgrep -o postgres)", pid, comm);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f) && sscanf(buf, "Tgid: %d", &tgid) != 1)
		;
	if (f)
		fclose(f);
	if (tgid != pid) {
		snprintf(err, errlen, "-p %d: a thread of process %d (%s); give -p %d, which traces "
			 "all its threads", pid, tgid, comm, tgid);
		return -1;
	}
	return 0;
}

static pid_t read_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int follow_descendants(pid_t root, int (*add)(void *ctx, pid_t pid), void *ctx)
{
	pid_t *pids = NULL, *ppids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int added = 0;
	bool grew;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			pids = realloc(pids, cap * sizeof(*pids));
			ppids = realloc(ppids, cap * sizeof(*ppids));
			if (!pids || !ppids) {
				closedir(d);
				free(pids);
				free(ppids);
				return -ENOMEM;
			}
		}
		pids[n] = pid;
		ppids[n] = read_ppid(pid);
		n++;
	}
	closedir(d);

	/* Mark descendants by repeated passes: a process is in when its parent is. */
	char *in = calloc(n ? n : 1, 1);

	if (!in) {
		free(pids);
		free(ppids);
		return -ENOMEM;
	}
	do {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			bool parent_in = ppids[i] == root;

			for (size_t j = 0; !parent_in && j < n; j++)
				parent_in = in[j] && pids[j] == ppids[i];
			if (parent_in) {
				in[i] = 1;
				grew = true;
				if (add(ctx, pids[i]) == 0)
					added++;
			}
		}
	} while (grew);
	free(in);
	free(pids);
	free(ppids);
	return added;
}

pid_t spawn_held(char **argv, int *release_fd)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127);	/* tornwatch gave up before the start */
		execvp(argv[0], argv);
		fprintf(stderr, "tornwatch: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*release_fd = fds[1];
	return pid;
}

int spawn_release(int release_fd)
{
	char c = 'g';
	int rc = write(release_fd, &c, 1) == 1 ? 0 : -errno;

	close(release_fd);
	return rc;
}

/* The run's traced processes: the -p PIDs, each held by a pidfd, or the command it started. */
struct targets {
	const struct tw_opts *opts;
	int pidfds[TW_MAX_PIDS];	/* -1: no pidfd (a kernel without them) */
	pid_t child;			/* -- COMMAND, once started; else -1 */
	int release_fd;			/* holds the command before exec; -1 once released */
	int status;			/* the command's wait status, once child_done */
	bool child_done;
};

static void close_pidfds(struct targets *tg)
{
	for (int i = 0; i < tg->opts->nr_pids; i++)
		if (tg->pidfds[i] >= 0)
			close(tg->pidfds[i]);
}

/* Each -p PID a live process, held by a pidfd from now on (-1: no pidfds here). */
static int hold_pids(struct targets *tg)
{
	const struct tw_opts *o = tg->opts;
	char err[256];

	for (int i = 0; i < o->nr_pids; i++) {
		if (pid_traceable(o->pids[i], err, sizeof(err))) {
			fprintf(stderr, "tornwatch: %s\n", err);
			return -1;
		}
		tg->pidfds[i] = pid_watch(o->pids[i]);
		if (tg->pidfds[i] < 0 && errno != ENOSYS) {
			fprintf(stderr, "tornwatch: -p %d: no such process; check the pid with "
				"'ps -p %d'\n", o->pids[i], o->pids[i]);
			return -1;
		}
	}
	return 0;
}

struct targets *targets__new(const struct tw_opts *o)
{
	struct targets *tg = calloc(1, sizeof(*tg));

	if (!tg) {
		fprintf(stderr, "tornwatch: out of memory\n");
		return NULL;
	}
	tg->opts = o;
	tg->child = -1;
	tg->release_fd = -1;
	for (int i = 0; i < TW_MAX_PIDS; i++)
		tg->pidfds[i] = -1;
	if (hold_pids(tg)) {
		targets__free(tg);
		return NULL;
	}
	return tg;
}

static int add_pid_cb(void *ctx, pid_t pid)
{
	return tracer__add_pid(ctx, pid);
}

/*
 * Put the -p PIDs (and with -f their descendants) in the traced set. A process that ended
 * since its pidfd was opened may have left its pid to another one by now: that pid is taken
 * out again (the kernel side drops a pid when its process exits, but that may have been
 * before it was put in), and nothing is followed under it.
 */
static int trace_pids(struct targets *tg, struct tracer *tr, char *err, size_t errlen)
{
	const struct tw_opts *o = tg->opts;

	for (int i = 0; i < o->nr_pids; i++) {
		int n;

		if (tracer__add_pid(tr, o->pids[i])) {
			snprintf(err, errlen, "cannot trace pid %d: %s; raise --max-procs",
				 o->pids[i], strerror(errno));
			return -1;
		}
		if (tg->pidfds[i] >= 0 && pid_watch_exited(tg->pidfds[i])) {
			tracer__del_pid(tr, o->pids[i]);
			fprintf(stderr, "tornwatch: -p %d ended before tracing began\n", o->pids[i]);
			continue;
		}
		if (!o->follow)
			continue;
		n = follow_descendants(o->pids[i], add_pid_cb, tr);
		if (o->verbose)
			fprintf(stderr, "tornwatch: pid %d: %d descendants traced\n", o->pids[i],
				n < 0 ? 0 : n);
	}
	return 0;
}

/* The command, started held, traced, then let go: not one of its writes is missed. */
static int trace_command(struct targets *tg, struct tracer *tr, char *err, size_t errlen)
{
	char **cmd = tg->opts->cmd;

	tg->child = spawn_held(cmd, &tg->release_fd);
	if (tg->child < 0) {
		snprintf(err, errlen, "cannot start %s: %s", cmd[0], strerror(errno));
		return -1;
	}
	if (tracer__add_pid(tr, tg->child)) {
		snprintf(err, errlen, "cannot trace the command: %s", strerror(errno));
		return -1;
	}
	spawn_release(tg->release_fd);
	tg->release_fd = -1;
	return 0;
}

int targets__attach(struct targets *tg, struct tracer *tr, char *err, size_t errlen)
{
	if (tg->opts->cmd)
		return trace_command(tg, tr, err, errlen);
	return trace_pids(tg, tr, err, errlen);
}

/* By pidfd: a pid reused by another process once ours was reaped does not keep us going. */
static bool any_pid_alive(const struct targets *tg)
{
	const struct tw_opts *o = tg->opts;

	for (int i = 0; i < o->nr_pids; i++)
		if (tg->pidfds[i] >= 0 ? !pid_watch_exited(tg->pidfds[i]) : pid_alive(o->pids[i]))
			return true;
	return false;
}

bool targets__ended(struct targets *tg)
{
	if (tg->child > 0 && waitpid(tg->child, &tg->status, WNOHANG) == tg->child) {
		tg->child_done = true;
		return true;
	}
	return tg->opts->nr_pids && !any_pid_alive(tg);
}

void targets__grace(struct targets *tg, struct tracer *tr)
{
	if (tg->child <= 0 || tg->child_done)
		return;
	for (int i = 0; i < 20 && !tg->child_done; i++) {
		tg->child_done = waitpid(tg->child, &tg->status, WNOHANG) == tg->child;
		if (!tg->child_done)
			tracer__poll(tr, 10);
	}
}

bool targets__command_ended(const struct targets *tg, int *status)
{
	if (tg->child <= 0 || !tg->child_done)
		return false;
	*status = WIFEXITED(tg->status) ? WEXITSTATUS(tg->status) : 128 + WTERMSIG(tg->status);
	return true;
}

void targets__say_running(const struct targets *tg)
{
	if (tg->child > 0 && !tg->child_done)	/* stopped by a signal or -d: it goes on alone */
		fprintf(stderr, "tornwatch: stopped; %s (pid %d) keeps running\n",
			tg->opts->cmd[0], tg->child);
}

void targets__free(struct targets *tg)
{
	if (!tg)
		return;
	if (tg->child > 0 && tg->release_fd >= 0) {
		close(tg->release_fd);	/* the held child exits without running */
		waitpid(tg->child, NULL, 0);
	}
	close_pidfds(tg);
	free(tg);
}
