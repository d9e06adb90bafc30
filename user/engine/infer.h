/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inferred completions (infer.c): completions whose records never came, proved by a reuse,
 * a BIO_GONE record or a sync's return; the join calls it when a reuse shows.
 */
#ifndef TW_ENGINE_INFER_H
#define TW_ENGINE_INFER_H

#include "engine.h"

void bio_infer_done(struct tracker *t, struct bio_rec *b, uint64_t ts);
void bio_forget(struct tracker *t, struct bio_rec *b, uint64_t ts);
void on_bio_gone(struct tracker *t, const struct tw_gone_ev *e);
void rq_infer_done(struct tracker *t, struct rq_rec *r, uint64_t ts);
void on_sync_end(struct tracker *t, const struct tw_sync_ev *e);

#endif
