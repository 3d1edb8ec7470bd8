/*
 * teardown.c — who takes an instance down, and taking it down, exactly once.
 *
 * The instance's disposition CAS (lease.h) decides the owner.  Two paths
 * can win it:
 *
 *   expected stop   idle expiry, session.stop, session.delete, a failed
 *                   start: teardown_begin_expected() claims on the loop;
 *   spontaneous     a lifecycle STOPPED event nobody asked for: claimed on
 *   exit            the driver's event thread (reconcile.c), continued here
 *                   by teardown_exit_claimed() on the loop.
 *
 * The winner moves the session to stopping and the teardown's phases run;
 * the loser only drops its reference (a STOPPED event that loses to an
 * expected stop just tells the waiting stop that the domain is gone).  A
 * teardown never overlaps the start job of the same instance: a claim
 * while it runs waits in PHASE_CLAIMED_BOOTING (teardown_after_start).
 *
 * Phases, both paths:   [SHUTDOWN -> AWAIT_GONE, at most stop_timeout] ->
 * CLEANUP (destroy, idempotent; scratch and boot volumes; the memory image
 * of a suspended instance) -> finish: state, bookkeeping, state file,
 * waiters, then what comes next (a new instance for parked callers, a
 * restart after a crash, the end of a delete).  The bracketed part is the
 * graceful expected path's.  An idle stop with idle_action save first
 * tries SAVING (tiers.c): saved, the instance is suspended and this
 * teardown ends without a finish; failed, it goes on with SHUTDOWN.  A
 * suspended instance (no domain) goes straight to CLEANUP.
 *
 * tests/model/disposition.pml models this protocol; its inlines carry
 * these functions' names: change both.
 */
#include "session.h"

#include <event2/event.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

static void finish_teardown(struct session *s);
static void run_phase(struct session *s);

/* ---- the jobs ---------------------------------------------------------- */

struct teardown_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	bool gone;
	int rc;
	struct cause err;
	char *image;                        /* the memory image to delete, or NULL */
	bool measure;                       /* an idle stop's first phase: the RSS first */
	int rss_rc;                         /* domain_rss's answer */
	uint64_t rss;
	struct cause rss_err;
};

/* Worker: what the VM holds of the host's memory before an idle stop
 * gives it back (its QEMU process's resident set). */
static void measure_rss(struct teardown_job *tj)
{
	struct driver *drv = session_driver(tj->s);

	if (tj->measure)
		tj->rss_rc = drv->ops->domain_rss(drv, tj->inst->id, &tj->rss, &tj->rss_err);
}

/* Loop: count it, or say why not. */
static void count_returned(struct teardown_job *tj)
{
	if (!tj->measure)
		return;
	if (tj->rss_rc == 1) {
		metrics_add(MX_IDLE_RETURNED_BYTES, MIDLE_STOP, tj->rss);
		return;
	}
	metrics_inc(MX_IDLE_UNMEASURED, tj->rss_rc == 0 ? MUNM_UNSUPPORTED : MUNM_ERROR);
	log_debug("session %s: memory returned by the idle stop not counted: %s", tj->s->key,
		  tj->rss_err.msg);
}

/* Worker, graceful path: ask the guest to shut down; see if it is gone. */
static void shutdown_run(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct driver *drv = session_driver(tj->s);

	measure_rss(tj);
	tj->rc = drv->ops->domain_shutdown(drv, tj->inst->id, &tj->err);
	if (tj->rc == 1)
		tj->gone = true;
	else if (tj->rc == 0)
		tj->gone = drv->ops->domain_state(drv, tj->inst->id, &tj->err) == VM_GONE;
}

/* Worker, both paths: the domain must be gone, then its volumes.  Every
 * failure is logged: a volume left here is swept at the next start. */
