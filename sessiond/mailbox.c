/* mailbox.c — see mailbox.h. */
#include "mailbox.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "../common/log.h"

struct mailbox {
	pthread_mutex_t lock;
	struct list_node queue;
	struct event *ev;
	mailbox_handler fn;
	void *arg;
};

static void mailbox_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mailbox_drain(arg);
}

struct mailbox *mailbox_new(struct event_base *base, mailbox_handler fn, void *arg)
{
	struct mailbox *mb = calloc(1, sizeof *mb);

	if (mb == NULL)
		fatal("out of memory creating a mailbox");
	pthread_mutex_init(&mb->lock, NULL);
	list_init(&mb->queue);
	mb->fn = fn;
	mb->arg = arg;
	mb->ev = event_new(base, -1, 0, mailbox_cb, mb);
	if (mb->ev == NULL)
		fatal("out of memory creating a mailbox event");
	return mb;
}

void mailbox_free(struct mailbox *mb)
{
	if (mb == NULL)
		return;
	mailbox_drain(mb);
	event_free(mb->ev);
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

void mailbox_post(struct mailbox *mb, struct mail *m)
{
	pthread_mutex_lock(&mb->lock);
	list_add_tail(&mb->queue, &m->node);
	pthread_mutex_unlock(&mb->lock);
	event_active(mb->ev, 0, 0);
}

void mailbox_drain(struct mailbox *mb)
{
	struct list_node batch = LIST_HEAD_INIT(batch);

	pthread_mutex_lock(&mb->lock);
	list_splice_tail(&batch, &mb->queue);
	pthread_mutex_unlock(&mb->lock);
	while (!list_empty(&batch)) {
		struct mail *m = list_entry(batch.next, struct mail, node);
		list_del(&m->node);
		mb->fn(m, mb->arg);
	}
}
