/*
 * test_worker.c — the worker pool's order (common/worker.h): jobs of one
 * owner in the order submitted, turns between owners by who was served
 * least recently, so a burst of one owner delays another's first job by at
 * most one job per thread.
 *
 * One thread; the first job is a gate that blocks until the test has
 * queued everything, so the order the thread then takes the jobs in is the
 * pool's choice alone.  Each job records (owner, sequence) when it runs.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "../common/timeutil.h"
#include "../common/worker.h"

#define MAX_JOBS 128

struct tjob {
	struct job job;
	int seq;                            /* order submitted within its owner */
	struct rig *rig;
	void (*also)(struct tjob *t);       /* worker: something more to do */
};

struct rig {
	struct event_base *base;
	struct workers *w;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;                          /* the gate */
	struct { unsigned long owner; int seq; } ran[MAX_JOBS];
	int nran, ndone;
	struct tjob jobs[MAX_JOBS];
	int njobs;
};

static void run(struct job *j)
{
	struct tjob *t = (struct tjob *)j;
	struct rig *r = t->rig;

	pthread_mutex_lock(&r->lock);
	r->ran[r->nran].owner = j->owner;
	r->ran[r->nran].seq = t->seq;
	r->nran++;
	pthread_mutex_unlock(&r->lock);
	if (t->also != NULL)
		t->also(t);
}

static void gate_run(struct job *j)
{
	struct rig *r = ((struct tjob *)j)->rig;

	run(j);
	pthread_mutex_lock(&r->lock);
	while (!r->open)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static void done(struct job *j)
{
	((struct tjob *)j)->rig->ndone++;
}

/* Any thread (a job may submit the next). */
static struct tjob *submit(struct rig *r, unsigned long owner, int seq, job_fn fn)
{
	pthread_mutex_lock(&r->lock);
	struct tjob *t = &r->jobs[r->njobs++];
	int n = r->njobs;
	pthread_mutex_unlock(&r->lock);

	assert_true(n <= MAX_JOBS);
	memset(t, 0, sizeof *t);
	t->rig = r;
	t->seq = seq;
	t->job.run = fn;
	t->job.done = done;
	t->job.what = "test";
	t->job.owner = owner;
	workers_submit(r->w, &t->job);
	return t;
}

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof *r);

	assert_non_null(r);
	r->base = event_base_new();
	r->w = workers_new(r->base, 1, "test");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

/* The gate job runs (so the thread is busy) before anything else is queued. */
static void rig_gate(struct rig *r, unsigned long owner)
{
	submit(r, owner, 0, gate_run);
	for (double end = mono_now() + 10; mono_now() < end;) {
		pthread_mutex_lock(&r->lock);
		int n = r->nran;
		pthread_mutex_unlock(&r->lock);
		if (n == 1)
			return;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("the gate job did not start");
}

static int jobs(struct rig *r)
{
	pthread_mutex_lock(&r->lock);
	int n = r->njobs;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void rig_release(struct rig *r)
{
	pthread_mutex_lock(&r->lock);
	r->open = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (double end = mono_now() + 10; r->ndone < jobs(r) && mono_now() < end;)
		event_base_loop(r->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(r->ndone, jobs(r));
}

static void rig_free(struct rig *r)
{
	workers_free(r->w);
	event_base_free(r->base);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

/* "A1 B1 A2" for the jobs after the gate. */
static void order(struct rig *r, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 1; i < r->nran && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%c%d", i > 1 ? " " : "",
				      (char)('A' + r->ran[i].owner - 1000), r->ran[i].seq);
}

/* User A queues 20 jobs, then B one: B's is taken next, after the one of
 * A's that was running when it came. */
static void test_burst_does_not_delay_another_owner(void **state)
{
	struct rig *r = rig_new();
	int a_before_b = 0;

	(void)state;
	rig_gate(r, 1000);
	for (int i = 1; i <= 20; i++)
		submit(r, 1000, i, run);
	submit(r, 1001, 1, run);
	rig_release(r);
	for (int i = 0; i < r->nran && r->ran[i].owner != 1001; i++)
		a_before_b++;
	assert_int_equal(a_before_b, 1);        /* the gate: A's job that was running */
	rig_free(r);
}

/* Three owners with three jobs each: they take turns; the gate's owner,
 * served last, waits for the two that never were. */
static void test_owners_take_turns(void **state)
{
	struct rig *r = rig_new();
	char got[256];

	(void)state;
	rig_gate(r, 1000);
	for (unsigned long o = 1000; o <= 1002; o++)
		for (int i = 1; i <= 3; i++)
			submit(r, o, i, run);
	rig_release(r);
	order(r, got, sizeof got);
	assert_string_equal(got, "B1 C1 A1 B2 C2 A2 B3 C3 A3");
	rig_free(r);
}

/* B, served more recently than A, refills its queue while A waits: A goes
 * first (a refilled queue keeps its owner's place; it does not jump). */
static void b_refills(struct tjob *t)
{
	submit(t->rig, 1001, 2, run);
}

static void test_refilled_owner_does_not_jump(void **state)
{
	struct rig *r = rig_new();
	char got[256];

	(void)state;
	rig_gate(r, 1002);
	submit(r, 1000, 1, run);
	submit(r, 1000, 2, run);
	submit(r, 1001, 1, run)->also = b_refills;
	rig_release(r);
	order(r, got, sizeof got);
	assert_string_equal(got, "A1 B1 A2 B2");
	rig_free(r);
}

/* One owner (the writer's case): plain FIFO. */
static void test_one_owner_is_fifo(void **state)
{
	struct rig *r = rig_new();
	char got[256];

	(void)state;
	rig_gate(r, 1000);
	for (int i = 1; i <= 8; i++)
		submit(r, 1000, i, run);
	rig_release(r);
	order(r, got, sizeof got);
	assert_string_equal(got, "A1 A2 A3 A4 A5 A6 A7 A8");
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_does_not_delay_another_owner),
		cmocka_unit_test(test_owners_take_turns),
		cmocka_unit_test(test_refilled_owner_does_not_jump),
		cmocka_unit_test(test_one_owner_is_fifo),
	};

	evthread_use_pthreads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
