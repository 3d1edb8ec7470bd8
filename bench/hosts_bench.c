/*
 * hosts_bench.c — placement over several hosts: how many placement
 * decisions a second, and what placement adds to a start, next to a single
 * host in the same run.
 *
 * In-process: the real core, its hosts each on a private libvirt test
 * driver (test:///DIR/node.xml: one state per connection, so each host is
 * a hypervisor of its own), the log at info level into a file, as the
 * daemon runs.  For each host count (1, then 4, alternating which goes
 * first from run to run):
 *
 *   1. create --sessions ephemeral sessions of 512 MiB (placed at start);
 *   2. placement alone: hosts_claim() for every session in turn (the
 *      choice, the commit and the log line of a real start, nothing else),
 *      then hosts_release() for every one; decisions per second;
 *   3. starts: every session's VM brought up through a lease (placement,
 *      state file, volumes, domain, grant), at most --window in flight;
 *      the latency of each (lease asked -> granted) and starts per second;
 *      then every VM stopped.
 *
 * Placement's share of a start is the mean time of one decision (step 2,
 * with as many hosts) over the median start latency (step 3).
 *
 *   hosts_bench [--sessions N] [--runs R] [--window W] [--dir DIR]
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../daemon/daemon.h"
#include "../session/session.h"
#include "../virt/virt.h"

#define HOSTS_MAX 4

struct tracked {
	struct session *s;
	struct session_lease sl;
	double asked;
	bool created, granted, failed;
};

static struct {
	int sessions, runs, window;
	const char *dir;
} O = { 10000, 3, 16, "/tmp" };

static struct event_base *base;
static struct config cfg;
static struct driver *drvs[HOSTS_MAX];
static struct core *core;
static struct tracked *T;
static double *lat;
static char tmpdir[512];
static int nhosts;
static int created, create_failed, next_create, in_flight;
static int granted, start_failed, next_start;

/* ---- the loop ------------------------------------------------------- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static bool run_until(bool (*pred)(void), double timeout)
{
	double end = mono_now() + timeout;
	struct event *tick = evtimer_new(base, tick_cb, NULL);
	struct timeval tv = { 0, 10000 };
	bool ok;

	while (!(ok = pred()) && mono_now() < end) {
		evtimer_add(tick, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return ok;
}

/* ---- creates ---------------------------------------------------------- */

static void create_next(void);

static void create_done(struct session *s, const struct cause *err, void *arg)
{
	struct tracked *t = arg;

	in_flight--;
	if (err != NULL) {
		if (++create_failed <= 3)
			printf("  create failed: %s\n", err->msg);
	} else {
		t->s = s;
		t->created = true;
		created++;
	}
	create_next();
}

static void create_next(void)
{
	while (in_flight < 256 && next_create < O.sessions) {
		int i = next_create++;
		char name[32];
		json_t *p = json_pack("{s:s, s:i}", "storage", "ephemeral", "memory_mib", 512);

		snprintf(name, sizeof name, "h%05d", i);
		in_flight++;
		registry_create(core, 0, name, p, create_done, &T[i]);
		json_decref(p);
	}
}

static bool creates_done(void)
{
	return created + create_failed == O.sessions;
}

/* ---- starts ------------------------------------------------------------ */

static void start_next(void);

static void granted_cb(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct tracked *t = arg;

	(void)sl;
	in_flight--;
	if (err != NULL) {
		t->failed = true;
		if (++start_failed <= 3)
			printf("  start failed: %s\n", err->msg);
	} else {
		lat[granted++] = mono_now() - t->asked;
		t->granted = true;
	}
	start_next();
}

static void start_next(void)
{
	while (in_flight < O.window && next_start < O.sessions) {
		struct tracked *t = &T[next_start++];
		if (!t->created)
			continue;
		in_flight++;
		t->asked = mono_now();
		holds_lease_acquire(t->s, &t->sl, "hosts_bench", 0, getpid(), granted_cb, t);
	}
}

static bool starts_done(void)
{
	return granted + start_failed >= created && next_start >= O.sessions;
}

static void stopped_cb(struct session *s, const struct cause *err, void *arg)
{
	(void)s;
	(void)err;
	(void)arg;
}

static bool all_stopped(void)
{
	for (int i = 0; i < O.sessions; i++)
		if (T[i].created && T[i].s->state != SESSION_STOPPED)
			return false;
	return core_quiescent(core);
}

