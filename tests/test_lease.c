/*
 * test_lease.c — the hold gate and parked leases (lease/lease.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
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

struct gate_race {
	struct lease_gate g;
	_Atomic int go;
	_Atomic long entered_after_close;
	_Atomic int closed;
};

static void *gate_racer(void *arg)
{
	struct gate_race *r = arg;

	while (!atomic_load(&r->go))
		;
	for (int i = 0; i < 200000; i++) {
		int closed_before = atomic_load(&r->closed);
		if (lease_gate_enter(&r->g) != LEASE_GATE_WAS_CLOSED) {
			if (closed_before)
				atomic_fetch_add(&r->entered_after_close, 1);
			lease_gate_leave(&r->g);
		}
	}
	return NULL;
}

/* Two threads hammer enter/leave while the main thread tries idle closes:
 * a close only ever succeeds on a word with 0 holds, and once closed no
 * enter succeeds. */
static void test_gate_threads(void **state)
{
	struct gate_race r;
	pthread_t t[2];
	int closes = 0;

	(void)state;
	memset(&r, 0, sizeof r);
	lease_gate_init(&r.g);
	lease_gate_open(&r.g);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, gate_racer, &r);
	atomic_store(&r.go, 1);
	for (int i = 0; i < 100000 && closes == 0; i++) {
		uint64_t snap = lease_gate_snapshot(&r.g);
		if (lease_gate_close_idle(&r.g, snap)) {
			assert_int_equal(lease_gate_holds_of(snap), 0);
			atomic_store(&r.closed, 1);
			closes++;
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&r.entered_after_close), 0);
	assert_int_equal(lease_gate_holds(&r.g), 0);
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
