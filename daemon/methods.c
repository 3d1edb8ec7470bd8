/*
 * methods.c — the handler table, and the handlers that fit in a few
 * lines: daemon.info and daemon.reload, session.create/list/get/stop/
 * reset/delete and vm.console.  Every handler here runs after dispatch.c has checked the
 * parameters, resolved the owner and, where the method names one, the
 * session.
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"

#define CONSOLE_DEFAULT_BYTES (64 * 1024)

/* ---- daemon.info ------------------------------------------------------ */

/* Sessions the caller may see, by state: root's come from the core's
 * counts, another user's from a walk over the registry. */
static json_t *state_counts(struct request *rq, size_t *total)
{
	size_t n[SESSION__COUNT] = { 0 };
	struct list_node *pos;
	json_t *o = json_object();

	if (rpc_call_uid(rq->call) == 0) {
		memcpy(n, rq->d->core->nstate, sizeof n);
		n[SESSION_NEW] = 0;             /* being created: not visible yet */
	} else {
		list_foreach(pos, &rq->d->core->sessions) {
			struct session *s = list_entry(pos, struct session, node);
			if (session_visible(s) && s->owner == rpc_call_uid(rq->call))
				n[s->state]++;
		}
	}
	*total = 0;
	for (int st = SESSION_STOPPED; st < SESSION__COUNT; st++) {
		json_object_set_new(o, state_name(st), json_integer((json_int_t)n[st]));
		*total += n[st];
	}
	return o;
}

/* uri, driver, pool and kvm are the first host's (by name): with one
 * host, what they always were; "hosts" has every host, "connected" is
 * whether all of them are up. */
static void m_daemon_info(struct request *rq)
{
	struct daemon *d = rq->d;
	struct host *h = &d->core->hosts[0];
	const char *pool = storage_pool(h->storage);
	size_t total;
	json_t *states = state_counts(rq, &total);
	uid_t uid = rpc_call_uid(rq->call);

	rpc_call_reply(rq->call, json_pack("{s:s, s:i, s:s, s:s, s:i, s:o, s:f, s:s, s:s, s:b, s:b, s:o}",
		"version", SESSIOND_VERSION, "protocol", SESSIOND_PROTOCOL_VERSION,
		"uri", h->cfg->uri, "driver", h->drv->ops->kind(h->drv),
		"sessions", (int)total, "states", states, "uptime_s", mono_now() - d->started,
		"daemon_id", d->core->daemon_id, "pool", pool != NULL ? pool : "",
		"connected", hosts_all_up(d->core), "kvm", h->kvm_usable,
		"hosts", hosts_json(d->core, uid == 0, uid)));
}

/* ---- daemon.reload ---------------------------------------------------- */

/* Root, or the user the daemon runs as (who may send it SIGHUP anyway). */
static void m_daemon_reload(struct request *rq)
{
	uid_t uid = rpc_call_uid(rq->call);
	json_t *report;
	struct cause c;

	if (uid != 0 && uid != geteuid()) {
		log_warn("rpc: uid %u pid %d denied: daemon.reload", (unsigned)uid,
			 (int)rpc_call_pid(rq->call));
		cause_set(&c, CAUSE_FORBIDDEN, "forbidden: only root may reload sessiond");
		dispatch_fail(rq, &c);
		return;
	}
	log_info("sessiond: reload asked by uid %u pid %d", (unsigned)uid,
		 (int)rpc_call_pid(rq->call));
	if (daemon_reload(rq->d, &report, &c) < 0)
		dispatch_fail(rq, &c);
	else
		rpc_call_reply(rq->call, report);
}

/* ---- session.create / list / get -------------------------------------- */

/* A session callback that answers its call with the session's summary. */
static void reply_summary(struct session *s, const struct cause *err, void *arg)
{
	struct rpc_call *call = arg;

	struct jtext t;

	if (err != NULL) {
		rpc_call_fail(call, err);
		return;
	}
	jtext_init(&t);
	view_summary_text(&t, NULL, s);
	rpc_call_reply_text(call, &t);
	jtext_free(&t);
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
	registry_create(rq->d->core, rq->owner, rq->args->name, rq->args->rest, reply_summary,
			rq->call);
}

