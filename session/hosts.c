/*
 * hosts.c — the hosts sessions run on: one libvirt connection each, with
 * its own events, keepalive, workers, storage pool and reconnects; where a
 * new VM goes (placement by room); and what a request does while its
 * session's host is away.
 *
 * A host is up, down, opening (a connection attempt runs) or syncing (the
 * connection is back and load_host() reconciles it).  Only an up host
 * takes new work.  Its sessions keep their state while it is away; their
 * gates close (no lease enters a VM nobody can reach) and a request that
 * needs one of their VMs waits for the host up to host_wait_s, then fails
 * naming it.  When the host is back, load_host() reconciles each of its
 * sessions once with the one listing of its domains, and the waiting
 * requests go on.
 *
 * Placement runs on the loop and commits in the same turn: the host with
 * the most room (capacity less the memory of the instances there, from
 * their start until their teardown ends) that fits the session's memory,
 * ties by name.  Two starts racing for the last slot are two loop turns:
 * the second sees the first's commit.  No room anywhere is an error
 * naming the memory asked and the most room left, never a wait.
 *
 * What survives a restart: a session's host name in its state file
 * (persist.c); the hosts themselves are the configuration's.
 */
#include "session.h"

#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

#define RECONNECT_FIRST_S 1.0
#define RECONNECT_MAX_S 30.0

static void host_synced(struct host *h, bool ok, unsigned epoch, void *arg);
static void host_back(struct host *h);

static const char *const link_names[] = { "down", "opening", "syncing", "up" };

bool hosts_usable(const struct host *h)
{
	return h != NULL && h->link == HOST_UP;
}

static double room(const struct host *h)
{
	return h->capacity_mib < 0 ? INFINITY : h->capacity_mib - h->committed_mib;
}

/* ---- events from the driver --------------------------------------------- */

/* Driver event thread: a lifecycle event of this host's connection.
 * Instances are found by uuid, which no two hosts share. */
static void host_vm_event(void *arg, const char *uuid, const char *name, int event, int detail)
{
	struct host *h = arg;

	reconcile_vm_event(h->core, uuid, name, event, detail);
}

/* Driver event thread: only flag it; the loop picks it up. */
static void host_disconnected(void *arg, const char *why)
{
	struct host *h = arg;

	log_warn("host %s: connection to %s lost (%s)", h->name, h->cfg->uri, why);
	event_active(h->lost_ev, EV_READ, 0);
}

/* ---- learning a host: capacity and KVM ------------------------------------ */

/* Worker (or start-up): what the host can run. */
static void host_learn(struct host *h, double *capacity, bool *kvm)
{
	double mib = 0;
	struct cause c;

	*kvm = h->drv->ops->kvm_usable(h->drv);
	*capacity = h->cfg->memory_mib;
	if (h->cfg->memory_mib != 0)
		return;
	if (h->drv->ops->node_memory(h->drv, &mib, &c) < 0) {
		log_warn("host %s: cannot read its memory (%s); it takes no VM", h->name, c.msg);
		mib = h->cfg->reserve_mib;
	}
	*capacity = mib > h->cfg->reserve_mib ? mib - h->cfg->reserve_mib : 0;
}

static void host_log_up(struct host *h, const char *how)
{
	char cap[32];

	if (h->capacity_mib < 0)
		snprintf(cap, sizeof cap, "no memory limit");
	else
		snprintf(cap, sizeof cap, "%.0f MiB for VMs", h->capacity_mib);
	log_info("host %s: %s %s (%s, %s, domain type %s)", h->name, how, h->cfg->uri,
		 h->drv->ops->kind(h->drv), cap, h->kvm_usable ? "kvm available" : "qemu");
}

/* ---- reconnects ------------------------------------------------------------- */

static void schedule_reconnect(struct host *h)
{
	struct timeval tv = tv_from_seconds(time_backoff(++h->reconnect_attempt,
							  RECONNECT_FIRST_S, RECONNECT_MAX_S));
	event_add(h->reconnect_ev, &tv);
}

/* The host is gone: its sessions keep their state, their gates close
 * until it is back (hosts_wait() answers what needs them meanwhile). */
static void host_lost(struct host *h)
{
	struct list_node *pos;
	size_t n = 0;

	if (h->link == HOST_OPENING) {
		h->lost_again = true;       /* the open job's end decides */
		return;
	}
	if (h->link == HOST_DOWN)
		return;
	h->link = HOST_DOWN;
	list_foreach(pos, &h->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host != h)
			continue;
		n++;
		if (s->state == SESSION_RUNNING) {
			lease_gate_close(&s->lp.gate);
			idle_recheck(&s->idle);
		}
	}
	log_warn("host %s: away; its %zu session(s) keep their state and wait for it", h->name, n);
	schedule_reconnect(h);
}

