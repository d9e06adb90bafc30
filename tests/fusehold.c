// SPDX-License-Identifier: GPL-2.0
/*
 * fusehold: a FUSE filesystem with one regular file, /disk, whose writes can be held in
 * flight on purpose. Tests put a loop device on MOUNTPOINT/disk and a filesystem on the
 * loop device; while the hold is engaged, the upper filesystem's writeback I/O cannot
 * complete, so its pages stay under writeback until the test releases the hold.
 *
 *   fusehold --backing PATH [--size SIZE] [--hold-file PATH] [--status PATH]
 *            [--log PATH --log-data PATH] [-f] MOUNTPOINT
 *
 * /disk's bytes live in the backing file (created if missing, sized to SIZE), which can be
 * read after the run: it holds exactly what reached the "device". Reads are always served.
 * Writes (and fallocate, which the loop driver uses for discard and write-zeroes) are
 * served at once unless the hold file exists: then each one waits, polling every few ms,
 * until the hold file is removed (or the daemon is told to exit). The status file always
 * holds the number of requests currently waiting, one line, rewritten atomically (rename).
 *
 * With --log, every modifying request that succeeds (write, fsync, fallocate) is one line of
 * the log, appended in the order of the replies, with its receive and reply times
 * (CLOCK_MONOTONIC), and each write's bytes go to the --log-data file: tests/crash/ rebuilds
 * the disk at any moment from them (format: fusehold_log.h). A request whose log append fails
 * fails with EIO. Writes and fallocates are applied and logged under one mutex, so the
 * log's order is the order the backing file saw them; FUSE's max_write is then at most
 * LOG_MAX_WRITE, and noted in the log.
 *
 * Without -f the command returns once the filesystem is mounted and the daemon runs in the
 * background; unmounting MOUNTPOINT ends it, and so does SIGTERM (held writes then go on).
 * The request loop is multithreaded: a held write never keeps the daemon from serving other
 * requests (a loop device in buffered mode sends it only one at a time, though).
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fusehold_log.h"

#define DISK_NAME "disk"
#define DISK_PATH "/" DISK_NAME
#define DEFAULT_SIZE (512ULL << 20)	/* mkfs.xfs wants more than 300 MB */
#define POLL_NS (2 * 1000 * 1000)	/* how often a held request looks at the hold file */
#define MAX_THREADS 64
#define LOG_MAX_WRITE (128 << 10)	/* with --log: a FUSE write carries at most this */
#define LOG_MAX_BACKGROUND 64		/* with --log: async requests in flight at once */

struct hold {
	const char *backing;
	char *hold_path;		/* absolute: the daemon chdirs to / */
	char *status_path;
	char *status_tmp;
	uint64_t size;
	int fd;				/* the backing file */
	struct fuse_session *se;	/* to let held requests go when told to exit */
	pthread_mutex_t lock;		/* guards blocked, the status file, and the log */
	unsigned int blocked;
	char *log_path;			/* --log, --log-data: absolute */
	char *log_data_path;
	struct devlog *log;
};

static const char usage[] =
	"Usage: fusehold --backing PATH [--size SIZE] [--hold-file PATH] [--status PATH]\n"
	"                [--log PATH --log-data PATH] [-f] MOUNTPOINT\n"
	"A FUSE filesystem with one file, MOUNTPOINT/disk, backed by PATH, whose writes wait\n"
	"while the hold file exists.\n"
	"\n"
	"  -b, --backing PATH    file holding /disk's bytes (created, sized to SIZE)\n"
	"  -s, --size SIZE       size of /disk: bytes, or with k, M, G (default 512M)\n"
	"  -H, --hold-file PATH  while PATH exists, writes to /disk wait (default: never)\n"
	"  -S, --status PATH     keep the number of waiting writes in PATH (one line)\n"
	"  -l, --log PATH        a line per write, fsync and fallocate, in reply order\n"
	"  -L, --log-data PATH   the bytes of the logged writes, back to back\n"
	"  -f, --foreground      stay in the foreground (default: background once mounted)\n"
	"  -d, --debug           FUSE debug output (implies -f)\n"
	"  -h, --help            this text\n"
	"\n"
	"Examples:\n"
	"  fusehold -b /tmp/d.backing -H /tmp/d.hold -S /tmp/d.status /tmp/d.fuse\n"
	"  losetup -f --show /tmp/d.fuse/disk; touch /tmp/d.hold   # writes now wait\n"
	"  cat /tmp/d.status; rm /tmp/d.hold                        # count, then release\n"
	"  fusehold -b /tmp/d.backing -l /tmp/d.log -L /tmp/d.data /tmp/d.fuse  # record\n";