static void cleanup_run(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct session *s = tj->s;
	struct driver *drv = session_driver(s);
	struct cause c;

	measure_rss(tj);
	for (int attempt = 0; attempt < 3; attempt++) {
		tj->rc = drv->ops->domain_destroy(drv, tj->inst->id, &tj->err);
		if (tj->rc == 0)
			break;
		log_warn("session %s: destroy %s: %s", s->key, tj->inst->domain, tj->err.msg);
	}
	if (storage_scratch_delete(session_storage(s), tj->inst->scratch, &c) < 0)
		log_warn("session %s: scratch %s: %s", s->key, tj->inst->scratch, c.msg);
	if (s->set.image != NULL && storage_boot_delete(session_storage(s), tj->inst->scratch, &c) < 0)
		log_warn("session %s: boot overlay: %s", s->key, c.msg);
	if (tj->image != NULL && drv->ops->image_delete(drv, tj->image, &c) < 0)
		log_warn("session %s: memory image: %s", s->key, c.msg);
}

static void stop_timeout_cb(evutil_socket_t fd, short what, void *arg);

static void teardown_done(struct job *j)
{
	struct teardown_job *tj = (struct teardown_job *)j;
	struct session *s = tj->s;

	count_returned(tj);
	if (s->phase == PHASE_CLEANUP) {
		if (tj->rc < 0)
			session_log(s, LOG_LVL_ERR, NULL, "domain %s may still exist: %s",
				    tj->inst->domain, tj->err.msg);
		finish_teardown(s);
	} else if (tj->gone || s->phase == PHASE_SHUTDOWN_GONE || tj->rc < 0) {
		if (tj->rc < 0)
			session_log(s, LOG_LVL_WARN, NULL, "shutdown: %s", tj->err.msg);
		state_phase(s, PHASE_CLEANUP);
		run_phase(s);
	} else {
		/* The STOPPED event (which loses the CAS) or the timer ends it. */
		state_phase(s, PHASE_AWAIT_GONE);
		session_timer(s, &s->stop_timer, stop_timeout_cb, s->set.stop_timeout);
	}
	instance_unref(tj->inst, "teardown_job");
	session_unref(s);
	free(tj->image);
	free(tj);
}

/* Submits the job of the current phase (SAVING, SHUTDOWN or CLEANUP). */
static void run_phase(struct session *s)
{
	if (s->phase == PHASE_SAVING) {
		tiers_save(s);
		return;
	}
	struct teardown_job *tj = XNEW(tj);
	bool shutdown = s->phase == PHASE_SHUTDOWN;

	tj->s = s;
	tj->inst = instance_ref(s->inst, "teardown_job");
	if (!shutdown)
		tj->image = tiers_image_path(s);
	tj->measure = s->measure_rss;       /* the first phase only */
	s->measure_rss = false;
	session_submit(s, &tj->job, shutdown ? shutdown_run : cleanup_run, teardown_done,
		       shutdown ? "shutdown" : "cleanup");
}

static void stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->phase != PHASE_AWAIT_GONE)
		return;
	session_log(s, LOG_LVL_INFO, s->stop_reason, "guest did not shut down within %gs, destroying",
		    s->set.stop_timeout);
	state_phase(s, PHASE_CLEANUP);
	run_phase(s);
}

/* ---- the claims ------------------------------------------------------------ */

/* The first teardown phase of a claimed instance: a save for an idle
 * stop that saves; a graceful shutdown for an expected stop (unless no
 * guest runs: the start or restore failed, the instance is suspended; or
 * there is no stop timeout); straight to cleanup for an exit. */
static enum session_phase first_phase(struct session *s)
{
	bool expected = instance_disposition(s->inst) == DISP_STOP_REQUESTED;
	bool no_guest = strcmp(s->stop_reason, "start-failed") == 0 ||
			strcmp(s->stop_reason, "restore-failed") == 0 ||
			s->state == SESSION_SUSPENDED;

	if (expected && tiers_wants_save(s))
		return PHASE_SAVING;
	if (expected && s->set.stop_timeout > 0 && !no_guest)
		return PHASE_SHUTDOWN;
	return PHASE_CLEANUP;
}

/* Whoever claimed: stopping, and the teardown begins unless the start job
 * still runs (then start.c calls teardown_after_start when it returns). */
