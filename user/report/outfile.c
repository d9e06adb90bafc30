// SPDX-License-Identifier: GPL-2.0
/* Output files (the rules are in outfile.h): how a path is written, checked before tracing,
 * written through a temporary file and a rename or in place; outfile_write() for writers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "opts.h"
#include "outfile.h"

struct outfile {
	enum outfile_kind kind;
	const char *opt;	/* the option, for messages */
	char *path;
	FILE *f;
	int fd;			/* the temporary file (REPLACE) or path (IN_PLACE) */
	int dirfd;		/* OUTFILE_REPLACE: the directory holding path */
	char *dir;		/* OUTFILE_REPLACE: path's directory and last component */
	char *base;
	char *tmp;		/* OUTFILE_REPLACE: the temporary file's name in dir */
	int err;		/* the first write error (errno) */
};

bool outfile_is_stdout(const char *path)
{
	return path && (!strcmp(path, "-") || !strcmp(path, "/dev/stdout") ||
			!strcmp(path, "/dev/fd/1"));
}

static bool is_stderr_name(const char *path)
{
	return !strcmp(path, "/dev/stderr") || !strcmp(path, "/dev/fd/2");
}

enum outfile_kind outfile_kind_of(const char *path, int lstat_errno, mode_t mode,
				  const char **why)
{
	size_t len = strlen(path);

	*why = NULL;
	if (outfile_is_stdout(path))
		return OUTFILE_STDOUT;
	if (is_stderr_name(path))
		return OUTFILE_STDERR;
	if (!len)
		*why = "is empty; give a file name, or - for standard output";
	else if (path[len - 1] == '/')
		*why = "ends in '/'; give a file name";
	else if (lstat_errno == ENOENT)
		return OUTFILE_REPLACE;
	else if (lstat_errno)
		*why = "cannot be looked up";
	else if (S_ISREG(mode))
		return OUTFILE_REPLACE;
	else if (S_ISCHR(mode) || S_ISFIFO(mode) || S_ISSOCK(mode))
		return OUTFILE_IN_PLACE;
	else if (S_ISLNK(mode))
		*why = "is a symbolic link, which tornwatch does not follow; give the file it "
		       "points to";
	else if (S_ISDIR(mode))
		*why = "is a directory; give a file name in it";
	else if (S_ISBLK(mode))
		*why = "is a block device, which tornwatch does not write over; give a file";
	else
		*why = "is not a file, a character device, a FIFO or a socket; give a file";
	return OUTFILE_REFUSED;
}

/* The kind of path as it is now on disk (lstat: a link is a link). */
static enum outfile_kind kind_now(const char *path, const char **why, int *lstat_errno)
{
	struct stat st;

	*lstat_errno = lstat(path, &st) ? errno : 0;
	return outfile_kind_of(path, *lstat_errno, *lstat_errno ? 0 : st.st_mode, why);
}

/* The one line for a refused path. */
static int refuse(const char *path, const char *opt, const char *why, int lstat_errno,
		  char *err, size_t errlen)
{
	if (lstat_errno && lstat_errno != ENOENT)
		snprintf(err, errlen, "%s: cannot write %s: %s", opt, path, strerror(lstat_errno));
	else
		snprintf(err, errlen, "%s: '%s' %s", opt, path, why);
	return -EINVAL;
}

/* Split path into its directory ("." when none) and last component. */
static int split_path(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		*dir = strdup(".");
	else if (slash == path)
		*dir = strdup("/");
	else
		*dir = strndup(path, slash - path);
	*base = strdup(slash ? slash + 1 : path);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		return -ENOMEM;
	}
	return 0;
}

int outfile_open_excl(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	return fd >= 0 ? fd : -errno;
}

static uint64_t random_u64(void)
{
	struct timespec ts;
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_nsec << 20) ^ ts.tv_sec ^ ((uint64_t)getpid() << 40);
}

/*
 * A new temporary file next to base, named base.tmp.RANDOM, created exclusively:
 * whatever someone planted under a name is never opened, a new name is drawn instead.
 * Mode 0666 is narrowed by the umask, as for any new file. Returns the fd or -errno.
 */
static int create_temp(int dirfd, const char *base, char **name)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (int tries = 0; tries < 100; tries++) {
		uint64_t r = random_u64();
		char suffix[13];
		int fd;

		for (int i = 0; i < 12; i++, r /= 36)
			suffix[i] = digits[r % 36];
		suffix[12] = '\0';
		/* NAME_MAX: a long base is cut in the temporary name only */
		if (asprintf(name, "%.200s.tmp.%s", base, suffix) < 0)
			return -ENOMEM;
		fd = outfile_open_excl(dirfd, *name, 0666);
		if (fd != -EEXIST)
			return fd;
		free(*name);
		*name = NULL;
	}
	return -EEXIST;
}

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd >= 0 ? fd : -errno;
}

