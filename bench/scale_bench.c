/*
 * scale_bench.c — many sessions in one daemon: what an idle session costs
 * in memory, and how late the idle stop comes.
 *
 * In-process: the real core on libvirt's test driver, state directory in a
 * temporary directory, session events through core_set_hooks() as the RPC
 * layer gets them.  The driver is the embedded test:///default unless
 * --uri names another: bench/run.sh gives its private libvirtd's
 * test+unix:// so that the hypervisor's objects (domains, volumes) live in
 * libvirtd, as they do wherever sessiond is deployed, and the memory
 * measured is sessiond's own.
 *
 *   1. create --sessions sessions (session_create; at most --window in
 *      flight; each create waits for its state file, written and fsynced on
 *      the core's writer thread);
 *   2. bring each one up once: holds_lease_acquire() starts the VM, the
 *      grant callback releases at once, so the grace timer starts (at most
 *      --window starts in flight; stops of the first ones overlap with
 *      starts of the last ones, as in a busy daemon);
 *   3. wait until every VM has been stopped for idleness and the core is
 *      quiescent (no worker job, no state-file write pending).
 *
 * Idle-stop lateness is measured on the monotonic clock only: the "idle"
 * event is emitted right after the tracker armed its timer, so the hook
 * reads the tracker's own monotonic deadline (struct idle.deadline, the
 * same instant the event carries as RFC 3339); the "stopping" event with
 * reason "idle" is emitted synchronously by the timer callback that claims
 * the stop, so mono_now() there is when the stop began.
 *
 * Memory: VmRSS and VmHWM from /proc/self/status, and glibc's mallinfo2()
 * (bytes in use, all arenas) before creating, after creating, and after
 * all are idle; then again after malloc_trim(0).  Per session = delta / N.
 * The core's log (info level, as the daemon runs) goes to a file.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/loop.h"
#include "../common/timeutil.h"
#include "../daemon/daemon.h"
#include "../session/session.h"
#include "../virt/virt.h"
#include "../session/session.h"

struct tracked {
	struct session *s;
	struct session_lease sl;
	double idle_deadline;               /* monotonic, from the tracker */
	double idle_hook_at;                /* monotonic, when "idle" fired */
	double lateness;                    /* stop began - deadline; < -1: none */
	bool created, granted, failed, stopped;
	int idle_events;
};

struct opts {
	int sessions;
	double grace;
	const char *scratch;
	const char *storage;
	const char *dir;
	const char *uri;
	int window;
	int workers;
	bool keep;
};

static struct opts O = {
	.sessions = 10000, .grace = 1.0, .scratch = "0", .storage = "persistent",
	.dir = "/tmp", .uri = "test:///default", .window = 256, .workers = 0,
};

static struct event_base *base;
static struct config cfg;
static struct driver *drv;
static struct core *core;
static struct tracked *T;
static char tmpdir[512];

static int created, create_failed, next_create;
static int granted, start_failed, next_start, in_flight;
static int stops_idle, stops_other, stopped, idle_events;

/* ---- memory ----------------------------------------------------------- */

struct mem {
	long rss_kib, hwm_kib;
	size_t heap_used;                   /* mallinfo2: uordblks + hblkhd */
	size_t heap_arena;                  /* mallinfo2: arena + hblkhd */
};

static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static struct mem mem_now(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (struct mem){ status_kib("VmRSS"), status_kib("VmHWM"),
			     mi.uordblks + mi.hblkhd, mi.arena + mi.hblkhd };
}

static void mem_print(const char *what, struct mem m)
{
	printf("  %-28s VmRSS %8ld KiB  VmHWM %8ld KiB  heap in use %9.1f KiB (arenas %9.1f KiB)\n",
	       what, m.rss_kib, m.hwm_kib, m.heap_used / 1024.0, m.heap_arena / 1024.0);
}

/* ---- the loop ------------------------------------------------------- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Loop turns: how long one event_base_loop(EVLOOP_ONCE) took, waiting
 * included (a long turn is what delays a due timer). */
