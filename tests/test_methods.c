/*
 * test_methods.c — authorization of every RPC method (sessiond/methods.c,
 * sessiond/tokens.c, dispatched by rpc/server.c).
 *
 * The rules (methods.c, sessiond-protocol(7)): a caller sees and touches
 * only its own sessions and tokens; another user's are invisible ("not
 * found", never "forbidden", so names cannot be probed); naming another
 * owner with "owner_uid" is "forbidden" unless the caller is root; root
 * sees everything and acts on another user's session with "owner_uid".
 *
 * The daemon is real: the method table, the server and the core on
 * libvirt's embedded test driver, with clients on socketpairs served as if
 * accepted from a given uid (tests/harness/rpcworld.h).
 *
 * The method table is walked: every method in rpc_methods[] must have a
 * row in the expectations table below (a new method without one fails
 * test_every_method_has_a_row), and each row's probes run against the
 * owner's session in each state it can be in (stopped, running with a
 * token, failed).  After every probe by the other user, nothing of the
 * owner's may have changed: its sessions as the core shows them, its state
 * files on disk, the domains and volumes libvirt has (seen through the
 * harness's own libvirt connection).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "../daemon/daemon.h"
#include "harness/harness.h"
#include "harness/rpcworld.h"

#define OWNER_UID 1001
#define OTHER_UID 1002
#define NO_TOKEN "00000000-0000-0000-0000-000000000000"

struct world {
	struct harness *h;
	struct daemon d;
	struct client owner, other, root;
	char token[64];                     /* the owner's token, or NO_TOKEN */
};

/* $OWNER -> the owner's uid, $TOKEN -> the owner's token id. */
static json_t *params_of(struct world *w, const char *tmpl)
{
	char buf[1024], uid[16];
	size_t n = 0;

	snprintf(uid, sizeof uid, "%d", OWNER_UID);
	for (const char *p = tmpl; *p != '\0' && n < sizeof buf - 64;) {
		const char *sub = NULL;
		if (strncmp(p, "$OWNER", 6) == 0)
			sub = uid, p += 6;
		else if (strncmp(p, "$TOKEN", 6) == 0)
			sub = w->token, p += 6;
		if (sub != NULL) {
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", sub);
		} else {
			buf[n++] = *p++;
		}
	}
	buf[n] = '\0';
	json_error_t e;
	json_t *p = json_loads(buf, 0, &e);
	if (p == NULL)
		fail_msg("bad params template %s: %s", buf, e.text);
	return p;
}

/* One request, and its response (a new reference). */
static json_t *call(struct world *w, struct client *cl, const char *method, const char *tmpl)
{
	return client_request(w->h, cl, method, params_of(w, tmpl), NULL);
}

static json_t *result_of(struct world *w, struct client *cl, const char *method, const char *tmpl)
{
	json_t *r = call(w, cl, method, tmpl);

	if (code_of(r) != 0)
		fail_msg("uid %u: %s %s: %s", (unsigned)cl->uid, method, tmpl,
			 json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

/* ---- the world: daemon, owner's session in a given state ------------------ */

enum fixture { STOPPED, RUNNING, FAILED, NFIXTURES };

static const char *const fixture_name[] = { "stopped", "running with a token", "failed" };

static struct session *owner_session(struct world *w)
{
	return core_find(w->d.core, OWNER_UID, "s");
}

static bool owner_state_is(struct harness *h, void *arg)
{
	struct session *s = core_find(h->core, OWNER_UID, "s");

	return s != NULL && s->state == *(enum session_state *)arg && core_quiescent(h->core);
}

static struct world *live;              /* freed by the teardown if a test failed */

#define RELOAD_TOKENS 77                /* what the world's sessiond.conf says */

/* A sessiond.conf that daemon.reload would apply: a live limit, and the
 * log level the harness runs at. */
static char *world_conf(struct harness *h)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/sessiond.conf", h->dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "max_tokens_per_connection = %d\nlog_level = %s\n", RELOAD_TOKENS,
		log_get_level() == LOG_LVL_DEBUG ? "debug" : "error");
	assert_int_equal(fclose(f), 0);
	return path;
}

