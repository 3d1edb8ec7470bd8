/*
 * lifecycle.c — bringing a session's VM up and down, exactly once.
 * tests/model/disposition.pml models this file's protocol; its inlines
 * carry the names of the functions here (to_running, start_done,
 * begin_expected_stop, finish_teardown, after_crash …): change both.
 *
 * Who tears an instance down is decided by the instance's disposition CAS
 * (lease.h).  Two paths can win it:
 *
 *   expected stop   idle expiry, session.stop, session.delete, a failed
 *                   start: begin_expected_stop() claims on the loop;
 *   spontaneous     a lifecycle STOPPED event nobody asked for:
 *   exit            session_vm_event() claims on the driver's event thread.
 *
 * The winner sets s->teardown and the teardown jobs run; the loser does
 * nothing but drop its reference (a STOPPED event that loses to an expected
 * stop only tells the waiting stop that the domain is gone).  A teardown
 * never overlaps the start job of the same instance: while s->job_busy it
 * is deferred, and the start job's completion runs it.
 *
 * Teardown, both paths:  [shutdown -> wait for the domain to go, at most
 * stop_timeout] -> destroy (idempotent) -> delete scratch and boot volumes
 * -> finish_teardown(): state, bookkeeping, state file, waiters, and then
 * what comes next (a new instance for parked callers, a restart after a
 * crash, the end of a delete).  The bracketed part is the expected path's.
 */
#include "session.h"

#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "domxml.h"
#include "readiness.h"
#include "storage.h"

static void start_instance(struct session *s);
static void submit_teardown(struct session *s);
static void finish_teardown(struct session *s);
static void finish_delete(struct session *s);
static void kick(struct session *s);

static bool has_holds(struct session *s)
{
	return lease_gate_holds(&s->lp.gate) > 0 || lease_point_parked(&s->lp) > 0;
}

static void complete_waiters(struct session *s, struct list_node *list,
			     const struct cause *err)
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

static void add_waiter(struct list_node *list, session_done_cb cb, void *arg)
{
	struct session_waiter *w = calloc(1, sizeof *w);

	if (w == NULL)
		fatal("out of memory");
	w->cb = cb;
	w->arg = arg;
	list_add_tail(list, &w->node);
}

static void timer_cancel(struct event *ev)
{
	if (ev != NULL)
		evtimer_del(ev);
}

/* ---- start --------------------------------------------------------- */

struct start_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	int rc;
	struct cause err;
	struct cause warn;
};

static const char *virt_type_for(const struct session *s)
{
	if (s->set.domain_type == DOMTYPE_KVM)
		return "kvm";
	if (s->set.domain_type == DOMTYPE_QEMU)
		return "qemu";
	return s->core->kvm_usable ? "kvm" : "qemu";
}

/* Worker: disks first (a scratch failure only warns), then the domain. */
static void start_run(struct job *j)
{
	struct start_job *sj = (struct start_job *)j;
	struct session *s = sj->s;
	struct core *core = s->core;
	struct instance *inst = sj->inst;
	char boot[INSTANCE_NAME_MAX], disk[256], log_path[4200];
	struct vm_spec spec;
	bool scratch = false;

	memset(&spec, 0, sizeof spec);
	/* The owner's files may have changed since session.create checked them. */
	if (check_owner_paths(s->owner, s->set.disk, s->set.image, s->set.kernel, s->set.initrd,
			      &sj->err) < 0)
		goto fail;
	if (storage_scratch_enabled(core->storage)) {
		scratch = storage_scratch_create(core->storage, inst, &sj->warn) == 0;
		if (!scratch)
			log_warn("session %s: starting without a scratch disk: %s",
				 s->key, sj->warn.msg);
	}
	if (s->set.image != NULL) {
		if (storage_boot_create(core->storage, inst, s->set.image, &sj->err) < 0)
			goto fail;
		storage_boot_name(inst, boot, sizeof boot);
		spec.boot_vol = boot;
	}
	if (s->set.storage == STORAGE_PERSISTENT) {
		if (s->set.disk != NULL && s->set.disk[0] == '/') {
			spec.disk_path = s->set.disk;
		} else {
			if (s->set.disk != NULL)
				snprintf(disk, sizeof disk, "%s", s->set.disk);
			else
				storage_disk_name(core->storage, s->id, disk, sizeof disk);
			spec.disk_vol = disk;
		}
	}
	snprintf(log_path, sizeof log_path, "%s/%s.log", core->console_dir, inst->id);
	spec.test_driver = strcmp(core->drv->ops->kind(core->drv), "TEST") == 0;
	spec.virt_type = virt_type_for(s);
	spec.name = inst->domain;
	spec.uuid = inst->id;
	spec.session_name = s->name;
	spec.session_id = s->id;
	spec.owner = s->owner;
	spec.memory_mib = s->set.memory_mib;
	spec.vcpus = s->set.vcpus;
	spec.kernel = s->set.kernel;
	spec.initrd = s->set.initrd;
	spec.cmdline = s->set.cmdline;
	spec.pool = storage_pool(core->storage);
	spec.scratch_vol = scratch ? inst->scratch : NULL;
	spec.console_log = log_path;
	char *xml = domxml_domain(&spec, &sj->err);
	if (xml == NULL)
		goto fail;
	sj->rc = core->drv->ops->domain_start(core->drv, xml, &sj->err);
	free(xml);
	return;
fail:
	sj->rc = -1;
}

