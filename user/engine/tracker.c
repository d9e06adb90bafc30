// SPDX-License-Identifier: GPL-2.0
/*
 * The tracker's lifecycle: new, --events, finish (what is left is pending), the summary the
 * reports read, and free. The walk of a record starts in intake.c.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "devices.h"
#include "durable.h"
#include "engine.h"
#include "exposure.h"
#include "intake.h"
#include "join.h"
#include "stable.h"
#include "verdict.h"
#include "writes.h"

void tracker__set_events(struct tracker *t, bool all, tw_event_fn fn, void *ctx)
{
	t->event_fn = fn;
	t->event_ctx = ctx;
	t->events_all = all;
}

struct tracker *tracker__new(uint64_t unit_size, uint64_t max_units)
{
	struct tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->unit_size = unit_size;
	t->max_units = max_units;
	t->check = check__new();
	t->devices = devices__new();
	t->durable = durable__new();
	t->stable = stable__new();
	t->exposure = exposure__new();
	if (!t->check || !t->devices || !t->durable || !t->stable || !t->exposure ||
	    htab_init(&t->files) || htab_init(&t->slots) || htab_init(&t->bios) ||
	    htab_init(&t->rqs) || htab_init(&t->writes) || htab_init(&t->aio) ||
	    htab_init(&t->tasks)) {
		tracker__free(t);
		return NULL;
	}
	return t;
}

uint64_t tracker__peak_units(const struct tracker *t)
{
	return t->peak_units;
}

void tracker__finish(struct tracker *t)
{
	struct hnode *n;
	size_t bkt;

	if (t->finished)
		return;
	t->finished = true;
	close_open_writes(t, &t->writes);
	close_open_writes(t, &t->aio);
	durable__finish(t);
	/*
	 * Finalizing frees slots under the iterator: take each bucket's head again, but never
	 * go back to bucket 0 (a table only grows on add, and finalizing adds nothing), so that
	 * a million pending units end in linear time, not quadratic.
	 */
	for (bkt = 0;;) {
		n = htab_next(&t->slots, &bkt, NULL);
		if (!n)
			break;
		unit_finalize(t, container_of(n, struct uslot, hn)->oldest, TW_V_PENDING, 0, 0);
	}
	bkt = 0;
	for (n = htab_next(&t->files, &bkt, NULL); n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		while (f->atomics)
			unit_finalize(t, f->atomics, TW_V_PENDING, 0, 0);
	}
	exposure__finish(t);
}

static int cmp_files(const void *a, const void *b)
{
	const struct tw_file_stat *x = *(const struct tw_file_stat *const *)a;
	const struct tw_file_stat *y = *(const struct tw_file_stat *const *)b;
	uint64_t ux = tw_units_total(&x->c), uy = tw_units_total(&y->c);

	if (x->c.verdict[TW_V_SPLIT] != y->c.verdict[TW_V_SPLIT])
		return x->c.verdict[TW_V_SPLIT] > y->c.verdict[TW_V_SPLIT] ? -1 : 1;
	if (ux != uy)
		return ux > uy ? -1 : 1;
	return strcmp(x->path, y->path);
}

