/*
 * race_stress.c — randomized operations against the real core, with the
 * fault seam injecting delays, failed starts and crashes, and an outside
 * thread destroying the daemon's domains behind its back through its own
 * libvirt connection.
 *
 *   race_stress [--ops N] [--seed S] [--sessions K] [--checkpoint M] [--no-chaos] [-v]
 *
 * The windows it hunts (the ones the WSL idle-terminate work had to fix):
 * a lease arriving while the idle stop closes the gate; an idle stop
 * racing a crash; a crash in the start-cleanup window (before the start
 * job returns); a request arriving during teardown; tokens released by
 * expiry or disconnect while a stop or crash is under way.
 *
 * Invariants, checked all the time:
 *  - every instance is torn down exactly once (the core counts double
 *    teardowns; at each checkpoint teardowns == instances started), and,
 *    not trusting the core, as the seam's ledger and a libvirt observer
 *    see it (below);
 *  - the gate's hold count equals the holds this program knows it holds
 *    (so it never goes negative or leaks);
 *  - no caller stays parked longer than PARK_BOUND_S;
 *  - only legal state transitions (session_set_state asserts);
 *  - every instance that reached running ends with exactly one stopped or
 *    crashed event;
 * and at every checkpoint (all holds released, faults off, quiescent): no
 * domain, scratch volume, instance object or index entry is left.
 *
 * Teardowns counted outside the core, at every checkpoint, per instance:
 * the fault seam's ledger (tests/fault) records every domain destroy and
 * volume delete the core asked libvirt for, and an observer
 * (tests/harness/observer.h) on a second connection to the same
 * test:///default, open the whole run, sees every lifecycle event and
 * lists the pool every 2 ms.  Each instance's domain must be destroyed
 * exactly once and its scratch volume deleted exactly once (ledger); a
 * domain that started must have been seen starting and stopping exactly
 * once, and a scratch volume once gone must never be listed again
 * (observer); nothing of the daemon's prefix may be left (observer's own
 * listing).
 *
 * Chaos is required, not assumed: at the end every kind of injected fault
 * (failed starts, crashes in a start, crashes in a stop, failed scratch
 * volumes) and the outside kills must each have happened at least once,
 * and the crasher's libvirt connection must have worked (a crasher that
 * cannot list or destroy domains fails the run).  --no-chaos turns every
 * fault and the crasher off, to show that such a run fails.
 *
 * The operation sequence is a function of the seed (printed on failure;
 * rerun with --seed).  The threads (workers, libvirt events, the outside
 * crasher) make the interleaving differ between runs: a replay repeats
 * the operations, not necessarily the exact schedule.
 */
#include <event2/event.h>
#include <getopt.h>
#include <libvirt/virterror.h>
#include <stdarg.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/timeutil.h"
#include "../harness/harness.h"
#include "../harness/observer.h"
#include "../../virt/virt.h"

#define MAX_SESSIONS 8
#define MAX_LEASES 6
#define MAX_TOKENS 6
#define PARK_BOUND_S 20.0

struct held_lease {
	struct session_lease sl;
	struct session *s;
	bool used;
	bool granted;
	bool failed;
	double since;                       /* monotonic */
};

struct held_token {
	char id[37];
	struct session *s;
	bool used;
};

struct stress {
	struct harness *h;
	unsigned seed, rng;
	long ops, op;
	int nsessions;
	long checkpoint_every;
	struct session *sessions[MAX_SESSIONS];
	struct held_lease leases[MAX_LEASES];
	struct held_token tokens[MAX_TOKENS];
	struct list_node conn;              /* the fake connection's tokens */
	json_t *per_instance;               /* id -> {"running":n,"ends":n} */
	_Atomic int chaos_on;
	_Atomic int quit;
	_Atomic long outside_kills, outside_misses;
	_Atomic int chaos_broken;           /* the crasher's connection failed */
	char chaos_why[256];                /* written once, before chaos_broken */
	struct observer *ob;
	long audited;                       /* instances the observer audit checked */
	long counts[16];
	bool no_chaos;
	bool verbose;
};

static struct stress S;

