/* fault_driver.c — see fault_driver.h. */
#include "fault_driver.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/log.h"

struct fault {
	struct driver *inner;
	pthread_mutex_t lock;               /* guards cfg and the rng */
	struct fault_cfg cfg;
	unsigned rng;
	_Atomic int fail_starts, fail_saves, fail_restores;
	struct fault_stats stats;
	struct driver_events relay;
	struct driver *outer;
	pthread_mutex_t ledger_lock;        /* guards ledger and mine */
	json_t *ledger[FC__COUNT];          /* key -> count, per kind */
	bool partitioned;                   /* plays a host of its own */
	json_t *mine;                       /* uuids of the domains it started */
	_Atomic int down;                   /* the host is away: no open succeeds */
	_Atomic int connected;              /* opened, and not lost since */
	_Atomic long epoch;                 /* +1 each time the host goes away */
	json_t *start_order;                /* uuids, as domain_start was asked */
};

static const char *const call_names[FC__COUNT] = {
	[FC_DOMAIN_START] = "domain_start", [FC_DOMAIN_STARTED] = "domain_started",
	[FC_DOMAIN_DESTROYED] = "domain_destroyed", [FC_VOL_CREATE] = "vol_create",
	[FC_VOL_CREATED] = "vol_created", [FC_VOL_DELETED] = "vol_deleted",
	[FC_DOMAIN_SAVED] = "domain_saved", [FC_DOMAIN_RESTORED] = "domain_restored",
	[FC_IMAGE_DELETED] = "image_deleted",
};

static struct fault *F(struct driver *d)
{
	return d->priv;
}

/* xorshift under the lock: reproducible for a seed when single-threaded,
 * good enough spread when not. */
static unsigned rnd(struct fault *f)
{
	pthread_mutex_lock(&f->lock);
	unsigned x = f->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rng = x ? x : 0x9e3779b9u;
	pthread_mutex_unlock(&f->lock);
	return x;
}

static bool chance(struct fault *f, double p)
{
	return p > 0 && (rnd(f) % 1000000) < (unsigned)(p * 1000000);
}

static void jitter(struct fault *f, int max_us)
{
	if (max_us > 0)
		usleep(rnd(f) % (unsigned)max_us);
}

static struct fault_cfg cfg_of(struct fault *f)
{
	pthread_mutex_lock(&f->lock);
	struct fault_cfg c = f->cfg;
	pthread_mutex_unlock(&f->lock);
	return c;
}

/* ---- the ledger ------------------------------------------------------ */

const char *fault_call_name(enum fault_call k)
{
	return (unsigned)k < FC__COUNT ? call_names[k] : "invalid";
}

static void note(struct fault *f, enum fault_call k, const char *key)
{
	if (key == NULL || key[0] == '\0')
		return;
	pthread_mutex_lock(&f->ledger_lock);
	json_int_t n = json_integer_value(json_object_get(f->ledger[k], key));
	json_object_set_new(f->ledger[k], key, json_integer(n + 1));
	if (k == FC_DOMAIN_START)
		json_array_append_new(f->start_order, json_string(key));
	pthread_mutex_unlock(&f->ledger_lock);
}

/* The text of the first <tag> in an XML we generated. */
static bool xml_text(const char *xml, const char *tag, char *out, size_t len)
{
	char open[32], close[32];

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *p = strstr(xml, open);
	const char *q = p ? strstr(p, close) : NULL;
	size_t n = q ? (size_t)(q - p) - strlen(open) : 0;
	if (q == NULL || n >= len)
		return false;
	memcpy(out, p + strlen(open), n);
	out[n] = '\0';
	return true;
}

/* The instance uuid in a memory image's name, "<dir>/<prefix>-<uuid>-<n>.save"
 * (session/tiers.c), into out. */
static bool image_uuid(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	const char *p = base != NULL ? strchr(base + 1, '-') : NULL;

	p = p != NULL ? strchr(p + 1, '-') : NULL;      /* past "sd-xxxxxxxx-" */
	if (p == NULL || strlen(p + 1) < 36 || len < 37)
		return false;
	snprintf(out, 37, "%s", p + 1);
	return true;
}