/* ---- set-up ------------------------------------------------------------ */

static void loaded(struct core *c, void *arg)
{
	(void)c;
	*(bool *)arg = true;
}

static bool load_flag;

static bool is_loaded(void)
{
	return load_flag;
}

static void write_node_xml(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fatal("hosts_bench: %s: %s", path, strerror(errno));
	fputs("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads>"
	      "<active>4</active><mhz>2000</mhz><model>bench</model></cpu>"
	      "<memory>1073741824</memory></node>\n", f);
	fclose(f);
}

/* A core with n hosts "h0".."h<n-1>", each on a test driver of its own
 * with room for every session. */
static void setup(int n)
{
	static int setups;                  /* each run on a state directory of its own */
	struct cause c;
	char state[600], uri[700], name[16];

	nhosts = n;
	snprintf(state, sizeof state, "%s/state-%d-%d", tmpdir, n, setups++);
	snprintf(uri, sizeof uri, "test://%s/node.xml", tmpdir);
	config_init(&cfg);
	if (config_set(&cfg, "state_dir", state, &c) < 0 ||
	    config_set(&cfg, "scratch_gib", "0", &c) < 0)
		fatal("hosts_bench: config: %s", c.msg);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "h%d", i);
		if (config_host_set(&cfg, name, "uri", uri, &c) < 0 ||
		    config_host_set(&cfg, name, "memory_mib", "1073741824", &c) < 0)
			fatal("hosts_bench: config: %s", c.msg);
	}
	if (config_finish(&cfg, false, &c) < 0)
		fatal("hosts_bench: config: %s", c.msg);
	for (int i = 0; i < n; i++)
		drvs[i] = virt_driver_new(uri);
	core = core_new(base, &cfg.core, drvs, &c);
	if (core == NULL)
		fatal("hosts_bench: core_new: %s", c.msg);
	load_flag = false;
	load_sessions(core, loaded, &load_flag);
	if (!run_until(is_loaded, 60))
		fatal("hosts_bench: load did not finish");
	memset(T, 0, sizeof *T * (size_t)O.sessions);
	created = create_failed = next_create = in_flight = 0;
	granted = start_failed = next_start = 0;
}

static void teardown(void)
{
	core_free(core);
	for (int i = 0; i < nhosts; i++)
		virt_driver_free(drvs[i]);
	config_free(&cfg);
}

/* ---- one round -------------------------------------------------------- */

struct round {
	double decisions_per_s, decision_us;
	double start_med_ms, start_p99_ms, starts_per_s;
	int failed;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n > 0 ? v[i] : 0;
}

/* Placement alone: every session claimed in turn (each commit shrinks
 * the room the next one sees), then every one released. */
static void measure_placement(struct round *r)
{
	double t0 = mono_now();
	int n = 0;

	for (int i = 0; i < O.sessions; i++)
		n += T[i].created && hosts_claim(T[i].s);
	double dt = mono_now() - t0;
	for (int i = 0; i < O.sessions; i++)
		if (T[i].created && T[i].s->host != NULL)
			hosts_release(T[i].s);
	r->decisions_per_s = n / dt;
	r->decision_us = dt / n * 1e6;
}

static void measure_starts(struct round *r)
{
	double t0 = mono_now();

	start_next();
	if (!run_until(starts_done, 600))
		fatal("hosts_bench: starts did not finish");
	double dt = mono_now() - t0;
	qsort(lat, (size_t)granted, sizeof *lat, cmp_double);
	r->start_med_ms = pct(lat, granted, 0.5) * 1e3;
	r->start_p99_ms = pct(lat, granted, 0.99) * 1e3;
	r->starts_per_s = granted / dt;
	r->failed = start_failed;
	for (int i = 0; i < O.sessions; i++) {
		if (!T[i].granted)
			continue;
		holds_lease_release(&T[i].sl);
		request_stop(T[i].s, true, stopped_cb, NULL);
	}
	if (!run_until(all_stopped, 600))
		fatal("hosts_bench: stops did not finish");
}

