/*
 * tiers.c — memory tiers: an idle VM saved to a memory image instead of
 * stopped, and brought back from it on the next use, without a boot.
 *
 *   running --idle, idle_action save--> stopping (saving) --> suspended
 *   suspended --a caller needs the VM--> starting (restoring) --> running
 *
 * The instance lives on while suspended: same id, same domain name, its
 * scratch disk kept (the image is valid only with the disks exactly as
 * they were), s->inst non-null, its disposition SUSPENDED (lease.h).  The
 * image is a file we name, written by virDomainSaveFlags (virt.c says why
 * not managed save), in core->save_dir: the state directory's "saved/"
 * (0700) or sessiond.conf's save_dir.  Not inside the pool's directory: a
 * directory pool would list it as a volume, and a pool with it could not
 * be deleted.  Its name
 * carries the daemon prefix and the instance id,
 * "<prefix>-<instance id>-<restores>.save", so a sweep at start finds the
 * images no session records, as it finds stale scratch volumes.
 *
 * What can go wrong, and where it goes:
 *  - the save fails: the guest is stopped as an idle stop would stop it
 *    (teardown.c), and the stop says why (stop_detail);
 *  - the restore fails (image missing, truncated, corrupt; libvirt
 *    refuses): the instance is torn down like a failed start (image and
 *    scratch included, once), and the callers that wait get a new
 *    instance, booted, with a warning (next_warning);
 *  - a crash or an outside destroy during the save or the restore: the
 *    disposition claims decide as for any instance (teardown.c); a
 *    teardown never overlaps the save or restore job (state_job_busy);
 *  - a stop, a delete, or settings that no longer fit the image: the
 *    suspended instance is claimed from SUSPENDED and torn down, image
 *    included;
 *  - a daemon restart: load.c asks tiers_load_saved() what the recorded
 *    image says (there: suspended again; missing: stopped, lost).
 *
 * Who deletes an image, exactly once: the restore job after a restore
 * that worked; the teardown's cleanup job of the instance otherwise (it
 * takes the path from tiers_image_path()); a failed save its own partial
 * file; the sweep at start the ones nobody records.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

#define IMAGE_SUFFIX ".save"

/* ---- the image directory, names, bookkeeping ------------------------------ */

int tiers_init(struct core *core, struct cause *c)
{
	const struct core_config *cfg = core->cfg;
	struct stat sb;

	if (cfg->save_dir != NULL)
		str_copy(core->save_dir, sizeof core->save_dir, cfg->save_dir);
	else
		snprintf(core->save_dir, sizeof core->save_dir, "%s/saved", cfg->state_dir);
	/* 0700: a guest's memory is its owner's; nobody else lists or reads
	 * the images (each is 0600 too, virt.c).  A missing parent is made
	 * 0711, as the storage makes its directories. */
	char parent[sizeof core->save_dir];
	str_copy(parent, sizeof parent, core->save_dir);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir_p(parent, 0711, c) < 0)
			return -1;
	}
	if (mkdir_p(core->save_dir, 0700, c) < 0)
		return -1;
	if (stat(core->save_dir, &sb) == 0 && (sb.st_mode & 0077) != 0)
		log_warn("tiers: %s is mode %03o: other users may see saved guest memory "
			 "(chmod 700 it)", core->save_dir, (unsigned)(sb.st_mode & 0777));
	return 0;
}

static void saved_free(struct saved_image *si)
{
	if (si == NULL)
		return;
	free(si->path);
	json_decref(si->settings);
	free(si);
}

void tiers_forget(struct session *s)
{
	saved_free(s->saved);
	s->saved = NULL;
}

char *tiers_image_path(struct session *s)
{
	return s->saved != NULL ? xstrdup(s->saved->path) : NULL;
}

bool tiers_image_fits(struct session *s)
{
	json_t *now = settings_image_json(&s->set);
	bool fits = s->saved != NULL && json_equal(now, s->saved->settings);

	json_decref(now);
	return fits;
}

json_t *tiers_saved_json(struct session *s)
{
	if (s->saved == NULL)
		return json_null();
	return json_pack("{s:s, s:I, s:o}", "path", s->saved->path,
			 "bytes", (json_int_t)s->saved->bytes, "since", time_json(s->saved->since));
}

json_t *tiers_persist_json(struct session *s)
{
	json_t *saved = tiers_saved_json(s);

	if (s->saved != NULL)
		json_object_set(saved, "settings", s->saved->settings);
	return json_pack("{s:i, s:o}", "restore_count", (int)s->restore_count,
			 "saved_state", saved);
}