/* ---- events: delayed on the libvirt event thread, then forwarded ----- */

static bool is_mine(struct fault *f, const char *uuid)
{
	pthread_mutex_lock(&f->ledger_lock);
	bool mine = !f->partitioned || json_object_get(f->mine, uuid) != NULL;
	pthread_mutex_unlock(&f->ledger_lock);
	return mine;
}

static void relay_lifecycle(void *arg, const char *uuid, const char *name, int event, int detail)
{
	struct fault *f = arg;
	const struct driver_events *ev = f->outer->events;

	if (!is_mine(f, uuid))
		return;                     /* another host's domain */
	if (!atomic_load(&f->connected)) {
		atomic_fetch_add(&f->stats.events_lost, 1);
		return;                     /* a closed connection hears nothing */
	}
	jitter(f, cfg_of(f).max_event_delay_us);
	atomic_fetch_add(&f->stats.events, 1);
	if (ev != NULL && ev->lifecycle != NULL)
		ev->lifecycle(f->outer->events_arg, uuid, name, event, detail);
}

static void relay_disconnected(void *arg, const char *why)
{
	struct fault *f = arg;
	const struct driver_events *ev = f->outer->events;

	if (ev != NULL && ev->disconnected != NULL)
		ev->disconnected(f->outer->events_arg, why);
}

/* ---- the host's connection ------------------------------------------- */

/* Before a call: refused while the host is away.  *epoch marks the
 * connection the call ran on. */
static int conn_in(struct fault *f, long *epoch, struct cause *c)
{
	*epoch = atomic_load(&f->epoch);
	if (atomic_load(&f->connected))
		return 0;
	atomic_fetch_add(&f->stats.calls_refused, 1);
	cause_set(c, CAUSE_INTERNAL, "libvirt: not connected (the host is away)");
	return -1;
}

/* After it: a call the host's loss overtook did not answer. */
static int conn_out(struct fault *f, long epoch, int rc, json_t **out, struct cause *c)
{
	if (atomic_load(&f->epoch) == epoch)
		return rc;
	if (out != NULL && rc >= 0) {
		json_decref(*out);
		*out = NULL;
	}
	cause_set(c, CAUSE_INTERNAL, "libvirt: the connection closed during the call");
	return -1;
}

void fault_driver_partition(struct driver *d)
{
	F(d)->partitioned = true;
}

void fault_driver_host_down(struct driver *d, const char *why)
{
	struct fault *f = F(d);

	atomic_store(&f->down, 1);
	atomic_fetch_add(&f->epoch, 1);
	atomic_store(&f->connected, 0);
	atomic_fetch_add(&f->stats.host_downs, 1);
	relay_disconnected(f, why);
}

void fault_driver_host_up(struct driver *d)
{
	atomic_store(&F(d)->down, 0);
}

bool fault_driver_connected(struct driver *d)
{
	return atomic_load(&F(d)->connected);
}

/* ---- operations ------------------------------------------------------ */

static int f_open(struct driver *d, struct cause *c)
{
	struct fault *f = F(d);

	/* Once, before the first connection: a reopen must not write what
	 * libvirt's event thread reads for the connection before it. */
	if (f->inner->events != &f->relay) {
		f->inner->events = &f->relay;
		f->inner->events_arg = f;
	}
	if (atomic_load(&f->down)) {
		cause_set(c, CAUSE_INTERNAL, "libvirt: cannot connect (the host is away)");
		return -1;
	}
	int rc = f->inner->ops->open(f->inner, c);
	if (rc == 0) {
		atomic_store(&f->connected, 1);
		atomic_fetch_add(&f->stats.opens, 1);
	}
	return rc;
}

static void f_close(struct driver *d)
{
	atomic_store(&F(d)->connected, 0);
	F(d)->inner->ops->close(F(d)->inner);
}

static const char *f_kind(struct driver *d)
{
	return F(d)->inner->ops->kind(F(d)->inner);
}

