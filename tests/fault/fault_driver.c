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
	_Atomic int fail_starts;
	struct fault_stats stats;
	struct driver_events relay;
	struct driver *outer;
	pthread_mutex_t ledger_lock;        /* guards ledger */
	json_t *ledger[FC__COUNT];          /* key -> count, per kind */
	json_t *start_order;                /* uuids, as domain_start was asked */
};

static const char *const call_names[FC__COUNT] = {
	[FC_DOMAIN_START] = "domain_start", [FC_DOMAIN_STARTED] = "domain_started",
	[FC_DOMAIN_DESTROYED] = "domain_destroyed", [FC_VOL_CREATE] = "vol_create",
	[FC_VOL_CREATED] = "vol_created", [FC_VOL_DELETED] = "vol_deleted",
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

/* ---- events: delayed on the libvirt event thread, then forwarded ----- */

static void relay_lifecycle(void *arg, const char *uuid, const char *name, int event, int detail)
{
	struct fault *f = arg;
	const struct driver_events *ev = f->outer->events;

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

/* ---- operations ------------------------------------------------------ */

static int f_open(struct driver *d, struct cause *c)
{
	struct fault *f = F(d);

	f->inner->events = &f->relay;
	f->inner->events_arg = f;
	return f->inner->ops->open(f->inner, c);
}

static void f_close(struct driver *d)
{
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

	atomic_fetch_add(&f->stats.starts, 1);
	note(f, FC_DOMAIN_START, uuid);
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
	return rc;
}

static int f_domain_shutdown(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	struct cause ignored;

	jitter(f, cfg.max_op_delay_us);
	if (chance(f, cfg.p_crash_in_stop) &&
	    f->inner->ops->domain_destroy(f->inner, uuid, &ignored) == 0)
		atomic_fetch_add(&f->stats.crashes_in_stop, 1);
	int rc = f->inner->ops->domain_shutdown(f->inner, uuid, c);
	jitter(f, cfg.max_op_delay_us);
	return rc;
}

static int f_domain_destroy(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);

	jitter(f, cfg_of(f).max_op_delay_us);
	int rc = f->inner->ops->domain_destroy(f->inner, uuid, c);
	if (rc == 0)
		note(f, FC_DOMAIN_DESTROYED, uuid);
	return rc;
}

static int f_domain_state(struct driver *d, const char *uuid, struct cause *c)
{
	struct fault *f = F(d);

	jitter(f, cfg_of(f).max_op_delay_us);
	return f->inner->ops->domain_state(f->inner, uuid, c);
}

static int f_domain_info(struct driver *d, const char *uuid, json_t **out, struct cause *c)
{
	return F(d)->inner->ops->domain_info(F(d)->inner, uuid, out, c);
}

static int f_domain_rss(struct driver *d, const char *uuid, uint64_t *bytes, struct cause *c)
{
	return F(d)->inner->ops->domain_rss(F(d)->inner, uuid, bytes, c);
}

static int f_domain_list(struct driver *d, const char *prefix, json_t **out, struct cause *c)
{
	return F(d)->inner->ops->domain_list(F(d)->inner, prefix, out, c);
}

static int f_pool_ensure(struct driver *d, const char *name, const char *xml, struct cause *c)
{
	return F(d)->inner->ops->pool_ensure(F(d)->inner, name, xml, c);
}

static int f_pool_list(struct driver *d, json_t **out, struct cause *c)
{
	return F(d)->inner->ops->pool_list(F(d)->inner, out, c);
}

static int f_pool_destroy(struct driver *d, const char *name, struct cause *c)
{
	return F(d)->inner->ops->pool_destroy(F(d)->inner, name, c);
}

static int f_vol_create(struct driver *d, const char *pool, const char *xml, struct cause *c)
{
	struct fault *f = F(d);
	char name[256] = "";

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
	return rc;
}

static int f_vol_delete(struct driver *d, const char *pool, const char *name, struct cause *c)
{
	int rc = F(d)->inner->ops->vol_delete(F(d)->inner, pool, name, c);

	if (rc == 0)
		note(F(d), FC_VOL_DELETED, name);
	return rc;
}

static int f_vol_lookup(struct driver *d, const char *pool, const char *name, char *path,
			size_t pathlen, struct cause *c)
{
	return F(d)->inner->ops->vol_lookup(F(d)->inner, pool, name, path, pathlen, c);
}

static int f_vol_list(struct driver *d, const char *pool, const char *prefix, json_t **out,
		      struct cause *c)
{
	return F(d)->inner->ops->vol_list(F(d)->inner, pool, prefix, out, c);
}

static bool f_kvm_usable(struct driver *d)
{
	return F(d)->inner->ops->kvm_usable(F(d)->inner);
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
	static const enum fault_call kinds[] = { FC_DOMAIN_DESTROYED, FC_VOL_DELETED };
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