enum op_kind {
	OP_LEASE, OP_RELEASE, OP_TOKEN, OP_TOKEN_RELEASE, OP_DISCONNECT, OP_STOP,
	OP_FORCE_STOP, OP_RESET, OP_LOOP, OP_PAUSE, OP__COUNT
};
static const char *const op_names[OP__COUNT] = {
	"lease", "release", "token", "token-release", "disconnect", "stop", "force-stop",
	"reset", "loop", "pause"
};

static unsigned rnd(void)
{
	unsigned x = S.rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	S.rng = x ? x : 1;
	return S.rng;
}

static _Noreturn void broken(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void broken(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "race_stress: INVARIANT BROKEN at op %ld: ", S.op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nrace_stress: FAILED seed=%u; replay with: race_stress --seed %u --ops %ld\n",
		S.seed, S.seed, S.ops);
	exit(1);
}

/* ---- events: per-instance ends ------------------------------------------------ */

static void on_event(struct harness *h, struct session *s, json_t *p)
{
	const char *ev = json_string_value(json_object_get(p, "event"));
	const char *inst = json_string_value(json_object_get(p, "instance"));

	(void)h;
	(void)s;
	if (inst == NULL)
		return;
	json_t *rec = json_object_get(S.per_instance, inst);
	if (rec == NULL) {
		rec = json_pack("{s:i, s:i}", "running", 0, "ends", 0);
		json_object_set_new(S.per_instance, inst, rec);
	}
	const char *k = strcmp(ev, "running") == 0 ? "running"
		: (strcmp(ev, "stopped") == 0 || strcmp(ev, "crashed") == 0) ? "ends" : NULL;
	if (k == NULL)
		return;
	json_int_t n = json_integer_value(json_object_get(rec, k)) + 1;
	json_object_set_new(rec, k, json_integer(n));
	if (n > 1)
		broken("instance %s got %lld '%s' events", inst, (long long)n, k);
}

/* ---- the outside crasher ---------------------------------------------------------- */

/* The crasher's connection failed: the main loop stops the run with why. */
static void chaos_failed(const char *what)
{
	virErrorPtr e = virGetLastError();

	if (atomic_load(&S.chaos_broken))
		return;
	snprintf(S.chaos_why, sizeof S.chaos_why, "the crasher cannot %s: %s", what,
		 e != NULL && e->message != NULL ? e->message : "unknown libvirt error");
	atomic_store(&S.chaos_broken, 1);
}

/* A destroy may lose to the daemon (the domain went first); any other
 * error means the crasher does not crash anything. */
static void chaos_destroy(virDomainPtr dom)
{
	if (virDomainDestroy(dom) == 0) {
		atomic_fetch_add(&S.outside_kills, 1);
		return;
	}
	virErrorPtr e = virGetLastError();
	if (e != NULL && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID))
		atomic_fetch_add(&S.outside_misses, 1);
	else
		chaos_failed("destroy a domain");
}

static void *chaos_main(void *arg)
{
	struct harness *h = arg;
	virConnectPtr conn = virConnectOpen(h->opts.uri);
	unsigned r = S.seed * 2654435761u + 1;
	char pfx[32];

	if (conn == NULL) {
		chaos_failed("connect");
		return NULL;
	}
	snprintf(pfx, sizeof pfx, "%s-", h->core->prefix);
	while (!atomic_load(&S.quit)) {
		usleep(2000 + (r % 8000));
		r ^= r << 13;
		r ^= r >> 17;
		r ^= r << 5;
		if (!atomic_load(&S.chaos_on))
			continue;
		virDomainPtr *doms = NULL;
		int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
		if (n < 0)
			chaos_failed("list domains");
		int pick = n > 0 ? (int)(r % (unsigned)n) : -1;
		for (int i = 0; i < n; i++) {
			const char *name = virDomainGetName(doms[i]);
			if (i == pick && name != NULL && strncmp(name, pfx, strlen(pfx)) == 0)
				chaos_destroy(doms[i]);
			virDomainFree(doms[i]);
		}
		free(doms);
	}
	virConnectClose(conn);
	return NULL;
}

/* ---- holds the program keeps track of ------------------------------------------------ */

static void lease_done(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct held_lease *hl = arg;

	if (err != NULL) {
		hl->failed = true;
		return;
	}
	hl->granted = true;
	/* A lease is only ever granted on a running VM. */
	if (sl->s->state != SESSION_RUNNING)
		broken("lease granted on %s while %s", sl->s->name, state_name(sl->s->state));
}