static const char *f_uri(struct driver *d)
{
	return F(d)->inner->ops->uri(F(d)->inner);
}

static int f_domain_start(struct driver *d, const char *xml, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	char uuid[64] = "";
	bool have_uuid = xml_text(xml, "uuid", uuid, sizeof uuid);

	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	atomic_fetch_add(&f->stats.starts, 1);
	note(f, FC_DOMAIN_START, uuid);
	if (have_uuid) {
		pthread_mutex_lock(&f->ledger_lock);
		json_object_set_new(f->mine, uuid, json_true());
		pthread_mutex_unlock(&f->ledger_lock);
	}
	jitter(f, cfg.max_op_delay_us);
	if (cfg.start_delay_us > 0)
		usleep((useconds_t)cfg.start_delay_us);
	int forced = atomic_load(&f->fail_starts);
	if ((forced > 0 && atomic_compare_exchange_strong(&f->fail_starts, &forced, forced - 1)) ||
	    chance(f, cfg.p_start_fail)) {
		atomic_fetch_add(&f->stats.start_fails, 1);
		cause_set(c, CAUSE_INTERNAL, "libvirt: internal error: injected start failure");
		return -1;
	}
	int rc = f->inner->ops->domain_start(f->inner, xml, c);
	if (rc == 0)
		note(f, FC_DOMAIN_STARTED, uuid);
	if (rc == 0 && chance(f, cfg.p_crash_in_start) && have_uuid) {
		if (f->inner->ops->domain_destroy(f->inner, uuid, c) == 0)
			atomic_fetch_add(&f->stats.crashes_in_start, 1);
	}
	jitter(f, cfg.max_op_delay_us);
	return conn_out(f, epoch, rc, NULL, c);
}

static int f_domain_shutdown(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	struct cause ignored;
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	jitter(f, cfg.max_op_delay_us);
	if (chance(f, cfg.p_crash_in_stop) &&
	    f->inner->ops->domain_destroy(f->inner, uuid, &ignored) == 0)
		atomic_fetch_add(&f->stats.crashes_in_stop, 1);
	int rc = f->inner->ops->domain_shutdown(f->inner, uuid, c);
	jitter(f, cfg.max_op_delay_us);
	return conn_out(f, epoch, rc, NULL, c);
}

static int f_domain_destroy(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	jitter(f, cfg_of(f).max_op_delay_us);
	int rc = f->inner->ops->domain_destroy(f->inner, uuid, c);
	if (rc == 0)
		note(f, FC_DOMAIN_DESTROYED, uuid);
	return conn_out(f, epoch, rc, NULL, c);
}

static int f_domain_state(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	jitter(f, cfg_of(f).max_op_delay_us);
	return conn_out(f, epoch, f->inner->ops->domain_state(f->inner, uuid, c), NULL, c);
}

static int f_domain_info(struct driver *d, const char *uuid, json_t **out, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->domain_info(f->inner, uuid, out, c), out, c);
}

/* Partitioned: only the domains this host started. */
static void keep_mine(struct fault *f, json_t *domains)
{
	size_t i = 0;

	pthread_mutex_lock(&f->ledger_lock);
	while (f->partitioned && i < json_array_size(domains)) {
		const char *uuid = json_string_value(json_object_get(json_array_get(domains, i), "uuid"));
		if (uuid != NULL && json_object_get(f->mine, uuid) != NULL)
			i++;
		else
			json_array_remove(domains, i);
	}
	pthread_mutex_unlock(&f->ledger_lock);
}

static int f_domain_rss(struct driver *d, const char *uuid, uint64_t *bytes, struct cause *c)
{
	return F(d)->inner->ops->domain_rss(F(d)->inner, uuid, bytes, c);
}

static int f_domain_list(struct driver *d, const char *prefix, json_t **out, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	int rc = f->inner->ops->domain_list(f->inner, prefix, out, c);
	if (rc == 0)
		keep_mine(f, *out);
	return conn_out(f, epoch, rc, out, c);
}

