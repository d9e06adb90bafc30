/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference the BPF side meets lives here, decided by CO-RE
 * existence checks, never by version numbers. One line per change names it.
 */
#ifndef TW_COMPAT_BPF_H
#define TW_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* __REQ_ATOMIC arrived in 6.11; before it no bio can carry the flag. */
static __always_inline __u32 tw_req_atomic_mask(void)
{
	if (bpf_core_enum_value_exists(enum req_flag_bits, __REQ_ATOMIC))
		return 1u << bpf_core_enum_value(enum req_flag_bits, __REQ_ATOMIC);
	return 0;
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

#endif /* TW_COMPAT_BPF_H */
