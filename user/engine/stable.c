// SPDX-License-Identifier: GPL-2.0
/*
 * Stable pages: folios modified while under writeback (torn in flight), and the threads that
 * waited for writeback, by context and process; owns the modifications kept.
 */
#include <stdlib.h>
#include <string.h>
#include "devices.h"
#include "engine.h"
#include "intake.h"
#include "stable.h"
#include "writeback.h"

/* Pages changed or waited for under writeback (t->stable). */
struct stable {
	struct tw_stable st;
	struct tw_modification *mods;	/* the first TW_MAX_MODS_KEPT */
	struct htab procs;		/* pid -> struct proc_ent: waits per process */
	struct tw_proc_waits *procs_flat;	/* the summary's, by waits */
};

struct proc_ent {
	struct hkey k;			/* pid */
	struct tw_proc_waits w;
};

struct stable *stable__new(void)
{
	struct stable *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return NULL;
	sp->mods = calloc(TW_MAX_MODS_KEPT, sizeof(*sp->mods));
	if (!sp->mods || htab_init(&sp->procs)) {
		stable__free(sp);
		return NULL;
	}
	return sp;
}

void stable__free(struct stable *sp)
{
	if (!sp)
		return;
	if (sp->procs.buckets)
		free_all(&sp->procs, offsetof(struct proc_ent, k.hn), free);
	free(sp->mods);
	free(sp->procs_flat);
	free(sp);
}

void on_modified(struct tracker *t, const struct tw_modified_ev *e)
{
	struct stable *sp = t->stable;
	struct file_ent *f = file_get(t, e->dev, e->ino, true);
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);

	sp->st.modified++;
	t->c.modified++;
	if (!f)
		return;
	f->st.c.modified++;
	/*
	 * Only what is known is claimed: without the changed bytes (a folio of several
	 * units, the page not found), no unit is called modified.
	 */
	if ((e->flags & TW_MOD_RANGE) || !t->unit_size || e->len <= t->unit_size)
		wb_seen(t, f, e->off, e->off + e->len, e->h.tid, e->h.ts_ns, true);
	else
		sp->st.unit_unknown++;
	if (sp->st.nr_mods < TW_MAX_MODS_KEPT) {
		struct tw_modification *m = &sp->mods[sp->st.nr_mods++];

		*m = (struct tw_modification){
			.dev = e->dev, .ino = e->ino, .index = e->index, .off = e->off,
			.len = e->len, .nr_pages = e->nr_pages,
			.range_known = e->flags & TW_MOD_RANGE, .mmap = e->flags & TW_MOD_MMAP,
			.pid = e->h.pid, .tid = e->h.tid,
			.stable_writes = device_stable_writes(t, e->dev),
		};
		if (te)
			memcpy(m->comm, te->comm, sizeof(m->comm));
	}
}

bool tw_wait_is_stable(enum tw_wait_context c)
{
	return c == TW_WAIT_WRITE || c == TW_WAIT_FAULT;
}

void on_wait_begin(struct tracker *t, const struct tw_wait_begin_ev *e)
{
	struct stable *sp = t->stable;
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);
	enum tw_wait_context c = e->context;
	struct file_ent *f;

	if (!te)
		return;
	/* Without a stack to read (no kallsyms): inside a write, it waits for stable pages. */
	if (c == TW_WAIT_UNKNOWN && (e->flags & TW_WAIT_IN_WRITE))
		c = TW_WAIT_WRITE;
	if (c > TW_WAIT_OTHER)
		c = TW_WAIT_UNKNOWN;
	/*
	 * A wait inside fsync & co. is counted only: no wake-up timing follows it. Nor one begun
	 * before the wake-up hook was attached (it is attached at the first wait).
	 */
	te->waiting = (c != TW_WAIT_SYNC || e->nr_stack) && !(e->flags & TW_WAIT_UNTIMED);
	if ((e->flags & TW_WAIT_UNTIMED) && tw_wait_is_stable(c))
		sp->st.waits_untimed++;
	/* The folio is under writeback: from inside a write, that may name what is in flight. */
	if ((e->flags & TW_WAIT_IN_WRITE) && (f = file_get(t, e->dev, e->ino, false)))
		wb_seen(t, f, e->index << 12, (e->index << 12) + 4096, e->h.tid, e->h.ts_ns, false);
	te->ctx = c;
	sp->st.waits_by_ctx[c]++;
}

