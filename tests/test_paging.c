/*
 * test_paging.c — session.list and session.holds page (issue 20): a page
 * holds at most "limit" items, "next" is the cursor of the one after it
 * (null at the end), and the pages are stable under concurrent change: an
 * item that exists for the whole walk is listed exactly once, in the order
 * it was made; one that comes or goes meanwhile at most once.
 *
 * The daemon is real (tests/harness/rpcworld.h); the walks go through
 * the server as a client's would, and between two pages the test makes
 * and ends sessions and holds (the churn), on the loop the daemon runs
 * on, so every page sees a different registry.  What is expected is the
 * test's own record of what it made and ended, not the daemon's counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"
#include "harness/rpcworld.h"

#define OWNER 1001
#define OTHER 1002

struct world {
	struct harness *h;
	struct daemon d;
	struct client root, owner, other;
};

static struct world *live;

static struct world *world_new(void)
{
	struct harness_opts o = { .scratch_gib = -1 };
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	live = w;
	w->h = harness_new(&o);
	w->h->cfg.core.max_sessions_per_user = 0;
	rpcworld_start(&w->d, w->h);
	client_open(&w->d, &w->root, 0);
	client_open(&w->d, &w->owner, OWNER);
	client_open(&w->d, &w->other, OTHER);
	return w;
}

static int teardown(void **state)
{
	(void)state;
	if (live == NULL)
		return 0;
	client_close(&live->root);
	client_close(&live->owner);
	client_close(&live->other);
	rpcworld_stop(&live->d, live->h);
	harness_free(live->h);
	free(live);
	live = NULL;
	return 0;
}

static json_t *ok(struct world *w, struct client *cl, const char *method, json_t *params)
{
	json_t *r = client_request(w->h, cl, method, params, NULL);

	if (code_of(r) != 0)
		fail_msg("%s: %s", method, json_string_value(json_object_get(json_object_get(r, "error"),
									  "message")));
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

static int err_code(struct world *w, struct client *cl, const char *method, json_t *params)
{
	json_t *r = client_request(w->h, cl, method, params, NULL);
	int code = code_of(r);

	json_decref(r);
	return code;
}

/* Walks a paged method: params (stolen) plus "after"; between pages
 * churn(w, page) runs.  Returns the listed items' key fields in order. */
static json_t *walk(struct world *w, struct client *cl, const char *method, json_t *params,
		    const char *items, const char *key, size_t limit,
		    void (*churn)(struct world *w, int page))
{
	json_t *listed = json_array(), *after = NULL, *v;
	size_t i;

	for (int page = 0;; page++) {
		json_t *p = json_deep_copy(params);
		if (after != NULL)
			json_object_set_new(p, "after", after);
		json_t *res = ok(w, cl, method, p);
		json_t *a = json_object_get(res, items);
		if (json_array_size(a) > limit)
			fail_msg("%s: a page of %zu items over its limit of %zu", method,
				 json_array_size(a), limit);
		json_array_foreach(a, i, v)
			json_array_append(listed, json_object_get(v, key));
		json_t *next = json_object_get(res, "next");
		after = json_is_string(next) ? json_incref(next) : NULL;
		if (!json_is_string(next) && !json_is_null(next))
			fail_msg("%s: 'next' is neither a cursor nor null", method);
		json_decref(res);
		if (after == NULL)
			break;
		if (page > 10000)
			fail_msg("%s: no end after 10,000 pages", method);
		if (churn != NULL)
			churn(w, page);
	}
	json_decref(params);
	return listed;
}

/* Each of want (strings, in order) is in listed exactly once and in that
 * order; nothing is listed twice; everything listed is in may (what
 * existed at some time during the walk). */
