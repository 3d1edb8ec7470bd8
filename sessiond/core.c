/*
 * core.c — the daemon's shared context: start-up, load and reconcile,
 * libvirt reconnects, shutdown.
 *
 * At start the daemon reloads its sessions from the state directory, asks
 * libvirt which of its domains run (its own: names with its prefix, which
 * carries the daemon id kept in <state>/daemon-id), adopts those a session
 * recorded, cleans up after the ones that vanished, destroys orphans (its
 * prefix, no session) and sweeps stale scratch volumes.  A second daemon
 * on the same libvirtd has another id, so neither touches the other's
 * domains; its storage pool is named after that id too (storage.c).
 */
#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "session.h"
#include "storage.h"

/* ---- daemon id and host facts ---------------------------------------- */

static int daemon_id_load(struct core *core, struct cause *c)
{
	char path[4200];
	uuid_t u;
	char *text;

	snprintf(path, sizeof path, "%s/daemon-id", core->cfg->state_dir);
	text = file_read_all(path, 64, NULL, NULL);
	if (text != NULL) {
		text[strcspn(text, "\n")] = '\0';
		if (uuid_parse(text, u) == 0) {
			snprintf(core->daemon_id, sizeof core->daemon_id, "%s", text);
			free(text);
			return 0;
		}
		free(text);
		cause_set(c, 0, "%s: not a uuid (remove it only if no domain of this daemon runs)",
			  path);
		return -1;
	}
	uuid_generate_random(u);
	uuid_unparse_lower(u, core->daemon_id);
	char line[40];
	snprintf(line, sizeof line, "%s\n", core->daemon_id);
	return file_write_atomic(core->cfg->state_dir, "daemon-id", line, strlen(line), 0644, c);
}

/* The pool's name when none is configured: the one recorded in
 * <state>/pool-name (an installation from before that keeps its
 * "sessiond" pool, see storage.h), else "" and storage_init chooses. */
static int pool_name_load(struct core *core, char *name, size_t len, struct cause *c)
{
	char path[4200];
	char *text;

	name[0] = '\0';
	snprintf(path, sizeof path, "%s/pool-name", core->cfg->state_dir);
	if ((text = file_read_all(path, 256, NULL, NULL)) == NULL)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	if (text[0] == '\0' || text[n] != '\0' || n >= len) {
		cause_set(c, 0, "%s: not a pool name", path);
		free(text);
		return -1;
	}
	snprintf(name, len, "%s", text);
	free(text);
	return 0;
}

/* The first start that chose the legacy pool records it: it stays this
 * state directory's pool even when libvirt lost it meanwhile. */
static int pool_name_record(struct core *core, const char *recorded, struct cause *c)
{
	const char *name = storage_pool(core->storage);
	char line[300];

	if (core->cfg->pool != NULL || recorded[0] != '\0' ||
	    strcmp(name, STORAGE_LEGACY_POOL) != 0)
		return 0;
	log_info("storage: keeping the pool '%s' of an earlier sessiond (recorded in %s/pool-name)",
		 name, core->cfg->state_dir);
	snprintf(line, sizeof line, "%s\n", name);
	return file_write_atomic(core->cfg->state_dir, "pool-name", line, strlen(line), 0644, c);
}

/* KVM guests never boot on a CPU without vmx/svm even when /dev/kvm opens. */
static bool kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool flags = false;

	if (fd < 0)
		return false;
	close(fd);
	char *cpu = file_read_all("/proc/cpuinfo", 1 << 22, NULL, NULL);
	if (cpu != NULL) {
		flags = strstr(cpu, " vmx") != NULL || strstr(cpu, " svm") != NULL;
		free(cpu);
	}
	return flags;
}

/* ---- driver events ---------------------------------------------------- */

static void schedule_reconnect(struct core *core);

static void on_disconnected(void *arg, const char *why)
{
	struct core *core = arg;

	/* Event thread: only flag it; the loop picks it up. */
	log_warn("libvirt: connection to %s lost (%s)", core->cfg->uri, why);
	event_active(core->reconnect_ev, EV_READ, 0);
}

struct reconnect_job {
	struct job job;
	struct core *core;
	int rc;
	struct cause err;
};

static void reconnect_run(struct job *j)
{
	struct reconnect_job *rj = (struct reconnect_job *)j;
	struct core *core = rj->core;

	rj->rc = core->drv->ops->open(core->drv, &rj->err);
	if (rj->rc == 0)
		rj->rc = storage_init(core->storage, &rj->err);
}