static struct world *world_new(enum fixture fx)
{
	struct harness_opts o = { .fault = true };
	struct world *w = calloc(1, sizeof *w);

	assert_non_null(w);
	assert_null(live);
	live = w;
	w->owner.fd = w->other.fd = w->root.fd = -1;
	w->h = harness_new(&o);
	rpcworld_start(&w->d, w->h);
	/* Its own sessiond.conf, for daemon.reload (world_free frees the path). */
	w->d.cfg.config_path = world_conf(w->h);
	w->d.cfg.config_required = true;
	client_open(&w->d, &w->owner, OWNER_UID);
	client_open(&w->d, &w->other, OTHER_UID);
	client_open(&w->d, &w->root, 0);
	snprintf(w->token, sizeof w->token, "%s", NO_TOKEN);

	json_decref(result_of(w, &w->owner, "session.create",
			      "{\"name\":\"s\",\"grace_s\":600,\"crash_policy\":\"terminate\"}"));
	json_decref(result_of(w, &w->owner, "session.watch", "{}"));
	if (fx == STOPPED)
		return w;
	json_t *t = result_of(w, &w->owner, "token.acquire",
			      "{\"name\":\"s\",\"ttl_s\":600,\"reason\":\"fixture\"}");
	snprintf(w->token, sizeof w->token, "%s", json_string_value(json_object_get(t, "token")));
	json_decref(t);
	enum session_state want = SESSION_RUNNING;
	assert_true(harness_wait(w->h, 30, owner_state_is, &want));
	if (fx == RUNNING)
		return w;
	assert_int_equal(fault_driver_crash(w->h->drv, owner_session(w)->inst->id), 0);
	want = SESSION_FAILED;
	if (!harness_wait(w->h, 30, owner_state_is, &want))
		fail_msg("the owner's session did not fail after a crash: %s",
			 state_name(owner_session(w)->state));
	return w;
}

static void world_free(struct world *w)
{
	client_close(&w->owner);
	client_close(&w->other);
	client_close(&w->root);
	rpcworld_stop(&w->d, w->h);
	free(w->d.cfg.config_path);
	harness_free(w->h);
	free(w);
	live = NULL;
}

static int teardown(void **state)
{
	(void)state;
	if (live != NULL && live->h != NULL)
		world_free(live);
	free(live);
	live = NULL;
	return 0;
}

/* ---- what the owner has: the core's view, the disk's, libvirt's ------------- */

static bool others(struct world *w, const char *name)
{
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &w->d.core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->owner == OTHER_UID && strstr(name, s->id) != NULL)
			return true;
	}
	return false;
}

/* Everything but what belongs to the other user (who may make its own). */
static json_t *snapshot(struct world *w)
{
	json_t *snap = json_pack("{s:o, s:o, s:o, s:o}", "sessions", json_object(), "files",
				 json_object(), "domains", json_array(), "volumes", json_array());
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &w->d.core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->owner == OTHER_UID)
			continue;
		json_t *j = view_session(s);
		json_object_del(j, "uptime_s");             /* a clock, not a change */
		json_object_set_new(json_object_get(snap, "sessions"), s->key, j);
		char path[4200];
		snprintf(path, sizeof path, "%s/%s.json", w->d.core->sessions_dir, s->id);
		char *text = file_read_all(path, 1 << 20, NULL, NULL);
		json_object_set_new(json_object_get(snap, "files"), s->key,
				    text ? json_string(text) : json_null());
		free(text);
	}
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(w->h->outside, &doms, 0);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		int st = -1, reason;
		virDomainGetState(doms[i], &st, &reason, 0);
		json_array_append_new(json_object_get(snap, "domains"),
				      json_pack("{s:s, s:i}", "name", virDomainGetName(doms[i]),
						"state", st));
		virDomainFree(doms[i]);
	}
	free(doms);
	virStoragePoolPtr pool = virStoragePoolLookupByName(w->h->outside, storage_pool(w->d.core->hosts[0].storage));
	assert_non_null(pool);
	virStorageVolPtr *vols = NULL;
	n = virStoragePoolListAllVolumes(pool, &vols, 0);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (!others(w, name))
			json_array_append_new(json_object_get(snap, "volumes"), json_string(name));
		virStorageVolFree(vols[i]);
	}
	free(vols);
	virStoragePoolFree(pool);
	return snap;
}