static int f_pool_ensure(struct driver *d, const char *name, const char *xml, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->pool_ensure(f->inner, name, xml, c), NULL, c);
}

static int f_pool_list(struct driver *d, json_t **out, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->pool_list(f->inner, out, c), out, c);
}

static int f_pool_destroy(struct driver *d, const char *name, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->pool_destroy(f->inner, name, c), NULL, c);
}

static int f_vol_create(struct driver *d, const char *pool, const char *xml, struct cause *c)
{
	struct fault *f = F(d);
	char name[256] = "";
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	xml_text(xml, "name", name, sizeof name);
	note(f, FC_VOL_CREATE, name);
	if (chance(f, cfg_of(f).p_vol_fail)) {
		atomic_fetch_add(&f->stats.vol_fails, 1);
		cause_set(c, CAUSE_INTERNAL, "libvirt: injected volume failure");
		return -1;
	}
	int rc = f->inner->ops->vol_create(f->inner, pool, xml, c);
	if (rc == 0)
		note(f, FC_VOL_CREATED, name);
	return conn_out(f, epoch, rc, NULL, c);
}

static int f_vol_delete(struct driver *d, const char *pool, const char *name, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	int rc = f->inner->ops->vol_delete(f->inner, pool, name, c);
	if (rc == 0)
		note(f, FC_VOL_DELETED, name);
	return conn_out(f, epoch, rc, NULL, c);
}

static int f_vol_lookup(struct driver *d, const char *pool, const char *name, char *path,
			size_t pathlen, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->vol_lookup(f->inner, pool, name, path, pathlen, c),
			NULL, c);
}

static int f_vol_list(struct driver *d, const char *pool, const char *prefix, json_t **out,
		      struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->vol_list(f->inner, pool, prefix, out, c), out, c);
}

/* One of the next n calls forced to fail (fault_driver_fail_*). */
static bool forced(_Atomic int *n)
{
	int k = atomic_load(n);

	return k > 0 && atomic_compare_exchange_strong(n, &k, k - 1);
}

/* A crash during the save: the domain goes just before libvirt saves it,
 * so the save fails the way a real one does when its guest dies. */
static int f_domain_save(struct driver *d, const char *uuid, const char *path, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	struct cause ignored;

	jitter(f, cfg.max_op_delay_us);
	if (forced(&f->fail_saves) || chance(f, cfg.p_save_fail)) {
		atomic_fetch_add(&f->stats.save_fails, 1);
		cause_set(c, CAUSE_INTERNAL, "libvirt: injected save failure");
		return -1;
	}
	if (chance(f, cfg.p_crash_in_save) &&
	    f->inner->ops->domain_destroy(f->inner, uuid, &ignored) == 0)
		atomic_fetch_add(&f->stats.crashes_in_save, 1);
	int rc = f->inner->ops->domain_save(f->inner, uuid, path, c);
	if (rc == 0) {
		atomic_fetch_add(&f->stats.saves, 1);
		note(f, FC_DOMAIN_SAVED, path);
	}
	jitter(f, cfg.max_op_delay_us);
	return rc;
}

/* A crash during the restore: the domain is destroyed right after
 * libvirt brought it back, before the restore job returns. */
static int f_domain_restore(struct driver *d, const char *path, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	char uuid[64];
	struct cause ignored;

	jitter(f, cfg.max_op_delay_us);
	if (forced(&f->fail_restores) || chance(f, cfg.p_restore_fail)) {
		atomic_fetch_add(&f->stats.restore_fails, 1);
		cause_set(c, CAUSE_INTERNAL, "libvirt: injected restore failure");
		return -1;
	}
	int rc = f->inner->ops->domain_restore(f->inner, path, c);
	if (rc == 0) {
		atomic_fetch_add(&f->stats.restores, 1);
		note(f, FC_DOMAIN_RESTORED, path);
	}
	if (rc == 0 && chance(f, cfg.p_crash_in_restore) && image_uuid(path, uuid, sizeof uuid) &&
	    f->inner->ops->domain_destroy(f->inner, uuid, &ignored) == 0)
		atomic_fetch_add(&f->stats.crashes_in_restore, 1);
	jitter(f, cfg.max_op_delay_us);
	return rc;
}

