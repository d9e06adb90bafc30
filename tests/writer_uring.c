// SPDX-License-Identifier: GPL-2.0
/*
 * writer -m uring: the writes through io_uring, with raw syscalls (no liburing), so a test
 * knows every request it made: which opcode, buffer, file slot and flags, how many were in
 * flight at once, and what each CQE said. -U takes a comma-separated list:
 *
 *   vec        IORING_OP_WRITEV (two iovecs per write) instead of IORING_OP_WRITE
 *   fixedbuf   the buffer registered: WRITE_FIXED (WRITEV_FIXED with vec; exits 77 where
 *              the kernel has no such opcode)
 *   fixedfile  the file registered: IOSQE_FIXED_FILE, slot 0
 *   sqpoll     IORING_SETUP_SQPOLL: a kernel thread of the process submits
 *   skip       IOSQE_CQE_SKIP_SUCCESS on every write, each batch linked (IOSQE_IO_LINK)
 *              to a NOP that posts the only CQE (drain is refused with skip)
 *   cq=N       a CQ ring of N entries, reaped only after every write was submitted: the
 *              CQEs past N overflow (prints "cq_overflow 1" once the kernel flags it)
 *   dsync      RWF_DSYNC on every write
 *   atomic     RWF_ATOMIC on every write (buffered: refused); prints "refused N"
 *   short=N    RLIMIT_FSIZE at N bytes: the write across N is short, later ones fail;
 *              prints "short N" and "refused N"
 *   direct     the file opened O_DIRECT (tests/writer.c): direct writes through io_uring
 *
 * -d DEPTH writes are submitted with one io_uring_enter (default 1).
 * Stamped (-V), buf holds DEPTH slots: the n-th write of a batch is written from slot n,
 * stamped just before its SQE is queued; the fixed buffer registered is all the slots.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "writer.h"

#ifndef IORING_OP_WRITEV_FIXED
#define IORING_OP_WRITEV_FIXED 61	/* 6.15 */
#endif

static int saw_overflow;	/* io_uring_enter said -EBUSY: CQEs wait on the overflow list */

struct ring {
	int fd;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned sq_entries;
};

struct uopts {
	int vec, fixedbuf, fixedfile, sqpoll, skip, dsync, atomic;
	unsigned cq;
	uint64_t short_at;
};

static struct uopts parse_uopts(const char *s)
{
	struct uopts o = {};
	char *dup = strdup(s ? s : ""), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "vec"))
			o.vec = 1;
		else if (!strcmp(tok, "fixedbuf"))
			o.fixedbuf = 1;
		else if (!strcmp(tok, "fixedfile"))
			o.fixedfile = 1;
		else if (!strcmp(tok, "sqpoll"))
			o.sqpoll = 1;
		else if (!strcmp(tok, "skip"))
			o.skip = 1;
		else if (!strcmp(tok, "dsync"))
			o.dsync = 1;
		else if (!strcmp(tok, "atomic"))
			o.atomic = 1;
		else if (!strcmp(tok, "direct"))
			;	/* the open's O_DIRECT: tests/writer.c */
		else if (!strncmp(tok, "cq=", 3))
			o.cq = strtoul(tok + 3, NULL, 10);
		else if (!strncmp(tok, "short=", 6))
			o.short_at = parse_sz(tok + 6);
		else {
			fprintf(stderr, "writer: -U %s: unknown (see tests/writer_uring.c)\n", tok);
			exit(2);
		}
	}
	free(dup);
	return o;
}

static void *map_ring(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);

	if (p == MAP_FAILED)
		die("mmap io_uring");
	return p;
}