static void assert_unchanged(json_t *before, json_t *after, const char *what)
{
	if (json_equal(before, after))
		return;
	char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
	char *a = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
	fail_msg("%s changed the owner's things:\nbefore %.3000s\nafter  %.3000s", what, b, a);
}

/* ---- checks of results ------------------------------------------------------- */

typedef bool (*check_fn)(struct world *w, struct client *cl, json_t *result, char *why,
			 size_t len);

static bool lists_no_owner(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	size_t i;
	json_t *v;

	(void)w;
	(void)cl;
	json_array_foreach(json_object_get(res, "sessions"), i, v) {
		if (json_integer_value(json_object_get(v, "owner_uid")) == OWNER_UID) {
			snprintf(why, len, "the list shows the owner's session %s",
				 json_string_value(json_object_get(v, "name")));
			return false;
		}
	}
	return true;
}

static bool counts_own_only(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	json_int_t n = json_integer_value(json_object_get(res, "sessions"));
	json_int_t own = (json_int_t)core_count_owned(w->d.core, cl->uid);

	if (n == own)
		return true;
	snprintf(why, len, "daemon.info counts %lld sessions; the caller has %lld", (long long)n,
		 (long long)own);
	return false;
}

static bool created_for_caller(struct world *w, struct client *cl, json_t *res, char *why,
			       size_t len)
{
	(void)w;
	if (json_integer_value(json_object_get(res, "owner_uid")) == (json_int_t)cl->uid)
		return true;
	snprintf(why, len, "session.create made a session of uid %lld for uid %u",
		 (long long)json_integer_value(json_object_get(res, "owner_uid")), (unsigned)cl->uid);
	return false;
}

static bool owner_note(json_t *m)
{
	json_t *p = json_object_get(m, "params");

	return json_integer_value(json_object_get(p, "owner_uid")) == OWNER_UID ||
	       (json_is_string(json_object_get(p, "name")) &&
		strcmp(json_string_value(json_object_get(p, "name")), "s") == 0);
}

static size_t owner_notes(struct client *cl)
{
	size_t i, n = 0;
	json_t *m;

	client_pump(cl);
	json_array_foreach(cl->notes, i, m)
		n += owner_note(m);
	return n;
}

struct note_wait {
	struct client *cl;
	size_t more_than;
};

static bool note_came(struct harness *h, void *arg)
{
	struct note_wait *nw = arg;

	(void)h;
	return owner_notes(nw->cl) > nw->more_than && core_quiescent(h->core);
}

/* Makes the owner's session change state (the owner stops or starts it)
 * and waits until watcher saw a notification of it; then cl's count. */
static size_t provoke(struct world *w, struct client *watcher, struct client *cl)
{
	struct session *s = owner_session(w);
	struct note_wait nw = { watcher, owner_notes(watcher) };
	size_t before = owner_notes(cl);

	if (s->state == SESSION_RUNNING)
		json_decref(result_of(w, &w->owner, "session.stop", "{\"name\":\"s\",\"force\":true}"));
	else if (s->state == SESSION_FAILED)
		json_decref(result_of(w, &w->owner, "session.reset", "{\"name\":\"s\"}"));
	else
		json_decref(result_of(w, &w->owner, "session.start", "{\"name\":\"s\"}"));
	if (!harness_wait(w->h, 30, note_came, &nw))
		fail_msg("no session.event reached uid %u after the owner's session changed",
			 (unsigned)watcher->uid);
	return owner_notes(cl) - before;
}

