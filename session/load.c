/*
 * load.c — start-up: the sessions come back from their state files, and
 * the daemon's view is reconciled with what each host runs, as it
 * connects (at start-up, and again every time it comes back).
 *
 * Each state file that parses becomes a session (one that does not, or
 * that names a host the configuration lacks, is logged and left alone).
 * Then, per host, libvirt lists this daemon's domains there once (its
 * prefix carries the daemon id), and each session of the host is
 * reconciled with that one listing: a domain a state file recorded is
 * adopted (the session is running again, with no new boot) and a
 * recorded instance whose domain is gone is cleaned up after ("lost"),
 * unless it was suspended and its memory image is still there (then it is
 * suspended again, tiers.c); a
 * current instance still listed is kept and one that is not goes down
 * the spontaneous-exit path (reconcile_listed).  A domain of ours that no
 * session has is an orphan and destroyed; scratch and boot volumes of
 * instances that no longer exist are swept, and so are memory images no
 * session of the host keeps.  A second daemon on the same
 * libvirtd has another id, so neither touches the other's domains.
 *
 * A host being reconciled takes no new instance (hosts.c: it is not up),
 * so the instances that may exist there are those of its sessions when
 * the pass begins: that set, taken on the loop before the listing, is
 * what is never an orphan and whose volumes are never stale.
 */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/jsonplain.h"
#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"


/* A state file left alone, and why (the path is made only then: at
 * start-up with 100,000 files, for every one it was needless work). */
static void skip(const struct core *core, const char *file, const char *why)
{
	log_err("state file %s/%s: %s; skipped", core->sessions_dir, file, why);
}

/*
 * The state files are read on a thread of their own while the loop's
 * thread parses those already read and makes sessions of them: at
 * start-up with 100,000 files, opening and reading them is about a
 * quarter of the work.  The reader fills batches (names and texts, in the
 * directory's order) from a pool of NBATCH that the loop's thread hands
 * back once done with them: the reader allocates nothing, and memory
 * allocated on one thread is never freed on the other (glibc's arenas made
 * that slower than reading on one thread).  A file that does not fit a
 * batch is read again on the loop's thread.  The loop's thread alone
 * parses, logs and touches the core.
 */
#define NBATCH 4
#define BATCH_FILES 512
#define BATCH_BYTES (512 << 10)

enum text_kind { TEXT_READ, TEXT_ERROR, TEXT_TOO_BIG };

struct batch {
	struct batch *next;
	size_t n, used;
	struct {
		unsigned name, text;            /* offsets in data */
		long len;
		enum text_kind kind;            /* TEXT_ERROR: text is why */
	} f[BATCH_FILES];
	char data[BATCH_BYTES];
};

struct batch_queue {
	struct batch *head, *tail;
};

struct reader {
	int dirfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;                /* a batch was queued */
	struct batch_queue full, free;
	bool done;                          /* every file is in full */
	int error;                          /* errno: the directory could not be read */
};

