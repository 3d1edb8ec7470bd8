/*
 * test_lease.c — the hold gate and parked leases (lease/lease.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lease/lease.h"

static void test_gate_starts_closed(void **state)
{
	struct lease_gate g;

	(void)state;
	lease_gate_init(&g);
	assert_false(lease_gate_is_open(&g));
	assert_int_equal(lease_gate_enter(&g), LEASE_GATE_WAS_CLOSED);
	assert_int_equal(lease_gate_holds(&g), 0);
}

static void test_gate_edges(void **state)
{
	struct lease_gate g;

	(void)state;
	lease_gate_init(&g);
	lease_gate_open(&g);
	assert_int_equal(lease_gate_enter(&g), LEASE_GATE_ENTERED_FIRST);
	assert_int_equal(lease_gate_enter(&g), LEASE_GATE_ENTERED);
	assert_int_equal(lease_gate_holds(&g), 2);
	assert_false(lease_gate_leave(&g));
	assert_true(lease_gate_leave(&g));
	assert_int_equal(lease_gate_holds(&g), 0);
	assert_true(lease_gate_add(&g));
	assert_false(lease_gate_add(&g));
}

/* An idle snapshot is void after any release, even with the count back at 0. */
static void test_gate_close_idle_generation(void **state)
{
	struct lease_gate g;

	(void)state;
	lease_gate_init(&g);
	lease_gate_open(&g);
	uint64_t snap = lease_gate_snapshot(&g);
	assert_int_equal(lease_gate_enter(&g), LEASE_GATE_ENTERED_FIRST);
	assert_true(lease_gate_leave(&g));
	assert_int_equal(lease_gate_holds(&g), 0);
	assert_false(lease_gate_close_idle(&g, snap));
	assert_true(lease_gate_is_open(&g));
	snap = lease_gate_snapshot(&g);
	assert_true(lease_gate_close_idle(&g, snap));
	assert_false(lease_gate_is_open(&g));
	assert_int_equal(lease_gate_enter(&g), LEASE_GATE_WAS_CLOSED);
}

static void test_gate_close_idle_refuses_holds(void **state)
{
	struct lease_gate g;

	(void)state;
	lease_gate_init(&g);
	lease_gate_open(&g);
	lease_gate_enter(&g);
	uint64_t snap = lease_gate_snapshot(&g);
	assert_false(lease_gate_close_idle(&g, snap));
	assert_true(lease_gate_is_open(&g));
}

/* Holds counted while closed survive a reopen (leases of a crashed VM). */
static void test_gate_holds_across_close(void **state)
{
	struct lease_gate g;

	(void)state;
	lease_gate_init(&g);
	lease_gate_open(&g);
	lease_gate_enter(&g);
	lease_gate_close(&g);
	assert_int_equal(lease_gate_holds(&g), 1);
	lease_gate_open(&g);
	assert_int_equal(lease_gate_holds(&g), 1);
	assert_true(lease_gate_leave(&g));
}

/*
 * The idle-close race, in rounds.  In each round two racers enter and
 * leave the open gate (pausing a random few cycles inside and outside)
 * until an enter finds it closed, while the closer (the loop's part)
 * tries snapshot + lease_gate_close_idle() until one succeeds.  A barrier
 * starts every round and the closer waits until both racers are in their
 * loops, so the close races real enters and leaves.
 *
 * Checked with an observer that does not trust the gate: the racers count
 * their own holds in `inside` (after a successful enter, before the
 * leave), so inside <= the gate's count at every instant, and after a
 * close wins `inside` must be 0 (and, the gate being closed, stay 0).
 * They also count their successful enters: an enter (or an enter and its
 * leave) between the closer's snapshot and its close must make the close
 * fail, so after a winning close the round's count is what it was when
 * the snapshot was taken.
 * A refused close needs a racer still running: once both are done the
 * word is still, and the next close must win.  No enter succeeds once the
 * closer has published the close.  Both outcomes must have happened:
 * closes refused because of a racer, and closes won while racers were
 * still entering (an enter then found the gate closed).
 */
