/* harness.c — see harness.h. */
#include "harness.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/loop.h"
#include "../../common/timeutil.h"
#include "../../virt/virt.h"

static void hook_event(struct session *s, json_t *params, void *arg)
{
	struct harness *h = arg;

	h->nevents++;
	if (h->opts.record_events)
		json_array_append(h->events, params);
	if (h->on_event != NULL)
		h->on_event(h, s, params);
}

static void hook_revoked(struct token *t, const char *reason, void *arg)
{
	(void)t;
	(void)reason;
	(void)arg;
}

static const struct core_hooks harness_hooks = { hook_event, NULL, hook_revoked };

static void noop_timeout(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* libvirt's event loop (GLib) wakes its poll through an eventfd that GLib
 * makes with the default main context, lazily, on the first thread that
 * touches the context.  Left to itself that is the event thread virt.c
 * starts, and GLib hands the context to the other threads under its own
 * futex locks, which ThreadSanitizer cannot see: it reports the first
 * wake-up from another thread as a race on that fd, inside GLib, with no
 * named frame a suppression could match (tests/tsan.supp).  Made here on
 * the main thread, before the event thread exists, the hand-over is that
 * thread's creation, which TSan sees.  A timer added and removed at once
 * makes the context; the event thread frees the timer later. */
static void libvirt_context_here(void)
{
	if (virEventRegisterDefaultImpl() < 0)
		fatal("harness: cannot register libvirt's event implementation");
	int timer = virEventAddTimeout(0, noop_timeout, NULL, NULL);
	if (timer < 0)
		fatal("harness: cannot add a libvirt timer");
	virEventRemoveTimeout(timer);
}

static void loaded(struct core *core, void *arg)
{
	(void)core;
	*(bool *)arg = true;
}

static bool flag_set(struct harness *h, void *arg)
{
	(void)h;
	return *(bool *)arg;
}

int harness_start(struct harness *h, struct cause *c)
{
	bool done = false;

	h->core = core_new(h->base, &h->cfg.core, h->drvs, c);
	if (h->core == NULL)
		return -1;
	core_set_hooks(h->core, &harness_hooks, h);
	load_sessions(h->core, loaded, &done);
	if (!harness_wait(h, 30, flag_set, &done))
		fatal("harness: load did not finish");
	return 0;
}

static int config_hosts(struct harness *h, struct cause *c);

static void start_core(struct harness *h)
{
	struct cause c;

	if (harness_start(h, &c) < 0)
		fatal("harness: core_new: %s", c.msg);
}

struct harness *harness_new(const struct harness_opts *o)
{
	static bool once;
	struct harness *h = calloc(1, sizeof *h);
	struct cause c;
	char buf[64];

	if (h == NULL)
		fatal("out of memory");
	if (!once) {
		/* Faults are injected on purpose: only errors are news. */
		log_set_level(getenv("SESSIOND_TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
		evthread_use_pthreads();
		xmlInitParser();
		libvirt_context_here();
		once = true;
	}
	if (o != NULL)
		h->opts = *o;
	if (h->opts.uri == NULL)
		h->opts.uri = "test:///default";
	snprintf(h->dir, sizeof h->dir, "%s/sessiond-harness.XXXXXX",
		 h->opts.tmp != NULL ? h->opts.tmp : "/tmp");
	if (mkdtemp(h->dir) == NULL)
		fatal("harness: mkdtemp");
	h->events = json_array();
	h->base = loop_new();
	config_init(&h->cfg);
	/* 0 (unset): 1 GiB scratch disks; negative: none. */
	double sg = h->opts.scratch_gib == 0 ? 1 : h->opts.scratch_gib < 0 ? 0 : h->opts.scratch_gib;
	snprintf(buf, sizeof buf, "%g", sg);
	char state[300], sock[300];
	snprintf(state, sizeof state, "%s/state", h->dir);
	snprintf(sock, sizeof sock, "%s/sock", h->dir);
	if (config_set(&h->cfg, "state_dir", state, &c) < 0 ||
	    config_set(&h->cfg, "socket", sock, &c) < 0 ||
	    config_set(&h->cfg, "uri", h->opts.uri, &c) < 0 ||
	    config_set(&h->cfg, "scratch_gib", buf, &c) < 0 || config_hosts(h, &c) < 0)
		fatal("harness: config: %s", c.msg);
	if (h->opts.host_wait_s > 0)
		h->cfg.core.host_wait_s = h->opts.host_wait_s;
	for (const char *const *kv = h->opts.conf; kv != NULL && kv[0] != NULL; kv += 2) {
		if (config_set(&h->cfg, kv[0], kv[1], &c) < 0)
			fatal("harness: config: %s", c.msg);
	}
	h->outside = virConnectOpen(h->opts.uri);
	if (h->outside == NULL)
		fatal("harness: cannot open %s", h->opts.uri);
	h->nhosts = (int)h->cfg.core.nhosts;
	for (int i = 0; i < h->nhosts; i++) {
		h->virts[i] = virt_driver_new(h->opts.uri);
		h->drvs[i] = h->opts.fault || h->nhosts > 1
			? fault_driver_new(h->virts[i], &h->opts.fcfg) : h->virts[i];
		if (h->nhosts > 1)
			fault_driver_partition(h->drvs[i]);
	}
	h->virt = h->virts[0];
	h->drv = h->drvs[0];
	start_core(h);
	return h;
}

/* The hosts: one "local" (config_finish), or h0, h1, ... each with a pool
 * of its own and the capacity asked. */
static int config_hosts(struct harness *h, struct cause *c)
{
	char name[16], pool[24], path[4200], mib[32];

	if (h->opts.nhosts > HARNESS_HOSTS_MAX)
		fatal("harness: at most %d hosts", HARNESS_HOSTS_MAX);
	for (int i = 0; h->opts.nhosts > 1 && i < h->opts.nhosts; i++) {
		snprintf(name, sizeof name, "h%d", i);
		snprintf(pool, sizeof pool, "hpool%d", i);
		snprintf(path, sizeof path, "%s/pool-%s", h->dir, name);
		snprintf(mib, sizeof mib, "%g", h->opts.host_memory_mib);
		if (config_host_set(&h->cfg, name, "uri", h->opts.uri, c) < 0 ||
		    config_host_set(&h->cfg, name, "pool", pool, c) < 0 ||
		    config_host_set(&h->cfg, name, "pool_path", path, c) < 0 ||
		    config_host_set(&h->cfg, name, "memory_mib", mib, c) < 0)
			return -1;
		if (h->opts.host_memory_mib <= 0)
			h->cfg.core.hosts[i].memory_mib = HOST_UNLIMITED;
	}
	return config_finish(&h->cfg, false, c);
}

void harness_restart(struct harness *h)
{
	core_free(h->core);
	h->core = NULL;
	start_core(h);
}

void harness_free(struct harness *h)
{
	char cmd[400];

	if (h == NULL)
		return;
	core_free(h->core);
	for (int i = 0; i < h->nhosts; i++) {
		if (h->drvs[i] != h->virts[i])
			fault_driver_free(h->drvs[i]);
		virt_driver_free(h->virts[i]);
	}
	virConnectClose(h->outside);
	event_base_free(h->base);
	config_free(&h->cfg);
	json_decref(h->events);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
	if (system(cmd) != 0)
		log_warn("harness: cannot remove %s", h->dir);
	free(h);
}

static void wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* One loop turn at a time with a 10 ms tick, so pred() is re-checked
 * after every batch of events and the timeout is honoured. */
bool harness_wait(struct harness *h, double timeout, bool (*pred)(struct harness *, void *),
		  void *arg)
{
	double end = mono_now() + timeout;
	struct event *tick = evtimer_new(h->base, wake, NULL);
	struct timeval tv = { 0, 10000 };
	bool ok;

	while (!(ok = pred(h, arg)) && mono_now() < end) {
		evtimer_add(tick, &tv);
		event_base_loop(h->base, EVLOOP_ONCE);
	}
	event_free(tick);
	return ok;
}

static bool never(struct harness *h, void *arg)
{
	(void)h;
	(void)arg;
	return false;
}

void harness_spin(struct harness *h, double seconds)
{
	harness_wait(h, seconds, never, NULL);
}

struct op {
	bool done;
	struct cause err;
	bool failed;
	struct session *s;
};

static bool op_done(struct harness *h, void *arg)
{
	(void)h;
	return ((struct op *)arg)->done;
}

static void op_cb(struct session *s, const struct cause *err, void *arg)
{
	struct op *op = arg;

	op->done = true;
	op->s = s;
	if (err != NULL) {
		op->failed = true;
		op->err = *err;
	}
}

struct session *harness_create(struct harness *h, const char *name, json_t *params,
			       struct cause *err)
{
	return harness_create_as(h, 0, name, params, err);
}

struct session *harness_create_as(struct harness *h, uid_t owner, const char *name,
				  json_t *params, struct cause *err)
{
	struct op op = { 0 };
	json_t *p = params ? json_deep_copy(params) : json_object();

	json_object_set_new(p, "name", json_string(name));
	registry_create(h->core, owner, name, p, op_cb, &op);
	json_decref(p);
	if (!harness_wait(h, 30, op_done, &op)) {
		cause_set(err, CAUSE_INTERNAL, "timeout");
		return NULL;
	}
	if (op.failed) {
		if (err != NULL)
			*err = op.err;
		return NULL;
	}
	return op.s;
}

static void harness_lease_cb(struct session_lease *sl, const struct cause *err, void *arg)
{
	(void)sl;
	op_cb(NULL, err, arg);
}

int harness_lease(struct harness *h, struct session *s, struct session_lease *sl,
		  double timeout, struct cause *err)
{
	struct op op = { 0 };

	holds_lease_acquire(s, sl, "test", 0, getpid(), harness_lease_cb, &op);
	if (!harness_wait(h, timeout, op_done, &op)) {
		cause_set(err, CAUSE_INTERNAL, "timeout waiting for a lease");
		holds_lease_release(sl);
		return -1;
	}
	if (op.failed && err != NULL)
		*err = op.err;
	return op.failed ? -1 : 0;
}

int harness_stop(struct harness *h, struct session *s, bool force, struct cause *err)
{
	struct op op = { 0 };

	request_stop(s, force, op_cb, &op);
	if (!harness_wait(h, 30, op_done, &op)) {
		cause_set(err, CAUSE_INTERNAL, "timeout");
		return -1;
	}
	if (op.failed && err != NULL)
		*err = op.err;
	return op.failed ? -1 : 0;
}

int harness_delete(struct harness *h, struct session *s, struct cause *err)
{
	struct op op = { 0 };

	request_delete(s, false, op_cb, &op);
	if (!harness_wait(h, 30, op_done, &op)) {
		cause_set(err, CAUSE_INTERNAL, "timeout");
		return -1;
	}
	if (op.failed && err != NULL)
		*err = op.err;
	return op.failed ? -1 : 0;
}

int harness_events(struct harness *h, const char *name, const char *ev)
{
	size_t i;
	json_t *v;
	int n = 0;

	json_array_foreach(h->events, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "event")), ev) == 0)
			n++;
	}
	return n;
}

