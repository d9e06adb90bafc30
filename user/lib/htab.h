/* SPDX-License-Identifier: GPL-2.0 */
/* A small intrusive chained hash table keyed by 64-bit hashes; callers own the nodes and
 * compare keys. hkey: a node with one integer key. */
#ifndef TW_HTAB_H
#define TW_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **buckets;
	size_t nbuckets;	/* power of two */
	size_t count;
};

int htab_init(struct htab *h);
void htab_fini(struct htab *h);
/* Returns 0, or -ENOMEM when the table could not grow (the node is still added). */
int htab_add(struct htab *h, struct hnode *n, uint64_t hash);
void htab_del(struct htab *h, struct hnode *n);
/* Iterate the nodes that share a hash: start with NULL. */
struct hnode *htab_next_match(const struct htab *h, uint64_t hash, struct hnode *prev);
/* Iterate everything: *bucket starts at 0, prev at NULL. */
struct hnode *htab_next(const struct htab *h, size_t *bucket, struct hnode *prev);
/*
 * The nodes for which keep() holds, in a new array *out (free it; NULL with *nr 0 when none):
 * for work that deletes nodes, which an htab_next() walk would not survive. -ENOMEM: none.
 */
int htab_select(const struct htab *h, bool (*keep)(const struct hnode *, const void *),
		const void *ctx, struct hnode ***out, size_t *nr);

/* A node with an integer key, for the many tables keyed by one id. */
struct hkey {
	struct hnode hn;
	uint64_t key;
};

int hkey_add(struct htab *h, struct hkey *k, uint64_t key);
struct hkey *hkey_find(const struct htab *h, uint64_t key);

uint64_t hash_u64(uint64_t x);
uint64_t hash_mix(uint64_t a, uint64_t b);

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