#define RACE_ROUNDS 200
#define RACE_MAX_PAIRS 1000000          /* a bound only, never reached */

struct gate_race {
	struct lease_gate g;
	pthread_barrier_t start, end;
	_Atomic int quit;
	_Atomic int started;                /* racers in their loop this round */
	_Atomic int running;                /* racers not yet done this round */
	_Atomic int closed;                 /* the closer's close won */
	_Atomic int inside;                 /* holds as the racers count them */
	_Atomic long entered;               /* successful enters this round */
	_Atomic long entered_after_close;
	_Atomic long found_closed;          /* enters that found the gate closed */
};

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static void gate_race_round(struct gate_race *r, unsigned *seed)
{
	atomic_fetch_add(&r->started, 1);
	for (long i = 0; i < RACE_MAX_PAIRS; i++) {
		int closed_before = atomic_load(&r->closed);
		if (lease_gate_enter(&r->g) == LEASE_GATE_WAS_CLOSED) {
			atomic_fetch_add(&r->found_closed, 1);
			break;
		}
		if (closed_before)
			atomic_fetch_add(&r->entered_after_close, 1);
		atomic_fetch_add(&r->entered, 1);
		atomic_fetch_add(&r->inside, 1);
		spin(rand_r(seed) % 8);
		atomic_fetch_sub(&r->inside, 1);
		lease_gate_leave(&r->g);
		spin(rand_r(seed) % 1024);
	}
	atomic_fetch_sub(&r->running, 1);
}

static void *gate_racer(void *arg)
{
	struct gate_race *r = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (atomic_load(&r->quit))
			return NULL;
		gate_race_round(r, &seed);
		pthread_barrier_wait(&r->end);
	}
}

struct race_count {
	long won_racing;   /* closes that won while a racer was running */
	long held;         /* refused: the snapshot had holds */
	long moved;        /* refused: the word moved between snapshot and close */
};

/* One round on the closer's side.  Like the idle timer, it takes its
 * snapshot and closes a little later: a random few cycles, or (one time
 * in four) once a racer has entered since, so a release or an enter in
 * between must make the close fail. */
static void gate_close_round(struct gate_race *r, struct race_count *c, unsigned *seed)
{
	long refused = 0;

	lease_gate_open(&r->g);
	atomic_store(&r->closed, 0);
	atomic_store(&r->started, 0);
	atomic_store(&r->running, 2);
	atomic_store(&r->entered, 0);
	pthread_barrier_wait(&r->start);
	while (atomic_load(&r->started) < 2)
		sched_yield();
	for (;;) {
		bool racing = atomic_load(&r->running) > 0;
		uint64_t snap = lease_gate_snapshot(&r->g);
		long entered = atomic_load(&r->entered);
		if (lease_gate_holds_of(snap) == 0 && rand_r(seed) % 4 == 0) {
			/* Line an enter up between snapshot and close (on any
			 * number of CPUs): this close must lose. */
			while (atomic_load(&r->entered) == entered && atomic_load(&r->running) > 0)
				sched_yield();
		} else {
			spin(rand_r(seed) % 256);
		}
		if (lease_gate_close_idle(&r->g, snap)) {
			atomic_store(&r->closed, 1);
			assert_int_equal(lease_gate_holds_of(snap), 0);
			assert_int_equal(atomic_load(&r->inside), 0);
			pthread_barrier_wait(&r->end);
			assert_false(lease_gate_is_open(&r->g));
			assert_int_equal(lease_gate_holds(&r->g), 0);
			assert_int_equal(atomic_load(&r->inside), 0);
			/* Every enter of the round came before the snapshot. */
			assert_int_equal(atomic_load(&r->entered), entered);
			c->won_racing += racing;
			return;
		}
		/* Refused with both racers done: nothing moves the word now. */
		assert_true(racing);
		if (lease_gate_holds_of(snap) != 0)
			c->held++;
		else
			c->moved++;
		/* Let a racer preempted while holding run (2 CPUs, 3 threads). */
		if (++refused % 64 == 0)
			usleep(10);
	}
}

