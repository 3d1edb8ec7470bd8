/*
 * core.c — the context sessions live in: state directories, the daemon id,
 * workers, the registry, giving memory back.  The hosts and their
 * connections are hosts.c's.
 *
 * What survives a restart here: <state>/daemon-id, the uuid that names this
 * daemon's domains, volumes and storage pool ("sd-<first 8 hex>...").  It
 * is minted once, when the file does not exist; a file that exists but
 * cannot be read, or does not hold a uuid, stops the daemon: a new id
 * would orphan every running VM of the old one (neither adopted nor
 * swept).  And <state>/pool-name, only where an installation from before
 * keeps its "sessiond" pool (virt.h, storage_init).
 */
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

/* ---- daemon id ------------------------------------------------------------ */

static int daemon_id_mint(struct core *core, struct cause *c)
{
	char line[UUID_STR_LEN + 1];
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, core->daemon_id);
	snprintf(line, sizeof line, "%s\n", core->daemon_id);
	log_info("sessiond: new daemon id %s", core->daemon_id);
	return file_write_atomic(core->cfg->state_dir, "daemon-id", line, strlen(line), 0644, c);
}

static int daemon_id_load(struct core *core, struct cause *c)
{
	char path[4200];
	struct stat sb;
	uuid_t u;

	snprintf(path, sizeof path, "%s/daemon-id", core->cfg->state_dir);
	if (stat(path, &sb) < 0 && errno == ENOENT)
		return daemon_id_mint(core, c);
	char *text = file_read_all(path, 64, NULL, c);
	if (text == NULL)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	int ok = uuid_parse(text, u) == 0;
	if (ok)
		str_copy(core->daemon_id, sizeof core->daemon_id, text);
	free(text);
	if (!ok)
		cause_set(c, CAUSE_INTERNAL, "%s: not a uuid (remove it only if no domain of this "
			  "daemon runs)", path);
	return ok ? 0 : -1;
}

/* The pool's name when none is configured: the one recorded in
 * <state>/pool-name (an installation from before that keeps its
 * "sessiond" pool), else "" and storage_init chooses. */
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
	bool ok = text[0] != '\0' && text[n] == '\0' && n < len;
	if (ok)
		str_copy(name, len, text);
	else
		cause_set(c, CAUSE_INTERNAL, "%s: not a pool name", path);
	free(text);
	return ok ? 0 : -1;
}

/* The first start that chose the legacy pool records it: it stays this
 * state directory's pool even when libvirt lost it meanwhile. */
static int pool_name_record(struct core *core, const char *recorded, struct cause *c)
{
	const char *name = core->nhosts == 1 ? storage_pool(core->hosts[0].storage) : NULL;
	char line[300];

	if (core->cfg->pool != NULL || recorded[0] != '\0' || name == NULL ||
	    strcmp(name, STORAGE_LEGACY_POOL) != 0)
		return 0;
	log_info("storage: keeping the pool '%s' of an earlier sessiond (recorded in %s/pool-name)",
		 name, core->cfg->state_dir);
	snprintf(line, sizeof line, "%s\n", name);
	return file_write_atomic(core->cfg->state_dir, "pool-name", line, strlen(line), 0644, c);
}

