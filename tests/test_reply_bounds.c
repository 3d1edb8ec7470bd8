/*
 * test_reply_bounds.c — no reply outgrows the frame limit (issue 20: "No
 * reply is ever refused for its size ... a test walks every method in the
 * method table and proves the bound").
 *
 * Every method of rpc_methods[] has a row in bounds[] below: the most
 * bytes its reply frame can have, with the reason (the fields it shows and
 * how large each can be), and every bound leaves MARGIN bytes of the frame
 * free.  A method without a row fails the test; so does one that was not
 * called.
 *
 * The daemon is real (tests/harness/rpcworld.h) and holds the worst data
 * the bounds are about: 1,250 running sessions of one owner with the
 * widest uid, 64-byte names, the widest start counts and stop reasons;
 * one of them held by 1,250 tokens whose reasons are 256 control
 * characters (each 6 bytes in JSON), with its three texts at their longest
 * in control characters too, and a console log of 300 KiB of control
 * characters and invalid UTF-8.  Each method is called with its largest
 * parameters (pages of 1,000, the longest reason, the largest console
 * tail) and every reply must be a result (not the "reply too large"
 * error) no longer than its bound.  Paged methods are walked to the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"
#include "harness/rpcworld.h"

#define WIDE_UID 2147483647u            /* the widest uid the protocol takes */
#define NSESSIONS 1250
#define NHOLDS 1250
#define CHUNK 250                       /* requests per batch while filling */
#define CONSOLE_FILE_BYTES (300 * 1024)

/* ---- the bounds ------------------------------------------------------------ */

/* What every bound leaves free of RPC_MAX_FRAME: the request's id (echoed)
 * and room to grow. */
#define MARGIN (64 * 1024)
/* {"jsonrpc":"2.0","id":N,"result":...}: the envelope around a result. */
#define ENVELOPE 64
/* A listing's row (view_row_text) at its longest: 12 keys and their
 * punctuation (~160), name 64 bytes of [A-Za-z0-9._-] (no escapes), id
 * 36, owner_uid 10 digits, state 8, start_count 10, instance id 36 and
 * domain 57 (sd-8-8-uuid), idle_deadline 24, last_stop_reason 31 (its
 * buffer), host 64 ([A-Za-z0-9._-]), host_connected false, holds_count 20
 * digits: 540.  The summary (view_summary) is the row without its count. */
#define SUMMARY_MAX 576
/* A hold: 7 keys (~95), kind 5, id 36, reason 256 bytes of which each is
 * at most 6 in JSON (\u00XX), owner_uid and owner_pid 10 digits each, since
 * and expires 24 each: 1,740. */
#define HOLD_MAX 1800
/* The session object (view_session): at most 100 holds, three texts of at
 * most TEXT_MAX bytes, 6 in JSON each, the summary's fields, created, the
 * shown settings, the scratch volume's name, warning: under 2 KiB besides. */
#define OBJECT_MAX (100 * HOLD_MAX + 3 * 6 * TEXT_MAX + SUMMARY_MAX + 2048)
/* vm.console: at most 262,144 bytes of log, each at most 3 in JSON
 * (utf8_sanitize: U+FFFD for what is not text), instance id, truncated, size. */
#define CONSOLE_MAX (3 * 256 * 1024 + 256)
/* session.holds stops a page before its holds pass 512 KiB of JSON. */
#define HOLDS_PAGE_MAX (512 * 1024 + 256)

/* daemon.reload: the config path (4,096 bytes, 6 each in JSON), a count,
 * and two lists of at most RELOAD_CHANGES_MAX changes: a key (a host's
 * name and key: under 160 bytes), old and new values of at most a line of
 * the file (INI_MAX_LINE; 6 bytes each in JSON), punctuation. */
#define RELOAD_MAX (6 * 4096 + 64 + \
	2 * RELOAD_CHANGES_MAX * (6 * 160 + 2 * (6 * INI_MAX_LINE + 8) + 64))

