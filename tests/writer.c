// SPDX-License-Identifier: GPL-2.0
/*
 * writer: the ground-truth workload of tornwatch's tests, demo and benchmark.
 * It writes exactly what its options say, so a test knows every unit's truth.
 *
 *   writer [options] FILE
 *     -m MODE     buffered (default), direct, dsync, atomic (O_DIRECT + RWF_ATOMIC),
 *                 aio (O_DIRECT through io_submit), aio-atomic (the same with RWF_ATOMIC),
 *                 aio-buffered (io_submit without O_DIRECT: the page cache),
 *                 aio-batch (O_DIRECT through io_submit, AIO_BATCH iocbs per call: a
 *                 thread's writes in order, each batch reaped before the next),
 *                 mmap (stores through one shared mapping of the whole range, made
 *                 before the first write; the file must already be that long; msync
 *                 only with -M), sync (O_SYNC), rwf-dsync (pwritev2
 *                 RWF_DSYNC), direct-dsync (O_DIRECT | O_DSYNC), atomic-buffered
 *                 (pwritev2 RWF_ATOMIC without O_DIRECT: refused by today's kernels),
 *                 atomic-2iov (RWF_ATOMIC with the bytes in two iovecs),
 *                 uring (buffered through io_uring: tests/writer_uring.c, -d, -U)
 *     -d DEPTH    uring: writes submitted with one io_uring_enter (default 1)
 *     -U OPTS     uring: vec, fixedbuf, fixedfile, sqpoll, skip, cq=N, dsync, atomic,
 *                 short=N, direct (see tests/writer_uring.c)
 *     -s SIZE     bytes per write (default 8192)
 *     -n COUNT    number of writes (default 1)
 *     -o OFFSET   offset of the first write (default 0)
 *     -g STRIDE   distance between write offsets (default SIZE)
 *     -R RANGE    random offsets instead: write i at a SIZE-aligned offset in
 *                 [OFFSET, OFFSET + RANGE), the same for every run (a fixed hash of i)
 *     -r          rewrite the first write's range once more before syncing
 *     -M N        mmap: msync(MS_SYNC) the mapping every N writes (after -r's rewrite)
 *     -y N        fdatasync every N writes (0: never; default: once at the end)
 *     -F          no sync at all (leave the data in the page cache)
 *     -w PATH     wait until PATH exists before the first write (for -p tests)
 *     -t          print the time per write (ns) and the CPU time (for bench/)
 *     -P          preallocate the file's range with zeros, synced, before writing
 *                 (with -R: the whole RANGE)
 *     -V          stamp every 512-byte sector of every write: magic, file offset, version
 *                 (write i of the run is version i + 1, -r's rewrite COUNT + 1, -P's
 *                 zeros become version 0), a pattern, a checksum (tests/writer_stamp.c);
 *                 SIZE, OFFSET, STRIDE and RANGE must be multiples of 512. In uring and
 *                 aio-batch modes each write in flight has its own slot of the buffer.
 *     -S USEC     sleep USEC microseconds after each write
 *     -B MEM      the memory the data is written from: private (default: posix_memalign),
 *                 shared (MAP_SHARED|MAP_ANONYMOUS), sysv (SysV shm), memfd (a memfd
 *                 mapped shared), hugetlb (MAP_HUGETLB shared anonymous: needs
 *                 vm.nr_hugepages; exits 77 without). PostgreSQL's shared buffers are
 *                 the shared kinds.
 *     -T THREADS  share the writes among THREADS threads (write i goes to thread i % T),
 *                 all started before the first write (and before -w's wait ends)
 *     -W          write back the first 4 KiB of each write on its own, before the rest:
 *                 the file's pages are first read one by one into 4 KiB folios (cache
 *                 dropped, readahead off), then each write is followed by
 *                 sync_file_range() of its first page. Every write reaches the device in
 *                 two writeback passes, so in two bios. Needs the range to exist (-P or
 *                 an earlier run).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/aio_abi.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "writer.h"

uint64_t parse_sz(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end == 'g' || *end == 'G')
		v <<= 30;
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *what)
{
	fprintf(stderr, "writer: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One write through Linux AIO (raw syscalls: no libaio needed): no write syscall at all. */