static void queue_put(struct reader *r, struct batch_queue *q, struct batch *b)
{
	pthread_mutex_lock(&r->lock);
	b->next = NULL;
	if (q->tail != NULL)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* The next batch of q; NULL when q is empty and the reader is done. */
static struct batch *queue_take(struct reader *r, struct batch_queue *q)
{
	pthread_mutex_lock(&r->lock);
	while (q->head == NULL && !r->done)
		pthread_cond_wait(&r->cond, &r->lock);
	struct batch *b = q->head;
	if (b != NULL && (q->head = b->next) == NULL)
		q->tail = NULL;
	pthread_mutex_unlock(&r->lock);
	return b;
}

static void reader_end(struct reader *r, int error)
{
	pthread_mutex_lock(&r->lock);
	r->done = true;
	r->error = error;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Copies s into b's data: its offset. */
static unsigned batch_add(struct batch *b, const char *s, size_t n)
{
	unsigned at = (unsigned)b->used;

	memcpy(b->data + at, s, n);
	b->data[at + n] = '\0';
	b->used += n + 1;
	return at;
}

/* Reads file into b (true), or says b is too full for it (false). */
static bool batch_read(struct batch *b, int dirfd, const char *file, size_t namelen)
{
	struct cause c;
	size_t left = BATCH_BYTES - b->used;

	if (b->n == BATCH_FILES || left < namelen + 1 + sizeof c.msg)
		return false;
	unsigned name = batch_add(b, file, namelen);
	long len = file_read_into_at(dirfd, file, b->data + b->used, left - namelen - 1, &c);
	if (len == -2 && b->n > 0) {
		b->used = name;                 /* maybe it fits an empty batch */
		return false;
	}
	b->f[b->n].name = name;
	b->f[b->n].len = len;
	b->f[b->n].kind = len >= 0 ? TEXT_READ : len == -1 ? TEXT_ERROR : TEXT_TOO_BIG;
	if (len >= 0) {
		b->f[b->n].text = (unsigned)b->used;
		b->used += (size_t)len + 1;
	} else if (len == -1) {
		b->f[b->n].text = batch_add(b, c.msg, strlen(c.msg));
	}
	b->n++;
	return true;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int fd = dup(r->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct batch *b = NULL;

	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		reader_end(r, e);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.') {
			/* A write that a crash interrupted: the old file stands. */
			if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0)
				unlinkat(r->dirfd, de->d_name, 0);
			continue;
		}
		if (n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		for (;;) {
			if (b == NULL) {
				b = queue_take(r, &r->free);
				b->n = b->used = 0;
			}
			if (batch_read(b, r->dirfd, de->d_name, n))
				break;
			queue_put(r, &r->full, b);
			b = NULL;
		}
	}
	closedir(d);
	if (b != NULL)
		queue_put(r, &r->full, b);
	reader_end(r, 0);
	return NULL;
}

/* A state file's text becomes a session, or is logged and left alone. */
static void load_one(struct core *core, const char *file, const char *text, size_t len)
{
	struct cause c;
	json_error_t e;

	json_t *doc = json_plain_loadb(text, len, 0, &e);
	if (doc == NULL) {
		cause_set(&c, CAUSE_INTERNAL, "not valid JSON (line %d: %s)", e.line, e.text);
		skip(core, file, c.msg);
		return;
	}
	struct session *s = persist_load(core, doc, &c);
	json_decref(doc);
	if (s == NULL) {
		skip(core, file, c.msg);
		return;
	}
	char want[64];
	snprintf(want, sizeof want, "%s.json", s->id);
	if (strcmp(want, file) != 0 || core_find(core, s->owner, s->name) != NULL) {
		cause_set(&c, CAUSE_INTERNAL, "name or id clash (%s)", s->key);
		skip(core, file, c.msg);
		session_unref(s);
		return;
	}
	session_set_life(s, LIFE_LIVE);
	core_register(s);
}

static void load_batch(struct core *core, int dirfd, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const char *file = b->data + b->f[i].name;
		const char *text = b->data + b->f[i].text;
		struct cause c;
		size_t len;

		switch (b->f[i].kind) {
		case TEXT_READ:
			load_one(core, file, text, (size_t)b->f[i].len);
			break;
		case TEXT_ERROR:
			skip(core, file, text);
			break;
		case TEXT_TOO_BIG: {
			char *big = file_read_at(dirfd, file, 4 << 20, &len, &c);
			if (big == NULL) {
				skip(core, file, c.msg);
				break;
			}
			load_one(core, file, big, len);
			free(big);
			break;
		}
		}
	}
}

