/*
 * session.c — session states, notifications, holds and references.
 *
 * session_set_state() is the only writer of s->state.  It checks the
 * transition against one table, logs "from -> to", and hands the
 * notification to the core hooks (the RPC layer streams it to watchers).
 */
#include "session.h"

#include <assert.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "readiness.h"
#include "storage.h"

static const char *const state_names[SESSION__COUNT] = {
	[SESSION_STOPPED] = "stopped",
	[SESSION_STARTING] = "starting",
	[SESSION_RUNNING] = "running",
	[SESSION_STOPPING] = "stopping",
	[SESSION_FAILED] = "failed",
};

/* legal[from][to] */
static const bool legal[SESSION__COUNT][SESSION__COUNT] = {
	[SESSION_STOPPED] = { [SESSION_STARTING] = true },
	[SESSION_STARTING] = { [SESSION_RUNNING] = true, [SESSION_STOPPING] = true },
	[SESSION_RUNNING] = { [SESSION_STOPPING] = true },
	[SESSION_STOPPING] = { [SESSION_STOPPED] = true, [SESSION_FAILED] = true },
	[SESSION_FAILED] = { [SESSION_STOPPED] = true },
};

const char *session_state_name(enum session_state st)
{
	return (unsigned)st < SESSION__COUNT ? state_names[st] : "invalid";
}

int session_state_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < SESSION__COUNT; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

bool session_transition_legal(enum session_state from, enum session_state to)
{
	if ((unsigned)from >= SESSION__COUNT || (unsigned)to >= SESSION__COUNT)
		return false;
	return legal[from][to];
}

void session_notify(struct session *s, const char *event, json_t *extra)
{
	struct core *core = s->core;
	char when[40];

	if (core->hooks == NULL || core->hooks->event == NULL) {
		json_decref(extra);
		return;
	}
	time_rfc3339(wall_now(), when, sizeof when);
	json_t *p = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}",
			      "name", s->name, "owner_uid", (int)s->owner,
			      "event", event, "state", session_state_name(s->state),
			      "time", when, "id", s->id);
	json_object_set_new(p, "instance", s->inst ? json_string(s->inst->id) : json_null());
	if (extra != NULL)
		json_object_update(p, extra);
	json_decref(extra);
	core->hooks->event(s, p, core->hooks_arg);
	json_decref(p);
}

void session_set_state(struct session *s, enum session_state to, const char *event,
		       json_t *extra)
{
	enum session_state from = s->state;

	if (!session_transition_legal(from, to)) {
		log_err("session %s: illegal transition %s -> %s (bug)", s->key,
			session_state_name(from), session_state_name(to));
		assert(!"illegal session state transition");
		json_decref(extra);
		return;
	}
	log_info("session %s: %s -> %s%s%s%s", s->key, session_state_name(from),
		 session_state_name(to), event ? " (event " : "", event ? event : "",
		 event ? ")" : "");
	s->state = to;
	/* The gate is open only while running.  Every other state closes it
	 * here, so no path can leave a stopped or failed session with an open
	 * gate (a crash claimed while a start completes closes the gate on
	 * the event thread; a grant racing that close must not survive it). */
	if (to != SESSION_RUNNING)
		lease_gate_close(&s->lp.gate);
	if (event != NULL)
		session_notify(s, event, extra);
	else
		json_decref(extra);
}

void session_ref(struct session *s)
{
	s->refs++;
}

/* The last reference frees: by then the session is out of the registry and
 * has no instance (delete tears down first; shutdown drops VMs as they are). */
void session_unref(struct session *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	assert(list_empty(&s->leases));
	assert(list_empty(&s->tokens));
	idle_fini(&s->idle);
	readiness_cancel(s);                /* still waiting at exit (core_free) */
	if (s->stop_timer != NULL)
		event_free(s->stop_timer);
	if (s->aux_timer != NULL)
		event_free(s->aux_timer);
	instance_unref(s->inst, "session_unref");
	settings_free(&s->set);
	free(s->last_stop_detail);
	free(s->failed_reason);
	free(s->warning);
	free(s->exit_detail);
	free(s->start_err);
	free(s);
}

/* A timer slot created on first use (most sessions never need one); it is
 * re-pointed at fn each time, so one slot can serve several purposes that
 * never overlap (restart backoff and readiness polling share aux_timer). */
void session_timer(struct session *s, struct event **slot, event_callback_fn fn,
		   double seconds)
{
	if (*slot == NULL) {
		*slot = evtimer_new(s->core->base, fn, s);
		if (*slot == NULL)
			fatal("out of memory arming a session timer");
	} else {
		evtimer_del(*slot);
		event_assign(*slot, s->core->base, -1, 0, fn, s);
	}
	struct timeval tv = tv_from_seconds(seconds);
	evtimer_add(*slot, &tv);
}

double session_uptime(const struct session *s)
{
	double up = s->uptime_total;

	if (s->running_since > 0)
		up += mono_now() - s->running_since;
	return up;
}

/* ---- holds ------------------------------------------------------ */

static json_t *hold_json(const char *kind, const char *id, const char *reason,
			 uid_t uid, pid_t pid, double since, double expires)
{
	char t1[40], t2[40];

	time_rfc3339(since, t1, sizeof t1);
	json_t *h = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}",
			      "kind", kind, "id", id, "reason", reason,
			      "owner_uid", (int)uid, "owner_pid", (int)pid, "since", t1);
	if (expires > 0) {
		time_rfc3339(expires, t2, sizeof t2);
		json_object_set_new(h, "expires", json_string(t2));
	} else {
		json_object_set_new(h, "expires", json_null());
	}
	return h;
}

json_t *session_holds_json(struct session *s)
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

/* ---- server-side leases ----------------------------------------- */

static void session_lease_done(struct lease *l, const struct cause *err, void *arg)
{
	struct session_lease *sl = arg;

	(void)l;
	if (err != NULL)
		list_del(&sl->node);
	sl->since = wall_now();
	if (sl->cb != NULL)
		sl->cb(sl, err, sl->arg);
}

void session_lease_acquire(struct session *s, struct session_lease *sl,
			   const char *reason, uid_t uid, pid_t pid,
			   session_lease_cb cb, void *arg)
{
	uuid_t u;

	lease_init(&sl->lease);
	list_init(&sl->node);
	sl->s = s;
	uuid_generate_random(u);
	uuid_unparse_lower(u, sl->id);
	snprintf(sl->reason, sizeof sl->reason, "%s", reason);
	sl->uid = uid;
	sl->pid = pid;
	sl->since = wall_now();
	sl->cb = cb;
	sl->arg = arg;
	list_add_tail(&s->leases, &sl->node);
	lease_acquire(&s->lp, &sl->lease, session_lease_done, sl);
}

void session_lease_release(struct session_lease *sl)
{
	lease_release(&sl->lease);
	list_del(&sl->node);
}

void session_revoke_tokens(struct session *s, const char *reason)
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