static void round_run(int n, struct round *r)
{
	setup(n);
	create_next();
	if (!run_until(creates_done, 600))
		fatal("hosts_bench: creates did not finish");
	measure_placement(r);
	measure_starts(r);
	teardown();
	printf("RESULT hosts=%d decisions_per_s=%.0f decision_us=%.2f start_med_ms=%.3f "
	       "start_p99_ms=%.3f starts_per_s=%.0f failed=%d\n", n, r->decisions_per_s,
	       r->decision_us, r->start_med_ms, r->start_p99_ms, r->starts_per_s, r->failed);
	fflush(stdout);
}

/* ---- main ---------------------------------------------------------------- */

static double med(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sessions") == 0 && i + 1 < argc)
			O.sessions = atoi(argv[++i]);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			O.runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
			O.window = atoi(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			O.dir = argv[++i];
		else {
			fprintf(stderr, "usage: hosts_bench [--sessions N] [--runs R] [--window W] "
				"[--dir DIR]\n");
			exit(2);
		}
	}
	if (O.sessions < 1 || O.runs < 1 || O.window < 1)
		exit(2);
}

int main(int argc, char **argv)
{
	struct round one[16], four[16];
	char path[600], cmd[700];

	parse(argc, argv);
	if (O.runs > 16)
		O.runs = 16;
	snprintf(tmpdir, sizeof tmpdir, "%s/hosts-bench.XXXXXX", O.dir);
	if (mkdtemp(tmpdir) == NULL)
		fatal("hosts_bench: mkdtemp %s: %s", tmpdir, strerror(errno));
	snprintf(path, sizeof path, "%s/node.xml", tmpdir);
	write_node_xml(path);
	snprintf(path, sizeof path, "%s/core.log", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		fatal("hosts_bench: cannot open %s", path);
	close(fd);
	xmlInitParser();
	evthread_use_pthreads();
	base = event_base_new();
	T = calloc((size_t)O.sessions, sizeof *T);
	lat = calloc((size_t)O.sessions, sizeof *lat);
	if (base == NULL || T == NULL || lat == NULL)
		fatal("hosts_bench: cannot set up");
	printf("hosts_bench: %d sessions of 512 MiB, %d runs, %d starts in flight; log at info "
	       "level in a file\n", O.sessions, O.runs, O.window);
	for (int r = 0; r < O.runs; r++) {
		if (r % 2 == 0) {
			round_run(1, &one[r]);
			round_run(4, &four[r]);
		} else {
			round_run(4, &four[r]);
			round_run(1, &one[r]);
		}
	}
	double d1[16], d4[16], u1[16], u4[16], s1[16], s4[16], p1[16], p4[16], t1[16], t4[16];
	for (int r = 0; r < O.runs; r++) {
		d1[r] = one[r].decisions_per_s, d4[r] = four[r].decisions_per_s;
		u1[r] = one[r].decision_us, u4[r] = four[r].decision_us;
		s1[r] = one[r].start_med_ms, s4[r] = four[r].start_med_ms;
		p1[r] = one[r].start_p99_ms, p4[r] = four[r].start_p99_ms;
		t1[r] = one[r].starts_per_s, t4[r] = four[r].starts_per_s;
	}
	double sm1 = med(s1, O.runs), sm4 = med(s4, O.runs), um4 = med(u4, O.runs);
	printf("\n%-34s %14s %14s\n", "median of the runs", "1 host", "4 hosts");
	printf("%-34s %14.0f %14.0f\n", "placement decisions per second", med(d1, O.runs),
	       med(d4, O.runs));
	printf("%-34s %14.2f %14.2f\n", "one decision, microseconds", med(u1, O.runs), um4);
	printf("%-34s %14.3f %14.3f\n", "start latency, median ms", sm1, sm4);
	printf("%-34s %14.3f %14.3f\n", "start latency, p99 ms", med(p1, O.runs), med(p4, O.runs));
	printf("%-34s %14.0f %14.0f\n", "starts per second", med(t1, O.runs), med(t4, O.runs));
	printf("\nplacement's share of a start (4 hosts): %.2f us of %.3f ms = %.2f%% (goal <= 5%%)\n",
	       um4, sm4, um4 / (sm4 * 1e3) * 100);
	printf("start latency, 4 hosts over 1 host: %.3f\n", sm4 / sm1);
	printf("RESULT summary share_pct=%.3f latency_ratio=%.4f\n", um4 / (sm4 * 1e3) * 100,
	       sm4 / sm1);
	event_base_free(base);
	free(T);
	free(lat);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", tmpdir);
	return 0;
}