int harness_domains(struct harness *h)
{
	virDomainPtr *doms = NULL;
	char pfx[32];
	int n = virConnectListAllDomains(h->outside, &doms, 0), mine = 0;

	snprintf(pfx, sizeof pfx, "%s-", h->core->prefix);
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name != NULL && strncmp(name, pfx, strlen(pfx)) == 0)
			mine++;
		virDomainFree(doms[i]);
	}
	free(doms);
	return n < 0 ? -1 : mine;
}

int harness_volumes(struct harness *h)
{
	struct cause c;
	int n = 0;

	for (size_t i = 0; i < h->core->nhosts; i++) {
		json_t *names = NULL;
		if (storage_instance_volumes(h->core->hosts[i].storage, &names, &c) < 0)
			return -1;
		n += (int)json_array_size(names);
		json_decref(names);
	}
	return n;
}

int harness_images(struct harness *h)
{
	json_t *names = NULL;
	struct cause c;
	char pfx[32];

	snprintf(pfx, sizeof pfx, "%s-", h->core->prefix);
	if (h->virt->ops->image_list(h->virt, h->core->save_dir, pfx, &names, &c) < 0)
		return -1;
	int n = (int)json_array_size(names);
	json_decref(names);
	return n;
}

bool harness_hosts_up(struct harness *h, void *arg)
{
	(void)arg;
	return hosts_all_up(h->core);
}

struct driver *harness_host_drv(struct harness *h, const char *name)
{
	struct host *host = hosts_find(h->core, name);

	return host != NULL ? host->drv : NULL;
}

bool harness_quiet(struct harness *h, void *arg)
{
	(void)arg;
	return core_quiescent(h->core);
}
