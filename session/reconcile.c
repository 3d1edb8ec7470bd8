/*
 * reconcile.c — what libvirt says about our instances, and what we make of
 * it: lifecycle events from the driver's event thread, adoption and lost
 * instances at load, and a check of every instance after a reconnect.
 *
 * A STOPPED event nobody asked for claims the instance's spontaneous exit
 * on the event thread (one CAS, lease.h) and closes the gate there, so no
 * lease enters a VM that is gone; the loop then tears down
 * (teardown_exit_claimed).  A STOPPED event that loses the CAS to an
 * expected stop only tells that stop the domain is gone.  A reconnect
 * finds what the events missed and makes the same claims.
 */
#include "session.h"

#include <stdlib.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

/* ---- lifecycle events --------------------------------------------------- */

struct vm_mail {
	struct mail mail;
	struct instance *inst;
	int detail;
	bool won;
};

/* Event thread. */
void reconcile_vm_event(void *arg, const char *uuid, const char *name, int event, int detail)
{
	struct core *core = arg;
	struct instance *inst;

	(void)name;
	if (event != VM_EVENT_STOPPED)
		return;
	inst = instance_index_get(uuid, "vm_event");
	if (inst == NULL)
		return;                         /* not ours, or already torn down */
	struct vm_mail *m = XNEW(m);
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

void reconcile_vm_mail(struct mail *mail, void *arg)
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
			teardown_exit_claimed(s, m->detail);
		else if (instance_disposition(m->inst) == DISP_STOP_REQUESTED)
			teardown_domain_gone(s);
	}
	instance_unref(m->inst, "vm_event");
	free(m);
}

/* ---- at load ------------------------------------------------------------- */

/* A recorded instance id as an instance of s (indexed for events). */
static struct instance *instance_of(struct session *s, const char *instance_id)
{
	uuid_t u;

	if (uuid_parse(instance_id, u) < 0)
		return NULL;
	struct instance *inst = instance_new(s->prefix, u);
	inst->owner = s;
	return inst;
}

void reconcile_adopt(struct session *s, const char *instance_id)
{
	struct instance *inst = instance_of(s, instance_id);

	if (inst == NULL)
		return;
	s->inst = inst;
	instance_index_add(inst);
	s->running_since = mono_now();
	s->core->stats.adopted++;
	session_log(s, LOG_LVL_INFO, "adopted", "adopted running domain %s", inst->domain);
	state_set(s, SESSION_RUNNING, PHASE_IDLE, EV_RUNNING, json_pack("{s:b}", "adopted", 1));
	lease_gate_open(&s->lp.gate);
	idle_set_grace(&s->idle, settings_effective_grace(&s->set));
	idle_enable(&s->idle, settings_idle_stop(&s->set));
}

struct lost_job {
	struct job job;
	struct session *s;
	struct instance *inst;
};

/* Worker: whatever is left of the instance goes, and what cannot go is
 * said (the sweep at the next start tries again). */
static void lost_run(struct job *j)
{
	struct lost_job *lj = (struct lost_job *)j;
	struct session *s = lj->s;
	struct cause c;

	if (s->core->drv->ops->domain_destroy(s->core->drv, lj->inst->id, &c) < 0)
		log_warn("session %s: destroy %s: %s", s->key, lj->inst->domain, c.msg);
	if (storage_scratch_delete(s->core->storage, lj->inst->scratch, &c) < 0)
		log_warn("session %s: scratch %s: %s", s->key, lj->inst->scratch, c.msg);
	if (s->set.image != NULL && storage_boot_delete(s->core->storage, lj->inst->scratch, &c) < 0)
		log_warn("session %s: boot overlay: %s", s->key, c.msg);
}

static void lost_done(struct job *j)
{
	struct lost_job *lj = (struct lost_job *)j;

	instance_unref(lj->inst, "lost_job");
	session_unref(lj->s);
	free(lj);
}

void reconcile_lost(struct session *s, const char *instance_id)
{
	struct instance *inst = instance_of(s, instance_id);

	if (inst == NULL)
		return;
	session_log(s, LOG_LVL_INFO, "lost", "instance %s is gone; cleaning up after it",
		    instance_id);
	str_copy(s->last_stop_reason, sizeof s->last_stop_reason, "lost");
	text_set(&s->last_stop_detail, NULL);
	struct lost_job *lj = XNEW(lj);
	lj->s = s;
	lj->inst = inst;
	atomic_store(&inst->teardowns, 1);
	session_submit(s, &lj->job, lost_run, lost_done, "lost");
	persist_write(s, NULL, NULL);
}

/* ---- after a reconnect ------------------------------------------------------ */

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

	if (rj->state == VM_GONE && s->inst == rj->inst && !state_job_busy(s)) {
		if (instance_claim_spontaneous_exit(rj->inst)) {
			lease_gate_close(&s->lp.gate);
			teardown_exit_claimed(s, VM_STOPPED_FAILED);
		} else if (instance_disposition(rj->inst) == DISP_STOP_REQUESTED) {
			teardown_domain_gone(s);
		}
	}
	instance_unref(rj->inst, "reconcile_job");
	session_unref(s);
	free(rj);
}

void reconcile_session(struct session *s)
{
	/* A start or teardown job in flight settles the instance itself. */
	if (s->inst == NULL || state_job_busy(s))
		return;
	struct reconcile_job *rj = XNEW(rj);
	rj->s = s;
	rj->inst = instance_ref(s->inst, "reconcile_job");
	session_submit(s, &rj->job, reconcile_run, reconcile_done, "reconcile");
}