static void to_running(struct session *s)
{
	/* An exit claimed since the start job returned: its mail is queued
	 * and tears the instance down; granting now would hand out leases on
	 * a dead VM. */
	if (instance_disposition(s->inst) != DISP_ACTIVE)
		return;
	json_t *extra = s->warning ? json_pack("{s:s}", "warning", s->warning) : NULL;

	s->reached_running = true;
	s->running_since = mono_now();
	session_set_state(s, SESSION_RUNNING, RPC_EV_RUNNING, extra);
	/* Enabled before the grant, so a caller answered by it (session.start
	 * releases at once) already finds the grace timer running. */
	idle_set_grace(&s->idle, settings_effective_grace(&s->set));
	idle_enable(&s->idle, settings_idle_stop(&s->set));
	lease_point_grant(&s->lp);
	idle_recheck(&s->idle);
	session_persist(s, NULL, NULL);
}

static void expected_stop_claimed(struct session *s, const char *reason);

/* Why the start of the current instance failed: told to every parked
 * caller when its teardown is done (after_expected_stop). */
static void set_start_err(struct session *s, const char *why)
{
	if (s->start_err == NULL) {
		s->start_err = calloc(1, sizeof *s->start_err);
		if (s->start_err == NULL)
			fatal("out of memory");
	}
	cause_set(s->start_err, RPC_ERR_START_FAILED, "session '%s': VM start failed: %s",
		  s->name, why);
	log_warn("session %s: %s", s->key, s->start_err->msg);
}

static void start_done(struct job *j)
{
	struct start_job *sj = (struct start_job *)j;
	struct session *s = sj->s;
	struct instance *inst = sj->inst;

	s->job_busy = false;
	if (sj->warn.msg[0] != '\0')
		text_setf(&s->warning, "no scratch disk: %s", sj->warn.msg);
	if (instance_disposition(inst) != DISP_ACTIVE) {
		/* Claimed while booting: the claimer's teardown was deferred to
		 * now (an exit whose mail is still queued submits it itself). */
		if (s->teardown != TEARDOWN_NONE)
			submit_teardown(s);
	} else if (sj->rc < 0) {
		s->core->stats.start_failures++;
		set_start_err(s, sj->err.msg);
		if (instance_claim_expected_stop(inst))
			expected_stop_claimed(s, "start-failed");
		else if (s->teardown != TEARDOWN_NONE)
			submit_teardown(s);
	} else if (s->set.ready_pattern != NULL) {
		readiness_begin(s);
	} else {
		to_running(s);
	}
	instance_unref(inst, "start_job");
	session_unref(s);
	free(sj);
}

