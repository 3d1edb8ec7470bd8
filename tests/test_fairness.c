/*
 * test_fairness.c — one user's burst of boots does not starve another
 * user's start.  A real core on libvirt's test driver behind the fault
 * seam, whose domain_start takes BOOT_MS (a slow boot): user A asks for 20
 * VMs at once, then user B for one.  B's VM must be up after at most one
 * of A's per worker thread (the ones already booting when B asked); in a
 * pool that served the queue first come, first served B would come last.
 *
 * The order is what the core reports (each lease granted, in order) and
 * is checked against the seam's own count of domain starts: every boot
 * went through the slow seam.
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

/* A's 20 boots, then B's one, all asked at once; how many of A's VMs came
 * up before B's. */
static int a_before_b(const char *workers)
{
	const char *conf[] = { "workers", workers, NULL };
	struct harness_opts o = { .fault = true, .scratch_gib = -1, .conf = conf };
	struct harness *h = harness_new(&o);
	struct session *s[A_BOOTS + 1];
	struct grant g[A_BOOTS + 1];
	struct run run = { { 0 }, 0, 0 };
	char name[16];
	int n = 0;

	for (int i = 0; i <= A_BOOTS; i++) {
		snprintf(name, sizeof name, i < A_BOOTS ? "a%02d" : "b", i);
		s[i] = create(h, i < A_BOOTS ? USER_A : USER_B, name);
	}
	struct fault_cfg slow = { .seed = 1, .start_delay_us = BOOT_MS * 1000 };
	fault_driver_set(h->drv, &slow);
	long starts_before = atomic_load(&fault_driver_stats(h->drv)->starts);
	for (int i = 0; i <= A_BOOTS; i++) {
		g[i].run = &run;
		g[i].owner = s[i]->owner;
		holds_lease_acquire(s[i], &g[i].sl, "fairness", 0, getpid(), granted, &g[i]);
	}
	assert_true(harness_wait(h, 60, all_answered, &run));
	assert_int_equal(run.failed, 0);
	/* Every boot was a slow one, through the seam. */
	assert_int_equal(atomic_load(&fault_driver_stats(h->drv)->starts) - starts_before,
			 A_BOOTS + 1);
	while (n <= A_BOOTS && run.order[n] != USER_B)
		n++;
	for (int i = 0; i <= A_BOOTS; i++)
		holds_lease_release(&g[i].sl);
	harness_free(h);
	return n;
}

static void test_one_worker(void **state)
{
	(void)state;
	int n = a_before_b("1");
	printf("workers 1: %d of A's VMs came up before B's\n", n);
	assert_true(n <= 1);
}

static void test_two_workers(void **state)
{
	(void)state;
	int n = a_before_b("2");
	printf("workers 2: %d of A's VMs came up before B's\n", n);
	assert_true(n <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_worker),
		cmocka_unit_test(test_two_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
