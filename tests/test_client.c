/*
 * test_client.c — every wrapper of libsessiond-client sends what its
 * method's row in rpc_methods[] accepts, and the daemon's own checker says
 * so.
 *
 * A fake server (a thread on a Unix socket in a temporary directory) keeps
 * each request and answers it with one canned result.  The table below
 * maps every method to calls of its wrapper: once with every optional
 * argument set, once with none.  Each request must pass rpc_args_parse()
 * against its method's row; with every optional argument set (and the
 * owner set with sdc_set_owner()) it must carry every parameter the row
 * takes, and session.create's settings must pass settings_parse().  A
 * method without an entry fails the test: a new method needs a wrapper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "../rpc/rpc.h"
#include "../rpc/sessiond-client.h"
#include "../settings/settings.h"

#define OWNER 4242
#define TOKEN "3f1c2a8e-7b1d-4c55-9a43-0d3e2f6b9c10"
#define TICK_MS 5
#define TICKS_WANTED 3
#define WAIT_BOUND_S 10.0               /* guards against a hang only */

/* ---- the fake server ------------------------------------------------------ */

static struct {
	char dir[48], path[96];
	int listen_fd;
	pthread_t thread;
	pthread_mutex_t lock;
	json_t *requests;                   /* under lock: not yet taken */
	atomic_int ticks;                   /* the client's tick calls */
	atomic_bool hold_for_ticks;         /* reply only after TICKS_WANTED ticks */
	const char *_Atomic reply_format;   /* a reply line of its own (%lld: the id) */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The one result for every method: what the wrappers look into. */
static json_t *canned_result(void)
{
	return json_pack("{s:s, s:[], s:[], s:n, s:{s:s}}", "token", TOKEN, "sessions", "holds",
			 "next", "session", "name", "dev");
}

/* Holding a reply until the client ticked shows that a waiting wrapper
 * calls the tick function; the bound only keeps a broken client from
 * hanging the test. */
static void wait_for_ticks(void)
{
	double end = mono_now() + WAIT_BOUND_S;

	while (atomic_load(&srv.ticks) < TICKS_WANTED && mono_now() < end)
		usleep(1000);
}

static void serve_frame(int fd, const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, 0, NULL);
	size_t n;

	if (req == NULL)
		return;
	pthread_mutex_lock(&srv.lock);
	json_array_append_new(srv.requests, json_deep_copy(req));   /* shares nothing */
	pthread_mutex_unlock(&srv.lock);
	if (atomic_load(&srv.hold_for_ticks))
		wait_for_ticks();
	const char *format = atomic_load(&srv.reply_format);
	if (format != NULL) {
		dprintf(fd, format, (long long)json_integer_value(json_object_get(req, "id")));
		json_decref(req);
		return;
	}
	json_t *reply = rpc_make_result(json_object_get(req, "id"), canned_result());
	char *out = rpc_encode(reply, &n);
	if (out != NULL && write(fd, out, n) != (ssize_t)n)
		fprintf(stderr, "fake server: short write\n");
	free(out);
	json_decref(reply);
	json_decref(req);
}

