/*
 * tokens.c — token.acquire, token.renew, token.release, and what a
 * connection holds: its tokens (released when it closes, unless detached)
 * and its watches (watch.c).  A detached token outlives its connection and
 * the daemon, so what acknowledges it (acquire, renew) waits until its
 * state file is on disk.
 */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

static struct conn_data *cd_of(struct rpc_conn *c)
{
	return rpc_conn_data(c);
}

void tokens_conn_open(struct rpc_conn *c, void *arg)
{
	struct conn_data *cd = XNEW(cd);

	(void)arg;
	list_init(&cd->tokens);
	rpc_conn_set_data(c, cd);
}

/* A killed client never pins a VM: its tokens go with its connection. */
void tokens_conn_close(struct rpc_conn *c, void *arg)
{
	struct conn_data *cd = cd_of(c);

	token_release_conn(&cd->tokens);
	watch_conn_close(arg, cd);
	free(cd);
	rpc_conn_set_data(c, NULL);
}

/* ---- token.acquire ---------------------------------------------------- */

struct acquire {
	struct rpc_call *call;
	struct token *t;                    /* until granted */
	char id[UUID_STR_LEN];              /* after: the token may go meanwhile */
	struct jtext result;                /* the reply, written when granted */
	struct session *s;
	double ttl;
};

static void acquire_free(struct acquire *a)
{
	jtext_free(&a->result);
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

/* Written as text: the reply of every acquire (rpc_call_reply_text). */
static void acquire_result(struct jtext *r, struct token *t, struct session *s)
{
	jtext_init(r);
	jtext_open(r, NULL);
	jtext_string(r, "token", t->id);
	time_text(r, "expires", t->expires);
	view_summary_text(r, "session", s);
	jtext_close(r);
}

/* The reply acknowledges the VM it holds (its instance, its start count):
 * it goes out once the state file records them.  A detached token also
 * outlives its connection and the daemon, so it is in that file itself.
 * Meanwhile the token may have gone (revoked by a crash, expired, its
 * connection closed): look it up again. */
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
		rpc_call_reply_text(a->call, &a->result);
	}
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
	log_debug("session %s: token %s acquired by uid %u pid %d (%s)", a->s->key, t->id,
		 (unsigned)t->uid, (int)t->pid, t->reason);
	/* The reply shows the session as it was when the token was granted. */
	memcpy(a->id, t->id, sizeof a->id);
	acquire_result(&a->result, t, a->s);
	a->t = NULL;
	if (t->detached)
		persist_write(a->s, acquire_persisted, a);
	else                /* bound: nothing of the token itself outlives the daemon */
		persist_barrier(a->s, acquire_persisted, a);
}

void tokens_acquire(struct request *rq)
{
	struct conn_data *cd = cd_of(rpc_call_conn(rq->call));
	const struct rpc_args *args = rq->args;
	bool has_ttl = args->given & RPB(RP_TTL_S);
	int max = rq->d->cfg.max_tokens_per_connection;

	if (args->detach && !has_ttl) {
		rpc_call_error(rq->call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: 'detach' needs 'ttl_s' (a detached token must expire)");
		return;
	}
	if (list_length(&cd->tokens) >= (size_t)max) {
		rpc_call_error(rq->call, RPC_ERR_LIMIT, "limit reached: at most %d tokens per connection",
			       max);
		return;
	}
	struct acquire *a = XNEW(a);
	struct session *s = rq->s;
	a->call = rq->call;
	a->s = s;
	a->ttl = has_ttl ? args->ttl_s : 0;
	session_ref(s);
	char id[UUID_STR_LEN];
	holds_token_id(s, id);
	a->t = token_new(rq->d->core->tokens, id, s, rpc_call_conn(rq->call), &cd->tokens,
			 rpc_call_uid(rq->call), rpc_call_pid(rq->call), args->reason ? args->reason : "");
	a->t->detached = args->detach;
	holds_add_token(s, a->t);
	rpc_call_on_lost(rq->call, acquire_lost, a);
	lease_acquire(&s->lp, &a->t->lease, acquired, a);
}

/* ---- token.renew / token.release ---------------------------------------- */

/* A token is visible to its owner uid and to root; others get not-found. */
static struct token *resolve_token(struct request *rq)
{
	const char *id = rq->args->token;
	struct token *t = token_find(rq->d->core->tokens, id);

	if (t == NULL || t->lease.state != LEASE_HELD || !dispatch_may_see(rq->call, t->uid)) {
		rpc_call_error(rq->call, RPC_ERR_NOT_FOUND,
			       "no token '%s' (released, expired or revoked)", id);
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

void tokens_renew(struct request *rq)
{
	bool has_ttl = rq->args->given & RPB(RP_TTL_S);
	struct token *t = resolve_token(rq);

	if (t == NULL)
		return;
	if (has_ttl || t->ttl > 0)
		token_set_ttl(t, has_ttl ? rq->args->ttl_s : t->ttl);
	if (!t->detached) {
		rpc_call_reply(rq->call, json_pack("{s:o}", "expires", time_json(t->expires)));
		return;
	}
	/* A detached token's expiry is in its state file: reply once saved. */
	struct renew *r = XNEW(r);
	r->call = rq->call;
	r->expires = time_json(t->expires);
	persist_write(t->session, renewed, r);
}

void tokens_release(struct request *rq)
{
	struct token *t = resolve_token(rq);

	if (t == NULL)
		return;
	log_debug("token %s released by uid %u pid %d", t->id, (unsigned)rpc_call_uid(rq->call),
		 (int)rpc_call_pid(rq->call));
	token_release(t, "released");
	rpc_call_reply(rq->call, NULL);
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
