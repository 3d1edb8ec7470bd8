/*
 * tokens.c — token.* and session.watch handlers, and what a connection
 * holds: its tokens (released when it closes, unless detached) and its
 * watches (the event stream, filtered by what the caller may see).
 */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"

#define TOKEN_TTL_MAX 31536000.0

static struct conn_data *cd_of(struct rpc_conn *c)
{
	return rpc_conn_data(c);
}

void tokens_conn_open(struct rpc_conn *c, void *arg)
{
	struct conn_data *cd = calloc(1, sizeof *cd);

	(void)arg;
	if (cd == NULL)
		fatal("out of memory");
	list_init(&cd->tokens);
	rpc_conn_set_data(c, cd);
}

/* A killed client never pins a VM: its tokens go with its connection. */
void tokens_conn_close(struct rpc_conn *c, void *arg)
{
	struct conn_data *cd = cd_of(c);

	(void)arg;
	token_release_conn(&cd->tokens);
	json_decref(cd->watch_names);
	free(cd);
	rpc_conn_set_data(c, NULL);
}

static json_t *expires_json(const struct token *t)
{
	char buf[40];

	if (t->expires <= 0)
		return json_null();
	time_rfc3339(t->expires, buf, sizeof buf);
	return json_string(buf);
}

/* ---- token.acquire ---------------------------------------------------- */

struct acquire {
	struct rpc_call *call;
	struct token *t;                    /* until granted */
	char id[37];                        /* after: the token may go meanwhile */
	json_t *result;
	struct session *s;
	double ttl;
};

static void acquire_free(struct acquire *a)
{
	session_unref(a->s);
	free(a);
}

static void acquire_lost(struct rpc_call *call, void *arg)
{
	struct acquire *a = arg;

	token_release(a->t, "disconnected");
	rpc_call_error(call, RPC_ERR_INTERNAL, "client gone");
	acquire_free(a);
}

static json_t *acquire_result(struct token *t, struct session *s)
{
	return json_pack("{s:s, s:o, s:o}", "token", t->id, "expires", expires_json(t),
			 "session", session_to_json(s));
}

/* A detached token outlives its connection and the daemon, so it is
 * acknowledged only once its state file is on disk.  Meanwhile the token
 * may have gone (revoked by a crash, expired): look it up again. */
static void acquire_persisted(struct session *s, const struct cause *err, void *arg)
{
	struct acquire *a = arg;
	struct token *t = token_find(s->core->tokens, a->id);

	if (t == NULL || t->lease.state != LEASE_HELD) {
		rpc_call_error(a->call, RPC_ERR_SESSION_FAILED,
			       "session '%s': token %s was revoked before it was saved (%s)",
			       s->name, a->id, s->state == SESSION_FAILED ? "session failed" : "VM stopped");
	} else if (err != NULL) {
		token_release(t, "not persisted");
		rpc_call_error(a->call, RPC_ERR_INTERNAL, "token not saved: %s", err->msg);
	} else {
		rpc_call_reply(a->call, a->result);
		a->result = NULL;
	}
	json_decref(a->result);
	acquire_free(a);
}

static void acquired(struct lease *l, const struct cause *err, void *arg)
{
	struct acquire *a = arg;
	struct token *t = a->t;

	(void)l;
	rpc_call_on_lost(a->call, NULL, NULL);
	if (err != NULL) {
		token_release(t, "failed");
		rpc_call_fail(a->call, err);
		acquire_free(a);
		return;
	}
	token_set_ttl(t, a->ttl);
	log_info("session %s: token %s acquired by uid %u pid %d (%s)", a->s->key, t->id,
		 (unsigned)t->uid, (int)t->pid, t->reason);
	if (!t->detached) {
		/* Bound to this connection: nothing of it outlives the daemon. */
		rpc_call_reply(a->call, acquire_result(t, a->s));
		acquire_free(a);
		return;
	}
	/* The reply shows the session as it was when the token was granted. */
	memcpy(a->id, t->id, sizeof a->id);
	a->t = NULL;
	a->result = acquire_result(t, a->s);
	session_persist(a->s, acquire_persisted, a);
}

void tokens_handle_acquire(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "name", "owner_uid", "ttl_s", "reason", "detach", NULL };
	struct conn_data *cd = cd_of(rpc_call_conn(call));
	struct daemon *d = arg;
	double ttl = 0;
	bool has_ttl, detach = false, failed;
	struct session *s;

	if (!param_only(call, allowed) ||
	    param_number(call, "ttl_s", 0.001, TOKEN_TTL_MAX, &ttl, &has_ttl) < 0 ||
	    param_bool(call, "detach", &detach) < 0)
		return;
	const char *reason = param_string(call, "reason", false, 256, &failed);
	if (failed)
		return;
	if (detach && !has_ttl) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: 'detach' needs 'ttl_s' (a detached token must expire)");
		return;
	}
	if ((s = resolve_session(d, call)) == NULL)
		return;
	if (list_length(&cd->tokens) >= (size_t)d->cfg.max_tokens_per_connection) {
		rpc_call_error(call, RPC_ERR_LIMIT, "limit reached: at most %d tokens per connection",
			       d->cfg.max_tokens_per_connection);
		return;
	}
	struct acquire *a = calloc(1, sizeof *a);
	if (a == NULL)
		fatal("out of memory");
	a->call = call;
	a->s = s;
	a->ttl = ttl;
	session_ref(s);
	a->t = token_new(d->core->tokens, NULL, s, rpc_call_conn(call), &cd->tokens,
			 rpc_call_uid(call), rpc_call_pid(call), reason ? reason : "");
	a->t->detached = detach;
	list_add_tail(&s->tokens, &a->t->session_node);
	rpc_call_on_lost(call, acquire_lost, a);
	lease_acquire(&s->lp, &a->t->lease, acquired, a);
}

