/* observer.c — see observer.h. */
#include "observer.h"

#include <dirent.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/htab.h"

#define UUID_LEN 36
#define SCRATCH_SUFFIX "-scratch.qcow2"
#define IMAGE_SUFFIX ".save"

struct rec {
	struct htab_node node;
	struct observer_inst in;
};

/* One memory image file, by name. */
struct img {
	struct htab_node node;
	char name[160];
	char id[UUID_LEN + 1];
	bool gone;
};
#define POOLS_MAX 8

struct observer {
	char *pools[POOLS_MAX + 1];         /* copies: the caller's may go first */
	int poll_ms;
	bool pool_may_be_missing;
	char prefix[40];                    /* "<daemon prefix>-" */
	virConnectPtr conn;
	int callback;                       /* lifecycle callback id, -1 none */
	pthread_mutex_t lock;               /* guards recs and the counters */
	struct htab recs;                   /* id -> struct rec */
	char *image_dir;                    /* NULL: images are not watched */
	struct htab imgs;                   /* name -> struct img */
	long events, polls, poll_errors;
	char error[256];
	pthread_mutex_t poll_lock;          /* one listing applied at a time */
	pthread_t poller, loop;
	bool own_loop;
	_Atomic int quit_poller, quit_loop;
};

/* Keeps libvirt's last error (of this thread); never with ob->lock held. */
static void set_error(struct observer *ob, const char *what)
{
	virErrorPtr e = virGetLastError();

	pthread_mutex_lock(&ob->lock);
	snprintf(ob->error, sizeof ob->error, "%s: %s", what,
		 e != NULL && e->message != NULL ? e->message : "unknown libvirt error");
	pthread_mutex_unlock(&ob->lock);
}

/* Under ob->lock: the record of id, made on first sight. */
static struct observer_inst *rec_get(struct observer *ob, const char *id)
{
	struct htab_node *n = htab_find(&ob->recs, id);
	struct rec *r;

	if (n != NULL)
		return &htab_entry(n, struct rec, node)->in;
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		fputs("observer: out of memory\n", stderr);
		abort();
	}
	snprintf(r->in.id, sizeof r->in.id, "%s", id);
	htab_insert(&ob->recs, &r->node, r->in.id);
	return &r->in;
}

/* "<prefix>-<session>-<uuid>": the uuid and the session part. */
static bool parse_domain(const struct observer *ob, const char *name, char *id, char *session,
			 size_t slen)
{
	size_t pl = strlen(ob->prefix), n = name ? strlen(name) : 0;

	if (n < pl + UUID_LEN || strncmp(name, ob->prefix, pl) != 0)
		return false;
	snprintf(id, UUID_LEN + 1, "%s", name + n - UUID_LEN);
	size_t sl = n - pl - UUID_LEN;
	snprintf(session, slen, "%.*s", sl > 0 ? (int)sl - 1 : 0, name + pl);
	return true;
}

/* "<prefix>-<uuid>-scratch.qcow2": the uuid. */
static bool parse_scratch(const struct observer *ob, const char *name, char *id)
{
	size_t pl = strlen(ob->prefix), sl = strlen(SCRATCH_SUFFIX), n = name ? strlen(name) : 0;

	if (n != pl + UUID_LEN + sl || strncmp(name, ob->prefix, pl) != 0 ||
	    strcmp(name + n - sl, SCRATCH_SUFFIX) != 0)
		return false;
	snprintf(id, UUID_LEN + 1, "%s", name + pl);
	return true;
}

/* "<prefix>-<uuid>-<n>.save": the uuid. */
static bool parse_image(const struct observer *ob, const char *name, char *id)
{
	size_t pl = strlen(ob->prefix), n = strlen(name), k = strlen(IMAGE_SUFFIX);

	if (n < pl + UUID_LEN + 2 + k || strncmp(name, ob->prefix, pl) != 0 ||
	    strcmp(name + n - k, IMAGE_SUFFIX) != 0 || name[pl + UUID_LEN] != '-')
		return false;
	snprintf(id, UUID_LEN + 1, "%s", name + pl);
	return true;
}

/* ---- lifecycle events ------------------------------------------------- */