static void ring_init(struct ring *r, unsigned entries, const struct uopts *o)
{
	struct io_uring_params p = {};
	char *sq, *cq;

	if (o->sqpoll) {
		p.flags |= IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 1000;
	}
	if (o->cq) {
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = o->cq;
	}
	r->fd = syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0)
		die("io_uring_setup");
	if (o->cq && !(p.features & IORING_FEAT_NODROP)) {
		fprintf(stderr, "writer: this kernel drops overflowed CQEs (no IORING_FEAT_NODROP)\n");
		exit(77);
	}
	sq = map_ring(r->fd, p.sq_off.array + p.sq_entries * sizeof(unsigned),
		      IORING_OFF_SQ_RING);
	cq = map_ring(r->fd, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		      IORING_OFF_CQ_RING);
	r->sqes = map_ring(r->fd, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
	r->sq_head = (unsigned *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	r->sq_entries = p.sq_entries;
}

/* The kernel's IORING_REGISTER_PROBE: whether it knows the opcode. */
static int op_supported(struct ring *r, unsigned op)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);
	int ok;

	if (!p || syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_PROBE, p, 256))
		die("IORING_REGISTER_PROBE");
	ok = op <= p->last_op && (p->ops[op].flags & IO_URING_OP_SUPPORTED);
	free(p);
	return ok;
}

/* The next free SQE, zeroed; the kernel sees it only once sqe_queue() publishes it. */
static struct io_uring_sqe *sqe_get(struct ring *r)
{
	unsigned tail = *r->sq_tail;
	struct io_uring_sqe *sqe;

	if (tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) >= r->sq_entries) {
		fprintf(stderr, "writer: the SQ ring is full\n");
		exit(1);
	}
	sqe = &r->sqes[tail & *r->sq_mask];
	memset(sqe, 0, sizeof(*sqe));
	r->sq_array[tail & *r->sq_mask] = tail & *r->sq_mask;
	return sqe;
}

/*
 * Publish the SQE sqe_get() gave, once filled: with SQPOLL the kernel thread may take an SQE
 * as soon as the tail moves past it.
 */
static void sqe_queue(struct ring *r)
{
	__atomic_store_n(r->sq_tail, *r->sq_tail + 1, __ATOMIC_RELEASE);
}

static int enter(struct ring *r, unsigned submit, unsigned wait, unsigned flags)
{
	int n = syscall(__NR_io_uring_enter, r->fd, submit, wait, flags, NULL, 0);

	return n < 0 ? -errno : n;
}

/* Hand the queued SQEs to the kernel: io_uring_enter, or a wake-up of the SQ thread. */
static void submit(struct ring *r, unsigned n, const struct uopts *o)
{
	int ret;

	if (o->sqpoll) {
		if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP)
			enter(r, 0, 0, IORING_ENTER_SQ_WAKEUP);
		while (__atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) != *r->sq_tail)
			usleep(100);	/* taken by the SQ thread */
		return;
	}
	while ((ret = enter(r, n, 0, 0)) == -EBUSY || ret == -EAGAIN) {
		saw_overflow |= ret == -EBUSY;
		enter(r, 0, 1, IORING_ENTER_GETEVENTS);	/* CQ backlog: let it drain */
	}
	if (ret != (int)n) {
		errno = ret < 0 ? -ret : EIO;
		die("io_uring_enter (submit)");
	}
}

/* The next CQE, waiting for it if need be. */
static void cqe_next(struct ring *r, struct io_uring_cqe *c)
{
	unsigned head = *r->cq_head;

	while (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
		int ret = enter(r, 0, 1, IORING_ENTER_GETEVENTS);

		if (ret < 0 && ret != -EINTR && ret != -EBUSY) {
			errno = -ret;
			die("io_uring_enter (wait)");
		}
	}
	*c = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
}

struct tally {
	uint64_t refused, shorts, overflowed;
};

