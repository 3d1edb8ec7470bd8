/*
 * worker.h — a small pool of threads for blocking calls.
 *
 * Every libvirt call that can block (create, shutdown, destroy, lookups,
 * volume work) and every state-file write runs here, so one slow boot never
 * stalls another user's request.  A job's run() executes on a worker; its
 * done() then executes on the loop thread, in completion order.  The job
 * struct is the caller's (embed struct job); it must live until done().
 *
 * Fairness: a job belongs to an owner (job.owner, the uid whose work it
 * is; 0 for root and the daemon's own).  Jobs of one owner start in the
 * order they were submitted; between owners, a free thread takes the next
 * job of the owner with queued jobs that was served least recently (one
 * that was never served first).  So a burst of one user's boots delays
 * another user's first job by at most one job per thread (the ones
 * running when it came), and no owner waits while another is served
 * twice.  With every job of owner 0 (the writer's) the pool is plain FIFO.
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
	unsigned long owner;                /* whose work: turns are taken by owner */
};

struct workers *workers_new(struct event_base *base, int nthreads, const char *name);
/* Stops taking jobs, lets queued and running ones finish, joins the
 * threads, delivers the remaining done() calls, frees. */
void workers_free(struct workers *w);
void workers_submit(struct workers *w, struct job *j);
/* Jobs queued or running (loop view; for stress invariants and tests). */
int workers_pending(struct workers *w);

#endif
