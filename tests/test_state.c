/*
 * test_state.c — the state machines: a session's state and phase
 * (session/state.c), a session's life (session/session.c) and a
 * connection's phase (rpc/server.c).
 *
 * Each table is checked against an expectation written here on its own
 * (a change to either side must be made on purpose), every legal move is
 * made through the one writer on a real session object, every illegal one
 * must abort in a child (assert in debug builds), and every name table
 * round-trips.  Event names must be the wire's (sessiond-protocol.h).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "../common/log.h"
#include "../rpc/rpc.h"
#include "../session/session.h"

/* Expected legal state moves, written out: from, to. */
static const int state_moves[][2] = {
	{ SESSION_NEW, SESSION_STOPPED }, { SESSION_NEW, SESSION_FAILED },
	{ SESSION_STOPPED, SESSION_STARTING }, { SESSION_STOPPED, SESSION_RUNNING },
	{ SESSION_STARTING, SESSION_RUNNING }, { SESSION_STARTING, SESSION_STOPPING },
	{ SESSION_RUNNING, SESSION_STOPPING },
	{ SESSION_STOPPING, SESSION_STOPPED }, { SESSION_STOPPING, SESSION_FAILED },
	{ SESSION_FAILED, SESSION_STOPPED },
	/* memory tiers: saved, restored, discarded, found again at load */
	{ SESSION_STOPPING, SESSION_SUSPENDED }, { SESSION_SUSPENDED, SESSION_STARTING },
	{ SESSION_SUSPENDED, SESSION_STOPPING }, { SESSION_STOPPED, SESSION_SUSPENDED },
};

static const int phase_moves[][2] = {
	{ PHASE_IDLE, PHASE_RESTART_WAIT }, { PHASE_IDLE, PHASE_BOOTING },
	{ PHASE_IDLE, PHASE_SHUTDOWN }, { PHASE_IDLE, PHASE_CLEANUP },
	{ PHASE_RESTART_WAIT, PHASE_IDLE }, { PHASE_RESTART_WAIT, PHASE_BOOTING },
	{ PHASE_BOOTING, PHASE_BOOTED }, { PHASE_BOOTING, PHASE_READY_WAIT },
	{ PHASE_BOOTING, PHASE_IDLE }, { PHASE_BOOTING, PHASE_CLAIMED_BOOTING },
	{ PHASE_BOOTED, PHASE_CLEANUP },
	{ PHASE_READY_WAIT, PHASE_IDLE }, { PHASE_READY_WAIT, PHASE_SHUTDOWN },
	{ PHASE_READY_WAIT, PHASE_CLEANUP },
	{ PHASE_CLAIMED_BOOTING, PHASE_SHUTDOWN }, { PHASE_CLAIMED_BOOTING, PHASE_CLEANUP },
	{ PHASE_SHUTDOWN, PHASE_SHUTDOWN_GONE }, { PHASE_SHUTDOWN, PHASE_AWAIT_GONE },
	{ PHASE_SHUTDOWN, PHASE_CLEANUP },
	{ PHASE_SHUTDOWN_GONE, PHASE_CLEANUP }, { PHASE_AWAIT_GONE, PHASE_CLEANUP },
	{ PHASE_CLEANUP, PHASE_IDLE }, { PHASE_CLEANUP, PHASE_RESTART_WAIT },
	/* memory tiers */
	{ PHASE_IDLE, PHASE_SAVING }, { PHASE_SAVING, PHASE_IDLE },
	{ PHASE_SAVING, PHASE_SHUTDOWN }, { PHASE_SAVING, PHASE_CLEANUP },
	{ PHASE_IDLE, PHASE_RESTORING }, { PHASE_RESTORING, PHASE_IDLE },
	{ PHASE_RESTORING, PHASE_BOOTED }, { PHASE_RESTORING, PHASE_CLAIMED_BOOTING },
};

/* Which phases each state may be in. */
static const int phase_of[][2] = {
	{ SESSION_NEW, PHASE_IDLE }, { SESSION_STOPPED, PHASE_IDLE },
	{ SESSION_STOPPED, PHASE_RESTART_WAIT }, { SESSION_STARTING, PHASE_BOOTING },
	{ SESSION_STARTING, PHASE_BOOTED }, { SESSION_STARTING, PHASE_READY_WAIT },
	{ SESSION_RUNNING, PHASE_IDLE }, { SESSION_STOPPING, PHASE_CLAIMED_BOOTING },
	{ SESSION_STOPPING, PHASE_SHUTDOWN }, { SESSION_STOPPING, PHASE_SHUTDOWN_GONE },
	{ SESSION_STOPPING, PHASE_AWAIT_GONE }, { SESSION_STOPPING, PHASE_CLEANUP },
	{ SESSION_FAILED, PHASE_IDLE },
	{ SESSION_STOPPING, PHASE_SAVING }, { SESSION_STARTING, PHASE_RESTORING },
	{ SESSION_SUSPENDED, PHASE_IDLE },
};