struct open_job {
	struct job job;
	struct host *h;
	int rc;
	double capacity;
	bool kvm;
	struct cause err;
};

static void open_run(struct job *j)
{
	struct open_job *oj = (struct open_job *)j;
	struct host *h = oj->h;

	oj->rc = h->drv->ops->open(h->drv, &oj->err);
	if (oj->rc == 0)
		oj->rc = storage_init(h->storage, &oj->err);
	if (oj->rc == 0)
		host_learn(h, &oj->capacity, &oj->kvm);
}

static void open_done(struct job *j)
{
	struct open_job *oj = (struct open_job *)j;
	struct host *h = oj->h;

	if (oj->rc == 0 && h->lost_again)
		cause_set(&oj->err, CAUSE_INTERNAL, "the new connection closed at once");
	h->lost_again = false;
	if (h->core->shutting_down) {
		h->link = HOST_DOWN;
	} else if (oj->rc < 0 || oj->err.msg[0] != '\0') {
		log_warn("host %s: reconnect failed: %s", h->name, oj->err.msg);
		str_copy(h->why, sizeof h->why, oj->err.msg);
		h->link = HOST_DOWN;
		schedule_reconnect(h);
	} else {
		h->capacity_mib = oj->capacity;
		h->kvm_usable = oj->kvm;
		h->epoch++;
		h->link = HOST_SYNCING;
		host_log_up(h, "reconnected to");
		load_host(h, host_synced, NULL);
	}
	free(oj);
}

/* The disconnect notice: wait a moment before the first try. */
static void lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct host *h = arg;

	(void)fd;
	(void)what;
	if (h->core->shutting_down)
		return;
	if (h->why[0] == '\0')
		str_copy(h->why, sizeof h->why, "connection lost");
	host_lost(h);
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct host *h = arg;

	(void)fd;
	(void)what;
	if (h->core->shutting_down || h->link != HOST_DOWN)
		return;
	struct open_job *oj = XNEW(oj);
	oj->h = h;
	oj->job.run = open_run;
	oj->job.done = open_done;
	oj->job.what = "reconnect";
	h->link = HOST_OPENING;
	workers_submit(h->workers, &oj->job);
}

static void host_synced(struct host *h, bool ok, unsigned epoch, void *arg)
{
	(void)arg;
	hosts_loaded(h, ok, epoch);
}

void hosts_loaded(struct host *h, bool ok, unsigned epoch)
{
	if (h->link != HOST_SYNCING || epoch != h->epoch)
		return;                     /* lost meanwhile: a reconnect is due or runs */
	if (!ok) {
		h->link = HOST_DOWN;
		schedule_reconnect(h);
		return;
	}
	h->link = HOST_UP;
	h->why[0] = '\0';
	h->reconnect_attempt = 0;
	log_info("host %s: up; %ld VM(s), %.0f MiB committed", h->name, h->vms, h->committed_mib);
	host_back(h);
}

/* ---- waiting for a host ------------------------------------------------------ */

static bool waiting(const struct session *s)
{
	return s->host_timer != NULL && evtimer_pending(s->host_timer, NULL);
}

static void wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	double w = s->core->cfg->host_wait_s;
	struct cause c;

	(void)fd;
	(void)what;
	if (s->host != NULL)
		cause_set(&c, CAUSE_START_FAILED, "session '%s': host '%s' is not connected "
			  "(waited %gs): %s", s->name, s->host->name, w,
			  s->host->why[0] ? s->host->why : "not connected");
	else
		cause_set(&c, CAUSE_START_FAILED, "session '%s': no host is connected (waited %gs)",
			  s->name, w);
	log_warn("%s", c.msg);
	lease_point_fail(&s->lp, &c);
	session_waiters_done(s, &s->host_waiters, &c);
}

/* Arms the wait (once) and queues done for its end. */
static void wait_arm(struct session *s, session_done_cb done, void *arg)
{
	if (done != NULL)
		session_waiter_add(&s->host_waiters, done, arg);
	if (!waiting(s)) {
		log_info("session %s: waits up to %gs for %s%s%s", s->key, s->core->cfg->host_wait_s,
			 s->host ? "host " : "a host", s->host ? s->host->name : "",
			 s->host ? "" : " to connect");
		session_timer(s, &s->host_timer, wait_expired, s->core->cfg->host_wait_s);
	}
}

