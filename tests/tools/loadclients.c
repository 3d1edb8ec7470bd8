/*
 * loadclients.c — many concurrent connections to sessiond, for the load
 * behaviour scripts.  Asserts correctness and generous hang bounds only:
 * the latencies it prints are figures, not goals.
 *
 *   loadclients [-s SOCKET] -c N [-S NAME]... [-m MODE] [-A] [-g GETS]
 *               [-b SECONDS] [-t SECONDS] [-H SECONDS] [-p PID] [-L LIMIT]
 *
 * -m hold (default): N connections, connection i on session NAME[i % K]
 *    (K = the number of -S), each acquires a token (bound to its
 *    connection) and holds it.  Meanwhile a separate, well-behaved client
 *    makes GETS session.get calls (-g, default 50), round robin over the
 *    sessions: every reply must come within -b SECONDS (default 30), name
 *    the session, show it running and list exactly as many token holds as
 *    there are holders on it.  With -A the holders are busy meanwhile:
 *    each sends token.renew for its token again as soon as the last one is
 *    answered.  Then half the holders hang up, then the rest: each time
 *    every session must show the remaining count of token holds within
 *    -b SECONDS.
 *
 * -m stall: for a daemon out of descriptors.  N connections each send
 *    daemon.info.  For -H SECONDS (default 3) it only watches: some must
 *    be answered (accepted) and some not (waiting in the listen backlog);
 *    with -p PID it prints the CPU time PID used over that stall
 *    (stall_cpu_ms, a figure) and how long PID's main thread, the event
 *    loop, was busy: on a CPU or waiting for one (stall_busy_ms, from
 *    /proc/PID/task/PID/schedstat).  A loop that spins is busy all the
 *    time however loaded the machine is; one that sleeps is not.  Then the
 *    answered connections hang up, and so does each further one once
 *    answered: every one must be answered within -b SECONDS, as the daemon
 *    accepts again whenever it has descriptors.
 *
 * -m limit: for max_connections = LIMIT (-L).  N connections, opened one
 *    after another, each sends daemon.info and waits: the first LIMIT must
 *    be answered, every later one refused (error -32006, then closed).
 *    It prints "full" and holds them -H SECONDS (default 0), so a script
 *    can try a client of its own meanwhile; then one accepted connection
 *    hangs up and a new connection must be accepted within -b SECONDS.
 *
 * -t SECONDS bounds the whole run (default 300).  It raises its own
 * RLIMIT_NOFILE soft limit to the hard limit.  Lines on stdout report
 * progress and figures; a line starting "FAIL:" says what went wrong.
 * Exit status: 0 all correct, 1 a check failed, 2 usage, 3 cannot connect.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../rpc/sessiond-client.h"

#define MAX_SESSIONS 64

enum mode { MODE_HOLD, MODE_STALL, MODE_LIMIT };

struct lc_conn {
	int fd;                             /* -1 once closed */
	int idx;
	int session;                        /* index into opt.sessions */
	char token[64];
	char *buf;
	size_t len, cap;
	int pending;                        /* requests without a reply yet */
	long seq;
	bool answered, refused;
};

static struct {
	const char *sock;
	int n;
	const char *sessions[MAX_SESSIONS];
	int nsessions;
	enum mode mode;
	bool active;
	int gets;
	double bound, timeout, hold;
	int pid;
	int limit;
} opt = { .mode = MODE_HOLD, .gets = 50, .bound = 30, .timeout = 300, .hold = -1 };

static struct lc_conn *conns;
static bool close_answered;             /* stall: hang up once answered */
static double t_end;                    /* the whole run's deadline */
static atomic_bool active_renew;
static atomic_int failures;
static long renews;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
	atomic_fetch_add(&failures, 1);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadclients: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static void usage(void)
{
	fputs("usage: loadclients [-s SOCKET] -c N [-S NAME]... [-m hold|stall|limit] [-A]\n"
	      "                   [-g GETS] [-b SECONDS] [-t SECONDS] [-H SECONDS] [-p PID] [-L LIMIT]\n",
	      stderr);
	exit(2);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- connections ---------------------------------------------------- */

/* A non-blocking connection; a full listen backlog (EAGAIN) is retried
 * until the deadline, since a Unix socket cannot finish connecting later. */
static int connect_nb(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = opt.sock ? opt.sock : sdc_default_socket();

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			failf("socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		int e = errno;
		close(fd);
		if (e != EAGAIN || now_s() > t_end) {
			failf("connect %s: %s", path, strerror(e));
			return -1;
		}
		usleep(10000);
	}
}

static void conn_close(struct lc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_req(struct lc_conn *c, const char *method, json_t *params)
{
	json_t *m = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id",
			      (json_int_t)c->idx * 1000000 + ++c->seq, "method", method,
			      "params", params);
	char *s = json_dumps(m, JSON_COMPACT);
	size_t n = strlen(s), off = 0;

	json_decref(m);
	s[n] = '\n';                        /* replaces the NUL: n + 1 bytes */
	while (off < n + 1) {
		ssize_t w = write(c->fd, s + off, n + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { c->fd, POLLOUT, 0 };
			poll(&p, 1, 100);
			if (now_s() > t_end)
				break;
			continue;
		}
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			off = n + 1;                /* closed: reading tells why (refused?) */
			break;
		}
		if (w < 0)
			break;
		off += (size_t)w;
	}
	free(s);
	if (off < n + 1) {
		failf("conn %d: cannot send %s: %s", c->idx, method, strerror(errno));
		return -1;
	}
	c->pending++;
	return 0;
}

