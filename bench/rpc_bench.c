/*
 * rpc_bench.c — token.acquire + token.release round trips against a real
 * sessiond, next to what the same traffic costs without sessiond and what a
 * libvirt round trip costs.
 *
 * The bench starts its own sessiond (--foreground, private socket and
 * state directory in a temporary directory, test:///default), creates one
 * session with grace "never" and starts its VM, so every acquire takes the
 * running path.  Then, for each CPU placement and client count:
 *
 *   sdc     each client thread has its own connection through
 *           libsessiond-client: sdc_token_acquire() then sdc_token_release()
 *   raw     the same two requests as pre-encoded frames on a plain socket,
 *           the reply scanned for the token id (no JSON on the client side)
 *   echo    a plain Unix-socket ping-pong with the same frame sizes (the
 *           sizes the raw run measured): a one-thread epoll server, a
 *           process of its own as sessiond is, reads a line and answers a
 *           line of the reply's size
 *   virt    virConnectNumOfDomains() through libvirtd (--libvirt-uri,
 *           default test+unix:///default), one connection per client
 *
 * One op is one request/reply round trip; a pair is acquire + release (two
 * ops).  Placements (2 CPUs): "same" puts the server (every sessiond
 * thread, the echo thread, and libvirtd when --libvirtd-pid is given) and
 * all clients on CPU 0; "split" puts the server on CPU 0 and the clients on
 * CPU 1; "free" pins nothing.  Server CPU time per op comes from
 * /proc/PID/task/TID/schedstat.
 *
 * --metrics ADDRESS gives the daemon metrics_listen = ADDRESS (its
 * Prometheus endpoint), and --scrape-every S scrapes it every S seconds
 * from a thread of the bench for as long as the bench runs, as a
 * Prometheus would: bench/run.sh alternates runs with and without to
 * measure what metrics cost (bench/README.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../rpc/rpc.h"
#include "../rpc/sessiond-client.h"

enum mode { M_SDC, M_RAW, M_ECHO, M_VIRT, M__COUNT };
static const char *const mode_names[M__COUNT] = { "sdc", "raw", "echo", "virt" };

enum placement { P_SAME, P_SPLIT, P_FREE, P__COUNT };
static const char *const placement_names[P__COUNT] = { "same", "split", "free" };

#define MAX_CLIENTS 256
#define MAX_RUNS 32
#define SESSION "bench"
#define TOKEN_LEN 36

struct opts {
	const char *sessiond;
	const char *libvirt_uri;
	pid_t libvirtd_pid;
	int clients[8], nclients;
	bool placement_on[P__COUNT];
	double seconds;
	int runs;
	const char *log_level;
	bool mode_on[M__COUNT];
	const char *metrics;                /* metrics_listen; NULL: off */
	double scrape_every;                /* seconds; 0: no scraping */
};

static struct opts O = {
	.libvirt_uri = "test+unix:///default",
	.seconds = 1.0,
	.runs = 3,
	.log_level = "info",
	.mode_on = { true, true, true, true },
};

static char tmpdir[48], sock_path[96], echo_path[96];
static pid_t daemon_pid = -1;

/* ---- small helpers -------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void cleanup(void);

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rpc_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

static void cpuset_for(cpu_set_t *set, int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(set);
	if (cpu < 0) {
		for (int i = 0; i < n; i++)
			CPU_SET(i, set);
	} else {
		CPU_SET(cpu % (int)n, set);
	}
}

/* Every thread of a process (the daemon's workers and event thread too). */
static void pin_process(pid_t pid, int cpu)
{
	char path[64];
	struct dirent *de;
	cpu_set_t set;

	if (pid <= 0)
		return;
	cpuset_for(&set, cpu);
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			sched_setaffinity(atoi(de->d_name), sizeof set, &set);
	}
	closedir(d);
}

static long long task_cpu_ns(pid_t pid, pid_t tid)
{
	char path[96];
	long long ns = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/* CPU time of every thread of pid (threads that exited are not counted;
 * the daemon's threads live as long as it does). */
static long long proc_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long long sum = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			sum += task_cpu_ns(pid, atoi(de->d_name));
	}
	closedir(d);
	return sum;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A line reader over a blocking socket: returns the line length including
 * its '\n', the line at *line, or -1. */
struct reader {
	int fd;
	char buf[1 << 16];
	size_t start, len;
};

