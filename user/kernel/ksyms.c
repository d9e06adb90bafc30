// SPDX-License-Identifier: GPL-2.0
/* Kernel symbols from /proc/kallsyms (ksyms.h): the text symbols sorted by address, a
 * binary search from an address to its function. Loaded once, freed with the enricher (enrich.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms__load(void)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;

	if (!ks || !f)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (ks->n == cap) {
			struct ksym *s;

			cap = cap ? cap * 2 : 65536;
			s = realloc(ks->syms, cap * sizeof(*s));
			if (!s)
				goto fail;
			ks->syms = s;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = strdup(name);
		if (!ks->syms[ks->n].name)
			goto fail;
		ks->n++;
	}
	fclose(f);
	if (!ks->n) {	/* addresses hidden (kptr_restrict): nothing to resolve */
		ksyms__free(ks);
		return NULL;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
	return ks;
fail:
	if (f)
		fclose(f);
	ksyms__free(ks);
	return NULL;
}

const char *ksyms__name(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	if (!ks->n || addr < ks->syms[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return ks->syms[lo].name;
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	free(ks);
}
