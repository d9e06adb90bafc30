/* SPDX-License-Identifier: GPL-2.0 */
/* From a bio to the file bytes it carries: page-cache identity of a page, and the walk of a
 * bio's bvecs into file extents. */
#ifndef TW_STAGE_BVEC_BPF_H
#define TW_STAGE_BVEC_BPF_H

#include "shared.bpf.h"

#define MAX_BVEC_WALK	256	/* bvecs followed in one bio (BIO_MAX_VECS) */

/*
 * File identity of a page-cache page: its folio's mapping -> host inode, and the
 * folio's index plus the page's place inside the folio. Anonymous, movable and
 * unmapped pages (user pages of direct I/O, metadata buffers) give -1.
 */
static __always_inline int page_file_pos(struct page *page, __u64 *ino, __u32 *dev, __u64 *pos,
					 struct page **headp)
{
	struct page *head = tw_compound_head(page);
	struct folio *folio = (struct folio *)head;
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);
	struct inode *host;
	__u64 sub;

	*headp = head;
	if (!mapping || ((unsigned long)mapping & 3))
		return -1;
	host = BPF_CORE_READ(mapping, host);
	if (!host)
		return -1;
	*ino = BPF_CORE_READ(host, i_ino);
	*dev = BPF_CORE_READ(host, i_sb, s_dev);
	sub = ((__u64)page - (__u64)head) / bpf_core_type_size(struct page);
	*pos = (BPF_CORE_READ(folio, index) + sub) << PAGE_SHIFT_4K;
	return 0;
}

static __always_inline struct page *page_at(struct page *base, __u64 nth)
{
	return (struct page *)((__u64)base + nth * bpf_core_type_size(struct page));
}

/* State of one bio's bvec walk, in a per-CPU scratch slot (too big for the stack). */
struct bvec_walk {
	struct bio_vec *vecs;
	__u32 idx;
	__u32 skip;
	__u32 left;
	__u32 n;
	__u32 flags;
	__u32 c_dev;		/* cache: the file of the last folio's mapping */
	__u64 c_mapping;
	__u64 c_ino;
	struct tw_ext ext[TW_MAX_EXT];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bvec_walk);
} walk_scratch SEC(".maps");

/*
 * page_file_pos for the walk: the bvecs of a bio mostly belong to one file, so the file of
 * the last mapping seen is kept, and a folio of the same mapping costs two reads, not six.
 */
static __always_inline int walk_page_pos(struct bvec_walk *w, struct page *page, __u64 *ino,
					 __u32 *dev, __u64 *pos, struct page **headp)
{
	struct page *head = tw_compound_head(page);
	struct folio *folio = (struct folio *)head;
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);
	__u64 sub;

	*headp = head;
	if (!mapping || ((unsigned long)mapping & 3))
		return -1;
	if ((__u64)mapping != w->c_mapping) {
		struct inode *host = BPF_CORE_READ(mapping, host);

		if (!host)
			return -1;
		w->c_mapping = (__u64)mapping;
		w->c_ino = BPF_CORE_READ(host, i_ino);
		w->c_dev = BPF_CORE_READ(host, i_sb, s_dev);
	}
	*ino = w->c_ino;
	*dev = w->c_dev;
	sub = ((__u64)page - (__u64)head) / bpf_core_type_size(struct page);
	*pos = (BPF_CORE_READ(folio, index) + sub) << PAGE_SHIFT_4K;
	return 0;
}

/* One bvec of the walk; bpf_loop keeps the verifier's work per bvec, not per bio. */
static long walk_one_bvec(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct bvec_walk *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	struct page *head, *last_head, *page;
	struct bio_vec bv;
	__u64 ino, pos, lpos, lino;
	__u32 dev, ldev, off, len, n;

	if (!w || !w->left)
		return 1;
	if (bpf_probe_read_kernel(&bv, sizeof(bv), &w->vecs[w->idx + i]))
		return 1;
	if (bv.bv_len <= w->skip) {
		w->skip -= bv.bv_len;
		return 0;
	}
	off = bv.bv_offset + w->skip;
	len = bv.bv_len - w->skip;
	w->skip = 0;
	if (len > w->left)
		len = w->left;
	w->left -= len;

	page = page_at(bv.bv_page, off >> PAGE_SHIFT_4K);
	if (walk_page_pos(w, page, &ino, &dev, &pos, &head))
		return 0;
	pos += off & ((1 << PAGE_SHIFT_4K) - 1);

	/* A bvec may join physically adjacent folios; they are file-adjacent almost always. */
	page = page_at(bv.bv_page, (off + len - 1) >> PAGE_SHIFT_4K);
	if (tw_compound_head(page) != head) {
		if (page_file_pos(page, &lino, &ldev, &lpos, &last_head) || lino != ino ||
		    lpos + ((off + len - 1) & 4095) != pos + len - 1) {
			stat_inc(TW_STAT_BIO_INEXACT);
			w->flags |= TW_BIO_INEXACT;
		}
	}

	n = w->n;
	if (n > 0 && n <= TW_MAX_EXT) {
		struct tw_ext *prev = &w->ext[n - 1];

		if (prev->ino == ino && prev->dev == dev && prev->off + prev->len == pos) {
			prev->len += len;
			return 0;
		}
	}
	if (n >= TW_MAX_EXT) {
		w->flags |= TW_BIO_EXT_TRUNC;
		stat_inc(TW_LOST_EXT_TRUNC);
		return 1;
	}
	w->ext[n].ino = ino;
	w->ext[n].dev = dev;
	w->ext[n].off = pos;
	w->ext[n].len = len;
	w->n = n + 1;
	return 0;
}

/* Walk the bio's bvecs from its iterator and collect the file extents it carries. */
static __always_inline struct bvec_walk *walk_page_extents(struct bio *bio, __u32 size)
{
	__u32 zero = 0;
	struct bvec_walk *w = bpf_map_lookup_elem(&walk_scratch, &zero);
	long n;

	if (!w)
		return NULL;
	w->vecs = BPF_CORE_READ(bio, bi_io_vec);
	w->idx = BPF_CORE_READ(bio, bi_iter.bi_idx);
	w->skip = BPF_CORE_READ(bio, bi_iter.bi_bvec_done);
	w->left = size;
	w->n = 0;
	w->flags = 0;
	w->c_mapping = 0;
	n = bpf_loop(MAX_BVEC_WALK, walk_one_bvec, NULL, 0);
	if (w->left && n == MAX_BVEC_WALK)
		stat_inc(TW_LOST_BVEC_WALK);
	return w;
}

static __always_inline struct page *bio_first_page(struct bio *bio)
{
	struct bio_vec *vecs = BPF_CORE_READ(bio, bi_io_vec);
	__u32 idx = BPF_CORE_READ(bio, bi_iter.bi_idx);
	__u32 done = BPF_CORE_READ(bio, bi_iter.bi_bvec_done);
	struct bio_vec bv;

	if (bpf_probe_read_kernel(&bv, sizeof(bv), &vecs[idx]))
		return NULL;
	return page_at(bv.bv_page, (bv.bv_offset + done) >> PAGE_SHIFT_4K);
}

#endif /* TW_STAGE_BVEC_BPF_H */