static struct hold *hold_of_ctx(void)
{
	return fuse_get_context()->private_data;
}

/* Rewrite the status file as "N\n" through a rename, so a reader never sees half a line. */
static void status_write(const struct hold *h)
{
	char line[16];
	int fd, n;

	if (!h->status_path)
		return;
	n = snprintf(line, sizeof(line), "%u\n", h->blocked);
	fd = open(h->status_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n) {
		close(fd);
		unlink(h->status_tmp);
		return;
	}
	close(fd);
	rename(h->status_tmp, h->status_path);
}

static void blocked_add(struct hold *h, int delta)
{
	pthread_mutex_lock(&h->lock);
	h->blocked += delta;
	status_write(h);
	pthread_mutex_unlock(&h->lock);
}

static int hold_engaged(const struct hold *h)
{
	return h->hold_path && access(h->hold_path, F_OK) == 0;
}

/* Called by every modifying request: wait while the hold file exists. */
static void hold_wait(struct hold *h)
{
	const struct timespec poll = { .tv_nsec = POLL_NS };

	if (!hold_engaged(h))
		return;
	blocked_add(h, 1);
	while (hold_engaged(h) && !fuse_session_exited(h->se))
		nanosleep(&poll, NULL);
	blocked_add(h, -1);
}

static int in_range(const struct hold *h, off_t off, size_t len)
{
	return off >= 0 && (uint64_t)off <= h->size && len <= h->size - (uint64_t)off;
}

static int hold_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct hold *h = hold_of_ctx();

	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (strcmp(path, DISK_PATH) == 0) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = h->size;
		st->st_blksize = 4096;
		st->st_blocks = h->size / 512;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int hold_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
			struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	if (strcmp(path, "/") != 0)
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, DISK_NAME, NULL, 0, 0);
	return 0;
}

static int hold_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, DISK_PATH) != 0)
		return -ENOENT;
	if (fi->flags & O_TRUNC)
		return -EPERM;
	return 0;
}

static int hold_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	return (uint64_t)size == hold_of_ctx()->size ? 0 : -EPERM;
}

static int hold_read(const char *path, char *buf, size_t len, off_t off,
		     struct fuse_file_info *fi)
{
	struct hold *h = hold_of_ctx();
	size_t done = 0;
	ssize_t n;