static void start_instance(struct session *s)
{
	struct core *core = s->core;
	struct instance *inst = instance_new(s->prefix, NULL);
	struct start_job *sj = calloc(1, sizeof *sj);

	if (sj == NULL)
		fatal("out of memory");
	inst->owner = s;
	s->inst = inst;
	s->reached_running = false;
	s->inst_gone = false;
	s->awaiting_gone = false;
	s->teardown = TEARDOWN_NONE;
	text_set(&s->warning, NULL);
	text_set(&s->exit_detail, NULL);
	free(s->start_err);
	s->start_err = NULL;
	instance_index_add(inst);
	session_console_rotate(s, inst->id);
	s->start_count++;
	core->stats.instances_started++;
	session_set_state(s, SESSION_STARTING, RPC_EV_STARTING, NULL);
	session_persist(s, NULL, NULL);
	sj->job.run = start_run;
	sj->job.done = start_done;
	sj->job.what = "start";
	sj->s = s;
	sj->inst = instance_ref(inst, "start_job");
	session_ref(s);
	s->job_busy = true;
	workers_submit(core->workers, &sj->job);
}

/* Readiness (readiness.c) calls back here. */
void session_ready(struct session *s)
{
	if (s->state == SESSION_STARTING && s->inst != NULL &&
	    instance_disposition(s->inst) == DISP_ACTIVE)
		to_running(s);
}

void session_not_ready(struct session *s, const char *why)
{
	if (s->state != SESSION_STARTING || s->inst == NULL)
		return;
	s->core->stats.start_failures++;
	set_start_err(s, why);
	if (instance_claim_expected_stop(s->inst))
		expected_stop_claimed(s, "start-failed");
}

/* ---- expected stop ------------------------------------------------- */

static void expected_stop_claimed(struct session *s, const char *reason)
{
	lease_gate_close(&s->lp.gate);
	idle_enable(&s->idle, false);
	readiness_cancel(s);
	snprintf(s->stop_reason, sizeof s->stop_reason, "%s", reason);
	s->teardown = TEARDOWN_EXPECTED;
	s->core->stats.expected_stops++;
	session_set_state(s, SESSION_STOPPING, RPC_EV_STOPPING,
			  json_pack("{s:s}", "reason", reason));
	if (!s->job_busy)
		submit_teardown(s);
}

/* Returns false when the spontaneous-exit path already owns the instance
 * (its teardown completes whatever waits on this stop). */
static bool begin_expected_stop(struct session *s, const char *reason)
{
	lease_gate_close(&s->lp.gate);
	if (s->inst == NULL || !instance_claim_expected_stop(s->inst))
		return false;
	expected_stop_claimed(s, reason);
	return true;
}

/* The idle tracker closed the gate on an unchanged idle snapshot. */
static void idle_expired(struct idle *id, void *arg)
{
	struct session *s = arg;

	(void)id;
	log_info("session %s: idle for %gs, stopping the VM", s->key, s->set.grace);
	begin_expected_stop(s, "idle");
}

static void idle_changed(struct idle *id, double deadline, void *arg)
{
	struct session *s = arg;
	char when[40];

	(void)id;
	if (s->state != SESSION_RUNNING)
		return;
	if (deadline > 0) {
		time_rfc3339(mono_to_wall(deadline), when, sizeof when);
		session_notify(s, RPC_EV_IDLE, json_pack("{s:s}", "deadline", when));
	} else {
		session_notify(s, RPC_EV_BUSY, NULL);
	}
}

const struct idle_ops session_idle_ops = { idle_expired, idle_changed };

/* ---- teardown jobs -------------------------------------------------- */

struct teardown_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	bool shutdown_phase;
	bool gone;
	int rc;
	struct cause err;
};

/* Worker, expected path: ask the guest to shut down; see if it is gone. */
static void shutdown_run(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct driver *drv = tj->s->core->drv;

	tj->rc = drv->ops->domain_shutdown(drv, tj->inst->id, &tj->err);
	if (tj->rc == 1)
		tj->gone = true;
	else if (tj->rc == 0)
		tj->gone = drv->ops->domain_state(drv, tj->inst->id, &tj->err) == VM_GONE;
}

