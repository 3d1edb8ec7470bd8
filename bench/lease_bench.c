/*
 * lease_bench.c — what one lease acquire+release costs while the VM runs,
 * next to a pthread mutex lock+unlock pair measured the same way.
 *
 * Variants (all with the gate open, as when the VM is running):
 *
 *   mutex         pthread_mutex_lock + unlock on one shared mutex (baseline)
 *   gate          lease_gate_enter + lease_gate_leave on one shared gate
 *   point         lease_acquire + lease_release on one struct lease_point
 *                 (no ops: the lease module alone)
 *   session-held  lease_acquire + lease_release on a real session's lease
 *                 point (session_lease_ops) while another hold stands, so
 *                 no pair crosses 0<->1: what a busy VM's callers pay
 *   session-edge  the same point with no other hold: every pair crosses
 *                 0->1->0 and calls the edge callback (idle_poke)
 *
 * Each variant runs on 1 thread and on 2 threads (one per CPU, pinned)
 * hammering the same object.  A run lasts --seconds; --runs runs are made,
 * variants interleaved within each round so drift hits all of them alike,
 * and the median and the spread (min..max) are printed.  ns/pair is per
 * thread (wall time / pairs that thread made); Mpairs/s is the sum over
 * threads.
 *
 * --trace VARIANT --iters N runs N pairs on one thread inside
 * traced_loop() and nothing else: run it under
 *   valgrind --tool=callgrind --toggle-collect=traced_loop
 * to count the calls (pthread_mutex_lock and friends) the loop makes, or
 * under strace -f -c -e trace=futex with --only VARIANT for syscalls.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/loop.h"
#include "../lease/lease.h"
#include "../daemon/daemon.h"
#include "../session/session.h"
#include "../virt/virt.h"
#include "../session/session.h"

enum variant { V_MUTEX, V_GATE, V_POINT, V_SESSION_HELD, V_SESSION_EDGE, V__COUNT };

static const char *const variant_names[V__COUNT] = {
	"mutex", "gate", "point", "session-held", "session-edge",
};

#define MAX_THREADS 2
#define MAX_RUNS 64
#define BATCH 256

/* The shared objects, each on its own cache lines. */
static _Alignas(64) pthread_mutex_t shared_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Alignas(64) struct lease_gate shared_gate;
static _Alignas(64) struct lease_point shared_point;
static struct session *bench_session;       /* its lp is the daemon's */
static struct lease standing;               /* the other hold of session-held */

static _Alignas(64) atomic_bool stop_flag;
static pthread_barrier_t start_barrier;

struct worker {
	pthread_t tid;
	int cpu;
	enum variant v;
	unsigned long pairs;
	double seconds;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int variant_from_name(const char *s)
{
	for (int i = 0; i < V__COUNT; i++)
		if (strcmp(variant_names[i], s) == 0)
			return i;
	return -1;
}

static void pin(int cpu)
{
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpu < 0 || ncpu <= 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % (int)ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* ---- one batch of pairs per variant ------------------------------- */

static void batch_mutex(void)
{
	for (int i = 0; i < BATCH; i++) {
		pthread_mutex_lock(&shared_mutex);
		pthread_mutex_unlock(&shared_mutex);
	}
}

static void batch_gate(void)
{
	for (int i = 0; i < BATCH; i++) {
		lease_gate_enter(&shared_gate);
		lease_gate_leave(&shared_gate);
	}
}

static void batch_point(struct lease_point *lp, struct lease *l)
{
	for (int i = 0; i < BATCH; i++) {
		lease_acquire(lp, l, NULL, NULL);
		lease_release(l);
	}
}

static void run_batch(enum variant v, struct lease *l)
{
	switch (v) {
	case V_MUTEX: batch_mutex(); break;
	case V_GATE: batch_gate(); break;
	case V_POINT: batch_point(&shared_point, l); break;
	case V_SESSION_HELD:
	case V_SESSION_EDGE: batch_point(&bench_session->lp, l); break;
	case V__COUNT: break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lease l;                     /* each caller has its own lease */
	unsigned long n = 0;

	lease_init(&l);
	pin(w->cpu);
	pthread_barrier_wait(&start_barrier);
	double t0 = now();
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		run_batch(w->v, &l);
		n += BATCH;
	}
	w->seconds = now() - t0;
	w->pairs = n;
	return NULL;
}

/* Standing hold on for session-held, off for the others. */
static void set_standing(enum variant v)
{
	if (v == V_SESSION_HELD && standing.state == LEASE_FREE)
		lease_acquire(&bench_session->lp, &standing, NULL, NULL);
	else if (v != V_SESSION_HELD && standing.state == LEASE_HELD)
		lease_release(&standing);
}

struct sample {
	double ns_per_pair;                 /* per thread, averaged */
	double mpairs;                      /* all threads */
};

static struct sample run_once(enum variant v, int nthreads, double seconds)
{
	struct worker w[MAX_THREADS];
	struct sample s = { 0, 0 };
	struct timespec ts = { (time_t)seconds,
			       (long)((seconds - (double)(time_t)seconds) * 1e9) };

	set_standing(v);
	atomic_store(&stop_flag, false);
	pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .cpu = i, .v = v };
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			fatal("pthread_create: %s", strerror(errno));
	}
	pthread_barrier_wait(&start_barrier);
	nanosleep(&ts, NULL);
	atomic_store(&stop_flag, true);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		s.ns_per_pair += w[i].seconds * 1e9 / (double)w[i].pairs / nthreads;
		s.mpairs += (double)w[i].pairs / w[i].seconds / 1e6;
	}
	pthread_barrier_destroy(&start_barrier);
	return s;
}

