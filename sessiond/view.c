/*
 * view.c — the session object of the wire protocol, computed from the
 * session each time (nothing here is stored twice).  Reading it never
 * counts as activity and never starts a VM.
 */
#include "session.h"

#include "../common/timeutil.h"
#include "storage.h"

static json_t *time_or_null(double wall)
{
	char buf[40];

	if (wall <= 0)
		return json_null();
	time_rfc3339(wall, buf, sizeof buf);
	return json_string(buf);
}

static json_t *instance_json(struct session *s)
{
	if (s->inst == NULL)
		return json_null();
	bool scratch = storage_scratch_enabled(s->core->storage) && s->warning == NULL;
	return json_pack("{s:s, s:s, s:o}", "id", s->inst->id, "domain", s->inst->domain,
			 "scratch", scratch ? json_string(s->inst->scratch) : json_null());
}

json_t *session_to_json(struct session *s)
{
	double deadline = idle_deadline(&s->idle);
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:o, s:s, s:s, s:i, s:i, s:s, s:o}",
		"name", s->name, "id", s->id, "owner_uid", (int)s->owner,
		"state", session_state_name(s->state), "start_count", (int)s->start_count,
		"grace_s", s->set.grace < 0 ? json_string("never") : json_real(s->set.grace),
		"storage", storage_kind_name(s->set.storage),
		"crash_policy", crash_policy_name(s->set.crash_policy),
		"memory_mib", (int)s->set.memory_mib, "vcpus", (int)s->set.vcpus,
		"domain_type", domain_type_name(s->set.domain_type),
		"created", time_or_null(s->created));
	json_object_set_new(o, "last_stop_reason", s->last_stop_reason[0]
			    ? json_string(s->last_stop_reason) : json_null());
	json_object_set_new(o, "last_stop_detail", s->last_stop_detail
			    ? json_string(s->last_stop_detail) : json_null());
	json_object_set_new(o, "failed_reason", s->failed_reason
			    ? json_string(s->failed_reason) : json_null());
	json_object_set_new(o, "idle_deadline",
			    deadline > 0 ? time_or_null(mono_to_wall(deadline)) : json_null());
	json_object_set_new(o, "holds", session_holds_json(s));
	json_object_set_new(o, "waiting", json_integer((json_int_t)lease_point_parked(&s->lp)));
	json_object_set_new(o, "instance", instance_json(s));
	json_object_set_new(o, "uptime_s", json_real(session_uptime(s)));
	json_object_set_new(o, "warning", s->warning ? json_string(s->warning) : json_null());
	return o;
}