/* Worker, both paths: the domain must be gone, then its volumes. */
static void cleanup_run(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct session *s = tj->s;
	struct driver *drv = s->core->drv;
	struct cause c;

	for (int attempt = 0; attempt < 3; attempt++) {
		tj->rc = drv->ops->domain_destroy(drv, tj->inst->id, &tj->err);
		if (tj->rc == 0)
			break;
		log_warn("session %s: destroy %s: %s", s->key, tj->inst->domain, tj->err.msg);
	}
	if (storage_scratch_delete(s->core->storage, tj->inst, &c) < 0)
		log_warn("session %s: scratch %s: %s", s->key, tj->inst->scratch, c.msg);
	if (s->set.image != NULL && storage_boot_delete(s->core->storage, tj->inst, &c) < 0)
		log_warn("session %s: boot overlay: %s", s->key, c.msg);
}

static void submit_phase(struct session *s, bool shutdown_phase);

static void stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (!s->awaiting_gone)
		return;
	s->awaiting_gone = false;
	log_info("session %s: guest did not shut down within %gs, destroying",
		 s->key, s->set.stop_timeout);
	submit_phase(s, false);
}

static void teardown_done(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct session *s = tj->s;

	s->job_busy = false;
	if (!tj->shutdown_phase) {
		if (tj->rc < 0)
			log_err("session %s: domain %s may still exist: %s", s->key,
				tj->inst->domain, tj->err.msg);
		finish_teardown(s);
	} else if (tj->gone || s->inst_gone || tj->rc < 0) {
		if (tj->rc < 0)
			log_warn("session %s: shutdown: %s", s->key, tj->err.msg);
		submit_phase(s, false);
	} else {
		/* The STOPPED event (which loses the CAS) or the timer ends it. */
		s->awaiting_gone = true;
		session_timer(s, &s->stop_timer, stop_timeout_cb, s->set.stop_timeout);
	}
	instance_unref(tj->inst, "teardown_job");
	session_unref(s);
	free(tj);
}

static void submit_phase(struct session *s, bool shutdown_phase)
{
	struct teardown_job *tj = calloc(1, sizeof *tj);

	if (tj == NULL)
		fatal("out of memory");
	tj->s = s;
	tj->inst = instance_ref(s->inst, "teardown_job");
	tj->shutdown_phase = shutdown_phase;
	tj->job.run = shutdown_phase ? shutdown_run : cleanup_run;
	tj->job.done = teardown_done;
	tj->job.what = shutdown_phase ? "shutdown" : "cleanup";
	session_ref(s);
	s->job_busy = true;
	workers_submit(s->core->workers, &tj->job);
}

static void submit_teardown(struct session *s)
{
	bool graceful = s->teardown == TEARDOWN_EXPECTED && s->set.stop_timeout > 0 &&
			strcmp(s->stop_reason, "start-failed") != 0;

	submit_phase(s, graceful);
}

/* ---- after the teardown -------------------------------------------- */

/* 1 s after the first crash in the window, then 2 s, 4 s ... 60 s. */
double session_crash_backoff(int crashes)
{
	return fmin(CRASH_BACKOFF_MAX_S, pow(2.0, crashes > 0 ? crashes - 1 : 0));
}

/* Records a crash; true when that makes more than CRASH_LOOP_MAX in the
 * window (a crash loop). */
static bool record_crash(struct session *s)
{
	double now = wall_now();
	int k = 0;

	for (int i = 0; i < s->ncrash; i++)
		if (now - s->crash_times[i] < CRASH_WINDOW_S)
			s->crash_times[k++] = s->crash_times[i];
	s->ncrash = k;
	if (s->ncrash == CRASH_LOOP_MAX + 1) {
		memmove(s->crash_times, s->crash_times + 1,
			sizeof s->crash_times[0] * CRASH_LOOP_MAX);
		s->ncrash--;
	}
	s->crash_times[s->ncrash++] = now;
	return s->ncrash > CRASH_LOOP_MAX;
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	s->restart_pending = false;
	if (s->state == SESSION_STOPPED && !s->deleting && has_holds(s)) {
		log_info("session %s: restarting after a crash", s->key);
		start_instance(s);
	}
}

