/*
 * test_lifecycle.c — sessions on the real core and libvirt's embedded test
 * driver: lazy start, parking while starting and stopping, idle stop, TTL
 * and disconnect releases, both crash policies and the crash-loop bound,
 * failed starts, stop/delete conflicts, persistence, adoption, orphans.
 *
 * Crashes are real libvirt destroys behind the core's back (the fault
 * seam's fault_driver_crash), so the core sees real lifecycle events.
 * Every scenario ends by checking the exactly-once invariant: each
 * instance started was torn down once, and no domain or instance volume
 * of the daemon is left in libvirt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"

static int setup(void **state)
{
	struct harness_opts o = { .fault = true, .record_events = true };

	*state = harness_new(&o);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

static struct session *make(struct harness *h, const char *name, const char *json)
{
	struct cause c;
	json_t *p = json ? json_loads(json, 0, NULL) : NULL;
	struct session *s = harness_create(h, name, p, &c);

	json_decref(p);
	if (s == NULL)
		fail_msg("create %s: %s", name, c.msg);
	return s;
}

static bool state_is(struct harness *h, void *arg)
{
	(void)h;
	struct { struct session *s; enum session_state st; } *w = arg;
	return w->s->state == w->st;
}

static void wait_state(struct harness *h, struct session *s, enum session_state st)
{
	struct { struct session *s; enum session_state st; } w = { s, st };

	if (!harness_wait(h, 20, state_is, &w))
		fail_msg("session %s: still %s, expected %s", s->name,
			 state_name(s->state), state_name(st));
}

/* All instances torn down once, nothing of ours left in libvirt. */
static void assert_clean(struct harness *h)
{
	assert_true(harness_wait(h, 20, harness_quiet, NULL));
	assert_int_equal(h->core->stats.teardowns, h->core->stats.instances_started);
	assert_int_equal(harness_domains(h), 0);
	assert_int_equal(harness_volumes(h), 0);
	assert_int_equal(instance_index_count(), 0);
}

static void hold(struct harness *h, struct session *s, struct session_lease *sl)
{
	struct cause c;

	if (harness_lease(h, s, sl, 20, &c) < 0)
		fail_msg("lease on %s: %s", s->name, c.msg);
}

/* ---- lazy start, reading never starts, idle stop ------------------------ */

static void test_lazy_start_and_idle_stop(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "lazy", "{\"grace_s\": 0.05}");
	struct session_lease sl;

	assert_int_equal(s->state, SESSION_STOPPED);
	json_decref(view_session(s));             /* a status read */
	harness_spin(h, 0.05);
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_int_equal(s->start_count, 0);
	assert_int_equal(harness_domains(h), 0);

	hold(h, s, &sl);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_int_equal(s->start_count, 1);
	assert_int_equal(harness_domains(h), 1);
	assert_int_equal(harness_volumes(h), 1);     /* the scratch overlay */
	/* Held: no stop however long the grace is exceeded. */
	harness_spin(h, 0.2);
	assert_int_equal(s->state, SESSION_RUNNING);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "idle");
	assert_int_equal(harness_events(h, "lazy", RPC_EV_STOPPED), 1);
	assert_int_equal(harness_events(h, "lazy", RPC_EV_RUNNING), 1);
	assert_clean(h);
}

/* ---- parking -------------------------------------------------------------- */

static void test_park_while_starting(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "park1", "{\"grace_s\": 0.05}");
	struct session_lease a, b;
	struct cause c;

	/* Slow starts: the second caller arrives while the first boots. */
	struct fault_cfg f = { .seed = 1, .max_op_delay_us = 100000 };
	fault_driver_set(h->drv, &f);
	holds_lease_acquire(s, &a, "a", 0, 1, NULL, NULL);
	assert_int_equal(s->state, SESSION_STARTING);
	assert_int_equal(harness_lease(h, s, &b, 20, &c), 0);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_int_equal(a.lease.state, LEASE_HELD);
	assert_int_equal(s->start_count, 1);
	assert_int_equal(lease_gate_holds(&s->lp.gate), 2);
	holds_lease_release(&a);
	holds_lease_release(&b);
	wait_state(h, s, SESSION_STOPPED);
	assert_clean(h);
}

