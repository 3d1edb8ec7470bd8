/*
 * registry.c — sessions keyed by (owner uid, name): allocation, create,
 * lookup.  A session is in the registry from a successful create (or a
 * load) until its delete has removed the state file.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "storage.h"

static void make_key(char *buf, size_t len, uid_t owner, const char *name)
{
	snprintf(buf, len, "%u/%s", (unsigned)owner, name);
}

struct session *session_alloc(struct core *core, uid_t owner, const char *name,
			      const char *id)
{
	struct session *s = calloc(1, sizeof *s);
	uuid_t u;

	if (s == NULL)
		fatal("out of memory allocating a session");
	s->refs = 1;
	s->core = core;
	s->owner = owner;
	snprintf(s->name, sizeof s->name, "%s", name);
	make_key(s->key, sizeof s->key, owner, name);
	if (id != NULL) {
		snprintf(s->id, sizeof s->id, "%s", id);
	} else {
		uuid_generate_random(u);
		uuid_unparse_lower(u, s->id);
	}
	snprintf(s->prefix, sizeof s->prefix, "%s-%.8s", core->prefix, s->id);
	s->created = wall_now();
	s->state = SESSION_STOPPED;
	list_init(&s->node);
	list_init(&s->leases);
	list_init(&s->tokens);
	list_init(&s->stop_waiters);
	list_init(&s->delete_waiters);
	lease_point_init(&s->lp, &session_lease_ops, s);
	idle_init(&s->idle, core->base, &s->lp.gate, &session_idle_ops, s);
	return s;
}

void session_register(struct session *s)
{
	struct core *core = s->core;

	htab_insert(&core->by_key, &s->by_key, s->key);
	list_add_tail(&core->sessions, &s->node);
	core->nsessions++;
}

void session_unregister(struct session *s)
{
	struct core *core = s->core;

	if (list_empty(&s->node))
		return;
	htab_remove(&core->by_key, &s->by_key);
	list_del(&s->node);
	core->nsessions--;
}

struct session *core_find(struct core *core, uid_t owner, const char *name)
{
	char key[96];

	make_key(key, sizeof key, owner, name);
	struct htab_node *n = htab_find(&core->by_key, key);
	return n ? htab_entry(n, struct session, by_key) : NULL;
}

size_t core_count_owned(struct core *core, uid_t owner)
{
	size_t n = 0;
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &core->sessions) {
		if (list_entry(pos, struct session, node)->owner == owner)
			n++;
	}
	return n;
}

/* ---- create: validate, make the disk, write the file, register ------- */

struct create_job {
	struct job job;
	struct session *s;
	session_done_cb done;
	void *arg;
	int rc;
	bool created;
	struct cause err;
};

static void create_run(struct job *j)
{
	struct create_job *cj = (struct create_job *)j;
	struct session *s = cj->s;

	if (s->set.storage != STORAGE_PERSISTENT)
		return;
	cj->rc = storage_disk_create(s->core->storage, s->id, s->set.disk_gib, s->set.disk,
				     &cj->created, &cj->err);
}

static void create_persisted(struct session *s, const struct cause *err, void *arg)
{
	struct create_job *cj = arg;

	if (err != NULL) {
		struct cause c;
		cause_set(&c, RPC_ERR_INTERNAL, "session '%s': cannot write its state file: %s",
			  s->name, err->msg);
		session_unregister(s);
		cj->done(s, &c, cj->arg);
		session_unref(s);
	} else {
		s->creating = false;
		log_info("session %s: created (id %s)", s->key, s->id);
		session_notify(s, "created", NULL);
		cj->done(s, NULL, cj->arg);
	}
	free(cj);
}

static void create_done(struct job *j)
{
	struct create_job *cj = (struct create_job *)j;
	struct session *s = cj->s;

	if (cj->rc < 0) {
		struct cause c;
		cause_set(&c, RPC_ERR_INVALID_PARAMS, "session '%s': persistent disk: %s",
			  s->name, cj->err.msg);
		session_unregister(s);
		cj->done(s, &c, cj->arg);
		session_unref(s);
		free(cj);
		return;
	}
	s->disk_created = cj->created;
	/* The reply waits until the state file is on disk. */
	session_persist(s, create_persisted, cj);
}

static const char *const create_ignore[] = { "name", "owner_uid", NULL };

void session_create(struct core *core, uid_t owner, const char *name, json_t *params,
		    session_done_cb done, void *arg)
{
	struct cause c;

	if (!session_name_valid(name)) {
		cause_set(&c, RPC_ERR_INVALID_PARAMS,
			  "invalid params: name: must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
		done(NULL, &c, arg);
		return;
	}
	if (core_find(core, owner, name) != NULL) {
		cause_set(&c, RPC_ERR_CONFLICT, "session '%s' already exists", name);
		done(NULL, &c, arg);
		return;
	}
	if (owner != 0 && core->cfg->max_sessions_per_user > 0 &&
	    core_count_owned(core, owner) >= (size_t)core->cfg->max_sessions_per_user) {
		cause_set(&c, RPC_ERR_LIMIT, "limit reached: at most %d sessions per user",
			  core->cfg->max_sessions_per_user);
		done(NULL, &c, arg);
		return;
	}
	struct session *s = session_alloc(core, owner, name, NULL);
	if (settings_parse(params, &core->cfg->defaults, create_ignore, &s->set, &c) < 0) {
		session_unref(s);
		done(NULL, &c, arg);
		return;
	}
	/* Registered now so a second create of the same name conflicts;
	 * invisible to every other request until acknowledged. */
	s->creating = true;
	session_register(s);
	struct create_job *cj = calloc(1, sizeof *cj);
	if (cj == NULL)
		fatal("out of memory");
	cj->s = s;
	cj->done = done;
	cj->arg = arg;
	cj->job.run = create_run;
	cj->job.done = create_done;
	cj->job.what = "create";
	workers_submit(core->workers, &cj->job);
}