/* A write's CQE: all it asked, or (as -U said) short or refused; anything else ends us. */
static void check_cqe(const struct io_uring_cqe *c, uint64_t size, const struct uopts *o,
		      struct tally *t)
{
	if (c->res == (int)size)
		return;
	if (c->res >= 0 && (uint64_t)c->res < size && o->short_at) {
		t->shorts++;
		return;
	}
	if (c->res < 0 && (o->atomic || o->short_at)) {
		t->refused++;
		return;
	}
	errno = c->res < 0 ? -c->res : EIO;
	fprintf(stderr, "writer: io_uring write %llu: res %d of %llu\n",
		(unsigned long long)c->user_data, c->res, (unsigned long long)size);
	exit(1);
}

/* One run of uring_writes(): what its SQEs and CQEs need. */
struct urun {
	struct ring r;
	struct uopts o;
	struct tally t;
	char *buf;		/* stamped: depth slots of size bytes */
	struct iovec *iov;	/* each slot's two iovecs (unstamped: every write uses slot 0) */
	uint64_t size, off0, stride;
	int rfd;		/* the SQEs' file: its fd, or slot 0 of the registered files */
	int stamped;
};

/* Each slot's two iovecs, for -U vec. */
static struct iovec *slot_iovecs(char *buf, uint64_t size, unsigned depth, int stamped)
{
	struct iovec *iov = calloc(2 * depth, sizeof(*iov));

	if (!iov)
		die("calloc");
	for (unsigned k = 0; k < depth; k++) {
		char *slot = stamped ? buf + k * size : buf;

		iov[2 * k] = (struct iovec){ slot, size / 2 };
		iov[2 * k + 1] = (struct iovec){ slot + size / 2, size - size / 2 };
	}
	return iov;
}

/* The ring, then what -U registers with it (buffer, file) and short=N's file size limit. */
static void urun_setup(struct urun *u, int fd, unsigned depth)
{
	struct iovec whole = { u->buf, u->stamped ? u->size * depth : u->size };

	ring_init(&u->r, depth + 1, &u->o);
	if (u->o.vec && u->o.fixedbuf && !op_supported(&u->r, IORING_OP_WRITEV_FIXED)) {
		fprintf(stderr, "writer: no IORING_OP_WRITEV_FIXED in this kernel (6.15)\n");
		exit(77);
	}
	if (u->o.fixedbuf &&
	    syscall(__NR_io_uring_register, u->r.fd, IORING_REGISTER_BUFFERS, &whole, 1))
		die("IORING_REGISTER_BUFFERS");
	u->rfd = fd;
	if (u->o.fixedfile) {
		if (syscall(__NR_io_uring_register, u->r.fd, IORING_REGISTER_FILES, &fd, 1))
			die("IORING_REGISTER_FILES");
		u->rfd = 0;
	}
	if (u->o.short_at) {
		struct rlimit rl = { u->o.short_at, u->o.short_at };

		signal(SIGXFSZ, SIG_IGN);	/* a write past the limit fails with EFBIG */
		if (setrlimit(RLIMIT_FSIZE, &rl))
			die("setrlimit");
	}
}

/* Write i of the run, from slot n of the buffer, queued (stamped just before). */
static void queue_write(struct urun *u, unsigned n, uint64_t i)
{
	const struct uopts *o = &u->o;
	char *slot = u->stamped ? u->buf + n * u->size : u->buf;
	struct io_uring_sqe *sqe;

	if (u->stamped)
		stamp_fill(slot, u->size, u->off0 + i * u->stride, i + 1);
	sqe = sqe_get(&u->r);
	sqe->fd = u->rfd;
	sqe->off = u->off0 + i * u->stride;
	sqe->user_data = i;
	if (o->vec) {
		sqe->opcode = o->fixedbuf ? IORING_OP_WRITEV_FIXED : IORING_OP_WRITEV;
		sqe->addr = (uintptr_t)&u->iov[u->stamped ? 2 * n : 0];
		sqe->len = 2;
	} else {
		sqe->opcode = o->fixedbuf ? IORING_OP_WRITE_FIXED : IORING_OP_WRITE;
		sqe->addr = (uintptr_t)slot;
		sqe->len = u->size;
	}
	sqe->buf_index = 0;
	sqe->rw_flags = (o->dsync ? RWF_DSYNC : 0) | (o->atomic ? RWF_ATOMIC : 0);
	sqe->flags = (o->fixedfile ? IOSQE_FIXED_FILE : 0) |
		     (o->skip ? IOSQE_CQE_SKIP_SUCCESS | IOSQE_IO_LINK : 0);
	sqe_queue(&u->r);
}