static void load_files(struct core *core)
{
	struct reader r = { .dirfd = open(core->sessions_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
	struct batch *pool[NBATCH], *b;
	pthread_t tid;
	int rc;

	if (r.dirfd < 0) {
		log_err("cannot read %s: %s", core->sessions_dir, strerror(errno));
		return;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	for (int i = 0; i < NBATCH; i++)
		queue_put(&r, &r.free, pool[i] = XNEW(pool[i]));
	if ((rc = pthread_create(&tid, NULL, reader_main, &r)) != 0)
		fatal("cannot start the state file reader: %s", strerror(rc));
	while ((b = queue_take(&r, &r.full)) != NULL) {
		load_batch(core, r.dirfd, b);
		queue_put(&r, &r.free, b);
	}
	pthread_join(tid, NULL);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	close(r.dirfd);
	for (int i = 0; i < NBATCH; i++)
		free(pool[i]);
	if (r.error != 0)
		log_err("cannot read %s: %s", core->sessions_dir, strerror(r.error));
	else
		log_info("sessiond: %zu session(s) loaded", core->nsessions);
}

struct load_job {
	struct job job;
	struct host *h;
	json_t *known;                      /* instance ids of h's sessions at the start */
	json_t *domains;                    /* listed on the worker */
	json_t *orphans;
	json_t *images;                     /* {"path": found} of h's sessions' images */
	json_t *live_images;                /* paths of the images kept */
	double live_taken;                  /* wall clock when live_images was */
	int rc;
	unsigned epoch;                     /* of the connection it reconciles */
	struct cause err;
	void (*done)(struct host *h, bool ok, unsigned epoch, void *arg);
	void *arg;
};

bool json_array_has_string(json_t *a, const char *str)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), str) == 0)
			return true;
	}
	return false;
}

static bool listed(json_t *domains, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(domains, i, v) {
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (uuid != NULL && strcmp(uuid, id) == 0)
			return true;
	}
	return false;
}

/* Worker: which recorded memory images exist. */
static void images_check(struct load_job *lj)
{
	struct driver *drv = lj->h->drv;
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

static void load_list_run(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct driver *drv = lj->h->drv;
	char pfx[32];

	snprintf(pfx, sizeof pfx, "%s-", lj->h->core->prefix);
	lj->rc = drv->ops->domain_list(drv, pfx, &lj->domains, &lj->err);
	images_check(lj);
}

/* Worker: orphans go, stale volumes go.  What cannot go is said; the
 * next pass tries again. */
static void load_cleanup_run(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct driver *drv = lj->h->drv;
	struct cause c;
	size_t i;
	json_t *v;

	json_array_foreach(lj->orphans, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (drv->ops->domain_destroy(drv, uuid, &c) == 0)
			log_warn("host %s: destroyed orphan domain %s (no session owns it)",
				 lj->h->name, name);
		else
			log_err("host %s: cannot destroy orphan domain %s: %s", lj->h->name, name,
				c.msg);
	}
	if (storage_sweep(lj->h->storage, lj->known, &c) < 0)
		log_warn("host %s: storage sweep failed: %s", lj->h->name, c.msg);
	if (tiers_sweep(lj->h, lj->live_images, lj->live_taken, &c) < 0)
		log_warn("host %s: sweep of %s failed: %s", lj->h->name, lj->h->core->save_dir,
			 c.msg);
}

static void load_job_end(struct load_job *lj, bool ok)
{
	json_decref(lj->known);
	json_decref(lj->domains);
	json_decref(lj->orphans);
	json_decref(lj->images);
	json_decref(lj->live_images);
	if (lj->done != NULL)
		lj->done(lj->h, ok, lj->epoch, lj->arg);
	free(lj);
}

static void load_cleanup_done(struct job *j)
{
	load_job_end((struct load_job *)j, true);
}

/* One session of the host, against the listing: a recorded instance is
 * adopted, suspended again (its image is there) or lost, a current one
 * kept or sent down the exit path.  A suspended session's image is kept. */
static void reconcile_one(struct load_job *lj, struct session *s)
{
	if (s->loaded_instance[0] != '\0') {
		if (listed(lj->domains, s->loaded_instance) && s->state != SESSION_FAILED) {
			tiers_forget(s);        /* restored meanwhile: the image is stale */
			reconcile_adopt(s, s->loaded_instance);
		} else if (s->saved != NULL) {
			tiers_load_saved(s, s->loaded_instance, image_found(lj, s), lj->live_images);
		} else {
			reconcile_lost(s, s->loaded_instance);
		}
		s->loaded_instance[0] = '\0';
		return;
	}
	if (s->saved != NULL)
		json_array_append_new(lj->live_images, json_string(s->saved->path));
	if (s->inst != NULL && json_array_has_string(lj->known, s->inst->id)) {
		reconcile_listed(s, listed(lj->domains, s->inst->id));
	}
}

/* The image directory is the daemon's, not the host's: the images of the
 * other hosts' sessions, and any a save in flight writes, are kept too. */
static void keep_others_images(struct load_job *lj)
{
	struct list_node *pos;

	list_foreach(pos, &lj->h->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host != lj->h && s->saved != NULL)
			json_array_append_new(lj->live_images, json_string(s->saved->path));
		if (s->saving != NULL)
			json_array_append_new(lj->live_images, json_string(s->saving));
	}
}

