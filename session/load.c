/*
 * load.c — start-up: the sessions come back from their state files, and
 * the daemon's view is reconciled with what libvirt runs.
 *
 * Each state file that parses becomes a session (one that does not is
 * logged and left alone).  Then libvirt lists this daemon's domains (its
 * prefix carries the daemon id): a domain a session recorded is adopted
 * (the session is running again, with no new boot); a recorded instance
 * whose domain is gone is cleaned up after ("lost"), unless it was
 * suspended and its memory image is still there (then it is suspended
 * again, tiers.c); a domain of ours that no session records is an orphan
 * and destroyed; scratch and boot volumes of instances that no longer
 * exist are swept, and so are memory images no session keeps.  A second daemon on the
 * same libvirtd has another id, so neither touches the other's domains.
 */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/xalloc.h"


static void load_one(struct core *core, const char *file)
{
	char path[4400];
	struct cause c;
	json_error_t e;

	snprintf(path, sizeof path, "%s/%s", core->sessions_dir, file);
	char *text = file_read_all(path, 4 << 20, NULL, &c);
	if (text == NULL) {
		log_err("state file %s: %s; skipped", path, c.msg);
		return;
	}
	json_t *doc = json_loads(text, 0, &e);
	free(text);
	if (doc == NULL) {
		log_err("state file %s: not valid JSON (line %d: %s); skipped", path, e.line, e.text);
		return;
	}
	struct session *s = persist_load(core, doc, &c);
	json_decref(doc);
	if (s == NULL) {
		log_err("state file %s: %s; skipped", path, c.msg);
		return;
	}
	char want[64];
	snprintf(want, sizeof want, "%s.json", s->id);
	if (strcmp(want, file) != 0 || core_find(core, s->owner, s->name) != NULL) {
		log_err("state file %s: name or id clash (%s); skipped", path, s->key);
		session_unref(s);
		return;
	}
	session_set_life(s, LIFE_LIVE);
	core_register(s);
}

static void load_files(struct core *core)
{
	DIR *d = opendir(core->sessions_dir);
	struct dirent *de;

	if (d == NULL) {
		log_err("cannot read %s: %s", core->sessions_dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.') {
			/* A write that a crash interrupted: the old file stands. */
			if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			load_one(core, de->d_name);
	}
	closedir(d);
	log_info("sessiond: %zu session(s) loaded", core->nsessions);
}

struct load_job;
static void images_check(struct load_job *lj);
static bool image_found(struct load_job *lj, struct session *s);

struct load_job {
	struct job job;
	struct core *core;
	int phase;                          /* 0: list domains, 1: orphans + sweep */
	json_t *domains;
	json_t *orphans;
	json_t *live;
	json_t *images;                     /* {"path": found} of recorded images */
	json_t *live_images;                /* paths of the images kept */
	struct cause err;
	int rc;
	void (*done)(struct core *, void *);
	void *arg;
};

static void load_list_run(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	char pfx[32];

	snprintf(pfx, sizeof pfx, "%s-", lj->core->prefix);
	lj->rc = lj->core->drv->ops->domain_list(lj->core->drv, pfx, &lj->domains, &lj->err);
	images_check(lj);
}

/* Worker: which recorded memory images exist. */
static void images_check(struct load_job *lj)
{
	struct driver *drv = lj->core->drv;
	const char *path;
	json_t *v;
	double bytes, mtime;
	struct cause c;

	json_object_foreach(lj->images, path, v) {
		int rc = drv->ops->image_stat(drv, path, &bytes, &mtime, &c);
		if (rc < 0)
			log_warn("tiers: %s", c.msg);
		json_object_set_new(lj->images, path, json_boolean(rc == 1));
	}
}

static bool image_found(struct load_job *lj, struct session *s)
{
	return json_is_true(json_object_get(lj->images, s->saved->path));
}

static void load_cleanup_run(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct core *core = lj->core;
	struct cause c;
	size_t i;
	json_t *v;

	json_array_foreach(lj->orphans, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (core->drv->ops->domain_destroy(core->drv, uuid, &c) == 0)
			log_warn("sessiond: destroyed orphan domain %s (no session owns it)", name);
		else
			log_err("sessiond: cannot destroy orphan domain %s: %s", name, c.msg);
	}
	if (storage_sweep(core->storage, lj->live, &c) < 0)
		log_warn("storage: sweep failed: %s", c.msg);
	if (tiers_sweep(core, lj->live_images, &c) < 0)
		log_warn("tiers: sweep of %s failed: %s", core->save_dir, c.msg);
}

static void load_cleanup_done(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;

	json_decref(lj->domains);
	json_decref(lj->orphans);
	json_decref(lj->live);
	json_decref(lj->images);
	json_decref(lj->live_images);
	if (lj->done != NULL)
		lj->done(lj->core, lj->arg);
	free(lj);
}

static bool json_array_has_string(json_t *a, const char *str)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), str) == 0)
			return true;
	}
	return false;
}

static const char *domain_uuid_in(json_t *domains, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(domains, i, v) {
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (uuid != NULL && strcmp(uuid, id) == 0)
			return uuid;
	}
	return NULL;
}

static void load_list_done(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct core *core = lj->core;
	struct list_node *pos, *tmp;
	size_t i;
	json_t *v;

	if (lj->rc < 0) {
		log_err("libvirt: cannot list domains: %s; adoption skipped", lj->err.msg);
		lj->domains = json_array();
	}
	lj->live = json_array();
	lj->live_images = json_array();
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->loaded_instance[0] == '\0')
			continue;
		bool runs = domain_uuid_in(lj->domains, s->loaded_instance) != NULL &&
			    s->state != SESSION_FAILED;
		if (runs) {
			tiers_forget(s);        /* restored meanwhile: the image is stale */
			reconcile_adopt(s, s->loaded_instance);
			json_array_append_new(lj->live, json_string(s->loaded_instance));
		} else if (s->saved != NULL) {
			tiers_load_saved(s, s->loaded_instance, image_found(lj, s), lj->live_images);
			if (s->state == SESSION_SUSPENDED)
				json_array_append_new(lj->live, json_string(s->loaded_instance));
		} else {
			reconcile_lost(s, s->loaded_instance);
		}
		s->loaded_instance[0] = '\0';
	}
	lj->orphans = json_array();
	json_array_foreach(lj->domains, i, v) {
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (uuid != NULL && !json_array_has_string(lj->live, uuid))
			json_array_append(lj->orphans, v);
	}
	lj->job.run = load_cleanup_run;
	lj->job.done = load_cleanup_done;
	lj->job.what = "sweep";
	workers_submit(core->workers, &lj->job);
}

/* The images the state files record, to be looked for on a worker. */
static json_t *recorded_images(struct core *core)
{
	json_t *images = json_object();
	struct list_node *pos;

	list_foreach(pos, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->saved != NULL)
			json_object_set_new(images, s->saved->path, json_false());
	}
	return images;
}

void load_sessions(struct core *core, void (*done)(struct core *core, void *arg), void *arg)
{
	struct load_job *lj = XNEW(lj);

	load_files(core);
	lj->images = recorded_images(core);
	lj->core = core;
	lj->done = done;
	lj->arg = arg;
	lj->job.run = load_list_run;
	lj->job.done = load_list_done;
	lj->job.what = "load";
	workers_submit(core->workers, &lj->job);
}
