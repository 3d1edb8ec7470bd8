/*
 * registry.c — session.create: name, limits and settings checked, the
 * host chosen (a persistent session is placed now and pinned: its disk
 * lives in that host's pool), the persistent disk made (or an existing
 * one checked), the state file written, the session registered.  A session is in the registry from
 * here (or from a load) until its delete has removed the state file;
 * until its create is acknowledged it conflicts with a second create of
 * its name but is invisible to every other request (LIFE_CREATING).
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

bool registry_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > SESSION_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return false;
	}
	return true;
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

/* Worker: the persistent disk. */
static void create_run(struct job *j)
{
	struct create_job *cj = (struct create_job *)j;
	struct session *s = cj->s;

	if (s->set.storage != STORAGE_PERSISTENT)
		return;
	cj->rc = storage_disk_create(session_storage(s), s->id, s->set.disk_gib, s->set.disk,
				     &cj->created, &cj->err);
}

/* The create failed after the session was registered: unregister, tell,
 * drop the registry's reference. */
static void abandon(struct create_job *cj, const struct cause *c)
{
	struct session *s = cj->s;

	session_set_life(s, LIFE_GONE);
	core_unregister(s);
	cj->done(s, c, cj->arg);
	session_unref(s);
	free(cj);
}

static void create_persisted(struct session *s, const struct cause *err, void *arg)
{
	struct create_job *cj = arg;

	if (err != NULL) {
		struct cause c;
		cause_set(&c, CAUSE_INTERNAL, "session '%s': cannot write its state file: %s",
			  s->name, err->msg);
		abandon(cj, &c);
		return;
	}
	session_set_life(s, LIFE_LIVE);
	session_log(s, LOG_LVL_INFO, NULL, "created (id %s)", s->id);
	state_notify(s, EV_CREATED, NULL);
	cj->done(s, NULL, cj->arg);
	free(cj);
}

static void create_done(struct job *j)
{
	struct create_job *cj = (struct create_job *)j;
	struct session *s = cj->s;

	session_unref(s);                   /* the job's reference */
	if (cj->rc < 0) {
		struct cause c;
		cause_set(&c, CAUSE_INVALID, "session '%s': persistent disk: %s",
			  s->name, cj->err.msg);
		abandon(cj, &c);
		return;
	}
	s->disk_created = cj->created;
	/* The reply waits until the state file is on disk. */
	persist_write(s, create_persisted, cj);
}

static const char *const create_skip[] = { "name", "owner_uid", "host", NULL };

/* Name, uniqueness and the per-user limit; 0 or -1 with a cause. */
static int may_create(struct core *core, uid_t owner, const char *name, struct cause *c)
{
	int max = core->cfg->max_sessions_per_user;

	if (!registry_name_valid(name)) {
		cause_set(c, CAUSE_INVALID,
			  "invalid params: name: must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
		return -1;
	}
	if (core_find(core, owner, name) != NULL) {
		cause_set(c, CAUSE_CONFLICT, "session '%s' already exists", name);
		return -1;
	}
	if (owner != 0 && max > 0 && core_count_owned(core, owner) >= (size_t)max) {
		cause_set(c, CAUSE_LIMIT, "limit reached: at most %d sessions per user", max);
		metrics_inc(MX_LIMIT_REFUSALS, MLIMIT_SESSIONS);
		return -1;
	}
	return 0;
}

void registry_create(struct core *core, uid_t owner, const char *name, json_t *params,
		     session_done_cb done, void *arg)
{
	struct cause c;

	if (may_create(core, owner, name, &c) < 0) {
		done(NULL, &c, arg);
		return;
	}
	struct session *s = session_alloc(core, owner, name, NULL);
	const char *host = json_string_value(json_object_get(params, "host"));
	if (settings_parse(params, &core->cfg->defaults, create_skip, &s->set, &c) < 0 ||
	    hosts_for_create(s, host, &c) < 0) {
		session_unref(s);
		done(NULL, &c, arg);
		return;
	}
	state_set(s, SESSION_STOPPED, PHASE_IDLE, EV_NONE, NULL);
	/* Registered now so a second create of the same name conflicts. */
	core_register(s);
	struct create_job *cj = XNEW(cj);
	cj->s = s;
	cj->done = done;
	cj->arg = arg;
	session_submit(s, &cj->job, create_run, create_done, "create");
}