static int expected_holds(struct session *s)
{
	int n = 0;

	for (int i = 0; i < MAX_LEASES; i++)
		n += S.leases[i].used && S.leases[i].s == s && S.leases[i].granted;
	for (int i = 0; i < MAX_TOKENS; i++) {
		struct token *t = S.tokens[i].used && S.tokens[i].s == s
			? token_find(S.h->core->tokens, S.tokens[i].id) : NULL;
		n += t != NULL && t->lease.state == LEASE_HELD;
	}
	return n;
}

/* Forget leases that failed, and parked ones stuck past the bound. */
static void reap(void)
{
	double now = mono_now();

	for (int i = 0; i < MAX_LEASES; i++) {
		struct held_lease *hl = &S.leases[i];
		if (!hl->used)
			continue;
		if (hl->failed) {
			holds_lease_release(&hl->sl);
			hl->used = false;
		} else if (!hl->granted && now - hl->since > PARK_BOUND_S) {
			broken("a caller parked on %s for %.1fs (state %s)", hl->s->name,
			       now - hl->since, state_name(hl->s->state));
		}
	}
	for (int i = 0; i < MAX_TOKENS; i++) {
		if (S.tokens[i].used && token_find(S.h->core->tokens, S.tokens[i].id) == NULL)
			S.tokens[i].used = false;   /* expired, revoked or disconnected */
	}
}

static void check_holds(void)
{
	for (int i = 0; i < S.nsessions; i++) {
		struct session *s = S.sessions[i];
		int want = expected_holds(s);
		unsigned have = lease_gate_holds(&s->lp.gate);
		if ((int)have != want)
			broken("session %s: gate counts %u holds, the program holds %d", s->name,
			       have, want);
		/* The gate is open only while the VM runs. */
		if (lease_gate_is_open(&s->lp.gate) && s->state != SESSION_RUNNING)
			broken("session %s: gate open while %s", s->name, state_name(s->state));
	}
	if (S.h->core->stats.double_teardowns != 0)
		broken("%ld instance(s) torn down twice", S.h->core->stats.double_teardowns);
	if (atomic_load(&S.chaos_broken))
		broken("%s", S.chaos_why);
}

/* ---- operations ----------------------------------------------------------------------- */

static struct session *any_session(void)
{
	return S.sessions[rnd() % (unsigned)S.nsessions];
}

static void op_lease(void)
{
	for (int i = 0; i < MAX_LEASES; i++) {
		struct held_lease *hl = &S.leases[i];
		if (hl->used)
			continue;
		memset(hl, 0, sizeof *hl);
		hl->used = true;
		hl->s = any_session();
		hl->since = mono_now();
		holds_lease_acquire(hl->s, &hl->sl, "stress", 0, 1, lease_done, hl);
		return;
	}
}

static void op_release(void)
{
	int i = (int)(rnd() % MAX_LEASES);

	if (S.leases[i].used) {
		holds_lease_release(&S.leases[i].sl);     /* held or still parked */
		S.leases[i].used = false;
	}
}

static void token_done(struct lease *l, const struct cause *err, void *arg)
{
	struct token *t = arg;

	(void)l;
	if (err != NULL)
		token_release(t, "failed");
	else if (((struct session *)t->session)->state != SESSION_RUNNING)
		broken("token granted while %s",
		       state_name(((struct session *)t->session)->state));
}

static void op_token(void)
{
	for (int i = 0; i < MAX_TOKENS; i++) {
		struct held_token *ht = &S.tokens[i];
		if (ht->used)
			continue;
		struct session *s = any_session();
		struct token *t = token_new(S.h->core->tokens, NULL, s, &S.conn, &S.conn, 0, 1,
					    "stress");
		holds_add_token(s, t);
		str_copy(ht->id, sizeof ht->id, t->id);
		ht->s = s;
		ht->used = true;
		if (rnd() % 3 == 0)
			token_set_ttl(t, 0.001 * (1 + rnd() % 20));
		lease_acquire(&s->lp, &t->lease, token_done, t);
		return;
	}
}

static void op_token_release(void)
{
	struct held_token *ht = &S.tokens[rnd() % MAX_TOKENS];
	struct token *t = ht->used ? token_find(S.h->core->tokens, ht->id) : NULL;

	if (t != NULL)
		token_release(t, "released");
	ht->used = false;
}

