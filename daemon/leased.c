/*
 * leased.c — session.start and vm.info: calls that hold a lease on the VM
 * while they work (starting it when it is stopped).  A client that goes
 * away while it waits for the VM stops waiting: its lease goes with it.
 */
#include "daemon.h"

#include <stddef.h>
#include <stdlib.h>

#include "../common/xalloc.h"

struct lease_call {
	struct session_lease sl;
	struct rpc_call *call;
	struct job job;
	char inst_id[UUID_STR_LEN];
	json_t *info;
	struct cause err;
	int rc;
};

static void lease_call_free(struct lease_call *lc)
{
	holds_lease_release(&lc->sl);
	session_unref(lc->sl.s);
	json_decref(lc->info);
	free(lc);
}

/* The client went away while it waited for the VM: stop waiting. */
static void lease_call_lost(struct rpc_call *call, void *arg)
{
	struct lease_call *lc = arg;

	rpc_call_error(call, RPC_ERR_INTERNAL, "client gone");
	lease_call_free(lc);
}

/* A lease for the call; cb runs once the VM is up (or will not be). */
static void lease_call_begin(struct request *rq, const char *reason, session_lease_cb cb)
{
	struct lease_call *lc = XNEW(lc);

	lc->call = rq->call;
	session_ref(rq->s);
	lc->sl.s = rq->s;
	rpc_call_on_lost(rq->call, lease_call_lost, lc);
	holds_lease_acquire(rq->s, &lc->sl, reason, rpc_call_uid(rq->call), rpc_call_pid(rq->call),
			    cb, lc);
}

/* The lease failed: answer with why, and drop it.  True when it did. */
static bool lease_call_failed(struct lease_call *lc, const struct cause *err)
{
	rpc_call_on_lost(lc->call, NULL, NULL);
	if (err == NULL && lc->sl.s->inst != NULL)
		return false;
	if (err != NULL)
		rpc_call_fail(lc->call, err);
	else
		rpc_call_error(lc->call, RPC_ERR_INTERNAL, "session '%s': no VM", lc->sl.s->name);
	lease_call_free(lc);
	return true;
}

/* ---- session.start ------------------------------------------------------- */

static void start_persisted(struct session *s, const struct cause *err, void *arg)
{
	struct lease_call *lc = arg;

	(void)s;
	(void)err;      /* logged by the writer; the VM runs either way */
	rpc_call_reply(lc->call, lc->info);
	lc->info = NULL;
	lease_call_free(lc);
}

static void started(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct lease_call *lc = arg;

	if (lease_call_failed(lc, err))
		return;
	/* Held only to bring the VM up: the grace runs from here, and the
	 * reply shows the session as it was then (with its deadline) and
	 * goes out once the state file records the instance. */
	holds_lease_release(sl);
	idle_recheck(&sl->s->idle);
	lc->info = view_summary(sl->s);
	persist_barrier(sl->s, start_persisted, lc);
}

void leased_start(struct request *rq)
{
	lease_call_begin(rq, "session.start", started);
}

/* ---- vm.info --------------------------------------------------------------- */

static void info_run(struct job *j)
{
	struct lease_call *lc = (struct lease_call *)((char *)j - offsetof(struct lease_call, job));
	struct driver *drv = session_driver(lc->sl.s);

	lc->rc = drv->ops->domain_info(drv, lc->inst_id, &lc->info, &lc->err);
}

static void info_done(struct job *j)
{
	struct lease_call *lc = (struct lease_call *)((char *)j - offsetof(struct lease_call, job));

	if (lc->rc < 0) {
		rpc_call_error(lc->call, RPC_ERR_INTERNAL, "session '%s': %s", lc->sl.s->name,
			       lc->err.msg);
	} else {
		json_object_set_new(lc->info, "session", json_string(lc->sl.s->name));
		rpc_call_reply(lc->call, json_incref(lc->info));
	}
	lease_call_free(lc);
}

static void info_leased(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct lease_call *lc = arg;

	if (lease_call_failed(lc, err))
		return;
	/* The lease keeps the VM up while a worker asks libvirt. */
	str_copy(lc->inst_id, sizeof lc->inst_id, sl->s->inst->id);
	lc->job.what = "vm.info";
	lc->job.run = info_run;
	lc->job.done = info_done;
	lc->job.owner = sl->s->owner;       /* the pool takes turns by owner */
	workers_submit(sl->s->host->workers, &lc->job);   /* a slow host stalls no other */
}

void leased_vm_info(struct request *rq)
{
	lease_call_begin(rq, "vm.info", info_leased);
}