bool hosts_wait(struct session *s, session_done_cb done, void *arg)
{
	if (s->host == NULL || hosts_usable(s->host))
		return false;
	wait_arm(s, done, arg);
	return true;
}

void hosts_wait_reask(struct session *s)
{
	session_waiters_done(s, &s->host_waiters, NULL);
}

/* The session's host (or, for one without, any host) is up: what waited
 * goes on, a VM still running is usable again. */
static void session_back(struct session *s)
{
	session_timer_cancel(s->host_timer);
	if (s->state == SESSION_RUNNING && !lease_gate_is_open(&s->lp.gate)) {
		lease_point_grant(&s->lp);
		idle_recheck(&s->idle);
	}
	hosts_wait_reask(s);
	request_next(s);
}

static void host_back(struct host *h)
{
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &h->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host == h || (s->host == NULL && waiting(s)))
			session_back(s);
	}
}

/* ---- placement ---------------------------------------------------------------- */

/* "a 1024, b full, c down": every host's room, for the log. */
static void rooms_text(struct core *core, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < core->nhosts && n < len; i++) {
		struct host *h = &core->hosts[i];
		if (!hosts_usable(h))
			n += (size_t)snprintf(buf + n, len - n, "%s%s %s", i ? ", " : "", h->name,
					      link_names[h->link]);
		else if (h->capacity_mib < 0)
			n += (size_t)snprintf(buf + n, len - n, "%s%s unlimited", i ? ", " : "",
					      h->name);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s %.0f", i ? ", " : "", h->name,
					      room(h));
	}
}

/* The up host with the most room for mib (ties: the first by name), or
 * NULL: *none_up when no host is up, else a CAUSE_LIMIT in c. */
static struct host *choose(struct core *core, unsigned mib, bool *none_up, struct cause *c)
{
	struct host *best = NULL, *roomiest = NULL;

	*none_up = true;
	for (size_t i = 0; i < core->nhosts; i++) {
		struct host *h = &core->hosts[i];
		if (!hosts_usable(h))
			continue;
		*none_up = false;
		if (roomiest == NULL || room(h) > room(roomiest))
			roomiest = h;
		if (room(h) >= mib && (best == NULL || room(h) > room(best)))
			best = h;
	}
	core->stats.placements++;
	if (best == NULL && roomiest != NULL)
		cause_set(c, CAUSE_LIMIT, "no host has room for %u MiB: the most room left is "
			  "%.0f MiB (host '%s')", mib, fmax(room(roomiest), 0), roomiest->name);
	return best;
}

static void log_placement(struct session *s, struct host *h, const char *why)
{
	char rooms[512];

	rooms_text(s->core, rooms, sizeof rooms);
	log_info("placement: session %s (%u MiB) %s host %s; room before, MiB: %s", s->key,
		 s->set.memory_mib, why, h->name, rooms);
}

void hosts_commit(struct session *s, struct host *h)
{
	s->host = h;
	s->committed_mib = s->set.memory_mib;
	h->committed_mib += s->committed_mib;
	h->vms++;
}

void hosts_release(struct session *s)
{
	struct host *h = s->host;

	if (h != NULL && s->committed_mib > 0) {
		h->committed_mib -= s->committed_mib;
		h->vms--;
	}
	s->committed_mib = 0;
	if (!s->pinned)
		s->host = NULL;
}

/* Cannot start now: the parked callers are told why (a restart back-off
 * that ends here goes back to idle, so the next caller may start). */
static bool refuse(struct session *s, const struct cause *c)
{
	log_warn("%s", c->msg);
	if (s->phase == PHASE_RESTART_WAIT)
		state_phase(s, PHASE_IDLE);
	lease_point_fail(&s->lp, c);
	return false;
}

static bool must_wait(struct session *s)
{
	if (s->phase == PHASE_RESTART_WAIT)
		state_phase(s, PHASE_IDLE);
	wait_arm(s, NULL, NULL);
	return false;
}

