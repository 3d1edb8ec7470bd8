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

json_t *holds_json(struct session *s)
{
	json_t *a = json_array();
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &s->tokens) {
		struct token *t = list_entry(pos, struct token, session_node);
		if (t->lease.state != LEASE_HELD)
			continue;
		json_array_append_new(a, hold_json("token", t->id, t->reason, t->uid,
						   t->pid, t->created, t->expires));
	}
	list_foreach_safe(pos, tmp, &s->leases) {
		struct session_lease *sl = list_entry(pos, struct session_lease, node);
		if (sl->lease.state != LEASE_HELD)
			continue;
		json_array_append_new(a, hold_json("lease", sl->id, sl->reason, sl->uid,
						   sl->pid, sl->since, 0));
	}
	return a;
}

void holds_conflict(struct session *s, struct cause *c, const char *advice)
{
	json_t *holds = holds_json(s);
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
	uuid_t u;

	lease_init(&sl->lease);
	list_init(&sl->node);
	sl->s = s;
	uuid_generate_random(u);
	uuid_unparse_lower(u, sl->id);
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
		log_info("session %s: token %s (%s) revoked: %s", s->key, t->id,
			 t->reason, reason);
		if (core->hooks != NULL && core->hooks->token_revoked != NULL)
			core->hooks->token_revoked(t, reason, core->hooks_arg);
		token_release(t, "revoked");
	}
}
