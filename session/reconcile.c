/*
 * reconcile.c — what libvirt says about our instances, and what we make of
 * it: lifecycle events from the driver's event thread, adoption and lost
 * instances at load, and a check of every instance after a reconnect.
 *
 * A STOPPED event nobody asked for claims the instance's spontaneous exit
 * on the event thread (one CAS, lease.h) and closes the gate there, so no
 * lease enters a VM that is gone; the loop then tears down
 * (teardown_exit_claimed).  A STOPPED event that loses the CAS to an
 * expected stop only tells that stop the domain is gone.  When a host
 * comes back, the listing of its domains (load.c) finds what the events
 * missed and makes the same claims (reconcile_listed).
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
	if (detail == VM_STOPPED_SAVED && instance_own_save_event(inst)) {
		/* Our own save (tiers.c): its owner goes on; delivered late, it
		 * must not claim the instance a restore made active again. */
		instance_unref(inst, "vm_event");
		return;
	}
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
	hosts_commit(s, s->host);
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
	struct host *host;                  /* where the instance was */
	struct instance *inst;
};

/* Worker: whatever is left of the instance goes, and what cannot go is
 * said (the sweep at the host's next connection tries again). */
static void lost_run(struct job *j)
{
	struct lost_job *lj = (struct lost_job *)j;
	struct session *s = lj->s;
	struct driver *drv = lj->host->drv;
	struct cause c;

	if (drv->ops->domain_destroy(drv, lj->inst->id, &c) < 0)
		log_warn("session %s: destroy %s: %s", s->key, lj->inst->domain, c.msg);
	if (storage_scratch_delete(lj->host->storage, lj->inst->scratch, &c) < 0)
		log_warn("session %s: scratch %s: %s", s->key, lj->inst->scratch, c.msg);
	if (s->set.image != NULL && storage_boot_delete(lj->host->storage, lj->inst->scratch, &c) < 0)
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
	lj->host = s->host;
	lj->inst = inst;
	atomic_store(&inst->teardowns, 1);
	session_submit(s, &lj->job, lost_run, lost_done, "lost");
	hosts_release(s);                   /* an unpinned session leaves the host */
	persist_write(s, NULL, NULL);
	hosts_wait_reask(s);
}

/* ---- when a host is back ---------------------------------------------------- */

/* A domain that died while we could not hear its event goes through the
 * same spontaneous-exit claim the event would have made.  A start or
 * teardown job in flight settles the instance itself. */
void reconcile_listed(struct session *s, bool present)
{
	/* A suspended session has no domain to list: its restore finds out. */
	if (present || s->inst == NULL || state_job_busy(s) || s->state == SESSION_SUSPENDED)
		return;
	if (instance_claim_spontaneous_exit(s->inst)) {
		lease_gate_close(&s->lp.gate);
		teardown_exit_claimed(s, VM_STOPPED_FAILED);
	} else if (instance_disposition(s->inst) == DISP_STOP_REQUESTED) {
		teardown_domain_gone(s);
	}
}