static double turn_max, turn_max_cpu, turn_cpu_max;
static long turns, turns_over_10ms, turns_over_50ms;

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs the loop until pred() or timeout; a 10 ms tick re-checks pred. */
static bool run_until(bool (*pred)(void), double timeout)
{
	double end = mono_now() + timeout;
	struct event *tick = evtimer_new(base, tick_cb, NULL);
	struct timeval tv = { 0, 10000 };
	bool ok;

	while (!(ok = pred()) && mono_now() < end) {
		evtimer_add(tick, &tv);
		double t = mono_now(), c = thread_cpu();
		event_base_loop(base, EVLOOP_ONCE);
		t = mono_now() - t;
		c = thread_cpu() - c;
		turns++;
		turns_over_10ms += t > 0.010;
		turns_over_50ms += t > 0.050;
		if (t > turn_max) {
			turn_max = t;
			turn_max_cpu = c;
		}
		if (c > turn_cpu_max)
			turn_cpu_max = c;
	}
	event_free(tick);
	return ok;
}

/* ---- session events --------------------------------------------------- */

static struct tracked *tracked_of(struct session *s)
{
	int i;

	if (sscanf(s->name, "b%d", &i) != 1 || i < 0 || i >= O.sessions)
		return NULL;
	return &T[i];
}

static void on_event(struct session *s, json_t *params, void *arg)
{
	struct tracked *t = tracked_of(s);
	const char *ev = json_string_value(json_object_get(params, "event"));
	const char *reason = json_string_value(json_object_get(params, "reason"));
	double now = mono_now();

	(void)arg;
	if (t == NULL || ev == NULL)
		return;
	if (strcmp(ev, "idle") == 0) {
		t->idle_deadline = idle_deadline(&s->idle);
		t->idle_hook_at = now;
		t->idle_events++;
		idle_events++;
	} else if (strcmp(ev, "stopping") == 0) {
		if (reason != NULL && strcmp(reason, "idle") == 0 && t->idle_deadline > 0) {
			t->lateness = now - t->idle_deadline;
			stops_idle++;
		} else {
			stops_other++;
		}
	} else if (strcmp(ev, "stopped") == 0 && !t->stopped) {
		t->stopped = true;
		stopped++;
	}
}

static void on_revoked(struct token *tk, const char *reason, void *arg)
{
	(void)tk;
	(void)reason;
	(void)arg;
}

static const struct core_hooks hooks = { on_event, NULL, on_revoked };

/* ---- phase 1: create ---------------------------------------------------- */

static void create_next(void);

