/*
 * test_instance.c — instances, the disposition table and its two claims
 * (lease/instance.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "../lease/lease.h"

static void test_disposition_names_round_trip(void **state)
{
	(void)state;
	for (int d = 0; d < DISP__COUNT; d++) {
		const char *n = disposition_name((enum disposition)d);
		assert_non_null(n);
		assert_string_not_equal(n, "invalid");
		assert_int_equal(disposition_from_name(n), d);
	}
	assert_string_equal(disposition_name(DISP__COUNT), "invalid");
	assert_int_equal(disposition_from_name("nonsense"), -1);
}

static void test_names_derived_from_ids(void **state)
{
	uuid_t u;

	(void)state;
	uuid_parse("0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f", u);
	struct instance *inst = instance_new("sd-1a2b3c4d-9f8e7d6c", u);
	assert_string_equal(inst->id, "0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f");
	assert_string_equal(inst->domain,
			    "sd-1a2b3c4d-9f8e7d6c-0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f");
	assert_string_equal(inst->scratch,
			    "sd-1a2b3c4d-0b7c3c8e-55d4-4d7e-9d7f-0a1b2c3d4e5f-scratch.qcow2");
	assert_int_equal(instance_disposition(inst), DISP_ACTIVE);
	instance_unref(inst, __func__);
}

static void test_expected_then_exit(void **state)
{
	(void)state;
	struct instance *inst = instance_new("sd-x-y", NULL);
	assert_true(instance_claim_expected_stop(inst));
	assert_false(instance_claim_spontaneous_exit(inst));   /* our own stop event */
	assert_false(instance_claim_expected_stop(inst));
	assert_int_equal(instance_disposition(inst), DISP_STOP_REQUESTED);
	instance_unref(inst, __func__);
}

static void test_exit_then_expected(void **state)
{
	(void)state;
	struct instance *inst = instance_new("sd-x-y", NULL);
	assert_true(instance_claim_spontaneous_exit(inst));
	assert_false(instance_claim_expected_stop(inst));
	assert_false(instance_claim_spontaneous_exit(inst));
	assert_int_equal(instance_disposition(inst), DISP_EXIT_CLAIMED);
	instance_unref(inst, __func__);
}

/* Memory tiers: the owner of a stop parks the saved instance; nothing
 * claims a suspended one but a discard; a restore makes it active again,
 * and then an exit can be claimed as for any instance. */
static void test_suspend_resume_discard(void **state)
{
	(void)state;
	struct instance *inst = instance_new("sd-x-y", NULL);
	assert_false(instance_suspend(inst));                /* only from STOP_REQUESTED */
	assert_false(instance_resume(inst));                 /* only from SUSPENDED */
	assert_true(instance_claim_expected_stop(inst));
	assert_true(instance_suspend(inst));
	assert_int_equal(instance_disposition(inst), DISP_SUSPENDED);
	assert_false(instance_claim_spontaneous_exit(inst)); /* no domain: no exit */
	assert_false(instance_suspend(inst));
	assert_true(instance_resume(inst));
	assert_int_equal(instance_disposition(inst), DISP_ACTIVE);
	assert_true(instance_claim_expected_stop(inst));     /* saved again */
	assert_true(instance_suspend(inst));
	assert_true(instance_claim_expected_stop(inst));     /* discarded */
	assert_int_equal(instance_disposition(inst), DISP_STOP_REQUESTED);
	assert_false(instance_resume(inst));
	assert_false(instance_claim_spontaneous_exit(inst));
	instance_unref(inst, __func__);

	inst = instance_new("sd-x-y", NULL);
	assert_true(instance_claim_expected_stop(inst));
	assert_true(instance_suspend(inst));
	assert_true(instance_resume(inst));
	assert_true(instance_claim_spontaneous_exit(inst));  /* the restored VM crashed */
	assert_false(instance_claim_expected_stop(inst));
	instance_unref(inst, __func__);
}

/* Our own save's STOPPED/SAVED events are counted down, never below 0: an
 * unannounced one (somebody else's save) is not ours. */