static void check_listing(json_t *listed, json_t *want, json_t *may, const char *what)
{
	json_t *count = json_object(), *v;
	size_t i, k = 0;

	json_array_foreach(listed, i, v) {
		const char *s = json_string_value(v);
		json_int_t n = json_integer_value(json_object_get(count, s));
		if (n > 0)
			fail_msg("%s: %s listed twice", what, s);
		json_object_set_new(count, s, json_integer(n + 1));
		bool known = false;
		size_t j;
		json_t *m;
		json_array_foreach(may, j, m)
			known = known || strcmp(json_string_value(m), s) == 0;
		if (!known)
			fail_msg("%s: %s listed, but it never existed during the walk", what, s);
		if (k < json_array_size(want) && strcmp(json_string_value(json_array_get(want, k)), s) == 0)
			k++;
	}
	json_array_foreach(want, i, v)
		if (json_object_get(count, json_string_value(v)) == NULL)
			fail_msg("%s: %s existed throughout but was not listed", what,
				 json_string_value(v));
	if (k != json_array_size(want))
		fail_msg("%s: what existed throughout is not listed in the order it was made", what);
	json_decref(count);
}

/* ---- session.list ------------------------------------------------------------ */

#define STABLE 240
#define VICTIMS 80

#define CHURN_PER_WALK 20

static struct {
	json_t *stable, *victims, *all;     /* names */
	int made, gone;                     /* churn: sessions made, victims deleted */
	int walk_made, walk_gone;           /* ... during this walk */
	unsigned rnd;
} L;

static void create(struct world *w, const char *name)
{
	json_decref(ok(w, &w->owner, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", name,
		    "storage", "ephemeral")));
	json_array_append_new(L.all, json_string(name));
}

/* Between two pages: a victim made before the walk goes (one listed
 * already or one still ahead: either way the cursor must not move), and a
 * new session comes; at most CHURN_PER_WALK of each per walk, so that a
 * walk of pages of one ends. */
static void list_churn(struct world *w, int page)
{
	char name[32];

	(void)page;
	if (json_array_size(L.victims) > 0 && L.walk_gone < CHURN_PER_WALK) {
		size_t i = (size_t)rand_r(&L.rnd) % json_array_size(L.victims);
		json_decref(ok(w, &w->owner, RPC_SESSION_DELETE, json_pack("{s:s}", "name",
			    json_string_value(json_array_get(L.victims, i)))));
		json_array_remove(L.victims, i);
		L.gone++;
		L.walk_gone++;
	}
	if (L.walk_made < CHURN_PER_WALK) {
		snprintf(name, sizeof name, "new%d", L.made++);
		create(w, name);
		L.walk_made++;
	}
}

static void test_list_pages_under_churn(void **state)
{
	struct world *w = world_new();
	char name[32];

	(void)state;
	L.stable = json_array();
	L.victims = json_array();
	L.all = json_array();
	L.made = L.gone = 0;
	L.rnd = 20261123;
	/* Victims between the stable ones, in registration order. */
	for (int i = 0; i < STABLE + VICTIMS; i++) {
		bool victim = i % 4 == 3;
		snprintf(name, sizeof name, "%s%03d", victim ? "v" : "s", i);
		create(w, name);
		json_array_append_new(victim ? L.victims : L.stable, json_string(name));
	}
	/* Another user's sessions: never on the owner's list. */
	json_decref(ok(w, &w->other, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "theirs",
		    "storage", "ephemeral")));
	static const size_t limits[] = { 1, 7, 64, 500 };
	for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
		json_t *p = json_pack("{s:I}", "limit", (json_int_t)limits[k]);
		L.walk_made = L.walk_gone = 0;
		json_t *listed = walk(w, &w->owner, RPC_SESSION_LIST, p, "sessions", "name", limits[k],
				      list_churn);
		char what[64];
		snprintf(what, sizeof what, "session.list, pages of %zu", limits[k]);
		check_listing(listed, L.stable, L.all, what);
		json_decref(listed);
	}
	/* The churn happened: victims went, new sessions came. */
	if (L.made < 2 * CHURN_PER_WALK || L.gone < 2 * CHURN_PER_WALK)
		fail_msg("too little churn: %d sessions made, %d deleted", L.made, L.gone);
	/* Root with owner_uid: the owner's alone, every one of them. */
	json_t *listed = walk(w, &w->root, RPC_SESSION_LIST, json_pack("{s:i, s:i}", "limit", 100,
			      "owner_uid", OWNER), "sessions", "name", 100, NULL);
	check_listing(listed, L.stable, L.all, "root's session.list of the owner");
	assert_int_equal(json_array_size(listed), STABLE + VICTIMS - L.gone + L.made);
	json_decref(listed);
	json_decref(L.stable);
	json_decref(L.victims);
	json_decref(L.all);
}

