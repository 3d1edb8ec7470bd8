/*
 * race_stress.c — randomized operations against the real core, with the
 * fault seam injecting delays, failed starts and crashes, and an outside
 * thread destroying the daemon's domains behind its back through its own
 * libvirt connection.
 *
 *   race_stress [--ops N] [--seed S] [--sessions K] [--checkpoint M] [--no-chaos]
 *               [--hosts H] [--host-kill] [-v]
 *
 * The windows it hunts (the ones the WSL idle-terminate work had to fix):
 * a lease arriving while the idle stop closes the gate; an idle stop
 * racing a crash; a crash in the start-cleanup window (before the start
 * job returns); a request arriving during teardown; tokens released by
 * expiry or disconnect while a stop or crash is under way.  Memory tiers:
 * half the sessions save on idle instead of stopping, so leases arrive
 * during saves, suspended sessions are restored, stopped (discarding the
 * image) and crashed from outside right after a restore; the seam fails
 * saves and restores and crashes domains during both.
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
 * lists the pool (and the image directory) every 2 ms.  Each instance's
 * domain must be destroyed exactly once and its scratch volume deleted
 * exactly once, and every memory image that a save wrote deleted exactly
 * once (ledger); a domain must have been seen starting once per boot or
 * restore and stopping as often (its saves and its end), a scratch volume
 * or image once gone must never be listed again (observer); nothing of the
 * daemon's prefix may be left (observer's own listing).
 *
 * Chaos is required, not assumed: at the end every kind of injected fault
 * (failed starts, crashes in a start, crashes in a stop, failed scratch
 * volumes, failed saves and restores, crashes in a save and in a restore),
 * saves and restores that worked, and the outside kills must each have
 * happened at least once,
 * and the crasher's libvirt connection must have worked (a crasher that
 * cannot list or destroy domains fails the run).  --no-chaos turns every
 * fault and the crasher off, to show that such a run fails.
 *
 * Several hosts (--hosts H): H in-process hosts, each a partitioned fault
 * seam with its own pool (tests/harness), 1536 MiB each, sessions of 512
 * MiB; odd sessions are ephemeral (placed at every start), even ones
 * persistent (pinned at create), so starts race for room and some find
 * none.  --host-kill takes a random host away about every second for up
 * to a second (its calls fail, its events are lost, the core is told)
 * while the crasher goes on killing domains there; the core must
 * wait for it, reconnect and reconcile.  Then, as a teardown that ran
 * while its host was away cannot destroy what it no longer reaches (the
 * host's orphan check and sweep finish that when it is back): each
 * domain is destroyed at most once, each scratch volume that was made is
 * deleted exactly once and none other more than once (ledger), each
 * domain made is seen starting and stopping once (observer), and nothing
 * is left at a checkpoint.  Host kills, reconnects and VMs found gone on
 * a host's return must each have happened.
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
	long images_audited;                /* memory images the ledger audit checked */
	long images_seen;                   /* memory image files the observer listed */
	long counts[16];
	bool no_chaos;
	bool verbose;
	int nhosts;
	bool host_kill;
	_Atomic long host_kills, away_kills;
	long found_gone;                    /* "crashed" events of VMs a host's return
					     * found gone (detail "hypervisor failed") */
};

static struct stress S;

/* ---- the hosts' seams, as one ---------------------------------------------------- */

static struct driver *seam(int i)
{
	return S.h->drvs[i];
}

static void seams_set(const struct fault_cfg *cfg)
{
	for (int i = 0; i < S.h->nhosts; i++)
		fault_driver_set(seam(i), cfg);
}

/* Every seam's ledger in one (keys are uuids and volume names: no two
 * hosts share one). */
static json_t *seams_ledger(void)
{
	json_t *all = fault_driver_ledger(seam(0));
	const char *kind, *key;
	json_t *calls, *v;

	for (int i = 1; i < S.h->nhosts; i++) {
		json_t *l = fault_driver_ledger(seam(i));
		json_object_foreach(l, kind, calls) {
			json_t *into = json_object_get(all, kind);
			json_object_foreach(calls, key, v) {
				json_int_t n = json_integer_value(json_object_get(into, key));
				json_object_set_new(into, key, json_integer(n + json_integer_value(v)));
			}
		}
		json_decref(l);
	}
	return all;
}

static void seams_ledger_clear(void)
{
	for (int i = 0; i < S.h->nhosts; i++)
		fault_driver_ledger_clear(seam(i));
}

