/*
 * dispatch.c — from a checked request to its handler: who it acts for,
 * which session it names, may the caller see it.
 *
 * Authenticate at accept (the server keeps SO_PEERCRED's uid on the
 * connection), authorize every request here: a user sees and touches only
 * their own sessions; root sees all and may name another owner with
 * "owner_uid".  Another user's session is invisible: it answers "not
 * found", never "forbidden", so names cannot be probed.  Asking for
 * another owner explicitly is "forbidden" and logged.
 */
#include "daemon.h"

#include "../common/log.h"
#include "../metrics/metrics.h"

bool dispatch_may_see(struct rpc_call *call, uid_t owner)
{
	return rpc_call_uid(call) == 0 || rpc_call_uid(call) == owner;
}

void dispatch_fail(struct request *rq, const struct cause *c)
{
	rpc_call_fail(rq->call, c);
}

/* The owner a request acts for: the caller, or for root "owner_uid". */
static int resolve_owner(struct request *rq)
{
	struct rpc_call *call = rq->call;
	uid_t me = rpc_call_uid(call);

	rq->owner = me;
	if (!(rq->args->given & RPB(RP_OWNER_UID)))
		return 0;
	if (me != 0 && rq->args->owner_uid != me) {
		log_warn("rpc: uid %u pid %d denied: %s for owner_uid %u", (unsigned)me,
			 (int)rpc_call_pid(call), rpc_call_method(call),
			 (unsigned)rq->args->owner_uid);
		rpc_call_error(call, RPC_ERR_FORBIDDEN,
			       "forbidden: only root may act on another user's sessions");
		return -1;
	}
	rq->owner = rq->args->owner_uid;
	return 0;
}

static int resolve_session(struct request *rq)
{
	const char *name = rq->args->name;

	if (!registry_name_valid(name)) {
		rpc_call_error(rq->call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: 'name' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
		return -1;
	}
	rq->s = core_find(rq->d->core, rq->owner, name);
	if (rq->s == NULL || !session_visible(rq->s)) {
		rpc_call_error(rq->call, RPC_ERR_NOT_FOUND, "no session '%s'%s", name,
			       rq->owner != rpc_call_uid(rq->call) ? " for that owner_uid" : "");
		return -1;
	}
	return 0;
}

static void dispatch(struct rpc_call *call, enum rpc_method_id m, const struct rpc_args *args,
		     void *arg)
{
	struct request rq = { call, arg, args, 0, NULL };

	if (resolve_owner(&rq) < 0)
		return;
	if ((rpc_methods[m].flags & RPC_M_SESSION) && (args->given & RPB(RP_NAME)) &&
	    resolve_session(&rq) < 0)
		return;
	methods_table[m](&rq);
}

static void conn_open(struct rpc_conn *c, void *arg)
{
	metrics_inc(MX_RPC_CONNECTIONS, 0);
	tokens_conn_open(c, arg);
}

const struct rpc_server_ops dispatch_server_ops = { dispatch, conn_open, tokens_conn_close };
const struct core_hooks dispatch_core_hooks = { watch_event_hook, watch_listening,
						 tokens_revoked_hook };