/* ---- token.renew / token.release ---------------------------------------- */

/* A token is visible to its owner uid and to root; others get not-found. */
static struct token *resolve_token(struct daemon *d, struct rpc_call *call)
{
	bool failed;
	const char *id = param_string(call, "token", true, 64, &failed);

	if (failed)
		return NULL;
	struct token *t = token_find(d->core->tokens, id);
	if (t == NULL || t->lease.state != LEASE_HELD || !caller_may_see(call, t->uid)) {
		rpc_call_error(call, RPC_ERR_NOT_FOUND, "no token '%s' (released, expired or revoked)", id);
		return NULL;
	}
	return t;
}

struct renew {
	struct rpc_call *call;
	json_t *expires;
};

static void renewed(struct session *s, const struct cause *err, void *arg)
{
	struct renew *r = arg;

	(void)s;
	if (err != NULL) {
		rpc_call_error(r->call, RPC_ERR_INTERNAL, "renewal not saved: %s", err->msg);
		json_decref(r->expires);
	} else {
		rpc_call_reply(r->call, json_pack("{s:o}", "expires", r->expires));
	}
	free(r);
}

void tokens_handle_renew(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "token", "ttl_s", NULL };
	double ttl = 0;
	bool has_ttl;
	struct token *t;

	if (!param_only(call, allowed) ||
	    param_number(call, "ttl_s", 0.001, TOKEN_TTL_MAX, &ttl, &has_ttl) < 0 ||
	    (t = resolve_token(arg, call)) == NULL)
		return;
	if (has_ttl || t->ttl > 0)
		token_set_ttl(t, has_ttl ? ttl : t->ttl);
	if (!t->detached) {
		rpc_call_reply(call, json_pack("{s:o}", "expires", expires_json(t)));
		return;
	}
	/* A detached token's expiry is in its state file: reply once saved. */
	struct renew *r = malloc(sizeof *r);
	if (r == NULL)
		fatal("out of memory");
	r->call = call;
	r->expires = expires_json(t);
	session_persist(t->session, renewed, r);
}

void tokens_handle_release(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "token", NULL };
	struct token *t;

	if (!param_only(call, allowed) || (t = resolve_token(arg, call)) == NULL)
		return;
	log_info("token %s released by uid %u pid %d", t->id, (unsigned)rpc_call_uid(call),
		 (int)rpc_call_pid(call));
	token_release(t, "released");
	rpc_call_reply(call, json_object());
}

/* ---- session.watch and the event stream -------------------------------- */

void tokens_handle_watch(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "name", "owner_uid", NULL };
	struct conn_data *cd = cd_of(rpc_call_conn(call));
	struct session *s;

	if (!param_only(call, allowed))
		return;
	if (json_object_get(rpc_call_params(call), "name") == NULL) {
		uid_t owner;
		if (request_owner(call, &owner) < 0)
			return;
		if (json_object_get(rpc_call_params(call), "owner_uid") != NULL) {
			cd->watch_owner_set = true;
			cd->watch_owner = owner;
		}
		cd->watch_all = true;
		rpc_call_reply(call, json_object());
		return;
	}
	if ((s = resolve_session(arg, call)) == NULL)
		return;
	if (cd->watch_names == NULL)
		cd->watch_names = json_array();
	json_array_append_new(cd->watch_names, json_string(s->key));
	rpc_call_reply(call, json_object());
}

struct broadcast {
	struct session *s;
	json_t *params;
};

static bool watches(struct conn_data *cd, struct session *s)
{
	size_t i;
	json_t *v;

	if (cd->watch_all && (!cd->watch_owner_set || cd->watch_owner == s->owner))
		return true;
	json_array_foreach(cd->watch_names, i, v) {
		if (strcmp(json_string_value(v), s->key) == 0)
			return true;
	}
	return false;
}

static void broadcast_one(struct rpc_conn *c, void *arg)
{
	struct broadcast *b = arg;
	struct conn_data *cd = cd_of(c);

	if (cd == NULL || !watches(cd, b->s))
		return;
	if (rpc_conn_uid(c) != 0 && rpc_conn_uid(c) != b->s->owner)
		return;
	rpc_conn_notify(c, RPC_NOTIFY_SESSION_EVENT, b->params);
}

void tokens_event_hook(struct session *s, json_t *params, void *arg)
{
	struct daemon *d = arg;
	struct broadcast b = { s, params };

	if (d->srv != NULL)
		rpc_server_foreach(d->srv, broadcast_one, &b);
}

void tokens_revoked_hook(struct token *t, const char *reason, void *arg)
{
	struct session *s = t->session;

	(void)arg;
	if (t->owner_conn == NULL)
		return;
	json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "token", t->id, "name", s->name,
				   "owner_uid", (int)s->owner, "reason", reason);
	rpc_conn_notify(t->owner_conn, RPC_NOTIFY_TOKEN_REVOKED, params);    /* borrows */
	json_decref(params);
}
