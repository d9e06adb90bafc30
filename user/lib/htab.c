// SPDX-License-Identifier: GPL-2.0
/* A small intrusive chained hash table (htab.h): buckets double as it grows, nodes belong to
 * the callers, who compare the keys; 64-bit hash mixing. */
#include <errno.h>
#include <stdlib.h>
#include "htab.h"

uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t hash_mix(uint64_t a, uint64_t b)
{
	return hash_u64(a ^ (hash_u64(b) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

int htab_init(struct htab *h)
{
	h->nbuckets = 64;
	h->count = 0;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	return h->buckets ? 0 : -ENOMEM;
}

void htab_fini(struct htab *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = h->count = 0;
}

static int htab_grow(struct htab *h)
{
	size_t n = h->nbuckets * 2, i;
	struct hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < h->nbuckets; i++) {
		struct hnode *e = h->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = n;
	return 0;
}

int htab_add(struct htab *h, struct hnode *n, uint64_t hash)
{
	int err = 0;
	size_t i;

	if (h->count >= h->nbuckets)
		err = htab_grow(h);
	n->hash = hash;
	i = hash & (h->nbuckets - 1);
	n->next = h->buckets[i];
	h->buckets[i] = n;
	h->count++;
	return err;
}

void htab_del(struct htab *h, struct hnode *n)
{
	struct hnode **pp = &h->buckets[n->hash & (h->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			h->count--;
			return;
		}
	}
}

struct hnode *htab_next_match(const struct htab *h, uint64_t hash, struct hnode *prev)
{
	struct hnode *e = prev ? prev->next : h->buckets[hash & (h->nbuckets - 1)];

	for (; e; e = e->next)
		if (e->hash == hash)
			return e;
	return NULL;
}

struct hnode *htab_next(const struct htab *h, size_t *bucket, struct hnode *prev)
{
	if (prev && prev->next)
		return prev->next;
	if (prev)
		(*bucket)++;
	for (; *bucket < h->nbuckets; (*bucket)++)
		if (h->buckets[*bucket])
			return h->buckets[*bucket];
	return NULL;
}

int hkey_add(struct htab *h, struct hkey *k, uint64_t key)
{
	k->key = key;
	return htab_add(h, &k->hn, hash_u64(key));
}

struct hkey *hkey_find(const struct htab *h, uint64_t key)
{
	struct hnode *n = NULL;

	while ((n = htab_next_match(h, hash_u64(key), n))) {
		struct hkey *k = container_of(n, struct hkey, hn);

		if (k->key == key)
			return k;
	}
	return NULL;
}

int htab_select(const struct htab *h, bool (*keep)(const struct hnode *, const void *),
		const void *ctx, struct hnode ***out, size_t *nr)
{
	struct hnode **v = NULL, **nv, *n = NULL;
	size_t b = 0, cap = 0;

	*nr = 0;
	*out = NULL;
	while ((n = htab_next(h, &b, n))) {
		if (!keep(n, ctx))
			continue;
		if (*nr == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				free(v);
				*nr = 0;
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*nr)++] = n;
	}
	*out = v;
	return 0;
}