static ssize_t read_line(struct reader *r, const char **line)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->len - r->start);
		if (nl != NULL) {
			size_t n = (size_t)(nl - (r->buf + r->start)) + 1;
			*line = r->buf + r->start;
			r->start += n;
			return (ssize_t)n;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		if (r->len == sizeof r->buf)
			return -1;
		ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		r->len += (size_t)got;
	}
}

/* ---- the daemon ------------------------------------------------------ */

static void start_daemon(void)
{
	char state[320], conf[320], logf[320];
	FILE *f;

	snprintf(state, sizeof state, "%s/state", tmpdir);
	snprintf(conf, sizeof conf, "%s/sessiond.conf", tmpdir);
	snprintf(logf, sizeof logf, "%s/daemon.log", tmpdir);
	f = fopen(conf, "w");
	if (f == NULL)
		die("cannot write %s", conf);
	fprintf(f, "scratch_gib = 0\nlog_level = %s\n", O.log_level);
	if (O.metrics != NULL)
		fprintf(f, "metrics_listen = %s\n", O.metrics);
	fclose(f);
	daemon_pid = fork();
	if (daemon_pid < 0)
		die("fork: %s", strerror(errno));
	if (daemon_pid == 0) {
		/* A bench killed any way at all takes its daemon with it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execl(O.sessiond, O.sessiond, "--foreground", "--socket", sock_path,
		      "--state-dir", state, "--uri", "test:///default", "--config", conf,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		struct sdc *c = sdc_connect(sock_path, NULL);
		if (c != NULL) {
			sdc_close(c);
			return;
		}
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			die("sessiond exited at start (log: %s)", logf);
		}
		usleep(20000);
	}
	die("sessiond did not come up on %s", sock_path);
}

static void stop_daemon(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	for (int i = 0; i < 250; i++) {
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			return;
		}
		usleep(20000);
	}
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
}

/* One session whose VM stays up: grace "never", started once. */
static void prepare_session(void)
{
	struct sdc_error err;
	struct sdc *c = sdc_connect(sock_path, &err);
	json_t *settings = json_pack("{s:s, s:s}", "grace_s", "never", "storage", "ephemeral");
	json_t *r = NULL;

	if (c == NULL)
		die("%s", err.message);
	if (sdc_session_create(c, SESSION, settings, &r, &err) < 0)
		die("session.create: %s", err.message);
	json_decref(r);
	json_decref(settings);
	if (sdc_session_start(c, SESSION, &r, &err) < 0)
		die("session.start: %s", err.message);
	json_decref(r);
	sdc_close(c);
}

static long session_holds(void)
{
	struct sdc_error err;
	struct sdc *c = sdc_connect(sock_path, &err);
	json_t *s = NULL;
	long n = -1;

	if (c != NULL && sdc_session_get(c, SESSION, &s, &err) == 0)
		n = (long)json_array_size(json_object_get(s, "holds"));
	json_decref(s);
	sdc_close(c);
	return n;
}

/* ---- the metrics scraper --------------------------------------------- */

static struct sockaddr_in metrics_addr;
static pthread_t scraper;
static pthread_mutex_t scraper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scraper_cond = PTHREAD_COND_INITIALIZER;
static bool scraper_quit;                   /* under scraper_lock */
static _Atomic long scrapes, scrape_failures, scrape_bytes;

/* The endpoint's port, from the daemon's "metrics: serving
 * http://127.0.0.1:PORT/metrics" log line. */
static void find_metrics(void)
{
	char logf[320], line[512], host[64];
	unsigned port;

	snprintf(logf, sizeof logf, "%s/daemon.log", tmpdir);
	for (int i = 0; i < 250; i++) {
		FILE *f = fopen(logf, "r");
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			char *p = strstr(line, "metrics: serving http://");
			if (p != NULL && sscanf(p, "metrics: serving http://%63[0-9.]:%u/", host, &port) == 2) {
				fclose(f);
				metrics_addr.sin_family = AF_INET;
				metrics_addr.sin_port = htons((uint16_t)port);
				if (inet_pton(AF_INET, host, &metrics_addr.sin_addr) != 1)
					die("metrics address %s: only IPv4 is scraped", host);
				return;
			}
		}
		if (f != NULL)
			fclose(f);
		usleep(20000);
	}
	die("no 'metrics: serving' line in %s", logf);
}

static long scrape_once(void)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	char buf[65536];
	long n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&metrics_addr, sizeof metrics_addr) < 0 ||
	    write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	bool ok = false;

	while ((r = read(fd, buf, sizeof buf - 1)) > 0) {
		if (n == 0) {
			buf[r] = '\0';
			ok = strstr(buf, " 200 ") != NULL;
		}
		n += r;
	}
	close(fd);
	return ok ? n : -1;
}