/* ---- set-up: the gate, a bare point, and a real session ------------ */

static struct event_base *base;
static struct config cfg;
static struct driver *drv;
static struct core *core;
static char tmpdir[64];

/* A real core on the embedded test driver, and one session whose lease
 * point and idle tracker are exactly what the daemon makes. */
static void setup_session(void)
{
	struct cause c;
	char state[128];

	xmlInitParser();
	evthread_use_pthreads();
	base = loop_new();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/lease-bench.XXXXXX");
	if (base == NULL || mkdtemp(tmpdir) == NULL)
		fatal("lease_bench: cannot set up");
	snprintf(state, sizeof state, "%s/state", tmpdir);
	config_init(&cfg);
	if (config_set(&cfg, "state_dir", state, &c) < 0 ||
	    config_set(&cfg, "uri", "test:///default", &c) < 0 ||
	    config_set(&cfg, "scratch_gib", "0", &c) < 0)
		fatal("lease_bench: config: %s", c.msg);
	drv = virt_driver_new(cfg.uri);
	core = core_new(base, &cfg.core, &drv, &c);
	if (core == NULL)
		fatal("lease_bench: core_new: %s", c.msg);
	bench_session = session_alloc(core, 0, "bench", NULL);
	/* The VM is "running": the loop opened the gate. */
	lease_gate_open(&bench_session->lp.gate);
	lease_init(&standing);
}

static void teardown_session(void)
{
	char cmd[128];

	if (standing.state == LEASE_HELD)
		lease_release(&standing);
	lease_gate_close(&bench_session->lp.gate);
	session_unref(bench_session);
	core_free(core);
	virt_driver_free(drv);
	event_base_free(base);
	config_free(&cfg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "lease_bench: cannot remove %s\n", tmpdir);
}

static void setup_plain(void)
{
	lease_gate_init(&shared_gate);
	lease_gate_open(&shared_gate);
	lease_point_init(&shared_point, NULL, NULL);
	lease_gate_open(&shared_point.gate);
}

/* ---- statistics and printing --------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stats(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, sizeof *v * (size_t)n);
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	return (struct stat3){ n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1] };
}

struct results {
	double ns[V__COUNT][MAX_RUNS];
	double mp[V__COUNT][MAX_RUNS];
};

static void print_table(const struct results *r, int nthreads, int runs, const bool *on)
{
	printf("\n%d thread%s (same object; CPUs %s), %d runs:\n", nthreads,
	       nthreads > 1 ? "s" : "", nthreads > 1 ? "0,1" : "0", runs);
	printf("  %-13s %10s %17s %10s %17s %13s\n", "variant", "ns/pair", "(min..max)",
	       "Mpairs/s", "(min..max)", "vs mutex");
	for (int v = 0; v < V__COUNT; v++) {
		if (!on[v])
			continue;
		struct stat3 ns = stats(r->ns[v], runs), mp = stats(r->mp[v], runs);
		double ratios[MAX_RUNS];
		for (int i = 0; i < runs; i++)
			ratios[i] = on[V_MUTEX] ? r->ns[v][i] / r->ns[V_MUTEX][i] : 0;
		struct stat3 ra = stats(ratios, runs);
		char rs[32] = "-";
		if (v != V_MUTEX && on[V_MUTEX])
			snprintf(rs, sizeof rs, "%.2f (%.2f..%.2f)", ra.med, ra.min, ra.max);
		printf("  %-13s %10.2f %7.2f..%-8.2f %10.1f %7.1f..%-8.1f %s\n",
		       variant_names[v], ns.med, ns.min, ns.max, mp.med, mp.min, mp.max, rs);
		/* One machine-readable line per figure for run.sh's summary. */
		fprintf(stderr, "RESULT lease %s t%d ns_med=%.2f ns_min=%.2f ns_max=%.2f "
			"mpairs_med=%.2f ratio_med=%.3f ratio_min=%.3f ratio_max=%.3f\n",
			variant_names[v], nthreads, ns.med, ns.min, ns.max, mp.med,
			v == V_MUTEX ? 1.0 : ra.med, v == V_MUTEX ? 1.0 : ra.min,
			v == V_MUTEX ? 1.0 : ra.max);
	}
}

