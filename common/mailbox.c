/* mailbox.c — see mailbox.h. */
#include "mailbox.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../common/log.h"
#include "../common/xalloc.h"

struct mailbox {
	pthread_mutex_t lock;
	struct list_node queue;
	struct event *ev;
	mailbox_handler fn;
	void *arg;
};

/* Handles at most max mails (0: every one, including those posted
 * meanwhile); returns whether any are left. */
static bool mailbox_run(struct mailbox *mb, unsigned max)
{
	for (unsigned n = 0; max == 0 || n < max; n++) {
		struct mail *m = NULL;

		pthread_mutex_lock(&mb->lock);
		if (!list_empty(&mb->queue)) {
			m = list_entry(mb->queue.next, struct mail, node);
			list_del(&m->node);
		}
		pthread_mutex_unlock(&mb->lock);
		if (m == NULL)
			return false;
		mb->fn(m, mb->arg);
	}
	pthread_mutex_lock(&mb->lock);
	bool left = !list_empty(&mb->queue);
	pthread_mutex_unlock(&mb->lock);
	return left;
}

static void mailbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mailbox *mb = arg;

	(void)fd;
	(void)what;
	/* A bounded batch per loop turn, the rest on the next: a burst of
	 * job results (a start storm) must not hold the loop for hundreds of
	 * milliseconds while grace timers and clients wait.  The rest is
	 * scheduled as a zero timeout, not re-activated: libevent would run
	 * an activation within this same pass, before any timer. */
	if (mailbox_run(mb, MAILBOX_BATCH)) {
		static const struct timeval now = { 0, 0 };

		event_add(mb->ev, &now);
	}
}

struct mailbox *mailbox_new(struct event_base *base, mailbox_handler fn, void *arg)
{
	struct mailbox *mb = XNEW(mb);

	pthread_mutex_init(&mb->lock, NULL);
	list_init(&mb->queue);
	mb->fn = fn;
	mb->arg = arg;
	mb->ev = event_new(base, -1, 0, mailbox_cb, mb);
	if (mb->ev == NULL)
		fatal("cannot create a mailbox event");
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
	mailbox_run(mb, 0);
}