/* A request during teardown waits and succeeds on a new instance. */
static void test_park_while_stopping(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "park2", "{\"grace_s\": 0.01}");
	struct session_lease a, b;
	struct cause c;

	hold(h, s, &a);
	char first[37];
	str_copy(first, sizeof first, s->inst->id);
	struct fault_cfg f = { .seed = 2, .max_op_delay_us = 150000 };
	fault_driver_set(h->drv, &f);
	holds_lease_release(&a);
	wait_state(h, s, SESSION_STOPPING);
	assert_int_equal(harness_lease(h, s, &b, 20, &c), 0);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_int_equal(s->start_count, 2);
	assert_string_not_equal(s->inst->id, first);
	assert_string_equal(s->last_stop_reason, "idle");
	holds_lease_release(&b);
	wait_state(h, s, SESSION_STOPPED);
	assert_clean(h);
}

/* ---- tokens: TTL and disconnect ----------------------------------------------- */

static bool no_holds(struct harness *h, void *arg)
{
	(void)h;
	return lease_gate_holds(&((struct session *)arg)->lp.gate) == 0;
}

static struct token *token_on(struct harness *h, struct session *s, struct list_node *conn)
{
	struct token *t = token_new(h->core->tokens, NULL, s, conn, conn, 1000, 42, "test");
	struct session_lease dummy;
	struct cause c;

	holds_add_token(s, t);
	/* Bring the VM up with a lease, then take the token on the open gate. */
	hold(h, s, &dummy);
	assert_int_equal(lease_acquire(&s->lp, &t->lease, NULL, NULL), 1);
	holds_lease_release(&dummy);
	(void)c;
	return t;
}

static void test_token_ttl_then_idle_stop(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "ttl", "{\"grace_s\": 0.05}");
	struct token *t = token_on(h, s, NULL);

	token_set_ttl(t, 0.1);
	assert_true(harness_wait(h, 10, no_holds, s));
	wait_state(h, s, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "idle");
	assert_clean(h);
}

static void test_disconnect_releases_tokens(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "disc", "{\"grace_s\": 0.05}");
	struct list_node conn = LIST_HEAD_INIT(conn);

	token_on(h, s, &conn);
	token_on(h, s, &conn);
	assert_int_equal(lease_gate_holds(&s->lp.gate), 2);
	harness_spin(h, 0.1);
	assert_int_equal(s->state, SESSION_RUNNING);
	token_release_conn(&conn);
	assert_int_equal(lease_gate_holds(&s->lp.gate), 0);
	wait_state(h, s, SESSION_STOPPED);
	assert_clean(h);
}

/* ---- unexpected exits ---------------------------------------------------- */

static void crash(struct harness *h, struct session *s)
{
	assert_non_null(s->inst);
	assert_int_equal(fault_driver_crash(h->drv, s->inst->id), 0);
}

static void test_crash_terminate(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "term", "{\"grace_s\": 30}");
	struct session_lease a, b;
	struct cause c;
	struct token *t = token_on(h, s, NULL);

	(void)t;
	hold(h, s, &a);
	crash(h, s);
	wait_state(h, s, SESSION_FAILED);
	assert_string_equal(s->last_stop_reason, "crashed");
	assert_non_null(strstr(text_str(s->failed_reason), "destroyed outside sessiond"));
	assert_int_equal(harness_events(h, "term", RPC_EV_CRASHED), 1);
	assert_int_equal(harness_events(h, "term", RPC_EV_STOPPED), 0);
	assert_int_equal(harness_events(h, "term", RPC_EV_FAILED), 1);
	assert_true(list_empty(&s->tokens));          /* token holders told and dropped */
	/* A new caller gets the reason, not a VM. */
	assert_int_equal(harness_lease(h, s, &b, 5, &c), -1);
	assert_int_equal(c.kind, CAUSE_SESSION_FAILED);
	assert_non_null(strstr(c.msg, "VM crashed"));
	holds_lease_release(&a);
	assert_int_equal(request_reset(s, &c), 0);
	assert_int_equal(s->state, SESSION_STOPPED);
	hold(h, s, &b);
	assert_int_equal(s->start_count, 2);
	holds_lease_release(&b);
	assert_int_equal(harness_stop(h, s, false, &c), 0);
	assert_clean(h);
}

