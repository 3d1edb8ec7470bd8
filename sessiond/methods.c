/*
 * methods.c — the RPC method table and the session.*, daemon.* and vm.*
 * handlers.  Every handler authorizes by the caller's uid (SO_PEERCRED,
 * taken at accept): a user sees and touches only their own sessions,
 * root sees all and may name another owner with "owner_uid".  Another
 * user's session is invisible: it answers "not found", never "forbidden",
 * so names cannot be probed.  Asking for another owner explicitly is
 * "forbidden" and logged.
 */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../rpc/jsonrpc.h"
#include "../rpc/sessiond-protocol.h"
#include "storage.h"

/* ---- parameters ----------------------------------------------------- */

bool param_only(struct rpc_call *call, const char *const *allowed)
{
	const char *bad = rpc_params_unknown(rpc_call_params(call), allowed);

	if (bad == NULL)
		return true;
	rpc_call_error(call, RPC_ERR_INVALID_PARAMS, "invalid params: unknown parameter '%s' for %s",
		       bad, rpc_call_method(call));
	return false;
}

const char *param_string(struct rpc_call *call, const char *key, bool required,
			 size_t max, bool *failed)
{
	json_t *v = json_object_get(rpc_call_params(call), key);

	*failed = false;
	if (v == NULL && !required)
		return NULL;
	if (v == NULL) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS, "invalid params: '%s' is required", key);
	} else if (!json_is_string(v)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS, "invalid params: '%s' must be a string", key);
	} else if (json_string_length(v) > max ||
		   strlen(json_string_value(v)) != json_string_length(v)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: '%s' must be at most %zu bytes, without NUL", key, max);
	} else {
		return json_string_value(v);
	}
	*failed = true;
	return NULL;
}

int param_bool(struct rpc_call *call, const char *key, bool *out)
{
	json_t *v = json_object_get(rpc_call_params(call), key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS, "invalid params: '%s' must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int param_number(struct rpc_call *call, const char *key, double lo, double hi,
		 double *out, bool *present)
{
	json_t *v = json_object_get(rpc_call_params(call), key);

	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: '%s' must be a number between %g and %g", key, lo, hi);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

bool caller_may_see(struct rpc_call *call, uid_t owner)
{
	return rpc_call_uid(call) == 0 || rpc_call_uid(call) == owner;
}

/* The owner a request acts for: the caller, or for root "owner_uid". */
int request_owner(struct rpc_call *call, uid_t *owner)
{
	json_t *v = json_object_get(rpc_call_params(call), "owner_uid");
	uid_t me = rpc_call_uid(call);

	*owner = me;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 0x7fffffff) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS, "invalid params: 'owner_uid' must be a uid");
		return -1;
	}
	uid_t want = (uid_t)json_integer_value(v);
	if (me != 0 && want != me) {
		log_warn("rpc: uid %u pid %d denied: %s for owner_uid %u", (unsigned)me,
			 (int)rpc_call_pid(call), rpc_call_method(call), (unsigned)want);
		rpc_call_error(call, RPC_ERR_FORBIDDEN,
			       "forbidden: only root may act on another user's sessions");
		return -1;
	}
	*owner = want;
	return 0;
}

struct session *resolve_session(struct daemon *d, struct rpc_call *call)
{
	bool failed;
	uid_t owner;
	const char *name = param_string(call, "name", true, 256, &failed);

	if (failed || request_owner(call, &owner) < 0)
		return NULL;
	if (!session_name_valid(name)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: 'name' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
		return NULL;
	}
	struct session *s = core_find(d->core, owner, name);
	if (s == NULL || s->creating) {
		rpc_call_error(call, RPC_ERR_NOT_FOUND, "no session '%s'%s", name,
			       owner != rpc_call_uid(call) ? " for that owner_uid" : "");
		return NULL;
	}
	return s;
}

/* ---- daemon.info ------------------------------------------------------ */

static void m_daemon_info(struct rpc_call *call, void *arg)
{
	struct daemon *d = arg;
	static const char *const allowed[] = { NULL };
	struct list_node *pos, *tmp;
	size_t visible = 0;

	if (!param_only(call, allowed))
		return;
	list_foreach_safe(pos, tmp, &d->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (!s->creating && caller_may_see(call, s->owner))
			visible++;
	}
	rpc_call_reply(call, json_pack("{s:s, s:i, s:s, s:s, s:i, s:f, s:s, s:s, s:b, s:b}",
		"version", SESSIOND_VERSION, "protocol", SESSIOND_PROTOCOL_VERSION,
		"uri", d->drv->ops->uri(d->drv), "driver", d->drv->ops->kind(d->drv),
		"sessions", (int)visible, "uptime_s", mono_now() - d->started,
		"daemon_id", d->core->daemon_id, "pool", storage_pool(d->core->storage),
		"connected", d->core->connected, "kvm", d->core->kvm_usable));
}