/* Scrapes, then sleeps the interval (one timed wait: no wake-ups between). */
static void *scraper_main(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&scraper_lock);
	while (!scraper_quit) {
		pthread_mutex_unlock(&scraper_lock);
		long n = scrape_once();
		if (n < 0) {
			atomic_fetch_add(&scrape_failures, 1);
		} else {
			atomic_fetch_add(&scrapes, 1);
			atomic_store(&scrape_bytes, n);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)O.scrape_every;
		until.tv_nsec += (long)((O.scrape_every - (double)(time_t)O.scrape_every) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&scraper_lock);
		while (!scraper_quit &&
		       pthread_cond_timedwait(&scraper_cond, &scraper_lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&scraper_lock);
	return NULL;
}

static void start_scraper(void)
{
	if (O.metrics == NULL)
		return;
	find_metrics();
	if (O.scrape_every > 0 && pthread_create(&scraper, NULL, scraper_main, NULL) != 0)
		die("pthread_create: %s", strerror(errno));
}

static void stop_scraper(void)
{
	if (O.metrics == NULL || O.scrape_every <= 0)
		return;
	pthread_mutex_lock(&scraper_lock);
	scraper_quit = true;
	pthread_cond_signal(&scraper_cond);
	pthread_mutex_unlock(&scraper_lock);
	pthread_join(scraper, NULL);
}

/* ---- the echo server -------------------------------------------------- */

/* The reply sizes the echo answers with, set by the bench between runs:
 * shared with the echo process. */
struct echo_sizes {
	_Atomic size_t a, r;
};

static struct echo_sizes *echo_reply;
static pid_t echo_pid = -1;

struct echo_conn {
	int fd;
	size_t len;
	char buf[8192];
};

/* Answers every complete line: 'R...' with a release-sized reply, any
 * other with an acquire-sized one. */
static void echo_answer(struct echo_conn *ec, const char *ra, size_t na, const char *rr,
			size_t nr)
{
	size_t start = 0;

	for (size_t i = 0; i < ec->len; i++) {
		if (ec->buf[i] != '\n')
			continue;
		if (ec->buf[start] == 'R')
			write_all(ec->fd, rr, nr);
		else
			write_all(ec->fd, ra, na);
		start = i + 1;
	}
	memmove(ec->buf, ec->buf + start, ec->len - start);
	ec->len -= start;
}

static _Noreturn void echo_main(int listen_fd)
{
	static char ra[1 << 16], rr[1 << 16];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[64];

	memset(ra, 'x', sizeof ra);
	memset(rr, 'x', sizeof rr);
	epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			struct echo_conn *ec = evs[i].data.ptr;
			if (ec == NULL) {
				int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				ec = calloc(1, sizeof *ec);
				ec->fd = fd;
				struct epoll_event cev = { .events = EPOLLIN, .data.ptr = ec };
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				continue;
			}
			ssize_t got = read(ec->fd, ec->buf + ec->len, sizeof ec->buf - ec->len);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				epoll_ctl(ep, EPOLL_CTL_DEL, ec->fd, NULL);
				close(ec->fd);
				free(ec);
				continue;
			}
			ec->len += (size_t)got;
			/* Each reply line ends in '\n' at its size. */
			size_t a = echo_reply->a, r = echo_reply->r;
			ra[a - 1] = '\n';
			rr[r - 1] = '\n';
			echo_answer(ec, ra, a, rr, r);
			ra[a - 1] = 'x';
			rr[r - 1] = 'x';
		}
	}
}

/*
 * The echo server is a process of its own, as sessiond is: a thread of
 * the bench would share the clients' address space, and every switch
 * between a client and it would skip the address-space switch each
 * switch to sessiond pays (on this PVM guest, several microseconds).
 */
