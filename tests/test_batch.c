/*
 * test_batch.c — JSON-RPC 2.0 batches (specification section 6; issue 17):
 * an array of requests gets one array of responses, notifications get no
 * response, an array of notifications gets nothing at all, [] and members
 * that are not objects get the errors the specification gives, each
 * member is dispatched as if it came alone, and the array is sent once
 * every member is answered.
 *
 * test_spec_examples sends every example of the specification's section 7
 * (https://www.jsonrpc.org/specification#examples), adapted to this
 * daemon: its methods take named parameters only (an array of parameters
 * is -32602), so "subtract" with positional parameters is session.get with
 * them, and with named ones session.get of a session that exists; "sum" is
 * daemon.info and "get_data" session.list (methods with a result);
 * "update", "foobar", "foo.get", "notify_hello" and "notify_sum" stay
 * unknown ("method not found" where the specification says so).
 *
 * "Nothing is returned" is checked with a marker: a request sent right
 * after on the same connection, whose answer must be the next frame (the
 * server reads one connection's frames in order and an unknown method is
 * answered at once, so a wrong answer would come first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"
#include "harness/rpcworld.h"

#define OWNER 1001

struct world {
	struct harness *h;
	struct daemon d;
	struct client cl;                   /* the owner's */
};

static struct world *live;

static struct world *world_new(void)
{
	struct harness_opts o = { .scratch_gib = -1 };
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	live = w;
	w->h = harness_new(&o);
	rpcworld_start(&w->d, w->h);
	client_open(&w->d, &w->cl, OWNER);
	return w;
}

static int teardown(void **state)
{
	(void)state;
	if (live == NULL)
		return 0;
	client_close(&live->cl);
	rpcworld_stop(&live->d, live->h);
	harness_free(live->h);
	free(live);
	live = NULL;
	return 0;
}