/* ---- trace mode ------------------------------------------------------ */

/* Not inlined and not static, so callgrind can toggle on it by name. */
__attribute__((noinline)) void traced_loop(enum variant v, unsigned long iters,
					   struct lease *l);
__attribute__((noinline)) void traced_loop(enum variant v, unsigned long iters,
					   struct lease *l)
{
	for (unsigned long i = 0; i < iters; i += BATCH)
		run_batch(v, l);
}

static int trace_mode(enum variant v, unsigned long iters)
{
	struct lease l;

	lease_init(&l);
	set_standing(v);
	double t0 = now();
	traced_loop(v, iters, &l);
	double dt = now() - t0;
	printf("trace %s: %lu pairs in %.3f s\n", variant_names[v],
	       (iters + BATCH - 1) / BATCH * BATCH, dt);
	return 0;
}

/* ---- main ------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: lease_bench [--runs N] [--seconds S] [--threads 1|2|both]\n"
	      "                   [--only VARIANT[,VARIANT...]] [--trace VARIANT --iters N]\n"
	      "variants: mutex gate point session-held session-edge\n", stderr);
	exit(2);
}

static void parse_only(const char *arg, bool *on)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", arg);
	memset(on, 0, sizeof(bool) * V__COUNT);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int v = variant_from_name(t);
		if (v < 0)
			usage();
		on[v] = true;
	}
}

int main(int argc, char **argv)
{
	int runs = 5, tmin = 1, tmax = 2, trace = -1;
	double seconds = 1.0;
	unsigned long iters = 1000000;
	bool on[V__COUNT] = { true, true, true, true, true };
	static struct results res[MAX_THREADS + 1];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--runs") == 0 && val) {
			runs = atoi(val);
			i++;
		} else if (strcmp(a, "--seconds") == 0 && val) {
			seconds = atof(val);
			i++;
		} else if (strcmp(a, "--threads") == 0 && val) {
			tmin = strcmp(val, "2") == 0 ? 2 : 1;
			tmax = strcmp(val, "1") == 0 ? 1 : 2;
			i++;
		} else if (strcmp(a, "--only") == 0 && val) {
			parse_only(val, on);
			i++;
		} else if (strcmp(a, "--trace") == 0 && val) {
			if ((trace = variant_from_name(val)) < 0)
				usage();
			i++;
		} else if (strcmp(a, "--iters") == 0 && val) {
			iters = strtoul(val, NULL, 10);
			i++;
		} else {
			usage();
		}
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0)
		usage();
	log_set_level(LOG_LVL_WARN);
	setup_plain();
	setup_session();
	if (trace >= 0) {
		int rc = trace_mode((enum variant)trace, iters);
		teardown_session();
		return rc;
	}
	printf("lease_bench: acquire+release pairs, gate open (VM running); %ld CPUs online\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	for (int nt = tmin; nt <= tmax; nt++) {
		for (int r = 0; r < runs; r++) {
			for (int v = 0; v < V__COUNT; v++) {
				if (!on[v])
					continue;
				struct sample s = run_once((enum variant)v, nt, seconds);
				res[nt].ns[v][r] = s.ns_per_pair;
				res[nt].mp[v][r] = s.mpairs;
			}
		}
		print_table(&res[nt], nt, runs, on);
	}
	printf("\nns/pair: per thread (its wall time / its pairs); Mpairs/s: all threads.\n"
	       "vs mutex: lease ns/pair / mutex ns/pair, median of per-round ratios "
	       "(goal: <= 0.50).\n");
	teardown_session();
	return 0;
}
