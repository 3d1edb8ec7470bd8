/*
 * worker.h — a small pool of threads for blocking calls.
 *
 * Every libvirt call that can block (create, shutdown, destroy, lookups,
 * volume work) and every state-file write runs here, so one slow boot never
 * stalls another user's request.  A job's run() executes on a worker; its
 * done() then executes on the loop thread, in completion order.  The job
 * struct is the caller's (embed struct job); it must live until done().
 */
#ifndef SESSIOND_WORKER_H
#define SESSIOND_WORKER_H

#include "mailbox.h"

struct event_base;
struct workers;
struct job;

typedef void (*job_fn)(struct job *j);

struct job {
	struct mail mail;
	job_fn run;                         /* worker thread */
	job_fn done;                        /* loop thread */
	const char *what;                   /* for logs */
};

struct workers *workers_new(struct event_base *base, int nthreads, const char *name);
/* Stops taking jobs, lets queued and running ones finish, joins the
 * threads, delivers the remaining done() calls, frees. */
void workers_free(struct workers *w);
void workers_submit(struct workers *w, struct job *j);
/* Jobs queued or running (loop view; for stress invariants and tests). */
int workers_pending(struct workers *w);

#endif
