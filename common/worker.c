/* worker.c — see worker.h. */
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/xalloc.h"

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list_node queue;
	bool quit;
	int nthreads;
	pthread_t *threads;
	struct mailbox *results;
	_Atomic int pending;
	char name[32];
};

static void *worker_main(void *arg)
{
	struct workers *w = arg;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (list_empty(&w->queue) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (list_empty(&w->queue)) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		struct job *j = list_entry(w->queue.next, struct job, mail.node);
		list_del(&j->mail.node);
		pthread_mutex_unlock(&w->lock);
		if (j->run != NULL)
			j->run(j);
		mailbox_post(w->results, &j->mail);
	}
}

static void worker_done(struct mail *m, void *arg)
{
	struct workers *w = arg;
	struct job *j = list_entry(&m->node, struct job, mail.node);

	atomic_fetch_sub(&w->pending, 1);
	if (j->done != NULL)
		j->done(j);
}

struct workers *workers_new(struct event_base *base, int nthreads, const char *name)
{
	struct workers *w = XNEW(w);

	if (nthreads < 1)
		fatal("cannot create worker pool %s: no threads", name);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	list_init(&w->queue);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->results = mailbox_new(base, worker_done, w);
	w->threads = xcalloc((size_t)nthreads, sizeof *w->threads);
	for (int i = 0; i < nthreads; i++) {
		int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (rc != 0)
			fatal("cannot start worker thread for %s: %s", name, strerror(rc));
		w->nthreads++;
	}
	return w;
}

void workers_free(struct workers *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* done() callbacks may submit follow-up jobs (a teardown's next
	 * phase): with the threads gone, run those here until none is left,
	 * so every submitted job still runs exactly once. */
	for (;;) {
		mailbox_drain(w->results);
		if (list_empty(&w->queue))
			break;
		struct job *j = list_entry(w->queue.next, struct job, mail.node);
		list_del(&j->mail.node);
		if (j->run != NULL)
			j->run(j);
		mailbox_post(w->results, &j->mail);
	}
	mailbox_free(w->results);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}

void workers_submit(struct workers *w, struct job *j)
{
	atomic_fetch_add(&w->pending, 1);
	pthread_mutex_lock(&w->lock);
	list_add_tail(&w->queue, &j->mail.node);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int workers_pending(struct workers *w)
{
	return atomic_load(&w->pending);
}