static void claimed(struct session *s, json_t *extra)
{
	idle_enable(&s->idle, false);
	readiness_cancel(s);
	if (s->phase == PHASE_BOOTING || s->phase == PHASE_RESTORING) {
		state_set(s, SESSION_STOPPING, PHASE_CLAIMED_BOOTING, EV_STOPPING, extra);
		return;
	}
	enum session_phase ph = first_phase(s);
	if (ph == PHASE_SAVING)
		json_object_set_new(extra, "action", json_string("save"));
	state_set(s, SESSION_STOPPING, ph, EV_STOPPING, extra);
	run_phase(s);
}

void teardown_continue(struct session *s, enum session_phase ph)
{
	state_phase(s, ph);
	run_phase(s);
}

void teardown_after_start(struct session *s)
{
	if (s->phase != PHASE_CLAIMED_BOOTING)
		return;
	state_phase(s, first_phase(s));
	run_phase(s);
}

static void expected_stop_claimed(struct session *s, const char *reason)
{
	str_copy(s->stop_reason, sizeof s->stop_reason, reason);
	s->core->stats.expected_stops++;
	metrics_inc(MX_VM_STOPS, metrics_stop_reason(reason));
	s->measure_rss = strcmp(reason, "idle") == 0;
	claimed(s, json_pack("{s:s}", "reason", reason));
}

bool teardown_begin_expected(struct session *s, const char *reason)
{
	lease_gate_close(&s->lp.gate);
	if (s->inst == NULL || !instance_claim_expected_stop(s->inst))
		return false;
	expected_stop_claimed(s, reason);
	return true;
}

/* Why the start of the current instance failed: told to every parked
 * caller when its teardown is done (after_expected_stop). */
static void set_start_err(struct session *s, const char *why)
{
	if (s->start_err == NULL)
		s->start_err = XNEW(s->start_err);
	cause_set(s->start_err, CAUSE_START_FAILED, "session '%s': VM start failed: %s",
		  s->name, why);
	session_log(s, LOG_LVL_WARN, "start-failed", "%s", s->start_err->msg);
}

void teardown_start_failed(struct session *s, const char *why)
{
	set_start_err(s, why);
	/* A lost claim: the exit path owns the instance and its teardown. */
	teardown_begin_expected(s, "start-failed");
}

void teardown_exit_claimed(struct session *s, int detail)
{
	s->core->stats.spontaneous_exits++;
	metrics_inc(MX_VM_CRASHES, metrics_crash_detail(detail));
	text_set(&s->exit_detail, virt_stop_detail_name(detail));
	session_log(s, LOG_LVL_WARN, s->exit_detail, "VM %s stopped unexpectedly: %s", s->inst->domain,
		    s->exit_detail);
	claimed(s, json_pack("{s:s, s:s}", "reason", "crashed", "detail",
			     text_str(s->exit_detail)));
}

void teardown_domain_gone(struct session *s)
{
	if (s->phase == PHASE_SHUTDOWN) {
		state_phase(s, PHASE_SHUTDOWN_GONE);
	} else if (s->phase == PHASE_AWAIT_GONE) {
		session_timer_cancel(s->stop_timer);
		state_phase(s, PHASE_CLEANUP);
		run_phase(s);
	}
}

/* ---- after the teardown ------------------------------------------------------ */

double teardown_crash_backoff(int crashes)
{
	return time_backoff(crashes, CRASH_BACKOFF_FIRST_S, CRASH_BACKOFF_MAX_S);
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
	struct cause c;

	(void)fd;
	(void)what;
	if (s->phase != PHASE_RESTART_WAIT)
		return;
	bool want = s->life == LIFE_LIVE && holds_any(s) && !s->core->shutting_down;
	if (want && limits_check(s, &c) == 0) {
		session_log(s, LOG_LVL_INFO, "crashed", "restarting after a crash");
		start_instance(s);
		return;
	}
	/* Over a limit: no restart; request_next fails the parked callers. */
	if (want)
		log_info("session %s: no restart after the crash: %s", s->key, c.msg);
	state_phase(s, PHASE_IDLE);
	request_next(s);
}