static int f_image_stat(struct driver *d, const char *path, double *bytes, double *mtime,
			struct cause *c)
{
	return F(d)->inner->ops->image_stat(F(d)->inner, path, bytes, mtime, c);
}

static int f_image_delete(struct driver *d, const char *path, struct cause *c)
{
	int rc = F(d)->inner->ops->image_delete(F(d)->inner, path, c);

	if (rc == 0)
		note(F(d), FC_IMAGE_DELETED, path);
	return rc;
}

static int f_image_list(struct driver *d, const char *dir, const char *prefix, json_t **out,
			struct cause *c)
{
	return F(d)->inner->ops->image_list(F(d)->inner, dir, prefix, out, c);
}

static bool f_balloon_reporting(struct driver *d)
{
	return F(d)->inner->ops->balloon_reporting(F(d)->inner);
}

static bool f_kvm_usable(struct driver *d)
{
	return F(d)->inner->ops->kvm_usable(F(d)->inner);
}

static int f_node_memory(struct driver *d, double *mib, struct cause *c)
{
	struct fault *f = F(d);
	long epoch;

	if (conn_in(f, &epoch, c) < 0)
		return -1;
	return conn_out(f, epoch, f->inner->ops->node_memory(f->inner, mib, c), NULL, c);
}

static const struct driver_ops fault_ops = {
	.open = f_open, .close = f_close, .kind = f_kind, .uri = f_uri,
	.kvm_usable = f_kvm_usable, .domain_start = f_domain_start,
	.domain_shutdown = f_domain_shutdown, .domain_destroy = f_domain_destroy,
	.domain_state = f_domain_state, .domain_info = f_domain_info,
	.domain_rss = f_domain_rss,
	.domain_list = f_domain_list, .pool_ensure = f_pool_ensure, .pool_list = f_pool_list,
	.pool_destroy = f_pool_destroy, .vol_create = f_vol_create,
	.vol_delete = f_vol_delete, .vol_lookup = f_vol_lookup, .vol_list = f_vol_list,
	.domain_save = f_domain_save, .domain_restore = f_domain_restore,
	.image_stat = f_image_stat, .image_delete = f_image_delete, .image_list = f_image_list,
	.balloon_reporting = f_balloon_reporting,
	.node_memory = f_node_memory,
};

struct driver *fault_driver_new(struct driver *inner, const struct fault_cfg *cfg)
{
	struct driver *d = calloc(1, sizeof *d);
	struct fault *f = calloc(1, sizeof *f);

	if (d == NULL || f == NULL)
		fatal("out of memory");
	f->inner = inner;
	f->outer = d;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->ledger_lock, NULL);
	for (int k = 0; k < FC__COUNT; k++)
		f->ledger[k] = json_object();
	f->mine = json_object();
	f->start_order = json_array();
	f->cfg = *cfg;
	f->rng = cfg->seed ? cfg->seed : 1;
	f->relay.lifecycle = relay_lifecycle;
	f->relay.disconnected = relay_disconnected;
	d->ops = &fault_ops;
	d->priv = f;
	return d;
}

void fault_driver_free(struct driver *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&F(d)->lock);
	pthread_mutex_destroy(&F(d)->ledger_lock);
	for (int k = 0; k < FC__COUNT; k++)
		json_decref(F(d)->ledger[k]);
	json_decref(F(d)->mine);
	json_decref(F(d)->start_order);
	free(F(d));
	free(d);
}

struct fault_stats *fault_driver_stats(struct driver *d)
{
	return &F(d)->stats;
}

void fault_driver_set(struct driver *d, const struct fault_cfg *cfg)
{
	struct fault *f = F(d);

	pthread_mutex_lock(&f->lock);
	f->cfg = *cfg;
	pthread_mutex_unlock(&f->lock);
}

void fault_driver_fail_starts(struct driver *d, int n)
{
	atomic_store(&F(d)->fail_starts, n);
}

