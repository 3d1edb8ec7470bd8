/*
 * test_token.c — activity tokens: TTL expiry, renew, disconnect release,
 * detached tokens (lease/token.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lease/lease.h"

struct gone_log {
	int n;
	char why[8][16];
	char id[8][37];
};

static void on_gone(struct token *t, const char *why, void *arg)
{
	struct gone_log *g = arg;

	if (g->n < 8) {
		snprintf(g->why[g->n], sizeof g->why[0], "%s", why);
		snprintf(g->id[g->n], sizeof g->id[0], "%s", t->id);
	}
	g->n++;
}

static const struct token_table_ops gone_ops = { on_gone };

struct fixture {
	struct event_base *base;
	struct token_table *tt;
	struct gone_log log;
	struct lease_point lp;
	struct list_node conn;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->base = event_base_new();
	f->tt = token_table_new(f->base, &gone_ops, &f->log);
	lease_point_init(&f->lp, NULL, NULL);
	lease_gate_open(&f->lp.gate);
	list_init(&f->conn);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	token_table_free(f->tt);
	event_base_free(f->base);
	free(f);
	return 0;
}

static struct token *hold(struct fixture *f, const char *reason)
{
	struct token *t = token_new(f->tt, NULL, NULL, &f->conn, &f->conn, 1000, 42, reason);
	assert_int_equal(lease_acquire(&f->lp, &t->lease, NULL, NULL), 1);
	return t;
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop until a marker timer at `after` seconds fires. */
static void run_until(struct event_base *base, double after)
{
	struct event *ev = evtimer_new(base, stop_loop, base);
	struct timeval tv = { 0, (suseconds_t)(after * 1e6) };

	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

static void test_token_holds_and_releases(void **state)
{
	struct fixture *f = *state;
	struct token *t = hold(f, "build");
	char id[37];

	snprintf(id, sizeof id, "%s", t->id);
	assert_int_equal(lease_gate_holds(&f->lp.gate), 1);
	assert_ptr_equal(token_find(f->tt, id), t);
	assert_string_equal(t->reason, "build");
	assert_int_equal(t->uid, 1000);
	assert_int_equal(t->pid, 42);
	token_release(t, "released");
	assert_null(token_find(f->tt, id));
	assert_int_equal(lease_gate_holds(&f->lp.gate), 0);
	assert_int_equal(f->log.n, 1);
	assert_string_equal(f->log.why[0], "released");
}

/* The 50 ms TTL timer fires before the 200 ms marker on the same base. */
static void test_token_ttl_expiry(void **state)
{
	struct fixture *f = *state;
	struct token *t = hold(f, "ttl");

	token_set_ttl(t, 0.05);
	assert_true(t->expires > 0);
	run_until(f->base, 0.2);
	assert_int_equal(f->log.n, 1);
	assert_string_equal(f->log.why[0], "expired");
	assert_int_equal(token_count(f->tt), 0);
	assert_int_equal(lease_gate_holds(&f->lp.gate), 0);
}

/* Renewing to a long TTL replaces the short one. */
static void test_token_renew(void **state)
{
	struct fixture *f = *state;
	struct token *t = hold(f, "renew");

	token_set_ttl(t, 0.05);
	double first = t->expires;
	token_set_ttl(t, 3600);
	assert_true(t->expires > first);
	run_until(f->base, 0.2);
	assert_int_equal(f->log.n, 0);
	assert_int_equal(lease_gate_holds(&f->lp.gate), 1);
	token_set_ttl(t, 0);
	assert_true(t->expires == 0);
}

static void test_token_disconnect(void **state)
{
	struct fixture *f = *state;
	struct token *a = hold(f, "a");
	struct token *b = hold(f, "b");
	struct token *d = hold(f, "detached");
	char did[37];

	(void)a;
	(void)b;
	d->detached = true;
	token_set_ttl(d, 3600);
	snprintf(did, sizeof did, "%s", d->id);
	assert_int_equal(lease_gate_holds(&f->lp.gate), 3);
	token_release_conn(&f->conn);
	assert_int_equal(f->log.n, 2);
	assert_string_equal(f->log.why[0], "disconnected");
	assert_string_equal(f->log.why[1], "disconnected");
	assert_true(list_empty(&f->conn));
	assert_int_equal(lease_gate_holds(&f->lp.gate), 1);
	struct token *still = token_find(f->tt, did);
	assert_non_null(still);
	assert_null(still->owner_conn);
}

static void test_token_given_id(void **state)
{
	struct fixture *f = *state;
	struct token *t = token_new(f->tt, "11111111-2222-3333-4444-555555555555",
				    NULL, NULL, NULL, 0, 0, NULL);

	assert_string_equal(t->id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(t->reason, "");
	assert_ptr_equal(token_find(f->tt, t->id), t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_holds_and_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_ttl_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_given_id, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