/* A page's cursor: the seq after which it starts ("" or absent: 0). */
static int page_after(struct request *rq, uint64_t *after)
{
	const char *a = rq->args->after;
	char *end;

	*after = 0;
	if (a == NULL || a[0] == '\0')
		return 0;
	*after = strtoull(a, &end, 10);
	if (*end == '\0' && a[0] >= '0' && a[0] <= '9')
		return 0;
	rpc_call_error(rq->call, RPC_ERR_INVALID_PARAMS,
		       "invalid params: 'after' is not a cursor this daemon gave out");
	return -1;
}

static size_t page_limit(struct request *rq)
{
	return rq->args->given & RPB(RP_LIMIT) ? rq->args->limit : RPC_PAGE_DEFAULT;
}

static void cursor_text(struct jtext *t, uint64_t next)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%llu", (unsigned long long)next);
	jtext_string(t, "next", next != 0 ? buf : NULL);
}

/* Does s belong on this caller's list (visible, owner, state and host
 * filters)? */
static bool listed(struct request *rq, struct session *s, int state, struct host *host)
{
	return session_visible(s) && dispatch_may_see(rq->call, s->owner) &&
	       (!(rq->args->given & RPB(RP_OWNER_UID)) || s->owner == rq->owner) &&
	       (state < 0 || (int)s->state == state) && (host == NULL || s->host == host);
}

/* In registration order, which a session keeps for its life: one that
 * exists for a whole listing is on exactly one page. */
static void m_session_list(struct request *rq)
{
	size_t limit = page_limit(rq);
	int state = -1;
	struct host *host = NULL;
	uint64_t after, next = 0;
	struct list_node *pos;

	if (page_after(rq, &after) < 0)
		return;
	if (rq->args->state != NULL &&
	    ((state = state_from_name(rq->args->state)) < 0 || state == SESSION_NEW)) {
		rpc_call_error(rq->call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: 'state' must be a session state (stopped, starting, "
			       "running, stopping, failed, suspended)");
		return;
	}
	if (rq->args->host != NULL && (host = hosts_find(rq->d->core, rq->args->host)) == NULL) {
		rpc_call_error(rq->call, RPC_ERR_INVALID_PARAMS, "invalid params: 'host': no host '%s'",
			       rq->args->host);
		return;
	}
	struct list_node *head = &rq->d->core->sessions;
	struct session *first = core_after(rq->d->core, after);
	struct jtext t;
	size_t n = 0;
	jtext_init(&t);
	jtext_open(&t, NULL);
	jtext_open_array(&t, "sessions");
	/* From the first session past the cursor on: the list is in seq order. */
	for (pos = first ? &first->node : head; pos != head; pos = pos->next) {
		struct session *s = list_entry(pos, struct session, node);
		if (!listed(rq, s, state, host))
			continue;
		if (n++ == limit) {
			next = after;
			break;
		}
		view_row_text(&t, s);
		after = s->seq;
	}
	jtext_close_array(&t);
	cursor_text(&t, next);
	jtext_close(&t);
	rpc_call_reply_text(rq->call, &t);
	jtext_free(&t);
}

static void m_session_holds(struct request *rq)
{
	uint64_t after, next;

	if (page_after(rq, &after) < 0)
		return;
	json_t *h = holds_json(rq->s, after, page_limit(rq), &next);
	struct jtext t;
	jtext_init(&t);
	jtext_open(&t, NULL);
	jtext_string(&t, "name", rq->s->name);
	jtext_string(&t, "state", state_name(rq->s->state));
	jtext_json(&t, "holds", h);
	cursor_text(&t, next);
	jtext_close(&t);
	json_decref(h);
	rpc_call_reply_text(rq->call, &t);
	jtext_free(&t);
}

static void m_session_get(struct request *rq)
{
	rpc_call_reply(rq->call, view_session(rq->s));
}

/* ---- session.stop / reset / delete -------------------------------------- */

static void stopped(struct session *s, const struct cause *err, void *arg)
{
	reply_summary(s, err, arg);
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
		rpc_call_reply(call, NULL);
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
	[RPC_M_SESSION_HOLDS] = m_session_holds,
	[RPC_M_DAEMON_RELOAD] = m_daemon_reload,
};