static void test_crash_restart_with_holds(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "rest", "{\"grace_s\": 30, \"crash_policy\": \"restart\"}");
	struct session_lease a;
	struct cause c;

	hold(h, s, &a);
	char first[37];
	str_copy(first, sizeof first, s->inst->id);
	crash(h, s);
	wait_state(h, s, SESSION_STOPPED);
	assert_int_equal(s->phase, PHASE_RESTART_WAIT);             /* waits out the backoff */
	assert_int_equal(s->start_count, 1);
	wait_state(h, s, SESSION_RUNNING);
	assert_int_equal(s->start_count, 2);
	assert_string_not_equal(s->inst->id, first);
	assert_int_equal(lease_gate_holds(&s->lp.gate), 1);   /* the hold carried over */
	assert_int_equal(harness_events(h, "rest", RPC_EV_CRASHED), 1);
	holds_lease_release(&a);
	assert_int_equal(harness_stop(h, s, false, &c), 0);
	assert_clean(h);
}

static void test_crash_restart_without_holds(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "nohold", "{\"grace_s\": 30, \"crash_policy\": \"restart\"}");
	struct session_lease a;

	hold(h, s, &a);
	holds_lease_release(&a);
	crash(h, s);
	wait_state(h, s, SESSION_STOPPED);
	assert_int_not_equal(s->phase, PHASE_RESTART_WAIT);
	harness_spin(h, 0.1);
	assert_int_equal(s->start_count, 1);
	assert_string_equal(s->last_stop_reason, "crashed");
	assert_clean(h);
}

static void test_crash_loop_bound(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "loop", "{\"grace_s\": 30, \"crash_policy\": \"restart\"}");
	struct session_lease a;

	hold(h, s, &a);
	/* Five crashes already in the window: the sixth is a loop. */
	for (int i = 0; i < CRASH_LOOP_MAX; i++)
		s->crash_times[i] = wall_now() - 60 + i;
	s->ncrash = CRASH_LOOP_MAX;
	crash(h, s);
	wait_state(h, s, SESSION_FAILED);
	assert_string_equal(s->last_stop_reason, "crash loop");
	assert_non_null(strstr(text_str(s->failed_reason), "crash loop: 6 crashes"));
	holds_lease_release(&a);
	assert_clean(h);
}

static void test_crash_backoff_sequence(void **state)
{
	const double want[] = { 1, 1, 2, 4, 8, 16, 32, 60, 60 };

	(void)state;
	for (int n = 0; n < 9; n++)
		assert_true(teardown_crash_backoff(n) == want[n]);
}

/* Crashes older than the window do not count. */
static void test_crash_window_forgets(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "old", "{\"grace_s\": 30, \"crash_policy\": \"restart\"}");
	struct session_lease a;
	struct cause c;

	hold(h, s, &a);
	for (int i = 0; i < CRASH_LOOP_MAX; i++)
		s->crash_times[i] = wall_now() - CRASH_WINDOW_S - 100 + i;
	s->ncrash = CRASH_LOOP_MAX;
	crash(h, s);
	wait_state(h, s, SESSION_STOPPED);
	assert_int_equal(s->ncrash, 1);
	wait_state(h, s, SESSION_RUNNING);
	holds_lease_release(&a);
	assert_int_equal(harness_stop(h, s, false, &c), 0);
	assert_clean(h);
}

