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

/* The uuid inside a domain XML we generated ("<uuid>…</uuid>"). */
static bool xml_uuid(const char *xml, char *uuid, size_t len)
{
	const char *p = strstr(xml, "<uuid>");
	const char *q = p ? strstr(p, "</uuid>") : NULL;

	if (q == NULL || (size_t)(q - p - 6) >= len)
		return false;
	memcpy(uuid, p + 6, (size_t)(q - p - 6));
	uuid[q - p - 6] = '\0';
	return true;
}

static int f_domain_start(struct driver *d, const char *xml, struct cause *c)
{
	struct fault *f = F(d);
	struct fault_cfg cfg = cfg_of(f);
	char uuid[64];

	atomic_fetch_add(&f->stats.starts, 1);
	jitter(f, cfg.max_op_delay_us);
	int forced = atomic_load(&f->fail_starts);
	if ((forced > 0 && atomic_compare_exchange_strong(&f->fail_starts, &forced, forced - 1)) ||
	    chance(f, cfg.p_start_fail)) {
		atomic_fetch_add(&f->stats.start_fails, 1);
		cause_set(c, 0, "libvirt: internal error: injected start failure");
		return -1;
	}
	int rc = f->inner->ops->domain_start(f->inner, xml, c);
	if (rc == 0 && chance(f, cfg.p_crash_in_start) && xml_uuid(xml, uuid, sizeof uuid)) {
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
	return f->inner->ops->domain_destroy(f->inner, uuid, c);
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

	if (chance(f, cfg_of(f).p_vol_fail)) {
		atomic_fetch_add(&f->stats.vol_fails, 1);
		cause_set(c, 0, "libvirt: injected volume failure");
		return -1;
	}
	return f->inner->ops->vol_create(f->inner, pool, xml, c);
}

static int f_vol_delete(struct driver *d, const char *pool, const char *name, struct cause *c)
{
	return F(d)->inner->ops->vol_delete(F(d)->inner, pool, name, c);
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

static const struct driver_ops fault_ops = {
	f_open, f_close, f_kind, f_uri, f_domain_start, f_domain_shutdown, f_domain_destroy,
	f_domain_state, f_domain_info, f_domain_list, f_pool_ensure, f_pool_list,
	f_pool_destroy, f_vol_create, f_vol_delete, f_vol_lookup, f_vol_list,
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
