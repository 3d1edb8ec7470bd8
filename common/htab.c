/* htab.c — see htab.h. */
#include "htab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* FNV-1a: short keys (uuids, "uid/name"), no adversarial pressure. */
static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

void htab_init(struct htab *t)
{
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

void htab_free(struct htab *t)
{
	free(t->buckets);
	htab_init(t);
}

static void htab_grow(struct htab *t)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 16;
	struct htab_node **b = xcalloc(nb, sizeof *b);

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct htab_node *n = t->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			size_t j = hash_str(n->key) % nb;
			n->next = b[j];
			b[j] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

void htab_insert(struct htab *t, struct htab_node *n, const char *key)
{
	if (t->count + 1 > t->nbuckets)
		htab_grow(t);
	n->key = key;
	size_t i = hash_str(key) % t->nbuckets;
	n->next = t->buckets[i];
	t->buckets[i] = n;
	t->count++;
}

struct htab_node *htab_find(const struct htab *t, const char *key)
{
	if (t->nbuckets == 0)
		return NULL;
	struct htab_node *n = t->buckets[hash_str(key) % t->nbuckets];
	for (; n != NULL; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

void htab_remove(struct htab *t, struct htab_node *n)
{
	if (t->nbuckets == 0)
		return;
	struct htab_node **pp = &t->buckets[hash_str(n->key) % t->nbuckets];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
	}
}

void htab_each(struct htab *t, void (*fn)(struct htab_node *, void *), void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct htab_node *n = t->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			fn(n, arg);
		}
	}
}