/* Terminal until reset: parked callers and token holders are told why. */
static void fail_session(struct session *s, const char *reason)
{
	struct cause c;

	text_set(&s->failed_reason, reason);
	session_set_state(s, SESSION_FAILED, RPC_EV_CRASHED,
			  json_pack("{s:s}", "detail", text_str(s->last_stop_detail)));
	session_notify(s, RPC_EV_FAILED, json_pack("{s:s}", "reason", reason));
	cause_set(&c, RPC_ERR_SESSION_FAILED, "session '%s' failed: %s", s->name, reason);
	lease_point_fail(&s->lp, &c);
	session_revoke_tokens(s, c.msg);
}

static void after_crash(struct session *s)
{
	char why[256];

	snprintf(s->last_stop_reason, sizeof s->last_stop_reason, "crashed");
	text_set(&s->last_stop_detail, s->exit_detail);
	if (s->set.crash_policy == CRASH_TERMINATE) {
		snprintf(why, sizeof why, "VM crashed (%s)", text_str(s->exit_detail));
		fail_session(s, why);
		return;
	}
	if (record_crash(s)) {
		snprintf(why, sizeof why, "crash loop: %d crashes within %.0f minutes, last: %s",
			 s->ncrash, CRASH_WINDOW_S / 60, text_str(s->exit_detail));
		snprintf(s->last_stop_reason, sizeof s->last_stop_reason, "crash loop");
		fail_session(s, why);
		return;
	}
	session_set_state(s, SESSION_STOPPED, RPC_EV_CRASHED,
			  json_pack("{s:s}", "detail", text_str(s->exit_detail)));
	if (has_holds(s) && !s->deleting) {
		double delay = session_crash_backoff(s->ncrash);
		log_info("session %s: restart policy: new instance in %gs", s->key, delay);
		s->restart_pending = true;
		session_timer(s, &s->aux_timer, restart_cb, delay);
	}
}

static void after_expected_stop(struct session *s)
{
	snprintf(s->last_stop_reason, sizeof s->last_stop_reason, "%s", s->stop_reason);
	bool start_failed = strcmp(s->stop_reason, "start-failed") == 0;
	const struct cause *err = s->start_err;
	struct cause generic;

	if (start_failed && err == NULL) {  /* set_start_err() always ran; just in case */
		cause_set(&generic, RPC_ERR_START_FAILED, "session '%s': VM start failed", s->name);
		err = &generic;
	}
	text_set(&s->last_stop_detail, start_failed ? err->msg : NULL);
	session_set_state(s, SESSION_STOPPED, RPC_EV_STOPPED,
			  json_pack("{s:s}", "reason", s->stop_reason));
	if (start_failed)
		lease_point_fail(&s->lp, err);
	/* Told; last_stop_detail keeps the message. */
	free(s->start_err);
	s->start_err = NULL;
}

static void finish_teardown(struct session *s)
{
	struct instance *inst = s->inst;
	enum teardown_kind kind = s->teardown;

	timer_cancel(s->stop_timer);
	s->awaiting_gone = false;
	instance_index_remove(inst);
	if (atomic_fetch_add(&inst->teardowns, 1) != 0) {
		s->core->stats.double_teardowns++;
		log_err("session %s: instance %s torn down twice (bug)", s->key, inst->id);
	}
	s->core->stats.teardowns++;
	core_memory_idle(s->core);
	if (s->running_since > 0) {
		s->uptime_total += mono_now() - s->running_since;
		s->running_since = 0;
	}
	if (kind == TEARDOWN_EXIT)
		after_crash(s);
	else
		after_expected_stop(s);
	s->inst = NULL;
	s->teardown = TEARDOWN_NONE;
	s->reached_running = false;
	s->inst_gone = false;
	instance_unref(inst, "finish_teardown");
	session_persist(s, NULL, NULL);
	complete_waiters(s, &s->stop_waiters, NULL);
	if (s->deleting)
		finish_delete(s);
	else
		kick(s);
}

/* ---- what happens next ---------------------------------------------- */

/* Called whenever a caller parks and after every teardown. */
static void kick(struct session *s)
{
	struct cause c;

	if (s->deleting) {
		cause_set(&c, RPC_ERR_NOT_FOUND, "session '%s' is being deleted", s->name);
		lease_point_fail(&s->lp, &c);
		return;
	}
	if (s->state == SESSION_FAILED) {
		cause_set(&c, RPC_ERR_SESSION_FAILED, "session '%s' failed: %s (reset it first)",
			  s->name, text_str(s->failed_reason));
		lease_point_fail(&s->lp, &c);
		return;
	}
	if (s->state == SESSION_STOPPED && lease_point_parked(&s->lp) > 0 &&
	    !s->restart_pending && !s->core->shutting_down)
		start_instance(s);
}

