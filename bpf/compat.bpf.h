/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference the BPF side meets lives here, decided by CO-RE
 * existence checks, never by version numbers. One line per change names it.
 */
#ifndef TW_COMPAT_BPF_H
#define TW_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* 6.18: folio->flags became memdesc_flags_t { unsigned long f; } (was unsigned long). */
struct folio___flags_ulong {
	unsigned long flags;
} __attribute__((preserve_access_index));

/* folio must be a BTF pointer (a tracepoint argument): a direct load, no helper call. */
static __always_inline unsigned long tw_folio_flags(struct folio *folio)
{
	if (bpf_core_type_exists(memdesc_flags_t))
		return folio->flags.f;
	return ((struct folio___flags_ulong *)folio)->flags;
}

/* Page flag bit numbers move between kernels: take them from BTF. */
static __always_inline bool tw_folio_test(struct folio *folio, unsigned long flags, int bit)
{
	return (flags >> bit) & 1;
}

/*
 * 6.x: a large folio's page count is folio->_nr_pages; 6.1 called it _folio_nr_pages.
 * (A flavor's name is the kernel type's plus ___suffix: "tw_folio___..." matched nothing.)
 */
struct folio___nr_new {
	unsigned int _nr_pages;
} __attribute__((preserve_access_index));

struct folio___nr_old {
	unsigned int _folio_nr_pages;
} __attribute__((preserve_access_index));

static __always_inline unsigned int tw_folio_nr_pages(struct folio *folio, unsigned long flags)
{
	if (!tw_folio_test(folio, flags, bpf_core_enum_value(enum pageflags, PG_head)))
		return 1;
	if (bpf_core_field_exists(struct folio___nr_new, _nr_pages))
		return BPF_CORE_READ((struct folio___nr_new *)folio, _nr_pages);
	if (bpf_core_field_exists(struct folio___nr_old, _folio_nr_pages))
		return BPF_CORE_READ((struct folio___nr_old *)folio, _folio_nr_pages);
	return 1;
}

/*
 * __REQ_ATOMIC arrived in 6.11. Its bit comes from user space, which reads it from the
 * kernel's BTF (0: the kernel has none, no bio carries the flag), not from an enum value
 * relocation: clang hoists that load out of the loops it sits in, past its existence
 * check, and on 6.1 it is then a poisoned instruction that the verifier reaches. (Moving
 * it to a subprogram instead costs 6.1's verifier all its pruning: it marks every scalar
 * precise when backtracking meets a call, and tw_rq_complete exceeds 1M instructions.)
 */
const volatile __u32 tw_req_atomic_bit_plus1 = 0;

static __always_inline __u32 tw_req_atomic_mask(void)
{
	return tw_req_atomic_bit_plus1 ? 1u << ((tw_req_atomic_bit_plus1 - 1) & 31) : 0;
}

/*
 * Stable writes moved from the superblock (SB_I_STABLE_WRITES) to the mapping's
 * AS_STABLE_WRITES (6.8; Debian's 6.1.192 has it too, as bit 8 where 6.18 has 7). Kernels
 * without it take the superblock flag (none of the kernels tested here).
 */
#define TW_SB_I_STABLE_WRITES 0x8	/* include/linux/fs.h, a macro: not in BTF */

/* Does this mapping make writers wait for its writeback (stable pages)? Not for loops. */
static __always_inline bool tw_mapping_stable_writes(struct address_space *mapping)
{
	if (bpf_core_enum_value_exists(enum mapping_flags, AS_STABLE_WRITES))
		return (BPF_CORE_READ(mapping, flags) >>
			bpf_core_enum_value(enum mapping_flags, AS_STABLE_WRITES)) & 1;
	return BPF_CORE_READ(mapping, host, i_sb, s_iflags) & TW_SB_I_STABLE_WRITES;
}

static __always_inline __u32 tw_req_fua_mask(void)
{
	return 1u << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA);
}

static __always_inline __u32 tw_req_flag_mask(int bit)
{
	return 1u << bit;
}

/*
 * A page's head: tail pages keep head | 1 in page->compound_head (all kernels
 * tornwatch supports; 6.18 still has the field for tail pages).
 */
static __always_inline struct page *tw_compound_head(struct page *page)
{
	unsigned long head = BPF_CORE_READ(page, compound_head);

	if (head & 1)
		return (struct page *)(head - 1);
	return page;
}

/*
 * struct iomap_iter: 6.1 advances pos in iomap_iter() from the last extent's "processed";
 * later kernels (6.18 here) replaced it by "status", the iterating functions advancing pos
 * themselves. Only the old form is read (tw_iomap_iter, loaded where iomap_dio_rw_begin is
 * missing: 6.1).
 */
struct iomap_iter___processed {
	struct inode *inode;
	loff_t pos;
	u64 len;
	s64 processed;
	unsigned int flags;
	struct iomap iomap;
} __attribute__((preserve_access_index));

/*
 * iomap_iter() is about to map the next extent of iter: where that extent starts and what
 * is left of the operation. The tracepoint fires before the last extent's processed bytes
 * are added to pos (on the first call nothing was processed and iomap.length is 0).
 * Returns false when nothing is left or the layout is not the old one.
 */
static __always_inline bool tw_iomap_iter_next(void *iter, __u64 *pos, __u64 *left)
{
	struct iomap_iter___processed *it = iter;
	__s64 done = 0;
	__u64 len;

	if (!bpf_core_field_exists(struct iomap_iter___processed, processed))
		return false;
	if (BPF_CORE_READ(it, iomap.length))
		done = BPF_CORE_READ(it, processed);
	len = BPF_CORE_READ(it, len);
	if (done < 0 || (__u64)done >= len)
		return false;
	*pos = BPF_CORE_READ(it, pos) + done;
	*left = len - done;
	return true;
}

#endif /* TW_COMPAT_BPF_H */