static void send_renew(struct lc_conn *c)
{
	send_req(c, "token.renew", json_pack("{s:s}", "token", c->token));
}

/* One reply or notification for connection c, by mode. */
static void on_frame(struct lc_conn *c, json_t *m)
{
	json_t *result = json_object_get(m, "result");
	json_t *error = json_object_get(m, "error");
	const char *method = json_string_value(json_object_get(m, "method"));

	if (method != NULL) {
		if (strcmp(method, "token.revoked") == 0)
			failf("conn %d: its token was revoked", c->idx);
		return;
	}
	if (result == NULL && error == NULL) {
		failf("conn %d: a frame that is neither reply nor notification", c->idx);
		return;
	}
	c->pending--;
	int code = (int)json_integer_value(json_object_get(error, "code"));
	const char *msg = json_string_value(json_object_get(error, "message"));
	if (opt.mode == MODE_LIMIT && error != NULL && code == RPC_ERR_LIMIT &&
	    json_is_null(json_object_get(m, "id"))) {
		c->refused = true;
		return;
	}
	if (error != NULL) {
		failf("conn %d: error %d: %s", c->idx, code, msg ? msg : "");
		return;
	}
	if (opt.mode != MODE_HOLD) {
		if (json_object_get(result, "protocol") == NULL)
			failf("conn %d: daemon.info without a protocol", c->idx);
		c->answered = true;
		return;
	}
	if (c->token[0] == '\0') {
		const char *tok = json_string_value(json_object_get(result, "token"));
		if (tok == NULL || strlen(tok) >= sizeof c->token) {
			failf("conn %d: token.acquire without a token", c->idx);
			return;
		}
		snprintf(c->token, sizeof c->token, "%s", tok);
		c->answered = true;
		return;
	}
	if (json_object_get(result, "expires") == NULL)
		failf("conn %d: token.renew without 'expires'", c->idx);
	renews++;
	if (atomic_load(&active_renew))
		send_renew(c);
}

/* Reads what is there; false once the daemon closed the connection. */
static bool conn_read(struct lc_conn *c)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL) {
				fputs("loadclients: out of memory\n", stderr);
				exit(1);
			}
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		c->len += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < c->len; i++) {
			if (c->buf[i] != '\n')
				continue;
			json_t *m = json_loadb(c->buf + start, i - start, 0, NULL);
			if (m == NULL)
				failf("conn %d: a frame that is not JSON", c->idx);
			else
				on_frame(c, m);
			json_decref(m);
			start = i + 1;
		}
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
	}
}

/* Serves every open connection until done() or the deadline; a
 * connection the daemon closes is closed here too (refused ones in limit
 * mode; anything else is a failure). */