static void stop_done(struct session *s, const struct cause *err, void *arg)
{
	(void)s;
	(void)err;
	(void)arg;
}

static void do_op(enum op_kind k)
{
	struct cause c;

	S.counts[k]++;
	switch (k) {
	case OP_LEASE: op_lease(); break;
	case OP_RELEASE: op_release(); break;
	case OP_TOKEN: op_token(); break;
	case OP_TOKEN_RELEASE: op_token_release(); break;
	case OP_DISCONNECT: token_release_conn(&S.conn); break;
	case OP_STOP: request_stop(any_session(), false, stop_done, NULL); break;
	case OP_FORCE_STOP: request_stop(any_session(), true, stop_done, NULL); break;
	case OP_RESET: request_reset(any_session(), &c); break;
	case OP_PAUSE:
		/* Let up to 3 ms pass on the loop: graces of 1-5 ms expire,
		 * stops and starts complete, TTLs run out. */
		harness_spin(S.h, 0.0005 * (1 + rnd() % 6));
		return;
	default: break;
	}
	event_base_loop(S.h->base, EVLOOP_NONBLOCK);
}

static enum op_kind pick_op(void)
{
	/* Weights: mostly holds coming and going, some stops, a few resets. */
	static const int w[OP__COUNT] = { 30, 25, 15, 12, 2, 3, 1, 2, 10, 4 };
	int total = 0, r;

	for (int i = 0; i < OP__COUNT; i++)
		total += w[i];
	r = (int)(rnd() % (unsigned)total);
	for (int i = 0; i < OP__COUNT; i++) {
		if (r < w[i])
			return (enum op_kind)i;
		r -= w[i];
	}
	return OP_LOOP;
}

/* ---- checkpoints ----------------------------------------------------------------------- */

/* Each kind often enough that a 30,000-operation run (make check-tsan)
 * sees it a dozen times or more: the end of the run requires every kind. */
static const struct fault_cfg faults_on = {
	.p_start_fail = 0.06, .p_crash_in_start = 0.08, .p_crash_in_stop = 0.4,
	.p_vol_fail = 0.08, .max_op_delay_us = 300, .max_event_delay_us = 300,
};

static bool all_settled(struct harness *h, void *arg)
{
	(void)arg;
	reap();
	for (int i = 0; i < S.nsessions; i++) {
		enum session_state st = S.sessions[i]->state;
		/* A pending crash restart finds no holds when it fires and
		 * does nothing: no need to wait out its backoff. */
		if (st != SESSION_STOPPED && st != SESSION_FAILED)
			return false;
	}
	return core_quiescent(h->core) && workers_pending(h->core->writer) == 0;
}

static void drop_everything(void)
{
	for (int i = 0; i < MAX_LEASES; i++) {
		if (S.leases[i].used)
			holds_lease_release(&S.leases[i].sl);
		S.leases[i].used = false;
	}
	for (int i = 0; i < MAX_TOKENS; i++) {
		struct token *t = S.tokens[i].used ? token_find(S.h->core->tokens, S.tokens[i].id) : NULL;
		if (t != NULL)
			token_release(t, "released");
		S.tokens[i].used = false;
	}
}

/* ---- the outside audit: the ledger and the observer ------------------------------- */

static json_int_t ledger_count(json_t *ledger, enum fault_call k, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(ledger, fault_call_name(k)),
						   key));
}

static void observed_one(const struct observer_inst *in, void *arg)
{
	json_object_set_new(arg, in->id, json_pack("{s:i, s:i, s:b, s:b}", "started",
		in->started, "stopped", in->stopped, "seen", in->vol_seen, "back", in->vol_back));
}

/* What the observer saw, per instance id. */
static json_t *observed(void)
{
	json_t *all = json_object();

	observer_foreach(S.ob, observed_one, all);
	return all;
}

/* The instance id in "<prefix>-<id>-scratch.qcow2", or NULL. */
static const char *scratch_id(const char *name, char *id)
{
	size_t pl = strlen(S.h->core->prefix) + 1, n = strlen(name);

	if (n != pl + 36 + strlen("-scratch.qcow2") || strcmp(name + pl + 36, "-scratch.qcow2") != 0)
		return NULL;
	snprintf(id, 37, "%s", name + pl);
	return id;
}