static void need_vm(struct lease_point *lp)
{
	kick(lp->owner);
}

static void lease_edge(struct lease_point *lp)
{
	struct session *s = lp->owner;

	idle_poke(&s->idle);
}

/* The disposition re-check of lease_point_grant(): no lease on a VM
 * whose exit the event thread has claimed (tests/model/disposition.pml,
 * property 5). */
static bool may_grant(struct lease_point *lp)
{
	struct session *s = lp->owner;

	return s->inst != NULL && instance_disposition(s->inst) == DISP_ACTIVE;
}

const struct lease_point_ops session_lease_ops = { need_vm, lease_edge, may_grant };

/* ---- requests ------------------------------------------------------- */

/* "session 'dev' is in use: token 1f2e... (build, pid 42); 1 caller
 * waiting for the VM; use force to stop anyway" */
static void holds_conflict(struct session *s, struct cause *c, const char *advice)
{
	json_t *holds = session_holds_json(s);
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
	cause_set(c, RPC_ERR_CONFLICT, "session '%s' is in use: %s%s%zu caller(s) waiting for the VM; %s",
		  s->name, list, n ? "; " : "", lease_point_parked(&s->lp), advice);
	json_decref(holds);
}

void session_stop(struct session *s, bool force, session_done_cb done, void *arg)
{
	struct cause c;

	switch (s->state) {
	case SESSION_STOPPED:
	case SESSION_FAILED:
		done(s, NULL, arg);
		return;
	case SESSION_STOPPING:
		add_waiter(&s->stop_waiters, done, arg);
		return;
	case SESSION_STARTING:
	case SESSION_RUNNING:
		break;
	case SESSION__COUNT:
		return;
	}
	if (!force && has_holds(s)) {
		holds_conflict(s, &c, "use force to stop anyway");
		done(s, &c, arg);
		return;
	}
	add_waiter(&s->stop_waiters, done, arg);
	if (force) {
		cause_set(&c, RPC_ERR_CONFLICT, "session '%s' was stopped by request", s->name);
		lease_point_fail(&s->lp, &c);
		session_revoke_tokens(s, c.msg);
	}
	begin_expected_stop(s, "requested");
}

int session_reset(struct session *s, struct cause *c)
{
	if (s->state == SESSION_STOPPED)
		return 0;
	if (s->state != SESSION_FAILED) {
		cause_set(c, RPC_ERR_CONFLICT, "session '%s' is %s; reset applies to failed sessions",
			  s->name, session_state_name(s->state));
		return -1;
	}
	text_set(&s->failed_reason, NULL);
	s->ncrash = 0;
	session_set_state(s, SESSION_STOPPED, RPC_EV_RESET, NULL);
	return 0;
}

void session_delete(struct session *s, bool keep_storage, session_done_cb done, void *arg)
{
	struct cause c;

	if (s->deleting) {
		add_waiter(&s->delete_waiters, done, arg);
		return;
	}
	if (has_holds(s)) {
		holds_conflict(s, &c, "release them first");
		done(s, &c, arg);
		return;
	}
	s->deleting = true;
	s->keep_storage = keep_storage;
	s->restart_pending = false;
	timer_cancel(s->aux_timer);
	add_waiter(&s->delete_waiters, done, arg);
	switch (s->state) {
	case SESSION_STOPPED:
	case SESSION_FAILED:
		finish_delete(s);
		break;
	case SESSION_STARTING:
	case SESSION_RUNNING:
		begin_expected_stop(s, "deleted");
		break;
	default:
		break;                          /* stopping: finish_teardown continues */
	}
}

/* ---- delete: disks, then the state file, then the registry ---------- */

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
		dj->rc = storage_disk_delete(s->core->storage, s->id, &dj->err);
}