static void test_own_save_events(void **state)
{
	(void)state;
	struct instance *inst = instance_new("sd-x-y", NULL);
	assert_false(instance_own_save_event(inst));
	instance_own_save_begin(inst);
	instance_own_save_begin(inst);
	assert_true(instance_own_save_event(inst));
	instance_own_save_cancel(inst);                      /* the second save failed */
	assert_false(instance_own_save_event(inst));
	instance_own_save_cancel(inst);                      /* never below zero */
	instance_own_save_begin(inst);
	assert_true(instance_own_save_event(inst));
	assert_false(instance_own_save_event(inst));
	instance_unref(inst, __func__);
}

/* ---- many threads, many rounds: exactly one winner each round -------- */

#define ROUNDS 100000
#define CLAIMERS 2

struct race {
	pthread_barrier_t start, done;
	_Atomic int next_index;
	struct instance *_Atomic inst;
	_Atomic int winners;
	_Atomic int expected_wins, exit_wins;
};

static void *claimer(void *arg)
{
	struct race *r = arg;
	int me = atomic_fetch_add(&r->next_index, 1);

	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(&r->start);
		struct instance *inst = instance_ref(atomic_load(&r->inst), "claimer");
		/* Half the claimers play the idle path, half the event thread;
		 * which half rotates every round. */
		bool won = ((me + i) & 1) ? instance_claim_expected_stop(inst)
					  : instance_claim_spontaneous_exit(inst);
		if (won)
			atomic_fetch_add(&r->winners, 1);
		instance_unref(inst, "claimer");
		pthread_barrier_wait(&r->done);
	}
	return NULL;
}

static void test_claims_threads(void **state)
{
	struct race r;
	pthread_t t[CLAIMERS];
	long before = instance_live_count();

	(void)state;
	memset(&r, 0, sizeof r);
	pthread_barrier_init(&r.start, NULL, CLAIMERS + 1);
	pthread_barrier_init(&r.done, NULL, CLAIMERS + 1);
	for (int i = 0; i < CLAIMERS; i++)
		pthread_create(&t[i], NULL, claimer, &r);
	for (int i = 0; i < ROUNDS; i++) {
		atomic_store(&r.inst, instance_new("sd-x-y", NULL));
		atomic_store(&r.winners, 0);
		pthread_barrier_wait(&r.start);
		pthread_barrier_wait(&r.done);
		assert_int_equal(atomic_load(&r.winners), 1);
		struct instance *inst = atomic_load(&r.inst);
		int d = instance_disposition(inst);
		assert_true(d == DISP_STOP_REQUESTED || d == DISP_EXIT_CLAIMED);
		if (d == DISP_STOP_REQUESTED)
			r.expected_wins++;
		else
			r.exit_wins++;
		instance_unref(inst, __func__);
	}
	for (int i = 0; i < CLAIMERS; i++)
		pthread_join(t[i], NULL);
	/* Both kinds of claim won some rounds: the race was real. */
	assert_true(r.expected_wins > 0);
	assert_true(r.exit_wins > 0);
	assert_int_equal(instance_live_count(), before);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.done);
}

static void test_index(void **state)
{
	(void)state;
	struct instance *inst = instance_new("sd-x-y", NULL);
	size_t before = instance_index_count();

	instance_index_add(inst);
	instance_index_add(inst);            /* idempotent */
	assert_int_equal(instance_index_count(), before + 1);
	struct instance *got = instance_index_get(inst->id, __func__);
	assert_ptr_equal(got, inst);
	instance_unref(got, __func__);
	assert_null(instance_index_get("00000000-0000-0000-0000-000000000000", __func__));
	instance_index_remove(inst);
	instance_index_remove(inst);         /* idempotent */
	assert_null(instance_index_get(inst->id, __func__));
	assert_int_equal(instance_index_count(), before);
	instance_unref(inst, __func__);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disposition_names_round_trip),
		cmocka_unit_test(test_names_derived_from_ids),
		cmocka_unit_test(test_expected_then_exit),
		cmocka_unit_test(test_exit_then_expected),
		cmocka_unit_test(test_suspend_resume_discard),
		cmocka_unit_test(test_own_save_events),
		cmocka_unit_test(test_claims_threads),
		cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