/* libvirt's event thread: one STARTED or STOPPED of one of the daemon's
 * domains.  (The order of two domains' events proves nothing: the test
 * driver removes a destroyed domain before it queues its STOPPED, so the
 * next domain's STARTED may come first.) */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct observer *ob = opaque;
	char id[UUID_LEN + 1], session[16];

	(void)conn;
	(void)detail;
	if (!parse_domain(ob, virDomainGetName(dom), id, session, sizeof session))
		return 0;
	pthread_mutex_lock(&ob->lock);
	ob->events++;
	struct observer_inst *in = rec_get(ob, id);
	snprintf(in->session, sizeof in->session, "%s", session);
	if (event == VIR_DOMAIN_EVENT_STARTED) {
		in->started++;
	} else if (event == VIR_DOMAIN_EVENT_STOPPED) {
		in->stopped++;
	}
	pthread_mutex_unlock(&ob->lock);
	return 0;
}

/* ---- the pool ------------------------------------------------------------ */

struct gone_scan {
	json_t *present;                    /* id -> true */
};

static void mark_gone(struct htab_node *n, void *arg)
{
	struct observer_inst *in = &htab_entry(n, struct rec, node)->in;
	struct gone_scan *g = arg;

	if (in->vol_seen && !in->vol_gone && json_object_get(g->present, in->id) == NULL)
		in->vol_gone = true;
}

/* One pool's volume names into names; -1 with the error kept. */
static int pool_volumes(struct observer *ob, const char *name, json_t *names)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(ob->conn, name);
	virStorageVolPtr *vols = NULL;

	if (pool == NULL) {
		if (ob->pool_may_be_missing && virGetLastErrorCode() == VIR_ERR_NO_STORAGE_POOL)
			return 0;
		set_error(ob, "look up the pool");
		return -1;
	}
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0)
		set_error(ob, "list the pool's volumes");
	for (int i = 0; i < n; i++) {
		const char *vname = virStorageVolGetName(vols[i]);
		json_array_append_new(names, json_string(vname ? vname : ""));
		virStorageVolFree(vols[i]);
	}
	free(vols);
	virStoragePoolFree(pool);
	return n < 0 ? -1 : 0;
}

/* Every pool's volume names, or NULL with the error kept. */
static json_t *list_volumes(struct observer *ob)
{
	json_t *names = json_array();

	for (int i = 0; ob->pools[i] != NULL; i++) {
		if (pool_volumes(ob, ob->pools[i], names) < 0) {
			json_decref(names);
			return NULL;
		}
	}
	return names;
}

/* Under ob->lock: one listing of the pool applied. */
static void apply_volumes(struct observer *ob, json_t *present)
{
	const char *key;
	json_t *t;

	json_object_foreach(present, key, t) {
		struct observer_inst *in = rec_get(ob, key);
		in->vol_back |= in->vol_gone;
		in->vol_seen = true;
	}
	struct gone_scan g = { present };
	htab_each(&ob->recs, mark_gone, &g);
}

/* The image files of the daemon now, or NULL when the directory cannot
 * be read (a directory not made yet is empty). */
static json_t *list_images(struct observer *ob)
{
	json_t *names = json_array();
	char id[UUID_LEN + 1];
	DIR *d;
	struct dirent *de;

	if (ob->image_dir == NULL)
		return names;
	if ((d = opendir(ob->image_dir)) == NULL)
		return names;
	while ((de = readdir(d)) != NULL)
		if (parse_image(ob, de->d_name, id))
			json_array_append_new(names, json_string(de->d_name));
	closedir(d);
	return names;
}

struct img_scan {
	struct observer *ob;
	json_t *present;                    /* name -> true */
};

static void mark_img_gone(struct htab_node *n, void *arg)
{
	struct img *im = htab_entry(n, struct img, node);
	struct img_scan *g = arg;

	if (!im->gone && json_object_get(g->present, im->name) == NULL)
		im->gone = true;
}

/* Under ob->lock: one listing of the image directory applied. */
static void apply_images(struct observer *ob, json_t *names)
{
	json_t *present = json_object(), *v;
	size_t i;

	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		struct htab_node *n = htab_find(&ob->imgs, name);
		struct img *im = n != NULL ? htab_entry(n, struct img, node) : NULL;
		json_object_set_new(present, name, json_true());
		if (im == NULL) {
			im = calloc(1, sizeof *im);
			if (im == NULL)
				abort();
			snprintf(im->name, sizeof im->name, "%s", name);
			parse_image(ob, name, im->id);
			htab_insert(&ob->imgs, &im->node, im->name);
			rec_get(ob, im->id)->images_seen++;
		} else if (im->gone) {
			im->gone = false;
			rec_get(ob, im->id)->images_back++;
		}
	}
	struct img_scan g = { ob, present };
	htab_each(&ob->imgs, mark_img_gone, &g);
	json_decref(present);
}