static const struct bound {
	const char *method;
	size_t max;                         /* bytes of the reply frame, "\n" excluded */
	const char *why;
} bounds[] = {
	{ RPC_DAEMON_INFO, 2048, "constants, the uri and pool the operator set, counts by state" },
	{ RPC_SESSION_CREATE, SUMMARY_MAX + ENVELOPE, "the summary" },
	{ RPC_SESSION_LIST, RPC_PAGE_MAX * (SUMMARY_MAX + 1) + ENVELOPE + 64,
	  "at most RPC_PAGE_MAX summaries and a cursor" },
	{ RPC_SESSION_GET, OBJECT_MAX + ENVELOPE, "the session object: at most 100 holds" },
	{ RPC_SESSION_START, SUMMARY_MAX + ENVELOPE, "the summary" },
	{ RPC_SESSION_STOP, SUMMARY_MAX + ENVELOPE, "the summary" },
	{ RPC_SESSION_RESET, SUMMARY_MAX + ENVELOPE, "the summary" },
	{ RPC_SESSION_DELETE, ENVELOPE, "{}" },
	{ RPC_SESSION_WATCH, ENVELOPE, "{}" },
	{ RPC_TOKEN_ACQUIRE, SUMMARY_MAX + 128 + ENVELOPE, "token, expires and the summary" },
	{ RPC_TOKEN_RENEW, 64 + ENVELOPE, "expires" },
	{ RPC_TOKEN_RELEASE, ENVELOPE, "{}" },
	{ RPC_VM_INFO, 1024, "a domain's name, uuid, state and numbers, the session name" },
	{ RPC_VM_CONSOLE, CONSOLE_MAX + ENVELOPE, "at most 256 KiB of log, 3 bytes each in JSON" },
	{ RPC_DAEMON_RELOAD, RELOAD_MAX + ENVELOPE,
	  "the file's path, at most 100 changes applied and 100 ignored, each a line long" },
	{ RPC_SESSION_HOLDS, HOLDS_PAGE_MAX + ENVELOPE,
	  "a page stops before its holds pass 512 KiB; name, state, cursor" },
};

#define NBOUNDS (sizeof bounds / sizeof bounds[0])

static const struct bound *bound_of(const char *method)
{
	for (size_t i = 0; i < NBOUNDS; i++)
		if (strcmp(bounds[i].method, method) == 0)
			return &bounds[i];
	return NULL;
}

/* Every method has a bound, every bound a method, and each leaves MARGIN. */
static void test_every_method_has_a_bound(void **state)
{
	(void)state;
	for (size_t i = 0; i < (size_t)RPC_M__COUNT; i++)
		if (bound_of(rpc_methods[i].name) == NULL)
			fail_msg("method %s has no row in test_reply_bounds.c: say how large its "
				 "reply can grow and call it below with its largest data", rpc_methods[i].name);
	for (size_t i = 0; i < NBOUNDS; i++) {
		if (rpc_method_find(bounds[i].method) < 0)
			fail_msg("bound %s names no method of the daemon", bounds[i].method);
		if (bounds[i].max > RPC_MAX_FRAME - MARGIN)
			fail_msg("%s: its bound %zu leaves less than %d bytes of the %d-byte frame",
				 bounds[i].method, bounds[i].max, MARGIN, RPC_MAX_FRAME);
	}
}

/* ---- the world with the worst data ------------------------------------------ */

struct world {
	struct harness *h;
	struct daemon d;
	struct client root, owner;          /* owner: uid WIDE_UID */
	char names[NSESSIONS][SESSION_NAME_MAX + 1];
	char reason[257];                   /* 256 control characters */
	char token[64];                     /* one of the owner's */
	json_t *seen;                       /* method -> largest reply measured */
};

static struct world *live;

static int teardown(void **state)
{
	(void)state;
	if (live == NULL)
		return 0;
	client_close(&live->root);
	client_close(&live->owner);
	rpcworld_stop(&live->d, live->h);
	harness_free(live->h);
	json_decref(live->seen);
	free(live);
	live = NULL;
	return 0;
}

/* A 64-byte name of [A-Za-z0-9._-]: "w", the index, then padding. */
static void wide_name(char *buf, int i)
{
	int n = snprintf(buf, SESSION_NAME_MAX + 1, "w%05d.", i);

	for (; n < SESSION_NAME_MAX; n++)
		buf[n] = "abcdefghijklmnopqrstuvwxyz-_.0123456789"[(n + i) % 39];
	buf[SESSION_NAME_MAX] = '\0';
}

/* Sends the requests of one batch and checks every answer is a result. */
static json_t *batch_ok(struct world *w, struct client *cl, json_t *reqs, const char *what)
{
	char *text = json_dumps(reqs, JSON_COMPACT);
	size_t i;
	json_t *r;

	assert_non_null(text);
	client_write(w->h, cl, text);
	free(text);
	json_t *answers = client_wait_batch(w->h, cl, 120);
	if (json_array_size(answers) != json_array_size(reqs))
		fail_msg("%s: %zu answers to %zu requests", what, json_array_size(answers),
			 json_array_size(reqs));
	json_array_foreach(answers, i, r)
		if (code_of(r) != 0)
			fail_msg("%s: %s", what, json_string_value(json_object_get(
				json_object_get(r, "error"), "message")));
	json_decref(reqs);
	return answers;
}