static void start_echo(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	echo_reply = mmap(NULL, sizeof *echo_reply, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (echo_reply == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	echo_reply->a = echo_reply->r = 64;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", echo_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 256) < 0)
		die("echo socket %s: %s", echo_path, strerror(errno));
	echo_pid = fork();
	if (echo_pid < 0)
		die("fork: %s", strerror(errno));
	if (echo_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		echo_main(fd);
	}
	close(fd);
}

static void stop_echo(void)
{
	if (echo_pid > 0) {
		kill(echo_pid, SIGKILL);
		waitpid(echo_pid, NULL, 0);
		echo_pid = -1;
	}
}

/* ---- clients ---------------------------------------------------------- */

/* Frame sizes seen by the raw clients (means), used by the echo run. */
struct sizes {
	double req_a, rep_a, req_r, rep_r;
};

struct client {
	pthread_t tid;
	enum mode mode;
	int cpu;
	long ops;
	double secs;
	double req_a, rep_a, req_r, rep_r;   /* byte sums (raw) */
	long na, nr;
	struct sizes echo;                  /* sizes to send (echo) */
	char err[256];
};

static _Atomic bool stop_flag;
static pthread_barrier_t barrier;

static void client_fail(struct client *cl, const char *what)
{
	if (cl->err[0] == '\0')
		snprintf(cl->err, sizeof cl->err, "%.250s", what);
}

static void loop_sdc(struct client *cl)
{
	struct sdc_error err;
	struct sdc *c = sdc_connect(sock_path, &err);
	char tok[64];

	if (c == NULL)
		client_fail(cl, err.message);
	pthread_barrier_wait(&barrier);
	double t0 = now();
	while (c != NULL && !atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (sdc_token_acquire(c, SESSION, "bench", 0, false, tok, NULL, &err) < 0 ||
		    sdc_token_release(c, tok, &err) < 0) {
			client_fail(cl, err.message);
			break;
		}
		cl->ops += 2;
	}
	cl->secs = now() - t0;
	sdc_close(c);
}

/* The request frames libsessiond-client would send, encoded once. */
static char *encode_request(const char *method, json_t *params, size_t *len)
{
	json_t *id = json_integer(1);
	json_t *msg = rpc_make_request(id, method, params);
	char *buf = rpc_encode(msg, len);

	json_decref(id);
	json_decref(msg);
	return buf;
}

static const char token_key[] = "\"token\":\"";

static bool raw_pair(struct client *cl, struct reader *rd, const char *acq, size_t acq_len,
		     char *rel, size_t rel_len, char *tok_slot)
{
	const char *line, *p;
	ssize_t n;

	if (write_all(rd->fd, acq, acq_len) < 0 || (n = read_line(rd, &line)) < 0)
		return false;
	p = memmem(line, (size_t)n, token_key, sizeof token_key - 1);
	if (p == NULL || p + sizeof token_key - 1 + TOKEN_LEN > line + n)
		return false;
	memcpy(tok_slot, p + sizeof token_key - 1, TOKEN_LEN);
	cl->req_a += (double)acq_len;
	cl->rep_a += (double)n;
	cl->na++;
	if (write_all(rd->fd, rel, rel_len) < 0 || (n = read_line(rd, &line)) < 0)
		return false;
	if (memmem(line, (size_t)n, "\"result\"", 8) == NULL)
		return false;
	cl->req_r += (double)rel_len;
	cl->rep_r += (double)n;
	cl->nr++;
	return true;
}

static void loop_raw(struct client *cl)
{
	static _Thread_local struct reader rd;
	size_t acq_len, rel_len;
	char *acq = encode_request(RPC_TOKEN_ACQUIRE,
				   json_pack("{s:s, s:s}", "name", SESSION, "reason", "bench"), &acq_len);
	char *rel = encode_request(RPC_TOKEN_RELEASE,
				   json_pack("{s:s}", "token", "00000000-0000-0000-0000-000000000000"),
				   &rel_len);
	char *slot = strstr(rel, "00000000-");

	memset(&rd, 0, sizeof rd);
	rd.fd = unix_connect(sock_path);
	if (rd.fd < 0)
		client_fail(cl, "connect");
	pthread_barrier_wait(&barrier);
	double t0 = now();
	while (rd.fd >= 0 && !atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (!raw_pair(cl, &rd, acq, acq_len, rel, rel_len, slot)) {
			client_fail(cl, "raw exchange failed");
			break;
		}
		cl->ops += 2;
	}
	cl->secs = now() - t0;
	if (rd.fd >= 0)
		close(rd.fd);
	free(acq);
	free(rel);
}

static void loop_echo(struct client *cl)
{
	static _Thread_local struct reader rd;
	size_t qa = (size_t)(cl->echo.req_a + 0.5), qr = (size_t)(cl->echo.req_r + 0.5);
	char *ra = malloc(qa), *rr = malloc(qr);
	const char *line;

	memset(ra, 'a', qa);
	memset(rr, 'r', qr);
	ra[0] = 'A';
	rr[0] = 'R';
	ra[qa - 1] = rr[qr - 1] = '\n';
	memset(&rd, 0, sizeof rd);
	rd.fd = unix_connect(echo_path);
	if (rd.fd < 0)
		client_fail(cl, "connect");
	pthread_barrier_wait(&barrier);
	double t0 = now();
	while (rd.fd >= 0 && !atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (write_all(rd.fd, ra, qa) < 0 || read_line(&rd, &line) < 0 ||
		    write_all(rd.fd, rr, qr) < 0 || read_line(&rd, &line) < 0) {
			client_fail(cl, "echo exchange failed");
			break;
		}
		cl->ops += 2;
	}
	cl->secs = now() - t0;
	if (rd.fd >= 0)
		close(rd.fd);
	free(ra);
	free(rr);
}

static void silent(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

static void loop_virt(struct client *cl)
{
	virConnectPtr vc = virConnectOpen(O.libvirt_uri);

	if (vc == NULL)
		client_fail(cl, "virConnectOpen failed");
	pthread_barrier_wait(&barrier);
	double t0 = now();
	while (vc != NULL && !atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (virConnectNumOfDomains(vc) < 0) {
			client_fail(cl, "virConnectNumOfDomains failed");
			break;
		}
		cl->ops++;
	}
	cl->secs = now() - t0;
	if (vc != NULL)
		virConnectClose(vc);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	cpu_set_t set;

	if (cl->cpu >= 0) {
		cpuset_for(&set, cl->cpu);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	switch (cl->mode) {
	case M_SDC: loop_sdc(cl); break;
	case M_RAW: loop_raw(cl); break;
	case M_ECHO: loop_echo(cl); break;
	case M_VIRT: loop_virt(cl); break;
	case M__COUNT: break;
	}
	return NULL;
}

/* ---- one measurement ---------------------------------------------------- */

struct sample {
	double ops_per_s;
	double server_us_per_op;            /* server CPU per op; < 0: unknown */
	struct sizes sizes;                 /* raw: frame sizes seen */
	bool failed;
};

static long long server_cpu_ns(enum mode m)
{
	switch (m) {
	case M_SDC:
	case M_RAW: return proc_cpu_ns(daemon_pid);
	case M_ECHO: return proc_cpu_ns(echo_pid);
	case M_VIRT: return O.libvirtd_pid > 0 ? proc_cpu_ns(O.libvirtd_pid) : -1;
	case M__COUNT: break;
	}
	return -1;
}

static struct sample measure(enum mode m, int nclients, int client_cpu, const struct sizes *echo)
{
	static struct client cls[MAX_CLIENTS];
	struct sample s = { 0, -1, { 0, 0, 0, 0 }, false };
	struct timespec ts = { (time_t)O.seconds,
			       (long)((O.seconds - (double)(time_t)O.seconds) * 1e9) };
	long ops = 0;
	double na = 0, nr = 0;

	atomic_store(&stop_flag, false);
	pthread_barrier_init(&barrier, NULL, (unsigned)nclients + 1);
	for (int i = 0; i < nclients; i++) {
		memset(&cls[i], 0, sizeof cls[i]);
		cls[i].mode = m;
		cls[i].cpu = client_cpu;
		if (echo != NULL)
			cls[i].echo = *echo;
		if (pthread_create(&cls[i].tid, NULL, client_main, &cls[i]) != 0)
			die("pthread_create: %s", strerror(errno));
	}
	pthread_barrier_wait(&barrier);
	long long cpu0 = server_cpu_ns(m);
	nanosleep(&ts, NULL);
	atomic_store(&stop_flag, true);
	for (int i = 0; i < nclients; i++)
		pthread_join(cls[i].tid, NULL);
	long long cpu1 = server_cpu_ns(m);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < nclients; i++) {
		if (cls[i].err[0] != '\0') {
			if (!s.failed)
				printf("    %s client %d: %s\n", mode_names[m], i, cls[i].err);
			s.failed = true;
		}
		if (cls[i].secs > 0)
			s.ops_per_s += (double)cls[i].ops / cls[i].secs;
		ops += cls[i].ops;
		s.sizes.req_a += cls[i].req_a;
		s.sizes.rep_a += cls[i].rep_a;
		s.sizes.req_r += cls[i].req_r;
		s.sizes.rep_r += cls[i].rep_r;
		na += (double)cls[i].na;
		nr += (double)cls[i].nr;
	}
	if (na > 0 && nr > 0) {
		s.sizes.req_a /= na;
		s.sizes.rep_a /= na;
		s.sizes.req_r /= nr;
		s.sizes.rep_r /= nr;
	}
	if (cpu0 >= 0 && cpu1 >= 0 && ops > 0)
		s.server_us_per_op = (double)(cpu1 - cpu0) / 1e3 / (double)ops;
	return s;
}

/* ---- statistics --------------------------------------------------------- */

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

	if (n == 0)
		return (struct stat3){ 0, 0, 0 };
	memcpy(s, v, sizeof *v * (size_t)n);
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	return (struct stat3){ n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2, s[0], s[n - 1] };
}

/* ---- one placement x client count ---------------------------------------- */

struct series {
	double ops[MAX_RUNS], cpu[MAX_RUNS];
	int n;
	bool failed;
};

static bool virt_available;

static void placement_apply(enum placement p, int *client_cpu)
{
	int server = p == P_FREE ? -1 : 0;

	pin_process(daemon_pid, server);
	if (O.libvirtd_pid > 0)
		pin_process(O.libvirtd_pid, server);
	pin_process(echo_pid, server);
	*client_cpu = p == P_SAME ? 0 : p == P_SPLIT ? 1 : -1;
}

static void add(struct series *se, struct sample s)
{
	se->ops[se->n] = s.ops_per_s;
	se->cpu[se->n] = s.server_us_per_op;
	se->n++;
	se->failed |= s.failed;
}

/*
 * How many times more ops/s the reference (the echo) made: the median of
 * the runs' ratios.  A run of each is measured in turn, so each ratio
 * compares the two at the same moment; this machine's speed drifts from
 * one minute to the next, which a ratio of the two medians would mix in.
 */
static struct stat3 paired_ratio(const struct series *se, const struct series *ref)
{
	double r[MAX_RUNS];
	int n = 0;

	for (int i = 0; i < se->n && i < ref->n; i++)
		if (se->ops[i] > 0)
			r[n++] = ref->ops[i] / se->ops[i];
	return stats(r, n);
}

static void print_row(const char *what, const struct series *se, const struct series *ref,
		      int nclients)
{
	struct stat3 o = stats(se->ops, se->n), c = stats(se->cpu, se->n);
	char cpu[48] = "n/a", vs[64] = "";

	if (c.med >= 0)
		snprintf(cpu, sizeof cpu, "%.2f", c.med);
	if (ref != NULL && ref->n > 0) {
		struct stat3 v = paired_ratio(se, ref);
		snprintf(vs, sizeof vs, "%.2fx (%.2f..%.2f)", v.med, v.min, v.max);
	}
	printf("    %-30s %9.0f %9.0f..%-9.0f %8.1f %9s %s%s\n", what, o.med, o.min, o.max,
	       o.med > 0 ? 1e6 * nclients / o.med : 0, cpu, vs, se->failed ? "  (errors)" : "");
}

static void run_config(enum placement p, int nclients)
{
	struct series sdc = { 0 }, raw = { 0 }, echo = { 0 }, virt = { 0 };
	struct sizes sz = { 0, 0, 0, 0 };
	int client_cpu;

	placement_apply(p, &client_cpu);
	for (int r = 0; r < O.runs; r++) {
		if (O.mode_on[M_SDC])
			add(&sdc, measure(M_SDC, nclients, client_cpu, NULL));
		/* The raw run also measures the frame sizes the echo run uses. */
		if (O.mode_on[M_RAW] || O.mode_on[M_ECHO]) {
			struct sample rs = measure(M_RAW, nclients, client_cpu, NULL);
			add(&raw, rs);
			if (rs.sizes.rep_a > 0) {
				sz = rs.sizes;
				echo_reply->a = (size_t)(sz.rep_a + 0.5);
				echo_reply->r = (size_t)(sz.rep_r + 0.5);
			}
		}
		if (O.mode_on[M_ECHO])
			add(&echo, measure(M_ECHO, nclients, client_cpu, &sz));
		if (virt_available && O.mode_on[M_VIRT])
			add(&virt, measure(M_VIRT, nclients, client_cpu, NULL));
	}
	double sdc_med = stats(sdc.ops, sdc.n).med, raw_med = stats(raw.ops, raw.n).med;
	double echo_med = stats(echo.ops, echo.n).med;
	double virt_med = virt.n ? stats(virt.ops, virt.n).med : 0;

	printf("\n  placement %s (%s), %d client%s, %d x %.1f s; frames: acquire %.0f/%.0f B, "
	       "release %.0f/%.0f B (request/reply)\n", placement_names[p],
	       p == P_SAME ? "server + clients on CPU 0" :
	       p == P_SPLIT ? "server CPU 0, clients CPU 1" : "unpinned",
	       nclients, nclients > 1 ? "s" : "", O.runs, O.seconds, sz.req_a, sz.rep_a,
	       sz.req_r, sz.rep_r);
	printf("    %-30s %9s %19s %8s %9s %s\n", "", "ops/s", "(min..max)", "RTT us",
	       "srv us/op", "echo/this");
	if (sdc.n)
		print_row("sessiond, libsessiond-client", &sdc, &echo, nclients);
	if (raw.n)
		print_row("sessiond, raw frames", &raw, &echo, nclients);
	if (echo.n)
		print_row("raw ping-pong (echo)", &echo, NULL, nclients);
	if (virt.n) {
		print_row("libvirt NumOfDomains", &virt, NULL, nclients);
		printf("    sessiond (%s) vs libvirt round trip: %.2fx as many ops/s (goal >= 10x)\n",
		       sdc.n ? "client lib" : "raw frames",
		       virt_med > 0 ? (sdc.n ? sdc_med : raw_med) / virt_med : 0);
	} else if (!virt_available) {
		printf("    libvirt NumOfDomains: SKIP (%s does not answer)\n", O.libvirt_uri);
	}
	struct stat3 so = stats(sdc.ops, sdc.n);
	printf("RESULT rpc %s c%d sdc_ops=%.0f sdc_min=%.0f sdc_max=%.0f raw_ops=%.0f echo_ops=%.0f "
	       "virt_ops=%.0f sdc_vs_echo=%.2f raw_vs_echo=%.2f sdc_vs_virt=%.2f sdc_srv_us=%.2f "
	       "rep_a=%.0f metrics=%s\n",
	       placement_names[p], nclients, sdc_med, so.min, so.max, raw_med, echo_med, virt_med,
	       paired_ratio(&sdc, &echo).med, paired_ratio(&raw, &echo).med,
	       virt_med > 0 ? sdc_med / virt_med : 0, stats(sdc.cpu, sdc.n).med, sz.rep_a,
	       O.metrics == NULL ? "off" : O.scrape_every > 0 ? "scraped" : "on");
}

/* ---- set-up and main ---------------------------------------------------- */

static void cleanup(void)
{
	char cmd[300];

	stop_scraper();
	stop_daemon();
	stop_echo();
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "rpc_bench: cannot remove %s\n", tmpdir);
	}
}

