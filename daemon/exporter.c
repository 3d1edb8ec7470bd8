/*
 * exporter.c — the daemon's metrics endpoint: where it serves (as the
 * configuration says, applied by exporter_apply at start and by a reload),
 * the gauges read from the core right before each scrape, and the loop's
 * lag, measured while the endpoint serves.
 *
 * Counters and histograms are counted where things happen (metrics.h);
 * gauges are not kept anywhere else: a scrape walks the sessions once
 * (sessions by state come from the core's own count).
 */
#include "daemon.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

/* A timer this often measures how late it fires. */
#define LAG_PERIOD_S 0.5

_Static_assert(SESSION_SUSPENDED - SESSION_STOPPED + 1 == METRICS_STATES,
	       "metrics.c names every state from stopped to suspended");

struct exporter {
	struct metrics_http *http;
	char *listen;                       /* what http serves; NULL: nothing */
	bool allow_remote;
	struct event *lag_ev;
	double due;                         /* monotonic: when lag_ev should fire */
};

/* ---- gauges --------------------------------------------------------------- */

struct tally {
	int64_t leases, tokens, waiting, memory_mib;
};

static void tally_session(struct session *s, struct tally *t)
{
	struct list_node *pos;

	list_foreach(pos, &s->leases) {
		if (list_entry(pos, struct session_lease, node)->lease.state == LEASE_HELD)
			t->leases++;
	}
	list_foreach(pos, &s->tokens) {
		if (list_entry(pos, struct token, session_node)->lease.state == LEASE_HELD)
			t->tokens++;
	}
	t->waiting += (int64_t)lease_point_parked(&s->lp);
	if (s->state == SESSION_STARTING || s->state == SESSION_RUNNING)
		t->memory_mib += s->set.memory_mib;
}

static void collect(void *arg)
{
	struct daemon *d = arg;
	struct core *core = d->core;
	struct tally t = { 0, 0, 0, 0 };
	struct list_node *pos;

	for (unsigned i = 0; i < METRICS_STATES; i++)
		metrics_set(MX_SESSIONS, i, (int64_t)core->nstate[SESSION_STOPPED + i]);
	list_foreach(pos, &core->sessions)
		tally_session(list_entry(pos, struct session, node), &t);
	metrics_set(MX_HOLDS, MHOLD_LEASE, t.leases);
	metrics_set(MX_HOLDS, MHOLD_TOKEN, t.tokens);
	metrics_set(MX_WAITING_CALLERS, 0, t.waiting);
	metrics_set(MX_VM_MEMORY_BYTES, 0, t.memory_mib * 1024 * 1024);
	metrics_set(MX_RPC_OPEN_CONNECTIONS, 0,
		    d->srv != NULL ? (int64_t)rpc_server_conn_count(d->srv) : 0);
	int64_t jobs = (int64_t)workers_pending(core->workers), up = 0;
	for (size_t i = 0; i < core->nhosts; i++) {
		jobs += (int64_t)workers_pending(core->hosts[i].workers);
		up += hosts_usable(&core->hosts[i]);
	}
	metrics_set(MX_WORKER_JOBS, MPOOL_LIBVIRT, jobs);
	metrics_set(MX_WORKER_JOBS, MPOOL_WRITER, workers_pending(core->writer));
	metrics_set(MX_LIBVIRT_CONNECTED, 0, up);
	metrics_set(MX_BUILD_INFO, 0, 1);
}

/* ---- loop lag ------------------------------------------------------------------ */

static void lag_arm(struct exporter *e)
{
	struct timeval tv = tv_from_seconds(LAG_PERIOD_S);

	e->due = mono_now() + LAG_PERIOD_S;
	evtimer_add(e->lag_ev, &tv);
}

static void lag_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exporter *e = arg;

	(void)fd;
	(void)what;
	metrics_observe(MX_LOOP_LAG, 0, mono_now() - e->due);
	lag_arm(e);
}

/* ---- applying the configuration ---------------------------------------------- */

static void stop_serving(struct exporter *e)
{
	if (e->http != NULL)
		log_info("metrics: no longer served on %s", metrics_http_address(e->http));
	metrics_http_free(e->http);
	e->http = NULL;
	free(e->listen);
	e->listen = NULL;
	if (e->lag_ev != NULL)
		evtimer_del(e->lag_ev);
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static struct metrics_http *serve_on(struct daemon *d, const char *listen, bool allow,
				     struct cause *c)
{
	return metrics_http_new(d->base, listen, allow, collect, d, c);
}

static void now_serving(struct exporter *e, struct metrics_http *h, const char *listen,
			bool allow)
{
	const char *at = metrics_http_address(h);

	e->http = h;
	e->listen = xstrdup(listen);
	e->allow_remote = allow;
	lag_arm(e);
	if (at[0] == '/')
		log_info("metrics: serving /metrics on the socket %s", at);
	else
		log_info("metrics: serving http://%s/metrics", at);
}

int exporter_apply(struct daemon *d, struct cause *c)
{
	const char *want = d->cfg.metrics_listen;
	bool allow = d->cfg.metrics_allow_remote;
	struct cause ignored;

	if (d->exporter == NULL) {
		d->exporter = XNEW(d->exporter);
		d->exporter->lag_ev = evtimer_new(d->base, lag_cb, d->exporter);
		if (d->exporter->lag_ev == NULL)
			fatal("cannot create the loop lag timer");
	}
	struct exporter *e = d->exporter;
	if (same(e->listen, want) && (want == NULL || e->allow_remote == allow))
		return 0;
	if (want == NULL) {
		stop_serving(e);
		return 0;
	}
	struct metrics_http *h = serve_on(d, want, allow, c);
	if (h == NULL && e->http != NULL) {
		/* The old endpoint may hold the port: let it go and try
		 * again; if that fails too, take the old one back. */
		char *old = xstrdup(e->listen);
		bool old_allow = e->allow_remote;
		stop_serving(e);
		h = serve_on(d, want, allow, c);
		struct metrics_http *back = h == NULL ? serve_on(d, old, old_allow, &ignored) : NULL;
		if (back != NULL)
			now_serving(e, back, old, old_allow);
		free(old);
	}
	if (h == NULL)
		return -1;
	stop_serving(e);
	now_serving(e, h, want, allow);
	return 0;
}

void exporter_free(struct daemon *d)
{
	struct exporter *e = d->exporter;

	if (e == NULL)
		return;
	stop_serving(e);
	if (e->lag_ev != NULL)
		event_free(e->lag_ev);
	free(e);
	d->exporter = NULL;
}
