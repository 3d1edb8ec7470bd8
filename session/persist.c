/*
 * persist.c — one JSON file per session in <state>/sessions/<id>.json.
 *
 * What survives a restart: identity, settings, bookkeeping, a failed state
 * and its reason, the id of the instance that was last started (so the
 * next daemon can adopt its domain or clean up after it) and the host it
 * runs on or the session is pinned to, the memory image of a suspended
 * instance (saved_state, tiers.c), and detached tokens.  A file from
 * before hosts names none: it belongs to the host "local" (or the only
 * one); a file that names a host the configuration lacks is not loaded.  Tokens bound to a connection do not survive: the connection
 * does not either.  Live state (holds, timers, parked callers) is rebuilt.
 *
 * Writes go to one writer thread in FIFO order (several writes of one
 * session land in the order they were made; a removal is never overtaken
 * by an older write).  Each write is temporary file, fsync, rename, fsync
 * of the directory (common/fileio.c), so a reader or a restarted daemon
 * never sees a torn file, and a reply that waited for it is on disk.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

#define STATE_VERSION 1

static json_t *detached_tokens_json(struct session *s)
{
	json_t *a = json_array();
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &s->tokens) {
		struct token *t = list_entry(pos, struct token, session_node);
		if (!t->detached || t->lease.state != LEASE_HELD)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:f}",
			"id", t->id, "reason", t->reason, "owner_uid", (int)t->uid,
			"owner_pid", (int)t->pid, "created", time_json(t->created),
			"expires", time_json(t->expires), "ttl_s", t->ttl));
	}
	return a;
}

json_t *persist_json(struct session *s)
{
	json_t *crashes = json_array();

	for (int i = 0; i < s->ncrash; i++)
		json_array_append_new(crashes, time_json(s->crash_times[i]));
	json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:o, s:o, s:i, s:s, s:s, s:f, s:b, s:o, s:o}",
		"version", STATE_VERSION, "name", s->name, "id", s->id,
		"owner_uid", (int)s->owner, "created", time_json(s->created),
		"settings", settings_to_json(&s->set), "start_count", (int)s->start_count,
		"last_stop_reason", s->last_stop_reason, "last_stop_detail", text_str(s->last_stop_detail),
		"uptime_total_s", session_uptime(s), "disk_created", s->disk_created,
		"crash_times", crashes, "tokens", detached_tokens_json(s));
	/* Suspended is what the file says; the next start checks the image
	 * before it believes it (load.c). */
	json_object_set_new(o, "state", json_string(state_name(
		s->state == SESSION_FAILED || s->state == SESSION_SUSPENDED ? s->state
									     : SESSION_STOPPED)));
	json_object_update_new(o, tiers_persist_json(s));
	json_object_set_new(o, "failed_reason", json_string(text_str(s->failed_reason)));
	json_object_set_new(o, "instance", s->inst ? json_string(s->inst->id) : json_null());
	json_object_set_new(o, "last_instance", json_string(s->last_instance));
	json_object_set_new(o, "prev_instance", json_string(s->prev_instance));
	json_object_set_new(o, "host", s->host ? json_string(s->host->name) : json_null());
	json_object_set_new(o, "pinned", json_boolean(s->pinned));
	return o;
}

/* The host the file names (none: before hosts, the default one, for a
 * session that needs a host).  -1 when it is not configured. */
static int load_host_of(struct session *s, json_t *doc, bool has_instance, struct cause *c)
{
	json_t *hv = json_object_get(doc, "host");
	const char *name = json_string_value(hv);
	bool persistent = s->set.storage == STORAGE_PERSISTENT;

	if (name != NULL) {
		s->host = hosts_find(s->core, name);
		s->pinned = json_is_true(json_object_get(doc, "pinned"));
	} else if (hv == NULL && (persistent || has_instance)) {
		s->host = hosts_default(s->core);
		s->pinned = persistent;
		name = HOST_LOCAL;
	}
	if (name != NULL && s->host == NULL) {
		cause_set(c, CAUSE_INTERNAL, "host '%s' is not configured (put its [host %s] "
			  "section back to load it)", name, name);
		return -1;
	}
	return 0;
}

static int load_fail(struct cause *c, const char *what)
{
	cause_set(c, CAUSE_INTERNAL, "%s", what);
	return -1;
}