static ssize_t aio_write1(int fd, char *buf, uint64_t size, uint64_t off, int rwf)
{
	static aio_context_t ctx;
	struct iocb cb = {
		.aio_fildes = fd,
		.aio_lio_opcode = IOCB_CMD_PWRITE,
		.aio_buf = (uint64_t)(uintptr_t)buf,
		.aio_nbytes = size,
		.aio_offset = off,
		.aio_rw_flags = rwf,
	};
	struct iocb *cbs[1] = { &cb };
	struct io_event ev;

	if (!ctx && syscall(SYS_io_setup, 16, &ctx))
		die("io_setup");
	if (syscall(SYS_io_submit, ctx, 1, cbs) != 1)
		die("io_submit");
	if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1)
		die("io_getevents");
	if (ev.res < 0) {
		errno = -ev.res;
		return -1;
	}
	return ev.res;
}

#define AIO_BATCH 16

static int stamped;	/* -V */

/*
 * n writes of size bytes at offs[], as io_submit calls of up to AIO_BATCH iocbs (-r, -W, -y,
 * -S: ignored). Stamped (-V): iocb k of a batch writes from slot k of buf, version vers[].
 */
static void aio_batches(int fd, char *buf, uint64_t size, uint64_t *offs, uint64_t *vers,
			uint64_t n)
{
	static aio_context_t ctx;
	struct iocb cb[AIO_BATCH], *cbs[AIO_BATCH];
	struct io_event ev[AIO_BATCH];
	long got;

	if (!ctx && syscall(SYS_io_setup, AIO_BATCH, &ctx))
		die("io_setup");
	for (uint64_t i = 0; i < n; i += AIO_BATCH) {
		long nr = n - i < AIO_BATCH ? n - i : AIO_BATCH;

		for (long k = 0; k < nr; k++) {
			char *slot = stamped ? buf + k * size : buf;

			if (stamped)
				stamp_fill(slot, size, offs[i + k], vers[i + k]);
			cb[k] = (struct iocb){ .aio_fildes = fd, .aio_lio_opcode = IOCB_CMD_PWRITE,
					       .aio_buf = (uint64_t)(uintptr_t)slot,
					       .aio_nbytes = size, .aio_offset = offs[i + k] };
			cbs[k] = &cb[k];
		}
		if (syscall(SYS_io_submit, ctx, nr, cbs) != nr)
			die("io_submit");
		for (got = 0; got < nr;) {
			long r = syscall(SYS_io_getevents, ctx, nr - got, nr - got, ev, NULL);

			if (r <= 0)
				die("io_getevents");
			for (long k = 0; k < r; k++)
				if (ev[k].res != (long long)size) {
					fprintf(stderr, "writer: aio write: %lld of %llu\n",
						(long long)ev[k].res, (unsigned long long)size);
					exit(1);
				}
			got += r;
		}
	}
}

/* mmap mode: one shared mapping of the file's bytes [map_off, map_off + map_len). */
static char *map_base;
static uint64_t map_off, map_len;

static void map_range(int fd, uint64_t lo, uint64_t hi)
{
	map_off = lo & ~4095ULL;
	map_len = hi - map_off;
	map_base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map_off);
	if (map_base == MAP_FAILED)
		die("mmap");
}

/* A store of size bytes at off through the shared mapping: no write syscall at all. */
static ssize_t mmap_store(const char *buf, uint64_t size, uint64_t off)
{
	memcpy(map_base + (off - map_off), buf, size);
	return size;
}

