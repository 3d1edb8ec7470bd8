/*
 * view.c — the session object of the wire protocol, computed from the
 * session each time (nothing here is stored twice).  Reading it never
 * counts as activity and never starts a VM.  Which settings it shows is
 * the settings table's FIELD_VIEW column.
 *
 * Three shapes: the session object (session.get), the summary (what the
 * acting methods and token.acquire return) and the listing's row (the
 * summary and holds_count: session.list).  None grows without bound: the
 * summary and the row have no holds at all, the object at most the first
 * VIEW_HOLDS_MAX of them (holds_count says how many there are, and
 * session.holds pages through every one).
 */
#include "session.h"

#include "../common/jsonplain.h"
#include "../common/jsontext.h"
#include "../common/timeutil.h"

/* An empty text is none at all. */
static const char *text_or_none(const char *t)
{
	return t != NULL && t[0] != '\0' ? t : NULL;
}

static json_t *text_or_null(const char *t)
{
	const char *v = text_or_none(t);

	return v != NULL ? json_string(v) : json_null();
}

#define VIEW_HOLDS_MAX 100

/* When the VM stops if nothing holds it first: null while something
 * does (the tracker disarms its timer a loop turn after the first hold,
 * and a reply built in between must not show a stop that cannot come). */
static double deadline_wall(struct session *s)
{
	double deadline = idle_deadline(&s->idle);

	return deadline > 0 && !holds_any(s) ? mono_to_wall(deadline) : 0;
}

static json_t *deadline_json(struct session *s)
{
	return time_json(deadline_wall(s));
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

/* The summary's members: name, id, owner, state, starts, the instance's
 * id and domain, and a few more of constant size (idle deadline, last
 * stop reason, host).  Written as text, member by member: every
 * token.acquire reply carries them, and a tree cost three times as much
 * to build, encode and free as the reply's whole handling besides. */
static void summary_members(struct jtext *t, struct session *s)
{
	jtext_string(t, "name", s->name);
	jtext_string(t, "id", s->id);
	jtext_int(t, "owner_uid", (long long)s->owner);
	jtext_string(t, "state", state_name(s->state));
	jtext_int(t, "start_count", (long long)s->start_count);
	if (s->inst != NULL) {
		jtext_open(t, "instance");
		jtext_string(t, "id", s->inst->id);
		jtext_string(t, "domain", s->inst->domain);
		jtext_close(t);
	} else {
		jtext_null(t, "instance");
	}
	time_text(t, "idle_deadline", deadline_wall(s));
	jtext_string(t, "last_stop_reason", text_or_none(s->last_stop_reason));
	jtext_string(t, "host", s->host ? s->host->name : NULL);
	if (s->host != NULL)
		jtext_bool(t, "host_connected", hosts_usable(s->host));
	else
		jtext_null(t, "host_connected");
}

/* No count of holds in the summary: a reply that carries one is the same
 * size with one holder as with a thousand. */
void view_summary_text(struct jtext *t, const char *key, struct session *s)
{
	jtext_open(t, key);
	summary_members(t, s);
	jtext_close(t);
}

/* A listing's row: the summary and how many holds there are. */
void view_row_text(struct jtext *t, struct session *s)
{
	jtext_open(t, NULL);
	summary_members(t, s);
	jtext_int(t, "holds_count", (long long)holds_count(s));
	jtext_close(t);
}

json_t *view_summary(struct session *s)
{
	struct jtext t;

	jtext_init(&t);
	view_summary_text(&t, NULL, s);
	json_t *v = t.bad ? NULL : json_plain_loadb(t.buf, t.used, 0, NULL);
	jtext_free(&t);
	return v != NULL ? v : json_null();
}
