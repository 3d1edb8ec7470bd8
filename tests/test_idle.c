/*
 * test_idle.c — the grace timer: arm, disarm, anti-thrash re-arm, the
 * expiry CAS, "never" (idle/idle.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/timeutil.h"
#include "../idle/idle.h"

struct fixture {
	struct event_base *base;
	struct lease_point lp;
	struct idle idle;
	int expired;
	int armed;
	int disarmed;
	double last_deadline;
	double expired_at;
};

static void fx_expired(struct idle *id, void *arg)
{
	struct fixture *f = arg;

	(void)id;
	f->expired++;
	f->expired_at = mono_now();
	event_base_loopbreak(f->base);
}

static void fx_changed(struct idle *id, double deadline, void *arg)
{
	struct fixture *f = arg;

	(void)id;
	if (deadline > 0) {
		f->armed++;
		f->last_deadline = deadline;
	} else {
		f->disarmed++;
	}
}

static const struct idle_ops fx_idle_ops = { fx_expired, fx_changed };

static void fx_edge(struct lease_point *lp)
{
	struct fixture *f = lp->owner;

	idle_poke(&f->idle);
}

static const struct lease_point_ops fx_lp_ops = { NULL, fx_edge, NULL };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	evthread_use_pthreads();
	f->base = event_base_new();
	lease_point_init(&f->lp, &fx_lp_ops, f);
	idle_init(&f->idle, f->base, &f->lp.gate, &fx_idle_ops, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	idle_fini(&f->idle);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void loop_once_nonblock(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs until expiry or a generous hang guard; returns false on the guard. */
static bool run_until_expired(struct fixture *f, double guard)
{
	struct event *ev = evtimer_new(f->base, stop_loop, f->base);
	struct timeval tv = tv_from_seconds(guard);
	int before = f->expired;

	evtimer_add(ev, &tv);
	event_base_dispatch(f->base);
	event_free(ev);
	return f->expired > before;
}

static void open_and_enable(struct fixture *f, double grace)
{
	lease_gate_open(&f->lp.gate);
	idle_set_grace(&f->idle, grace);
	idle_enable(&f->idle, true);
}

static void test_idle_arms_and_expires(void **state)
{
	struct fixture *f = *state;

	open_and_enable(f, 0.02);
	assert_int_equal(f->armed, 1);
	assert_true(idle_deadline(&f->idle) > 0);
	assert_true(run_until_expired(f, 5));
	assert_int_equal(f->expired, 1);
	assert_false(lease_gate_is_open(&f->lp.gate));
	assert_true(idle_deadline(&f->idle) == 0);
}

static void test_idle_hold_disarms(void **state)
{
	struct fixture *f = *state;
	struct lease l;

	open_and_enable(f, 0.02);
	lease_init(&l);
	assert_int_equal(lease_acquire(&f->lp, &l, NULL, NULL), 1);
	loop_once_nonblock(f);
	assert_int_equal(f->disarmed, 1);
	assert_true(idle_deadline(&f->idle) == 0);
	/* Held: a 0.2 s run sees no expiry even though grace is 0.02 s. */
	assert_false(run_until_expired(f, 0.2));
	lease_release(&l);
	loop_once_nonblock(f);
	assert_int_equal(f->armed, 2);
	assert_true(run_until_expired(f, 5));
	assert_true(lease_gate_holds(&f->lp.gate) == 0);
}

/* Anti-thrash: a burst (acquire+release) during grace pushes the deadline
 * to a full grace after the release. */
static void test_idle_rearm_after_release(void **state)
{
	struct fixture *f = *state;
	struct lease l;

	open_and_enable(f, 30);
	double first = idle_deadline(&f->idle);
	lease_init(&l);
	lease_acquire(&f->lp, &l, NULL, NULL);
	lease_release(&l);
	loop_once_nonblock(f);
	assert_true(idle_deadline(&f->idle) > first);
	assert_int_equal(f->armed, 2);
	assert_int_equal(f->expired, 0);
}

/* A release that happened but whose poke was not processed yet when the
 * timer fires: the expiry CAS sees the new generation and refuses; the
 * tracker re-arms a full grace and expires later, exactly once. */
static void test_idle_expiry_cas_refuses_stale_snapshot(void **state)
{
	struct fixture *f = *state;

	open_and_enable(f, 0.02);
	/* Bypass the lease layer so no poke is sent. */
	lease_gate_enter(&f->lp.gate);
	lease_gate_leave(&f->lp.gate);
	assert_true(run_until_expired(f, 5));
	assert_int_equal(f->expired, 1);
	assert_int_equal(f->armed, 2);     /* the first arm was refused */
}

static void test_idle_never(void **state)
{
	struct fixture *f = *state;

	open_and_enable(f, IDLE_NEVER);
	assert_int_equal(f->armed, 0);
	assert_true(idle_deadline(&f->idle) == 0);
	assert_false(run_until_expired(f, 0.1));
	assert_true(lease_gate_is_open(&f->lp.gate));
}

static void test_idle_disabled(void **state)
{
	struct fixture *f = *state;

	lease_gate_open(&f->lp.gate);
	idle_set_grace(&f->idle, 0.01);
	assert_int_equal(f->armed, 0);
	idle_enable(&f->idle, true);
	assert_int_equal(f->armed, 1);
	idle_enable(&f->idle, false);
	assert_int_equal(f->disarmed, 1);
	assert_false(run_until_expired(f, 0.1));
}

/* Closed gate (VM not running): never armed, whatever the holds. */
static void test_idle_closed_gate(void **state)
{
	struct fixture *f = *state;

	idle_set_grace(&f->idle, 0.01);
	idle_enable(&f->idle, true);
	assert_int_equal(f->armed, 0);
}

/* Fractional grace is honoured as given. */
static void test_idle_fractional_grace(void **state)
{
	struct fixture *f = *state;
	double before = mono_now();

	open_and_enable(f, 0.25);
	assert_true(idle_deadline(&f->idle) - before >= 0.25);
	assert_true(idle_deadline(&f->idle) - before < 0.25 + 1.0);
}

/* The stop never begins before the deadline the tracker announced, even
 * though libevent's timers run on its own (possibly coarse, cached)
 * clock: many short graces, each expiry checked against its deadline. */
static void test_idle_never_expires_early(void **state)
{
	struct fixture *f = *state;
	int early = 0;
	double worst = 0;

	for (int i = 0; i < 300; i++) {
		open_and_enable(f, 0.005 + 0.001 * (i % 5));
		double deadline = f->last_deadline;
		assert_true(deadline > 0);
		/* Enter the loop just before the deadline (0.1 .. 3 ms), as a
		 * busy loop would: the timer is checked without a sleep, so
		 * a clock behind CLOCK_MONOTONIC would fire it early. */
		double enter = deadline - 0.0001 * (1 + i % 30);
		while (mono_now() < enter)
			;
		assert_true(run_until_expired(f, 5));
		if (f->expired_at < deadline) {
			early++;
			if (deadline - f->expired_at > worst)
				worst = deadline - f->expired_at;
		}
	}
	if (early != 0)
		print_error("%d of 300 expiries came early, worst by %.3f ms\n",
			    early, worst * 1000.0);
	assert_int_equal(early, 0);
	assert_int_equal(f->expired, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_arms_and_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_hold_disarms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_rearm_after_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_expiry_cas_refuses_stale_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_never, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_closed_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_fractional_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_never_expires_early, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