static bool watch_hides_owner(struct world *w, struct client *cl, json_t *res, char *why,
			      size_t len)
{
	(void)res;
	size_t leaked = provoke(w, &w->owner, cl);
	if (leaked == 0)
		return true;
	snprintf(why, len, "uid %u received %zu notification(s) about the owner's session",
		 (unsigned)cl->uid, leaked);
	return false;
}

static bool root_watch_sees(struct world *w, struct client *cl, json_t *res, char *why,
			    size_t len)
{
	(void)res;
	(void)why;
	(void)len;
	provoke(w, cl, cl);                 /* fails if root hears nothing */
	return true;
}

static bool is_owners_s(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)w;
	(void)cl;
	const char *name = json_string_value(json_object_get(res, "name"));
	if (name != NULL && strcmp(name, "s") == 0 &&
	    json_integer_value(json_object_get(res, "owner_uid")) == OWNER_UID)
		return true;
	snprintf(why, len, "not the owner's session s");
	return false;
}

static bool lists_owner(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	size_t i;
	json_t *v;

	(void)w;
	(void)cl;
	json_array_foreach(json_object_get(res, "sessions"), i, v) {
		if (json_integer_value(json_object_get(v, "owner_uid")) != OWNER_UID) {
			snprintf(why, len, "owner_uid filter let through uid %lld",
				 (long long)json_integer_value(json_object_get(v, "owner_uid")));
			return false;
		}
	}
	if (json_array_size(json_object_get(res, "sessions")) == 1)
		return true;
	snprintf(why, len, "root's list for the owner has %zu sessions, not 1",
		 json_array_size(json_object_get(res, "sessions")));
	return false;
}

static bool counts_all(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	if (json_integer_value(json_object_get(res, "sessions")) == (json_int_t)w->d.core->nsessions)
		return true;
	snprintf(why, len, "root's daemon.info does not count every session");
	return false;
}

/* Root's daemon.reload applied the world's sessiond.conf, and said so. */
static bool reloaded(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	json_t *applied = json_object_get(res, "applied"), *ch;
	size_t i;
	bool said = false;

	(void)cl;
	json_array_foreach(applied, i, ch)
		said = said || (strcmp(json_string_value(json_object_get(ch, "key")),
				       "max_tokens_per_connection") == 0 &&
				json_integer_value(json_object_get(ch, "new")) == RELOAD_TOKENS);
	if (said && w->d.cfg.max_tokens_per_connection == RELOAD_TOKENS &&
	    strcmp(json_string_value(json_object_get(res, "config")), w->d.cfg.config_path) == 0)
		return true;
	snprintf(why, len, "daemon.reload did not apply max_tokens_per_connection = %d (now %d)",
		 RELOAD_TOKENS, w->d.cfg.max_tokens_per_connection);
	return false;
}

/* Another user's daemon.reload changed nothing. */
static bool not_reloaded(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	(void)res;
	if (w->d.cfg.max_tokens_per_connection != RELOAD_TOKENS)
		return true;
	snprintf(why, len, "a refused daemon.reload changed the configuration in force");
	return false;
}

static bool created_for_owner(struct world *w, struct client *cl, json_t *res, char *why,
			      size_t len)
{
	(void)cl;
	if (json_integer_value(json_object_get(res, "owner_uid")) == OWNER_UID &&
	    core_find(w->d.core, OWNER_UID, "r") != NULL)
		return true;
	snprintf(why, len, "root's session.create with owner_uid made no session of the owner");
	return false;
}

static bool state_now(struct world *w, enum session_state st, char *why, size_t len)
{
	struct session *s = owner_session(w);

	if (s != NULL && s->state == st)
		return true;
	snprintf(why, len, "the owner's session is %s, not %s",
		 s ? state_name(s->state) : "gone", state_name(st));
	return false;
}

static bool now_running(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	(void)res;
	return state_now(w, SESSION_RUNNING, why, len);
}

static bool now_stopped(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	(void)res;
	return state_now(w, SESSION_STOPPED, why, len);
}

