/*
 * list.h — intrusive doubly linked lists (circular, with a head node).
 *
 * An object embeds a struct list_node; the head is a struct list_node too.
 * Nothing here allocates; removal of an unlinked node is harmless, so
 * teardown code may call list_del() without checking first.
 */
#ifndef SESSIOND_LIST_H
#define SESSIOND_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *next, *prev;
};

#define LIST_HEAD_INIT(h) { &(h), &(h) }
#define list_entry(n, type, member) \
	((type *)(void *)((char *)(n) - offsetof(type, member)))
#define list_foreach(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
#define list_foreach_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

static inline void list_init(struct list_node *h)
{
	h->next = h->prev = h;
}

static inline bool list_empty(const struct list_node *h)
{
	return h->next == h;
}

/* Links n before head, i.e. at the tail. */
static inline void list_add_tail(struct list_node *h, struct list_node *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

/* Unlinks n and leaves it pointing at itself, so a second call is a no-op. */
static inline void list_del(struct list_node *n)
{
	if (n->next == NULL)
		return;
	n->next->prev = n->prev;
	n->prev->next = n->next;
	n->next = n->prev = n;
}

static inline size_t list_length(const struct list_node *h)
{
	size_t k = 0;
	for (const struct list_node *n = h->next; n != h; n = n->next)
		k++;
	return k;
}

/* Moves every node of from to the tail of to; from ends empty. */
static inline void list_splice_tail(struct list_node *to, struct list_node *from)
{
	if (list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	list_init(from);
}

#endif