static json_t *req(long id, const char *method, json_t *params)
{
	return json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
			 "method", method, "params", params);
}

/* One method for every session, CHUNK requests per batch, by root. */
static void for_every_session(struct world *w, const char *method, const char *extra)
{
	static long id = 1000000;

	for (int i = 0; i < NSESSIONS; i += CHUNK) {
		json_t *reqs = json_array();
		for (int k = i; k < i + CHUNK && k < NSESSIONS; k++) {
			json_t *p = json_pack("{s:s, s:I}", "name", w->names[k], "owner_uid",
					      (json_int_t)WIDE_UID);
			if (extra != NULL)
				json_object_update_new(p, json_loads(extra, 0, NULL));
			json_array_append_new(reqs, req(id++, method, p));
		}
		json_decref(batch_ok(w, &w->root, reqs, method));
	}
}

/* 1,250 sessions of WIDE_UID, all running, a year of grace. */
static void make_sessions(struct world *w)
{
	for (int i = 0; i < NSESSIONS; i++)
		wide_name(w->names[i], i);
	for_every_session(w, RPC_SESSION_CREATE, "{\"storage\":\"ephemeral\",\"grace_s\":31536000}");
	for_every_session(w, RPC_SESSION_START, NULL);
}

/* The widest values the summary's fields can hold, set behind the
 * daemon's back: a start count of 11 characters, a stop reason that
 * fills its buffer. */
static void widen(struct world *w)
{
	for (int i = 0; i < NSESSIONS; i++) {
		struct session *s = core_find(w->d.core, WIDE_UID, w->names[i]);
		assert_non_null(s);
		assert_int_equal(s->state, SESSION_RUNNING);
		s->start_count = 2147483648u;       /* (int): -2147483648 */
		memset(s->last_stop_reason, 'x', sizeof s->last_stop_reason - 1);
		s->last_stop_reason[sizeof s->last_stop_reason - 1] = '\0';
	}
}

/* Session 0 held by NHOLDS tokens of the owner, each with the longest
 * reason, all control characters. */
static void make_holds(struct world *w)
{
	long id = 2000000;

	memset(w->reason, 0x01, 256);
	w->reason[256] = '\0';
	for (int i = 0; i < NHOLDS; i += CHUNK) {
		json_t *reqs = json_array();
		for (int k = i; k < i + CHUNK && k < NHOLDS; k++)
			json_array_append_new(reqs, req(id++, RPC_TOKEN_ACQUIRE,
				json_pack("{s:s, s:s, s:f}", "name", w->names[0], "reason", w->reason,
					  "ttl_s", 31536000.0)));
		json_t *answers = batch_ok(w, &w->owner, reqs, RPC_TOKEN_ACQUIRE);
		snprintf(w->token, sizeof w->token, "%s", json_string_value(json_object_get(
			json_object_get(json_array_get(answers, 0), "result"), "token")));
		json_decref(answers);
	}
	struct session *s = core_find(w->d.core, WIDE_UID, w->names[0]);
	assert_int_equal(holds_count(s), NHOLDS);
}

/* Session 0's texts at their longest, in control characters; its console
 * log 300 KiB of control characters and bytes that are not UTF-8. */
static void make_texts(struct world *w)
{
	struct session *s = core_find(w->d.core, WIDE_UID, w->names[0]);
	char text[TEXT_MAX + 1], path[4200];

	memset(text, 0x02, TEXT_MAX);
	text[TEXT_MAX] = '\0';
	text_set(&s->last_stop_detail, text);
	text_set(&s->failed_reason, text);
	text_set(&s->warning, text);
	console_path(w->d.core, s->inst->id, path, sizeof path);
	unsigned char *log = malloc(CONSOLE_FILE_BYTES);
	assert_non_null(log);
	for (size_t i = 0; i < CONSOLE_FILE_BYTES; i++)
		log[i] = (unsigned char[]){ 0x01, 0xff, 0xc3, 0x1b, 0x80, 0x00 }[i % 6];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, log, CONSOLE_FILE_BYTES), CONSOLE_FILE_BYTES);
	close(fd);
	free(log);
}