static void create_done(struct session *s, const struct cause *err, void *arg)
{
	struct tracked *t = arg;

	in_flight--;
	if (err != NULL) {
		create_failed++;
		if (create_failed <= 3)
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
	while (in_flight < O.window && next_create < O.sessions) {
		int i = next_create++;
		char name[32];
		json_t *p = json_pack("{s:f, s:s}", "grace_s", O.grace, "storage", O.storage);

		snprintf(name, sizeof name, "b%05d", i);
		json_object_set_new(p, "name", json_string(name));
		in_flight++;
		registry_create(core, 0, name, p, create_done, &T[i]);
		json_decref(p);
	}
}

static bool creates_done(void)
{
	return created + create_failed == O.sessions;
}

/* ---- phase 2: bring each VM up once ------------------------------------ */

static void start_next(void);

static void granted_cb(struct session_lease *sl, const struct cause *err, void *arg)
{
	struct tracked *t = arg;

	in_flight--;
	if (err != NULL) {
		t->failed = true;
		start_failed++;
		if (start_failed <= 3)
			printf("  start failed: %s\n", err->msg);
	} else {
		t->granted = true;
		granted++;
		/* Used and done: from here the grace runs. */
		holds_lease_release(sl);
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
		holds_lease_acquire(t->s, &t->sl, "scale_bench", 0, getpid(), granted_cb, t);
	}
}

static bool all_stopped(void)
{
	return stopped + start_failed >= created && next_start >= O.sessions &&
	       core_quiescent(core);
}

static bool quiet(void)
{
	return core_quiescent(core);
}

/* ---- set-up --------------------------------------------------------- */

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

static void setup(void)
{
	struct cause c;
	char state[600], logpath[600], buf[32];

	snprintf(tmpdir, sizeof tmpdir, "%s/scale-bench.XXXXXX", O.dir);
	if (mkdtemp(tmpdir) == NULL)
		fatal("scale_bench: mkdtemp %s: %s", tmpdir, strerror(errno));
	snprintf(logpath, sizeof logpath, "%s/core.log", tmpdir);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		fatal("scale_bench: cannot open %s", logpath);
	close(fd);
	xmlInitParser();
	evthread_use_pthreads();
	base = loop_new();
	if (base == NULL)
		fatal("scale_bench: event_base_new");
	snprintf(state, sizeof state, "%s/state", tmpdir);
	config_init(&cfg);
	if (config_set(&cfg, "state_dir", state, &c) < 0 ||
	    config_set(&cfg, "uri", O.uri, &c) < 0 ||
	    config_set(&cfg, "scratch_gib", O.scratch, &c) < 0)
		fatal("scale_bench: config: %s", c.msg);
	if (O.workers > 0) {
		snprintf(buf, sizeof buf, "%d", O.workers);
		if (config_set(&cfg, "workers", buf, &c) < 0)
			fatal("scale_bench: config: %s", c.msg);
	}
	drv = virt_driver_new(cfg.uri);
	core = core_new(base, &cfg.core, &drv, &c);
	if (core == NULL)
		fatal("scale_bench: core_new: %s", c.msg);
	core_set_hooks(core, &hooks, NULL);
	load_sessions(core, loaded, &load_flag);
	if (!run_until(is_loaded, 60))
		fatal("scale_bench: core_load did not finish");
}

static void teardown(void)
{
	char cmd[700];

	core_free(core);
	virt_driver_free(drv);
	event_base_free(base);
	config_free(&cfg);
	if (O.keep) {
		printf("  kept %s\n", tmpdir);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("  cannot remove %s\n", tmpdir);
}

/* ---- statistics ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	return n > 0 ? v[i] : 0;
}

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int ch;

	if (f == NULL)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

#define FIELD_SIZE(f) sizeof(((struct session *)0)->f)

/* Where the fixed part of an idle session goes. */
static void print_sizes(void)
{
	size_t text = FIELD_SIZE(key) + FIELD_SIZE(name) + FIELD_SIZE(id) + FIELD_SIZE(prefix) +
		      FIELD_SIZE(last_stop_reason) + FIELD_SIZE(stop_reason) +
		      FIELD_SIZE(loaded_instance) + FIELD_SIZE(last_instance) +
		      FIELD_SIZE(prev_instance);

	printf("  sizeof(struct session) %zu B: fixed text buffers %zu B (key %zu, name %zu,\n"
	       "    instance ids 3 x %zu, ...); explanations (failed_reason, warning, details,\n"
	       "    start_err) are allocated only while set;\n"
	       "    plus per session on the heap: 2 libevent events of %zu B (idle timer, recheck),\n"
	       "    a third (stop timer) after the first stop, the settings strings\n",
	       sizeof(struct session), text, FIELD_SIZE(key), FIELD_SIZE(name),
	       FIELD_SIZE(loaded_instance), event_get_struct_event_size());
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* ---- main ------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: scale_bench [--sessions N] [--grace S] [--scratch GIB]\n"
	      "                   [--storage persistent|ephemeral] [--dir DIR]\n"
	      "                   [--window N] [--workers N] [--uri URI] [--keep]\n", stdout);
	exit(2);
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--keep") == 0) {
			O.keep = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--sessions") == 0)
			O.sessions = atoi(v);
		else if (strcmp(a, "--grace") == 0)
			O.grace = atof(v);
		else if (strcmp(a, "--scratch") == 0)
			O.scratch = v;
		else if (strcmp(a, "--storage") == 0)
			O.storage = v;
		else if (strcmp(a, "--dir") == 0)
			O.dir = v;
		else if (strcmp(a, "--uri") == 0)
			O.uri = v;
		else if (strcmp(a, "--window") == 0)
			O.window = atoi(v);
		else if (strcmp(a, "--workers") == 0)
			O.workers = atoi(v);
		else
			usage();
	}
	if (O.sessions < 1 || O.sessions > 99999 || O.grace <= 0 || O.window < 1)
		usage();
}

