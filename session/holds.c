/*
 * holds.c — what keeps a session's VM up: server-side leases (one per
 * operation that needs the VM) and client tokens, each with an owner and a
 * reason, so "sessionctl holds" can answer "what keeps my VM up?".
 */
#include "session.h"

#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"

bool holds_any(struct session *s)
{
	return lease_gate_holds(&s->lp.gate) > 0 || lease_point_parked(&s->lp) > 0;
}

static json_t *hold_json(const char *kind, const char *id, const char *reason,
			 uid_t uid, pid_t pid, double since, double expires)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o}",
			 "kind", kind, "id", id, "reason", reason,
			 "owner_uid", (int)uid, "owner_pid", (int)pid,
			 "since", time_json(since), "expires", time_json(expires));
}

uint64_t holds_next_seq(struct session *s)
{
	return ++s->hold_seq;
}

void holds_token_id(struct session *s, char id[UUID_STR_LEN])
{
	prng_uuid(&s->core->ids, id);
}

void holds_add_token(struct session *s, struct token *t)
{
	t->seq = holds_next_seq(s);
	list_add_tail(&s->tokens, &t->session_node);
}

size_t holds_count(struct session *s)
{
	return lease_gate_holds(&s->lp.gate);
}

static json_t *token_hold(struct token *t)
{
	return hold_json("token", t->id, t->reason, t->uid, t->pid, t->created, t->expires);
}

static json_t *session_lease_hold(struct session_lease *sl)
{
	return hold_json("lease", sl->id, sl->reason, sl->uid, sl->pid, sl->since, 0);
}

/* The first held token / lease after seq, walking each list (both are in
 * seq order: a hold is appended when it is taken). */
static struct list_node *next_token(struct session *s, struct list_node *pos, uint64_t after)
{
	for (; pos != &s->tokens; pos = pos->next) {
		struct token *t = list_entry(pos, struct token, session_node);
		if (t->seq > after && t->lease.state == LEASE_HELD)
			return pos;
	}
	return NULL;
}

static struct list_node *next_lease(struct session *s, struct list_node *pos, uint64_t after)
{
	for (; pos != &s->leases; pos = pos->next) {
		struct session_lease *sl = list_entry(pos, struct session_lease, node);
		if (sl->seq > after && sl->lease.state == LEASE_HELD)
			return pos;
	}
	return NULL;
}

/* A page of holds stops before its JSON passes this, whatever its limit:
 * a reason is 256 bytes, but up to 1,536 in JSON (control characters are
 * \u00XX), and 1,000 of them would not fit in a frame. */
#define HOLDS_PAGE_BYTES (512 * 1024)

/* Both lists merged by seq; a hold that lives through a whole listing is
 * listed once, whatever comes and goes meanwhile.  With a limit, a page
 * also ends before HOLDS_PAGE_BYTES (never empty: one hold is far less). */
json_t *holds_json(struct session *s, uint64_t after, size_t limit, uint64_t *next)
{
	json_t *a = json_array();
	struct list_node *t = next_token(s, s->tokens.next, after);
	struct list_node *l = next_lease(s, s->leases.next, after);
	size_t bytes = 0;

	*next = 0;
	while (t != NULL || l != NULL) {
		struct token *tk = t ? list_entry(t, struct token, session_node) : NULL;
		struct session_lease *sl = l ? list_entry(l, struct session_lease, node) : NULL;
		bool is_token = tk != NULL && (sl == NULL || tk->seq < sl->seq);
		json_t *h = is_token ? token_hold(tk) : session_lease_hold(sl);
		if (limit > 0) {
			bytes += json_dumpb(h, NULL, 0, JSON_COMPACT) + 1;
			if (json_array_size(a) == limit ||
			    (bytes > HOLDS_PAGE_BYTES && json_array_size(a) > 0)) {
				json_decref(h);
				*next = after;
				break;
			}
		}
		json_array_append_new(a, h);
		if (is_token) {
			after = tk->seq;
			t = next_token(s, t->next, after);
		} else {
			after = sl->seq;
			l = next_lease(s, l->next, after);
		}
	}
	return a;
}

void holds_conflict(struct session *s, struct cause *c, const char *advice)
{
	uint64_t next;
	json_t *holds = holds_json(s, 0, 8, &next);
	char list[320] = "";
	size_t n = 0, i;
	json_t *h;

	json_array_foreach(holds, i, h) {
		if (n >= sizeof list)
			break;
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%s %s (%s, pid %d)",
				      i ? ", " : "",
				      json_string_value(json_object_get(h, "kind")),
				      json_string_value(json_object_get(h, "id")),
				      json_string_value(json_object_get(h, "reason")),
				      (int)json_integer_value(json_object_get(h, "owner_pid")));
	}
	cause_set(c, CAUSE_CONFLICT, "session '%s' is in use: %s%s%zu caller(s) waiting for the VM; %s",
		  s->name, list, n ? "; " : "", lease_point_parked(&s->lp), advice);
	json_decref(holds);
}

static void lease_done(struct lease *l, const struct cause *err, void *arg)
{
	struct session_lease *sl = arg;

	(void)l;
	if (err != NULL)
		list_del(&sl->node);
	sl->since = wall_now();
	if (sl->cb != NULL)
		sl->cb(sl, err, sl->arg);
}

void holds_lease_acquire(struct session *s, struct session_lease *sl, const char *reason,
			 uid_t uid, pid_t pid, session_lease_cb cb, void *arg)
{
	lease_init(&sl->lease);
	list_init(&sl->node);
	sl->s = s;
	sl->seq = holds_next_seq(s);
	prng_uuid(&s->core->ids, sl->id);
	str_copy(sl->reason, sizeof sl->reason, reason);
	sl->uid = uid;
	sl->pid = pid;
	sl->since = wall_now();
	sl->cb = cb;
	sl->arg = arg;
	list_add_tail(&s->leases, &sl->node);
	lease_acquire(&s->lp, &sl->lease, lease_done, sl);
}

void holds_lease_release(struct session_lease *sl)
{
	lease_release(&sl->lease);
	list_del(&sl->node);
}

void holds_revoke_tokens(struct session *s, const char *reason)
{
	struct core *core = s->core;
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &s->tokens) {
		struct token *t = list_entry(pos, struct token, session_node);
		if (t->lease.state != LEASE_HELD)
			continue;
		session_log(s, LOG_LVL_INFO, reason, "token %s (%s) revoked: %s", t->id,
			    t->reason, reason);
		if (core->hooks != NULL && core->hooks->token_revoked != NULL)
			core->hooks->token_revoked(t, reason, core->hooks_arg);
		token_release(t, "revoked");
	}
}