void fault_driver_fail_saves(struct driver *d, int n)
{
	atomic_store(&F(d)->fail_saves, n);
}

void fault_driver_fail_restores(struct driver *d, int n)
{
	atomic_store(&F(d)->fail_restores, n);
}

int fault_driver_crash(struct driver *d, const char *uuid)
{
	struct fault *f = F(d);
	struct cause c;

	int rc = f->inner->ops->domain_state(f->inner, uuid, &c);
	if (rc != VM_RUNNING)
		return -1;
	rc = f->inner->ops->domain_destroy(f->inner, uuid, &c);
	if (rc == 0)
		atomic_fetch_add(&f->stats.outside_crashes, 1);
	return rc;
}

int fault_driver_crash_one(struct driver *d, unsigned pick, char *uuid_out)
{
	struct fault *f = F(d);
	json_t *uuids = json_array();
	const char *uuid;
	json_t *v;
	int rc = -1;

	pthread_mutex_lock(&f->ledger_lock);
	json_object_foreach(f->mine, uuid, v)
		json_array_append_new(uuids, json_string(uuid));
	pthread_mutex_unlock(&f->ledger_lock);
	size_t n = json_array_size(uuids);
	for (size_t i = 0; i < n && rc != 0; i++) {
		const char *u = json_string_value(json_array_get(uuids, (pick + i) % n));
		if ((rc = fault_driver_crash(d, u)) == 0)
			snprintf(uuid_out, 37, "%s", u);
	}
	json_decref(uuids);
	return rc;
}

int fault_driver_running(struct driver *d)
{
	struct fault *f = F(d);
	json_t *doms = NULL;
	struct cause c;

	if (f->inner->ops->domain_list(f->inner, "", &doms, &c) < 0)
		return 0;
	keep_mine(f, doms);
	int n = (int)json_array_size(doms);
	json_decref(doms);
	return n;
}

json_t *fault_driver_ledger(struct driver *d)
{
	struct fault *f = F(d);
	json_t *all = json_object();

	pthread_mutex_lock(&f->ledger_lock);
	for (int k = 0; k < FC__COUNT; k++)
		json_object_set_new(all, call_names[k], json_deep_copy(f->ledger[k]));
	pthread_mutex_unlock(&f->ledger_lock);
	return all;
}

void fault_driver_ledger_clear(struct driver *d)
{
	struct fault *f = F(d);

	pthread_mutex_lock(&f->ledger_lock);
	for (int k = 0; k < FC__COUNT; k++)
		json_object_clear(f->ledger[k]);
	json_array_clear(f->start_order);
	pthread_mutex_unlock(&f->ledger_lock);
}

json_t *fault_driver_start_order(struct driver *d)
{
	struct fault *f = F(d);

	pthread_mutex_lock(&f->ledger_lock);
	json_t *copy = json_deep_copy(f->start_order);
	pthread_mutex_unlock(&f->ledger_lock);
	return copy;
}

static bool instance_volume(const char *name)
{
	size_t n = strlen(name);

	return (n > 14 && strcmp(name + n - 14, "-scratch.qcow2") == 0) ||
	       (n > 11 && strcmp(name + n - 11, "-boot.qcow2") == 0);
}

int fault_driver_repeats(struct driver *d, char *why, size_t len)
{
	struct fault *f = F(d);
	static const enum fault_call kinds[] = { FC_DOMAIN_DESTROYED, FC_VOL_DELETED,
						 FC_IMAGE_DELETED };
	const char *key;
	json_t *v;
	int n = 0;

	pthread_mutex_lock(&f->ledger_lock);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		json_object_foreach(f->ledger[kinds[i]], key, v) {
			if (json_integer_value(v) < 2 ||
			    (kinds[i] == FC_VOL_DELETED && !instance_volume(key)))
				continue;
			if (n++ == 0)
				snprintf(why, len, "%s %s %lld times", call_names[kinds[i]], key,
					 (long long)json_integer_value(v));
		}
	}
	pthread_mutex_unlock(&f->ledger_lock);
	return n;
}