/* ---- session.create / list / get ------------------------------------- */

static void created(struct session *s, const struct cause *err, void *arg)
{
	struct rpc_call *call = arg;

	if (err != NULL)
		rpc_call_fail(call, err);
	else
		rpc_call_reply(call, session_to_json(s));
}

static void m_session_create(struct rpc_call *call, void *arg)
{
	struct daemon *d = arg;
	bool failed;
	uid_t owner;
	const char *name = param_string(call, "name", true, 256, &failed);

	if (failed || request_owner(call, &owner) < 0)
		return;
	json_t *p = rpc_call_params(call);
	struct cause c;
	if (check_owner_paths(owner, json_string_value(json_object_get(p, "disk")),
			      json_string_value(json_object_get(p, "image")),
			      json_string_value(json_object_get(p, "kernel")),
			      json_string_value(json_object_get(p, "initrd")), &c) < 0) {
		log_warn("rpc: uid %u pid %d denied: session.create %s: %s",
			 (unsigned)rpc_call_uid(call), (int)rpc_call_pid(call), name, c.msg);
		rpc_call_fail(call, &c);
		return;
	}
	session_create(d->core, owner, name, p, created, call);
}

static void m_session_list(struct rpc_call *call, void *arg)
{
	struct daemon *d = arg;
	static const char *const allowed[] = { "owner_uid", NULL };
	struct list_node *pos, *tmp;
	uid_t owner;
	bool filter = json_object_get(rpc_call_params(call), "owner_uid") != NULL;

	if (!param_only(call, allowed) || request_owner(call, &owner) < 0)
		return;
	json_t *a = json_array();
	list_foreach_safe(pos, tmp, &d->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->creating || !caller_may_see(call, s->owner) || (filter && s->owner != owner))
			continue;
		json_array_append_new(a, session_to_json(s));
	}
	rpc_call_reply(call, json_pack("{s:o}", "sessions", a));
}

static const char *const name_only[] = { "name", "owner_uid", NULL };

static void m_session_get(struct rpc_call *call, void *arg)
{
	struct session *s;

	if (!param_only(call, name_only) || (s = resolve_session(arg, call)) == NULL)
		return;
	rpc_call_reply(call, session_to_json(s));
}

/* ---- session.start and vm.info: hold a lease while they work --------- */

struct lease_call {
	struct session_lease sl;
	struct rpc_call *call;
	struct job job;
	char inst_id[37];
	json_t *info;
	struct cause err;
	int rc;
};

static void lease_call_free(struct lease_call *lc)
{
	session_lease_release(&lc->sl);
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

	rpc_call_on_lost(lc->call, NULL, NULL);
	if (err != NULL) {
		rpc_call_fail(lc->call, err);
		lease_call_free(lc);
		return;
	}
	/* Held only to bring the VM up: the grace runs from here, and the
	 * reply shows the session as it was then (with its deadline) and
	 * goes out once the state file records the instance. */
	session_lease_release(sl);
	idle_recheck(&sl->s->idle);
	lc->info = session_to_json(sl->s);
	session_persist_barrier(sl->s, start_persisted, lc);
}

static struct lease_call *lease_call_new(struct rpc_call *call, struct session *s)
{
	struct lease_call *lc = calloc(1, sizeof *lc);

	if (lc == NULL)
		fatal("out of memory");
	lc->call = call;
	session_ref(s);
	lc->sl.s = s;
	rpc_call_on_lost(call, lease_call_lost, lc);
	return lc;
}

static void m_session_start(struct rpc_call *call, void *arg)
{
	struct session *s;

	if (!param_only(call, name_only) || (s = resolve_session(arg, call)) == NULL)
		return;
	struct lease_call *lc = lease_call_new(call, s);
	session_lease_acquire(s, &lc->sl, "session.start", rpc_call_uid(call),
			      rpc_call_pid(call), started, lc);
}

static void info_run(struct job *j)
{
	struct lease_call *lc = (struct lease_call *)((char *)j - offsetof(struct lease_call, job));
	struct session *s = lc->sl.s;
	struct driver *drv = s->core->drv;

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

	rpc_call_on_lost(lc->call, NULL, NULL);
	if (err != NULL || sl->s->inst == NULL) {
		if (err != NULL)
			rpc_call_fail(lc->call, err);
		else
			rpc_call_error(lc->call, RPC_ERR_INTERNAL, "session '%s': no VM", sl->s->name);
		lease_call_free(lc);
		return;
	}
	/* The lease keeps the VM up while a worker asks libvirt. */
	str_copy(lc->inst_id, sizeof lc->inst_id, sl->s->inst->id);
	lc->job.what = "vm.info";
	lc->job.run = info_run;
	lc->job.done = info_done;
	core_submit(sl->s->core, &lc->job);
}