static json_t *ok(struct world *w, const char *method, json_t *params)
{
	json_t *r = client_request(w->h, &w->cl, method, params, NULL);

	if (code_of(r) != 0)
		fail_msg("%s: %s", method, json_string_value(json_object_get(json_object_get(r, "error"),
									  "message")));
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

/* ---- checks of one answer ------------------------------------------------------ */

/* What an answer must be: its id (JSON text, "null" included) and error
 * code (0: a result). */
struct expect {
	const char *id;
	int code;
};

static void check_answer(json_t *r, const struct expect *e, const char *ex)
{
	json_t *want = json_loads(e->id, JSON_DECODE_ANY, NULL);

	assert_non_null(want);
	if (!json_is_object(r) || strcmp(json_string_value(json_object_get(r, "jsonrpc")) ?: "", "2.0"))
		fail_msg("%s: an answer that is not a JSON-RPC 2.0 response", ex);
	if (!json_equal(json_object_get(r, "id"), want))
		fail_msg("%s: answer with id %s, want %s", ex,
			 json_dumps(json_object_get(r, "id"), JSON_ENCODE_ANY), e->id);
	if (code_of(r) != e->code)
		fail_msg("%s: code %d, want %d", ex, code_of(r), e->code);
	if (e->code == 0 && json_object_get(r, "result") == NULL)
		fail_msg("%s: neither a result nor an error", ex);
	if (e->code != 0 && json_object_get(r, "result") != NULL)
		fail_msg("%s: a result beside an error", ex);
	json_decref(want);
}

/* Sends frame, then the marker; the frames received up to the marker's
 * answer, in order (a new array). */
static json_t *exchange(struct world *w, const char *frame)
{
	static int marker;
	char key[32], text[128];
	size_t before = w->cl.frames;

	client_write(w->h, &w->cl, frame);
	snprintf(text, sizeof text, "{\"jsonrpc\":\"2.0\",\"id\":\"marker%d\",\"method\":\"daemon.info\"}",
		 ++marker);
	client_write(w->h, &w->cl, text);
	snprintf(key, sizeof key, "s:marker%d", marker);
	json_decref(client_wait_key(w->h, &w->cl, key, 30, NULL));
	/* Everything but the marker's answer, in arrival order: arrays from
	 * batches, objects from replies. */
	json_t *got = json_array();
	json_array_extend(got, w->cl.batches);
	json_array_clear(w->cl.batches);
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(w->cl.replies, tmp, k, v)
		json_array_append(got, v);
	json_object_clear(w->cl.replies);
	json_object_clear(w->cl.sizes);
	if (w->cl.frames - before - 1 != json_array_size(got))
		fail_msg("%zu frames before the marker, %zu filed", w->cl.frames - before - 1,
			 json_array_size(got));
	if (json_array_size(w->cl.notes) > 0)
		fail_msg("a notification where none was asked for");
	return got;
}

/* The frame gets exactly one object answer. */
static void single(struct world *w, const char *ex, const char *frame, struct expect e)
{
	json_t *got = exchange(w, frame);

	if (json_array_size(got) != 1 || !json_is_object(json_array_get(got, 0)))
		fail_msg("%s: %zu frames (or an array) where one response was due", ex,
			 json_array_size(got));
	check_answer(json_array_get(got, 0), &e, ex);
	json_decref(got);
}

/* The frame gets nothing. */
static void nothing(struct world *w, const char *ex, const char *frame)
{
	json_t *got = exchange(w, frame);

	if (json_array_size(got) != 0) {
		char *t = json_dumps(got, JSON_COMPACT);
		fail_msg("%s: nothing is due, got %s", ex, t);
	}
	json_decref(got);
}

/* The frame gets one array: the answers in want, in any order, each once. */
static json_t *batch(struct world *w, const char *ex, const char *frame, const struct expect *want,
		     size_t n)
{
	json_t *got = exchange(w, frame);
	json_t *a = json_array_get(got, 0), *r;
	size_t i;

	if (json_array_size(got) != 1 || !json_is_array(a))
		fail_msg("%s: %zu frames where one array was due", ex, json_array_size(got));
	if (json_array_size(a) != n)
		fail_msg("%s: %zu answers, want %zu", ex, json_array_size(a), n);
	bool used[16] = { false };
	json_array_foreach(a, i, r) {
		size_t k;
		for (k = 0; k < n; k++) {
			json_t *id = json_loads(want[k].id, JSON_DECODE_ANY, NULL);
			bool same = !used[k] && json_equal(id, json_object_get(r, "id"));
			json_decref(id);
			if (same)
				break;
		}
		if (k == n)
			fail_msg("%s: an answer with an id not asked for (or twice): %s", ex,
				 json_dumps(r, JSON_COMPACT));
		used[k] = true;
		check_answer(r, &want[k], ex);
	}
	json_incref(a);
	json_decref(got);
	return a;
}

static json_t *answer_with_id(json_t *a, const char *id)
{
	json_t *r, *want = json_loads(id, JSON_DECODE_ANY, NULL);
	size_t i;

	json_array_foreach(a, i, r) {
		if (json_equal(json_object_get(r, "id"), want)) {
			json_decref(want);
			return json_object_get(r, "result");
		}
	}
	fail_msg("no answer with id %s", id);
	return NULL;
}

/* ---- section 7 ------------------------------------------------------------- */

static void test_spec_examples(void **state)
{
	struct world *w = world_new();

	(void)state;
	json_decref(ok(w, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "s", "storage",
		    "ephemeral")));

	/* rpc call with positional parameters: named only here (-32602). */
	single(w, "positional 1", "{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", "
	       "\"params\": [42, 23], \"id\": 1}", (struct expect){ "1", RPC_ERR_INVALID_PARAMS });
	single(w, "positional 2", "{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", "
	       "\"params\": [23, 42], \"id\": 2}", (struct expect){ "2", RPC_ERR_INVALID_PARAMS });
	/* rpc call with named parameters. */
	single(w, "named 3", "{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", "
	       "\"params\": {\"name\": \"s\"}, \"id\": 3}", (struct expect){ "3", 0 });
	single(w, "named 4", "{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", "
	       "\"params\": {\"owner_uid\": 1001, \"name\": \"s\"}, \"id\": 4}", (struct expect){ "4", 0 });
	/* a Notification. */
	nothing(w, "notification update",
		"{\"jsonrpc\": \"2.0\", \"method\": \"update\", \"params\": [1,2,3,4,5]}");
	nothing(w, "notification foobar", "{\"jsonrpc\": \"2.0\", \"method\": \"foobar\"}");
	/* rpc call of non-existent method. */
	single(w, "non-existent method", "{\"jsonrpc\": \"2.0\", \"method\": \"foobar\", \"id\": \"1\"}",
	       (struct expect){ "\"1\"", RPC_ERR_NO_METHOD });
	/* rpc call with invalid JSON. */
	single(w, "invalid JSON",
	       "{\"jsonrpc\": \"2.0\", \"method\": \"foobar, \"params\": \"bar\", \"baz]",
	       (struct expect){ "null", RPC_ERR_PARSE });
	/* rpc call with invalid Request object. */
	single(w, "invalid Request object", "{\"jsonrpc\": \"2.0\", \"method\": 1, \"params\": \"bar\"}",
	       (struct expect){ "null", RPC_ERR_INVALID_REQUEST });
	/* rpc call Batch, invalid JSON: one response, not an array. */
	single(w, "batch, invalid JSON",
	       "[ {\"jsonrpc\": \"2.0\", \"method\": \"daemon.info\", \"params\": {}, \"id\": \"1\"},"
	       "  {\"jsonrpc\": \"2.0\", \"method\" ]", (struct expect){ "null", RPC_ERR_PARSE });
	/* rpc call with an empty Array: one response, not an array. */
	single(w, "empty array", "[]", (struct expect){ "null", RPC_ERR_INVALID_REQUEST });
	/* rpc call with an invalid Batch (but not empty). */
	static const struct expect inv1[] = { { "null", RPC_ERR_INVALID_REQUEST } };
	json_decref(batch(w, "[1]", "[1]", inv1, 1));
	/* rpc call with invalid Batch. */
	static const struct expect inv3[] = { { "null", RPC_ERR_INVALID_REQUEST },
		{ "null", RPC_ERR_INVALID_REQUEST }, { "null", RPC_ERR_INVALID_REQUEST } };
	json_decref(batch(w, "[1,2,3]", "[1,2,3]", inv3, 3));
	/* rpc call Batch. */
	static const struct expect mixed[] = { { "\"1\"", 0 }, { "\"2\"", 0 },
		{ "null", RPC_ERR_INVALID_REQUEST }, { "\"5\"", RPC_ERR_NO_METHOD }, { "\"9\"", 0 } };
	json_t *a = batch(w, "rpc call Batch", "["
		"{\"jsonrpc\": \"2.0\", \"method\": \"daemon.info\", \"params\": {}, \"id\": \"1\"},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": [7]},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", \"params\": {\"name\": \"s\"}, \"id\": \"2\"},"
		"{\"foo\": \"boo\"},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"foo.get\", \"params\": {\"name\": \"myself\"}, \"id\": \"5\"},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"session.list\", \"id\": \"9\"}]", mixed, 5);
	/* Each answered as if sent alone. */
	assert_int_equal(json_integer_value(json_object_get(answer_with_id(a, "\"1\""), "protocol")),
			 SESSIOND_PROTOCOL_VERSION);
	assert_string_equal(json_string_value(json_object_get(answer_with_id(a, "\"2\""), "name")), "s");
	assert_int_equal(json_array_size(json_object_get(answer_with_id(a, "\"9\""), "sessions")), 1);
	json_decref(a);
	/* rpc call Batch (all notifications): nothing is returned. */
	nothing(w, "batch of notifications", "["
		"{\"jsonrpc\": \"2.0\", \"method\": \"notify_sum\", \"params\": [1,2,4]},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": [7]}]");
	/* A notification in a batch is carried out all the same. */
	nothing(w, "batch of notifications that act", "["
		"{\"jsonrpc\": \"2.0\", \"method\": \"session.create\", \"params\": {\"name\": \"n1\", "
		"\"storage\": \"ephemeral\"}},"
		"{\"jsonrpc\": \"2.0\", \"method\": \"session.get\", \"params\": {\"name\": \"nope\"}}]");
	assert_true(harness_wait(w->h, 30, harness_quiet, NULL));
	assert_non_null(core_find(w->d.core, OWNER, "n1"));
}