/* Terminal until reset: parked callers and token holders are told why. */
static void fail_session(struct session *s, const char *reason)
{
	struct cause c;

	text_set(&s->failed_reason, reason);
	session_log(s, LOG_LVL_WARN, reason, "failed: %s", reason);
	state_set(s, SESSION_FAILED, PHASE_IDLE, EV_CRASHED,
		  json_pack("{s:s}", "detail", text_str(s->last_stop_detail)));
	state_notify(s, EV_FAILED, json_pack("{s:s}", "reason", reason));
	cause_set(&c, CAUSE_SESSION_FAILED, "session '%s' failed: %s", s->name, reason);
	lease_point_fail(&s->lp, &c);
	holds_revoke_tokens(s, c.msg);
}

static void after_crash(struct session *s)
{
	char why[256];

	str_copy(s->last_stop_reason, sizeof s->last_stop_reason, "crashed");
	text_set(&s->last_stop_detail, s->exit_detail);
	if (s->set.crash_policy == CRASH_TERMINATE) {
		snprintf(why, sizeof why, "VM crashed (%s)", text_str(s->exit_detail));
		fail_session(s, why);
		return;
	}
	if (record_crash(s)) {
		snprintf(why, sizeof why, "crash loop: %d crashes within %.0f minutes, last: %s",
			 s->ncrash, CRASH_WINDOW_S / 60, text_str(s->exit_detail));
		str_copy(s->last_stop_reason, sizeof s->last_stop_reason, "crash loop");
		fail_session(s, why);
		return;
	}
	bool restart = holds_any(s) && s->life == LIFE_LIVE;
	state_set(s, SESSION_STOPPED, restart ? PHASE_RESTART_WAIT : PHASE_IDLE, EV_CRASHED,
		  json_pack("{s:s}", "detail", text_str(s->exit_detail)));
	if (restart) {
		double delay = teardown_crash_backoff(s->ncrash);
		session_log(s, LOG_LVL_INFO, "crashed", "restart policy: new instance in %gs", delay);
		session_timer(s, &s->aux_timer, restart_cb, delay);
	}
}

static void after_expected_stop(struct session *s)
{
	bool start_failed = strcmp(s->stop_reason, "start-failed") == 0;
	const struct cause *err = s->start_err;
	struct cause generic;

	str_copy(s->last_stop_reason, sizeof s->last_stop_reason, s->stop_reason);
	if (start_failed && err == NULL) {  /* set_start_err() always ran; just in case */
		cause_set(&generic, CAUSE_START_FAILED, "session '%s': VM start failed", s->name);
		err = &generic;
	}
	text_set(&s->last_stop_detail, start_failed ? err->msg : s->stop_detail);
	json_t *extra = json_pack("{s:s}", "reason", s->stop_reason);
	if (s->last_stop_detail != NULL)
		json_object_set_new(extra, "detail", json_string(s->last_stop_detail));
	state_set(s, SESSION_STOPPED, PHASE_IDLE, EV_STOPPED, extra);
	if (start_failed)
		lease_point_fail(&s->lp, err);
	/* Told; last_stop_detail keeps the message. */
	free(s->start_err);
	s->start_err = NULL;
}

/* Counted by the instance itself, not by us: a second teardown of one
 * instance is a broken invariant the stress tests look for. */
static void count_teardown(struct session *s, struct instance *inst)
{
	if (atomic_fetch_add(&inst->teardowns, 1) != 0) {
		s->core->stats.double_teardowns++;
		log_err("session %s: instance %s torn down twice (bug)", s->key, inst->id);
	}
	s->core->stats.teardowns++;
}

static void finish_teardown(struct session *s)
{
	struct instance *inst = s->inst;

	session_timer_cancel(s->stop_timer);
	s->measure_rss = false;
	instance_index_remove(inst);
	count_teardown(s, inst);
	core_memory_idle(s->core);
	if (s->running_since > 0) {
		s->uptime_total += mono_now() - s->running_since;
		s->running_since = 0;
	}
	if (instance_disposition(inst) == DISP_EXIT_CLAIMED)
		after_crash(s);
	else
		after_expected_stop(s);
	s->inst = NULL;
	instance_unref(inst, "finish_teardown");
	tiers_forget(s);                    /* its image went with the cleanup */
	text_set(&s->stop_detail, NULL);
	hosts_release(s);
	persist_write(s, NULL, NULL);
	session_waiters_done(s, &s->stop_waiters, NULL);
	hosts_wait_reask(s);
	request_next(s);
}