static const int conn_moves[][2] = {
	{ CONN_OPEN, CONN_PAUSED }, { CONN_OPEN, CONN_HALF_CLOSED }, { CONN_OPEN, CONN_CLOSING },
	{ CONN_OPEN, CONN_LOST }, { CONN_PAUSED, CONN_OPEN }, { CONN_PAUSED, CONN_HALF_PAUSED },
	{ CONN_PAUSED, CONN_LOST }, { CONN_HALF_CLOSED, CONN_HALF_PAUSED },
	{ CONN_HALF_CLOSED, CONN_CLOSING }, { CONN_HALF_CLOSED, CONN_LOST },
	{ CONN_HALF_PAUSED, CONN_HALF_CLOSED }, { CONN_HALF_PAUSED, CONN_LOST },
	{ CONN_CLOSING, CONN_LOST },
};

static bool listed(const int (*pairs)[2], size_t n, int a, int b)
{
	for (size_t i = 0; i < n; i++)
		if (pairs[i][0] == a && pairs[i][1] == b)
			return true;
	return false;
}

#define LISTED(pairs, a, b) listed(pairs, sizeof pairs / sizeof pairs[0], a, b)

static void test_tables_match(void **st)
{
	(void)st;
	for (int a = 0; a < SESSION__COUNT; a++)
		for (int b = 0; b < SESSION__COUNT; b++)
			assert_int_equal(state_legal(a, b), LISTED(state_moves, a, b));
	for (int a = 0; a < PHASE__COUNT; a++)
		for (int b = 0; b < PHASE__COUNT; b++)
			assert_int_equal(state_phase_legal(a, b), a == b || LISTED(phase_moves, a, b));
	for (int a = 0; a < SESSION__COUNT; a++)
		for (int p = 0; p < PHASE__COUNT; p++)
			assert_int_equal(state_phase_fits(a, p), LISTED(phase_of, a, p));
	for (int a = 0; a < CONN__COUNT; a++)
		for (int b = 0; b < CONN__COUNT; b++)
			assert_int_equal(rpc_conn_phase_legal(a, b), LISTED(conn_moves, a, b));
}

