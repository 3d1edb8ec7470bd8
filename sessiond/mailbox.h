/*
 * mailbox.h — messages from any thread to the loop thread.
 *
 * mailbox_post() appends under a mutex and activates one libevent event;
 * activations coalesce, so the loop drains the whole queue each time and
 * hands every message, in order, to the handler.  Workers use it for job
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

struct mailbox *mailbox_new(struct event_base *base, mailbox_handler fn, void *arg);
/* Drains what is left (the handler still runs), then frees. */
void mailbox_free(struct mailbox *mb);
void mailbox_post(struct mailbox *mb, struct mail *m);   /* any thread */
void mailbox_drain(struct mailbox *mb);                  /* loop thread */

#endif