static void check_virt(void)
{
	virSetErrorFunc(NULL, silent);
	if (strcmp(O.libvirt_uri, "none") == 0)
		return;
	virConnectPtr vc = virConnectOpen(O.libvirt_uri);
	if (vc == NULL)
		return;
	virt_available = virConnectNumOfDomains(vc) >= 0;
	virConnectClose(vc);
}

static void default_sessiond(const char *argv0)
{
	static char path[PATH_MAX + 32];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n <= 0)
		snprintf(self, sizeof self, "%s", argv0);
	else
		self[n] = '\0';
	/* $BUILD/bench/rpc_bench -> $BUILD/sessiond */
	snprintf(path, sizeof path, "%s/../sessiond", dirname(self));
	O.sessiond = path;
}

static void usage(void)
{
	fputs("usage: rpc_bench [--sessiond PATH] [--clients 1,64] [--placement same,split,free]\n"
	      "                 [--seconds S] [--runs N] [--libvirt-uri URI|none]\n"
	      "                 [--libvirtd-pid PID] [--log-level info|warning]\n"
	      "                 [--modes sdc,raw,echo,virt]\n"
	      "                 [--metrics ADDRESS [--scrape-every S]]\n", stderr);
	exit(2);
}

static void parse_list_clients(const char *v)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof buf, "%s", v);
	O.nclients = 0;
	for (char *t = strtok_r(buf, ",", &save); t && O.nclients < 8; t = strtok_r(NULL, ",", &save)) {
		int n = atoi(t);
		if (n < 1 || n > MAX_CLIENTS)
			usage();
		O.clients[O.nclients++] = n;
	}
}