	if (off < 0 || (uint64_t)off >= h->size)
		return 0;
	if (len > h->size - off)
		len = h->size - off;
	while (done < len) {
		n = pread(h->fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {	/* a backing file shortened behind our back reads as zeros */
			memset(buf + done, 0, len - done);
			break;
		}
		done += n;
	}
	return len;
}

static int backing_write(struct hold *h, const char *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(h->fd, buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return len;
}

/* Under h->lock: the bytes to the log data file, then to the backing file, then the line. */
static int logged_write(struct hold *h, uint64_t seq, uint64_t recv_ns, const char *buf,
			size_t len, off_t off)
{
	int64_t data_off = devlog__data(h->log, buf, len);
	int ret;

	if (data_off < 0)
		return -EIO;
	ret = backing_write(h, buf, len, off);
	if (ret < 0) {
		fprintf(stderr, "fusehold: write of %zu bytes at %lld to the backing file: %s "
			"(not logged)\n", len, (long long)off, strerror(-ret));
		return ret;
	}
	if (devlog__write(h->log, seq, recv_ns, devlog_now_ns(), off, len, data_off, buf))
		return -EIO;
	return ret;
}

static int hold_write(const char *path, const char *buf, size_t len, off_t off,
		      struct fuse_file_info *fi)
{
	struct hold *h = hold_of_ctx();
	uint64_t recv_ns = devlog_now_ns(), seq;
	int ret;

	if (!in_range(h, off, len))
		return -ENOSPC;
	if (!h->log) {
		hold_wait(h);
		return backing_write(h, buf, len, off);
	}
	seq = devlog__next_seq(h->log);
	hold_wait(h);
	pthread_mutex_lock(&h->lock);
	ret = logged_write(h, seq, recv_ns, buf, len, off);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static int hold_fallocate(const char *path, int mode, off_t off, off_t len,
			  struct fuse_file_info *fi)
{
	struct hold *h = hold_of_ctx();
	uint64_t recv_ns = devlog_now_ns(), seq;
	int ret;

	if (len < 0 || !in_range(h, off, len))
		return -EINVAL;
	if (!h->log) {
		hold_wait(h);
		return fallocate(h->fd, mode, off, len) ? -errno : 0;
	}
	seq = devlog__next_seq(h->log);
	hold_wait(h);
	pthread_mutex_lock(&h->lock);
	ret = fallocate(h->fd, mode, off, len) ? -errno : 0;
	if (ret)
		fprintf(stderr, "fusehold: fallocate mode %#x of %lld at %lld: %s (not logged)\n",
			mode, (long long)len, (long long)off, strerror(-ret));
	else if (devlog__fallocate(h->log, seq, recv_ns, devlog_now_ns(), off, len, mode))
		ret = -EIO;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static int hold_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct hold *h = hold_of_ctx();
	uint64_t recv_ns = devlog_now_ns(), seq = h->log ? devlog__next_seq(h->log) : 0;
	int ret = (datasync ? fdatasync(h->fd) : fsync(h->fd)) ? -errno : 0;

	if (!h->log)
		return ret;
	if (ret) {
		fprintf(stderr, "fusehold: fsync of the backing file: %s (not logged)\n",
			strerror(-ret));
		return ret;
	}
	pthread_mutex_lock(&h->lock);
	if (devlog__fsync(h->log, seq, recv_ns, devlog_now_ns()))
		ret = -EIO;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/*
 * With --log: a known max_write (a block request of at most that is one FUSE write), and
 * room for LOG_MAX_BACKGROUND asynchronous requests at once (the kernel's default, 12, keeps
 * the loop's later direct-I/O writes queued in the kernel while the first ones are held),
 * both noted.
 */
static void *hold_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct hold *h = hold_of_ctx();

	if (h->log) {
		if (conn->max_write > LOG_MAX_WRITE)
			conn->max_write = LOG_MAX_WRITE;
		conn->max_background = LOG_MAX_BACKGROUND;
		devlog__note(h->log, "max_write %u max_background %u", conn->max_write,
			     conn->max_background);
	}
	return h;
}

static const struct fuse_operations hold_ops = {
	.init = hold_init,
	.getattr = hold_getattr,
	.readdir = hold_readdir,
	.open = hold_open,
	.truncate = hold_truncate,
	.read = hold_read,
	.write = hold_write,
	.fallocate = hold_fallocate,
	.fsync = hold_fsync,
};

/* SIZE: a number with an optional k, M or G; a positive multiple of 512. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> 1) >> shift || (v << shift) % 512)
		return -1;
	*out = v << shift;
	return 0;
}

/* The daemon chdirs to /: keep relative paths meaningful. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

/* One option of the command line: 0 to go on, 1 after --help, -1 on a bad one (said). */
static int parse_opt(int c, char **argv, struct hold *h, int *fg, int *debug)
{
	char **path;

	switch (c) {
	case 'b':
		h->backing = optarg;
		return 0;
	case 's':
		if (parse_size(optarg, &h->size)) {
			fprintf(stderr, "fusehold: --size: '%s' is not a size "
				"(a positive multiple of 512, k/M/G allowed)\n", optarg);
			return -1;
		}
		return 0;
	case 'H':
	case 'S':
	case 'l':
	case 'L':
		path = c == 'H' ? &h->hold_path : c == 'S' ? &h->status_path :
		       c == 'l' ? &h->log_path : &h->log_data_path;
		free(*path);
		*path = absolute(optarg);
		if (!*path) {
			fprintf(stderr, "fusehold: -%c: cannot make '%s' absolute: %s\n", c, optarg,
				strerror(errno));
			return -1;
		}
		return 0;
	case 'f':
		*fg = 1;
		return 0;
	case 'd':
		*debug = *fg = 1;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return 1;
	case ':':
		fprintf(stderr, "fusehold: %s needs an argument; see --help\n", argv[optind - 1]);
		return -1;
	default:
		if (optopt)
			fprintf(stderr, "fusehold: unknown option '-%c'; see --help\n", optopt);
		else
			fprintf(stderr, "fusehold: unknown option '%s'; see --help\n",
				argv[optind - 1]);
		return -1;
	}
}

/* What the options say together, once all are read: 0, or -1 (said). */
static int check_args(struct hold *h, int argc)
{
	if (!h->backing || optind != argc - 1) {
		fprintf(stderr, "fusehold: give --backing PATH and one MOUNTPOINT; see --help\n");
		return -1;
	}
	if (!h->log_path != !h->log_data_path) {
		fprintf(stderr, "fusehold: --log and --log-data go together; see --help\n");
		return -1;
	}
	if (h->status_path && asprintf(&h->status_tmp, "%s.tmp", h->status_path) < 0) {
		fprintf(stderr, "fusehold: out of memory\n");
		return -1;
	}
	return 0;
}

/* Returns 0 to go on, 1 to exit 0 (help), -1 to exit 2 (bad arguments). */
static int parse_args(int argc, char **argv, struct hold *h, const char **mnt, int *fg,
		      int *debug)
{
	static const struct option opts[] = {
		{ "backing", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "hold-file", required_argument, NULL, 'H' },
		{ "status", required_argument, NULL, 'S' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-data", required_argument, NULL, 'L' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:s:H:S:l:L:fdh", opts, NULL)) != -1) {
		err = parse_opt(c, argv, h, fg, debug);
		if (err)
			return err;
	}
	if (check_args(h, argc))
		return -1;
	*mnt = argv[optind];
	return 0;
}

static int open_backing(struct hold *h)
{
	h->fd = open(h->backing, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (h->fd < 0) {
		fprintf(stderr, "fusehold: cannot open backing file %s: %s\n", h->backing,
			strerror(errno));
		return -1;
	}
	if (ftruncate(h->fd, h->size)) {
		fprintf(stderr, "fusehold: cannot size backing file %s to %llu bytes: %s\n",
			h->backing, (unsigned long long)h->size, strerror(errno));
		return -1;
	}
	return 0;
}

static int run_loop(struct fuse *fuse)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int err;

	if (!cfg)
		return -1;
	fuse_loop_cfg_set_max_threads(cfg, MAX_THREADS);
	err = fuse_loop_mt(fuse, cfg);
	fuse_loop_cfg_destroy(cfg);
	return err;
}

int main(int argc, char **argv)
{
	struct hold h = { .size = DEFAULT_SIZE, .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	char *fargv[] = { argv[0], "-o", "fsname=fusehold", "-d", NULL };
	struct fuse_args fargs = FUSE_ARGS_INIT(3, fargv);
	struct fuse *fuse = NULL;
	const char *mnt = NULL;
	int fg = 0, debug = 0, mounted = 0, err;

	err = parse_args(argc, argv, &h, &mnt, &fg, &debug);
	if (err) {
		err = err > 0 ? 0 : 2;
		goto cleanup;
	}
	err = 1;
	if (open_backing(&h))
		goto cleanup;
	status_write(&h);
	if (h.log_path) {
		h.log = devlog__open(h.log_path, h.log_data_path, h.size);
		if (!h.log)
			goto cleanup;
	}
	fargs.argc += debug;
	fuse = fuse_new(&fargs, &hold_ops, sizeof(hold_ops), &h);
	if (!fuse) {
		fprintf(stderr, "fusehold: fuse_new failed\n");
		goto cleanup;
	}
	if (fuse_mount(fuse, mnt)) {
		fprintf(stderr, "fusehold: cannot mount on %s (see the message above)\n", mnt);
		goto cleanup;
	}
	mounted = 1;
	h.se = fuse_get_session(fuse);
	if (fuse_set_signal_handlers(h.se)) {
		fprintf(stderr, "fusehold: cannot set signal handlers\n");
		goto cleanup;
	}
	if (fuse_daemonize(fg)) {
		fprintf(stderr, "fusehold: cannot go to the background\n");
		goto cleanup;
	}
	err = run_loop(fuse) ? 1 : 0;
	fuse_remove_signal_handlers(h.se);
cleanup:
	if (mounted)
		fuse_unmount(fuse);
	if (fuse)
		fuse_destroy(fuse);
	if (h.fd >= 0)
		close(h.fd);
	free(h.hold_path);
	free(h.status_path);
	free(h.status_tmp);
	devlog__free(h.log);
	free(h.log_path);
	free(h.log_data_path);
	return err;
}