/* One connection, served until it closes. */
static void *serve(void *arg)
{
	static char buf[1 << 20];
	size_t have = 0;
	int fd = accept(srv.listen_fd, NULL, NULL);

	(void)arg;
	for (ssize_t r; fd >= 0 && (r = read(fd, buf + have, sizeof buf - have)) > 0;) {
		have += (size_t)r;
		char *eol;
		while ((eol = memchr(buf, '\n', have)) != NULL) {
			serve_frame(fd, buf, (size_t)(eol - buf));
			have -= (size_t)(eol + 1 - buf);
			memmove(buf, eol + 1, have);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int server_up(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sdc_error e;

	snprintf(srv.dir, sizeof srv.dir, "/tmp/test_client.XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.path, sizeof srv.path, "%s/sock", srv.dir);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", srv.path);
	srv.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv.listen_fd >= 0);
	assert_int_equal(bind(srv.listen_fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(srv.listen_fd, 1), 0);
	srv.requests = json_array();
	assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
	struct sdc *c = sdc_connect(srv.path, &e);
	assert_non_null(c);
	*state = c;
	return 0;
}

static int server_down(void **state)
{
	sdc_close(*state);
	pthread_join(srv.thread, NULL);
	close(srv.listen_fd);
	unlink(srv.path);
	rmdir(srv.dir);
	json_decref(srv.requests);
	return 0;
}

/* The one request the last call sent (the caller owns it). */
static json_t *take_request(void)
{
	pthread_mutex_lock(&srv.lock);
	size_t n = json_array_size(srv.requests);
	json_t *req = json_incref(json_array_get(srv.requests, 0));
	json_array_clear(srv.requests);
	pthread_mutex_unlock(&srv.lock);
	if (n != 1)
		fail_msg("expected one request from the wrapper, got %zu", n);
	return req;
}

/* Before each test: no request left over (from a test that failed), the
 * caller's own sessions. */
static int fresh(void **state)
{
	pthread_mutex_lock(&srv.lock);
	json_array_clear(srv.requests);
	pthread_mutex_unlock(&srv.lock);
	sdc_set_owner(*state, -1);
	return 0;
}

/* ---- the wrappers, called ---------------------------------------------------- */

/* Every setting of settings_table with a value it accepts. */
static json_t *all_settings(void)
{
	struct settings s;
	json_t *o;

	settings_builtin(&s);
	o = settings_to_json(&s);
	for (const struct field *f = settings_table; f->key != NULL; f++)
		if (f->type == FT_STRING)
			json_object_set_new(o, f->key, json_string("/x"));
	settings_free(&s);
	return o;
}

static int create_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	json_t *settings = all_settings();

	json_object_set_new(settings, "host", json_string("hv1"));
	int rc = sdc_session_create(c, "dev", settings, r, e);

	json_decref(settings);
	return rc;
}

static int create_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_create(c, "dev", NULL, r, e);
}

static int daemon_info(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_daemon_info(c, r, e);
}

static int daemon_reload(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_daemon_reload(c, r, e);
}

static int list_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	struct sdc_list_opts o = { .state = "running", .limit = 10, .host = "hv1" };

	return sdc_session_list_page(c, &o, "42", r, e);
}

static int list_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_list(c, r, e);
}

static int holds_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_holds(c, "dev", "7", 10, r, e);
}

static int holds_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_holds(c, "dev", NULL, 0, r, e);
}

static int get(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_get(c, "dev", r, e);
}

static int start(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_start(c, "dev", r, e);
}

static int stop_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_stop(c, "dev", true, r, e);
}

static int stop_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_stop(c, "dev", false, r, e);
}

static int reset(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_session_reset(c, "dev", r, e);
}

static int delete_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	(void)r;
	return sdc_session_delete(c, "dev", true, e);
}

static int delete_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	(void)r;
	return sdc_session_delete(c, "dev", false, e);
}

static int watch_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	(void)r;
	return sdc_session_watch(c, "dev", e);
}

static int watch_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	(void)r;
	return sdc_session_watch(c, NULL, e);
}

static int acquire_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	char token[64];

	return sdc_token_acquire(c, "dev", "a reason", 90, true, token, r, e);
}

static int acquire_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	char token[64];

	(void)r;
	return sdc_token_acquire(c, "dev", NULL, 0, false, token, NULL, e);
}

static int renew_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_token_renew(c, TOKEN, 60, r, e);
}

static int renew_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_token_renew(c, TOKEN, 0, r, e);
}

static int release(struct sdc *c, json_t **r, struct sdc_error *e)
{
	(void)r;
	return sdc_token_release(c, TOKEN, e);
}

static int vm_info(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_vm_info(c, "dev", r, e);
}

static int console_full(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_vm_console(c, "dev", 4096, r, e);
}

static int console_bare(struct sdc *c, json_t **r, struct sdc_error *e)
{
	return sdc_vm_console(c, "dev", 0, r, e);
}

typedef int (*wrapper_call)(struct sdc *c, json_t **result, struct sdc_error *e);

struct wrapper {
	wrapper_call full;                  /* every optional argument set */
	wrapper_call bare;                  /* none */
};

/* One entry per method: a method without one fails test_every_method. */
static const struct wrapper wrappers[RPC_M__COUNT] = {
	[RPC_M_DAEMON_INFO] = { daemon_info, daemon_info },
	[RPC_M_SESSION_CREATE] = { create_full, create_bare },
	[RPC_M_SESSION_LIST] = { list_full, list_bare },
	[RPC_M_SESSION_GET] = { get, get },
	[RPC_M_SESSION_START] = { start, start },
	[RPC_M_SESSION_STOP] = { stop_full, stop_bare },
	[RPC_M_SESSION_RESET] = { reset, reset },
	[RPC_M_SESSION_DELETE] = { delete_full, delete_bare },
	[RPC_M_SESSION_WATCH] = { watch_full, watch_bare },
	[RPC_M_TOKEN_ACQUIRE] = { acquire_full, acquire_bare },
	[RPC_M_TOKEN_RENEW] = { renew_full, renew_bare },
	[RPC_M_TOKEN_RELEASE] = { release, release },
	[RPC_M_VM_INFO] = { vm_info, vm_info },
	[RPC_M_VM_CONSOLE] = { console_full, console_bare },
	[RPC_M_SESSION_HOLDS] = { holds_full, holds_bare },
	[RPC_M_DAEMON_RELOAD] = { daemon_reload, daemon_reload },
};