bool hosts_claim(struct session *s)
{
	unsigned mib = s->set.memory_mib;
	struct host *h = s->host;
	struct cause c;
	bool none_up;

	if (h != NULL) {
		/* Pinned, or an instance recorded there still to reconcile. */
		if (!hosts_usable(h) || s->loaded_instance[0] != '\0')
			return must_wait(s);
		if (room(h) < mib) {
			cause_set(&c, CAUSE_LIMIT, "session '%s': host '%s' has no room for %u MiB: "
				  "%.0f MiB left (the session is pinned there)", s->name, h->name, mib,
				  fmax(room(h), 0));
			return refuse(s, &c);
		}
		log_placement(s, h, "stays on its");
	} else if ((h = choose(s->core, mib, &none_up, &c)) != NULL) {
		log_placement(s, h, "->");
	} else if (none_up) {
		return must_wait(s);
	} else {
		char msg[CAUSE_MSG_MAX];
		str_copy(msg, sizeof msg, c.msg);
		cause_set(&c, CAUSE_LIMIT, "session '%s': %s", s->name, msg);
		return refuse(s, &c);
	}
	/* Placed: a wait for a start ends; requests never wait here (a
	 * session with a host waiting for it is not placed anew). */
	if (!list_empty(&s->host_waiters))
		log_err("session %s: placed with requests still waiting for a host (bug)", s->key);
	session_timer_cancel(s->host_timer);
	hosts_commit(s, h);
	return true;
}

int hosts_for_create(struct session *s, const char *name, struct cause *c)
{
	struct core *core = s->core;
	struct host *h = NULL;
	bool none_up;

	if (name != NULL) {
		if ((h = hosts_find(core, name)) == NULL) {
			cause_set(c, CAUSE_INVALID, "invalid params: 'host': no host '%s'", name);
			return -1;
		}
		if (!hosts_usable(h)) {
			cause_set(c, CAUSE_START_FAILED, "host '%s' is not connected: %s", name,
				  h->why[0] ? h->why : link_names[h->link]);
			return -1;
		}
		log_placement(s, h, "pinned, as asked, to");
	} else if (s->set.storage == STORAGE_PERSISTENT) {
		if ((h = choose(core, s->set.memory_mib, &none_up, c)) == NULL) {
			if (none_up)
				cause_set(c, CAUSE_START_FAILED, "session '%s': no host is connected for "
					  "its persistent disk", s->name);
			return -1;
		}
		log_placement(s, h, "pinned (its persistent disk goes there) to");
	}
	s->host = h;
	s->pinned = h != NULL;
	return 0;
}

/* ---- the registry of hosts ----------------------------------------------------- */

struct host *hosts_find(struct core *core, const char *name)
{
	for (size_t i = 0; name != NULL && i < core->nhosts; i++)
		if (strcmp(core->hosts[i].name, name) == 0)
			return &core->hosts[i];
	return NULL;
}

struct host *hosts_default(struct core *core)
{
	struct host *h = hosts_find(core, HOST_LOCAL);

	return h != NULL ? h : core->nhosts == 1 ? &core->hosts[0] : NULL;
}

bool hosts_all_up(struct core *core)
{
	for (size_t i = 0; i < core->nhosts; i++)
		if (!hosts_usable(&core->hosts[i]))
			return false;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct host *)a)->cfg->name, ((const struct host *)b)->cfg->name);
}

static void host_init(struct core *core, struct host *h, const struct host_config *hc,
		      struct driver *drv, const char *recorded, const char *pool_path)
{
	const struct core_config *cfg = core->cfg;
	const char *pool = hc->pool ? hc->pool : cfg->pool ? cfg->pool
			 : recorded != NULL && recorded[0] ? recorded : NULL;
	const char *path = hc->pool_path ? hc->pool_path : cfg->pool_path;

	h->core = core;
	h->cfg = hc;
	h->name = hc->name;
	h->drv = drv;
	h->link = HOST_DOWN;
	h->capacity_mib = hc->memory_mib < 0 ? HOST_UNLIMITED : 0;
	/* A configured pool without a pool_path is used wherever it is. */
	h->storage = storage_new(drv, core->prefix, pool, path ? path : pool_path,
				 pool == NULL || path != NULL, cfg->scratch_gib);
	h->workers = workers_new(core->base, cfg->workers, "libvirt");
	h->reconnect_ev = evtimer_new(core->base, reconnect_cb, h);
	h->lost_ev = event_new(core->base, -1, 0, lost_cb, h);
	if (h->reconnect_ev == NULL || h->lost_ev == NULL)
		fatal("cannot create an event");
	h->events.lifecycle = host_vm_event;
	h->events.disconnected = host_disconnected;
	drv->events = &h->events;
	drv->events_arg = h;
}

/* Start-up: connect now.  -1: the daemon cannot start (no connection
 * with a single host, or a pool it must not use); 1: down, retried. */
