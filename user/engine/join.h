/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The join (join.c): bios (t->bios) and the pieces of units they carry, requests (t->rqs);
 * what the join could not place is counted in t->join.
 */
#ifndef TW_ENGINE_JOIN_H
#define TW_ENGINE_JOIN_H

#include "engine.h"

struct piece {
	struct unit *u;
	uint64_t start, len;	/* in the byte coordinates of the original bio */
};

struct bio_rec {
	struct hkey k;		/* the kernel's bio address */
	uint64_t id;
	uint64_t ts;		/* queued at */
	uint32_t trigger;
	uint32_t tid;		/* the thread it was queued in */
	bool dio;		/* a direct write's (TW_BIO_DIO) */
	uint64_t cur, end;	/* the bytes this bio still carries */
	struct piece *p;
	uint32_t np, cap;
	uint64_t rq_id;		/* the request that carries it now, 0: not issued */
	uint32_t dev;		/* that request's device */
};

struct rq_rec {
	struct hkey k;		/* the kernel's request address */
	uint64_t id;
	uint64_t sector;	/* where it starts on the device */
	bool completed;
};

struct bio_rec *bio_get(struct tracker *t, uint64_t ptr);
void bio_free(struct tracker *t, struct bio_rec *b);
void on_bio_queue(struct tracker *t, const struct tw_bio_ev *e);
void on_bio_split(struct tracker *t, const struct tw_split_ev *e);
bool piece_window(const struct piece *pc, uint64_t lo, uint64_t hi, uint64_t *len);
void on_rq_issue(struct tracker *t, const struct tw_rq_ev *e);
void bio_done_bytes(struct tracker *t, struct bio_rec *b, uint64_t bytes, int error,
		    uint64_t ts, uint32_t dev);
void on_rq_complete(struct tracker *t, const struct tw_rq_ev *e);

#endif