static void report_lateness(double t_total)
{
	double *late = calloc((size_t)O.sessions, sizeof *late);
	double hook_vs_deadline = 0;
	int n = 0;

	for (int i = 0; i < O.sessions; i++) {
		if (T[i].lateness > -1) {
			late[n++] = T[i].lateness * 1000.0;
			double d = fabs(T[i].idle_deadline - (T[i].idle_hook_at + O.grace));
			if (d > hook_vs_deadline)
				hook_vs_deadline = d;
		}
	}
	qsort(late, (size_t)n, sizeof *late, cmp_double);
	printf("\nidle-stop lateness (stop began - deadline), %d stops for idleness:\n", n);
	if (n > 0) {
		printf("  min %.3f ms  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  (goal: max <= 50 ms)\n",
		       late[0], pct(late, n, 50), pct(late, n, 90), pct(late, n, 99), late[n - 1]);
		printf("  check: |tracker deadline - (idle hook time + grace)| <= %.3f ms\n",
		       hook_vs_deadline * 1000.0);
	}
	printf("RESULT scale late_n=%d late_p50_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f total_s=%.2f\n",
	       n, pct(late, n, 50), pct(late, n, 99), n ? late[n - 1] : 0, t_total);
	free(late);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The bench's own bookkeeping is allocated and touched before the
	 * first measurement so it is not counted as the daemon's. */
	T = calloc((size_t)O.sessions, sizeof *T);
	if (T == NULL)
		fatal("out of memory");
	for (int i = 0; i < O.sessions; i++)
		T[i].lateness = -2;
	printf("scale_bench: %d sessions, grace %gs, storage %s, scratch_gib %s, window %d, "
	       "%s%s, state under %s\n",
	       O.sessions, O.grace, O.storage, O.scratch, O.window, O.uri,
	       strcmp(O.uri, "test:///default") == 0 ? " in-process" : "", O.dir);
	setup();
	printf("  core log: %s/core.log (info level)\n", tmpdir);

	struct mem m0 = mem_now();
	double t0 = mono_now();
	create_next();
	if (!run_until(creates_done, 1800))
		fatal("scale_bench: creates did not finish (%d of %d)", created, O.sessions);
	run_until(quiet, 600);
	double t1 = mono_now();
	struct mem m1 = mem_now();
	printf("  created %d sessions (%d failed) in %.2f s (%.0f/s)\n", created, create_failed,
	       t1 - t0, created / (t1 - t0));

	struct rusage ru0, ru1;
	getrusage(RUSAGE_THREAD, &ru0);
	start_next();
	if (!run_until(all_stopped, 1800))
		printf("  TIMEOUT: %d of %d stopped, %d granted, %d start failures\n", stopped,
		       created, granted, start_failed);
	double t2 = mono_now();
	getrusage(RUSAGE_THREAD, &ru1);
	printf("  brought %d VMs up once (%d failed); all stopped for idleness and quiescent "
	       "%.2f s later\n", granted, start_failed, t2 - t1);
	printf("  stops: %d idle, %d other; idle events %d\n", stops_idle, stops_other, idle_events);
	printf("  loop thread in that phase: %.2f s CPU (user %.2f, sys %.2f), %ld voluntary and "
	       "%ld involuntary context switches\n",
	       tv_s(ru1.ru_utime) + tv_s(ru1.ru_stime) - tv_s(ru0.ru_utime) - tv_s(ru0.ru_stime),
	       tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime), tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime),
	       ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_nivcsw - ru0.ru_nivcsw);
	printf("  loop turns: %ld; longest %.1f ms wall (%.1f ms of it on CPU); most CPU in one turn "
	       "%.1f ms; %ld turns over 10 ms, %ld over 50 ms (wall, wait included)\n",
	       turns, turn_max * 1000.0, turn_max_cpu * 1000.0, turn_cpu_max * 1000.0,
	       turns_over_10ms, turns_over_50ms);

	struct mem m2 = mem_now();
	malloc_trim(0);
	struct mem m3 = mem_now();
	printf("\nmemory (N = %d):\n", O.sessions);
	mem_print("before creating", m0);
	mem_print("after creating", m1);
	mem_print("after all idle", m2);
	mem_print("after all idle + malloc_trim", m3);
	double n = O.sessions;
	double rss_created = (m1.rss_kib - m0.rss_kib) * 1024.0 / n;
	double rss_idle = (m2.rss_kib - m0.rss_kib) * 1024.0 / n;
	double rss_trim = (m3.rss_kib - m0.rss_kib) * 1024.0 / n;
	double heap_idle = ((double)m2.heap_used - (double)m0.heap_used) / n;
	printf("  per session: RSS %.0f B after create, %.0f B idle (goal <= 3072), %.0f B idle "
	       "after trim; heap in use %.0f B idle\n", rss_created, rss_idle, rss_trim, heap_idle);
	print_sizes();
	report_lateness(t2 - t0);
	printf("RESULT scale_mem storage=%s scratch=%s rss_idle_B=%.0f rss_trim_B=%.0f "
	       "heap_idle_B=%.0f rss_created_B=%.0f hwm_kib=%ld\n", O.storage, O.scratch,
	       rss_idle, rss_trim, heap_idle, rss_created, m3.hwm_kib);
	char logpath[600];
	snprintf(logpath, sizeof logpath, "%s/core.log", tmpdir);
	printf("  core log: %ld lines\n", count_lines(logpath));
	printf("  total %.2f s\n", t2 - t0);
	teardown();
	free(T);
	return 0;
}