/* state filters: only sessions in that state, every one of them. */
static void test_list_state_filter(void **state)
{
	struct world *w = world_new();
	json_t *all = json_array(), *up = json_array();
	char name[32];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "f%02d", i);
		json_decref(ok(w, &w->owner, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", name,
			    "storage", "ephemeral")));
		json_array_append_new(all, json_string(name));
		if (i % 9 == 4) {
			json_decref(ok(w, &w->owner, RPC_SESSION_START, json_pack("{s:s}", "name", name)));
			json_array_append_new(up, json_string(name));
		}
	}
	json_t *listed = walk(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:i, s:s}", "limit", 2,
			      "state", "running"), "sessions", "name", 2, NULL);
	check_listing(listed, up, up, "session.list state=running");
	json_decref(listed);
	listed = walk(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:s}", "state", "failed"),
		      "sessions", "name", RPC_PAGE_DEFAULT, NULL);
	assert_int_equal(json_array_size(listed), 0);
	json_decref(listed);
	/* The counts of daemon.info agree with the listings. */
	json_t *info = ok(w, &w->owner, RPC_DAEMON_INFO, NULL);
	json_t *states = json_object_get(info, "states");
	assert_int_equal(json_integer_value(json_object_get(states, "running")), json_array_size(up));
	assert_int_equal(json_integer_value(json_object_get(states, "stopped")),
			 json_array_size(all) - json_array_size(up));
	assert_int_equal(json_integer_value(json_object_get(info, "sessions")), json_array_size(all));
	json_decref(info);
	/* Bad filters, limits and cursors are invalid params. */
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:s}", "state", "up")),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:s}", "state", "new")),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:i}", "limit", 0)),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_LIST,
				  json_pack("{s:i}", "limit", RPC_PAGE_MAX + 1)), RPC_ERR_INVALID_PARAMS);
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:s}", "after", "x1")),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(err_code(w, &w->owner, RPC_SESSION_HOLDS,
				  json_pack("{s:s, s:s}", "name", "f04", "after", "-1")),
			 RPC_ERR_INVALID_PARAMS);
	/* No limit: the default page. */
	json_t *page = ok(w, &w->owner, RPC_SESSION_LIST, NULL);
	assert_int_equal(json_array_size(json_object_get(page, "sessions")), 40);
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);
	json_decref(all);
	json_decref(up);
}

/* ---- session.holds -------------------------------------------------------- */

#define NLEASES 12

static struct {
	struct session *s;
	struct session_lease leases[3 * NLEASES];
	int nleases;
	json_t *stable, *victims, *all;     /* hold ids */
	unsigned rnd;
} H;

static void take_token(struct world *w, json_t *into)
{
	json_t *r = ok(w, &w->owner, RPC_TOKEN_ACQUIRE, json_pack("{s:s, s:s}", "name", "p",
		       "reason", "paging"));
	json_array_append(into, json_object_get(r, "token"));
	json_array_append(H.all, json_object_get(r, "token"));
	json_decref(r);
}

static void take_lease(struct world *w, json_t *into)
{
	struct cause c;
	struct session_lease *sl = &H.leases[H.nleases++];

	assert_true(H.nleases <= 3 * NLEASES);
	if (harness_lease(w->h, H.s, sl, 30, &c) < 0)
		fail_msg("lease: %s", c.msg);
	json_array_append_new(into, json_string(sl->id));
	json_array_append_new(H.all, json_string(sl->id));
}

