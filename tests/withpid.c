// SPDX-License-Identifier: GPL-2.0
/*
 * withpid: run a command as the process with a chosen pid, to test pid reuse.
 *
 *   withpid PID COMMAND [ARG...]
 *
 * clone3() with set_tid (5.5, CAP_SYS_ADMIN) makes the child's pid in this pid
 * namespace exactly PID, or fails with EEXIST when a process holds it. The child
 * execs COMMAND; withpid waits and exits with its status (128 + signal when killed).
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t want, pid;
	int status;
	char *end;

	if (argc < 3) {
		fprintf(stderr, "usage: withpid PID COMMAND [ARG...]\n");
		return 2;
	}
	want = strtol(argv[1], &end, 10);
	if (*end || want <= 1) {
		fprintf(stderr, "withpid: '%s' is not a pid\n", argv[1]);
		return 2;
	}
	ca.set_tid = (uintptr_t)&want;
	ca.set_tid_size = 1;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		fprintf(stderr, "withpid: clone3 with pid %d: %s\n", want, strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "withpid: cannot run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