static void do_write(int fd, const char *mode, char *buf, uint64_t size, uint64_t off)
{
	ssize_t n;

	if (!strcmp(mode, "mmap")) {
		n = mmap_store(buf, size, off);
	} else if (!strncmp(mode, "aio", 3)) {
		n = aio_write1(fd, buf, size, off, strcmp(mode, "aio-atomic") ? 0 : RWF_ATOMIC);
	} else if (!strcmp(mode, "atomic-2iov")) {
		struct iovec iov[2] = { { buf, size / 2 }, { buf + size / 2, size - size / 2 } };

		n = pwritev2(fd, iov, 2, off, RWF_ATOMIC);
	} else if (!strcmp(mode, "atomic") || !strcmp(mode, "atomic-buffered") ||
		   !strcmp(mode, "rwf-dsync")) {
		struct iovec iov = { .iov_base = buf, .iov_len = size };

		n = pwritev2(fd, &iov, 1, off, strcmp(mode, "rwf-dsync") ? RWF_ATOMIC : RWF_DSYNC);
	} else {
		n = pwrite(fd, buf, size, off);
	}
	if (n < 0)
		die("write");
	if ((uint64_t)n != size) {
		fprintf(stderr, "writer: short write %zd of %llu\n", n, (unsigned long long)size);
		exit(1);
	}
}

/* splitmix64: a fixed, well-mixed hash of the write's number (-R: the same offsets each run). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static unsigned uring_depth = 1;
static const char *uring_opts;

struct job {
	int fd;
	const char *mode;
	uint64_t size, off0, stride, count, first, step, range;
	long sync_every, msync_every;
	int rewrite, wb_split;
	long sleep_us;
};

static const char *mem_kind = "private";

/* SIZE bytes of the memory kind -B names, page aligned (see the usage above). */
static char *buf_alloc(uint64_t size)
{
	uint64_t len = (size + (2 << 20) - 1) & ~((2ULL << 20) - 1);	/* fits a huge page */
	void *p = MAP_FAILED;
	int fd, id;

	if (!strcmp(mem_kind, "private")) {
		if (posix_memalign(&p, 4096, size))
			die("posix_memalign");
		return p;
	}
	if (!strcmp(mem_kind, "shared")) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(mem_kind, "hugetlb")) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "writer: no huge pages (vm.nr_hugepages): %s\n",
				strerror(errno));
			exit(77);
		}
	} else if (!strcmp(mem_kind, "memfd")) {
		fd = memfd_create("writer-buf", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, len))
			die("memfd_create");
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	} else if (!strcmp(mem_kind, "sysv")) {
		id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
		if (id < 0)
			die("shmget");
		p = shmat(id, NULL, 0);
		shmctl(id, IPC_RMID, NULL);	/* gone once detached */
		if (p == (void *)-1)
			die("shmat");
		return p;
	} else {
		fprintf(stderr, "writer: -B %s: give private, shared, sysv, memfd or hugetlb\n",
			mem_kind);
		exit(2);
	}
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void buf_free(char *p, uint64_t size)
{
	if (!strcmp(mem_kind, "private"))
		free(p);
	else if (!strcmp(mem_kind, "sysv"))
		shmdt(p);
	else
		munmap(p, (size + (2 << 20) - 1) & ~((2ULL << 20) - 1));
}

static volatile int go;	/* set once -w's file exists: the threads start writing */

/* Write i's offset: in order, or (-R) a fixed hash of i. */
static uint64_t job_off(const struct job *j, uint64_t i)
{
	return j->range ? j->off0 + mix64(i) % (j->range / j->size) * j->size :
			  j->off0 + i * j->stride;
}

/* Stamped, writes in flight at once need a buffer slot each. */
static uint64_t job_slots(const struct job *j)
{
	if (!stamped)
		return 1;
	if (!strcmp(j->mode, "uring"))
		return uring_depth;
	if (!strcmp(j->mode, "aio-batch"))
		return AIO_BATCH;
	return 1;
}