/* ---- checks ------------------------------------------------------------------ */

/* The names of the parameters in bits, for messages. */
static const char *param_names(unsigned bits, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int id = 0; id < RP__COUNT && n < len; id++)
		if (bits & RPB(id))
			n += (size_t)snprintf(buf + n, len - n, " %s", rpc_param_name(id));
	return buf;
}

/* session.create's other keys: a session's settings that settings_parse()
 * accepts, exactly those given to the wrapper (all of them, or none). */
static void check_settings(const struct rpc_args *a, bool full)
{
	static const char *const skip[] = { "name", "owner_uid", "host", NULL };
	struct settings defaults, s;
	struct cause c;
	json_t *given = full ? all_settings() : json_object(), *sent = json_deep_copy(a->rest);

	settings_builtin(&defaults);
	if (settings_parse(a->rest, &defaults, skip, &s, &c) < 0)
		fail_msg("session.create settings: %s", c.msg);
	settings_free(&s);
	settings_free(&defaults);
	for (const char *const *k = skip; *k != NULL; k++)
		json_object_del(sent, *k);
	if (!json_equal(sent, given))
		fail_msg("session.create: the settings sent are not those given");
	json_decref(given);
	json_decref(sent);
}

/*
 * Calls the wrapper of method m and checks its request against the row:
 * it passes rpc_args_parse(), and carries the required parameters and
 * those in must, and none but those in must and may.
 */
static void check_call(struct sdc *c, enum rpc_method_id m, wrapper_call call, unsigned must,
		       unsigned may, bool full)
{
	const struct rpc_method_spec *spec = &rpc_methods[m];
	struct sdc_error e;
	struct rpc_args a;
	struct cause cause;
	json_t *r = NULL;
	char b1[256];

	if (call(c, &r, &e) < 0)
		fail_msg("%s: the wrapper failed: %s", spec->name, e.message);
	json_decref(r);
	json_t *req = take_request();
	const char *method = json_string_value(json_object_get(req, "method"));
	if (method == NULL || strcmp(method, spec->name) != 0)
		fail_msg("%s: the wrapper sent method '%s'", spec->name, method ? method : "(none)");
	if (rpc_args_parse(m, json_object_get(req, "params"), &a, &cause) < 0)
		fail_msg("%s: the row refuses the wrapper's request: %s", spec->name, cause.msg);
	must |= spec->required;
	if ((a.given & must) != must)
		fail_msg("%s: missing:%s", spec->name, param_names(must & ~a.given, b1, sizeof b1));
	if (a.given & ~(must | may))
		fail_msg("%s: not expected:%s", spec->name,
			 param_names(a.given & ~(must | may), b1, sizeof b1));
	if (spec->flags & RPC_M_SETTINGS)
		check_settings(&a, full);
	json_decref(req);
}

static void test_every_method_has_a_wrapper(void **state)
{
	(void)state;
	for (int m = 0; m < RPC_M__COUNT; m++)
		if (wrappers[m].full == NULL || wrappers[m].bare == NULL)
			fail_msg("method %s has no wrapper in tests/test_client.c "
				 "(add one to libsessiond-client and to the table)", rpc_methods[m].name);
}

#define OWNER_BIT RPB(RP_OWNER_UID)

/* With every optional argument and an owner: every parameter of the row. */
static void test_full_calls_with_owner(void **state)
{
	sdc_set_owner(*state, OWNER);
	for (int m = 0; m < RPC_M__COUNT; m++)
		if (wrappers[m].full != NULL)
			check_call(*state, m, wrappers[m].full, rpc_methods[m].params, 0, true);
}

/* Without an owner: every parameter of the row but owner_uid. */
static void test_full_calls_without_owner(void **state)
{
	for (int m = 0; m < RPC_M__COUNT; m++)
		if (wrappers[m].full != NULL)
			check_call(*state, m, wrappers[m].full, rpc_methods[m].params & ~OWNER_BIT, 0,
				   true);
}