void tracker__summary(struct tracker *t, struct tw_summary *s)
{
	struct hnode *n;
	size_t bkt = 0, i = 0;

	memset(s, 0, sizeof(*s));
	s->unit_size = t->unit_size;
	s->writes = t->writes_n;
	s->write_bytes = t->write_bytes;
	s->c = t->c;
	s->join = t->join;
	memcpy(s->modes, t->modes, sizeof(s->modes));
	memcpy(s->triggers, t->triggers, sizeof(s->triggers));
	s->atomic = t->atomic;
	s->dev_units = t->dev_units;
	s->nr_dev_units = t->nr_dev_units;
	summarize_check(t, s);
	s->have_bpf_stats = t->have_bpf_stats;
	memcpy(s->bpf_stats, t->bpf_stats, sizeof(s->bpf_stats));
	summarize_stable(t, s);
	summarize_exposure(t, s);
	free(t->sorted);
	t->sorted = eng_zalloc(t, (t->files.count + 1) * sizeof(*t->sorted));
	for (n = htab_next(&t->files, &bkt, NULL); t->sorted && n; n = htab_next(&t->files, &bkt, n)) {
		struct file_ent *f = container_of(n, struct file_ent, hn);

		/* Files only seen through other records (a path, a read) have nothing to say. */
		if (f->st.writes || tw_units_total(&f->st.c) || f->st.c.untracked || f->st.c.modified)
			t->sorted[i++] = &f->st;
	}
	if (t->sorted)
		qsort(t->sorted, i, sizeof(*t->sorted), cmp_files);
	s->nr_files = i;
	s->files = t->sorted;
	/* last: the summary's own allocations above count too */
	for (int k = 0; k < TW_NR_LOST; k++)
		s->lost_total += t->bpf_stats[k];
	s->lost_memory += t->nomem;
	s->lost_total += s->lost_memory;
}

void free_all(struct htab *h, size_t off, void (*fn)(void *))
{
	struct hnode *n, *next;

	for (size_t b = 0; b < h->nbuckets; b++) {
		for (n = h->buckets[b]; n; n = next) {
			next = n->next;
			fn((char *)n - off);
		}
	}
	htab_fini(h);
}

void *eng_zalloc(struct tracker *t, size_t size)
{
	void *p = calloc(1, size);

	if (!p)
		t->nomem++;
	return p;
}

struct hnode **eng_select(struct tracker *t, const struct htab *h,
			  bool (*keep)(const struct hnode *, const void *), const void *ctx,
			  size_t *nr)
{
	struct hnode **v;

	if (htab_select(h, keep, ctx, &v, nr))
		t->nomem++;
	return v;
}

void *eng_realloc(struct tracker *t, void *p, size_t size)
{
	void *n = realloc(p, size);

	if (!n)
		t->nomem++;
	return n;
}

static void unit_release(struct unit *u)
{
	wrec_put(u->w);
	free(u);
}

static void free_slot(void *p)
{
	struct uslot *s = p;
	struct unit *u, *next;

	for (u = s->oldest; u; u = next) {
		next = u->next;
		if (!u->refs)
			unit_release(u);
		else
			u->live = false; /* freed with the last bio that points at it */
	}
	free(s);
}

static void free_file(void *p)
{
	struct file_ent *f = p;
	struct unit *u, *next;

	for (u = f->atomics; u; u = next) {
		next = u->next;
		if (!u->refs)
			unit_release(u);
		else
			u->live = false;
	}
	free(f);
}

static void free_bio(void *p)
{
	struct bio_rec *b = p;

	for (uint32_t i = 0; i < b->np; i++) {
		struct unit *u = b->p[i].u;

		if (--u->refs == 0 && !u->live)
			unit_release(u);
	}
	free(b->p);
	free(b);
}

void tracker__free(struct tracker *t)
{
	if (!t)
		return;
	close_open_writes(t, &t->writes);
	close_open_writes(t, &t->aio);
	/* Units not live are owned by the bios that point at them: free those last. */
	if (t->slots.buckets)
		free_all(&t->slots, offsetof(struct uslot, hn), free_slot);
	if (t->files.buckets)
		free_all(&t->files, offsetof(struct file_ent, hn), free_file);
	if (t->bios.buckets)
		free_all(&t->bios, offsetof(struct bio_rec, k.hn), free_bio);
	if (t->rqs.buckets)
		free_all(&t->rqs, offsetof(struct rq_rec, k.hn), free);
	htab_fini(&t->writes);
	htab_fini(&t->aio);
	if (t->tasks.buckets)
		free_all(&t->tasks, offsetof(struct task_ent, k.hn), free);
	durable__free(t->durable);
	exposure__free(t->exposure);
	free(t->dev_units);
	check__free(t->check);
	stable__free(t->stable);
	devices__free(t->devices);
	free(t->sorted);
	free(t);
}