/* Writes first, first + step, ... of the run: one thread's share. */
static void *run_job(void *arg)
{
	struct job *j = arg;
	uint64_t len = j->size * job_slots(j);
	char *buf;

	while (!go)
		usleep(1000);
	buf = buf_alloc(len);
	memset(buf, 0xa5, len);
	if (!strcmp(j->mode, "uring")) {
		uring_writes(j->fd, buf, j->size, j->count, j->off0, j->stride, uring_depth,
			     uring_opts, stamped);
		buf_free(buf, len);
		return NULL;
	}
	if (!strcmp(j->mode, "aio-batch")) {
		uint64_t n = 0, *offs = calloc(j->count, sizeof(*offs));
		uint64_t *vers = calloc(j->count, sizeof(*vers));

		if (!offs || !vers)
			die("calloc");
		for (uint64_t i = j->first; i < j->count; i += j->step) {
			offs[n] = job_off(j, i);
			vers[n++] = i + 1;
		}
		aio_batches(j->fd, buf, j->size, offs, vers, n);
		free(offs);
		free(vers);
		buf_free(buf, len);
		return NULL;
	}
	for (uint64_t i = j->first; i < j->count; i += j->step) {
		uint64_t off = job_off(j, i);

		if (stamped)
			stamp_fill(buf, j->size, off, i + 1);
		do_write(j->fd, j->mode, buf, j->size, off);
		if (j->rewrite && i == 0) {
			if (stamped)
				stamp_fill(buf, j->size, off, j->count + 1);
			do_write(j->fd, j->mode, buf, j->size, off);
		}
		if (j->wb_split && sync_file_range(j->fd, off, 4096,
						   SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
							   SYNC_FILE_RANGE_WAIT_AFTER))
			die("sync_file_range");
		if (j->sync_every > 0 && (long)((i + 1) % j->sync_every) == 0 && fdatasync(j->fd))
			die("fdatasync");
		if (j->msync_every > 0 && (long)((i + 1) % j->msync_every) == 0 &&
		    msync(map_base, map_len, MS_SYNC))
			die("msync");
		if (j->sleep_us)
			usleep(j->sleep_us);
	}
	buf_free(buf, len);
	return NULL;
}

/* -P: the range written through an ordinary fd and synced: zeros, or (-V) version 0. */
static void preallocate(const char *path, uint64_t off0, uint64_t chunk, uint64_t n)
{
	int pfd = open(path, O_WRONLY | O_CREAT, 0644);
	char *z = calloc(1, chunk);

	if (pfd < 0 || !z)
		die("prealloc");
	for (uint64_t i = 0; i < n; i++) {
		if (stamped)
			stamp_fill(z, chunk, off0 + i * chunk, 0);
		if (pwrite(pfd, z, chunk, off0 + i * chunk) != (ssize_t)chunk)
			die("prealloc write");
	}
	if (fsync(pfd))
		die("prealloc fsync");
	close(pfd);
	free(z);
}

/* The command line (see the usage above); -B, -d, -U and -V are the globals above. */
struct opts {
	uint64_t size, count, off0, stride, range;
	const char *mode, *wait_path, *path;
	int rewrite, timing, prealloc, wb_split, nthreads;
	long sleep_us, sync_every, msync_every;
};

