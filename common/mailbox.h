/*
 * mailbox.h — messages from any thread to the loop thread.
 *
 * mailbox_post() appends under a mutex and activates one libevent event;
 * activations coalesce.  The loop hands the messages, in order, to the
 * handler, at most MAILBOX_BATCH per loop turn (the rest in the next
 * turns, after the timers that fell due).  Workers use it for job
 * results, the libvirt event thread for lifecycle events.
 */
#ifndef SESSIOND_MAILBOX_H
#define SESSIOND_MAILBOX_H

#include "../common/list.h"

struct event_base;
struct mailbox;

struct mail {
	struct list_node node;
};

typedef void (*mailbox_handler)(struct mail *m, void *arg);

#define MAILBOX_BATCH 32

struct mailbox *mailbox_new(struct event_base *base, mailbox_handler fn, void *arg);
/* Drains what is left (the handler still runs), then frees. */
void mailbox_free(struct mailbox *mb);
void mailbox_post(struct mailbox *mb, struct mail *m);   /* any thread */
/* Every message, those posted meanwhile included (exit paths). */
void mailbox_drain(struct mailbox *mb);                  /* loop thread */

#endif