/* Every domain the core made has been seen starting and stopping. */
static bool events_in(struct harness *h, void *arg)
{
	json_t *started = json_object_get(arg, fault_call_name(FC_DOMAIN_STARTED));
	json_t *seen = observed();
	const char *id;
	json_t *v;
	bool all = true;

	(void)h;
	json_object_foreach(started, id, v) {
		json_t *o = json_object_get(seen, id);
		if (json_integer_value(json_object_get(o, "started")) < 1 ||
		    json_integer_value(json_object_get(o, "stopped")) < 1)
			all = false;
	}
	json_decref(seen);
	return all;
}

/* Every id any source names: the ledger's starts and scratch volumes, and
 * the observer's records. */
static json_t *all_ids(json_t *ledger, json_t *seen)
{
	json_t *ids = json_object(), *v;
	const char *key;
	char id[37];

	json_object_foreach(json_object_get(ledger, fault_call_name(FC_DOMAIN_START)), key, v)
		json_object_set(ids, key, json_true());
	json_object_foreach(json_object_get(ledger, fault_call_name(FC_VOL_CREATE)), key, v) {
		if (scratch_id(key, id) != NULL)
			json_object_set(ids, id, json_true());
	}
	json_object_foreach(seen, key, v)
		json_object_set(ids, key, json_true());
	return ids;
}

/* One instance, after its teardown: destroyed once, scratch deleted once
 * (the seam saw the calls), started and stopped once, its scratch volume
 * never back (the observer saw libvirt). */
static void audit_one(const char *id, json_t *ledger, json_t *o, bool scratch)
{
	char vol[128];
	json_int_t n;

	snprintf(vol, sizeof vol, "%s-%s-scratch.qcow2", S.h->core->prefix, id);
	if ((n = ledger_count(ledger, FC_DOMAIN_DESTROYED, id)) != 1)
		broken("instance %s: its domain was destroyed %lld times (seam ledger)", id,
		       (long long)n);
	if ((n = ledger_count(ledger, FC_VOL_DELETED, vol)) != (scratch ? 1 : 0))
		broken("instance %s: scratch volume %s deleted %lld times (seam ledger)", id, vol,
		       (long long)n);
	json_int_t made = ledger_count(ledger, FC_DOMAIN_STARTED, id);
	json_int_t up = json_integer_value(json_object_get(o, "started"));
	json_int_t down = json_integer_value(json_object_get(o, "stopped"));
	if (made > 1 || up != made || down != made)
		broken("instance %s: domain made %lld times, libvirt events: %lld started, "
		       "%lld stopped (observer)", id, (long long)made, (long long)up, (long long)down);
	if (json_is_true(json_object_get(o, "back")))
		broken("instance %s: scratch volume %s listed again after it was gone (observer)",
		       id, vol);
}

/* Quiescent, faults off: every instance since the last checkpoint is torn
 * down.  Checks them against the ledger and the observer, then forgets
 * them. */
static void audit_teardowns(void)
{
	json_t *ledger = fault_driver_ledger(S.h->drv), *seen, *ids, *left = NULL, *v;
	bool scratch = storage_scratch_enabled(S.h->core->storage);
	const char *id;

	if (!harness_wait(S.h, 30, events_in, ledger))
		broken("the observer did not see every domain start and stop within 30 s");
	if (observer_poll(S.ob) < 0 || observer_leftovers(S.ob, &left) < 0) {
		char why[256];
		long e, p, pe;
		observer_health(S.ob, &e, &p, &pe, why, sizeof why);
		broken("the observer cannot list libvirt: %s", why);
	}
	if (json_array_size(left) > 0)
		broken("left behind in libvirt (observer): %s", json_string_value(json_array_get(left, 0)));
	seen = observed();
	ids = all_ids(ledger, seen);
	json_object_foreach(ids, id, v) {
		audit_one(id, ledger, json_object_get(seen, id), scratch);
		S.audited++;
	}
	json_decref(left);
	json_decref(ids);
	json_decref(seen);
	json_decref(ledger);
	observer_reset(S.ob);
	fault_driver_ledger_clear(S.h->drv);
}

