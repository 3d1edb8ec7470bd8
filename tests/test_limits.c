/*
 * test_limits.c — per-user limits on what runs (session/limits.c), on a
 * real core with libvirt's test driver: max_running_per_user and
 * max_memory_mib_per_user refuse a start past them with CAUSE_LIMIT and a
 * message naming the limit, the user's use and the figure; the callers
 * waiting for that VM fail at once; root is exempt; another user counts
 * alone; a stop makes room; a limit changed in the configuration applies
 * to the next start.  What is up is checked against libvirt (the
 * harness's own connection), not only against the core's states.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../metrics/metrics.h"
#include "harness/harness.h"

#define USER 1001
#define OTHER 1002

static struct session *create(struct harness *h, uid_t owner, const char *name, int mib)
{
	json_t *p = json_pack("{s:s, s:i}", "storage", "ephemeral", "memory_mib", mib);
	struct cause c;
	struct session *s = harness_create_as(h, owner, name, p, &c);

	json_decref(p);
	if (s == NULL)
		fail_msg("create %s: %s", name, c.msg);
	return s;
}

static struct harness *rig(const char *running, const char *mib)
{
	const char *conf[] = { "max_running_per_user", running, "max_memory_mib_per_user", mib,
			       NULL };
	struct harness_opts o = { .scratch_gib = -1, .conf = conf };

	return harness_new(&o);
}

/* A lease (the VM up) or the refusal it got. */
static int up(struct harness *h, struct session *s, struct session_lease *sl, struct cause *c)
{
	cause_clear(c);
	return harness_lease(h, s, sl, 30, c);
}

static void expect_refusal(struct harness *h, struct session *s, const char *const *parts)
{
	struct session_lease sl;
	struct cause c;
	int domains = harness_domains(h);

	assert_int_equal(up(h, s, &sl, &c), -1);
	assert_int_equal(c.kind, CAUSE_LIMIT);
	for (; *parts != NULL; parts++) {
		if (strstr(c.msg, *parts) == NULL)
			fail_msg("'%s' does not say '%s'", c.msg, *parts);
	}
	/* Refused at once: nothing started, nobody left waiting. */
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_int_equal(lease_point_parked(&s->lp), 0);
	assert_int_equal(harness_domains(h), domains);
}

static void test_running_limit(void **state)
{
	struct harness *h = rig("2", "0");
	struct session *a = create(h, USER, "a", 512), *b = create(h, USER, "b", 512);
	struct session *c3 = create(h, USER, "c", 512), *o = create(h, OTHER, "o", 512);
	struct session_lease la, lb, lc, lo;
	struct cause c;
	uint64_t refused = metrics_value(MX_LIMIT_REFUSALS, MLIMIT_RUNNING);

	(void)state;
	assert_int_equal(up(h, a, &la, &c), 0);
	assert_int_equal(up(h, b, &lb, &c), 0);
	assert_int_equal(harness_domains(h), 2);
	expect_refusal(h, c3, (const char *const[]){ "limit reached", "max_running_per_user is 2",
		"user 1001 has 2 VM(s) starting or running", "'c'", NULL });
	assert_int_equal(metrics_value(MX_LIMIT_REFUSALS, MLIMIT_RUNNING), refused + 1);
	/* Another user counts alone. */
	assert_int_equal(up(h, o, &lo, &c), 0);
	/* A stop makes room for one. */
	holds_lease_release(&la);
	assert_int_equal(harness_stop(h, a, false, &c), 0);
	assert_int_equal(up(h, c3, &lc, &c), 0);
	assert_int_equal(harness_domains(h), 3);            /* b, c, o */
	expect_refusal(h, a, (const char *const[]){ "max_running_per_user is 2", NULL });
	/* Raised in the configuration: the next start sees it. */
	h->cfg.core.max_running_per_user = 3;
	assert_int_equal(up(h, a, &la, &c), 0);
	holds_lease_release(&la);
	holds_lease_release(&lb);
	holds_lease_release(&lc);
	holds_lease_release(&lo);
	harness_free(h);
}

static void test_memory_limit(void **state)
{
	struct harness *h = rig("0", "1024");
	struct session *big = create(h, USER, "big", 768), *small = create(h, USER, "small", 256);
	struct session *more = create(h, USER, "more", 512);
	struct session_lease l1, l2, l3;
	struct cause c;
	uint64_t refused = metrics_value(MX_LIMIT_REFUSALS, MLIMIT_MEMORY);

	(void)state;
	assert_int_equal(up(h, big, &l1, &c), 0);
	expect_refusal(h, more, (const char *const[]){ "max_memory_mib_per_user is 1024",
		"user 1001 has 768 MiB in VMs starting or running", "'more' needs 512 MiB", NULL });
	assert_int_equal(metrics_value(MX_LIMIT_REFUSALS, MLIMIT_MEMORY), refused + 1);
	assert_int_equal(up(h, small, &l2, &c), 0);         /* 768 + 256 = 1024: fits */
	holds_lease_release(&l1);
	assert_int_equal(harness_stop(h, big, false, &c), 0);
	assert_int_equal(up(h, more, &l3, &c), 0);          /* 256 + 512 */
	holds_lease_release(&l2);
	holds_lease_release(&l3);
	harness_free(h);
}

/* Root owns what it likes; the limits are for other users. */
static void test_root_exempt(void **state)
{
	struct harness *h = rig("1", "512");
	struct session_lease l[3];
	struct cause c;
	char name[16];

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "r%d", i);
		assert_int_equal(up(h, create(h, 0, name, 1024), &l[i], &c), 0);
	}
	assert_int_equal(harness_domains(h), 3);
	for (int i = 0; i < 3; i++)
		holds_lease_release(&l[i]);
	harness_free(h);
}

/* Several callers wait for one VM when the limit says no: all fail. */
struct waiter {
	struct session_lease sl;
	int answered, failed;
	enum cause_kind kind;
};

static void answered(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct waiter *w = arg;

	(void)sl;
	w->answered++;
	if (err != NULL) {
		w->failed++;
		w->kind = err->kind;
	}
}

static bool all_answered(struct harness *h, void *arg)
{
	struct waiter *w = arg;

	(void)h;
	return w[0].answered && w[1].answered && w[2].answered;
}

static void test_every_waiter_fails(void **state)
{
	struct harness *h = rig("1", "0");
	struct session *a = create(h, USER, "a", 512), *b = create(h, USER, "b", 512);
	struct session_lease la;
	struct waiter w[3];
	struct cause c;

	(void)state;
	memset(w, 0, sizeof w);
	assert_int_equal(up(h, a, &la, &c), 0);
	for (int i = 0; i < 3; i++)
		holds_lease_acquire(b, &w[i].sl, "test", 0, 1, answered, &w[i]);
	assert_true(harness_wait(h, 10, all_answered, w));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].failed, 1);
		assert_int_equal(w[i].kind, CAUSE_LIMIT);
	}
	assert_int_equal(b->state, SESSION_STOPPED);
	holds_lease_release(&la);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_limit),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_root_exempt),
		cmocka_unit_test(test_every_waiter_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