static void reconnect_done(struct job *j)
{
	struct reconnect_job *rj = (struct reconnect_job *)j;
	struct core *core = rj->core;
	struct list_node *pos, *tmp;

	if (rj->rc < 0) {
		log_warn("libvirt: reconnect failed: %s", rj->err.msg);
		free(rj);
		schedule_reconnect(core);
		return;
	}
	free(rj);
	log_info("libvirt: reconnected to %s; reconciling sessions", core->cfg->uri);
	core->connected = true;
	core->reconnect_backoff = 0;
	list_foreach_safe(pos, tmp, &core->sessions)
		session_reconcile(list_entry(pos, struct session, node));
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *core = arg;

	(void)fd;
	if (core->shutting_down)
		return;
	if (what & EV_READ) {
		/* The disconnect notice: wait a moment before the first try. */
		core->connected = false;
		schedule_reconnect(core);
		return;
	}
	struct reconnect_job *rj = calloc(1, sizeof *rj);
	if (rj == NULL)
		fatal("out of memory");
	rj->core = core;
	rj->job.run = reconnect_run;
	rj->job.done = reconnect_done;
	rj->job.what = "reconnect";
	workers_submit(core->workers, &rj->job);
}

/* Backoff 1 s, 2 s, 4 s ... 30 s. */
static void schedule_reconnect(struct core *core)
{
	core->reconnect_backoff = core->reconnect_backoff == 0 ? 1
		: core->reconnect_backoff * 2 > 30 ? 30 : core->reconnect_backoff * 2;
	struct timeval tv = tv_from_seconds(core->reconnect_backoff);
	event_add(core->reconnect_ev, &tv);
}

/* ---- create / free ---------------------------------------------------- */

static void token_gone(struct token *t, const char *why, void *arg)
{
	struct session *s = t->session;

	(void)arg;
	log_debug("token %s: %s", t->id, why);
	/* core_free drops every token from memory; a detached one stays in
	 * its state file for the next start, so that is not a release. */
	if (t->detached && s != NULL && !s->core->freeing)
		session_persist(s, NULL, NULL);
}

static const struct token_table_ops core_token_ops = { token_gone };

static int make_dirs(struct core *core, struct cause *c)
{
	const struct config *cfg = core->cfg;

	/* 0711: others may traverse, never list.  QEMU under qemu:///system
	 * runs as its own user and must reach STATE/pool and STATE/console;
	 * what is private (sessions/) has its own 0700 below. */
	if (mkdir_p(cfg->state_dir, 0711, c) < 0)
		return -1;
	snprintf(core->sessions_dir, sizeof core->sessions_dir, "%s/sessions", cfg->state_dir);
	snprintf(core->console_dir, sizeof core->console_dir, "%s/console", cfg->state_dir);
	if (mkdir_p(core->sessions_dir, 0700, c) < 0 || mkdir_p(core->console_dir, 0711, c) < 0)
		return -1;
	return 0;
}

/* Resident set in KiB (/proc/self/statm), -1 when unknown. */
static long rss_kib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	int n = fscanf(f, "%ld %ld", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* glibc keeps freed memory in its arenas; an idle daemon should not. */
static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *core = arg;
	long before = rss_kib();

	(void)fd;
	(void)what;
	core->trim_first = 0;
	malloc_trim(0);
	log_info("memory: freed heap returned after teardowns: RSS %ld -> %ld KiB",
		 before, rss_kib());
}

/* A teardown freed memory: trim once the burst is over (a quiet second),
 * not during it, where each trim walks a large heap on the loop (tens of
 * ms) and the memory is about to be used again; but at the latest 10 s
 * after the first teardown, so steady churn still gives memory back. */
void core_memory_idle(struct core *core)
{
	struct timeval tv = { 1, 0 };
	double now = mono_now();

	if (core->trim_ev == NULL)
		return;
	if (core->trim_first == 0)
		core->trim_first = now;
	else if (now - core->trim_first >= 10)
		return;                     /* due within a second anyway */
	evtimer_add(core->trim_ev, &tv);
}

struct core *core_new(struct event_base *base, const struct config *cfg,
		      struct driver *drv, struct cause *c)
{
	struct core *core = calloc(1, sizeof *core);
	char pool_path[4200], recorded[256];