static int load_bookkeeping(struct session *s, json_t *doc, struct cause *c)
{
	const char *created = NULL, *lsr = "", *lsd = "", *fr = "", *state = "stopped";
	json_t *crashes = NULL;
	int start_count = 0, disk_created = 0;
	double uptime = 0;
	json_error_t e;

	if (json_unpack_ex(doc, &e, 0, "{s:s, s?i, s?s, s?s, s?s, s?s, s?F, s?b, s?o}",
			   "created", &created, "start_count", &start_count,
			   "last_stop_reason", &lsr, "last_stop_detail", &lsd,
			   "failed_reason", &fr, "state", &state, "uptime_total_s", &uptime,
			   "disk_created", &disk_created, "crash_times", &crashes) < 0)
		return load_fail(c, e.text);
	if (!time_parse_rfc3339(created, &s->created))
		return load_fail(c, "bad 'created' time");
	s->start_count = (unsigned)start_count;
	snprintf(s->last_stop_reason, sizeof s->last_stop_reason, "%s", lsr);
	text_set(&s->last_stop_detail, lsd);
	text_set(&s->failed_reason, fr);
	s->uptime_total = uptime;
	s->disk_created = disk_created;
	/* Loaded: from new to what the file says (no event: nobody watches yet). */
	state_set(s, state_from_name(state) == SESSION_FAILED ? SESSION_FAILED : SESSION_STOPPED,
		  PHASE_IDLE, EV_NONE, NULL);
	size_t i;
	json_t *v;
	json_array_foreach(crashes, i, v) {
		if (s->ncrash <= CRASH_LOOP_MAX && json_is_string(v) &&
		    time_parse_rfc3339(json_string_value(v), &s->crash_times[s->ncrash]))
			s->ncrash++;
	}
	return 0;
}

/* Detached tokens come back with their remaining TTL; expired ones do not. */
static void load_tokens(struct session *s, json_t *doc)
{
	json_t *tokens = json_object_get(doc, "tokens");
	size_t i;
	json_t *v;

	json_array_foreach(tokens, i, v) {
		const char *id = NULL, *reason = "", *created = NULL, *expires = NULL;
		int uid = 0, pid = 0;
		double exp = 0, cr = 0;
		if (json_unpack(v, "{s:s, s?s, s?i, s?i, s:s, s:s}", "id", &id, "reason", &reason,
				"owner_uid", &uid, "owner_pid", &pid, "created", &created,
				"expires", &expires) < 0 ||
		    !time_parse_rfc3339(expires, &exp) || !time_parse_rfc3339(created, &cr))
			continue;
		if (exp <= wall_now() || token_find(s->core->tokens, id) != NULL)
			continue;
		struct token *t = token_new(s->core->tokens, id, s, NULL, NULL, (uid_t)uid,
					    (pid_t)pid, reason);
		t->created = cr;
		t->detached = true;
		holds_add_token(s, t);
		lease_hold(&s->lp, &t->lease);  /* held, as before the restart */
		token_set_ttl(t, exp - wall_now());
	}
}

struct session *persist_load(struct core *core, json_t *doc, struct cause *c)
{
	const char *name = NULL, *id = NULL;
	json_t *settings = NULL;
	int version = 0, owner = -1;
	json_error_t e;
	uuid_t u;

	if (json_unpack_ex(doc, &e, 0, "{s:i, s:s, s:s, s:i, s:o}", "version", &version,
			   "name", &name, "id", &id, "owner_uid", &owner, "settings", &settings) < 0) {
		cause_set(c, CAUSE_INTERNAL, "%s", e.text);
		return NULL;
	}
	if (version != STATE_VERSION || !registry_name_valid(name) || uuid_parse(id, u) < 0 ||
	    owner < 0) {
		cause_set(c, CAUSE_INTERNAL, "unsupported version, bad name, id or owner");
		return NULL;
	}
	struct session *s = session_alloc(core, (uid_t)owner, name, id);
	struct settings d;
	settings_builtin(&d);
	if (settings_parse(settings, &d, NULL, &s->set, c) < 0 ||
	    load_bookkeeping(s, doc, c) < 0) {
		session_unref(s);
		return NULL;
	}
	const char *inst = json_string_value(json_object_get(doc, "instance"));
	if (inst != NULL && uuid_parse(inst, u) == 0)
		snprintf(s->loaded_instance, sizeof s->loaded_instance, "%s", inst);
	if (load_host_of(s, doc, s->loaded_instance[0] != '\0', c) < 0) {
		session_unref(s);
		return NULL;
	}
	str_copy(s->last_instance, sizeof s->last_instance,
		 json_string_value(json_object_get(doc, "last_instance")));
	str_copy(s->prev_instance, sizeof s->prev_instance,
		 json_string_value(json_object_get(doc, "prev_instance")));
	tiers_persist_load(s, doc);
	load_tokens(s, doc);
	return s;
}

