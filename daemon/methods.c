/*
 * methods.c — the handler table, and the handlers that fit in a few
 * lines: daemon.info, session.create/list/get/stop/reset/delete and
 * vm.console.  Every handler here runs after dispatch.c has checked the
 * parameters, resolved the owner and, where the method names one, the
 * session.
 */
#include "daemon.h"

#include "../common/log.h"
#include "../common/timeutil.h"

#define CONSOLE_DEFAULT_BYTES (64 * 1024)

/* ---- daemon.info ------------------------------------------------------ */

static void m_daemon_info(struct request *rq)
{
	struct daemon *d = rq->d;
	struct list_node *pos, *tmp;
	size_t visible = 0;

	list_foreach_safe(pos, tmp, &d->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (session_visible(s) && dispatch_may_see(rq->call, s->owner))
			visible++;
	}
	rpc_call_reply(rq->call, json_pack("{s:s, s:i, s:s, s:s, s:i, s:f, s:s, s:b, s:b}",
		"version", SESSIOND_VERSION, "protocol", SESSIOND_PROTOCOL_VERSION,
		"uri", d->drv->ops->uri(d->drv), "driver", d->drv->ops->kind(d->drv),
		"sessions", (int)visible, "uptime_s", mono_now() - d->started,
		"daemon_id", d->core->daemon_id, "connected", d->core->connected,
		"kvm", d->core->kvm_usable));
}

/* ---- session.create / list / get -------------------------------------- */

/* A session callback that answers its call with the session object. */
static void reply_session(struct session *s, const struct cause *err, void *arg)
{
	struct rpc_call *call = arg;

	if (err != NULL)
		rpc_call_fail(call, err);
	else
		rpc_call_reply(call, view_session(s));
}

static void m_session_create(struct request *rq)
{
	struct cause c;

	if (hostpaths_check_params(rq->owner, rq->args->rest, &c) < 0) {
		log_warn("rpc: uid %u pid %d denied: session.create %s: %s",
			 (unsigned)rpc_call_uid(rq->call), (int)rpc_call_pid(rq->call),
			 rq->args->name, c.msg);
		dispatch_fail(rq, &c);
		return;
	}
	registry_create(rq->d->core, rq->owner, rq->args->name, rq->args->rest, reply_session,
			rq->call);
}

static void m_session_list(struct request *rq)
{
	struct list_node *pos, *tmp;
	bool filter = rq->args->given & RPB(RP_OWNER_UID);
	json_t *a = json_array();

	list_foreach_safe(pos, tmp, &rq->d->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (!session_visible(s) || !dispatch_may_see(rq->call, s->owner) ||
		    (filter && s->owner != rq->owner))
			continue;
		json_array_append_new(a, view_session(s));
	}
	rpc_call_reply(rq->call, json_pack("{s:o}", "sessions", a));
}

static void m_session_get(struct request *rq)
{
	rpc_call_reply(rq->call, view_session(rq->s));
}

/* ---- session.stop / reset / delete -------------------------------------- */

static void stopped(struct session *s, const struct cause *err, void *arg)
{
	reply_session(s, err, arg);
	session_unref(s);
}

static void m_session_stop(struct request *rq)
{
	session_ref(rq->s);
	request_stop(rq->s, rq->args->force, stopped, rq->call);
}

static void m_session_reset(struct request *rq)
{
	struct cause c;

	if (request_reset(rq->s, &c) < 0) {
		dispatch_fail(rq, &c);
		return;
	}
	session_ref(rq->s);
	persist_write(rq->s, stopped, rq->call);
}

static void deleted(struct session *s, const struct cause *err, void *arg)
{
	struct rpc_call *call = arg;

	(void)s;
	if (err != NULL)
		rpc_call_fail(call, err);
	else
		rpc_call_reply(call, json_object());
}

static void m_session_delete(struct request *rq)
{
	request_delete(rq->s, rq->args->keep_storage, deleted, rq->call);
}

/* ---- vm.console: the serial console log; never starts a VM -------------- */

static void m_vm_console(struct request *rq)
{
	double max = rq->args->given & RPB(RP_MAX_BYTES) ? rq->args->max_bytes
							  : CONSOLE_DEFAULT_BYTES;
	struct cause c;
	json_t *out;

	if (console_read(rq->s, (size_t)max, &out, &c) < 0)
		dispatch_fail(rq, &c);
	else
		rpc_call_reply(rq->call, out);
}

/* ---- the table ---------------------------------------------------------- */

const method_fn methods_table[RPC_M__COUNT] = {
	[RPC_M_DAEMON_INFO] = m_daemon_info,
	[RPC_M_SESSION_CREATE] = m_session_create,
	[RPC_M_SESSION_LIST] = m_session_list,
	[RPC_M_SESSION_GET] = m_session_get,
	[RPC_M_SESSION_START] = leased_start,
	[RPC_M_SESSION_STOP] = m_session_stop,
	[RPC_M_SESSION_RESET] = m_session_reset,
	[RPC_M_SESSION_DELETE] = m_session_delete,
	[RPC_M_SESSION_WATCH] = watch_start,
	[RPC_M_TOKEN_ACQUIRE] = tokens_acquire,
	[RPC_M_TOKEN_RENEW] = tokens_renew,
	[RPC_M_TOKEN_RELEASE] = tokens_release,
	[RPC_M_VM_INFO] = leased_vm_info,
	[RPC_M_VM_CONSOLE] = m_vm_console,
};