static int make_dirs(struct core *core, struct cause *c)
{
	const struct core_config *cfg = core->cfg;

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

/* ---- memory ------------------------------------------------------------------ */

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

/* ---- create / free -------------------------------------------------------------- */

static void token_gone(struct token *t, const char *why, void *arg)
{
	struct session *s = t->session;

	(void)arg;
	log_debug("token %s: %s", t->id, why);
	/* core_free drops every token from memory; a detached one stays in
	 * its state file for the next start, so that is not a release. */
	if (t->detached && s != NULL && !s->core->freeing)
		persist_write(s, NULL, NULL);
}

static const struct token_table_ops core_token_ops = { token_gone };

static struct event *checked_event(struct event *ev)
{
	if (ev == NULL)
		fatal("cannot create an event");
	return ev;
}

/* The loop-side machinery: workers, mailbox, tokens, timers. */
static void core_machinery(struct core *core)
{
	struct event_base *base = core->base;

	core->workers = workers_new(base, 1, "jobs");
	core->writer = workers_new(base, 1, "writer");
	core->vm_events = mailbox_new(base, reconcile_vm_mail, core);
	core->tokens = token_table_new(base, &core_token_ops, core);
	core->trim_ev = checked_event(evtimer_new(base, trim_cb, core));
}

struct core *core_new(struct event_base *base, const struct core_config *cfg,
		      struct driver *const *drvs, struct cause *c)
{
	struct core *core = XNEW(core);
	char recorded[256];

	core->base = base;
	core->cfg = cfg;
	core->started = mono_now();
	htab_init(&core->by_key);
	list_init(&core->sessions);
	prng_init(&core->ids);
	if (make_dirs(core, c) < 0 || tiers_init(core, c) < 0 || daemon_id_load(core, c) < 0 ||
	    pool_name_load(core, recorded, sizeof recorded, c) < 0) {
		free(core);
		return NULL;
	}
	snprintf(core->prefix, sizeof core->prefix, "sd-%.8s", core->daemon_id);
	core_machinery(core);
	/* Ready (the socket served) only once the pools are usable. */
	if (hosts_open(core, drvs, recorded, c) < 0 || pool_name_record(core, recorded, c) < 0) {
		core_free(core);
		return NULL;
	}
	log_info("sessiond: daemon id %s, %zu host(s)", core->daemon_id, core->nhosts);
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
	for (size_t i = 0; i < core->nhosts; i++)
		if (workers_pending(core->hosts[i].workers) > 0)
			return false;
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (state_job_busy(s) || s->state == SESSION_STARTING || s->state == SESSION_STOPPING)
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
	hosts_close(core);                  /* in-flight libvirt jobs finish; no
					     * lifecycle callback after this */
	workers_free(core->workers);
	core->workers = NULL;
	mailbox_free(core->vm_events);
	token_table_free(core->tokens);
	workers_free(core->writer);         /* flush state files */
	list_foreach_safe(pos, tmp, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		core_unregister(s);
		if (s->inst != NULL)
			instance_index_remove(s->inst);
		session_unref(s);
	}
	if (core->trim_ev != NULL)
		event_free(core->trim_ev);
	hosts_free(core);
	htab_free(&core->by_key);
	free(core->by_seq);
	free(core);
}

/* ---- the registry ------------------------------------------------------------------- */

/*
 * Sessions by seq: an array in seq order (seqs only grow, so a new one is
 * appended), searched by bisection.  A session that leaves leaves a hole
 * (s NULL); the holes go once they are more than half of it, so the array
 * stays within twice the sessions and a search skips few holes.
 */
static size_t by_seq_index(const struct core *core, uint64_t seq)
{
	size_t lo = 0, hi = core->nby_seq;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (core->by_seq[mid].seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;                          /* the first slot above seq */
}

static void by_seq_add(struct core *core, struct session *s)
{
	if (core->nby_seq == core->by_seq_cap) {
		core->by_seq_cap = core->by_seq_cap ? core->by_seq_cap * 2 : 64;
		core->by_seq = xrealloc(core->by_seq, core->by_seq_cap * sizeof *core->by_seq);
	}
	core->by_seq[core->nby_seq++] = (struct seq_slot){ s->seq, s };
}

static void by_seq_remove(struct core *core, struct session *s)
{
	size_t i = by_seq_index(core, s->seq - 1), k = 0;

	if (i == core->nby_seq || core->by_seq[i].s != s)
		abort();                    /* registered sessions are all in it */
	core->by_seq[i].s = NULL;
	if (++core->by_seq_holes <= core->nby_seq / 2)
		return;
	for (i = 0; i < core->nby_seq; i++)
		if (core->by_seq[i].s != NULL)
			core->by_seq[k++] = core->by_seq[i];
	core->nby_seq = k;
	core->by_seq_holes = 0;
}

struct session *core_after(struct core *core, uint64_t seq)
{
	for (size_t i = by_seq_index(core, seq); i < core->nby_seq; i++)
		if (core->by_seq[i].s != NULL)
			return core->by_seq[i].s;
	return NULL;
}

void core_register(struct session *s)
{
	struct core *core = s->core;

	htab_insert(&core->by_key, &s->by_key, s->key);
	s->seq = ++core->next_seq;
	list_add_tail(&core->sessions, &s->node);
	by_seq_add(core, s);
	core->nsessions++;
	core->nstate[s->state]++;
}

void core_unregister(struct session *s)
{
	struct core *core = s->core;

	if (list_empty(&s->node))
		return;
	htab_remove(&core->by_key, &s->by_key);
	list_del(&s->node);
	by_seq_remove(core, s);
	core->nsessions--;
	core->nstate[s->state]--;
}

struct session *core_find(struct core *core, uid_t owner, const char *name)
{
	char key[SESSION_KEY_MAX];

	session_key(key, sizeof key, owner, name);
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
