/*
 * requests.c — what callers and the idle tracker ask of a session's VM:
 * a VM for parked callers, an idle stop, stop, reset and delete.
 *
 * request_next() is the one place that decides what happens after a
 * teardown and whenever a caller parks: start a new instance, fail the
 * parked callers (the session is failed or being deleted, or its owner is
 * at a per-user limit), or wait (a teardown or a restart back-off is
 * under way, or the session's host is away: hosts.c bounds that wait).  A
 * stop or delete that needs a VM on a host that is away waits for it the
 * same way.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

/* ---- parked callers and the lease point ------------------------------- */

void request_next(struct session *s)
{
	struct cause c;

	if (s->life != LIFE_LIVE) {
		cause_set(&c, CAUSE_NOT_FOUND, "session '%s' is being deleted", s->name);
		lease_point_fail(&s->lp, &c);
		return;
	}
	if (s->state == SESSION_FAILED) {
		cause_set(&c, CAUSE_SESSION_FAILED, "session '%s' failed: %s (reset it first)",
			  s->name, text_str(s->failed_reason));
		lease_point_fail(&s->lp, &c);
		return;
	}
	if (lease_point_parked(&s->lp) == 0 || s->core->shutting_down)
		return;
	if (hosts_wait(s, NULL, NULL))
		return;
	bool starts = s->state == SESSION_STOPPED && s->phase == PHASE_IDLE;
	if (!starts && s->state != SESSION_SUSPENDED)
		return;
	/* Over a per-user limit (a restore runs a VM too): the parked
	 * callers fail now, none waits for room (limits.c). */
	if (limits_check(s, &c) < 0) {
		log_info("session %s: %s", s->key, c.msg);
		lease_point_fail(&s->lp, &c);
		return;
	}
	if (starts)
		start_instance(s);
	else
		tiers_restore(s);
}

static void need_vm(struct lease_point *lp)
{
	request_next(lp->owner);
}

static void lease_edge(struct lease_point *lp)
{
	struct session *s = lp->owner;

	idle_poke(&s->idle);
}

/* The disposition re-check of lease_point_grant(): no lease on a VM
 * whose exit the event thread has claimed (tests/model/disposition.pml,
 * property 5), nor on one whose host is away (the callers wait for it). */
static bool may_grant(struct lease_point *lp)
{
	struct session *s = lp->owner;

	return s->inst != NULL && instance_disposition(s->inst) == DISP_ACTIVE &&
	       !hosts_wait(s, NULL, NULL);
}

const struct lease_point_ops request_lease_ops = { need_vm, lease_edge, may_grant };

/* ---- idle --------------------------------------------------------------- */

/* The idle tracker closed the gate on an unchanged idle snapshot. */
static void idle_expired(struct idle *id, void *arg)
{
	struct session *s = arg;

	(void)id;
	session_log(s, LOG_LVL_INFO, "idle", "idle for %gs, stopping the VM", s->set.grace);
	teardown_begin_expected(s, "idle");
}

static void idle_changed(struct idle *id, double deadline, void *arg)
{
	struct session *s = arg;

	(void)id;
	if (s->state != SESSION_RUNNING)
		return;
	if (deadline > 0)
		state_notify(s, EV_IDLE, json_pack("{s:o}", "deadline",
						   time_json(mono_to_wall(deadline))));
	else
		state_notify(s, EV_BUSY, NULL);
}

const struct idle_ops request_idle_ops = { idle_expired, idle_changed };

/* ---- stop and reset --------------------------------------------------------- */

/* A stop or delete that waits for the session's host: asked again when
 * it is back, answered with why when the wait runs out. */
struct host_retry {
	bool flag;                          /* force, keep_storage */
	session_done_cb done;
	void *arg;
	void (*again)(struct session *s, bool flag, session_done_cb done, void *arg);
};

static void host_retry_cb(struct session *s, const struct cause *err, void *arg)
{
	struct host_retry r = *(struct host_retry *)arg;

	free(arg);
	if (err != NULL)
		r.done(s, err, r.arg);
	else
		r.again(s, r.flag, r.done, r.arg);
}

static bool wait_for_host(struct session *s, bool flag, session_done_cb done, void *arg,
			  void (*again)(struct session *, bool, session_done_cb, void *))
{
	struct host_retry *r;

	if (s->host == NULL || hosts_usable(s->host))
		return false;
	r = XNEW(r);
	*r = (struct host_retry){ flag, done, arg, again };
	return hosts_wait(s, host_retry_cb, r);
}