static void parse_list_placement(const char *v)
{
	memset(O.placement_on, 0, sizeof O.placement_on);
	for (int p = 0; p < P__COUNT; p++)
		if (strstr(v, placement_names[p]) != NULL)
			O.placement_on[p] = true;
}

static void parse(int argc, char **argv)
{
	default_sessiond(argv[0]);
	O.clients[0] = 1;
	O.clients[1] = 64;
	O.nclients = 2;
	O.placement_on[P_SAME] = O.placement_on[P_SPLIT] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--sessiond") == 0)
			O.sessiond = v;
		else if (strcmp(a, "--clients") == 0)
			parse_list_clients(v);
		else if (strcmp(a, "--placement") == 0)
			parse_list_placement(v);
		else if (strcmp(a, "--seconds") == 0)
			O.seconds = atof(v);
		else if (strcmp(a, "--runs") == 0)
			O.runs = atoi(v);
		else if (strcmp(a, "--libvirt-uri") == 0)
			O.libvirt_uri = v;
		else if (strcmp(a, "--libvirtd-pid") == 0)
			O.libvirtd_pid = atoi(v);
		else if (strcmp(a, "--log-level") == 0)
			O.log_level = v;
		else if (strcmp(a, "--metrics") == 0)
			O.metrics = v;
		else if (strcmp(a, "--scrape-every") == 0)
			O.scrape_every = atof(v);
		else if (strcmp(a, "--modes") == 0)
			for (int m = 0; m < M__COUNT; m++)
				O.mode_on[m] = strstr(v, mode_names[m]) != NULL;
		else
			usage();
	}
	if (O.runs < 1 || O.runs > MAX_RUNS || O.seconds <= 0)
		usage();
}

