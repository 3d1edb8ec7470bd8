/*
 * test_fairness.c — one user's burst of boots does not starve another
 * user's start.  A real core on libvirt's test driver behind the fault
 * seam, whose domain_start takes BOOT_MS (a slow boot): user A asks for 20
 * VMs at once, then user B for one.  In a pool that served the queue first
 * come, first served B would come last, after 20 boots.
 *
 * Two orders are checked.  The seam's own record of domain_start calls:
 * B's boot begins on the first thread that comes free, so at most one of
 * A's boots per worker thread (those already under way when B asked)
 * begins before it.  And the order the VMs came up in (each lease granted,
 * as the core reports it): with one thread, B's VM is up after at most
 * one of A's.  (With more threads, boots that began together finish in
 * either order.)  Every boot went through the slow seam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/timeutil.h"
#include "harness/harness.h"

#define USER_A 1001
#define USER_B 1002
#define A_BOOTS 20
#define BOOT_MS 40

struct grant {
	struct session_lease sl;
	struct run *run;
	uid_t owner;
};

struct run {
	uid_t order[A_BOOTS + 1];
	int granted, failed;
	int up_before_b;                    /* A's VMs up before B's */
	int begun_before_b;                 /* A's boots begun before B's */
};

static void granted(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct grant *g = arg;

	(void)sl;
	if (err != NULL) {
		g->run->failed++;
		return;
	}
	g->run->order[g->run->granted++] = g->owner;
}

static bool all_answered(struct harness *h, void *arg)
{
	struct run *r = arg;

	(void)h;
	return r->granted + r->failed == A_BOOTS + 1;
}

static struct session *create(struct harness *h, uid_t owner, const char *name)
{
	json_t *p = json_pack("{s:s}", "storage", "ephemeral");
	struct cause c;
	struct session *s = harness_create_as(h, owner, name, p, &c);

	json_decref(p);
	if (s == NULL)
		fail_msg("create %s: %s", name, c.msg);
	return s;
}

/* Where B's boot is in the seam's record of domain_start calls. */
static int boots_before(struct driver *drv, const char *uuid)
{
	json_t *order = fault_driver_start_order(drv);
	size_t i;
	json_t *v;
	int n = -1;

	assert_int_equal(json_array_size(order), A_BOOTS + 1);  /* all through the seam */
	json_array_foreach(order, i, v) {
		if (strcmp(json_string_value(v), uuid) == 0)
			n = (int)i;
	}
	json_decref(order);
	assert_true(n >= 0);
	return n;
}

/* A's 20 boots, then B's one, all asked at once. */
static void a_then_b(const char *workers, struct run *run)
{
	const char *conf[] = { "workers", workers, NULL };
	struct harness_opts o = { .fault = true, .scratch_gib = -1, .conf = conf };
	struct harness *h = harness_new(&o);
	struct session *s[A_BOOTS + 1];
	struct grant g[A_BOOTS + 1];
	char name[16];

	for (int i = 0; i <= A_BOOTS; i++) {
		snprintf(name, sizeof name, i < A_BOOTS ? "a%02d" : "b", i);
		s[i] = create(h, i < A_BOOTS ? USER_A : USER_B, name);
	}
	struct fault_cfg slow = { .seed = 1, .start_delay_us = BOOT_MS * 1000 };
	fault_driver_set(h->drv, &slow);
	fault_driver_ledger_clear(h->drv);
	memset(run, 0, sizeof *run);
	for (int i = 0; i <= A_BOOTS; i++) {
		g[i].run = run;
		g[i].owner = s[i]->owner;
		holds_lease_acquire(s[i], &g[i].sl, "fairness", 0, getpid(), granted, &g[i]);
	}
	assert_true(harness_wait(h, 60, all_answered, run));
	assert_int_equal(run->failed, 0);
	while (run->up_before_b <= A_BOOTS && run->order[run->up_before_b] != USER_B)
		run->up_before_b++;
	run->begun_before_b = boots_before(h->drv, s[A_BOOTS]->inst->id);
	printf("workers %s: %d of A's boots began and %d of A's VMs came up before B's\n",
	       workers, run->begun_before_b, run->up_before_b);
	for (int i = 0; i <= A_BOOTS; i++)
		holds_lease_release(&g[i].sl);
	harness_free(h);
}

static void test_one_worker(void **state)
{
	struct run run;

	(void)state;
	a_then_b("1", &run);
	assert_true(run.begun_before_b <= 1);
	assert_true(run.up_before_b <= 1);
}

static void test_three_workers(void **state)
{
	struct run run;

	(void)state;
	a_then_b("3", &run);
	assert_true(run.begun_before_b <= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_worker),
		cmocka_unit_test(test_three_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