void tiers_persist_load(struct session *s, json_t *doc)
{
	json_t *saved = json_object_get(doc, "saved_state"), *set = NULL;
	const char *path = NULL, *since = NULL;
	json_int_t bytes = 0;
	double when = 0;

	s->restore_count = (unsigned)json_integer_value(json_object_get(doc, "restore_count"));
	if (!json_is_object(saved))
		return;
	if (json_unpack(saved, "{s:s, s:I, s:s, s:o}", "path", &path, "bytes", &bytes,
			"since", &since, "settings", &set) < 0 ||
	    path[0] != '/' || !time_parse_rfc3339(since, &when)) {
		log_err("session %s: unreadable saved_state in the state file; ignored", s->key);
		return;
	}
	s->saved = XNEW(s->saved);
	s->saved->path = xstrdup(path);
	s->saved->bytes = (double)bytes;
	s->saved->since = when;
	s->saved->settings = json_incref(set);
}

/* ---- jobs ---------------------------------------------------------------------- */

struct tier_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	char *path;
	int rc;
	double bytes, mtime;
	struct cause err;
	int rss_rc;                         /* save: domain_rss's answer before it */
	uint64_t rss;
};

static struct tier_job *tier_job_new(struct session *s, const char *path)
{
	struct tier_job *tj = XNEW(tj);

	tj->s = s;
	tj->inst = instance_ref(s->inst, "tier_job");
	tj->path = xstrdup(path);
	return tj;
}

static void tier_job_free(struct tier_job *tj)
{
	struct session *s = tj->s;

	instance_unref(tj->inst, "tier_job");
	free(tj->path);
	free(tj);
	session_unref(s);
}

/* ---- save ------------------------------------------------------------------------ */

bool tiers_wants_save(struct session *s)
{
	return s->set.idle_action == IDLE_SAVE && strcmp(s->stop_reason, "idle") == 0 &&
	       s->state == SESSION_RUNNING && s->life == LIFE_LIVE &&
	       instance_disposition(s->inst) == DISP_STOP_REQUESTED;
}

/* Worker.  Our own save's STOPPED event is announced to the event thread
 * before libvirt can send it (lease.h, own_saves). */
static void save_run(struct job *j)
{
	struct tier_job *tj = (struct tier_job *)j;
	struct driver *drv = tj->s->host->drv;
	struct cause c;

	struct cause e;
	tj->rss_rc = drv->ops->domain_rss(drv, tj->inst->id, &tj->rss, &e);
	instance_own_save_begin(tj->inst);
	tj->rc = drv->ops->domain_save(drv, tj->inst->id, tj->path, &tj->err);
	if (tj->rc < 0) {
		instance_own_save_cancel(tj->inst);
		/* What a failed save may have written is nobody's image. */
		if (drv->ops->image_delete(drv, tj->path, &c) < 0)
			log_warn("session %s: %s", tj->s->key, c.msg);
		return;
	}
	if (drv->ops->image_stat(drv, tj->path, &tj->bytes, &tj->mtime, &c) != 1) {
		log_warn("session %s: saved, but the image %s cannot be seen: %s", tj->s->key,
			 tj->path, c.msg);
		tj->mtime = wall_now();
	}
}

static void keep_image(struct session *s, struct tier_job *tj)
{
	tiers_forget(s);
	s->saved = XNEW(s->saved);
	s->saved->path = xstrdup(tj->path);
	s->saved->bytes = tj->bytes;
	s->saved->since = tj->mtime;
	s->saved->settings = settings_image_json(&s->set);
}

/* Saved: no QEMU, the memory on disk, the instance parked. */
static void suspended(struct session *s)
{
	if (!instance_suspend(s->inst))
		fatal("session %s: instance %s saved but not ours (bug)", s->key, s->inst->id);
	s->core->stats.saves++;
	s->measure_rss = false;             /* the save counted what it gave back */
	if (s->running_since > 0) {
		s->uptime_total += mono_now() - s->running_since;
		s->running_since = 0;
	}
	str_copy(s->last_stop_reason, sizeof s->last_stop_reason, "idle");
	text_set(&s->last_stop_detail, NULL);
	log_info("session %s: saved %.1f MiB of memory to %s", s->key,
		 s->saved->bytes / (1024 * 1024), s->saved->path);
	state_set(s, SESSION_SUSPENDED, PHASE_IDLE, EV_SUSPENDED,
		  json_pack("{s:o}", "saved_state", tiers_saved_json(s)));
	persist_write(s, NULL, NULL);
	core_memory_idle(s->core);
	/* Callers that came during the save: back up at once. */
	request_next(s);
}