int observer_poll(struct observer *ob)
{
	char id[UUID_LEN + 1];
	json_t *v;
	size_t i;

	pthread_mutex_lock(&ob->poll_lock);
	json_t *names = list_volumes(ob);
	json_t *images = list_images(ob);
	json_t *present = json_object();
	json_array_foreach(names, i, v) {
		if (parse_scratch(ob, json_string_value(v), id))
			json_object_set_new(present, id, json_true());
	}
	pthread_mutex_lock(&ob->lock);
	if (names == NULL) {
		ob->poll_errors++;
	} else {
		ob->polls++;
		apply_volumes(ob, present);
		apply_images(ob, images);
	}
	pthread_mutex_unlock(&ob->lock);
	pthread_mutex_unlock(&ob->poll_lock);
	json_decref(images);
	json_decref(present);
	json_decref(names);
	return names == NULL ? -1 : 0;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *poller_main(void *arg)
{
	struct observer *ob = arg;

	while (!atomic_load(&ob->quit_poller)) {
		observer_poll(ob);
		nap_ms(ob->poll_ms > 0 ? ob->poll_ms : 5);
	}
	return NULL;
}

/* ---- libvirt's event loop, when the process has none ------------------- */

static void *loop_main(void *arg)
{
	struct observer *ob = arg;

	while (!atomic_load(&ob->quit_loop))
		virEventRunDefaultImpl();
	return NULL;
}

static void wake_once(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

static void loop_stop(struct observer *ob)
{
	atomic_store(&ob->quit_loop, 1);
	virEventAddTimeout(0, wake_once, NULL, NULL);
	pthread_join(ob->loop, NULL);
	ob->own_loop = false;
}

/* ---- life ---------------------------------------------------------------- */

struct observer *observer_new(const struct observer_opts *o, char *err, size_t errlen)
{
	struct observer *ob = calloc(1, sizeof *ob);

	if (ob == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ob->image_dir = o->image_dir != NULL ? strdup(o->image_dir) : NULL;
	for (int i = 0; i < POOLS_MAX && (o->pools ? o->pools[i] : i == 0 ? o->pool : NULL); i++)
		if ((ob->pools[i] = strdup(o->pools ? o->pools[i] : o->pool)) == NULL)
			break;
	ob->poll_ms = o->poll_ms;
	ob->pool_may_be_missing = o->pool_may_be_missing;
	ob->callback = -1;
	snprintf(ob->prefix, sizeof ob->prefix, "%s-", o->prefix);
	pthread_mutex_init(&ob->lock, NULL);
	pthread_mutex_init(&ob->poll_lock, NULL);
	htab_init(&ob->recs);
	htab_init(&ob->imgs);
	if (ob->pools[0] == NULL) {
		snprintf(err, errlen, "no pool, or out of memory");
		goto fail;
	}
	if (o->event_thread) {
		if (virEventRegisterDefaultImpl() < 0 ||
		    pthread_create(&ob->loop, NULL, loop_main, ob) != 0) {
			snprintf(err, errlen, "cannot run libvirt's event loop");
			goto fail;
		}
		ob->own_loop = true;
	}
	ob->conn = virConnectOpen(o->uri);
	if (ob->conn == NULL) {
		set_error(ob, o->uri);
		snprintf(err, errlen, "%s", ob->error);     /* no other thread yet */
		goto fail;
	}
	ob->callback = virConnectDomainEventRegisterAny(ob->conn, NULL,
		VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), ob, NULL);
	if (ob->callback < 0) {
		set_error(ob, "register for lifecycle events");
		snprintf(err, errlen, "%s", ob->error);
		goto fail;
	}
	if (pthread_create(&ob->poller, NULL, poller_main, ob) != 0) {
		snprintf(err, errlen, "cannot start the volume poller");
		goto fail;
	}
	return ob;
fail:
	if (ob->callback >= 0)
		virConnectDomainEventDeregisterAny(ob->conn, ob->callback);
	if (ob->own_loop)
		loop_stop(ob);
	if (ob->conn != NULL)
		virConnectClose(ob->conn);
	htab_free(&ob->recs);
	htab_free(&ob->imgs);
	free(ob->image_dir);
	for (int i = 0; ob->pools[i] != NULL; i++)
		free(ob->pools[i]);
	free(ob);
	return NULL;
}

static void free_rec(struct htab_node *n, void *arg)
{
	htab_remove(arg, n);
	free(htab_entry(n, struct rec, node));
}

static void free_img(struct htab_node *n, void *arg)
{
	htab_remove(arg, n);
	free(htab_entry(n, struct img, node));
}

void observer_free(struct observer *ob)
{
	if (ob == NULL)
		return;
	atomic_store(&ob->quit_poller, 1);
	pthread_join(ob->poller, NULL);
	virConnectDomainEventDeregisterAny(ob->conn, ob->callback);
	/* After the loop stops, no callback of ours can be running. */
	if (ob->own_loop)
		loop_stop(ob);
	virConnectClose(ob->conn);
	htab_each(&ob->recs, free_rec, &ob->recs);
	htab_free(&ob->recs);
	htab_each(&ob->imgs, free_img, &ob->imgs);
	htab_free(&ob->imgs);
	pthread_mutex_destroy(&ob->lock);
	pthread_mutex_destroy(&ob->poll_lock);
	free(ob->image_dir);
	for (int i = 0; ob->pools[i] != NULL; i++)
		free(ob->pools[i]);
	free(ob);
}

/* ---- questions ------------------------------------------------------------ */

static void running_one(struct htab_node *n, void *arg)
{
	struct observer_inst *in = &htab_entry(n, struct rec, node)->in;

	if (in->started > in->stopped)
		*(bool *)arg = false;
}

bool observer_all_stopped(struct observer *ob)
{
	bool all = true;

	pthread_mutex_lock(&ob->lock);
	htab_each(&ob->recs, running_one, &all);
	pthread_mutex_unlock(&ob->lock);
	return all;
}

struct each_arg {
	void (*fn)(const struct observer_inst *, void *);
	void *arg;
};

static void each_one(struct htab_node *n, void *arg)
{
	struct each_arg *e = arg;

	e->fn(&htab_entry(n, struct rec, node)->in, e->arg);
}

void observer_foreach(struct observer *ob, void (*fn)(const struct observer_inst *, void *),
		      void *arg)
{
	struct each_arg e = { fn, arg };

	pthread_mutex_lock(&ob->lock);
	htab_each(&ob->recs, each_one, &e);
	pthread_mutex_unlock(&ob->lock);
}

void observer_reset(struct observer *ob)
{
	pthread_mutex_lock(&ob->poll_lock);
	pthread_mutex_lock(&ob->lock);
	htab_each(&ob->recs, free_rec, &ob->recs);
	htab_each(&ob->imgs, free_img, &ob->imgs);
	pthread_mutex_unlock(&ob->lock);
	pthread_mutex_unlock(&ob->poll_lock);
}

static bool instance_volume(const char *name)
{
	size_t n = strlen(name);

	return (n > 14 && strcmp(name + n - 14, SCRATCH_SUFFIX) == 0) ||
	       (n > 11 && strcmp(name + n - 11, "-boot.qcow2") == 0);
}

int observer_leftovers(struct observer *ob, json_t **names)
{
	virDomainPtr *doms = NULL;
	size_t pl = strlen(ob->prefix), i;
	json_t *vols, *v;
	int n = virConnectListAllDomains(ob->conn, &doms, 0);

	*names = NULL;
	if (n < 0) {
		set_error(ob, "list domains");
		return -1;
	}
	*names = json_array();
	for (int k = 0; k < n; k++) {
		const char *name = virDomainGetName(doms[k]);
		if (name != NULL && strncmp(name, ob->prefix, pl) == 0)
			json_array_append_new(*names, json_string(name));
		virDomainFree(doms[k]);
	}
	free(doms);
	vols = list_volumes(ob);
	if (vols == NULL)
		return -1;
	json_array_foreach(vols, i, v) {
		const char *name = json_string_value(v);
		if (strncmp(name, ob->prefix, pl) == 0 && instance_volume(name))
			json_array_append(*names, v);
	}
	json_decref(vols);
	json_t *images = list_images(ob);
	json_array_extend(*names, images);
	json_decref(images);
	return 0;
}

void observer_health(struct observer *ob, long *events, long *polls, long *poll_errors,
		     char *why, size_t len)
{
	pthread_mutex_lock(&ob->lock);
	*events = ob->events;
	*polls = ob->polls;
	*poll_errors = ob->poll_errors;
	if (why != NULL)
		snprintf(why, len, "%s", ob->error);
	pthread_mutex_unlock(&ob->lock);
}