static void test_gate_threads(void **state)
{
	struct gate_race r;
	struct race_count c = {0};
	pthread_t t[2];
	unsigned seed = 1;

	(void)state;
	memset(&r, 0, sizeof r);
	lease_gate_init(&r.g);
	pthread_barrier_init(&r.start, NULL, 3);
	pthread_barrier_init(&r.end, NULL, 3);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, gate_racer, &r), 0);
	for (int round = 0; round < RACE_ROUNDS; round++)
		gate_close_round(&r, &c, &seed);
	atomic_store(&r.quit, 1);
	pthread_barrier_wait(&r.start);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.end);
	printf("gate race: %d rounds: %ld closes won while racing; refused %ld times with "
	       "holds, %ld times because the word moved; %ld enters found the gate closed\n",
	       RACE_ROUNDS, c.won_racing, c.held, c.moved, (long)atomic_load(&r.found_closed));
	assert_int_equal(atomic_load(&r.entered_after_close), 0);
	assert_true(c.won_racing > 0);
	assert_true(c.moved > 0);
	assert_true(atomic_load(&r.found_closed) > 0);
}

/* ---- lease points --------------------------------------------------- */

struct probe {
	int need_vm;
	int edges;
	int granted;
	int failed;
	char last_err[512];
};

static void probe_need_vm(struct lease_point *lp)
{
	((struct probe *)lp->owner)->need_vm++;
}

static void probe_edge(struct lease_point *lp)
{
	((struct probe *)lp->owner)->edges++;
}

static const struct lease_point_ops probe_ops = { probe_need_vm, probe_edge, NULL };

/* A VM whose exit was claimed between the start and the grant. */
static bool refuse_grant(struct lease_point *lp)
{
	(void)lp;
	return false;
}

static const struct lease_point_ops refusing_ops = { probe_need_vm, probe_edge, refuse_grant };

static void probe_cb(struct lease *l, const struct cause *err, void *arg)
{
	struct probe *p = arg;

	(void)l;
	if (err == NULL) {
		p->granted++;
	} else {
		p->failed++;
		snprintf(p->last_err, sizeof p->last_err, "%s", err->msg);
	}
}

static void test_lease_fast_path(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease l;

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_gate_open(&lp.gate);
	lease_init(&l);
	assert_int_equal(lease_acquire(&lp, &l, probe_cb, &p), 1);
	assert_int_equal(p.granted, 1);
	assert_int_equal(p.need_vm, 0);
	assert_int_equal(p.edges, 1);
	lease_release(&l);
	assert_int_equal(p.edges, 2);
	assert_int_equal(l.state, LEASE_FREE);
	lease_release(&l);               /* a second release is a no-op */
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
}

static void test_lease_parks_then_grant(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a, b;

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_init(&a);
	lease_init(&b);
	assert_int_equal(lease_acquire(&lp, &a, probe_cb, &p), 0);
	assert_int_equal(lease_acquire(&lp, &b, probe_cb, &p), 0);
	assert_int_equal(p.need_vm, 2);
	assert_int_equal(lease_point_parked(&lp), 2);
	assert_int_equal(p.granted, 0);
	lease_point_grant(&lp);
	assert_int_equal(p.granted, 2);
	assert_int_equal(lease_gate_holds(&lp.gate), 2);
	assert_true(lease_gate_is_open(&lp.gate));
	lease_release(&a);
	lease_release(&b);
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
}

static void test_lease_parks_then_fail(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a;
	struct cause why;

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_init(&a);
	lease_acquire(&lp, &a, probe_cb, &p);
	cause_set(&why, -32004, "libvirt says no");
	lease_point_fail(&lp, &why);
	assert_int_equal(p.failed, 1);
	assert_string_equal(p.last_err, "libvirt says no");
	assert_int_equal(a.state, LEASE_FREE);
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
}