static void save_done(struct job *j)
{
	struct tier_job *tj = (struct tier_job *)j;
	struct session *s = tj->s;

	text_set(&s->saving, NULL);

	if (tj->rc < 0) {
		/* A normal stop: shut the guest down as today. */
		s->core->stats.save_failures++;
		log_warn("session %s: save failed, stopping instead: %s", s->key, tj->err.msg);
		text_setf(&s->stop_detail, "save failed: %s", tj->err.msg);
		teardown_continue(s, s->set.stop_timeout > 0 ? PHASE_SHUTDOWN : PHASE_CLEANUP);
	} else if (!list_empty(&s->stop_waiters) || s->life != LIFE_LIVE) {
		/* A stop or a delete came during the save: the image goes
		 * with the instance. */
		keep_image(s, tj);
		str_copy(s->stop_reason, sizeof s->stop_reason,
			 s->life != LIFE_LIVE ? "deleted" : "requested");
		teardown_continue(s, PHASE_CLEANUP);
	} else {
		keep_image(s, tj);
		if (tj->rss_rc == 1)
			metrics_add(MX_IDLE_RETURNED_BYTES, MIDLE_SUSPEND, tj->rss);
		else
			metrics_inc(MX_IDLE_UNMEASURED, tj->rss_rc == 0 ? MUNM_UNSUPPORTED : MUNM_ERROR);
		suspended(s);
	}
	tier_job_free(tj);
}

void tiers_save(struct session *s)
{
	char *path = xasprintf("%s/%s-%s-%u%s", s->core->save_dir, s->core->prefix, s->inst->id,
			       s->restore_count, IMAGE_SUFFIX);
	struct tier_job *tj = tier_job_new(s, path);

	text_set(&s->saving, path);         /* no host's sweep takes it meanwhile */
	free(path);
	log_info("session %s: idle for %gs, saving the VM's memory", s->key, s->set.grace);
	session_submit(s, &tj->job, save_run, save_done, "save");
}

/* ---- restore ---------------------------------------------------------------------- */

/* Worker.  The image has served once the domain is back: it goes now
 * (a crash right after is the restored instance's, with no image). */
static void restore_run(struct job *j)
{
	struct tier_job *tj = (struct tier_job *)j;
	struct driver *drv = tj->s->host->drv;
	struct cause c;

	tj->rc = drv->ops->domain_restore(drv, tj->path, &tj->err);
	if (tj->rc == 0 && drv->ops->image_delete(drv, tj->path, &c) < 0)
		log_warn("session %s: %s (the next start sweeps it)", tj->s->key, c.msg);
}

/* The old instance goes like a failed start (teardown.c: no graceful
 * shutdown); the callers stay parked and get a new instance, booted. */
static void restore_failed(struct session *s, const char *why)
{
	s->core->stats.restore_failures++;
	log_warn("session %s: restore failed, booting afresh: %s", s->key, why);
	text_setf(&s->next_warning, "restore of the saved memory failed, booted afresh: %s", why);
	text_setf(&s->stop_detail, "restore failed: %s", why);
	state_phase(s, PHASE_BOOTED);
	teardown_begin_expected(s, "restore-failed");
}

static void restore_done(struct job *j)
{
	struct tier_job *tj = (struct tier_job *)j;
	struct session *s = tj->s;

	if (tj->rc == 0) {
		tiers_forget(s);                /* deleted by the job */
		s->restore_count++;
		s->core->stats.restores++;
	}
	if (instance_disposition(tj->inst) != DISP_ACTIVE) {
		/* Claimed while restoring (a crash, a stop): as after a start. */
		if (s->state == SESSION_STOPPING)
			teardown_after_start(s);
		else
			state_phase(s, PHASE_BOOTED);
	} else if (tj->rc < 0) {
		restore_failed(s, tj->err.msg);
	} else {
		log_info("session %s: restored instance %s", s->key, s->inst->id);
		start_running(s, true);
	}
	tier_job_free(tj);
}

