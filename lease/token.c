/*
 * token.c — client-held activity tokens (see lease.h, part 4).
 *
 * A token is a lease with an owner, a reason and an optional TTL.  Tokens
 * live in one table keyed by id; each is also on its connection's list so
 * that closing the connection releases them (a killed client never pins a
 * VM), except detached ones, which a TTL bounds instead.  Loop thread only.
 */
#include "lease.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/xalloc.h"
#include "../common/timeutil.h"

struct token_table {
	struct htab ids;
	struct event_base *base;
	const struct token_table_ops *ops;
	void *arg;
};

struct token_table *token_table_new(struct event_base *base,
				    const struct token_table_ops *ops, void *arg)
{
	struct token_table *tt = XNEW(tt);

	htab_init(&tt->ids);
	tt->base = base;
	tt->ops = ops;
	tt->arg = arg;
	return tt;
}

static void token_free_one(struct htab_node *n, void *arg)
{
	(void)arg;
	token_release(htab_entry(n, struct token, by_id), "released");
}

void token_table_free(struct token_table *tt)
{
	if (tt == NULL)
		return;
	htab_each(&tt->ids, token_free_one, NULL);
	htab_free(&tt->ids);
	free(tt);
}

struct token *token_new(struct token_table *tt, const char *id, void *session,
			void *conn, struct list_node *conn_tokens,
			uid_t uid, pid_t pid, const char *reason)
{
	struct token *t = XNEW(t);

	t->reason = xstrdup(reason ? reason : "");
	if (id != NULL) {
		size_t n = strnlen(id, sizeof t->id - 1);
		memcpy(t->id, id, n);
		t->id[n] = '\0';
	} else {
		uuid_t u;
		uuid_generate_random(u);
		uuid_unparse_lower(u, t->id);
	}
	t->table = tt;
	t->session = session;
	t->owner_conn = conn;
	t->uid = uid;
	t->pid = pid;
	t->created = wall_now();
	lease_init(&t->lease);
	list_init(&t->conn_node);
	list_init(&t->session_node);
	if (conn_tokens != NULL)
		list_add_tail(conn_tokens, &t->conn_node);
	htab_insert(&tt->ids, &t->by_id, t->id);
	return t;
}

struct token *token_find(struct token_table *tt, const char *id)
{
	struct htab_node *n = htab_find(&tt->ids, id);

	return n ? htab_entry(n, struct token, by_id) : NULL;
}

static void token_expired(evutil_socket_t fd, short what, void *arg)
{
	struct token *t = arg;

	(void)fd;
	(void)what;
	log_info("token %s (%s) expired after %.3gs", t->id, t->reason, t->ttl);
	token_release(t, "expired");
}

void token_set_ttl(struct token *t, double ttl)
{
	if (ttl <= 0) {
		if (t->ttl_ev != NULL)
			event_del(t->ttl_ev);
		t->ttl = 0;
		t->expires = 0;
		return;
	}
	if (t->ttl_ev == NULL) {
		t->ttl_ev = evtimer_new(t->table->base, token_expired, t);
		if (t->ttl_ev == NULL)
			fatal("out of memory arming a token TTL");
	}
	t->ttl = ttl;
	t->expires = wall_now() + ttl;
	struct timeval tv = tv_from_seconds(ttl);
	evtimer_add(t->ttl_ev, &tv);
}

/* gone() runs after the token is out of every list and its hold is
 * dropped, so what it computes (a state file, a hold list) no longer
 * shows the token; the struct itself is still valid during the call. */
void token_release(struct token *t, const char *why)
{
	struct token_table *tt = t->table;

	lease_release(&t->lease);
	list_del(&t->conn_node);
	list_del(&t->session_node);
	htab_remove(&tt->ids, &t->by_id);
	if (tt->ops != NULL && tt->ops->gone != NULL)
		tt->ops->gone(t, why, tt->arg);
	if (t->ttl_ev != NULL)
		event_free(t->ttl_ev);
	free(t->reason);
	free(t);
}

void token_release_conn(struct list_node *conn_tokens)
{
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, conn_tokens) {
		struct token *t = list_entry(pos, struct token, conn_node);
		if (t->detached) {
			/* Its TTL bounds it now, not the connection. */
			list_del(&t->conn_node);
			t->owner_conn = NULL;
			continue;
		}
		token_release(t, "disconnected");
	}
}

size_t token_count(const struct token_table *tt)
{
	return tt->ids.count;
}
