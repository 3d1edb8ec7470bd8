/*
 * session.c — the session object: allocation, references, its life as an
 * object (creating, live, deleting, gone), timers, waiters and jobs.
 */
#include "session.h"

#include <assert.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsontext.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

/* Every request that names a session looks it up by this key: no printf. */
void session_key(char *buf, size_t len, uid_t owner, const char *name)
{
	char uid[JTEXT_DECIMAL_MAX];
	size_t n = jtext_decimal(uid, (long long)owner);

	if (len < n + 2) {
		str_copy(buf, len, "");
		return;
	}
	memcpy(buf, uid, n);
	buf[n] = '/';
	str_copy(buf + n + 1, len - n - 1, name);
}

struct session *session_alloc(struct core *core, uid_t owner, const char *name,
			      const char *id)
{
	struct session *s = XNEW(s);
	uuid_t u;

	s->refs = 1;
	s->core = core;
	s->owner = owner;
	str_copy(s->name, sizeof s->name, name);
	session_key(s->key, sizeof s->key, owner, name);
	if (id != NULL) {
		str_copy(s->id, sizeof s->id, id);
	} else {
		uuid_generate_random(u);
		uuid_unparse_lower(u, s->id);
	}
	snprintf(s->prefix, sizeof s->prefix, "%s-%.8s", core->prefix, s->id);
	s->created = wall_now();
	list_init(&s->node);
	list_init(&s->leases);
	list_init(&s->tokens);
	list_init(&s->stop_waiters);
	list_init(&s->delete_waiters);
	list_init(&s->write_waiters);
	list_init(&s->host_waiters);
	lease_point_init(&s->lp, &request_lease_ops, s);
	idle_init(&s->idle, core->base, &s->lp.gate, &request_idle_ops, s);
	return s;
}

void session_ref(struct session *s)
{
	s->refs++;
}

/* The last reference frees: by then the session is out of the registry
 * and has no running instance (delete tears down first; at exit VMs stay
 * as they are and only the objects go). */
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
	if (s->host_timer != NULL)
		event_free(s->host_timer);
	instance_unref(s->inst, "session_unref");
	settings_free(&s->set);
	free(s->last_stop_detail);
	free(s->failed_reason);
	free(s->warning);
	free(s->exit_detail);
	free(s->stop_detail);
	free(s->next_warning);
	free(s->saving);
	tiers_forget(s);
	free(s->start_err);
	free(s);
}

static const char *const life_names[] = { "creating", "live", "deleting", "gone" };

void session_set_life(struct session *s, enum session_life to)
{
	static const bool legal[4][4] = {
		[LIFE_CREATING] = { [LIFE_LIVE] = true, [LIFE_GONE] = true },
		[LIFE_LIVE] = { [LIFE_DELETING] = true },
		[LIFE_DELETING] = { [LIFE_GONE] = true },
	};

	if (!legal[s->life][to]) {
		log_err("session %s: illegal life %s -> %s (bug)", s->key, life_names[s->life],
			life_names[to]);
		assert(!"illegal session life transition");
		return;
	}
	log_debug("session %s: %s -> %s", s->key, life_names[s->life], life_names[to]);
	s->life = to;
}

bool session_visible(const struct session *s)
{
	return s->life == LIFE_LIVE || s->life == LIFE_DELETING;
}

double session_uptime(const struct session *s)
{
	double up = s->uptime_total;

	if (s->running_since > 0)
		up += mono_now() - s->running_since;
	return up;
}

/* A timer slot created on first use (most sessions never need one); it is
 * re-pointed at fn each time, so one slot can serve several purposes that
 * never overlap (restart back-off and readiness polling share aux_timer). */
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

void session_timer_cancel(struct event *ev)
{
	if (ev != NULL)
		evtimer_del(ev);
}

void session_waiter_add(struct list_node *list, session_done_cb cb, void *arg)
{
	struct session_waiter *w = XNEW(w);

	w->cb = cb;
	w->arg = arg;
	list_add_tail(list, &w->node);
}

/* Answers every waiter queued so far; one queued by a callback waits for
 * the next round. */
void session_waiters_done(struct session *s, struct list_node *list, const struct cause *err)
{
	struct list_node batch = LIST_HEAD_INIT(batch);

	list_splice_tail(&batch, list);
	while (!list_empty(&batch)) {
		struct session_waiter *w = list_entry(batch.next, struct session_waiter, node);
		list_del(&w->node);
		w->cb(s, err, w->arg);
		free(w);
	}
}

void session_submit(struct session *s, struct job *j, job_fn run, job_fn done,
		    const char *what)
{
	j->run = run;
	j->done = done;
	j->what = what;
	j->owner = s->owner;                /* the pool takes turns by owner */
	session_ref(s);
	workers_submit(s->host != NULL ? s->host->workers : s->core->workers, j);
}

/* ---- log lines ------------------------------------------------------------ */

const char *session_host(const struct session *s)
{
	(void)s;
	return NULL;
}

static void session_logv(const struct session *s, enum log_level lvl, const char *msgid,
			 const char *reason, const char *fmt, va_list ap)
{
	char text[1024], uid[16];

	if (lvl > log_get_level())
		return;
	vsnprintf(text, sizeof text, fmt, ap);
	snprintf(uid, sizeof uid, "%u", (unsigned)s->owner);
	const struct log_field fields[] = {
		{ "SESSION", s->name },
		{ "SESSION_ID", s->id },
		{ "OWNER_UID", uid },
		{ "STATE", state_name(s->state) },
		{ "INSTANCE", s->inst != NULL ? s->inst->id : NULL },
		{ "HOST", session_host(s) },
		{ "REASON", reason != NULL && reason[0] != '\0' ? reason : NULL },
		{ "MESSAGE_ID", msgid },
	};
	log_fields(lvl, fields, sizeof fields / sizeof fields[0], "session %s: %s", s->key, text);
}

void session_log(const struct session *s, enum log_level lvl, const char *reason,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_logv(s, lvl, NULL, reason, fmt, ap);
	va_end(ap);
}

void session_log_id(const struct session *s, enum log_level lvl, const char *msgid,
		    const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_logv(s, lvl, msgid, reason, fmt, ap);
	va_end(ap);
}