void tiers_restore(struct session *s)
{
	if (!tiers_image_fits(s)) {
		log_info("session %s: the saved memory no longer fits the settings; discarding it",
			 s->key);
		text_set(&s->stop_detail, "the saved memory image does not fit the settings");
		teardown_begin_expected(s, "settings-changed");
		return;
	}
	if (!instance_resume(s->inst))
		fatal("session %s: suspended instance %s is not suspended (bug)", s->key, s->inst->id);
	text_set(&s->warning, NULL);
	text_set(&s->exit_detail, NULL);
	free(s->start_err);
	s->start_err = NULL;
	s->start_began = mono_now();
	metrics_inc(MX_VM_STARTS, MSTART_RESTORE);
	state_set(s, SESSION_STARTING, PHASE_RESTORING, EV_STARTING, json_pack("{s:b}", "restore", 1));
	persist_write(s, NULL, NULL);
	struct tier_job *tj = tier_job_new(s, s->saved->path);
	session_submit(s, &tj->job, restore_run, restore_done, "restore");
}

/* ---- at load ------------------------------------------------------------------------ */

void tiers_adopt_suspended(struct session *s, const char *instance_id)
{
	uuid_t u;

	if (uuid_parse(instance_id, u) < 0)
		return;
	struct instance *inst = instance_new(s->prefix, u);
	inst->owner = s;
	/* ACTIVE -> STOP_REQUESTED -> SUSPENDED: nobody else knows it yet. */
	instance_claim_expected_stop(inst);
	instance_suspend(inst);
	s->inst = inst;
	instance_index_add(inst);
	if (s->host != NULL)
		hosts_commit(s, s->host);   /* its restore needs the room it had */
	s->core->stats.adopted++;
	log_info("session %s: suspended instance %s found again (image %s)", s->key, inst->id,
		 s->saved->path);
	state_set(s, SESSION_SUSPENDED, PHASE_IDLE, EV_SUSPENDED,
		  json_pack("{s:b, s:o}", "adopted", 1, "saved_state", tiers_saved_json(s)));
}

/* The recorded instance's domain does not run: its image, if it exists
 * and fits, makes the session suspended again; otherwise the instance is
 * lost (an image that exists is left to the sweep: it is not in live). */
void tiers_load_saved(struct session *s, const char *instance_id, bool found, json_t *live)
{
	bool fits = found && tiers_image_fits(s);

	if (fits && s->state != SESSION_FAILED) {
		json_array_append_new(live, json_string(s->saved->path));
		tiers_adopt_suspended(s, instance_id);
		return;
	}
	log_warn("session %s: the saved memory of instance %s %s", s->key, instance_id,
		 found ? "no longer fits the settings" : "is gone");
	tiers_forget(s);
	reconcile_lost(s, instance_id);
	str_copy(s->last_stop_reason, sizeof s->last_stop_reason, found ? "settings-changed" : "lost");
	text_set(&s->last_stop_detail, found ? "the saved memory image does not fit the settings"
					     : "the saved memory image is gone");
	persist_write(s, NULL, NULL);
}

/* Last written at or after since (wall clock)?  Unknown: yes (kept).
 * 50 ms of margin: file times come from the kernel's coarse clock, which
 * lags by up to a tick. */
static bool written_since(const char *path, double since)
{
	struct stat sb;

	return stat(path, &sb) != 0 ||
	       (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9 >= since - 0.05;
}

int tiers_sweep(struct host *h, json_t *live, double since, struct cause *c)
{
	struct core *core = h->core;
	struct driver *drv = h->drv;
	json_t *names = NULL, *v;
	char pfx[32], path[4400];
	int deleted = 0;
	size_t i;

	snprintf(pfx, sizeof pfx, "%s-", core->prefix);
	if (drv->ops->image_list(drv, core->save_dir, pfx, &names, c) < 0)
		return -1;
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		size_t n = strlen(name), k = strlen(IMAGE_SUFFIX);
		snprintf(path, sizeof path, "%s/%s", core->save_dir, name);
		if (n <= k || strcmp(name + n - k, IMAGE_SUFFIX) != 0 ||
		    json_array_has_string(live, path) || written_since(path, since))
			continue;
		struct cause e;
		if (drv->ops->image_delete(drv, path, &e) == 0) {
			log_info("tiers: removed memory image %s (no session keeps it)", path);
			deleted++;
		} else {
			log_warn("tiers: cannot remove memory image %s: %s", path, e.msg);
		}
	}
	json_decref(names);
	return deleted;
}