static bool now_gone(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	(void)res;
	if (owner_session(w) == NULL)
		return true;
	snprintf(why, len, "the owner's session is still there");
	return false;
}

static bool holds_roots_token(struct world *w, struct client *cl, json_t *res, char *why,
			      size_t len)
{
	size_t i;
	json_t *v;
	const char *id = json_string_value(json_object_get(res, "token"));

	(void)cl;
	uint64_t next;
	json_t *holds = holds_json(owner_session(w), 0, 0, &next);
	bool found = false;
	json_array_foreach(holds, i, v) {
		if (id != NULL && json_is_string(json_object_get(v, "id")) &&
		    strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
			found = true;
	}
	json_decref(holds);
	if (found)
		return true;
	snprintf(why, len, "root's token %s is not among the owner's session's holds",
		 id ? id : "(none)");
	return false;
}

static bool holds_of_s(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)w;
	(void)cl;
	if (json_is_array(json_object_get(res, "holds")) &&
	    strcmp(json_string_value(json_object_get(res, "name")) ?: "", "s") == 0)
		return true;
	snprintf(why, len, "root's session.holds did not list the owner's session s");
	return false;
}

static bool renewed(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)w;
	(void)cl;
	if (json_is_string(json_object_get(res, "expires")))
		return true;
	snprintf(why, len, "no expiry in the renewal");
	return false;
}

static bool token_gone(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)cl;
	(void)res;
	uint64_t next;
	json_t *holds = holds_json(owner_session(w), 0, 0, &next);
	size_t n = json_array_size(holds);
	json_decref(holds);
	if (n == 0)
		return true;
	snprintf(why, len, "the owner's session still has %zu hold(s)", n);
	return false;
}

static bool info_of_s(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)w;
	(void)cl;
	const char *name = json_string_value(json_object_get(res, "session"));
	if (name != NULL && strcmp(name, "s") == 0)
		return true;
	snprintf(why, len, "vm.info names session %s", name ? name : "(none)");
	return false;
}

static bool console_text(struct world *w, struct client *cl, json_t *res, char *why, size_t len)
{
	(void)w;
	(void)cl;
	if (json_is_string(json_object_get(res, "text")))
		return true;
	snprintf(why, len, "vm.console without text");
	return false;
}

/* ---- the expectations: one row per method ------------------------------------ */

struct probe {
	const char *params;                 /* NULL: no more probes */
	int code;                           /* the error; 0: a result, see check */
	check_fn check;
};

#define NPROBES 4