/* ---- failed starts ------------------------------------------------------------------ */

static void test_failed_start_then_retry(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "fail", "{\"grace_s\": 0.05}");
	struct session_lease a, b;
	struct cause c;

	fault_driver_fail_starts(h->drv, 1);
	assert_int_equal(harness_lease(h, s, &a, 20, &c), -1);
	assert_int_equal(c.kind, CAUSE_START_FAILED);
	assert_non_null(strstr(c.msg, "injected start failure"));
	wait_state(h, s, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "start-failed");
	assert_int_equal(harness_volumes(h), 0);     /* its scratch went too */
	hold(h, s, &b);                              /* the next request retries */
	assert_int_equal(s->start_count, 2);
	holds_lease_release(&b);
	wait_state(h, s, SESSION_STOPPED);
	assert_clean(h);
}

static void test_crash_during_start(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "cds", "{\"grace_s\": 0.05}");
	struct session_lease a;
	struct cause c;

	struct fault_cfg f = { .seed = 3, .p_crash_in_start = 1.0, .max_event_delay_us = 1000 };
	fault_driver_set(h->drv, &f);
	harness_lease(h, s, &a, 20, &c);
	wait_state(h, s, SESSION_FAILED);
	assert_int_equal(h->core->stats.spontaneous_exits, 1);
	holds_lease_release(&a);
	assert_clean(h);
}

/* ---- stop and delete ----------------------------------------------------------------- */

static void test_stop_conflict_and_force(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "stop", "{\"grace_s\": 30}");
	struct cause c;
	struct token *t = token_on(h, s, NULL);

	assert_int_equal(harness_stop(h, s, false, &c), -1);
	assert_int_equal(c.kind, CAUSE_CONFLICT);
	assert_non_null(strstr(c.msg, t->id));
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_int_equal(harness_stop(h, s, true, &c), 0);
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "requested");
	assert_true(list_empty(&s->tokens));
	assert_clean(h);
}

static bool file_gone(struct harness *h, void *arg)
{
	(void)h;
	return access(arg, F_OK) != 0;
}

static void test_delete(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "del", "{\"grace_s\": 30}");
	struct session_lease a;
	struct cause c;
	char path[4200];

	snprintf(path, sizeof path, "%s/%s.json", h->core->sessions_dir, s->id);
	assert_int_equal(access(path, F_OK), 0);
	hold(h, s, &a);
	assert_int_equal(harness_delete(h, s, &c), -1);
	assert_int_equal(c.kind, CAUSE_CONFLICT);
	holds_lease_release(&a);
	assert_int_equal(harness_delete(h, s, &c), 0);
	assert_null(core_find(h->core, 0, "del"));
	assert_true(harness_wait(h, 5, file_gone, path));
	assert_clean(h);
}

/* ---- persistence, adoption, lost instances, orphans ------------------------------ */

static void test_persist_round_trip(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "keep", "{\"grace_s\": 0.05, \"memory_mib\": 256, \"vcpus\": 2,"
				 " \"crash_policy\": \"restart\", \"kernel\": \"/boot/k\","
				 " \"cmdline\": \"a <b> & 'c'\"}");
	struct session_lease a;
	char id[37];

	str_copy(id, sizeof id, s->id);
	hold(h, s, &a);
	holds_lease_release(&a);
	wait_state(h, s, SESSION_STOPPED);
	assert_true(harness_wait(h, 10, harness_quiet, NULL));
	harness_restart(h);
	s = core_find(h->core, 0, "keep");
	assert_non_null(s);
	assert_string_equal(s->id, id);
	assert_int_equal(s->start_count, 1);
	assert_string_equal(s->last_stop_reason, "idle");
	assert_int_equal(s->set.memory_mib, 256);
	assert_int_equal(s->set.vcpus, 2);
	assert_int_equal(s->set.crash_policy, CRASH_RESTART);
	assert_string_equal(s->set.cmdline, "a <b> & 'c'");
	assert_true(s->set.grace == 0.05);
	assert_int_equal(s->state, SESSION_STOPPED);
}