/* The options into o: 0, or 2 (said) when one is unknown or no single FILE follows. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "m:s:n:o:g:R:ry:M:Fw:tPWT:S:B:d:U:V")) != -1) {
		switch (c) {
		case 'm': o->mode = optarg; break;
		case 's': o->size = parse_sz(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 10); break;
		case 'o': o->off0 = parse_sz(optarg); break;
		case 'g': o->stride = parse_sz(optarg); break;
		case 'R': o->range = parse_sz(optarg); break;
		case 'r': o->rewrite = 1; break;
		case 'y': o->sync_every = strtol(optarg, NULL, 10); break;
		case 'M': o->msync_every = strtol(optarg, NULL, 10); break;
		case 'F': o->sync_every = -2; break;
		case 'w': o->wait_path = optarg; break;
		case 't': o->timing = 1; break;
		case 'P': o->prealloc = 1; break;
		case 'W': o->wb_split = 1; break;
		case 'T': o->nthreads = atoi(optarg); break;
		case 'S': o->sleep_us = atol(optarg); break;
		case 'B': mem_kind = optarg; break;
		case 'd': uring_depth = strtoul(optarg, NULL, 10); break;
		case 'U': uring_opts = optarg; break;
		case 'V': stamped = 1; break;
		default:
			fprintf(stderr, "usage: writer [-m mode] [-B mem] [-s size] [-n count] [-o off] "
				"[-g stride] [-R range] [-r] [-y N] [-M N] [-F] [-w path] [-t] [-P] "
				"[-V] FILE\n");
			return 2;
		}
	}
	if (optind != argc - 1 || !o->size) {
		fprintf(stderr, "writer: one FILE and a size > 0, please\n");
		return 2;
	}
	o->path = argv[optind];
	return 0;
}

/* The options that do not go together: 0, or 2 (said). Sets the default stride. */
static int check_args(struct opts *o)
{
	if (!o->stride)
		o->stride = o->size;
	if (o->range && (o->range < o->size || o->wb_split || o->rewrite)) {
		fprintf(stderr, "writer: -R takes a range of at least SIZE, and goes with neither "
			"-W nor -r\n");
		return 2;
	}
	if (stamped && ((o->size | o->off0 | o->stride | o->range) % STAMP_SECTOR)) {
		fprintf(stderr, "writer: -V needs SIZE, OFFSET, STRIDE and RANGE in multiples of "
			"%d\n", STAMP_SECTOR);
		return 2;
	}
	if (o->nthreads < 1 || o->nthreads > 64 ||
	    (o->nthreads > 1 && (o->rewrite || o->wb_split))) {
		fprintf(stderr, "writer: -T takes 1 to 64, and goes with neither -r nor -W\n");
		return 2;
	}
	return 0;
}