/* ---- a batch that waits for a VM ----------------------------------------------- */

/* Occupies one worker thread until the test opens the gate, so a VM start
 * (a job on the same workers) cannot run meanwhile. */
struct gate {
	struct job job;
	int *fds;                           /* a pipe: a byte opens one gate */
	atomic_int *started;
};

static void gate_run(struct job *j)
{
	struct gate *g = (struct gate *)j;
	char c;

	atomic_fetch_add(g->started, 1);
	while (read(g->fds[0], &c, 1) < 0)
		;
}

static void gate_done(struct job *j)
{
	free(j);
}

static bool all_started(struct harness *h, void *arg)
{
	(void)arg;
	return atomic_load((atomic_int *)h->user) == h->cfg.core.workers;
}

static void close_workers(struct world *w, int fds[2], atomic_int *started)
{
	assert_int_equal(pipe(fds), 0);
	atomic_store(started, 0);
	w->h->user = started;
	for (int i = 0; i < w->h->cfg.core.workers; i++) {
		struct gate *g = calloc(1, sizeof *g);
		g->job.run = gate_run;
		g->job.done = gate_done;
		g->job.what = "gate";
		g->fds = fds;
		g->started = started;
		workers_submit(w->d.core->hosts[0].workers, &g->job);
	}
	assert_true(harness_wait(w->h, 10, all_started, NULL));
}