static struct world *world_new(void)
{
	/* State files on a memory file system where there is one: what is
	 * measured here is replies, not disks. */
	struct harness_opts o = { .scratch_gib = -1,
				  .tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL };
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	live = w;
	w->root.fd = w->owner.fd = -1;
	w->seen = json_object();
	w->h = harness_new(&o);
	w->h->cfg.core.max_sessions_per_user = 0;       /* the core reads it live */
	rpcworld_start(&w->d, w->h);
	w->d.cfg.max_tokens_per_connection = 2 * NHOLDS;
	client_open(&w->d, &w->root, 0);
	client_open(&w->d, &w->owner, WIDE_UID);
	double t0 = mono_now();
	make_sessions(w);
	widen(w);
	make_holds(w);
	make_texts(w);
	print_message("world: %d running sessions, %d holds in %.1f s\n", NSESSIONS, NHOLDS,
		      mono_now() - t0);
	return w;
}

/* ---- measuring ---------------------------------------------------------------- */

/* One call: a result within its method's bound; the result (a new reference). */
static json_t *measure(struct world *w, struct client *cl, const char *method, json_t *params)
{
	const struct bound *b = bound_of(method);
	size_t bytes;
	json_t *r = client_request(w->h, cl, method, params, &bytes);

	assert_non_null(b);
	if (code_of(r) != 0)
		fail_msg("%s: error %d: %s", method, code_of(r), json_string_value(json_object_get(
			json_object_get(r, "error"), "message")));
	if (bytes > b->max)
		fail_msg("%s: a reply of %zu bytes, over its bound of %zu (%s)", method, bytes,
			 b->max, b->why);
	json_int_t had = json_integer_value(json_object_get(w->seen, method));
	if ((json_int_t)bytes > had)
		json_object_set_new(w->seen, method, json_integer((json_int_t)bytes));
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

/* A paged method walked to the end: every page measured; the items. */
static size_t walk(struct world *w, struct client *cl, const char *method, json_t *params,
		   const char *items)
{
	size_t n = 0;
	json_t *after = NULL;

	for (int pages = 0;; pages++) {
		json_t *p = json_deep_copy(params);
		if (after != NULL)
			json_object_set_new(p, "after", after);
		json_t *res = measure(w, cl, method, p);
		size_t got = json_array_size(json_object_get(res, items));
		n += got;
		json_t *next = json_object_get(res, "next");
		after = json_is_string(next) ? json_incref(next) : NULL;
		json_decref(res);
		if (after == NULL)
			break;
		if (got == 0 || pages > 1000)
			fail_msg("%s: a page of %zu items with a cursor after it", method, got);
	}
	json_decref(params);
	return n;
}

static json_t *named(struct world *w, int i)
{
	return json_pack("{s:s, s:I}", "name", w->names[i], "owner_uid", (json_int_t)WIDE_UID);
}

/* daemon.reload of a file that changes every key it may, strings at
 * their longest in characters JSON escapes, and adds 150 hosts: more
 * changes than a reply lists.  The configuration in force is restored
 * after (the world's other calls are done). */
static void reload_worst(struct world *w)
{
	char *path = NULL;
	size_t n = 0;

	assert_true(asprintf(&path, "%s/reload.conf", w->h->dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (const struct field *t = settings_table; t->key != NULL; t++) {
		if (t->conf == NULL || t->type != FT_STRING)
			continue;
		fprintf(f, "%s = /", t->conf);
		for (size_t i = strlen(t->conf) + 5; i < INI_MAX_LINE - 1 && i < t->hi; i++)
			fputc('\\', f);
		fputc('\n', f);
		n++;
	}
	fprintf(f, "log_level = error\nmax_sessions_per_user = 7\n");
	for (int i = 0; i < 150; i++)
		fprintf(f, "[host h%03d]\nuri = test:///default\n", i);
	assert_int_equal(fclose(f), 0);
	/* The daemon's configuration borrows the harness's strings: a reload
	 * that applies keys frees them.  Own copies for the reload, the
	 * borrowed ones back after. */
	struct config saved = w->d.cfg;
	fields_copy(config_table, &w->d.cfg, &saved);
	settings_copy(&w->d.cfg.core.defaults, &saved.core.defaults);
	w->d.cfg.config_path = path;
	w->d.cfg.config_required = true;
	json_t *r = measure(w, &w->root, RPC_DAEMON_RELOAD, NULL);
	json_int_t changes = json_integer_value(json_object_get(r, "changes"));
	if (changes < 150 + (json_int_t)n)
		fail_msg("daemon.reload counted %lld changes, not the %zu at least that the file made",
			 (long long)changes, 150 + n);
	json_decref(r);
	fields_free(config_table, &w->d.cfg);
	settings_free(&w->d.cfg.core.defaults);
	free(path);
	w->d.cfg = saved;
	log_set_level(LOG_LVL_ERR);
}

static void call_every_method(struct world *w)
{
	json_t *r;
	char name[SESSION_NAME_MAX + 1];

	json_decref(measure(w, &w->root, RPC_DAEMON_INFO, NULL));
	/* Listing: every session, one page of 1,000 and the rest. */
	size_t n = walk(w, &w->root, RPC_SESSION_LIST, json_pack("{s:i}", "limit", RPC_PAGE_MAX),
			"sessions");
	if (n != NSESSIONS)
		fail_msg("session.list walked %zu sessions, not %d", n, NSESSIONS);
	n = walk(w, &w->owner, RPC_SESSION_LIST, json_pack("{s:i, s:s}", "limit", RPC_PAGE_MAX,
			"state", "running"), "sessions");
	assert_int_equal(n, NSESSIONS);
	n = walk(w, &w->owner, RPC_SESSION_HOLDS, json_pack("{s:s, s:i}", "name", w->names[0],
			"limit", RPC_PAGE_MAX), "holds");
	if (n != NHOLDS)
		fail_msg("session.holds walked %zu holds, not %d", n, NHOLDS);
	json_decref(measure(w, &w->root, RPC_SESSION_GET, named(w, 0)));
	json_decref(measure(w, &w->root, RPC_VM_INFO, named(w, 0)));
	r = measure(w, &w->owner, RPC_VM_CONSOLE, json_pack("{s:s, s:i}", "name", w->names[0],
		    "max_bytes", 256 * 1024));
	if (json_string_length(json_object_get(r, "text")) < 256 * 1024)
		fail_msg("vm.console returned %zu bytes of text for a 256 KiB tail",
			 json_string_length(json_object_get(r, "text")));
	json_decref(r);
	r = measure(w, &w->owner, RPC_TOKEN_ACQUIRE, json_pack("{s:s, s:s, s:f}", "name",
		    w->names[0], "reason", w->reason, "ttl_s", 31536000.0));
	assert_null(json_object_get(json_object_get(r, "session"), "holds"));
	json_decref(r);
	json_decref(measure(w, &w->owner, RPC_TOKEN_RENEW, json_pack("{s:s, s:f}", "token",
		    w->token, "ttl_s", 31536000.0)));
	json_decref(measure(w, &w->owner, RPC_TOKEN_RELEASE, json_pack("{s:s}", "token", w->token)));
	json_decref(measure(w, &w->root, RPC_SESSION_START, named(w, 1)));
	json_decref(measure(w, &w->root, RPC_SESSION_STOP, json_pack("{s:s, s:I, s:b}", "name",
		    w->names[2], "owner_uid", (json_int_t)WIDE_UID, "force", 1)));
	json_decref(measure(w, &w->root, RPC_SESSION_RESET, named(w, 2)));
	wide_name(name, 99999);
	json_decref(measure(w, &w->root, RPC_SESSION_CREATE, json_pack("{s:s, s:I, s:s}", "name",
		    name, "owner_uid", (json_int_t)WIDE_UID, "storage", "ephemeral")));
	json_decref(measure(w, &w->root, RPC_SESSION_DELETE, json_pack("{s:s, s:I}", "name", name,
		    "owner_uid", (json_int_t)WIDE_UID)));
	json_decref(measure(w, &w->root, RPC_SESSION_WATCH, NULL));
	reload_worst(w);
}

/* Every method called with its worst data, every reply within its bound. */
static void test_every_reply_within_its_bound(void **state)
{
	struct world *w = world_new();

	(void)state;
	call_every_method(w);
	for (size_t i = 0; i < (size_t)RPC_M__COUNT; i++) {
		const char *m = rpc_methods[i].name;
		const struct bound *b = bound_of(m);
		json_t *v = json_object_get(w->seen, m);
		if (b == NULL || v == NULL)
			fail_msg("method %s was not measured: add its bound and call it with its "
				 "largest data in call_every_method()", m);
		print_message("%-16s %8lld bytes  (bound %7zu: %s)\n", m,
			      (long long)json_integer_value(v), b->max, b->why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_method_has_a_bound),
		cmocka_unit_test_teardown(test_every_reply_within_its_bound, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