static bool run_until(bool (*done)(void), double deadline)
{
	struct pollfd *p = calloc((size_t)opt.n + 1, sizeof *p);
	int *who = calloc((size_t)opt.n + 1, sizeof *who);
	bool ok = false;

	for (;;) {
		if (done()) {
			ok = true;
			break;
		}
		double left = deadline - now_s();
		if (left <= 0)
			break;
		int np = 0;
		for (int i = 0; i < opt.n; i++) {
			if (conns[i].fd < 0)
				continue;
			p[np].fd = conns[i].fd;
			p[np].events = POLLIN;
			who[np++] = i;
		}
		int r = poll(p, (nfds_t)np, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		for (int k = 0; r > 0 && k < np; k++) {
			if (p[k].revents == 0)
				continue;
			struct lc_conn *c = &conns[who[k]];
			if (!conn_read(c)) {
				if (!c->refused)
					failf("conn %d: the daemon closed the connection", c->idx);
				conn_close(c);
			} else if (close_answered && c->answered) {
				conn_close(c);
			}
		}
	}
	free(p);
	free(who);
	return ok;
}

/* ---- hold ------------------------------------------------------------- */

static int holders_on[MAX_SESSIONS];

static bool all_answered(void)
{
	for (int i = 0; i < opt.n; i++)
		if (!conns[i].answered && !conns[i].refused && conns[i].fd >= 0)
			return false;
	return true;
}

static bool none_pending(void)
{
	for (int i = 0; i < opt.n; i++)
		if (conns[i].fd >= 0 && conns[i].pending > 0)
			return false;
	return true;
}

/* Holds of the session (the session object counts them all; session.get
 * lists only the first 100).  Only tokens hold these sessions here. */
static int token_holds(json_t *session)
{
	return (int)json_integer_value(json_object_get(session, "holds_count"));
}

/* One session.get by the well-behaved client, checked. */
static json_t *checked_get(struct sdc *w, int s, double *ms)
{
	struct sdc_error e;
	json_t *res = NULL;
	double t0 = now_s();
	long id = sdc_send(w, "session.get", json_pack("{s:s}", "name", opt.sessions[s]), &e);

	if (id < 0 || sdc_wait(w, id, (int)(opt.bound * 1000), &res, &e) < 0) {
		failf("session.get %s: %s (bound %.0f s)", opt.sessions[s], e.message, opt.bound);
		return NULL;
	}
	*ms = (now_s() - t0) * 1000;
	const char *name = json_string_value(json_object_get(res, "name"));
	if (name == NULL || strcmp(name, opt.sessions[s]) != 0) {
		failf("session.get %s answered for '%s'", opt.sessions[s], name ? name : "(none)");
		json_decref(res);
		return NULL;
	}
	return res;
}

struct checker {
	struct sdc *w;
	double max_ms, sum_ms;
	int ok;
};

/* The well-behaved client, in its own thread while the holders run. */
static void *checker_run(void *arg)
{
	struct checker *ck = arg;

	for (int g = 0; g < opt.gets && atomic_load(&failures) == 0; g++) {
		int s = g % opt.nsessions;
		double ms = 0;
		json_t *res = checked_get(ck->w, s, &ms);
		if (res == NULL)
			break;
		const char *state = json_string_value(json_object_get(res, "state"));
		int held = token_holds(res);
		if (state == NULL || strcmp(state, "running") != 0)
			failf("session %s is %s while %d tokens hold it", opt.sessions[s],
			      state ? state : "(none)", holders_on[s]);
		else if (held != holders_on[s])
			failf("session %s lists %d token holds, not %d", opt.sessions[s], held,
			      holders_on[s]);
		else
			ck->ok++;
		json_decref(res);
		ck->sum_ms += ms;
		if (ms > ck->max_ms)
			ck->max_ms = ms;
	}
	atomic_store(&active_renew, false);
	return NULL;
}

/* Waits until every session lists want[s] token holds. */
static bool wait_holds(struct sdc *w, const int *want)
{
	double deadline = now_s() + opt.bound;

	for (;;) {
		bool all = true;
		int s, held = 0;
		for (s = 0; s < opt.nsessions && all; s++) {
			double ms;
			json_t *res = checked_get(w, s, &ms);
			if (res == NULL)
				return false;
			held = token_holds(res);
			json_decref(res);
			all = held == want[s];
		}
		if (all)
			return true;
		if (now_s() > deadline) {
			failf("session %s still lists %d token holds, not %d, %.0f s after hang-ups",
			      opt.sessions[s - 1], held, want[s - 1], opt.bound);
			return false;
		}
		usleep(50000);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool tokens_unique(void)
{
	const char **t = calloc((size_t)opt.n, sizeof *t);
	bool ok = true;

	for (int i = 0; i < opt.n; i++)
		t[i] = conns[i].token;
	qsort(t, (size_t)opt.n, sizeof *t, cmp_str);
	for (int i = 1; i < opt.n && ok; i++) {
		if (strcmp(t[i - 1], t[i]) == 0) {
			failf("two holders got the same token %s", t[i]);
			ok = false;
		}
	}
	free(t);
	return ok;
}

static int mode_hold(void)
{
	struct sdc_error e;
	double t0 = now_s();

	for (int i = 0; i < opt.n; i++) {
		conns[i].session = i % opt.nsessions;
		holders_on[conns[i].session]++;
		if ((conns[i].fd = connect_nb()) < 0)
			return 1;
		json_t *p = json_pack("{s:s, s:s}", "name", opt.sessions[conns[i].session],
				      "reason", "loadclients");
		if (send_req(&conns[i], "token.acquire", p) < 0)
			return 1;
	}
	if (!run_until(all_answered, t_end) || atomic_load(&failures) > 0) {
		failf("not every holder got its token");
		return 1;
	}
	if (!tokens_unique())
		return 1;
	say("%d tokens held on %d session(s) after %.0f ms", opt.n, opt.nsessions,
	    (now_s() - t0) * 1000);

	struct checker ck = { 0 };
	if ((ck.w = sdc_connect(opt.sock, &e)) == NULL) {
		failf("well-behaved client: %s", e.message);
		return 1;
	}
	atomic_store(&active_renew, opt.active);
	if (opt.active)
		for (int i = 0; i < opt.n; i++)
			send_renew(&conns[i]);
	pthread_t th;
	pthread_create(&th, NULL, checker_run, &ck);
	/* Serve the holders until the checker is done, then their last renews. */
	while (atomic_load(&active_renew) || (opt.active && !none_pending())) {
		if (!run_until(none_pending, now_s() + 0.2) && now_s() > t_end)
			break;
	}
	pthread_join(th, NULL);
	run_until(none_pending, now_s() + opt.bound);
	say("%d of %d session.get correct while held; latency max %.1f ms, mean %.1f ms; "
	    "%ld renews by the holders", ck.ok, opt.gets, ck.max_ms,
	    ck.ok ? ck.sum_ms / ck.ok : 0.0, renews);
	if (ck.ok != opt.gets) {
		sdc_close(ck.w);
		return 1;
	}

	/* Half hang up, then the rest: their tokens go with them. */
	int want[MAX_SESSIONS] = { 0 };
	for (int i = 0; i < opt.n; i++) {
		if (i < opt.n / 2)
			conn_close(&conns[i]);
		else
			want[conns[i].session]++;
	}
	double t1 = now_s();
	if (!wait_holds(ck.w, want)) {
		sdc_close(ck.w);
		return 1;
	}
	say("half hung up: holds down to the rest after %.0f ms", (now_s() - t1) * 1000);
	for (int i = 0; i < opt.n; i++)
		conn_close(&conns[i]);
	memset(want, 0, sizeof want);
	t1 = now_s();
	bool ok = wait_holds(ck.w, want);
	if (ok)
		say("all hung up: no token holds after %.0f ms", (now_s() - t1) * 1000);
	sdc_close(ck.w);
	return ok && atomic_load(&failures) == 0 ? 0 : 1;
}

/* ---- stall ------------------------------------------------------------ */

/* utime + stime of pid in milliseconds, or -1. */
static double cpu_ms(int pid)
{
	char path[64], buf[2048];
	unsigned long ut = 0, st = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');        /* comm may hold spaces */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) != 2)
		return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* Time PID's main thread spent on a CPU plus waiting on a run queue, in
 * milliseconds, or -1. */
static double busy_ms(int pid)
{
	char path[64];
	unsigned long long run = 0, wait = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	return n == 2 ? (double)(run + wait) / 1e6 : -1;
}

static bool never(void)
{
	return false;
}

static int count_answered(void)
{
	int a = 0;

	for (int i = 0; i < opt.n; i++)
		a += conns[i].answered;
	return a;
}

static int mode_stall(void)
{
	for (int i = 0; i < opt.n; i++) {
		if ((conns[i].fd = connect_nb()) < 0)
			return 1;
		if (send_req(&conns[i], "daemon.info", json_object()) < 0)
			return 1;
	}
	double hold = opt.hold < 0 ? 3 : opt.hold;
	double c0 = opt.pid ? cpu_ms(opt.pid) : 0, b0 = opt.pid ? busy_ms(opt.pid) : 0;
	double t0 = now_s();
	run_until(never, t0 + hold);
	double c1 = opt.pid ? cpu_ms(opt.pid) : 0, b1 = opt.pid ? busy_ms(opt.pid) : 0;
	double t1 = now_s();
	int answered = count_answered();
	say("stall: %d of %d connections answered in %.1f s", answered, opt.n, t1 - t0);
	if (opt.pid)
		say("stall_cpu_ms=%.0f stall_busy_ms=%.0f stall_ms=%.0f", c1 - c0,
		    b0 < 0 || b1 < 0 ? -1.0 : b1 - b0, (t1 - t0) * 1000);
	if (answered == 0 || answered == opt.n) {
		failf("expected some but not all of %d connections answered while out of "
		      "descriptors, got %d", opt.n, answered);
		return 1;
	}
	/* Each hangs up once answered, as a short-lived client would. */
	close_answered = true;
	for (int i = 0; i < opt.n; i++)
		if (conns[i].answered)
			conn_close(&conns[i]);
	double t2 = now_s();
	if (!run_until(all_answered, t2 + opt.bound)) {
		failf("%d connections still unanswered %.0f s after %d others hung up",
		      opt.n - count_answered(), opt.bound, answered);
		return 1;
	}
	say("after %d hung up, the other %d were answered within %.0f ms", answered,
	    opt.n - answered, (now_s() - t2) * 1000);
	return atomic_load(&failures) == 0 ? 0 : 1;
}

/* ---- limit ------------------------------------------------------------ */

static struct lc_conn *probe;

static bool probe_done(void)
{
	return probe->answered || probe->refused || probe->fd < 0;
}

/* Connects conns[i], sends daemon.info and waits for its fate. */
static bool open_and_ask(int i)
{
	probe = &conns[i];
	probe->answered = probe->refused = false;
	if ((probe->fd = connect_nb()) < 0 || send_req(probe, "daemon.info", json_object()) < 0)
		return false;
	if (!run_until(probe_done, now_s() + opt.bound)) {
		failf("conn %d: neither answered nor refused within %.0f s", i, opt.bound);
		return false;
	}
	return true;
}

static int mode_limit(void)
{
	int accepted = 0, refused = 0;

	for (int i = 0; i < opt.n; i++) {
		if (!open_and_ask(i))
			return 1;
		if (conns[i].answered)
			accepted++;
		if (conns[i].refused) {
			refused++;
			conn_close(&conns[i]);
			if (i < opt.limit)
				failf("conn %d refused below the limit of %d", i, opt.limit);
		} else if (i >= opt.limit) {
			failf("conn %d accepted beyond the limit of %d", i, opt.limit);
		}
	}
	say("%d accepted, %d refused with -32006", accepted, refused);
	say("full");
	if (opt.hold > 0)
		run_until(never, now_s() + opt.hold);
	if (atomic_load(&failures) > 0)
		return 1;
	/* One hangs up; a new connection gets its place once the daemon saw it. */
	conn_close(&conns[0]);
	double t0 = now_s();
	int i = opt.n - 1, tries = 0;
	conn_close(&conns[i]);
	do {
		tries++;
		if (!open_and_ask(i))
			return 1;
		if (conns[i].refused) {
			conn_close(&conns[i]);
			usleep(20000);
		}
	} while (!conns[i].answered && now_s() < t0 + opt.bound);
	if (!conns[i].answered) {
		failf("no connection accepted within %.0f s after one hung up", opt.bound);
		return 1;
	}
	say("after one hung up, a new connection was accepted (try %d, %.0f ms)", tries,
	    (now_s() - t0) * 1000);
	return atomic_load(&failures) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ch, rc;

	while ((ch = getopt(argc, argv, "s:c:S:m:Ag:b:t:H:p:L:h")) != -1) {
		switch (ch) {
		case 's': opt.sock = optarg; break;
		case 'c': opt.n = atoi(optarg); break;
		case 'S':
			if (opt.nsessions == MAX_SESSIONS)
				usage();
			opt.sessions[opt.nsessions++] = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "hold") == 0)
				opt.mode = MODE_HOLD;
			else if (strcmp(optarg, "stall") == 0)
				opt.mode = MODE_STALL;
			else if (strcmp(optarg, "limit") == 0)
				opt.mode = MODE_LIMIT;
			else
				usage();
			break;
		case 'A': opt.active = true; break;
		case 'g': opt.gets = atoi(optarg); break;
		case 'b': opt.bound = atof(optarg); break;
		case 't': opt.timeout = atof(optarg); break;
		case 'H': opt.hold = atof(optarg); break;
		case 'p': opt.pid = atoi(optarg); break;
		case 'L': opt.limit = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || opt.n < 1 || (opt.mode == MODE_HOLD && opt.nsessions == 0) ||
	    (opt.mode == MODE_LIMIT && (opt.limit < 1 || opt.limit >= opt.n)))
		usage();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	conns = calloc((size_t)opt.n, sizeof *conns);
	for (int i = 0; i < opt.n; i++) {
		conns[i].fd = -1;
		conns[i].idx = i;
	}
	t_end = now_s() + opt.timeout;
	switch (opt.mode) {
	case MODE_HOLD: rc = mode_hold(); break;
	case MODE_STALL: rc = mode_stall(); break;
	default: rc = mode_limit(); break;
	}
	for (int i = 0; i < opt.n; i++) {
		conn_close(&conns[i]);
		free(conns[i].buf);
	}
	free(conns);
	if (atomic_load(&failures) > 0)
		rc = 1;
	say("%s", rc == 0 ? "PASSED" : "FAILED");
	return rc;
}