void request_stop(struct session *s, bool force, session_done_cb done, void *arg)
{
	struct cause c;

	switch (s->state) {
	case SESSION_NEW:
	case SESSION_STOPPED:
	case SESSION_FAILED:
	case SESSION__COUNT:
		done(s, NULL, arg);
		return;
	case SESSION_STOPPING:
		session_waiter_add(&s->stop_waiters, done, arg);
		return;
	case SESSION_STARTING:
	case SESSION_RUNNING:
	case SESSION_SUSPENDED:             /* discards the saved memory */
		break;
	}
	if (!force && holds_any(s)) {
		holds_conflict(s, &c, "use force to stop anyway");
		done(s, &c, arg);
		return;
	}
	/* force: the VM is let go (the host's orphan check ends it there). */
	if (!force && wait_for_host(s, force, done, arg, request_stop))
		return;
	session_waiter_add(&s->stop_waiters, done, arg);
	if (force) {
		cause_set(&c, CAUSE_CONFLICT, "session '%s' was stopped by request", s->name);
		lease_point_fail(&s->lp, &c);
		holds_revoke_tokens(s, c.msg);
	}
	teardown_begin_expected(s, "requested");
}

int request_reset(struct session *s, struct cause *c)
{
	if (s->state == SESSION_STOPPED)
		return 0;
	if (s->state != SESSION_FAILED) {
		cause_set(c, CAUSE_CONFLICT, "session '%s' is %s; reset applies to failed sessions",
			  s->name, state_name(s->state));
		return -1;
	}
	text_set(&s->failed_reason, NULL);
	s->ncrash = 0;
	state_set(s, SESSION_STOPPED, PHASE_IDLE, EV_RESET, NULL);
	return 0;
}

/* ---- delete: the VM, the disk, the state file, the registry ------------ */

struct delete_job {
	struct job job;
	struct session *s;
	int rc;
	struct cause err;
};

static void delete_disk_run(struct job *j)
{
	struct delete_job *dj = (struct delete_job *)j;
	struct session *s = dj->s;

	if (s->set.storage == STORAGE_PERSISTENT && !s->keep_storage && s->disk_created)
		dj->rc = storage_disk_delete(session_storage(s), s->id, &dj->err);
}

static void delete_removed(struct session *s, const struct cause *err, void *arg)
{
	(void)arg;
	if (err != NULL)
		session_log(s, LOG_LVL_ERR, NULL, "%s", err->msg);
	console_remove(s);
	state_notify(s, EV_DELETED, NULL);
	session_log(s, LOG_LVL_INFO, "deleted", "deleted%s",
		    s->keep_storage ? " (storage kept)" : "");
	core_unregister(s);
	session_waiters_done(s, &s->delete_waiters, NULL);
	session_unref(s);                   /* the registry's reference */
}

static void delete_disk_done(struct job *j)
{
	struct delete_job *dj = (struct delete_job *)j;
	struct session *s = dj->s;

	if (dj->rc < 0)
		session_log(s, LOG_LVL_WARN, NULL, "persistent disk: %s", dj->err.msg);
	persist_remove(s, delete_removed, NULL);
	session_unref(s);
	free(dj);
}

/* The VM is down: fail whoever still waits, then the disk. */
static void finish_delete(struct session *s)
{
	struct delete_job *dj = XNEW(dj);
	struct cause c;

	cause_set(&c, CAUSE_NOT_FOUND, "session '%s' was deleted", s->name);
	lease_point_fail(&s->lp, &c);
	dj->s = s;
	session_submit(s, &dj->job, delete_disk_run, delete_disk_done, "delete");
}

static void delete_after_stop(struct session *s, const struct cause *err, void *arg)
{
	(void)err;
	(void)arg;
	finish_delete(s);
}

void request_delete(struct session *s, bool keep_storage, session_done_cb done, void *arg)
{
	struct cause c;

	if (s->life == LIFE_DELETING) {
		session_waiter_add(&s->delete_waiters, done, arg);
		return;
	}
	if (holds_any(s)) {
		holds_conflict(s, &c, "release them first");
		done(s, &c, arg);
		return;
	}
	/* The VM and the disk are on the host; keeping a stopped session's
	 * storage needs nothing of it (so a host that is gone for good does
	 * not pin its sessions). */
	bool disk = s->set.storage == STORAGE_PERSISTENT && s->disk_created && !keep_storage;
	if ((s->inst != NULL || disk) && wait_for_host(s, keep_storage, done, arg, request_delete))
		return;
	session_set_life(s, LIFE_DELETING);
	s->keep_storage = keep_storage;
	session_waiter_add(&s->delete_waiters, done, arg);
	if (s->phase == PHASE_RESTART_WAIT) {
		session_timer_cancel(s->aux_timer);
		state_phase(s, PHASE_IDLE);
	}
	switch (s->state) {
	case SESSION_STARTING:
	case SESSION_RUNNING:
	case SESSION_STOPPING:
	case SESSION_SUSPENDED:
		/* The teardown's end (ours, or one under way) goes on with it. */
		session_waiter_add(&s->stop_waiters, delete_after_stop, NULL);
		teardown_begin_expected(s, "deleted");
		break;
	default:
		finish_delete(s);
		break;
	}
}