/* Without optional arguments: still accepted, the required parameters
 * there, owner_uid exactly when an owner is set and the row takes it. */
static void test_bare_calls(void **state)
{
	for (int m = 0; m < RPC_M__COUNT; m++) {
		unsigned takes = rpc_methods[m].params;
		if (wrappers[m].bare == NULL)
			continue;
		sdc_set_owner(*state, -1);
		check_call(*state, m, wrappers[m].bare, 0, takes & ~OWNER_BIT, false);
		sdc_set_owner(*state, OWNER);
		check_call(*state, m, wrappers[m].bare, takes & OWNER_BIT, takes, false);
	}
}

/* What the wrappers take out of a result. */
static void test_results(void **state)
{
	struct sdc_error e;
	char token[64];
	json_t *r = NULL;

	assert_int_equal(sdc_session_list(*state, &r, &e), 0);
	assert_true(json_is_array(r));
	json_decref(r);
	json_decref(take_request());
	assert_int_equal(sdc_token_acquire(*state, "dev", NULL, 0, false, token, NULL, &e), 0);
	assert_string_equal(token, TOKEN);
	json_decref(take_request());
}

/*
 * A result is kept as its text and read only as far as the caller needs
 * (rpc/client.c kept_result): the token when it comes first and plain,
 * else from the loaded tree; the whole tree for a caller that asks for it;
 * an error for a result that is not JSON when it must be read.
 */
static void test_kept_results(void **state)
{
	static const struct {
		const char *line;
		const char *token;              /* what sdc_token_acquire gives; NULL: it fails */
		bool tree;                      /* with a result asked for: a tree, else an error */
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"token\":\"t-1\",\"expires\":null}}\n",
		  "t-1", true },
		{ "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"expires\":null,\"token\":\"t-2\"}}\n",
		  "t-2", true },
		{ "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"token\":\"t\\u002d3\"}}\n", "t-3", true },
		{ "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"expires\":[}}\n", NULL, false },
		{ "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"result\":{\"token\":\"t-5\"}}\n", "t-5", true },
		{ "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32001,\"message\":\"no\"}}\n",
		  NULL, false },
	};
	struct sdc_error e;
	char token[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *r = NULL;
		atomic_store(&srv.reply_format, cases[i].line);
		int rc = sdc_token_acquire(*state, "dev", NULL, 0, false, token, NULL, &e);
		json_decref(take_request());
		if (cases[i].token != NULL) {
			assert_int_equal(rc, 0);
			assert_string_equal(token, cases[i].token);
		} else {
			assert_int_equal(rc, -1);
		}
		rc = sdc_token_acquire(*state, "dev", NULL, 0, false, token, &r, &e);
		json_decref(take_request());
		if (cases[i].tree) {
			assert_int_equal(rc, 0);
			assert_string_equal(json_string_value(json_object_get(r, "token")), token);
		} else {
			assert_int_equal(rc, -1);
			assert_null(r);
		}
		json_decref(r);
	}
	atomic_store(&srv.reply_format, NULL);
}

/* Replies are filed by id whatever order they are asked for in: one is
 * kept aside for the usual caller, the others in the map (rpc/client.c
 * keep_in_slot, take_reply), each given once to its own caller. */
static void test_replies_in_any_order(void **state)
{
	static const int order[] = { 5, 3, 1, 2, 4 };
	struct sdc_error e;
	long ids[6];
	char want[16];

	atomic_store(&srv.reply_format,
		     "{\"jsonrpc\":\"2.0\",\"id\":%1$lld,\"result\":{\"token\":\"t-%1$lld\"}}\n");
	for (int round = 0; round < 2; round++) {
		for (int i = 1; i <= 5; i++) {
			ids[i] = sdc_send(*state, RPC_DAEMON_INFO, NULL, &e);
			assert_true(ids[i] > 0);
		}
		for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
			json_t *r = NULL;
			long id = ids[order[(k + (size_t)round) % 5]];
			assert_int_equal(sdc_wait(*state, id, (int)(WAIT_BOUND_S * 1000), &r, &e), 0);
			snprintf(want, sizeof want, "t-%ld", id);
			assert_string_equal(json_string_value(json_object_get(r, "token")), want);
			json_decref(r);
			/* Given once: asked again, it is not there. */
			assert_int_equal(sdc_wait(*state, id, 0, NULL, &e), -1);
			assert_int_equal(e.code, SDC_ERR_TIMEOUT);
		}
		pthread_mutex_lock(&srv.lock);
		assert_int_equal(json_array_size(srv.requests), 5);
		json_array_clear(srv.requests);
		pthread_mutex_unlock(&srv.lock);
	}
	atomic_store(&srv.reply_format, NULL);
}