void on_wait_end(struct tracker *t, const struct tw_wait_end_ev *e)
{
	struct stable *sp = t->stable;
	struct task_ent *te = task_get(t, e->h.tid, e->h.pid);
	struct hkey *k;
	struct proc_ent *p;

	if (!te || !te->waiting)
		return;
	te->waiting = false;
	if (!tw_wait_is_stable(te->ctx))
		return;
	sp->st.waits++;
	sp->st.wait_ns_total += e->wait_ns;
	sp->st.hist[tw_log2_slot(e->wait_ns)]++;
	k = hkey_find(&sp->procs, te->pid);
	if (!k) {
		p = eng_zalloc(t, sizeof(*p));
		if (!p)
			return;
		p->w.pid = te->pid;
		hkey_add(&sp->procs, &p->k, te->pid);
	} else {
		p = container_of(k, struct proc_ent, k);
	}
	memcpy(p->w.comm, te->comm, sizeof(p->w.comm));
	p->w.waits++;
	p->w.wait_ns += e->wait_ns;
}

/* Kernel functions that say why a thread waits for writeback, innermost first. */
enum tw_wait_context tw_wait_context_of(const char *fn)
{
	static const struct {
		const char *part;
		enum tw_wait_context ctx;
	} marks[] = {
		{ "page_mkwrite", TW_WAIT_FAULT },	{ "write_fault", TW_WAIT_FAULT },
		{ "write_begin", TW_WAIT_WRITE },	{ "perform_write", TW_WAIT_WRITE },
		{ "fsync", TW_WAIT_SYNC },		{ "fdatawait", TW_WAIT_SYNC },
		{ "write_and_wait", TW_WAIT_SYNC },	{ "sync_file_range", TW_WAIT_SYNC },
		{ "msync", TW_WAIT_SYNC },		{ "sync_fs", TW_WAIT_SYNC },
		{ "truncate", TW_WAIT_OTHER },		{ "fallocate", TW_WAIT_OTHER },
		{ "punch_hole", TW_WAIT_OTHER },	{ "evict", TW_WAIT_OTHER },
		{ "invalidate", TW_WAIT_OTHER },	{ "migrate", TW_WAIT_OTHER },
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(fn, marks[i].part))
			return marks[i].ctx;
	return TW_WAIT_UNKNOWN;
}

static int cmp_procs(const void *a, const void *b)
{
	const struct tw_proc_waits *x = a, *y = b;

	if (x->waits != y->waits)
		return x->waits > y->waits ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void summarize_stable(struct tracker *t, struct tw_summary *s)
{
	struct stable *sp = t->stable;
	struct hnode *n;
	size_t bkt = 0, i = 0;

	for (size_t m = 0; m < sp->st.nr_mods; m++) {
		struct file_ent *f = file_get(t, sp->mods[m].dev, sp->mods[m].ino, false);

		sp->mods[m].path = f && f->st.path[0] ? f->st.path : NULL;
		if (sp->mods[m].stable_writes < 0)
			sp->mods[m].stable_writes = device_stable_writes(t, sp->mods[m].dev);
	}
	free(sp->procs_flat);
	sp->procs_flat = eng_zalloc(t, (sp->procs.count + 1) * sizeof(*sp->procs_flat));
	if (sp->procs_flat) {
		for (n = htab_next(&sp->procs, &bkt, NULL); n; n = htab_next(&sp->procs, &bkt, n))
			sp->procs_flat[i++] = container_of(n, struct proc_ent, k.hn)->w;
		qsort(sp->procs_flat, i, sizeof(*sp->procs_flat), cmp_procs);
	}
	s->stable = sp->st;
	/* waits inside fsync & co.: counted by the BPF side, not sent (records before 2026-12-03
	   sent each, and have 0 here) */
	s->stable.waits_by_ctx[TW_WAIT_SYNC] += t->bpf_stats[TW_COUNT_WAITS_SYNC];
	s->stable.mods = sp->mods;
	s->stable.procs = sp->procs_flat;
	s->stable.nr_procs = i;
	s->stable.devices = devices_all(t, &s->stable.nr_devices);
}