/* The open flags of -m's mode into *flags: 0, or 2 (said) for an unknown mode or bad uring. */
static int mode_flags(const struct opts *o, int *flags)
{
	const char *mode = o->mode;

	if (!strcmp(mode, "direct") || !strcmp(mode, "atomic") || !strcmp(mode, "aio") ||
	    !strcmp(mode, "aio-atomic") || !strcmp(mode, "atomic-2iov") ||
	    !strcmp(mode, "aio-batch"))
		*flags |= O_DIRECT;
	else if (!strcmp(mode, "direct-dsync"))
		*flags |= O_DIRECT | O_DSYNC;
	else if (!strcmp(mode, "dsync"))
		*flags |= O_DSYNC;
	else if (!strcmp(mode, "sync"))
		*flags |= O_SYNC;
	else if (!strcmp(mode, "rwf-dsync") || !strcmp(mode, "atomic-buffered") ||
		 !strcmp(mode, "aio-buffered"))
		;	/* the flag goes with each pwritev2 */
	else if (!strcmp(mode, "uring")) {
		if (o->nthreads > 1 || o->rewrite || o->wb_split || o->range || o->sync_every > 0 ||
		    uring_depth < 1 || uring_depth > 1024) {
			fprintf(stderr, "writer: -m uring takes -d 1..1024, and none of -T, -r, -W, "
				"-R, -y N\n");
			return 2;
		}
		if (uring_opts && strstr(uring_opts, "direct"))
			*flags |= O_DIRECT;
	} else if (!strcmp(mode, "mmap"))
		*flags = (*flags & ~O_WRONLY) | O_RDWR;	/* a shared writable mapping needs both */
	else if (strcmp(mode, "buffered")) {
		fprintf(stderr, "writer: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

/* -W: the range's pages read one by one into order-0 folios, written back page by page. */
static void read_order0_pages(int fd, const struct opts *o)
{
	char page[4096];

	if (fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) ||
	    posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM))
		die("fadvise");
	for (uint64_t off = o->off0; off < o->off0 + o->count * o->stride; off += sizeof(page))
		if (pread(fd, page, sizeof(page), off) != sizeof(page))
			die("pread (the range must exist: -P)");
}

/* The file, preallocated first with -P, opened with flags (and made ready for -W). */
static int open_file(const struct opts *o, int flags)
{
	int fd;

	if (o->prealloc && o->range)
		preallocate(o->path, o->off0, o->size, o->range / o->size);
	else if (o->prealloc)
		preallocate(o->path, o->off0, o->stride, o->count);

	if (o->wb_split)
		flags = (flags & ~O_WRONLY) | O_RDWR;
	fd = open(o->path, flags, 0644);
	if (fd < 0)
		die(o->path);
	if (o->wb_split)
		read_order0_pages(fd, o);
	return fd;
}

/* Each thread's share of the writes; with -T, its thread started (it waits for go). */
static void start_jobs(const struct opts *o, int fd, struct job *jobs, pthread_t *th)
{
	for (int i = 0; i < o->nthreads; i++) {
		jobs[i] = (struct job){ .fd = fd, .mode = o->mode, .size = o->size, .off0 = o->off0,
					.stride = o->stride, .count = o->count, .first = i,
					.step = o->nthreads, .range = o->range,
					.sync_every = o->sync_every, .msync_every = o->msync_every,
					.rewrite = o->rewrite, .wb_split = o->wb_split,
					.sleep_us = o->sleep_us };
		if (o->nthreads > 1 && pthread_create(&th[i], NULL, run_job, &jobs[i]))
			die("pthread_create");
	}
}

/* -w: our pid on stdout, then wait until path exists. */
static void wait_for(const char *path)
{
	struct stat st;

	printf("%d\n", (int)getpid());
	fflush(stdout);
	while (stat(path, &st))
		usleep(10000);
}

/* The writes, then the one fsync at the end unless -y or -F said otherwise; -t's line. */
static void run_jobs(const struct opts *o, int fd, struct job *jobs, pthread_t *th)
{
	struct rusage ru;
	double t0, t1;

	t0 = now();
	go = 1;
	if (o->nthreads > 1) {
		for (int i = 0; i < o->nthreads; i++)
			pthread_join(th[i], NULL);
	} else {
		run_job(&jobs[0]);
	}
	if (o->sync_every == -1 && fsync(fd))
		die("fsync");
	t1 = now();
	if (o->timing) {
		getrusage(RUSAGE_SELF, &ru);
		printf("writes %llu seconds %.6f cpu_us %.0f\n", (unsigned long long)o->count,
		       t1 - t0, ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
					ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .size = 8192, .count = 1, .mode = "buffered", .nthreads = 1,
			  .sync_every = -1 };
	int fd, flags = O_WRONLY | O_CREAT, err;
	pthread_t th[64];
	struct job jobs[64];

	err = parse_args(argc, argv, &o);
	if (!err)
		err = check_args(&o);
	if (!err)
		err = mode_flags(&o, &flags);
	if (err)
		return err;
	fd = open_file(&o, flags);
	/* checked after the open, as it always was: the file is created first */
	if (o.msync_every && strcmp(o.mode, "mmap")) {
		fprintf(stderr, "writer: -M goes with -m mmap\n");
		return 2;
	}
	if (!strcmp(o.mode, "mmap"))
		map_range(fd, o.off0, o.range ? o.off0 + o.range :
						o.off0 + (o.count - 1) * o.stride + o.size);
	/* Threads exist before the wait ends: a -p attach finds them all running. */
	start_jobs(&o, fd, jobs, th);
	if (o.wait_path)
		wait_for(o.wait_path);
	run_jobs(&o, fd, jobs, th);
	close(fd);
	return 0;
}