/* A file to replace: can its directory take a new file? Creates one and removes it. */
static int check_replace(const char *path, const char *opt, char *err, size_t errlen)
{
	char *dir = NULL, *base = NULL, *tmp = NULL;
	int dirfd, fd, rc;

	rc = split_path(path, &dir, &base);
	if (rc)
		goto out;
	dirfd = open_dir(dir);
	if (dirfd < 0) {
		rc = dirfd;
		snprintf(err, errlen, "%s: cannot write %s: its directory %s: %s; create it or "
			 "choose another", opt, path, dir, strerror(-rc));
		goto out;
	}
	fd = create_temp(dirfd, base, &tmp);
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "%s: cannot write %s: cannot create a file in %s: %s; "
			 "choose a writable directory", opt, path, dir, strerror(-rc));
	} else {
		close(fd);
		unlinkat(dirfd, tmp, 0);
	}
	close(dirfd);
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", opt);
	free(dir);
	free(base);
	free(tmp);
	return rc;
}

int outfile_check(const char *path, const char *opt, char *err, size_t errlen)
{
	const char *why;
	int e;

	switch (kind_now(path, &why, &e)) {
	case OUTFILE_REFUSED:
		return refuse(path, opt, why, e, err, errlen);
	case OUTFILE_REPLACE:
		return check_replace(path, opt, err, errlen);
	case OUTFILE_IN_PLACE:	/* not opened: a FIFO's open would wait for a reader */
		if (access(path, W_OK)) {
			e = errno;
			snprintf(err, errlen, "%s: cannot write %s: %s", opt, path, strerror(e));
			return -e;
		}
		return 0;
	default:	/* standard output and error are open already */
		return 0;
	}
}

/*
 * Write all of buf to the fd. A FIFO or socket whose reader went away gives EPIPE,
 * not a SIGPIPE that would end tornwatch without its report: the signal is blocked
 * during the write and the one it raised taken back. The mask is restored before any
 * command is started, so a traced command inherits nothing of this.
 */