/* Up to depth writes from *i on, and with -U skip the NOP after them; how many SQEs. */
static unsigned queue_batch(struct urun *u, unsigned depth, uint64_t count, uint64_t *i)
{
	unsigned n = 0;

	for (; n < depth && *i < count; n++, (*i)++)
		queue_write(u, n, *i);
	if (u->o.skip) {	/* runs after the chain of writes: its CQE is the batch's */
		struct io_uring_sqe *sqe = sqe_get(&u->r);

		sqe->opcode = IORING_OP_NOP;
		sqe->user_data = ~0ULL;
		sqe_queue(&u->r);
		n++;
	}
	return n;
}

/* The batch's CQEs, each write's checked; with -U skip, the NOP's alone when all went well. */
static void reap_batch(struct urun *u, uint64_t pending)
{
	while (pending) {
		struct io_uring_cqe c;

		cqe_next(&u->r, &c);
		if (c.user_data != ~0ULL) {
			check_cqe(&c, u->size, &u->o, &u->t);
			pending--;
		} else if (c.res) {
			errno = -c.res;
			die("io_uring NOP after the skipped writes");
		} else {
			pending = 0;	/* every write of the chain succeeded, silently */
		}
	}
}

/* -U cq=N: every CQE reaped at the end, once one waits on the overflow list. */
static void reap_overflowed(struct urun *u, uint64_t pending)
{
	/* Until a CQE waits on the overflow list (10 s at most: then "0" fails the test). */
	for (int ms = 0; ms < 10000 && pending > u->o.cq && !saw_overflow; ms++) {
		if (__atomic_load_n(u->r.sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW)
			saw_overflow = 1;
		else
			usleep(1000);
	}
	u->t.overflowed = saw_overflow;
	for (; pending; pending--) {
		struct io_uring_cqe c;

		cqe_next(&u->r, &c);
		check_cqe(&c, u->size, &u->o, &u->t);
	}
	printf("cq_overflow %llu\n", (unsigned long long)u->t.overflowed);
}

void uring_writes(int fd, char *buf, uint64_t size, uint64_t count, uint64_t off0,
		  uint64_t stride, unsigned depth, const char *opts, int stamped)
{
	struct urun u = { .o = parse_uopts(opts), .buf = buf, .size = size, .off0 = off0,
			  .stride = stride, .stamped = stamped };
	uint64_t i = 0, pending = 0;

	if (!depth)
		depth = 1;
	if (stamped && u.o.cq) {
		fprintf(stderr, "writer: -V and -U cq=N: a slot would be stamped again while its "
			"write may still be in flight\n");
		exit(2);
	}
	u.iov = slot_iovecs(buf, size, depth, stamped);
	urun_setup(&u, fd, depth);
	while (i < count) {
		unsigned n = queue_batch(&u, depth, count, &i);

		submit(&u.r, n, &u.o);
		pending += n;
		if (u.o.cq)	/* reaped at the end: let the CQ ring fill and overflow */
			continue;
		reap_batch(&u, pending);
		pending = 0;
	}
	if (u.o.cq)
		reap_overflowed(&u, pending);
	if (u.o.atomic || u.o.short_at)
		printf("refused %llu\n", (unsigned long long)u.t.refused);
	if (u.o.short_at)
		printf("short %llu\n", (unsigned long long)u.t.shorts);
	fflush(stdout);
	close(u.r.fd);
	free(u.iov);
}