/* ---- the writer ------------------------------------------------------
 *
 * One job per session at a time: while a session's state file is being
 * written, further writes of it coalesce into one that follows (its text
 * is taken when it starts, so it holds everything asked until then).  A
 * burst of state changes (starting, running, stopped) under a busy writer
 * is then one or two writes instead of three, and a removal is never
 * overtaken by an older write.  A caller's done runs once a write that
 * began after it asked is on disk.
 */

struct write_job {
	struct job job;
	struct session *s;
	char *text;                         /* NULL: remove the file */
	char name[64];
	int rc;
	struct cause err;
	struct list_node waiters;           /* answered when this job is done */
};

/* Writer thread; the counts are atomics (metrics.h). */
static void write_run(struct job *j)
{
	struct write_job *w = (struct write_job *)j;
	const char *dir = w->s->core->sessions_dir;
	enum metrics_file_op op = w->text != NULL ? MFILE_WRITE : MFILE_REMOVE;
	double fsync_s = 0;

	if (w->text != NULL)
		w->rc = file_write_atomic_timed(dir, w->name, w->text, strlen(w->text), 0600,
						&fsync_s, &w->err);
	else
		w->rc = file_remove_durable_timed(dir, w->name, &fsync_s, &w->err);
	metrics_inc(MX_STATE_FILE_WRITES, op * 2 + (w->rc < 0));
	metrics_observe(MX_STATE_FILE_FSYNC, 0, fsync_s);
}

static void start_write(struct session *s);

static void write_done(struct job *j)
{
	struct write_job *w = (struct write_job *)j;
	struct session *s = w->s;

	if (w->rc < 0)
		session_log(s, LOG_LVL_ERR, NULL, "state file: %s", w->err.msg);
	s->writing = NULL;
	session_waiters_done(s, &w->waiters, w->rc < 0 ? &w->err : NULL);
	if (s->write_dirty && s->writing == NULL)
		start_write(s);
	session_unref(s);
	free(w->text);
	free(w);
}

/* Nothing is being written for s: write (or remove) what is asked now. */
static void start_write(struct session *s)
{
	struct write_job *w = XNEW(w);

	w->s = s;
	list_init(&w->waiters);
	list_splice_tail(&w->waiters, &s->write_waiters);
	if (s->life != LIFE_GONE) {
		json_t *doc = persist_json(s);
		w->text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(doc);
		if (w->text == NULL)
			fatal("out of memory serializing session %s", s->key);
	}
	snprintf(w->name, sizeof w->name, "%s.json", s->id);
	w->job.run = write_run;
	w->job.done = write_done;
	w->job.what = w->text != NULL ? "persist" : "unpersist";
	s->write_dirty = false;
	s->writing = w;
	session_ref(s);
	workers_submit(s->core->writer, &w->job);
}

static void ask_write(struct session *s, session_done_cb done, void *arg)
{
	if (done != NULL)
		session_waiter_add(&s->write_waiters, done, arg);
	s->write_dirty = true;
	if (s->writing == NULL)
		start_write(s);
}

void persist_write(struct session *s, session_done_cb done, void *arg)
{
	if (s->life == LIFE_GONE) {
		if (done != NULL)
			done(s, NULL, arg);
		return;
	}
	ask_write(s, done, arg);
}

void persist_remove(struct session *s, session_done_cb done, void *arg)
{
	session_set_life(s, LIFE_GONE);
	ask_write(s, done, arg);
}

/* What is asked so far is on disk when the write under way (or the one
 * that follows it, if more was asked since it began) is done. */
void persist_barrier(struct session *s, session_done_cb done, void *arg)
{
	if (s->writing == NULL && !s->write_dirty)
		done(s, NULL, arg);
	else if (s->write_dirty)
		session_waiter_add(&s->write_waiters, done, arg);
	else
		session_waiter_add(&s->writing->waiters, done, arg);
}