static ssize_t cookie_write(void *cookie, const char *buf, size_t size)
{
	struct outfile *of = cookie;
	sigset_t pipe, old;
	size_t done = 0;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe, &old);
	while (done < size && !of->err) {
		ssize_t n = write(of->fd, buf + done, size - done);

		if (n > 0)
			done += n;
		else if (n < 0 && errno != EINTR)
			of->err = errno;
		else if (!n)
			of->err = EIO;
	}
	if (of->err == EPIPE && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = {};

		sigtimedwait(&pipe, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return of->err ? -1 : (ssize_t)done;
}

static int open_stream(struct outfile *of)
{
	cookie_io_functions_t io = { .write = cookie_write };

	of->f = fopencookie(of, "w", io);
	if (!of->f)
		return -errno;
	setvbuf(of->f, NULL, _IOFBF, 64 << 10);
	return 0;
}

/* A unix socket is connected to, not opened. */
static int connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/*
 * A device, FIFO or socket: opened without O_CREAT or O_TRUNC, and not through a
 * link. What was opened is checked again: a regular file put there since the check
 * is refused rather than overwritten in place.
 */
static int open_in_place(struct outfile *of)
{
	struct stat st;

	if (!lstat(of->path, &st) && S_ISSOCK(st.st_mode)) {
		of->fd = connect_socket(of->path);
		return of->fd < 0 ? of->fd : 0;
	}
	do	/* a FIFO waits for its reader: a signal meanwhile does not give the report up */
		of->fd = open(of->path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	while (of->fd < 0 && errno == EINTR);
	if (of->fd < 0)
		return -errno;
	if (fstat(of->fd, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
		return -ESTALE;
	return 0;
}

static int open_replace(struct outfile *of)
{
	int rc = split_path(of->path, &of->dir, &of->base);

	if (rc)
		return rc;
	of->dirfd = open_dir(of->dir);
	if (of->dirfd < 0)
		return of->dirfd;
	of->fd = create_temp(of->dirfd, of->base, &of->tmp);
	return of->fd < 0 ? of->fd : 0;
}

static void outfile_free(struct outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	if (of->dirfd >= 0)
		close(of->dirfd);
	free(of->path);
	free(of->dir);
	free(of->base);
	free(of->tmp);
	free(of);
}

struct outfile *outfile__open(const char *path, const char *opt, char *err, size_t errlen)
{
	struct outfile *of = calloc(1, sizeof(*of));
	const char *why;
	int rc = -ENOMEM, e;

	if (!of || !(of->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", opt);
		free(of);
		return NULL;
	}
	of->opt = opt;
	of->fd = of->dirfd = -1;
	of->kind = kind_now(path, &why, &e);
	switch (of->kind) {
	case OUTFILE_REFUSED:
		refuse(path, opt, why, e, err, errlen);
		outfile_free(of);
		return NULL;
	case OUTFILE_STDOUT:
		of->f = stdout;
		return of;
	case OUTFILE_STDERR:
		of->f = stderr;
		return of;
	case OUTFILE_IN_PLACE:
		rc = open_in_place(of);
		break;
	case OUTFILE_REPLACE:
		rc = open_replace(of);
		break;
	}
	if (!rc)
		rc = open_stream(of);
	if (!rc)
		return of;
	if (rc == -ESTALE)
		snprintf(err, errlen, "%s: %s stopped being a device or FIFO while it was "
			 "opened; check what replaced it", opt, path);
	else
		snprintf(err, errlen, "%s: cannot write %s: %s", opt, path, strerror(-rc));
	outfile__discard(of);
	return NULL;
}

FILE *outfile__stream(const struct outfile *of)
{
	return of->f;
}

int outfile__error(const struct outfile *of)
{
	return of->err;
}

void outfile__discard(struct outfile *of)
{
	if (!of)
		return;
	of->err = ECANCELED;	/* what is still buffered is dropped, not written */
	if (of->f && of->kind != OUTFILE_STDOUT && of->kind != OUTFILE_STDERR)
		fclose(of->f);
	if (of->tmp && of->fd >= 0)
		unlinkat(of->dirfd, of->tmp, 0);
	outfile_free(of);
}

static void keep_error(struct outfile *of, int e)
{
	if (!of->err)
		of->err = e ? e : EIO;
}

/*
 * The replacement keeps the old file's permission bits, so that a reader it was
 * opened to (node_exporter's user, a CI user) still reads it, but without set-id,
 * sticky, or write bits for group and others (mode & 0755): the new file is the
 * writer's (owner and group are not copied), and whoever made the old one gets no
 * hold on it. Nothing else carries over: ACLs, xattrs, other hard links. A new file
 * gets 0666 narrowed by the umask.
 */
static void keep_mode(struct outfile *of)
{
	struct stat st;

	if (!fstatat(of->dirfd, of->base, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	    fchmod(of->fd, st.st_mode & 0755))
		keep_error(of, errno);
}

static void commit_replace(struct outfile *of)
{
	if (!of->err)
		keep_mode(of);
	if (!of->err && fsync(of->fd))
		keep_error(of, errno);
	if (close(of->fd) && errno != EINTR)
		keep_error(of, errno);
	of->fd = -1;
	if (!of->err && renameat(of->dirfd, of->tmp, of->dirfd, of->base))
		keep_error(of, errno);
	if (of->err) {
		unlinkat(of->dirfd, of->tmp, 0);	/* the path is left as it was */
		return;
	}
	free(of->tmp);
	of->tmp = NULL;	/* in place now: nothing to remove */
	/* The rename itself is durable once the directory is: EINVAL where it cannot be synced. */
	if (fsync(of->dirfd) && errno != EINVAL)
		keep_error(of, errno);
}

int outfile__commit(struct outfile *of, char *err, size_t errlen)
{
	int rc;

	errno = 0;
	if (fflush(of->f) || ferror(of->f))
		keep_error(of, errno);
	switch (of->kind) {
	case OUTFILE_REPLACE:
		fclose(of->f);
		of->f = NULL;
		commit_replace(of);
		break;
	case OUTFILE_IN_PLACE:
		fclose(of->f);
		of->f = NULL;
		if (close(of->fd) && errno != EINTR)
			keep_error(of, errno);
		of->fd = -1;
		break;
	default:
		break;
	}
	rc = -of->err;
	if (rc && of->kind == OUTFILE_REPLACE && of->tmp)
		snprintf(err, errlen, "%s: cannot write %s: %s; the file is left as it was",
			 of->opt, of->path, strerror(of->err));
	else if (rc)
		snprintf(err, errlen, "%s: cannot write %s: %s", of->opt, of->path,
			 strerror(of->err));
	outfile_free(of);
	return rc;
}

int outfile_write(const char *path, const char *opt, void (*fill)(FILE *f, const void *ctx),
		  const void *ctx, char *err, size_t errlen)
{
	struct outfile *of = outfile__open(path, opt, err, errlen);

	if (!of)
		return -EINVAL;
	fill(outfile__stream(of), ctx);
	return outfile__commit(of, err, errlen);
}

int outputs_check(const struct tw_opts *o, char *err, size_t errlen)
{
	if (o->record_path && outfile_is_stdout(o->record_path)) {
		snprintf(err, errlen, "--record: standard output carries the text report; give a "
			 "file or a FIFO");
		return -EINVAL;
	}
	if (o->json_path && outfile_check(o->json_path, "--json", err, errlen))
		return -EINVAL;
	if (o->prom_path && outfile_check(o->prom_path, "--prom", err, errlen))
		return -EINVAL;
	if (o->record_path && outfile_check(o->record_path, "--record", err, errlen))
		return -EINVAL;
	return 0;
}