static void test_lease_cancel_parked(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a;

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_init(&a);
	lease_acquire(&lp, &a, probe_cb, &p);
	lease_release(&a);
	assert_int_equal(lease_point_parked(&lp), 0);
	lease_point_grant(&lp);
	assert_int_equal(p.granted, 0);
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
}

/* A granted callback that releases its own lease and takes another. */
struct reentrant {
	struct lease_point *lp;
	struct lease second;
	int calls;
};

static void reentrant_cb(struct lease *l, const struct cause *err, void *arg)
{
	struct reentrant *r = arg;

	assert_null(err);
	if (r->calls++ == 0) {
		lease_release(l);
		lease_init(&r->second);
		assert_int_equal(lease_acquire(r->lp, &r->second, reentrant_cb, r), 1);
	}
}

static void test_lease_grant_reentrant(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a;
	struct reentrant r = { .lp = &lp };

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_init(&a);
	lease_acquire(&lp, &a, reentrant_cb, &r);
	lease_point_grant(&lp);
	assert_int_equal(r.calls, 2);
	assert_int_equal(lease_gate_holds(&lp.gate), 1);
	lease_release(&r.second);
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
}

/* may_grant says the VM died: nobody is granted, the gate is closed,
 * the callers stay parked for the exit path. */
static void test_lease_grant_refused(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a;

	(void)state;
	lease_point_init(&lp, &refusing_ops, &p);
	lease_init(&a);
	lease_acquire(&lp, &a, probe_cb, &p);
	assert_int_equal(lease_point_grant(&lp), 0);
	assert_int_equal(p.granted, 0);
	assert_false(lease_gate_is_open(&lp.gate));
	assert_int_equal(lease_point_parked(&lp), 1);
	assert_int_equal(a.state, LEASE_PARKED);
	lease_release(&a);
	assert_int_equal(lease_point_parked(&lp), 0);
}

/* The gate closes during the grant (the event thread claiming an exit):
 * the callers not yet answered stay parked. */
struct closer {
	struct lease_point *lp;
	int calls;
};

static void closer_cb(struct lease *l, const struct cause *err, void *arg)
{
	struct closer *c = arg;

	(void)l;
	assert_null(err);
	c->calls++;
	lease_gate_close(&c->lp->gate);
}

static void test_lease_grant_stops_at_close(void **state)
{
	struct probe p = {0};
	struct lease_point lp;
	struct lease a, b;
	struct closer c = { .lp = &lp };

	(void)state;
	lease_point_init(&lp, &probe_ops, &p);
	lease_init(&a);
	lease_init(&b);
	lease_acquire(&lp, &a, closer_cb, &c);
	lease_acquire(&lp, &b, closer_cb, &c);
	assert_int_equal(lease_point_grant(&lp), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(a.state, LEASE_HELD);
	assert_int_equal(b.state, LEASE_PARKED);
	assert_int_equal(lease_gate_holds(&lp.gate), 1);
	lease_release(&a);
	lease_release(&b);
	assert_int_equal(lease_gate_holds(&lp.gate), 0);
	assert_int_equal(lease_point_parked(&lp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_starts_closed),
		cmocka_unit_test(test_gate_edges),
		cmocka_unit_test(test_gate_close_idle_generation),
		cmocka_unit_test(test_gate_close_idle_refuses_holds),
		cmocka_unit_test(test_gate_holds_across_close),
		cmocka_unit_test(test_gate_threads),
		cmocka_unit_test(test_lease_fast_path),
		cmocka_unit_test(test_lease_parks_then_grant),
		cmocka_unit_test(test_lease_parks_then_fail),
		cmocka_unit_test(test_lease_cancel_parked),
		cmocka_unit_test(test_lease_grant_reentrant),
		cmocka_unit_test(test_lease_grant_refused),
		cmocka_unit_test(test_lease_grant_stops_at_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