/* Ends a hold by id: a token through token.release, a lease directly. */
static void end_hold(struct world *w, const char *id)
{
	for (int i = 0; i < H.nleases; i++) {
		if (strcmp(H.leases[i].id, id) == 0) {
			holds_lease_release(&H.leases[i]);
			return;
		}
	}
	json_decref(ok(w, &w->owner, RPC_TOKEN_RELEASE, json_pack("{s:s}", "token", id)));
}

static void holds_churn(struct world *w, int page)
{
	if (json_array_size(H.victims) > 0) {
		size_t i = (size_t)rand_r(&H.rnd) % json_array_size(H.victims);
		end_hold(w, json_string_value(json_array_get(H.victims, i)));
		json_array_remove(H.victims, i);
	}
	json_t *fresh = json_array();
	if (page % 2 == 0 && H.nleases < 3 * NLEASES)
		take_lease(w, fresh);
	else
		take_token(w, fresh);
	json_decref(fresh);
}

/* Tokens and leases, taken in turn, are listed in the order they were
 * taken, page after page, whatever comes and goes between the pages. */
static void test_holds_pages_under_churn(void **state)
{
	struct world *w = world_new();

	(void)state;
	memset(&H, 0, sizeof H);
	H.stable = json_array();
	H.victims = json_array();
	H.all = json_array();
	H.rnd = 4242;
	json_decref(ok(w, &w->owner, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "p",
		    "storage", "ephemeral")));
	H.s = core_find(w->d.core, OWNER, "p");
	for (int i = 0; i < 5 * NLEASES; i++) {
		json_t *into = i % 5 == 2 ? H.victims : H.stable;
		if (i % 5 == 1 || i % 5 == 3)
			take_lease(w, into);
		else
			take_token(w, into);
	}
	/* Without churn first: everything, in order, for every page size. */
	static const size_t limits[] = { 1, 3, 7, 1000 };
	json_t *held = json_array();
	json_array_extend(held, H.all);
	for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
		json_t *listed = walk(w, &w->owner, RPC_SESSION_HOLDS, json_pack("{s:s, s:I}", "name",
				      "p", "limit", (json_int_t)limits[k]), "holds", "id", limits[k], NULL);
		check_listing(listed, held, H.all, "session.holds");
		assert_int_equal(json_array_size(listed), json_array_size(held));
		json_decref(listed);
	}
	json_decref(held);
	/* The summary's count agrees: every hold, leases too. */
	json_t *s = ok(w, &w->owner, RPC_SESSION_GET, json_pack("{s:s}", "name", "p"));
	assert_int_equal(json_integer_value(json_object_get(s, "holds_count")), 5 * NLEASES);
	assert_int_equal(json_array_size(json_object_get(s, "holds")), 5 * NLEASES);
	json_decref(s);
	/* Then with churn between the pages. */
	json_t *listed = walk(w, &w->owner, RPC_SESSION_HOLDS, json_pack("{s:s, s:i}", "name", "p",
			      "limit", 2), "holds", "id", 2, holds_churn);
	check_listing(listed, H.stable, H.all, "session.holds under churn");
	if (json_array_size(H.victims) > 0)
		fail_msg("too little churn: %zu victims left", json_array_size(H.victims));
	json_decref(listed);
	for (int i = 0; i < H.nleases; i++)
		if (H.leases[i].lease.state == LEASE_HELD)
			holds_lease_release(&H.leases[i]);
	json_decref(H.stable);
	json_decref(H.victims);
	json_decref(H.all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_list_pages_under_churn, teardown),
		cmocka_unit_test_teardown(test_list_state_filter, teardown),
		cmocka_unit_test_teardown(test_holds_pages_under_churn, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