static const struct authz {
	const char *method;
	/* The other user (not root) at the owner's things. */
	struct probe other[NPROBES];
	/* Root at the owner's things, with the owner's session in this state. */
	enum fixture root_fixture;
	struct probe root;
} rows[] = {
	{ RPC_DAEMON_INFO, {
		{ "{}", 0, counts_own_only },
		{ "{\"owner_uid\":$OWNER}", RPC_ERR_INVALID_PARAMS, NULL } },
	  STOPPED, { "{}", 0, counts_all } },
	{ RPC_DAEMON_RELOAD, {
		{ "{}", RPC_ERR_FORBIDDEN, not_reloaded },
		{ "{\"owner_uid\":$OWNER}", RPC_ERR_INVALID_PARAMS, not_reloaded } },
	  STOPPED, { "{}", 0, reloaded } },
	{ RPC_SESSION_CREATE, {
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL },
		{ "{\"name\":\"t\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL },
		{ "{\"name\":\"s\"}", 0, created_for_caller } },
	  STOPPED, { "{\"name\":\"r\",\"owner_uid\":$OWNER}", 0, created_for_owner } },
	{ RPC_SESSION_LIST, {
		{ "{}", 0, lists_no_owner },
		{ "{\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  STOPPED, { "{\"owner_uid\":$OWNER}", 0, lists_owner } },
	{ RPC_SESSION_GET, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  STOPPED, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, is_owners_s } },
	{ RPC_SESSION_START, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  STOPPED, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, now_running } },
	{ RPC_SESSION_STOP, {
		{ "{\"name\":\"s\",\"force\":true}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"force\":true,\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  RUNNING, { "{\"name\":\"s\",\"force\":true,\"owner_uid\":$OWNER}", 0, now_stopped } },
	{ RPC_SESSION_RESET, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  FAILED, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, now_stopped } },
	{ RPC_SESSION_DELETE, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"keep_storage\":false,\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  STOPPED, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, now_gone } },
	{ RPC_SESSION_WATCH, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL },
		{ "{\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL },
		{ "{}", 0, watch_hides_owner } },
	  STOPPED, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, root_watch_sees } },
	{ RPC_TOKEN_ACQUIRE, {
		{ "{\"name\":\"s\",\"ttl_s\":60}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"ttl_s\":60,\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  STOPPED, { "{\"name\":\"s\",\"ttl_s\":60,\"owner_uid\":$OWNER}", 0, holds_roots_token } },
	{ RPC_TOKEN_RENEW, {
		{ "{\"token\":\"$TOKEN\",\"ttl_s\":1}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"token\":\"$TOKEN\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"token\":\"$TOKEN\",\"owner_uid\":$OWNER}", RPC_ERR_INVALID_PARAMS, NULL } },
	  RUNNING, { "{\"token\":\"$TOKEN\",\"ttl_s\":120}", 0, renewed } },
	{ RPC_TOKEN_RELEASE, {
		{ "{\"token\":\"$TOKEN\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"token\":\"$TOKEN\",\"owner_uid\":$OWNER}", RPC_ERR_INVALID_PARAMS, NULL } },
	  RUNNING, { "{\"token\":\"$TOKEN\"}", 0, token_gone } },
	{ RPC_VM_INFO, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  RUNNING, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, info_of_s } },
	{ RPC_VM_CONSOLE, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"max_bytes\":100,\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  RUNNING, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, console_text } },
	{ RPC_SESSION_HOLDS, {
		{ "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND, NULL },
		{ "{\"name\":\"s\",\"limit\":1,\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN, NULL } },
	  RUNNING, { "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, holds_of_s } },
};

#define NROWS (sizeof rows / sizeof rows[0])

static const struct authz *row_of(const char *method)
{
	for (size_t i = 0; i < NROWS; i++)
		if (strcmp(rows[i].method, method) == 0)
			return &rows[i];
	return NULL;
}

/* ---- tests -------------------------------------------------------------------- */

/* Every method the daemon serves has a row, and every row a method. */
static void test_every_method_has_a_row(void **state)
{
	(void)state;
	assert_true((size_t)RPC_M__COUNT > 0);
	for (size_t i = 0; i < (size_t)RPC_M__COUNT; i++)
		if (row_of(rpc_methods[i].name) == NULL)
			fail_msg("method %s has no row in test_methods.c: say what another user "
				 "and root get from it", rpc_methods[i].name);
	for (size_t i = 0; i < NROWS; i++) {
		bool found = false;
		for (size_t k = 0; k < (size_t)RPC_M__COUNT; k++)
			found = found || strcmp(rpc_methods[k].name, rows[i].method) == 0;
		if (!found)
			fail_msg("row %s names no method of the daemon", rows[i].method);
		if (rows[i].other[0].params == NULL || rows[i].root.params == NULL)
			fail_msg("row %s has no probe", rows[i].method);
	}
}

static void run_probe(struct world *w, struct client *cl, const char *method,
		      const struct probe *p, const char *ctx)
{
	char why[512] = "";
	json_t *r = call(w, cl, method, p->params);
	int code = code_of(r);

	if (code != p->code)
		fail_msg("%s: uid %u %s %s: code %d, want %d (%s)", ctx, (unsigned)cl->uid, method,
			 p->params, code, p->code,
			 code ? json_string_value(json_object_get(json_object_get(r, "error"), "message"))
			      : "a result");
	if (p->check != NULL && !p->check(w, cl, json_object_get(r, "result"), why, sizeof why))
		fail_msg("%s: uid %u %s %s: %s", ctx, (unsigned)cl->uid, method, p->params, why);
	json_decref(r);
}

/* Walks the method table: the other user's probes at the owner's session
 * in each state; nothing of the owner's changes. */
static void test_other_uid_denied(void **state)
{
	int probes = 0;

	(void)state;
	for (int fx = 0; fx < NFIXTURES; fx++) {
		for (size_t i = 0; i < (size_t)RPC_M__COUNT; i++) {
			const char *method = rpc_methods[i].name;
			const struct authz *row = row_of(method);
			if (row == NULL)
				fail_msg("method %s has no row", method);
			/* A world per method and state: a probe that did change
			 * something cannot hide behind an earlier one. */
			struct world *w = world_new((enum fixture)fx);
			for (int k = 0; k < NPROBES && row->other[k].params != NULL; k++) {
				char ctx[128];
				snprintf(ctx, sizeof ctx, "owner's session %s", fixture_name[fx]);
				json_t *before = snapshot(w);
				/* A check that provokes changes looks after its own. */
				run_probe(w, &w->other, method, &row->other[k], ctx);
				if (row->other[k].check != watch_hides_owner) {
					json_t *after = snapshot(w);
					char what[256];
					snprintf(what, sizeof what, "uid %d %s %s (%s)", OTHER_UID, method,
						 row->other[k].params, ctx);
					assert_unchanged(before, after, what);
					json_decref(after);
				}
				json_decref(before);
				probes++;
			}
			world_free(w);
		}
	}
	print_message("%d probes by another uid over %zu methods\n", probes, (size_t)RPC_M__COUNT);
}

/* Walks the method table: root acts on the owner's session. */
static void test_root_acts_for_owner(void **state)
{
	(void)state;
	for (size_t i = 0; i < (size_t)RPC_M__COUNT; i++) {
		const struct authz *row = row_of(rpc_methods[i].name);
		if (row == NULL)
			fail_msg("method %s has no row", rpc_methods[i].name);
		struct world *w = world_new(row->root_fixture);
		run_probe(w, &w->root, row->method, &row->root, fixture_name[row->root_fixture]);
		world_free(w);
	}
}

/* The owner itself: its own session by name, and by its own owner_uid. */
static void test_owner_acts_on_own(void **state)
{
	struct world *w = world_new(RUNNING);
	static const struct probe own[] = {
		{ "{\"name\":\"s\"}", 0, is_owners_s },
		{ "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0, is_owners_s },
	};

	(void)state;
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		run_probe(w, &w->owner, RPC_SESSION_GET, &own[i], "owner");
	json_t *r = result_of(w, &w->owner, RPC_TOKEN_RENEW, "{\"token\":\"$TOKEN\",\"ttl_s\":30}");
	json_decref(r);
	world_free(w);
}

/* Notifications cl got about the sessions of uid, so far. */
static size_t notes_of_uid(struct client *cl, uid_t uid)
{
	size_t i, n = 0;
	json_t *m;

	client_pump(cl);
	json_array_foreach(cl->notes, i, m)
		n += json_integer_value(json_object_get(json_object_get(m, "params"), "owner_uid")) ==
		     (json_int_t)uid;
	return n;
}

struct uid_wait {
	struct client *cl;
	uid_t uid;
	size_t more_than;
};

static bool uid_note_came(struct harness *h, void *arg)
{
	struct uid_wait *uw = arg;

	return notes_of_uid(uw->cl, uw->uid) > uw->more_than && core_quiescent(h->core);
}

/* Root's session.watch calls add up: one owner's, then another's, and
 * both are heard (a later call used to replace an earlier one). */
static void test_root_watches_add_up(void **state)
{
	struct world *w = world_new(STOPPED);

	(void)state;
	json_decref(result_of(w, &w->other, RPC_SESSION_CREATE, "{\"name\":\"o\",\"grace_s\":600}"));
	char other[64];
	snprintf(other, sizeof other, "{\"owner_uid\":%d}", OTHER_UID);
	json_decref(result_of(w, &w->root, RPC_SESSION_WATCH, other));
	json_decref(result_of(w, &w->root, RPC_SESSION_WATCH, "{\"owner_uid\":$OWNER}"));
	static const struct { uid_t uid; const char *name; } each[] = {
		{ OWNER_UID, "s" }, { OTHER_UID, "o" },
	};
	for (size_t i = 0; i < 2; i++) {
		struct client *by = each[i].uid == OWNER_UID ? &w->owner : &w->other;
		struct uid_wait uw = { &w->root, each[i].uid, notes_of_uid(&w->root, each[i].uid) };
		char p[64];
		snprintf(p, sizeof p, "{\"name\":\"%s\"}", each[i].name);
		json_decref(result_of(w, by, RPC_SESSION_START, p));
		if (!harness_wait(w->h, 30, uid_note_came, &uw))
			fail_msg("root watched uid %u's sessions and heard nothing of them",
				 (unsigned)each[i].uid);
	}
	world_free(w);
}

/* owner_uid (request_owner): an integer uid in [0, 2^31); anything else
 * is invalid for every caller; a non-root caller may name only itself;
 * root acts for itself unless it names another owner. */
static void test_owner_uid_rules(void **state)
{
	static const struct {
		char who;                   /* o owner, x other, r root */
		const char *method, *params;
		int code;
	} rules[] = {
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":-1}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":\"1001\"}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":1001.5}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":2147483648}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":null}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":true}", RPC_ERR_INVALID_PARAMS },
		{ 'r', RPC_SESSION_LIST, "{\"owner_uid\":-1}", RPC_ERR_INVALID_PARAMS },
		{ 'r', RPC_SESSION_GET, "{\"name\":\"s\",\"owner_uid\":\"1001\"}", RPC_ERR_INVALID_PARAMS },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":1002}", 0 },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":0}", RPC_ERR_FORBIDDEN },
		{ 'x', RPC_SESSION_LIST, "{\"owner_uid\":$OWNER}", RPC_ERR_FORBIDDEN },
		{ 'o', RPC_SESSION_LIST, "{\"owner_uid\":$OWNER}", 0 },
		{ 'o', RPC_SESSION_GET, "{\"name\":\"s\",\"owner_uid\":1002}", RPC_ERR_FORBIDDEN },
		{ 'r', RPC_SESSION_GET, "{\"name\":\"s\"}", RPC_ERR_NOT_FOUND },
		{ 'r', RPC_SESSION_GET, "{\"name\":\"s\",\"owner_uid\":1002}", RPC_ERR_NOT_FOUND },
		{ 'r', RPC_SESSION_GET, "{\"name\":\"s\",\"owner_uid\":0}", RPC_ERR_NOT_FOUND },
		{ 'r', RPC_SESSION_GET, "{\"name\":\"s\",\"owner_uid\":$OWNER}", 0 },
		{ 'r', RPC_SESSION_LIST, "{\"owner_uid\":2147483647}", 0 },
	};
	struct world *w = world_new(STOPPED);

	(void)state;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		struct client *cl = rules[i].who == 'o' ? &w->owner
				    : rules[i].who == 'x' ? &w->other : &w->root;
		struct probe p = { rules[i].params, rules[i].code, NULL };
		json_t *before = snapshot(w);
		run_probe(w, cl, rules[i].method, &p, "owner_uid rule");
		json_t *after = snapshot(w);
		assert_unchanged(before, after, rules[i].params);
		json_decref(before);
		json_decref(after);
	}
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_method_has_a_row),
		cmocka_unit_test_teardown(test_owner_uid_rules, teardown),
		cmocka_unit_test_teardown(test_owner_acts_on_own, teardown),
		cmocka_unit_test_teardown(test_other_uid_denied, teardown),
		cmocka_unit_test_teardown(test_root_acts_for_owner, teardown),
		cmocka_unit_test_teardown(test_root_watches_add_up, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