static void test_names(void **st)
{
	static const char *const wire[EV__COUNT] = {
		[EV_CREATED] = RPC_EV_CREATED, [EV_STARTING] = RPC_EV_STARTING,
		[EV_RUNNING] = RPC_EV_RUNNING, [EV_IDLE] = RPC_EV_IDLE, [EV_BUSY] = RPC_EV_BUSY,
		[EV_STOPPING] = RPC_EV_STOPPING, [EV_STOPPED] = RPC_EV_STOPPED,
		[EV_CRASHED] = RPC_EV_CRASHED, [EV_FAILED] = RPC_EV_FAILED,
		[EV_RESET] = RPC_EV_RESET, [EV_DELETED] = RPC_EV_DELETED,
		[EV_SUSPENDED] = RPC_EV_SUSPENDED,
	};

	(void)st;
	for (int i = 0; i < SESSION__COUNT; i++)
		assert_int_equal(state_from_name(state_name(i)), i);
	assert_int_equal(state_from_name("nonsense"), -1);
	assert_string_equal(state_name(SESSION__COUNT), "invalid");
	for (int i = 0; i < PHASE__COUNT; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(state_phase_name(i), state_phase_name(j));
	for (int i = 0; i < EV__COUNT; i++) {
		assert_non_null(wire[i]);
		assert_string_equal(state_event_name(i), wire[i]);
	}
	for (int i = 0; i < CONN__COUNT; i++)
		assert_string_not_equal(rpc_conn_phase_name(i), "invalid");
}

/* ---- moves through the writer on a real session ------------------------ */

struct fixture {
	struct event_base *base;
	struct core core;
	struct session *s;
	int events;
	char last_event[32];
};

static struct fixture F;

static void on_event(struct session *s, json_t *params, void *arg)
{
	(void)s;
	(void)arg;
	F.events++;
	snprintf(F.last_event, sizeof F.last_event, "%s",
		 json_string_value(json_object_get(params, "event")));
}

static const struct core_hooks hooks = { on_event, NULL, NULL };

static struct session *fresh(void)
{
	memset(&F.core, 0, sizeof F.core);
	F.core.base = F.base;
	F.core.hooks = &hooks;
	snprintf(F.core.prefix, sizeof F.core.prefix, "sd-00000000");
	F.events = 0;
	return session_alloc(&F.core, 1000, "t", NULL);
}

/* Puts s into (state, phase) along legal moves from new. */
static void walk_to(struct session *s, enum session_state st, enum session_phase ph)
{
	static const struct { enum session_state st; enum session_phase ph; } path[] = {
		{ SESSION_STOPPED, PHASE_IDLE }, { SESSION_STARTING, PHASE_BOOTING },
	};
	if (st == SESSION_NEW)
		return;
	if (st == SESSION_FAILED) {
		state_set(s, SESSION_FAILED, PHASE_IDLE, EV_NONE, NULL);
		return;
	}
	state_set(s, path[0].st, path[0].ph, EV_NONE, NULL);
	if (st == SESSION_STOPPED) {
		state_phase(s, ph);
		return;
	}
	/* memory tiers: suspended (as found at load), restoring, saving */
	if (st == SESSION_SUSPENDED || ph == PHASE_RESTORING) {
		state_set(s, SESSION_SUSPENDED, PHASE_IDLE, EV_NONE, NULL);
		if (st == SESSION_STARTING)
			state_set(s, SESSION_STARTING, PHASE_RESTORING, EV_NONE, NULL);
		return;
	}
	if (ph == PHASE_SAVING) {
		state_set(s, SESSION_RUNNING, PHASE_IDLE, EV_NONE, NULL);
		state_set(s, SESSION_STOPPING, PHASE_SAVING, EV_NONE, NULL);
		return;
	}
	if (st == SESSION_RUNNING) {
		state_set(s, SESSION_RUNNING, PHASE_IDLE, EV_NONE, NULL);
		return;
	}
	state_set(s, path[1].st, path[1].ph, EV_NONE, NULL);
	if (st == SESSION_STARTING) {
		state_phase(s, ph);
		return;
	}
	/* stopping: through the phases of a claim */
	state_set(s, SESSION_STOPPING, ph == PHASE_CLAIMED_BOOTING ? ph : PHASE_CLAIMED_BOOTING,
		  EV_NONE, NULL);
	if (ph == PHASE_SHUTDOWN_GONE || ph == PHASE_AWAIT_GONE)
		state_phase(s, PHASE_SHUTDOWN);
	state_phase(s, ph);
}

static void test_legal_moves_through_writer(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof phase_of / sizeof phase_of[0]; i++) {
		enum session_state from = phase_of[i][0];
		enum session_phase fph = phase_of[i][1];
		for (size_t k = 0; k < sizeof phase_of / sizeof phase_of[0]; k++) {
			enum session_state to = phase_of[k][0];
			enum session_phase tph = phase_of[k][1];
			bool ok = (to == from || state_legal(from, to)) && state_phase_legal(fph, tph);
			if (!ok)
				continue;
			struct session *s = fresh();
			walk_to(s, from, fph);
			assert_int_equal(s->state, from);
			assert_int_equal(s->phase, fph);
			int before = F.events;
			state_set(s, to, tph, EV_STOPPED, NULL);
			assert_int_equal(s->state, to);
			assert_int_equal(s->phase, tph);
			assert_int_equal(F.events, before + 1);
			assert_string_equal(F.last_event, "stopped");
			/* The gate is open only while running. */
			if (to != SESSION_RUNNING)
				assert_false(lease_gate_is_open(&s->lp.gate));
			session_unref(s);
		}
	}
}

/* An illegal move must abort (assert) in this debug build. */
static bool aborts(enum session_state from, enum session_phase fph,
		   enum session_state to, enum session_phase tph)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct session *s = fresh();
		close(STDERR_FILENO);
		walk_to(s, from, fph);
		state_set(s, to, tph, EV_NONE, NULL);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_illegal_moves_abort(void **st)
{
	(void)st;
	int checked = 0;

	for (size_t i = 0; i < sizeof phase_of / sizeof phase_of[0]; i++) {
		for (int to = 0; to < SESSION__COUNT; to++) {
			for (int tph = 0; tph < PHASE__COUNT; tph++) {
				enum session_state from = phase_of[i][0];
				enum session_phase fph = phase_of[i][1];
				bool ok = (to == (int)from || state_legal(from, to)) &&
					  state_phase_legal(fph, tph) && state_phase_fits(to, tph);
				if (ok)
					continue;
				assert_true(aborts(from, fph, to, tph));
				checked++;
			}
		}
	}
	assert_true(checked > 100);
}

static void test_life(void **st)
{
	(void)st;
	struct session *s = fresh();

	assert_int_equal(s->life, LIFE_CREATING);
	assert_false(session_visible(s));
	session_set_life(s, LIFE_LIVE);
	assert_true(session_visible(s));
	session_set_life(s, LIFE_DELETING);
	assert_true(session_visible(s));
	session_set_life(s, LIFE_GONE);
	assert_false(session_visible(s));
	session_unref(s);
	pid_t pid = fork();
	if (pid == 0) {
		close(STDERR_FILENO);
		struct session *t = fresh();
		session_set_life(t, LIFE_DELETING);     /* creating -> deleting: illegal */
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static int setup(void **st)
{
	(void)st;
	log_set_level(LOG_LVL_ERR);
	F.base = event_base_new();
	return F.base == NULL;
}

static int teardown(void **st)
{
	(void)st;
	event_base_free(F.base);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_match),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_legal_moves_through_writer),
		cmocka_unit_test(test_illegal_moves_abort),
		cmocka_unit_test(test_life),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
