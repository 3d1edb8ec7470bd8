/*
 * view.c — the session object of the wire protocol, computed from the
 * session each time (nothing here is stored twice).  Reading it never
 * counts as activity and never starts a VM.  Which settings it shows is
 * the settings table's FIELD_VIEW column.
 *
 * Two shapes: the session object (session.get) and the summary (what the
 * acting methods, token.acquire and session.list return).  Neither grows
 * without bound: the summary has no holds at all, the object at most the
 * first VIEW_HOLDS_MAX of them (holds_count says how many there are, and
 * session.holds pages through every one).
 */
#include "session.h"

#include "../common/timeutil.h"

static json_t *text_or_null(const char *t)
{
	return t != NULL && t[0] != '\0' ? json_string(t) : json_null();
}

#define VIEW_HOLDS_MAX 100

/* When the VM stops if nothing holds it first: null while something
 * does (the tracker disarms its timer a loop turn after the first hold,
 * and a reply built in between must not show a stop that cannot come). */
static json_t *deadline_json(struct session *s)
{
	double deadline = idle_deadline(&s->idle);

	return deadline > 0 && !holds_any(s) ? time_json(mono_to_wall(deadline)) : json_null();
}

/* "host": where the VM runs or the session is pinned (null: nowhere yet),
 * "host_connected": whether that host is up (null without a host). */
static void view_host(struct session *s, json_t *o)
{
	json_object_set_new_nocheck(o, "host", s->host ? json_string(s->host->name) : json_null());
	json_object_set_new_nocheck(o, "host_connected",
				    s->host ? json_boolean(hosts_usable(s->host)) : json_null());
}

static json_t *instance_json(struct session *s)
{
	if (s->inst == NULL)
		return json_null();
	bool scratch = storage_scratch_enabled(session_storage(s)) && !s->no_scratch;
	return json_pack("{s:s, s:s, s:o}", "id", s->inst->id, "domain", s->inst->domain,
			 "scratch", scratch ? json_string(s->inst->scratch) : json_null());
}

json_t *view_session(struct session *s)
{
	json_t *o = fields_to_json(settings_table, &s->set, FIELD_VIEW);

	json_object_update_new(o, json_pack("{s:s, s:s, s:i, s:s, s:i, s:o}",
		"name", s->name, "id", s->id, "owner_uid", (int)s->owner,
		"state", state_name(s->state), "start_count", (int)s->start_count,
		"created", time_json(s->created)));
	json_object_set_new(o, "last_stop_reason", text_or_null(s->last_stop_reason));
	json_object_set_new(o, "last_stop_detail", text_or_null(s->last_stop_detail));
	json_object_set_new(o, "failed_reason", text_or_null(s->failed_reason));
	json_object_set_new(o, "idle_deadline", deadline_json(s));
	uint64_t next;
	json_object_set_new(o, "holds", holds_json(s, 0, VIEW_HOLDS_MAX, &next));
	json_object_set_new(o, "holds_count", json_integer((json_int_t)holds_count(s)));
	json_object_set_new(o, "waiting", json_integer((json_int_t)lease_point_parked(&s->lp)));
	json_object_set_new(o, "instance", instance_json(s));
	json_object_set_new(o, "uptime_s", json_real(session_uptime(s)));
	json_object_set_new(o, "warning", text_or_null(s->warning));
	json_object_set_new(o, "restore_count", json_integer((json_int_t)s->restore_count));
	json_object_set_new(o, "saved_state", tiers_saved_json(s));
	view_host(s, o);
	return o;
}

/* name, id, owner, state, starts, the instance's id and domain, and a few
 * numbers of constant size that a listing shows (holds, idle deadline,
 * last stop reason, host).  Built member by member: json_pack reads its
 * format on every call, which cost three times the building itself, and
 * every token.acquire reply carries a summary. */
json_t *view_summary(struct session *s)
{
	json_t *o = json_object(), *inst = json_null();

	if (s->inst != NULL) {
		inst = json_object();
		json_object_set_new_nocheck(inst, "id", json_string(s->inst->id));
		json_object_set_new_nocheck(inst, "domain", json_string(s->inst->domain));
	}
	json_object_set_new_nocheck(o, "name", json_string(s->name));
	json_object_set_new_nocheck(o, "id", json_string(s->id));
	json_object_set_new_nocheck(o, "owner_uid", json_integer((int)s->owner));
	json_object_set_new_nocheck(o, "state", json_string(state_name(s->state)));
	json_object_set_new_nocheck(o, "start_count", json_integer((int)s->start_count));
	json_object_set_new_nocheck(o, "instance", inst);
	json_object_set_new_nocheck(o, "holds_count", json_integer((json_int_t)holds_count(s)));
	json_object_set_new_nocheck(o, "idle_deadline", deadline_json(s));
	json_object_set_new_nocheck(o, "last_stop_reason", text_or_null(s->last_stop_reason));
	view_host(s, o);
	return o;
}