/* A request over the 4 KiB the client writes it in first is written whole
 * (into a text that grows); one over the frame limit, or with a string
 * that is not UTF-8, is refused before anything is sent. */
static void test_large_requests(void **state)
{
	struct sdc_error e;
	json_t *r = NULL;
	char token[64];
	size_t sizes[] = { 4000, 5000, 70000, (size_t)RPC_MAX_FRAME + 1 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *big = malloc(sizes[i] + 1);
		assert_non_null(big);
		memset(big, 'k', sizes[i]);
		big[sizes[i]] = '\0';
		json_t *settings = json_pack("{s:s}", "cmdline", big);
		int rc = sdc_session_create(*state, "dev", settings, &r, &e);
		json_decref(settings);
		if (sizes[i] > RPC_MAX_FRAME) {
			assert_int_equal(rc, -1);
			assert_int_equal(e.code, SDC_ERR_PROTOCOL);
			assert_string_equal(e.message, "request too large");
		} else {
			assert_int_equal(rc, 0);
			json_decref(r);
			json_t *req = take_request();
			assert_string_equal(json_string_value(json_object_get(json_object_get(req,
					    "params"), "cmdline")), big);
			json_decref(req);
		}
		free(big);
	}
	assert_int_equal(sdc_token_acquire(*state, "dev", "caf\xc3", 0, false, token, NULL, &e), -1);
	assert_int_equal(e.code, SDC_ERR_PROTOCOL);
	assert_string_equal(e.message, "a request parameter is not valid UTF-8");
	/* Nothing of the refused ones went out: the next call is the one request. */
	assert_int_equal(sdc_token_release(*state, TOKEN, &e), 0);
	json_t *req = take_request();
	assert_string_equal(json_string_value(json_object_get(req, "method")), RPC_TOKEN_RELEASE);
	json_decref(req);
}

static void count_tick(void *arg)
{
	(void)arg;
	atomic_fetch_add(&srv.ticks, 1);
}

/* A wrapper that waits (session.start while a VM boots) calls the tick
 * function of sdc_set_tick(): the server replies only after ticks came. */
static void test_wrapper_ticks_while_waiting(void **state)
{
	struct sdc_error e;
	json_t *r = NULL;

	atomic_store(&srv.ticks, 0);
	atomic_store(&srv.hold_for_ticks, true);
	sdc_set_tick(*state, count_tick, NULL, TICK_MS);
	int rc = sdc_session_start(*state, "dev", &r, &e);
	sdc_set_tick(*state, NULL, NULL, 0);
	atomic_store(&srv.hold_for_ticks, false);
	assert_int_equal(rc, 0);
	assert_true(atomic_load(&srv.ticks) >= TICKS_WANTED);
	json_decref(r);
	json_decref(take_request());
}

/* sdc_poll(-1) waits in read(2) itself (no poll(2) first); a caller that
 * made the socket non-blocking gets "nothing yet" from it, not a closed
 * connection, and the connection still works. */
static void test_poll_on_a_non_blocking_socket(void **state)
{
	struct sdc_error e;
	int fd = sdc_fd(*state);
	json_t *r = NULL;

	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(sdc_poll(*state, -1, &e), 0);
	assert_int_equal(sdc_session_list(*state, &r, &e), 0);
	assert_true(json_is_array(r));
	json_decref(r);
	json_decref(take_request());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_every_method_has_a_wrapper, fresh),
		cmocka_unit_test_setup(test_full_calls_with_owner, fresh),
		cmocka_unit_test_setup(test_full_calls_without_owner, fresh),
		cmocka_unit_test_setup(test_bare_calls, fresh),
		cmocka_unit_test_setup(test_results, fresh),
		cmocka_unit_test_setup(test_kept_results, fresh),
		cmocka_unit_test_setup(test_replies_in_any_order, fresh),
		cmocka_unit_test_setup(test_large_requests, fresh),
		cmocka_unit_test_setup(test_wrapper_ticks_while_waiting, fresh),
		cmocka_unit_test_setup(test_poll_on_a_non_blocking_socket, fresh),
	};
	return cmocka_run_group_tests(tests, server_up, server_down);
}