static int host_first_open(struct host *h, bool alone, struct cause *c)
{
	struct cause e;

	if (h->drv->ops->open(h->drv, &e) < 0) {
		if (alone) {
			*c = e;
			return -1;
		}
		log_warn("host %s: cannot connect to %s (%s); retrying in the background", h->name,
			 h->cfg->uri, e.msg);
		str_copy(h->why, sizeof h->why, e.msg);
		schedule_reconnect(h);
		return 1;
	}
	if (storage_init(h->storage, &e) < 0) {
		if (alone)
			*c = e;
		else
			cause_set(c, e.kind, "host %s: %s", h->name, e.msg);
		return -1;
	}
	host_learn(h, &h->capacity_mib, &h->kvm_usable);
	h->epoch++;
	h->link = HOST_SYNCING;
	host_log_up(h, "connected to");
	return 0;
}

int hosts_open(struct core *core, struct driver *const *drvs, const char *recorded_pool,
	       struct cause *c)
{
	const struct core_config *cfg = core->cfg;
	size_t n = cfg->nhosts > 0 ? cfg->nhosts : 1;
	char pool_path[4200];
	bool any = false;

	snprintf(pool_path, sizeof pool_path, "%s/pool", cfg->state_dir);
	core->hosts = xcalloc(n, sizeof *core->hosts);
	core->nhosts = n;
	for (size_t i = 0; i < n; i++) {
		struct host *h = &core->hosts[i];
		if (cfg->nhosts == 0) {
			/* The one host of a configuration without hosts. */
			h->own_cfg.name = (char *)HOST_LOCAL;
			h->own_cfg.uri = (char *)drvs[i]->ops->uri(drvs[i]);
			h->own_cfg.memory_mib = HOST_UNLIMITED;
		}
		host_init(core, h, cfg->nhosts > 0 ? &cfg->hosts[i] : &h->own_cfg, drvs[i],
			  n == 1 ? recorded_pool : NULL, pool_path);
	}
	qsort(core->hosts, n, sizeof *core->hosts, by_name);
	for (size_t i = 0; i < n; i++) {
		/* The sort moved them: events and timers name the host where it
		 * is now. */
		struct host *h = &core->hosts[i];
		if (cfg->nhosts == 0)
			h->cfg = &h->own_cfg;
		h->name = h->cfg->name;
		h->drv->events = &h->events;
		h->drv->events_arg = h;
		evtimer_assign(h->reconnect_ev, core->base, reconnect_cb, h);
		event_assign(h->lost_ev, core->base, -1, 0, lost_cb, h);
	}
	for (size_t i = 0; i < n; i++) {
		int rc = host_first_open(&core->hosts[i], n == 1, c);
		if (rc < 0)
			return -1;
		any = any || rc == 0;
	}
	if (!any) {
		cause_set(c, CAUSE_INTERNAL, "no host can be reached");
		return -1;
	}
	return 0;
}

/* Every connection closes first (no lifecycle callback or disconnect
 * notice after it), then the workers finish what they run. */
void hosts_close(struct core *core)
{
	for (size_t i = 0; i < core->nhosts; i++) {
		struct host *h = &core->hosts[i];
		workers_free(h->workers);
		h->workers = NULL;
		h->drv->ops->close(h->drv);
	}
}

void hosts_free(struct core *core)
{
	for (size_t i = 0; i < core->nhosts; i++) {
		struct host *h = &core->hosts[i];
		if (h->reconnect_ev != NULL)
			event_free(h->reconnect_ev);
		if (h->lost_ev != NULL)
			event_free(h->lost_ev);
		storage_free(h->storage);
		h->drv->events = NULL;
	}
	free(core->hosts);
	core->hosts = NULL;
	core->nhosts = 0;
}

/* ---- what daemon.info shows ----------------------------------------------------- */

json_t *hosts_json(struct core *core, bool all, uid_t owner)
{
	json_t *a = json_array();
	size_t *count = xcalloc(core->nhosts, sizeof *count);
	struct list_node *pos;

	list_foreach(pos, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->host != NULL && session_visible(s) && (all || s->owner == owner))
			count[s->host - core->hosts]++;
	}
	for (size_t i = 0; i < core->nhosts; i++) {
		struct host *h = &core->hosts[i];
		const char *pool = storage_pool(h->storage);
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:f, s:I, s:I, s:o}",
			"name", h->name, "uri", h->cfg->uri, "connected", hosts_usable(h),
			"link", link_names[h->link], "pool", pool ? json_string(pool) : json_null(),
			"memory_mib", h->capacity_mib < 0 ? json_null() : json_real(h->capacity_mib),
			"committed_mib", h->committed_mib, "vms", (json_int_t)h->vms,
			"sessions", (json_int_t)count[i],
			"error", h->why[0] && !hosts_usable(h) ? json_string(h->why) : json_null()));
	}
	free(count);
	return a;
}
