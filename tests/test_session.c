/*
 * test_session.c — the session state machine: names round-trip, and the
 * full transition matrix against the lifecycle the design allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../sessiond/session.h"

static void test_state_names_round_trip(void **state)
{
	(void)state;
	for (int st = 0; st < SESSION__COUNT; st++) {
		const char *n = session_state_name((enum session_state)st);
		assert_string_not_equal(n, "invalid");
		assert_int_equal(session_state_from_name(n), st);
	}
	assert_string_equal(session_state_name(SESSION__COUNT), "invalid");
	assert_int_equal(session_state_from_name("running "), -1);
	assert_int_equal(session_state_from_name(NULL), -1);
}

/* Every (from, to) pair: exactly the arrows of the design are legal. */
static void test_transition_matrix(void **state)
{
	static const struct { enum session_state from, to; } allowed[] = {
		{ SESSION_STOPPED, SESSION_STARTING },
		{ SESSION_STARTING, SESSION_RUNNING },
		{ SESSION_STARTING, SESSION_STOPPING },
		{ SESSION_RUNNING, SESSION_STOPPING },
		{ SESSION_STOPPING, SESSION_STOPPED },
		{ SESSION_STOPPING, SESSION_FAILED },
		{ SESSION_FAILED, SESSION_STOPPED },
	};
	int legal = 0;

	(void)state;
	for (int from = 0; from < (int)SESSION__COUNT; from++) {
		for (int to = 0; to < (int)SESSION__COUNT; to++) {
			bool want = false;
			for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
				want |= (int)allowed[i].from == from && (int)allowed[i].to == to;
			assert_int_equal(session_transition_legal((enum session_state)from, (enum session_state)to), want);
			legal += want;
		}
	}
	assert_int_equal(legal, 7);
	assert_false(session_transition_legal(SESSION__COUNT, SESSION_STOPPED));
	assert_false(session_transition_legal(SESSION_STOPPED, -1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names_round_trip),
		cmocka_unit_test(test_transition_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