static void delete_removed(struct session *s, const struct cause *err, void *arg)
{
	(void)arg;
	if (err != NULL)
		log_err("session %s: %s", s->key, err->msg);
	session_console_remove(s);
	session_notify(s, RPC_EV_DELETED, NULL);
	log_info("session %s: deleted%s", s->key, s->keep_storage ? " (storage kept)" : "");
	session_unregister(s);
	complete_waiters(s, &s->delete_waiters, NULL);
	session_unref(s);                   /* the registry's reference */
}

static void delete_disk_done(struct job *j)
{
	struct delete_job *dj = (struct delete_job *)j;
	struct session *s = dj->s;

	if (dj->rc < 0)
		log_warn("session %s: persistent disk: %s", s->key, dj->err.msg);
	session_persist_remove(s, delete_removed, NULL);
	session_unref(s);
	free(dj);
}

static void finish_delete(struct session *s)
{
	struct delete_job *dj = calloc(1, sizeof *dj);
	struct cause c;

	if (dj == NULL)
		fatal("out of memory");
	cause_set(&c, RPC_ERR_NOT_FOUND, "session '%s' was deleted", s->name);
	lease_point_fail(&s->lp, &c);
	dj->s = s;
	dj->job.run = delete_disk_run;
	dj->job.done = delete_disk_done;
	dj->job.what = "delete";
	session_ref(s);
	workers_submit(s->core->workers, &dj->job);
}

/* ---- VM events ------------------------------------------------------ */

struct vm_mail {
	struct mail mail;
	struct instance *inst;
	int detail;
	bool won;
};

void session_vm_event(void *arg, const char *uuid, const char *name, int event, int detail)
{
	struct core *core = arg;
	struct instance *inst;
	struct vm_mail *m;

	(void)name;
	if (event != VM_EVENT_STOPPED)
		return;
	inst = instance_index_get(uuid, "vm_event");
	if (inst == NULL)
		return;                         /* not ours, or already torn down */
	m = calloc(1, sizeof *m);
	if (m == NULL)
		fatal("out of memory");
	m->inst = inst;
	m->detail = detail;
	m->won = instance_claim_spontaneous_exit(inst);
	if (m->won) {
		/* No lease may enter a VM that is gone.  The session lives at
		 * least until this mail is handled: its teardown needs it. */
		struct session *s = inst->owner;
		lease_gate_close(&s->lp.gate);
	}
	mailbox_post(core->vm_events, &m->mail);
}

static void on_exit_claimed(struct session *s, int detail)
{
	s->core->stats.spontaneous_exits++;
	text_set(&s->exit_detail, vm_stop_detail_name(detail));
	log_warn("session %s: VM %s stopped unexpectedly: %s", s->key, s->inst->domain,
		 s->exit_detail);
	idle_enable(&s->idle, false);
	readiness_cancel(s);
	s->teardown = TEARDOWN_EXIT;
	s->inst_gone = true;
	session_set_state(s, SESSION_STOPPING, RPC_EV_STOPPING,
			  json_pack("{s:s, s:s}", "reason", "crashed", "detail", text_str(s->exit_detail)));
	if (!s->job_busy)
		submit_teardown(s);
}

/* The domain of an instance being stopped is gone: end the wait. */
static void on_gone(struct session *s)
{
	s->inst_gone = true;
	if (!s->awaiting_gone)
		return;
	s->awaiting_gone = false;
	timer_cancel(s->stop_timer);
	submit_phase(s, false);
}

void session_vm_event_mail(struct mail *mail, void *arg)
{
	struct vm_mail *m = (struct vm_mail *)mail;
	struct session *s = m->inst->owner;

	(void)arg;
	if (s != NULL && s->inst == m->inst && s->core->freeing) {
		/* core_free: the pool is gone, the daemon exits.  What the event
		 * says is left as it is on the host; the next start finds the
		 * domain gone and cleans the instance up ("lost"), once. */
		log_info("%s: VM %s ended while sessiond exits; the next start cleans it up",
			 s->key, m->inst->domain);
	} else if (s != NULL && s->inst == m->inst) {
		if (m->won)
			on_exit_claimed(s, m->detail);
		else if (instance_disposition(m->inst) == DISP_STOP_REQUESTED)
			on_gone(s);
	}
	instance_unref(m->inst, "vm_event");
	free(m);
}

