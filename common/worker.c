/* worker.c — see worker.h.
 *
 * The queue is one FIFO per owner ("class") and a list of the classes that
 * have jobs queued, kept in the order they were last served (least recent
 * first; a class never served has turn 0 and goes first).  A thread takes
 * the first job of the first class, stamps the class with the next turn
 * and, when it has more, moves it to the end.  Classes are remembered for
 * the pool's life (one small record per owner that ever submitted), so an
 * owner whose queue ran dry and fills again keeps its place in the order
 * and cannot jump ahead of an owner that has been waiting.
 */
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/htab.h"
#include "../common/log.h"
#include "../common/xalloc.h"

struct job_class {
	struct htab_node node;              /* w->classes, by owner */
	char key[24];
	struct list_node queue;             /* its jobs, FIFO */
	struct list_node active;            /* in w->active while queue is not empty */
	uint64_t turn;                      /* w->turns when last served; 0: never */
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct htab classes;                /* every owner seen */
	struct list_node active;            /* classes with jobs, by turn ascending */
	uint64_t turns;
	bool quit;
	int nthreads;
	pthread_t *threads;
	struct mailbox *results;
	_Atomic int pending;
	char name[32];
};

/* ---- the queue (under w->lock) ------------------------------------------- */

static struct job_class *class_of(struct workers *w, unsigned long owner)
{
	char key[24];

	snprintf(key, sizeof key, "%lu", owner);
	struct htab_node *n = htab_find(&w->classes, key);
	if (n != NULL)
		return htab_entry(n, struct job_class, node);
	struct job_class *k = XNEW(k);
	memcpy(k->key, key, sizeof key);
	list_init(&k->queue);
	list_init(&k->active);
	htab_insert(&w->classes, &k->node, k->key);
	return k;
}

/* A class that had nothing queued joins the active list by its turn. */
static void activate(struct workers *w, struct job_class *k)
{
	struct list_node *pos;

	list_foreach(pos, &w->active) {
		if (list_entry(pos, struct job_class, active)->turn > k->turn)
			break;
	}
	list_add_tail(pos, &k->active);     /* before pos */
}

static void enqueue(struct workers *w, struct job *j)
{
	struct job_class *k = class_of(w, j->owner);
	bool was_idle = list_empty(&k->queue);

	list_add_tail(&k->queue, &j->mail.node);
	if (was_idle)
		activate(w, k);
}

/* The next job by the rule of worker.h, or NULL when none is queued. */
static struct job *dequeue(struct workers *w)
{
	if (list_empty(&w->active))
		return NULL;
	struct job_class *k = list_entry(w->active.next, struct job_class, active);
	struct job *j = list_entry(k->queue.next, struct job, mail.node);
	list_del(&j->mail.node);
	k->turn = ++w->turns;
	list_del(&k->active);
	if (!list_empty(&k->queue))
		list_add_tail(&w->active, &k->active);
	return j;
}

static void class_free(struct htab_node *n, void *arg)
{
	struct workers *w = arg;

	htab_remove(&w->classes, n);
	free(htab_entry(n, struct job_class, node));
}

/* ---- threads ------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct workers *w = arg;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (list_empty(&w->active) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		struct job *j = dequeue(w);
		pthread_mutex_unlock(&w->lock);
		if (j == NULL)
			return NULL;
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
	htab_init(&w->classes);
	list_init(&w->active);
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
		struct job *j = dequeue(w);
		if (j == NULL)
			break;
		if (j->run != NULL)
			j->run(j);
		mailbox_post(w->results, &j->mail);
	}
	mailbox_free(w->results);
	htab_each(&w->classes, class_free, w);
	htab_free(&w->classes);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}

void workers_submit(struct workers *w, struct job *j)
{
	atomic_fetch_add(&w->pending, 1);
	pthread_mutex_lock(&w->lock);
	enqueue(w, j);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int workers_pending(struct workers *w)
{
	return atomic_load(&w->pending);
}
