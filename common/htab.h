/*
 * htab.h — an intrusive string-keyed hash table (separate chaining).
 *
 * The object embeds a struct htab_node and owns its key string, which must
 * stay unchanged while the node is in the table.  The table only allocates
 * its bucket array; it grows when the load factor passes 1.
 */
#ifndef SESSIOND_HTAB_H
#define SESSIOND_HTAB_H

#include <stddef.h>

struct htab_node {
	struct htab_node *next;
	const char *key;
};

struct htab {
	struct htab_node **buckets;
	size_t nbuckets;
	size_t count;
};

void htab_init(struct htab *t);
void htab_free(struct htab *t);     /* frees the buckets, not the nodes */
void htab_insert(struct htab *t, struct htab_node *n, const char *key);
struct htab_node *htab_find(const struct htab *t, const char *key);
void htab_remove(struct htab *t, struct htab_node *n);

/* Calls fn for every node; fn may remove the node it is given. */
void htab_each(struct htab *t, void (*fn)(struct htab_node *, void *), void *arg);

#define htab_entry(n, type, member) \
	((type *)(void *)((char *)(n) - offsetof(type, member)))

#endif