static void on_signal(int sig)
{
	(void)sig;
	if (daemon_pid > 0)
		kill(daemon_pid, SIGTERM);
	_exit(130);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (access(O.sessiond, X_OK) != 0)
		die("no sessiond at %s (build it, or pass --sessiond)", O.sessiond);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rpc-bench.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof sock_path, "%s/sessiond.sock", tmpdir);
	snprintf(echo_path, sizeof echo_path, "%s/echo.sock", tmpdir);
	start_daemon();
	start_scraper();
	prepare_session();
	start_echo();
	check_virt();
	printf("rpc_bench: sessiond %s (pid %d, log_level %s), session '%s' running (grace never); "
	       "libvirt %s%s; %ld CPUs\n", O.sessiond, (int)daemon_pid, O.log_level, SESSION,
	       O.libvirt_uri, virt_available ? "" : " (not answering: SKIP)",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("  ops/s: round trips per second, all clients (median of runs, min..max); RTT us: one\n"
	       "  client's round trip (clients / ops/s); srv us/op: server CPU time per op (all its\n"
	       "  threads, kernel included); echo/this: how many times more ops/s the echo made (median\n"
	       "  of the runs' ratios, each run's echo measured right after it; min..max)\n");
	for (int p = 0; p < P__COUNT; p++) {
		if (!O.placement_on[p])
			continue;
		for (int i = 0; i < O.nclients; i++)
			run_config((enum placement)p, O.clients[i]);
	}
	pin_process(daemon_pid, -1);
	if (O.libvirtd_pid > 0)
		pin_process(O.libvirtd_pid, -1);
	printf("\n  holds left on '%s' after the runs: %ld (expect 0)\n", SESSION, session_holds());
	if (O.metrics != NULL)
		printf("  metrics on %s; %ld scrapes of %ld bytes, %ld failed\n", O.metrics,
		       atomic_load(&scrapes), atomic_load(&scrape_bytes),
		       atomic_load(&scrape_failures));
	cleanup();
	return 0;
}
