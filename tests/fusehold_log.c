// SPDX-License-Identifier: GPL-2.0
/* fusehold's request log: see fusehold_log.h for the format. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fusehold_log.h"

struct devlog {
	int fd;			/* the text log, O_APPEND */
	int data_fd;		/* the written bytes, back to back */
	uint64_t data_end;	/* where the next write's bytes go */
	uint64_t seq;		/* the last sequence number handed out */
	char *path, *data_path;
};

uint64_t devlog_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* All of buf at off (off < 0: appended), or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len, int64_t off)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

static int append_line(struct devlog *l, const char *line, int n)
{
	if (n < 0 || write_all(l->fd, line, n, -1)) {
		fprintf(stderr, "fusehold: cannot append to the log %s: %s\n", l->path,
			strerror(n < 0 ? EINVAL : errno));
		return -1;
	}
	return 0;
}

struct devlog *devlog__open(const char *log_path, const char *data_path, uint64_t size)
{
	struct devlog *l = calloc(1, sizeof(*l));

	if (!l) {
		fprintf(stderr, "fusehold: out of memory\n");
		return NULL;
	}
	l->fd = l->data_fd = -1;
	l->path = strdup(log_path);
	l->data_path = strdup(data_path);
	if (!l->path || !l->data_path) {
		fprintf(stderr, "fusehold: out of memory\n");
		goto err;
	}
	l->fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0) {
		fprintf(stderr, "fusehold: cannot create the log %s: %s\n", log_path,
			strerror(errno));
		goto err;
	}
	l->data_fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (l->data_fd < 0) {
		fprintf(stderr, "fusehold: cannot create the log data file %s: %s\n", data_path,
			strerror(errno));
		goto err;
	}
	if (devlog__note(l, "fusehold-log 1 size %llu", (unsigned long long)size))
		goto err;
	return l;
err:
	devlog__free(l);
	return NULL;
}

void devlog__free(struct devlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0 && close(l->fd))
		fprintf(stderr, "fusehold: closing the log %s: %s\n", l->path, strerror(errno));
	if (l->data_fd >= 0 && close(l->data_fd))
		fprintf(stderr, "fusehold: closing the log data file %s: %s\n", l->data_path,
			strerror(errno));
	free(l->path);
	free(l->data_path);
	free(l);
}

uint64_t devlog__next_seq(struct devlog *l)
{
	return __atomic_add_fetch(&l->seq, 1, __ATOMIC_RELAXED);
}

int devlog__note(struct devlog *l, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	memcpy(line, "# ", 2);
	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 3)
		return append_line(l, line, -1);
	line[n + 2] = '\n';
	return append_line(l, line, n + 3);
}

int64_t devlog__data(struct devlog *l, const void *buf, size_t len)
{
	int64_t at = l->data_end;

	if (write_all(l->data_fd, buf, len, at)) {
		fprintf(stderr, "fusehold: cannot append %zu bytes to the log data file %s: %s\n",
			len, l->data_path, strerror(errno));
		return -1;
	}
	l->data_end += len;
	return at;
}

int devlog__write(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns,
		  uint64_t off, uint64_t len, int64_t data_off, const void *buf)
{
	unsigned long crc = crc32(crc32(0L, Z_NULL, 0), buf, len);
	char line[160];
	int n;

	n = snprintf(line, sizeof(line), "W %llu %llu %llu %llu %llu %lld %08lx\n",
		     (unsigned long long)seq, (unsigned long long)recv_ns,
		     (unsigned long long)reply_ns, (unsigned long long)off,
		     (unsigned long long)len, (long long)data_off, crc);
	return append_line(l, line, n);
}

int devlog__fsync(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns)
{
	char line[96];
	int n;

	n = snprintf(line, sizeof(line), "F %llu %llu %llu\n", (unsigned long long)seq,
		     (unsigned long long)recv_ns, (unsigned long long)reply_ns);
	return append_line(l, line, n);
}

int devlog__fallocate(struct devlog *l, uint64_t seq, uint64_t recv_ns, uint64_t reply_ns,
		      uint64_t off, uint64_t len, int mode)
{
	char line[160];
	int n;

	n = snprintf(line, sizeof(line), "Z %llu %llu %llu %llu %llu %x\n",
		     (unsigned long long)seq, (unsigned long long)recv_ns,
		     (unsigned long long)reply_ns, (unsigned long long)off,
		     (unsigned long long)len, mode);
	return append_line(l, line, n);
}