static void load_list_done(struct job *j)
{
	struct load_job *lj = (struct load_job *)j;
	struct host *h = lj->h;
	struct list_node *pos, *tmp;
	size_t i;
	json_t *v;

	if (lj->rc < 0) {
		log_err("host %s: cannot list domains: %s; reconciling it later", h->name,
			lj->err.msg);
		load_job_end(lj, false);
		return;
	}
	lj->live_images = json_array();
	list_foreach_safe(pos, tmp, &h->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host == h)
			reconcile_one(lj, s);
	}
	keep_others_images(lj);
	lj->live_taken = wall_now();
	lj->orphans = json_array();
	json_array_foreach(lj->domains, i, v) {
		const char *uuid = json_string_value(json_object_get(v, "uuid"));
		if (uuid != NULL && !json_array_has_string(lj->known, uuid))
			json_array_append(lj->orphans, v);
	}
	lj->job.run = load_cleanup_run;
	lj->job.done = load_cleanup_done;
	lj->job.what = "sweep";
	workers_submit(h->workers, &lj->job);
}

void load_host(struct host *h, void (*done)(struct host *h, bool ok, unsigned epoch, void *arg),
	       void *arg)
{
	struct load_job *lj = XNEW(lj);
	struct list_node *pos;

	lj->h = h;
	lj->epoch = h->epoch;
	lj->done = done;
	lj->arg = arg;
	lj->known = json_array();
	lj->images = json_object();
	list_foreach(pos, &h->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host != h)
			continue;
		if (s->loaded_instance[0] != '\0')
			json_array_append_new(lj->known, json_string(s->loaded_instance));
		if (s->inst != NULL)
			json_array_append_new(lj->known, json_string(s->inst->id));
		if (s->saved != NULL)
			json_object_set_new(lj->images, s->saved->path, json_false());
	}
	lj->job.run = load_list_run;
	lj->job.done = load_list_done;
	lj->job.what = "load";
	workers_submit(h->workers, &lj->job);
}

/* ---- start-up ------------------------------------------------------------------ */

struct load_all {
	size_t left;
	void (*done)(struct core *, void *);
	void *arg;
	struct core *core;
};

/* A host's first pass: up, or down and retried (hosts.c decides). */
static void host_loaded(struct host *h, bool ok, unsigned epoch, void *arg)
{
	struct load_all *la = arg;

	if (h != NULL)
		hosts_loaded(h, ok, epoch);
	if (--la->left > 0)
		return;
	if (la->done != NULL)
		la->done(la->core, la->arg);
	free(la);
}

void load_sessions(struct core *core, void (*done)(struct core *core, void *arg), void *arg)
{
	struct load_all *la = XNEW(la);

	load_files(core);
	la->done = done;
	la->arg = arg;
	la->core = core;
	la->left = 1;                       /* ours, dropped below */
	for (size_t i = 0; i < core->nhosts; i++) {
		if (core->hosts[i].link != HOST_SYNCING)
			continue;
		la->left++;
		load_host(&core->hosts[i], host_loaded, la);
	}
	host_loaded(NULL, true, 0, la);
}