/* All holds gone, faults off: everything must drain to nothing. */
static void checkpoint(void)
{
	struct harness *h = S.h;
	struct fault_cfg off = { 0 };

	atomic_store(&S.chaos_on, 0);
	fault_driver_set(h->drv, &off);
	drop_everything();
	if (!harness_wait(h, 60, all_settled, NULL))
		broken("no quiescence within 60 s after dropping every hold");
	check_holds();
	struct core_stats *st = &h->core->stats;
	if (st->teardowns != st->instances_started)
		broken("%ld instances started, %ld torn down", st->instances_started, st->teardowns);
	audit_teardowns();
	if (instance_index_count() != 0 || instance_live_count() != 0)
		broken("left behind: %zu indexed, %ld live instance object(s)",
		       instance_index_count(), instance_live_count());
	const char *id;
	json_t *rec;
	json_object_foreach(S.per_instance, id, rec) {
		if (json_integer_value(json_object_get(rec, "running")) == 1 &&
		    json_integer_value(json_object_get(rec, "ends")) != 1)
			broken("instance %s reached running but ended %lld times", id,
			       (long long)json_integer_value(json_object_get(rec, "ends")));
	}
	json_object_clear(S.per_instance);
	for (int i = 0; i < S.nsessions; i++) {
		struct cause c;
		request_reset(S.sessions[i], &c);
	}
	if (S.no_chaos)
		return;
	struct fault_cfg on = faults_on;
	on.seed = rnd();
	fault_driver_set(h->drv, &on);
	atomic_store(&S.chaos_on, 1);
}

/* The chaos the run exists for happened, each kind at least once, and
 * the observer watched it. */
static void require_chaos(void)
{
	struct fault_stats *fs = fault_driver_stats(S.h->drv);
	const struct {
		const char *what;
		long n;
	} kinds[] = {
		{ "injected start failures", atomic_load(&fs->start_fails) },
		{ "crashes injected during a start", atomic_load(&fs->crashes_in_start) },
		{ "crashes injected during a stop", atomic_load(&fs->crashes_in_stop) },
		{ "injected scratch volume failures", atomic_load(&fs->vol_fails) },
		{ "domains killed from outside", atomic_load(&S.outside_kills) },
	};
	long events, polls, poll_errors;
	char why[256];

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (kinds[i].n == 0)
			broken("no %s in the whole run: it proves nothing about them%s", kinds[i].what,
			       S.no_chaos ? " (--no-chaos)" : "; run more operations");
	}
	observer_health(S.ob, &events, &polls, &poll_errors, why, sizeof why);
	if (events == 0 || polls == 0 || poll_errors != 0 || S.audited == 0)
		broken("the observer saw %ld events in %ld listings (%ld failed%s%s) and audited %ld"
		       " instances", events, polls, poll_errors, why[0] ? ": " : "", why, S.audited);
}

/* ---- main --------------------------------------------------------------------------------- */

