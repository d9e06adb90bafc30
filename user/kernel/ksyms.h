/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel symbols from /proc/kallsyms: address -> function name, for why a thread waits on
 * writeback (the intake classifies the wait by its stack). */
#ifndef TW_KSYMS_H
#define TW_KSYMS_H

#include <stdint.h>

struct ksyms;

struct ksyms *ksyms__load(void);
/* The function containing addr, or NULL. */
const char *ksyms__name(const struct ksyms *ks, uint64_t addr);
void ksyms__free(struct ksyms *ks);

#endif