static void open_workers(struct world *w, int fds[2])
{
	for (int i = 0; i < w->h->cfg.core.workers; i++)
		assert_int_equal(write(fds[1], "x", 1), 1);
	assert_true(harness_wait(w->h, 30, harness_quiet, NULL));
	close(fds[0]);
	close(fds[1]);
}

static size_t tokens_of(struct world *w, const char *name)
{
	return holds_count(core_find(w->d.core, OWNER, name));
}

/* A member that waits for a VM beside members answered at once: the
 * instant ones are carried out at once (as if alone), the array comes
 * once the last member is answered, and other requests of the connection
 * are not held up meanwhile. */
static void test_batch_waits_for_its_slowest_member(void **state)
{
	struct world *w = world_new();
	int fds[2];
	atomic_int started;
	char frame[1024];

	(void)state;
	json_decref(ok(w, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "slow", "storage",
		    "ephemeral")));
	json_decref(ok(w, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "fast", "storage",
		    "ephemeral")));
	json_t *t = ok(w, RPC_TOKEN_ACQUIRE, json_pack("{s:s}", "name", "fast"));
	char tok[64];
	snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(t, "token")));
	json_decref(t);
	assert_int_equal(tokens_of(w, "fast"), 1);

	close_workers(w, fds, &started);
	snprintf(frame, sizeof frame, "["
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"token.acquire\",\"params\":{\"name\":\"slow\"}},"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"daemon.info\"},"
		 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"token.release\",\"params\":{\"token\":\"%s\"}},"
		 "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"token.acquire\",\"params\":{\"name\":\"fast\",\"reason\":\"b\"}},"
		 "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"no.such\"},"
		 "{\"jsonrpc\":\"2.0\",\"method\":\"session.get\",\"params\":{\"name\":\"fast\"}}]", tok);
	size_t before = w->cl.frames;
	client_write(w->h, &w->cl, frame);
	/* The VM cannot start: the instant members are done, nothing is sent. */
	harness_spin(w->h, 0.3);
	client_pump(&w->cl);
	if (w->cl.frames != before)
		fail_msg("%zu frame(s) sent while a member still waits for its VM",
			 w->cl.frames - before);
	struct token *old = token_find(w->d.core->tokens, tok);
	if (old != NULL && old->lease.state == LEASE_HELD)
		fail_msg("token.release in the batch was not carried out while the batch waited");
	assert_int_equal(tokens_of(w, "fast"), 1);     /* the batch's own token */
	assert_int_equal(core_find(w->d.core, OWNER, "slow")->state, SESSION_STARTING);
	/* A request alone on the same connection is answered meanwhile. */
	json_decref(ok(w, RPC_DAEMON_INFO, NULL));
	assert_int_equal(json_array_size(w->cl.batches), 0);

	open_workers(w, fds);
	json_t *a = client_wait_batch(w->h, &w->cl, 30);
	static const struct expect want[] = { { "1", 0 }, { "2", 0 }, { "3", 0 }, { "4", 0 },
					      { "5", RPC_ERR_NO_METHOD } };
	assert_int_equal(json_array_size(a), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *r = json_array_get(a, i);
		size_t k = (size_t)json_integer_value(json_object_get(r, "id")) - 1;
		assert_true(k < 5);
		check_answer(r, &want[k], "waiting batch");
	}
	const char *slow_tok = json_string_value(json_object_get(answer_with_id(a, "1"), "token"));
	assert_non_null(slow_tok);
	struct token *st = token_find(w->d.core->tokens, slow_tok);
	assert_non_null(st);
	assert_int_equal(st->lease.state, LEASE_HELD);
	assert_int_equal(core_find(w->d.core, OWNER, "slow")->state, SESSION_RUNNING);
	json_decref(a);
	assert_int_equal(json_array_size(w->cl.batches), 0);
}