static void setup_sessions(void)
{
	for (int i = 0; i < S.nsessions; i++) {
		char name[16], params[160];
		struct cause c;
		/* Graces of a few ms, both crash policies, some without scratch. */
		snprintf(name, sizeof name, "s%d", i);
		snprintf(params, sizeof params, "{\"grace_s\": %g, \"crash_policy\": \"%s\","
			 " \"stop_timeout_s\": %s}", 0.001 * (1 + i % 5),
			 i % 2 ? "restart" : "terminate", i % 3 ? "0.05" : "0");
		json_t *p = json_loads(params, 0, NULL);
		S.sessions[i] = harness_create(S.h, name, p, &c);
		json_decref(p);
		if (S.sessions[i] == NULL)
			fatal("create %s: %s", name, c.msg);
		session_ref(S.sessions[i]);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ops", required_argument, NULL, 'n' }, { "seed", required_argument, NULL, 's' },
		{ "sessions", required_argument, NULL, 'k' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "no-chaos", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' }, { NULL, 0, NULL, 0 },
	};
	int ch;

	S.ops = 1000000;
	S.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	S.nsessions = 4;
	S.checkpoint_every = 50000;
	while ((ch = getopt_long(argc, argv, "n:s:k:c:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': S.ops = atol(optarg); break;
		case 's': S.seed = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': S.nsessions = atoi(optarg); break;
		case 'c': S.checkpoint_every = atol(optarg); break;
		case 'N': S.no_chaos = true; break;
		case 'v': S.verbose = true; break;
		default:
			fprintf(stderr, "usage: race_stress [--ops N] [--seed S] [--sessions K] "
				"[--checkpoint M] [--no-chaos] [-v]\n");
			return 2;
		}
	}
	if (S.nsessions < 1 || S.nsessions > MAX_SESSIONS || S.checkpoint_every < 1)
		return 2;
	S.rng = S.seed ? S.seed : 1;
	printf("race_stress: seed %u, %ld operations, %d sessions, checkpoint every %ld%s\n",
	       S.seed, S.ops, S.nsessions, S.checkpoint_every, S.no_chaos ? ", NO chaos" : "");
	fflush(stdout);

	struct harness_opts o = { .fault = true, .scratch_gib = 1 };
	o.fcfg = faults_on;
	o.fcfg.seed = S.seed;
	S.h = harness_new(&o);
	S.h->on_event = on_event;
	S.per_instance = json_object();
	list_init(&S.conn);
	char err[256];
	struct observer_opts oo = { .uri = S.h->opts.uri, .pool = storage_pool(S.h->core->storage),
				    .prefix = S.h->core->prefix, .poll_ms = 2 };
	S.ob = observer_new(&oo, err, sizeof err);
	if (S.ob == NULL)
		fatal("race_stress: observer: %s", err);
	struct fault_cfg off = { 0 };
	fault_driver_set(S.h->drv, &off);
	setup_sessions();
	if (!S.no_chaos)
		fault_driver_set(S.h->drv, &o.fcfg);
	pthread_t chaos;
	atomic_store(&S.chaos_on, !S.no_chaos);
	pthread_create(&chaos, NULL, chaos_main, S.h);

	double t0 = mono_now();
	for (S.op = 1; S.op <= S.ops; S.op++) {
		do_op(pick_op());
		if (S.op % 64 == 0) {
			reap();
			check_holds();
		}
		if (S.op % S.checkpoint_every == 0 || S.op == S.ops) {
			checkpoint();
			if (S.verbose) {
				fprintf(stderr, "race_stress: %ld ops, %ld instances, %.1fs\n", S.op,
					S.h->core->stats.instances_started, mono_now() - t0);
				for (int i = 0; i < S.nsessions; i++) {
					struct session *s = S.sessions[i];
					fprintf(stderr, "  %s: %s starts %u crashes-in-window %d%s %s\n",
						s->name, state_name(s->state), s->start_count,
						s->ncrash, s->phase == PHASE_RESTART_WAIT ? " restart-pending" : "",
						s->last_stop_reason);
				}
			}
		}
	}
	atomic_store(&S.quit, 1);
	pthread_join(chaos, NULL);
	if (atomic_load(&S.chaos_broken))
		broken("%s", S.chaos_why);
	require_chaos();

	struct core_stats *st = &S.h->core->stats;
	struct fault_stats *fs = fault_driver_stats(S.h->drv);
	printf("race_stress: PASS: %ld operations in %.1fs (seed %u)\n", S.ops, mono_now() - t0, S.seed);
	printf("  instances started %ld, torn down %ld (expected stops %ld, spontaneous exits %ld,"
	       " failed starts %ld)\n", st->instances_started, st->teardowns, st->expected_stops,
	       st->spontaneous_exits, st->start_failures);
	printf("  injected: start failures %ld, crashes in start %ld, crashes in stop %ld,"
	       " volume failures %ld; outside kills %ld (%ld more found the domain gone)\n",
	       atomic_load(&fs->start_fails), atomic_load(&fs->crashes_in_start),
	       atomic_load(&fs->crashes_in_stop), atomic_load(&fs->vol_fails),
	       atomic_load(&S.outside_kills), atomic_load(&S.outside_misses));
	long events, polls, poll_errors;
	observer_health(S.ob, &events, &polls, &poll_errors, NULL, 0);
	printf("  outside view: %ld instances audited (destroyed once, scratch deleted once);"
	       " observer %ld lifecycle events, %ld pool listings\n", S.audited, events, polls);
	printf("  ops:");
	for (int i = 0; i < OP__COUNT; i++)
		printf(" %s %ld", op_names[i], S.counts[i]);
	printf("\n");
	for (int i = 0; i < S.nsessions; i++)
		session_unref(S.sessions[i]);
	json_decref(S.per_instance);
	harness_free(S.h);
	observer_free(S.ob);                /* after the event thread stopped */
	return 0;
}
