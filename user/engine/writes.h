/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writes (writes.c): the records of writes, handed over by intake, and the open-write tables
 * (t->writes by thread, t->aio by kiocb, io_submit slot or io_uring request).
 */
#ifndef TW_ENGINE_WRITES_H
#define TW_ENGINE_WRITES_H

#include "engine.h"

struct wrec *write_open_in(struct tracker *t, uint32_t tid);
void wrec_put(struct wrec *w);
void on_write_begin(struct tracker *t, const struct tw_write_ev *e);
void on_write_end(struct tracker *t, const struct tw_write_end_ev *e);
void on_dio_begin(struct tracker *t, const struct tw_dio_ev *e);
void on_dio_end(struct tracker *t, const struct tw_dio_end_ev *e);
void on_aio_end(struct tracker *t, const struct tw_write_end_ev *e);
void on_uring_end(struct tracker *t, const struct tw_uring_end_ev *e);
void on_mmap_dirty(struct tracker *t, const struct tw_mmap_ev *e);
void close_open_writes(struct tracker *t, struct htab *h);

#endif