/* Answers that do not fit one frame together: each member gets an error
 * saying so (with its id), and each fits when sent alone; when even those
 * errors do not fit, one error answers the batch. */
static void test_batch_too_large_for_a_frame(void **state)
{
	struct world *w = world_new();
	char path[4200];

	(void)state;
	json_decref(ok(w, RPC_SESSION_CREATE, json_pack("{s:s, s:s}", "name", "c", "storage",
		    "ephemeral")));
	json_decref(ok(w, RPC_SESSION_START, json_pack("{s:s}", "name", "c")));
	struct session *s = core_find(w->d.core, OWNER, "c");
	console_path(w->d.core, s->inst->id, path, sizeof path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	char *log = malloc(256 * 1024);
	memset(log, 0x01, 256 * 1024);          /* 3 bytes each in the answer */
	assert_int_equal(write(fd, log, 256 * 1024), 256 * 1024);
	close(fd);
	free(log);
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"vm.console\","
			  "\"params\":{\"name\":\"c\",\"max_bytes\":262144}}";
	char frame[512], one[200];
	snprintf(one, sizeof one, req, 1);
	int n = snprintf(frame, sizeof frame, "[%s,", one);
	snprintf(one, sizeof one, req, 2);
	snprintf(frame + n, sizeof frame - (size_t)n, "%s]", one);
	static const struct expect want[] = { { "1", RPC_ERR_INTERNAL }, { "2", RPC_ERR_INTERNAL } };
	json_t *a = batch(w, "too large", frame, want, 2);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(json_array_get(a, 0),
		"error"), "message")), "alone"));
	json_decref(a);
	/* So many answers that even their errors do not fit: one error for the
	 * batch, with a null id (before, nothing came at all). */
	enum { MANY = 9000 };
	char *many = malloc(MANY * 64);
	assert_non_null(many);
	size_t at = 0;
	for (int i = 0; i < MANY; i++)
		at += (size_t)sprintf(many + at, "%c{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"daemon.info\"}",
				      i == 0 ? '[' : ',', i);
	strcpy(many + at, "]");
	single(w, "even the errors too large", many, (struct expect){ "null", RPC_ERR_INTERNAL });
	free(many);
	/* Alone, each fits. */
	json_t *r = ok(w, RPC_VM_CONSOLE, json_pack("{s:s, s:i}", "name", "c", "max_bytes", 262144));
	assert_int_equal(json_string_length(json_object_get(r, "text")), 3 * 256 * 1024);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spec_examples, teardown),
		cmocka_unit_test_teardown(test_batch_waits_for_its_slowest_member, teardown),
		cmocka_unit_test_teardown(test_batch_too_large_for_a_frame, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
