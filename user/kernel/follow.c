// SPDX-License-Identifier: GPL-2.0

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
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