	if (core == NULL)
		fatal("out of memory");
	core->base = base;
	core->cfg = cfg;
	core->drv = drv;
	core->started = mono_now();
	htab_init(&core->by_key);
	list_init(&core->sessions);
	if (make_dirs(core, c) < 0 || daemon_id_load(core, c) < 0 ||
	    pool_name_load(core, recorded, sizeof recorded, c) < 0) {
		free(core);
		return NULL;
	}
	snprintf(core->prefix, sizeof core->prefix, "sd-%.8s", core->daemon_id);
	core->kvm_usable = kvm_usable();
	core->workers = workers_new(base, cfg->workers, "libvirt");
	core->writer = workers_new(base, 1, "writer");
	core->vm_events = mailbox_new(base, session_vm_event_mail, core);
	core->tokens = token_table_new(base, &core_token_ops, core);
	core->reconnect_ev = event_new(base, -1, 0, reconnect_cb, core);
	core->trim_ev = evtimer_new(base, trim_cb, core);
	core->drv_events.lifecycle = session_vm_event;
	core->drv_events.disconnected = on_disconnected;
	drv->events = &core->drv_events;
	drv->events_arg = core;
	snprintf(pool_path, sizeof pool_path, "%s/pool", cfg->state_dir);
	/* A configured pool without a pool_path is used wherever it is. */
	core->storage = storage_new(drv, core->prefix,
				    cfg->pool ? cfg->pool : recorded[0] ? recorded : NULL,
				    cfg->pool_path ? cfg->pool_path : pool_path,
				    cfg->pool == NULL || cfg->pool_path != NULL, cfg->scratch_gib);
	/* Ready (the socket served) only once the pool is usable. */
	if (drv->ops->open(drv, c) < 0 || storage_init(core->storage, c) < 0 ||
	    pool_name_record(core, recorded, c) < 0) {
		core_free(core);
		return NULL;
	}
	core->connected = true;
	log_info("sessiond: daemon id %s, libvirt %s (%s), domain type %s", core->daemon_id,
		 drv->ops->uri(drv), drv->ops->kind(drv),
		 core->kvm_usable ? "kvm available" : "qemu (TCG; no usable KVM)");
	return core;
}

void core_set_hooks(struct core *core, const struct core_hooks *h, void *arg)
{
	core->hooks = h;
	core->hooks_arg = arg;
}

void core_submit(struct core *core, struct job *j)
{
	workers_submit(core->workers, j);
}

bool core_quiescent(struct core *core)
{
	struct list_node *pos, *tmp;

	if (workers_pending(core->workers) > 0 || workers_pending(core->writer) > 0)
		return false;
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->job_busy || s->state == SESSION_STARTING || s->state == SESSION_STOPPING)
			return false;
	}
	return true;
}

/* Daemon exit: VMs stay up (the next start adopts them); every queued
 * state-file write is flushed before the sessions go. */
void core_free(struct core *core)
{
	struct list_node *pos, *tmp;

	if (core == NULL)
		return;
	core->shutting_down = true;
	core->freeing = true;
	workers_free(core->workers);        /* in-flight libvirt jobs finish */
	core->workers = NULL;
	core->drv->ops->close(core->drv);   /* no lifecycle callback after this */
	mailbox_free(core->vm_events);
	token_table_free(core->tokens);
	workers_free(core->writer);         /* flush state files */
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		session_unregister(s);
		if (s->inst != NULL)
			instance_index_remove(s->inst);
		session_unref(s);
	}
	if (core->reconnect_ev != NULL)
		event_free(core->reconnect_ev);
	if (core->trim_ev != NULL)
		event_free(core->trim_ev);
	storage_free(core->storage);
	htab_free(&core->by_key);
	core->drv->events = NULL;
	free(core);
}

/* ---- load and reconcile ---------------------------------------------- */

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
	struct session *s = session_from_state(core, doc, &c);
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
	session_register(s);
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

struct load_job {
	struct job job;
	struct core *core;
	int phase;                          /* 0: list domains, 1: orphans + sweep */
	json_t *domains;
	json_t *orphans;
	json_t *live;
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
}

static void load_cleanup_done(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;

	json_decref(lj->domains);
	json_decref(lj->orphans);
	json_decref(lj->live);
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
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->loaded_instance[0] == '\0')
			continue;
		if (domain_uuid_in(lj->domains, s->loaded_instance) != NULL &&
		    s->state != SESSION_FAILED) {
			session_adopt(s, s->loaded_instance);
			json_array_append_new(lj->live, json_string(s->loaded_instance));
		} else {
			session_lost(s, s->loaded_instance);
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

void core_load(struct core *core, void (*done)(struct core *core, void *arg), void *arg)
{
	struct load_job *lj = calloc(1, sizeof *lj);

	if (lj == NULL)
		fatal("out of memory");
	load_files(core);
	lj->core = core;
	lj->done = done;
	lj->arg = arg;
	lj->job.run = load_list_run;
	lj->job.done = load_list_done;
	lj->job.what = "load";
	workers_submit(core->workers, &lj->job);
}