static void m_vm_info(struct rpc_call *call, void *arg)
{
	struct session *s;

	if (!param_only(call, name_only) || (s = resolve_session(arg, call)) == NULL)
		return;
	struct lease_call *lc = lease_call_new(call, s);
	session_lease_acquire(s, &lc->sl, "vm.info", rpc_call_uid(call), rpc_call_pid(call),
			      info_leased, lc);
}

/* ---- vm.console: the serial console log; never starts a VM ------------ */

#define CONSOLE_DEFAULT (64 * 1024)
#define CONSOLE_MAX (512 * 1024)

static void m_vm_console(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "name", "owner_uid", "max_bytes", NULL };
	struct session *s;
	double max = CONSOLE_DEFAULT;
	bool given;
	struct cause c;
	json_t *out;

	if (!param_only(call, allowed) ||
	    param_number(call, "max_bytes", 1, CONSOLE_MAX, &max, &given) < 0 ||
	    (s = resolve_session(arg, call)) == NULL)
		return;
	if (session_console_read(s, (size_t)max, &out, &c) < 0) {
		rpc_call_fail(call, &c);
		return;
	}
	rpc_call_reply(call, out);
}

/* ---- session.stop / reset / delete ------------------------------------ */

static void stopped(struct session *s, const struct cause *err, void *arg)
{
	struct rpc_call *call = arg;

	if (err != NULL)
		rpc_call_fail(call, err);
	else
		rpc_call_reply(call, session_to_json(s));
	session_unref(s);
}

static void m_session_stop(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "name", "owner_uid", "force", NULL };
	struct session *s;
	bool force = false;

	if (!param_only(call, allowed) || param_bool(call, "force", &force) < 0 ||
	    (s = resolve_session(arg, call)) == NULL)
		return;
	session_ref(s);
	session_stop(s, force, stopped, call);
}

static void reset_persisted(struct session *s, const struct cause *err, void *arg)
{
	stopped(s, err, arg);
}

static void m_session_reset(struct rpc_call *call, void *arg)
{
	struct session *s;
	struct cause c;

	if (!param_only(call, name_only) || (s = resolve_session(arg, call)) == NULL)
		return;
	if (session_reset(s, &c) < 0) {
		rpc_call_fail(call, &c);
		return;
	}
	session_ref(s);
	session_persist(s, reset_persisted, call);
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

static void m_session_delete(struct rpc_call *call, void *arg)
{
	static const char *const allowed[] = { "name", "owner_uid", "keep_storage", NULL };
	struct session *s;
	bool keep = false;

	if (!param_only(call, allowed) || param_bool(call, "keep_storage", &keep) < 0 ||
	    (s = resolve_session(arg, call)) == NULL)
		return;
	session_delete(s, keep, deleted, call);
}

/* ---- the table ---------------------------------------------------------- */

const struct rpc_method daemon_methods[] = {
	{ RPC_DAEMON_INFO, m_daemon_info, "" },
	{ RPC_SESSION_CREATE, m_session_create, "name [grace_s storage crash_policy memory_mib vcpus "
	  "domain_type kernel initrd cmdline image disk disk_gib ready_pattern ready_timeout_s "
	  "stop_timeout_s owner_uid]" },
	{ RPC_SESSION_LIST, m_session_list, "[owner_uid]" },
	{ RPC_SESSION_GET, m_session_get, "name [owner_uid]" },
	{ RPC_SESSION_START, m_session_start, "name [owner_uid]" },
	{ RPC_SESSION_STOP, m_session_stop, "name [force owner_uid]" },
	{ RPC_SESSION_RESET, m_session_reset, "name [owner_uid]" },
	{ RPC_SESSION_DELETE, m_session_delete, "name [keep_storage owner_uid]" },
	{ RPC_SESSION_WATCH, tokens_handle_watch, "[name owner_uid]" },
	{ RPC_TOKEN_ACQUIRE, tokens_handle_acquire, "name [ttl_s reason detach owner_uid]" },
	{ RPC_TOKEN_RENEW, tokens_handle_renew, "token [ttl_s]" },
	{ RPC_TOKEN_RELEASE, tokens_handle_release, "token" },
	{ RPC_VM_INFO, m_vm_info, "name [owner_uid]" },
	{ RPC_VM_CONSOLE, m_vm_console, "name [max_bytes owner_uid]" },
};

const size_t daemon_nmethods = sizeof daemon_methods / sizeof daemon_methods[0];

const struct rpc_server_ops daemon_server_ops = { tokens_conn_open, tokens_conn_close };
const struct core_hooks daemon_core_hooks = { tokens_event_hook, tokens_revoked_hook };