/* ---- load-time reconciliation -------------------------------------- */

void session_adopt(struct session *s, const char *instance_id)
{
	uuid_t u;

	if (uuid_parse(instance_id, u) < 0)
		return;
	struct instance *inst = instance_new(s->prefix, u);
	inst->owner = s;
	s->inst = inst;
	instance_index_add(inst);
	/* The initial state at load, not a transition. */
	s->state = SESSION_RUNNING;
	s->reached_running = true;
	s->running_since = mono_now();
	s->core->stats.adopted++;
	log_info("session %s: adopted running domain %s", s->key, inst->domain);
	lease_gate_open(&s->lp.gate);
	idle_set_grace(&s->idle, settings_effective_grace(&s->set));
	idle_enable(&s->idle, settings_idle_stop(&s->set));
}

struct lost_job {
	struct job job;
	struct session *s;
	struct instance *inst;
};

static void lost_run(struct job *j)
{
	struct lost_job *lj = (struct lost_job *)j;
	struct session *s = lj->s;
	struct cause c;

	s->core->drv->ops->domain_destroy(s->core->drv, lj->inst->id, &c);
	storage_scratch_delete(s->core->storage, lj->inst, &c);
	if (s->set.image != NULL)
		storage_boot_delete(s->core->storage, lj->inst, &c);
}

static void lost_done(struct job *j)
{
	struct lost_job *lj = (struct lost_job *)j;

	instance_unref(lj->inst, "lost_job");
	session_unref(lj->s);
	free(lj);
}

void session_lost(struct session *s, const char *instance_id)
{
	struct lost_job *lj;
	uuid_t u;

	if (uuid_parse(instance_id, u) < 0)
		return;
	lj = calloc(1, sizeof *lj);
	if (lj == NULL)
		fatal("out of memory");
	log_info("session %s: instance %s is gone; cleaning up after it", s->key, instance_id);
	snprintf(s->last_stop_reason, sizeof s->last_stop_reason, "lost");
	text_set(&s->last_stop_detail, NULL);
	lj->s = s;
	lj->inst = instance_new(s->prefix, u);
	atomic_store(&lj->inst->teardowns, 1);
	lj->job.run = lost_run;
	lj->job.done = lost_done;
	lj->job.what = "lost";
	session_ref(s);
	workers_submit(s->core->workers, &lj->job);
	session_persist(s, NULL, NULL);
}

/* ---- reconnect ------------------------------------------------------ */

struct reconcile_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	int state;
	struct cause err;
};

static void reconcile_run(struct job *j)
{
	struct reconcile_job *rj = (struct reconcile_job *)j;
	struct driver *drv = rj->s->core->drv;

	rj->state = drv->ops->domain_state(drv, rj->inst->id, &rj->err);
}

/* A domain that died while we could not hear its event goes through the
 * same spontaneous-exit claim the event would have made. */
static void reconcile_done(struct job *j)
{
	struct reconcile_job *rj = (struct reconcile_job *)j;
	struct session *s = rj->s;

	if (rj->state == VM_GONE && s->inst == rj->inst && !s->job_busy) {
		if (instance_claim_spontaneous_exit(rj->inst)) {
			lease_gate_close(&s->lp.gate);
			on_exit_claimed(s, VM_STOPPED_FAILED);
		} else if (instance_disposition(rj->inst) == DISP_STOP_REQUESTED) {
			on_gone(s);
		}
	}
	instance_unref(rj->inst, "reconcile_job");
	session_unref(s);
	free(rj);
}

void session_reconcile(struct session *s)
{
	struct reconcile_job *rj;

	/* A start or teardown job in flight settles the instance itself. */
	if (s->inst == NULL || s->job_busy)
		return;
	rj = calloc(1, sizeof *rj);
	if (rj == NULL)
		fatal("out of memory");
	rj->s = s;
	rj->inst = instance_ref(s->inst, "reconcile_job");
	rj->job.run = reconcile_run;
	rj->job.done = reconcile_done;
	rj->job.what = "reconcile";
	session_ref(s);
	workers_submit(s->core->workers, &rj->job);
}