static void test_adopt_running_domain(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "adopt", "{\"grace_s\": 0.05}");
	struct session_lease a, b;
	char inst[37];

	hold(h, s, &a);
	str_copy(inst, sizeof inst, s->inst->id);
	assert_true(harness_wait(h, 10, harness_quiet, NULL));
	holds_lease_release(&a);                   /* as if the daemon died here */
	harness_restart(h);                          /* core_free keeps VMs up */
	s = core_find(h->core, 0, "adopt");
	assert_non_null(s);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_string_equal(s->inst->id, inst);
	assert_int_equal(h->core->stats.adopted, 1);
	lease_init(&b.lease);
	assert_int_equal(lease_acquire(&s->lp, &b.lease, NULL, NULL), 1);  /* fast path */
	lease_release(&b.lease);
	wait_state(h, s, SESSION_STOPPED);           /* the grace was armed */
	assert_int_equal(harness_domains(h), 0);
	assert_int_equal(harness_volumes(h), 0);
}

static void test_lost_instance_cleaned_up(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "lost", "{\"grace_s\": 30}");
	struct session_lease a;
	char inst[37];

	hold(h, s, &a);
	str_copy(inst, sizeof inst, s->inst->id);
	assert_true(harness_wait(h, 10, harness_quiet, NULL));
	holds_lease_release(&a);
	core_free(h->core);                          /* the daemon is down ... */
	h->core = NULL;
	virDomainPtr d = virDomainLookupByUUIDString(h->outside, inst);
	assert_non_null(d);
	assert_int_equal(virDomainDestroy(d), 0);    /* ... and the VM dies */
	virDomainFree(d);
	harness_restart(h);
	s = core_find(h->core, 0, "lost");
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "lost");
	assert_true(harness_wait(h, 10, harness_quiet, NULL));
	assert_int_equal(harness_volumes(h), 0);     /* its scratch is swept */
}

static void test_orphan_destroyed(void **state)
{
	struct harness *h = *state;
	char xml[512];

	snprintf(xml, sizeof xml, "<domain type='test'><name>%s-00000000-orphan</name>"
		 "<memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>",
		 h->core->prefix);
	virDomainPtr d = virDomainCreateXML(h->outside, xml, 0);
	assert_non_null(d);
	virDomainFree(d);
	assert_int_equal(harness_domains(h), 1);
	harness_restart(h);
	assert_true(harness_wait(h, 10, harness_quiet, NULL));
	assert_int_equal(harness_domains(h), 0);
}

/* ---- ephemeral sessions keep their VM ---------------------------------------------- */

static void test_ephemeral_not_idle_stopped(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "eph", "{\"storage\": \"ephemeral\"}");
	struct session_lease a;
	struct cause c;

	assert_true(s->set.grace < 0);
	hold(h, s, &a);
	holds_lease_release(&a);
	harness_spin(h, 0.2);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_true(idle_deadline(&s->idle) == 0);
	assert_int_equal(harness_stop(h, s, false, &c), 0);
	/* Unless the settings say so. */
	struct session *t = make(h, "eph2", "{\"storage\": \"ephemeral\", \"grace_s\": 0.05}");
	hold(h, t, &a);
	holds_lease_release(&a);
	wait_state(h, t, SESSION_STOPPED);
	assert_clean(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lazy_start_and_idle_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_while_starting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_while_stopping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_ttl_then_idle_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_releases_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_terminate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_restart_with_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_restart_without_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop_bound, setup, teardown),
		cmocka_unit_test(test_crash_backoff_sequence),
		cmocka_unit_test_setup_teardown(test_crash_window_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_start_then_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_during_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_conflict_and_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_running_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_instance_cleaned_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_destroyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ephemeral_not_idle_stopped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