/* A seam statistic summed over the hosts (offset of the field). */
static long seams_stat(size_t off)
{
	long n = 0;

	for (int i = 0; i < S.h->nhosts; i++)
		n += atomic_load((_Atomic long *)((char *)fault_driver_stats(seam(i)) + off));
	return n;
}
#define SEAMS(field) seams_stat(offsetof(struct fault_stats, field))

static void hosts_all_back(void)
{
	for (int i = 0; i < S.h->nhosts; i++)
		fault_driver_host_up(seam(i));
}

enum op_kind {
	OP_LEASE, OP_RELEASE, OP_TOKEN, OP_TOKEN_RELEASE, OP_DISCONNECT, OP_STOP,
	OP_FORCE_STOP, OP_RESET, OP_LOOP, OP_PAUSE, OP_WALK_AWAY, OP__COUNT
};
static const char *const op_names[OP__COUNT] = {
	"lease", "release", "token", "token-release", "disconnect", "stop", "force-stop",
	"reset", "loop", "pause", "walk-away"
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
	/* A restore is the same instance running again, not a new one. */
	if (json_is_true(json_object_get(p, "restore")))
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
	const char *detail = json_string_value(json_object_get(p, "detail"));
	if (strcmp(ev, "crashed") == 0 && detail != NULL && strcmp(detail, "hypervisor failed") == 0)
		S.found_gone++;
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

/* --host-kill: every 0.3 to 1.3 s a host (one that runs a VM, if any)
 * goes away for 0.05 to 1 s; 50 ms into its absence (once the core knows), up to three of its VMs
 * are killed while nobody hears it.  The chaos thread's own clock: t is
 * now, in seconds. */
static void host_chaos(double t, unsigned r)
{
	static double next_kill, back_at, vm_kill_at;
	static int down = -1;

	if (down >= 0 && t >= back_at) {
		fault_driver_host_up(seam(down));
		down = -1;
		next_kill = t + 0.3 + (r % 1000) / 1000.0;
	} else if (down >= 0 && vm_kill_at > 0 && t >= vm_kill_at) {
		vm_kill_at = 0;
		/* Found gone on return: the exit path. */
		for (unsigned k = 0; k < 3; k++) {
			char uuid[37];
			if (fault_driver_crash_one(seam(down), r / 7 + k * 7919, uuid) < 0)
				break;
			atomic_fetch_add(&S.away_kills, 1);
		}
	} else if (down < 0 && t >= next_kill && atomic_load(&S.chaos_on)) {
		/* A host that runs a VM, if one does: its return has something
		 * to reconcile. */
		down = (int)(r % (unsigned)S.h->nhosts);
		for (int i = 0; i < S.h->nhosts; i++) {
			int h = (down + i) % S.h->nhosts;
			if (fault_driver_running(seam(h)) > 0) {
				down = h;
				break;
			}
		}
		fault_driver_host_down(seam(down), "race_stress: host kill");
		atomic_fetch_add(&S.host_kills, 1);
		back_at = t + 0.05 + (r % 950) / 1000.0;
		vm_kill_at = t + 0.05;
	}
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
		if (S.host_kill)
			host_chaos(mono_now(), r);
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

/* A visit: one short use of a session (a lease, waited for a moment:
 * the VM starts or is restored), then every hold this program has on it
 * goes and a few ms pass: its grace runs out (an idle stop or a save)
 * unless the next op holds it.  Without visits a session is rarely idle
 * long enough to be saved while the crasher and the other ops keep it
 * busy. */
static void op_walk_away(void)
{
	struct session *s = any_session();
	struct session_lease sl;
	struct cause c;

	if (s->state == SESSION_FAILED)
		request_reset(s, &c);
	if (harness_lease(S.h, s, &sl, 0.02, &c) == 0)
		holds_lease_release(&sl);

	for (int i = 0; i < MAX_LEASES; i++) {
		if (S.leases[i].used && S.leases[i].s == s) {
			holds_lease_release(&S.leases[i].sl);
			S.leases[i].used = false;
		}
	}
	for (int i = 0; i < MAX_TOKENS; i++) {
		struct token *t = S.tokens[i].used && S.tokens[i].s == s
			? token_find(S.h->core->tokens, S.tokens[i].id) : NULL;
		if (t != NULL)
			token_release(t, "released");
		if (S.tokens[i].s == s)
			S.tokens[i].used = false;
	}
	harness_spin(S.h, 0.001 * (2 + rnd() % 5));
}

/* A force-stop lets a VM on a host that is away go without waiting: so
 * that a host's return still finds VMs to reconcile, it spares such a
 * session 19 times in 20. */
static void op_force_stop(void)
{
	struct session *s = any_session();

	if (s->host != NULL && !hosts_usable(s->host) && rnd() % 20 != 0)
		return;
	request_stop(s, true, stop_done, NULL);
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
	case OP_FORCE_STOP: op_force_stop(); break;
	case OP_RESET: request_reset(any_session(), &c); break;
	case OP_PAUSE:
		/* Let up to 3 ms pass on the loop: graces of 1-5 ms expire,
		 * stops and starts complete, TTLs run out. */
		harness_spin(S.h, 0.0005 * (1 + rnd() % 6));
		return;
	case OP_WALK_AWAY: op_walk_away(); return;
	default: break;
	}
	event_base_loop(S.h->base, EVLOOP_NONBLOCK);
}

static enum op_kind pick_op(void)
{
	/* Weights: mostly holds coming and going, some stops, a few resets. */
	static const int w[OP__COUNT] = { 30, 25, 15, 12, 2, 3, 1, 2, 10, 4, 1 };
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
	.p_vol_fail = 0.08, .p_save_fail = 0.15, .p_crash_in_save = 0.15,
	.p_restore_fail = 0.2, .p_crash_in_restore = 0.2,
	.max_op_delay_us = 300, .max_event_delay_us = 300,
};

/* arg non-NULL: suspended counts as settled too. */
static bool all_settled(struct harness *h, void *arg)
{
	reap();
	for (int i = 0; i < S.nsessions; i++) {
		enum session_state st = S.sessions[i]->state;
		/* A pending crash restart finds no holds when it fires and
		 * does nothing: no need to wait out its backoff. */
		if (st != SESSION_STOPPED && st != SESSION_FAILED &&
		    (arg == NULL || st != SESSION_SUSPENDED))
			return false;
	}
	return core_quiescent(h->core) && workers_pending(h->core->writer) == 0;
}

/* Suspended sessions keep an instance, its scratch and its image: a
 * checkpoint discards them (session.stop), which the audit then sees. */
static void discard_suspended(void)
{
	for (int i = 0; i < S.nsessions; i++)
		if (S.sessions[i]->state == SESSION_SUSPENDED)
			request_stop(S.sessions[i], false, stop_done, NULL);
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
	json_object_set_new(arg, in->id, json_pack("{s:i, s:i, s:b, s:b, s:i, s:i}", "started",
		in->started, "stopped", in->stopped, "seen", in->vol_seen, "back", in->vol_back,
		"images_seen", in->images_seen, "images_back", in->images_back));
}

/* What the observer saw, per instance id. */
static json_t *observed(void)
{
	json_t *all = json_object();

	observer_foreach(S.ob, observed_one, all);
	return all;
}

/* The instance id in "<dir>/<prefix>-<id>-<n>.save", or NULL. */
static const char *image_id(const char *path, char *id)
{
	const char *base = strrchr(path, '/');
	size_t pl = strlen(S.h->core->prefix) + 1;

	base = base != NULL ? base + 1 : path;
	if (strlen(base) < pl + 36 + 2 || base[pl + 36] != '-')
		return NULL;
	snprintf(id, 37, "%s", base + pl);
	return id;
}

/* Per instance id: how many of the ledger's keys of kind k name one of
 * its images. */
static json_t *per_instance_images(json_t *ledger, enum fault_call k)
{
	json_t *counts = json_object(), *v;
	const char *key;
	char id[37];

	json_object_foreach(json_object_get(ledger, fault_call_name(k)), key, v) {
		if (image_id(key, id) == NULL)
			continue;
		json_int_t n = json_integer_value(json_object_get(counts, id));
		json_object_set_new(counts, id, json_integer(n + json_integer_value(v)));
	}
	return counts;
}

/* Every image a save wrote was deleted exactly once; any other image the
 * core deleted (what a failed save left) at most once. */
static void audit_images(json_t *ledger)
{
	json_t *saved = json_object_get(ledger, fault_call_name(FC_DOMAIN_SAVED));
	json_t *deleted = json_object_get(ledger, fault_call_name(FC_IMAGE_DELETED));
	const char *path;
	json_t *v;

	json_object_foreach(saved, path, v) {
		json_int_t n = json_integer_value(json_object_get(deleted, path));
		if (json_integer_value(v) != 1 || n != 1)
			broken("image %s: saved %lld times, deleted %lld times (seam ledger)", path,
			       (long long)json_integer_value(v), (long long)n);
	}
	json_object_foreach(deleted, path, v) {
		if (json_integer_value(v) > 1)
			broken("image %s deleted %lld times (seam ledger)", path,
			       (long long)json_integer_value(v));
	}
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

/* Domains made per instance: booted (at most once) plus restored. */
static json_int_t made_of(json_t *ledger, json_t *restored, const char *id)
{
	return ledger_count(ledger, FC_DOMAIN_STARTED, id) +
	       json_integer_value(json_object_get(restored, id));
}

/* Every domain the core made has been seen starting and stopping, each
 * time it was made. */
static bool events_in(struct harness *h, void *arg)
{
	json_t *started = json_object_get(arg, fault_call_name(FC_DOMAIN_STARTED));
	json_t *restored = per_instance_images(arg, FC_DOMAIN_RESTORED);
	json_t *seen = observed();
	const char *id;
	json_t *v;
	bool all = true;

	(void)h;
	json_object_foreach(started, id, v) {
		json_t *o = json_object_get(seen, id);
		json_int_t made = made_of(arg, restored, id);
		if (json_integer_value(json_object_get(o, "started")) < made ||
		    json_integer_value(json_object_get(o, "stopped")) < made)
			all = false;
	}
	json_decref(restored);
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
 * (the seam saw the calls), started and stopped once per domain made (a
 * boot or a restore; a save or the end stops it), its scratch volume and
 * images never back (the observer saw libvirt and the image directory). */
static void audit_one(const char *id, json_t *ledger, json_t *restored, json_t *o, bool scratch)
{
	char vol[128];
	json_int_t n;

	snprintf(vol, sizeof vol, "%s-%s-scratch.qcow2", S.h->core->prefix, id);
	n = ledger_count(ledger, FC_DOMAIN_DESTROYED, id);
	/* A host that was away during the teardown: the destroy failed, and
	 * the orphan check destroys only a domain that still exists. */
	if (S.host_kill ? n > 1 : n != 1)
		broken("instance %s: its domain was destroyed %lld times (seam ledger)", id,
		       (long long)n);
	n = ledger_count(ledger, FC_VOL_DELETED, vol);
	json_int_t vmade = ledger_count(ledger, FC_VOL_CREATED, vol);
	if (S.host_kill ? (n > 1 || (vmade > 0 && n != 1)) : n != (scratch ? 1 : 0))
		broken("instance %s: scratch volume %s made %lld times, deleted %lld times (seam ledger)",
		       id, vol, (long long)vmade, (long long)n);
	json_int_t booted = ledger_count(ledger, FC_DOMAIN_STARTED, id);
	json_int_t made = made_of(ledger, restored, id);
	json_int_t up = json_integer_value(json_object_get(o, "started"));
	json_int_t down = json_integer_value(json_object_get(o, "stopped"));
	if (booted > 1 || up != made || down != made)
		broken("instance %s: domain booted %lld and made %lld times, libvirt events: %lld "
		       "started, %lld stopped (observer)", id, (long long)booted, (long long)made,
		       (long long)up, (long long)down);
	if (json_is_true(json_object_get(o, "back")))
		broken("instance %s: scratch volume %s listed again after it was gone (observer)",
		       id, vol);
	if (json_integer_value(json_object_get(o, "images_back")) != 0)
		broken("instance %s: a memory image listed again after it was gone (observer)", id);
	S.images_seen += json_integer_value(json_object_get(o, "images_seen"));
}

/* Quiescent, faults off: every instance since the last checkpoint is torn
 * down.  Checks them against the ledger and the observer, then forgets
 * them. */
static void audit_teardowns(void)
{
	json_t *ledger = seams_ledger(), *seen, *ids, *left = NULL, *v;
	bool scratch = storage_scratch_enabled(S.h->core->hosts[0].storage);
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
	json_t *restored = per_instance_images(ledger, FC_DOMAIN_RESTORED);
	json_object_foreach(ids, id, v) {
		audit_one(id, ledger, restored, json_object_get(seen, id), scratch);
		S.audited++;
	}
	audit_images(ledger);
	S.images_audited += (long)json_object_size(json_object_get(ledger,
							fault_call_name(FC_DOMAIN_SAVED)));
	json_decref(restored);
	json_decref(left);
	json_decref(ids);
	json_decref(seen);
	json_decref(ledger);
	observer_reset(S.ob);
	seams_ledger_clear();
}

/* All holds gone, faults off: everything must drain to nothing. */
static void checkpoint(void)
{
	struct harness *h = S.h;
	struct fault_cfg off = { 0 };

	atomic_store(&S.chaos_on, 0);
	seams_set(&off);
	hosts_all_back();
	if (!harness_wait(h, 60, harness_hosts_up, NULL))
		broken("a host is not back within 60 s after its seam reopened");
	drop_everything();
	if (!harness_wait(h, 60, all_settled, h))
		broken("no quiescence within 60 s after dropping every hold");
	discard_suspended();
	if (!harness_wait(h, 60, all_settled, NULL))
		broken("suspended sessions not discarded within 60 s");
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
	seams_set(&on);
	atomic_store(&S.chaos_on, 1);
}

/* The chaos the run exists for happened, each kind at least once, and
 * the observer watched it. */
static void require_chaos(void)
{
	const struct {
		const char *what;
		long n;
	} kinds[] = {
		{ "injected start failures", SEAMS(start_fails) },
		{ "crashes injected during a start", SEAMS(crashes_in_start) },
		{ "crashes injected during a stop", SEAMS(crashes_in_stop) },
		{ "injected scratch volume failures", SEAMS(vol_fails) },
		{ "domains killed from outside", atomic_load(&S.outside_kills) },
		{ "saves (idle_action save)", SEAMS(saves) },
		{ "restores", SEAMS(restores) },
		{ "injected save failures", SEAMS(save_fails) },
		{ "crashes injected during a save", SEAMS(crashes_in_save) },
		{ "injected restore failures", SEAMS(restore_fails) },
		{ "crashes injected during a restore", SEAMS(crashes_in_restore) },
		{ "memory images audited", S.images_audited },
		{ "memory images the observer saw", S.images_seen },
		{ "host kills", S.host_kill ? atomic_load(&S.host_kills) : 1 },
		{ "VMs a host's return found gone (crashed: hypervisor failed)",
		  S.host_kill ? S.found_gone : 1 },
		{ "reconnects", S.host_kill ? SEAMS(opens) - S.h->nhosts : 1 },
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
		char name[16], params[200];
		struct cause c;
		/* Graces of a few ms, both crash policies, both idle actions,
		 * some without a stop timeout. */
		snprintf(name, sizeof name, "s%d", i);
		snprintf(params, sizeof params, "{\"grace_s\": %g, \"crash_policy\": \"%s\","
			 " \"stop_timeout_s\": %s, \"idle_action\": \"%s\", \"storage\": \"%s\"}",
			 0.001 * (1 + i % 5), i % 2 ? "restart" : "terminate", i % 3 ? "0.05" : "0",
			 i % 4 != 3 ? "save" : "stop",
			 S.nhosts > 1 && i % 2 ? "ephemeral" : "persistent");
		/* Persistent sessions are pinned where there is most room at
		 * create: all on the first host of an idle fleet.  Pin them
		 * round the hosts instead, so every host has some. */
		if (S.nhosts > 1 && i % 2 == 0)
			snprintf(params + strlen(params) - 1, sizeof params - strlen(params) + 1,
				 ", \"host\": \"h%d\"}", (i / 2) % S.nhosts);
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
		{ "hosts", required_argument, NULL, 'H' }, { "host-kill", no_argument, NULL, 'K' },
		{ "verbose", no_argument, NULL, 'v' }, { NULL, 0, NULL, 0 },
	};
	int ch;

	S.ops = 1000000;
	S.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	S.nsessions = 4;
	S.checkpoint_every = 50000;
	S.nhosts = 1;
	while ((ch = getopt_long(argc, argv, "n:s:k:c:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': S.ops = atol(optarg); break;
		case 's': S.seed = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'k': S.nsessions = atoi(optarg); break;
		case 'c': S.checkpoint_every = atol(optarg); break;
		case 'N': S.no_chaos = true; break;
		case 'H': S.nhosts = atoi(optarg); break;
		case 'K': S.host_kill = true; break;
		case 'v': S.verbose = true; break;
		default:
			fprintf(stderr, "usage: race_stress [--ops N] [--seed S] [--sessions K] "
				"[--checkpoint M] [--no-chaos] [--hosts H] [--host-kill] [-v]\n");
			return 2;
		}
	}
	if (S.nsessions < 1 || S.nsessions > MAX_SESSIONS || S.checkpoint_every < 1 ||
	    S.nhosts < 1 || S.nhosts > HARNESS_HOSTS_MAX)
		return 2;
	S.rng = S.seed ? S.seed : 1;
	printf("race_stress: seed %u, %ld operations, %d sessions, checkpoint every %ld, %d host(s)%s%s\n",
	       S.seed, S.ops, S.nsessions, S.checkpoint_every, S.nhosts,
	       S.host_kill ? ", host kills" : "", S.no_chaos ? ", NO chaos" : "");
	fflush(stdout);

	struct harness_opts o = { .fault = true, .scratch_gib = 1, .nhosts = S.nhosts,
				  .host_memory_mib = 1536, .host_wait_s = 0.2 };
	o.fcfg = faults_on;
	o.fcfg.seed = S.seed;
	S.h = harness_new(&o);
	S.h->on_event = on_event;
	S.per_instance = json_object();
	list_init(&S.conn);
	char err[256];
	const char *pools[HARNESS_HOSTS_MAX + 1] = { NULL };
	for (size_t i = 0; i < S.h->core->nhosts; i++)
		pools[i] = storage_pool(S.h->core->hosts[i].storage);
	struct observer_opts oo = { .uri = S.h->opts.uri, .pools = pools,
				    .prefix = S.h->core->prefix, .poll_ms = 2,
				    .image_dir = S.h->core->save_dir };
	S.ob = observer_new(&oo, err, sizeof err);
	if (S.ob == NULL)
		fatal("race_stress: observer: %s", err);
	struct fault_cfg off = { 0 };
	seams_set(&off);
	setup_sessions();
	if (!S.no_chaos)
		seams_set(&o.fcfg);
	pthread_t chaos;
	atomic_store(&S.chaos_on, !S.no_chaos);
	S.host_kill = S.host_kill && !S.no_chaos;
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
	printf("race_stress: PASS: %ld operations in %.1fs (seed %u)\n", S.ops, mono_now() - t0, S.seed);
	printf("  instances started %ld, torn down %ld (expected stops %ld, spontaneous exits %ld,"
	       " failed starts %ld)\n", st->instances_started, st->teardowns, st->expected_stops,
	       st->spontaneous_exits, st->start_failures);
	printf("  injected: start failures %ld, crashes in start %ld, crashes in stop %ld,"
	       " volume failures %ld; outside kills %ld (%ld more found the domain gone)\n",
	       SEAMS(start_fails), SEAMS(crashes_in_start), SEAMS(crashes_in_stop),
	       SEAMS(vol_fails), atomic_load(&S.outside_kills), atomic_load(&S.outside_misses));
	printf("  memory tiers: saves %ld (core %ld), restores %ld (core %ld); injected: save"
	       " failures %ld, crashes in save %ld, restore failures %ld, crashes in restore %ld;"
	       " %ld images audited (deleted once), %ld seen by the observer\n",
	       SEAMS(saves), st->saves,
	       SEAMS(restores), st->restores, SEAMS(save_fails),
	       SEAMS(crashes_in_save), SEAMS(restore_fails),
	       SEAMS(crashes_in_restore), S.images_audited, S.images_seen);
	if (S.nhosts > 1 || S.host_kill)
		printf("  hosts: %d, placements %ld; host kills %ld (VMs killed there meanwhile %ld;"
		       " %ld VMs found gone on a return), calls refused %ld, events lost %ld,"
		       " reconnects %ld\n", S.nhosts, st->placements, atomic_load(&S.host_kills),
		       atomic_load(&S.away_kills), S.found_gone,
		       SEAMS(calls_refused), SEAMS(events_lost), SEAMS(opens) - S.nhosts);
	long events, polls, poll_errors;
	observer_health(S.ob, &events, &polls, &poll_errors, NULL, 0);
	printf("  outside view: %ld instances audited (destroyed %s, scratch deleted once);"
	       " observer %ld lifecycle events, %ld pool listings\n", S.audited,
	       S.host_kill ? "at most once" : "once", events, polls);
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
