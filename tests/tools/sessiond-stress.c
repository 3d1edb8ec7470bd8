/*
 * sessiond-stress.c — chaos from the outside against a running sessiond.
 *
 *   sessiond-stress --socket PATH --uri LIBVIRT_URI [--clients N] [--sessions K]
 *                   [--duration S | --ops N] [--kill-interval-ms M] [--grace S]
 *                   [--seed X] [--pool NAME] [--timeout S] [--settle S]
 *                   [--think-ms M] [--depth D] [--settings JSON]
 *                   [--libvirtd-log [HOST=]FILE]... [--host-kill HOST=DIR]...
 *                   [--host-kill-interval-ms M] [--json] [-v]
 *
 * It creates K sessions of its own (a tiny grace, crash policies
 * alternating terminate/restart, names "stress-<pid>-<tag>-<i>" so it never
 * touches anyone else's) and runs N client threads that churn them, each
 * on its own connection with up to D requests in flight (a restart backoff
 * parks a caller for seconds; pipelining keeps the churn going meanwhile):
 * token.acquire (waits for a boot), token.release and token.renew,
 * session.start, vm.info (a lease held while the daemon asks libvirt),
 * vm.console, session.get, session.stop (-32005 while held is fine),
 * session.reset of failed sessions, requests abandoned by closing the
 * connection before the reply, and connections dropped while they hold
 * tokens (the daemon must release them).  Hot sessions are always busy,
 * cold ones rest now and then, so idle stops race the next burst.
 * Meanwhile a killer thread with its own libvirt connection destroys the
 * sessions' domains behind the daemon's back, and a watcher connection
 * records every session.event.
 *
 * Then the churn stops, every connection closes, and it waits (bounded)
 * until every session is stopped or failed with nothing holding it, and
 * checks from outside:
 *   - every request got its reply within --timeout (the slowest is shown);
 *   - no connection broke and no reply was malformed or refused as invalid;
 *   - the events of each session follow the state machine, and every
 *     instance ends with exactly one "stopped" or "crashed" event (one that
 *     reached "running" included), nothing of it after that but "failed";
 *   - nothing holds a session once its clients are gone;
 *   - no domain and no scratch volume of the daemon's prefix is left in
 *     libvirt (daemon-wide when these are the only sessions root sees,
 *     else those of its own sessions), and after the deletes no persistent
 *     disk of its sessions;
 *   - the daemon still answers daemon.info on a new connection;
 *   - chaos happened: the killer destroyed running domains and instances
 *     crashed of it (a run without kills fails), and the killer's libvirt
 *     connection worked (a listing or a destroy failing for another reason
 *     than "the domain is already gone" fails);
 *   - teardowns, counted outside the daemon: an observer with a libvirt
 *     connection of its own (tests/harness/observer.h) sees every lifecycle
 *     event and lists the pool every 5 ms; each instance's domain must have
 *     started and stopped at most once and ended stopped, one that reached
 *     "running" must have been seen starting, its scratch volume once gone
 *     never listed again; with --libvirtd-log (the log of the libvirtd the
 *     daemon uses, with libvirt.storage at debug level) each scratch volume
 *     the daemon created must have been looked up for deletion exactly
 *     once (the daemon's delete is a lookup by name, then the delete), so a
 *     teardown run twice, or a scratch volume never deleted, fails.
 *
 * Several hosts: when daemon.info lists more than one host, the killer,
 * the observers and the leftover checks work on each host (its uri and
 * pool from daemon.info; --libvirtd-log HOST=FILE per host).  With
 * --host-kill HOST=DIR (the directory of that host's private libvirtd, as
 * tests/behave/lib-libvirtd.sh makes it: DIR/shell-pid, DIR/start.sh) a
 * host killer SIGKILLs such a libvirtd about every
 * --host-kill-interval-ms (default 3000), choosing one that runs a VM of
 * ours (waiting for one if none does), and starts it again 0.5 to 2.5 s
 * later, empty: every VM it ran is gone.  The daemon must answer what
 * waits for that host (-32004 is an answer), and reconcile each of its
 * sessions once when it is back.  What a killed libvirtd took with it
 * leaves no stop event and no log line: then a domain seen starting need
 * not be seen stopping and a scratch volume need not be deleted, but
 * never twice, every instance still ends exactly once in the daemon's
 * events, and nothing is left at the end.  Host kills must have happened,
 * taking VMs of ours along.  A new libvirtd is started with its socket
 * where only the killer looks, and moved into place once the host's new
 * observer is connected: the observer sees every domain started there.
 *
 * It prints a summary (or one JSON object with --json) and exits 0 when
 * every check passed, 1 when one failed, 2 on a usage or setup error.
 *
 * The operation mix is a function of --seed; the threads make the
 * interleaving differ between runs, so a rerun repeats the mix, not the
 * schedule.
 */
#include <errno.h>
#include <getopt.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/htab.h"
#include "../../common/timeutil.h"
#include "../../rpc/sessiond-client.h"
#include "../harness/observer.h"

#define MAX_TOKENS 4                        /* per client connection */
#define MAX_DEPTH 16                        /* requests in flight per client */
#define MAX_FAILURE_TEXTS 64                /* kept verbatim; all are counted */
#define POLL_S 0.05                         /* step of every bounded wait */

/* ---- options -------------------------------------------------------- */

struct opts {
	const char *socket, *uri, *pool;
	int clients, sessions;
	double duration;                    /* seconds of churn, or 0 with ops */
	long ops;                           /* operations in all, or 0 */
	int kill_ms;                        /* mean pause between kills; 0: none */
	double grace, timeout, settle;
	int think_ms;
	int depth;                          /* requests in flight per client */
	unsigned seed;
	json_t *settings;                   /* merged into every session.create */
	const char *libvirtd_log;           /* the libvirtd's debug log, or NULL */
	const char *logs[8][2];             /* --libvirtd-log HOST=FILE */
	const char *kills[8][2];            /* --host-kill HOST=DIR */
	int nlogs, nkills;
	int host_kill_ms;
	bool json, verbose;
};

static const char usage_text[] =
	"Usage: sessiond-stress --socket PATH --uri LIBVIRT_URI [OPTIONS]\n"
	"Churns a running sessiond from many connections while destroying its\n"
	"domains behind its back, then checks what it left.\n"
	"\n"
	"  --socket PATH          the daemon's control socket\n"
	"  --uri URI              libvirt URI for the killer and the checks (the daemon's)\n"
	"  --clients N            client connections, one thread each (default 8)\n"
	"  --sessions K           sessions to create and churn (default 4)\n"
	"  --duration S           seconds of churn (default 30)\n"
	"  --ops N                stop after N operations instead\n"
	"  --kill-interval-ms M   mean pause between outside kills; 0: no kills (default 50)\n"
	"  --grace S              the sessions' grace period (default 0.05)\n"
	"  --seed X               seed of the operation mix (default: time and pid)\n"
	"  --pool NAME            the daemon's storage pool (default: the one daemon.info names)\n"
	"  --timeout S            bound on every reply (default 30)\n"
	"  --settle S             bound on quiescence and deletes (default 60)\n"
	"  --think-ms M           mean pause between a client's operations (default 2)\n"
	"  --depth D              requests in flight per client, 1-16 (default 4)\n"
	"  --settings JSON        extra session.create settings, e.g. a kernel for QEMU\n"
	"  --libvirtd-log [HOST=]FILE  the libvirtd's log (libvirt.storage at debug):\n"
	"                         count each scratch volume's deletes (per host)\n"
	"  --host-kill HOST=DIR   kill host HOST's private libvirtd (DIR/shell-pid) now\n"
	"                         and then and start it again (DIR/start.sh)\n"
	"  --host-kill-interval-ms M  mean pause between host kills (default 3000)\n"
	"  --json                 print the summary as one JSON object\n"
	"  -v, --verbose          print every failure as it happens\n"
	"\n"
	"Exit status: 0 all checks passed, 1 a check failed, 2 usage or setup error.\n";

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sessiond-stress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	exit(2);
}

static double number_arg(const char *flag, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end != '\0' || !(x >= lo && x <= hi))
		usage_error("%s: expected a number between %g and %g, got '%s'", flag, lo, hi, v);
	return x;
}

static void settings_arg(struct opts *o, const char *v)
{
	json_error_t jerr;

	json_decref(o->settings);
	o->settings = json_loads(v, 0, &jerr);
	if (!json_is_object(o->settings))
		usage_error("--settings: expected a JSON object (%s)", jerr.text);
}

/* "NAME=VALUE" into the next of up to 8 pairs (pointing into arg). */
static bool pair_arg(const char *pairs[8][2], int *n, char *arg)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || *n >= 8)
		return false;
	*eq = '\0';
	pairs[*n][0] = arg;
	pairs[(*n)++][1] = eq + 1;
	return true;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "uri", required_argument, NULL, 'u' },
		{ "clients", required_argument, NULL, 'n' },
		{ "sessions", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },
		{ "kill-interval-ms", required_argument, NULL, 'K' },
		{ "grace", required_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pool", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "settle", required_argument, NULL, 'T' },
		{ "think-ms", required_argument, NULL, 'm' },
		{ "depth", required_argument, NULL, 'D' },
		{ "settings", required_argument, NULL, 'j' },
		{ "libvirtd-log", required_argument, NULL, 'L' },
		{ "host-kill", required_argument, NULL, 'H' },
		{ "host-kill-interval-ms", required_argument, NULL, 'I' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct opts){ .clients = 8, .sessions = 4, .kill_ms = 50, .host_kill_ms = 3000,
			    .grace = 0.05, .timeout = 30, .settle = 60, .think_ms = 2, .depth = 4,
			    .seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) };
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': o->socket = optarg; break;
		case 'u': o->uri = optarg; break;
		case 'n': o->clients = (int)number_arg("--clients", optarg, 1, 1024); break;
		case 'k': o->sessions = (int)number_arg("--sessions", optarg, 1, 64); break;
		case 'd': o->duration = number_arg("--duration", optarg, 0.1, 86400 * 7); break;
		case 'o': o->ops = (long)number_arg("--ops", optarg, 1, 1e12); break;
		case 'K': o->kill_ms = (int)number_arg("--kill-interval-ms", optarg, 0, 3.6e6); break;
		case 'g': o->grace = number_arg("--grace", optarg, 0, 3600); break;
		case 'S': o->seed = (unsigned)number_arg("--seed", optarg, 0, 4294967295.0); break;
		case 'p': o->pool = optarg; break;
		case 't': o->timeout = number_arg("--timeout", optarg, 0.1, 3600); break;
		case 'T': o->settle = number_arg("--settle", optarg, 0.1, 3600); break;
		case 'm': o->think_ms = (int)number_arg("--think-ms", optarg, 0, 60000); break;
		case 'D': o->depth = (int)number_arg("--depth", optarg, 1, MAX_DEPTH); break;
		case 'j': settings_arg(o, optarg); break;
		case 'L':
			if (strchr(optarg, '=') == NULL)
				o->libvirtd_log = optarg;
			else if (!pair_arg(o->logs, &o->nlogs, optarg))
				usage_error("--libvirtd-log: at most 8 of HOST=FILE");
			break;
		case 'H':
			if (!pair_arg(o->kills, &o->nkills, optarg))
				usage_error("--host-kill: expected HOST=DIR, at most 8");
			break;
		case 'I': o->host_kill_ms = (int)number_arg("--host-kill-interval-ms", optarg, 100, 3.6e6); break;
		case 'J': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->socket == NULL || o->uri == NULL)
		usage_error("--socket and --uri are required");
	if (o->duration > 0 && o->ops > 0)
		usage_error("--duration and --ops exclude each other");
	if (o->duration == 0 && o->ops == 0)
		o->duration = 30;
}

/* ---- what is counted ------------------------------------------------ */

enum op {
	OP_ACQUIRE, OP_RELEASE, OP_RENEW, OP_START, OP_INFO, OP_CONSOLE, OP_GET, OP_STOP,
	OP_FORCE_STOP, OP_RESET, OP_ABANDON, OP_DROP, OP_CREATE, OP_DELETE, OP_LIST, OP_WATCH, OP_DAEMON_INFO, OP__COUNT
};

static const char *const op_names[OP__COUNT] = {
	"token.acquire", "token.release", "token.renew", "session.start", "vm.info",
	"vm.console", "session.get", "session.stop", "session.stop/force", "session.reset",
	"abandon", "drop",
	"session.create", "session.delete", "session.list", "session.watch", "daemon.info",
};

/* The daemon's codes, then the client library's, then anything else. */
static const struct {
	int code;
	const char *name;
} codes[] = {
	{ RPC_ERR_PARSE, "parse" }, { RPC_ERR_INVALID_REQUEST, "invalid-request" },
	{ RPC_ERR_NO_METHOD, "no-method" }, { RPC_ERR_INVALID_PARAMS, "invalid-params" },
	{ RPC_ERR_INTERNAL, "internal" }, { RPC_ERR_NOT_FOUND, "not-found" },
	{ RPC_ERR_FORBIDDEN, "forbidden" }, { RPC_ERR_SESSION_FAILED, "session-failed" },
	{ RPC_ERR_START_FAILED, "start-failed" }, { RPC_ERR_CONFLICT, "conflict" },
	{ RPC_ERR_LIMIT, "limit" }, { SDC_ERR_IO, "io" }, { SDC_ERR_TIMEOUT, "timeout" },
	{ SDC_ERR_PROTOCOL, "protocol" }, { 0, "other" },
};
#define NCODES (sizeof codes / sizeof codes[0])

static size_t code_slot(int code)
{
	for (size_t i = 0; i + 1 < NCODES; i++)
		if (codes[i].code == code)
			return i;
	return NCODES - 1;
}

/* Codes that mean the daemon or the transport broke a promise, whatever
 * the chaos: this program only sends valid requests for its own sessions. */
static bool code_is_broken(int code)
{
	switch (code) {
	case RPC_ERR_PARSE: case RPC_ERR_INVALID_REQUEST: case RPC_ERR_NO_METHOD:
	case RPC_ERR_INVALID_PARAMS: case RPC_ERR_FORBIDDEN:
	case SDC_ERR_IO: case SDC_ERR_PROTOCOL:
		return true;
	default:
		return false;
	}
}

struct op_stats {
	long calls, ok;
	long errs[NCODES];
};

/* One per thread that talks to the daemon; summed at the end. */
struct stats {
	struct op_stats op[OP__COUNT];
	long revoked;                       /* token.revoked notifications */
	long sent;                          /* requests written */
	long abandoned;                     /* requests left behind by a close */
	double slowest_s;
	enum op slowest_op;
	char slowest_session[72];
};

/* The checks, each reported ok or with its failures. */
enum check {
	C_REPLY, C_CONN, C_AGREE, C_ORDER, C_END, C_SETTLE, C_DOMAINS, C_VOLUMES, C_DISKS,
	C_DELETE, C_ALIVE, C_KILLER, C_CHAOS, C_OBSERVER, C_OBSERVED, C_DELETES, C__COUNT
};

static const char *const check_names[C__COUNT] = {
	"every request answered within the bound",
	"no connection lost, no malformed or invalid exchange",
	"replies agree with the state machine",
	"events follow the state machine",
	"every instance ended exactly once",
	"sessions settled: stopped or failed, nothing held",
	"no domain of the daemon's prefix left in libvirt",
	"no scratch volume of the daemon's prefix left in the pool",
	"no persistent disk left after delete",
	"every session deleted",
	"daemon alive: daemon.info answers",
	"the killer's libvirt connection worked",
	"chaos happened: running domains killed, instances crashed of it",
	"the observer's libvirt connection worked",
	"observer: every domain started and stopped at most once, scratch never back",
	"each scratch volume deleted exactly once (libvirtd's log)",
};

/* ---- the shared run ------------------------------------------------- */

/* One of this program's sessions; the watcher fills the second part. */
struct sess {
	char name[65];
	char id[37];
	char dom_prefix[64];                /* "<daemon prefix>-<id 8 hex>-" */
	const char *policy;
	bool created;
	int last_state;                     /* enum st, -1 before "created" */
	bool deleted;
};

/* An instance as the watcher saw it (and the killer, for "killed"). */
struct inst {
	struct htab_node node;
	char id[37];
	int sess;
	int starting, running, ends;
	char end[12];
	bool killed;
	long kills_at_start, kills_at_end;  /* host_kills_begun() at those events */
};

struct run {
	struct opts o;
	char prefix[32];                    /* the daemon's: "sd-1a2b3c4d" */
	char pool[256];                     /* its pool, from daemon.info */
	char tag[48];                       /* "stress-<pid>-<hex>-" */
	struct sess *sess;
	int nsess;
	uid_t uid;
	double t0, deadline;
	double churn_s, finish_s;           /* the churn; its end (replies awaited) */
	_Atomic int stop_churn, stop_killer, stop_watch, clients_done;
	_Atomic long ops_begun, calls;
	_Atomic long kills, kill_misses, kill_idle;

	pthread_mutex_t lock;               /* the watcher's records, samples */
	struct htab instances;
	long ninst;
	long events[16];                    /* by event kind */
	json_t *stop_reasons;               /* "stopping" events by reason */
	char *samples[OP__COUNT][NCODES];   /* the first message of each outcome */

	/* Apart, since a failure is often found with R.lock held. */
	pthread_mutex_t fail_lock;
	long failures[C__COUNT];
	char *failure_text[MAX_FAILURE_TEXTS];
	int nfailure_text;
	struct stats total;
	bool strict;                        /* daemon-wide leftovers checks */

	struct host_rt {
		char name[72], uri[1024], pool[256];
		const char *log;                /* its libvirtd's log, or NULL */
		const char *dir;                /* --host-kill: its libvirtd's directory */
		struct observer *ob;            /* teardowns seen from outside */
		virConnectPtr kconn;            /* the killer's, and the checks' */
		_Atomic int down;               /* killed, not started again yet */
		unsigned kconn_epoch;           /* the kill generation kconn was opened in */
		_Atomic unsigned killed;        /* times killed */
	} hosts[8];
	int nh;
	pthread_mutex_t host_lock;          /* a host's ob and kconn while replaced */
	json_t *seen_before;                /* what observers of killed hosts saw */
	_Atomic long host_kills;
	_Atomic long vms_taken;             /* ours running on a host as it was killed */
	long found_gone;                    /* "crashed" of VMs a host's return found gone */
	long audited;                       /* instances the observer audit checked */
	long must_show;                     /* of them, reached running with no host kill */
	long obs_events, obs_polls, obs_poll_errors;
	long log_created, log_deletes;      /* scratch volumes in libvirtd's log */
	bool log_read;
};

static struct run R;

static void fail(enum check c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a failed check; the first MAX_FAILURE_TEXTS say what happened. */
static void fail(enum check c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&R.fail_lock);
	R.failures[c]++;
	if (R.nfailure_text < MAX_FAILURE_TEXTS)
		R.failure_text[R.nfailure_text++] = strdup(buf);
	pthread_mutex_unlock(&R.fail_lock);
	if (R.o.verbose)
		fprintf(stderr, "sessiond-stress: FAIL [%.1f s] %s\n", mono_now() - R.t0, buf);
}

static long failures_total(void)
{
	long n = 0;

	pthread_mutex_lock(&R.fail_lock);
	for (int c = 0; c < C__COUNT; c++)
		n += R.failures[c];
	pthread_mutex_unlock(&R.fail_lock);
	return n;
}

static long instances_seen(void)
{
	pthread_mutex_lock(&R.lock);
	long n = R.ninst;
	pthread_mutex_unlock(&R.lock);
	return n;
}

static unsigned rnd(unsigned *state)
{
	unsigned x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x ? x : 1;
	return *state;
}

/* Sleeps up to seconds, in short steps so a stop flag is noticed soon. */
static void nap(double seconds, _Atomic int *quit)
{
	double end = mono_now() + seconds;

	while (!(quit != NULL && atomic_load(quit))) {
		double left = end - mono_now();
		if (left <= 0)
			break;
		struct timespec ts = { 0, (long)((left < 0.1 ? left : 0.1) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static bool has_prefix(const char *s, const char *p)
{
	return s != NULL && strncmp(s, p, strlen(p)) == 0;
}

static int session_index(const char *name)
{
	for (int i = 0; name != NULL && i < R.nsess; i++)
		if (strcmp(R.sess[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- a connection with bounded calls -------------------------------- */

struct sess;

/* A request sent and not yet answered. */
struct pending {
	long id;
	enum op op;
	struct sess *s;                     /* or NULL */
	double sent;                        /* monotonic */
};

/* A token this client holds. */
struct held {
	char id[64];
	struct sess *s;
};

struct client {
	int idx;                            /* -1: the control connection */
	struct sdc *c;
	unsigned rng;
	struct held tokens[MAX_TOKENS];
	int ntokens;
	struct pending inflight[MAX_DEPTH];
	int ninflight;
	bool dead;                          /* cannot reconnect: stops churning */
	struct stats st;
	pthread_t thread;
};

/* Forgets token i: the last one takes its place. */
static void token_forget(struct client *cl, int i)
{
	cl->ntokens--;
	if (i != cl->ntokens)
		cl->tokens[i] = cl->tokens[cl->ntokens];
}

/* The daemon revoked a token (forced stop, failed session): forget it. */
static void client_notify(const char *method, json_t *params, void *arg)
{
	struct client *cl = arg;
	const char *id = json_string_value(json_object_get(params, "token"));

	if (strcmp(method, RPC_NOTIFY_TOKEN_REVOKED) != 0 || id == NULL)
		return;
	cl->st.revoked++;
	for (int i = 0; i < cl->ntokens; i++) {
		if (strcmp(cl->tokens[i].id, id) == 0) {
			token_forget(cl, i);
			break;
		}
	}
}

static int client_connect(struct client *cl)
{
	struct sdc_error err;

	cl->c = sdc_connect(R.o.socket, &err);
	if (cl->c == NULL) {
		fail(C_CONN, "client %d: %s", cl->idx, err.message);
		cl->dead = true;
		return -1;
	}
	sdc_set_notify(cl->c, client_notify, cl);
	return 0;
}

/* Closes without releasing anything or waiting for what is in flight:
 * the daemon owns the cleanup. */
static void client_drop(struct client *cl)
{
	sdc_close(cl->c);
	cl->c = NULL;
	cl->ntokens = 0;
	cl->st.abandoned += cl->ninflight;
	cl->ninflight = 0;
}

static void record_sample(enum op op, size_t slot, const char *msg)
{
	pthread_mutex_lock(&R.lock);
	if (R.samples[op][slot] == NULL)
		R.samples[op][slot] = strdup(msg);
	pthread_mutex_unlock(&R.lock);
}

static void record_outcome(struct client *cl, enum op op, const char *session, int rc,
			   const struct sdc_error *err, double took)
{
	struct op_stats *os = &cl->st.op[op];

	os->calls++;
	atomic_fetch_add(&R.calls, 1);
	if (took > cl->st.slowest_s) {
		cl->st.slowest_s = took;
		cl->st.slowest_op = op;
		snprintf(cl->st.slowest_session, sizeof cl->st.slowest_session, "%s",
			 session ? session : "-");
	}
	if (rc == 0) {
		os->ok++;
		return;
	}
	size_t slot = code_slot(err->code);
	os->errs[slot]++;
	record_sample(op, slot, err->message);
	if (err->code == SDC_ERR_TIMEOUT)
		fail(C_REPLY, "%s %s: no reply within %g s (client %d)", op_names[op],
		     session ? session : "", R.o.timeout, cl->idx);
	else if (code_is_broken(err->code))
		fail(C_CONN, "%s %s: %d %s (client %d)", op_names[op], session ? session : "",
		     err->code, err->message, cl->idx);
}

/* One request with a bound on its reply.  A connection that timed out or
 * broke is replaced: its late replies would only confuse the next call. */
static int call(struct client *cl, enum op op, const char *method, const char *session,
		json_t *params, json_t **result, struct sdc_error *err)
{
	double t0 = mono_now();
	long id;
	int rc;

	if (result != NULL)
		*result = NULL;
	if (cl->c == NULL && client_connect(cl) < 0) {
		json_decref(params);
		err->code = SDC_ERR_IO;
		snprintf(err->message, sizeof err->message, "not connected");
		return -1;
	}
	id = sdc_send(cl->c, method, params, err);
	cl->st.sent += id > 0;
	rc = id < 0 ? -1 : sdc_wait(cl->c, id, (int)(R.o.timeout * 1000), result, err);
	record_outcome(cl, op, session, rc, err, mono_now() - t0);
	if (rc < 0 && (err->code == SDC_ERR_TIMEOUT || err->code == SDC_ERR_IO ||
		       err->code == SDC_ERR_PROTOCOL)) {
		client_drop(cl);
		client_connect(cl);
	}
	return rc;
}

static json_t *named(const char *name)
{
	return json_pack("{s:s}", "name", name);
}

/* ---- the watcher: every session.event of our sessions --------------- */

enum st { ST_STOPPED, ST_STARTING, ST_RUNNING, ST_STOPPING, ST_FAILED, ST__COUNT };

static const char *const st_names[ST__COUNT] = {
	"stopped", "starting", "running", "stopping", "failed"
};

/* The documented state machine (session.h), as seen from outside. */
static const bool legal[ST__COUNT][ST__COUNT] = {
	[ST_STOPPED] = { [ST_STARTING] = true },
	[ST_STARTING] = { [ST_RUNNING] = true, [ST_STOPPING] = true },
	[ST_RUNNING] = { [ST_STOPPING] = true },
	[ST_STOPPING] = { [ST_STOPPED] = true, [ST_FAILED] = true },
	[ST_FAILED] = { [ST_STOPPED] = true },
};

/* Each event and the states it may report (a mask of 1 << enum st). */
static const struct {
	const char *name;
	unsigned states;
} event_kinds[] = {
	{ RPC_EV_CREATED, 1u << ST_STOPPED },
	{ RPC_EV_STARTING, 1u << ST_STARTING },
	{ RPC_EV_RUNNING, 1u << ST_RUNNING },
	{ RPC_EV_IDLE, 1u << ST_RUNNING },
	{ RPC_EV_BUSY, 1u << ST_RUNNING },
	{ RPC_EV_STOPPING, 1u << ST_STOPPING },
	{ RPC_EV_STOPPED, 1u << ST_STOPPED },
	{ RPC_EV_CRASHED, 1u << ST_STOPPED | 1u << ST_FAILED },
	{ RPC_EV_FAILED, 1u << ST_FAILED },
	{ RPC_EV_RESET, 1u << ST_STOPPED },
	{ RPC_EV_DELETED, (1u << ST__COUNT) - 1 },
};
#define NEVENTS (sizeof event_kinds / sizeof event_kinds[0])

static int event_kind(const char *name)
{
	for (size_t i = 0; name != NULL && i < NEVENTS; i++)
		if (strcmp(event_kinds[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int state_index(const char *name)
{
	for (int i = 0; name != NULL && i < ST__COUNT; i++)
		if (strcmp(st_names[i], name) == 0)
			return i;
	return -1;
}

/* Under R.lock: the record of an instance, made on first sight. */
static struct inst *inst_get(const char *id, int sess)
{
	struct htab_node *n = htab_find(&R.instances, id);
	struct inst *in;

	if (n != NULL)
		return htab_entry(n, struct inst, node);
	in = calloc(1, sizeof *in);
	if (in == NULL) {
		fputs("sessiond-stress: out of memory\n", stderr);
		exit(2);
	}
	snprintf(in->id, sizeof in->id, "%s", id);
	in->sess = sess;
	htab_insert(&R.instances, &in->node, in->id);
	R.ninst++;
	return in;
}

/* Under R.lock: the session's state moves only along the documented edges,
 * and each event reports a state it may. */
static void track_state(struct sess *s, const char *event, int kind, int state)
{
	if (state < 0 || (kind >= 0 && !(event_kinds[kind].states & (1u << state)))) {
		fail(C_ORDER, "%s: event %s with state %s", s->name, event,
		     state < 0 ? "?" : st_names[state]);
		return;
	}
	if (s->last_state >= 0 && s->last_state != state &&
	    !legal[s->last_state][state])
		fail(C_ORDER, "%s: %s -> %s (event %s) is not a legal transition", s->name,
		     st_names[s->last_state], st_names[state], event);
	s->last_state = state;
	if (kind >= 0 && strcmp(event, RPC_EV_DELETED) == 0)
		s->deleted = true;
}

/* Host kills begun (each host's count goes up before its signal), so an
 * instance whose life saw a kill sees this change. */
static long host_kills_begun(void)
{
	long n = 0;

	for (int i = 0; i < R.nh; i++)
		n += (long)atomic_load(&R.hosts[i].killed);
	return n;
}

/* Under R.lock: starting, [running], [stopping], then exactly one end;
 * after the end only "failed" (the terminate policy's second event). */
static void track_instance(struct sess *s, struct inst *in, const char *event)
{
	bool end = strcmp(event, RPC_EV_STOPPED) == 0 || strcmp(event, RPC_EV_CRASHED) == 0;

	if (in->ends > 0 && !end && strcmp(event, RPC_EV_FAILED) != 0)
		fail(C_ORDER, "%s: instance %s: event %s after its end (%s)", s->name, in->id,
		     event, in->end);
	if (strcmp(event, RPC_EV_STARTING) == 0) {
		in->kills_at_start = host_kills_begun();
		if (++in->starting > 1)
			fail(C_ORDER, "%s: instance %s started twice", s->name, in->id);
	} else if (strcmp(event, RPC_EV_RUNNING) == 0) {
		if (in->starting == 0 || ++in->running > 1)
			fail(C_ORDER, "%s: instance %s: running without starting, or twice",
			     s->name, in->id);
	} else if (end) {
		if (++in->ends > 1)
			fail(C_END, "%s: instance %s ended twice (%s, then %s)", s->name, in->id,
			     in->end, event);
		else
			snprintf(in->end, sizeof in->end, "%s", event);
		in->kills_at_end = host_kills_begun();
	}
}

/* Under R.lock: which path stopped an instance (idle, requested, crashed,
 * deleted, start-failed), to show every path was exercised. */
static void count_reason(const char *reason)
{
	const char *key = reason ? reason : "?";
	json_int_t n = json_integer_value(json_object_get(R.stop_reasons, key));

	json_object_set_new(R.stop_reasons, key, json_integer(n + 1));
}

static void watch_notify(const char *method, json_t *p, void *arg)
{
	const char *event = json_string_value(json_object_get(p, "event"));
	const char *inst = json_string_value(json_object_get(p, "instance"));
	int k = session_index(json_string_value(json_object_get(p, "name")));
	int kind = event_kind(event);

	(void)arg;
	if (strcmp(method, RPC_NOTIFY_SESSION_EVENT) != 0 || k < 0 ||
	    json_integer_value(json_object_get(p, "owner_uid")) != (json_int_t)R.uid)
		return;
	pthread_mutex_lock(&R.lock);
	R.events[kind >= 0 ? kind : (int)NEVENTS]++;
	if (kind < 0)
		fail(C_ORDER, "%s: unknown event '%s'", R.sess[k].name, event ? event : "(none)");
	track_state(&R.sess[k], event ? event : "?", kind,
		    state_index(json_string_value(json_object_get(p, "state"))));
	if (inst != NULL && kind >= 0)
		track_instance(&R.sess[k], inst_get(inst, k), event);
	if (kind >= 0 && strcmp(event, RPC_EV_STOPPING) == 0)
		count_reason(json_string_value(json_object_get(p, "reason")));
	/* The detail the daemon gives a VM it found gone when its host came
	 * back (sessiond(8), HOST LOSS): a VM a killed libvirtd took along. */
	const char *detail = json_string_value(json_object_get(p, "detail"));
	if (kind >= 0 && strcmp(event, RPC_EV_CRASHED) == 0 && detail != NULL &&
	    strcmp(detail, "hypervisor failed") == 0)
		R.found_gone++;
	pthread_mutex_unlock(&R.lock);
}

struct watcher {
	struct client cl;
	pthread_t thread;
};

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	struct sdc_error err;

	while (!atomic_load(&R.stop_watch)) {
		if (sdc_poll(w->cl.c, 100, &err) < 0) {
			fail(C_CONN, "watcher: %s", err.message);
			break;
		}
	}
	return NULL;
}

/* Subscribes before any session exists, so no event is missed. */
static int watcher_start(struct watcher *w)
{
	struct sdc_error err;

	w->cl.idx = -2;
	if (client_connect(&w->cl) < 0)
		return -1;
	sdc_set_notify(w->cl.c, watch_notify, NULL);
	if (call(&w->cl, OP_WATCH, RPC_SESSION_WATCH, NULL, NULL, NULL, &err) < 0) {
		fprintf(stderr, "sessiond-stress: session.watch: %s\n", err.message);
		return -1;
	}
	return pthread_create(&w->thread, NULL, watcher_main, w) == 0 ? 0 : -1;
}

/* ---- the killer: destroys our domains behind the daemon's back ------- */

static void silent_error(void *user, virErrorPtr e)
{
	(void)user;
	(void)e;
}

static const char *virt_error(void)
{
	virErrorPtr e = virGetLastError();

	return e != NULL && e->message != NULL ? e->message : "unknown libvirt error";
}

/* The session a domain belongs to, from its name; -1 if not ours. */
static int domain_session(const char *name)
{
	for (int i = 0; name != NULL && i < R.nsess; i++)
		if (R.sess[i].created &&
		    strncmp(name, R.sess[i].dom_prefix, strlen(R.sess[i].dom_prefix)) == 0)
			return i;
	return -1;
}

static void mark_killed(const char *domain, int k)
{
	pthread_mutex_lock(&R.lock);
	inst_get(domain + strlen(R.sess[k].dom_prefix), k)->killed = true;
	pthread_mutex_unlock(&R.lock);
}

/* A destroy that failed because the domain went first (the daemon
 * stopped it meanwhile); any other failure means the killer kills nothing. */
static bool destroy_lost(void)
{
	virErrorPtr e = virGetLastError();

	return e != NULL && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID);
}

/* A reference to host h's connection for the killer and the checks, and
 * the kill generation it was opened in (for host_lost). */
static virConnectPtr host_conn(struct host_rt *h, unsigned *epoch)
{
	pthread_mutex_lock(&R.host_lock);
	virConnectPtr c = h->kconn;
	if (c != NULL)
		virConnectRef(c);
	*epoch = h->kconn_epoch;
	pthread_mutex_unlock(&R.host_lock);
	return c;
}

/* Whether a failure on a connection of generation epoch may be the host's
 * death: it is down now, or was killed since.  Asked after the call that
 * failed, since the host killer may strike between host_conn and the call
 * (seen: a listing that failed with EOF was taken for a broken killer). */
static bool host_lost(struct host_rt *h, unsigned epoch)
{
	return atomic_load(&h->down) || atomic_load(&h->killed) != epoch;
}

/* Lists the running domains of a host and destroys one of ours, if any
 * runs there. */
static void kill_one(struct host_rt *h, unsigned *rng)
{
	virDomainPtr *doms = NULL, mine[256];
	unsigned epoch;
	virConnectPtr conn = host_conn(h, &epoch);
	int n = conn == NULL ? -1 : virConnectListAllDomains(conn, &doms,
							      VIR_CONNECT_LIST_DOMAINS_ACTIVE), m = 0;

	if (n < 0) {
		bool dead = host_lost(h, epoch);
		if (!dead)
			fail(C_KILLER, "killer: list domains on %s: %s", h->name, virt_error());
		if (conn != NULL)
			virConnectClose(conn);
		nap(dead ? 0.05 : 1, &R.stop_killer);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (m < 256 && domain_session(virDomainGetName(doms[i])) >= 0)
			mine[m++] = doms[i];
		else
			virDomainFree(doms[i]);
	}
	free(doms);
	int pick = m > 0 ? (int)(rnd(rng) % (unsigned)m) : -1;
	if (m == 0)
		atomic_fetch_add(&R.kill_idle, 1);     /* none of ours was running */
	for (int i = 0; i < m; i++) {
		const char *name = virDomainGetName(mine[i]);
		if (i == pick && virDomainDestroy(mine[i]) == 0) {
			atomic_fetch_add(&R.kills, 1);
			mark_killed(name, domain_session(name));
		} else if (i == pick && destroy_lost()) {
			atomic_fetch_add(&R.kill_misses, 1);   /* gone before we got to it */
		} else if (i == pick && !host_lost(h, epoch)) {
			fail(C_KILLER, "killer: destroy %s: %s", name, virt_error());
		}
		virDomainFree(mine[i]);
	}
	virConnectClose(conn);
}

struct killer {
	unsigned rng;
	pthread_t thread, hosts;
};

/* Pauses uniformly in [0, 2M] ms (mean M) between kills, each on a host
 * chosen at random. */
static void *killer_main(void *arg)
{
	struct killer *k = arg;

	while (!atomic_load(&R.stop_killer)) {
		nap((rnd(&k->rng) % (2u * (unsigned)R.o.kill_ms + 1)) / 1000.0, &R.stop_killer);
		if (!atomic_load(&R.stop_killer))
			kill_one(&R.hosts[rnd(&k->rng) % (unsigned)R.nh], &k->rng);
	}
	return NULL;
}

/* ---- the host killer: a libvirtd dies and comes back, empty ------------- */

static pid_t host_pid(const struct host_rt *h)
{
	char path[4200];
	long pid = 0;

	snprintf(path, sizeof path, "%s/shell-pid", h->dir);
	FILE *f = fopen(path, "r");
	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* "DIR/start.sh hidden" in a child that keeps none of our descriptors (a
 * libvirtd holding a copy of a client socket would keep it open for the
 * daemon): the new libvirtd's socket is DIR/sock-new/libvirt-sock, which
 * the daemon does not know (tests/behave/lib-libvirtd.sh). */
static int run_start(const struct host_rt *h)
{
	char script[4200];
	int status;

	snprintf(script, sizeof script, "%s/start.sh", h->dir);
	pid_t pid = fork();
	if (pid == 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execl("/bin/sh", "sh", script, "hidden", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void merge_seen(const struct observer_inst *in, void *arg);

/* The daemon is back on a new libvirtd once it has made its pool there. */
static bool pool_back(virConnectPtr c, const char *pool)
{
	virStoragePoolPtr p = c != NULL ? virStoragePoolLookupByName(c, pool) : NULL;

	if (p != NULL)
		virStoragePoolFree(p);
	return p != NULL;
}

/* What a killed host's observer saw goes into R.seen_before.  A new
 * observer connects to the new libvirtd while only we know its socket
 * (hidden_uri), so it sees every domain the daemon starts there; then the
 * socket moves to where the daemon looks, and a new killer connection
 * takes its place once the daemon has its pool there again (bounded). */
static void host_reconnect(struct host_rt *h, const char *hidden_uri)
{
	struct observer_opts oo = { .uri = hidden_uri, .pool = h->pool, .prefix = R.prefix,
				    .poll_ms = 5, .pool_may_be_missing = true };
	char err[256], from[4200], to[4200];
	struct observer *ob = observer_new(&oo, err, sizeof err);

	snprintf(from, sizeof from, "%s/sock-new/libvirt-sock", h->dir);
	snprintf(to, sizeof to, "%s/sock/libvirt-sock", h->dir);
	if (rename(from, to) < 0)
		fail(C_CHAOS, "host killer: mv %s %s: %s", from, to, strerror(errno));
	virConnectPtr c = virConnectOpen(h->uri);
	for (int i = 0; i < 600 && c != NULL && !pool_back(c, h->pool); i++)
		nap(0.05, NULL);
	if (c == NULL || ob == NULL)
		fail(C_OBSERVER, "host %s is back, but: %s", h->name, ob == NULL ? err : virt_error());
	pthread_mutex_lock(&R.host_lock);
	struct observer *old = h->ob;
	virConnectPtr oldc = h->kconn;
	h->ob = ob;
	h->kconn = c;
	h->kconn_epoch = atomic_load(&h->killed);
	pthread_mutex_unlock(&R.host_lock);
	if (old != NULL) {
		observer_foreach(old, merge_seen, R.seen_before);
		observer_free(old);
	}
	if (oldc != NULL)
		virConnectClose(oldc);
}

static bool answers(const char *uri)
{
	virConnectPtr c = virConnectOpen(uri);

	if (c != NULL)
		virConnectClose(c);
	return c != NULL;
}

/* SIGKILL, a pause of 0.5 to 2.5 s, then a new libvirtd (an empty test
 * driver: every VM the old one ran is gone). */
static int host_kill_one(struct host_rt *h, unsigned *rng)
{
	pid_t pid = host_pid(h);

	/* Down before the signal: the killer's calls that fail from now on
	 * may fail for the host's death. */
	atomic_store(&h->down, 1);
	atomic_fetch_add(&h->killed, 1);
	if (pid <= 0 || kill(pid, SIGKILL) < 0) {
		fail(C_CHAOS, "host killer: no libvirtd to kill for %s (%s/shell-pid)", h->name, h->dir);
		return -1;
	}
	atomic_fetch_add(&R.host_kills, 1);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		nap(0.05, NULL);
	nap(0.5 + (rnd(rng) % 2000) / 1000.0, NULL);
	char hidden[4200];
	snprintf(hidden, sizeof hidden, "test+unix:///default?socket=%s/sock-new/libvirt-sock",
		 h->dir);
	if (run_start(h) < 0)
		fail(C_CHAOS, "host killer: %s/start.sh failed", h->dir);
	for (int i = 0; i < 300 && !answers(hidden); i++)
		nap(0.1, NULL);
	host_reconnect(h, hidden);
	atomic_store(&h->down, 0);
	return 0;
}

/* How many domains of ours host h runs now.  A host is killed only when
 * it runs some, so that every kill takes VMs with it. */
static int host_runs_ours(struct host_rt *h)
{
	virDomainPtr *doms = NULL;
	unsigned epoch;
	int ours = 0;
	virConnectPtr conn = host_conn(h, &epoch);
	int n = conn == NULL || host_lost(h, epoch) ? -1 : virConnectListAllDomains(conn, &doms,
								     VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	for (int i = 0; i < n; i++) {
		ours += domain_session(virDomainGetName(doms[i])) >= 0;
		virDomainFree(doms[i]);
	}
	free(doms);
	if (conn != NULL)
		virConnectClose(conn);
	return ours;
}

/* A host to kill (from a random one on): killable (--host-kill) and
 * running VMs of ours (*vms of them); -1 when there is none now. */
static int killable_host(unsigned *rng, int *vms)
{
	int pick = (int)(rnd(rng) % (unsigned)R.nh);

	for (int tries = 0; tries < R.nh; tries++, pick = (pick + 1) % R.nh)
		if (R.hosts[pick].dir != NULL && (*vms = host_runs_ours(&R.hosts[pick])) > 0)
			return pick;
	return -1;
}

static void *host_killer_main(void *arg)
{
	struct killer *k = arg;
	unsigned rng = k->rng ^ 0x85ebca6bu;
	int ms = R.o.host_kill_ms;

	while (!atomic_load(&R.stop_killer)) {
		nap((rnd(&rng) % (2u * (unsigned)ms + 1)) / 1000.0, &R.stop_killer);
		if (atomic_load(&R.stop_killer))
			break;
		int pick, vms = 0;
		while ((pick = killable_host(&rng, &vms)) < 0 && !atomic_load(&R.stop_killer))
			nap(0.1, &R.stop_killer);
		if (pick >= 0 && host_kill_one(&R.hosts[pick], &rng) == 0)
			atomic_fetch_add(&R.vms_taken, vms);
	}
	return NULL;
}

/* ---- the clients: pipelined operations ------------------------------ */

/* Every session but the first rests one period in three (periods of
 * 0.25 s, 0.5 s, ... so the rests drift against each other): its clients
 * let go, the grace runs out and the idle stop races the next burst and
 * the killer.  The first is never left alone: there only crashes and
 * requests stop the VM. */
static bool resting(const struct sess *s)
{
	long i = s - R.sess;
	double period = 0.25 * (double)(i + 1);

	return i > 0 && (long)((mono_now() - R.t0) / period) % 3 == 2;
}

/* Skewed: session i is picked half as often as session i - 1 (the last
 * two alike), so the first is always busy and the others less so; NULL
 * when the pick is resting. */
static struct sess *any_session(struct client *cl)
{
	unsigned x = rnd(&cl->rng);
	int i = 0;

	while (i < R.nsess - 1 && (x & 1u)) {
		x >>= 1;
		i++;
	}
	return resting(&R.sess[i]) ? NULL : &R.sess[i];
}

/* The token to give back: one on a resting session first. */
static int token_to_release(struct client *cl)
{
	for (int i = 0; i < cl->ntokens; i++)
		if (resting(cl->tokens[i].s))
			return i;
	return cl->ntokens > 0 ? (int)(rnd(&cl->rng) % (unsigned)cl->ntokens) : -1;
}

static void client_reconnect(struct client *cl)
{
	client_drop(cl);
	client_connect(cl);
}

static bool waits_on(const struct client *cl, const struct sess *s)
{
	for (int i = 0; i < cl->ninflight; i++)
		if (cl->inflight[i].s == s)
			return true;
	return false;
}

/* Sends one request and remembers it; its reply is reaped later.  A
 * request that cannot even be sent counts as an outcome at once.  At most
 * one request per session is in flight per client: a session in restart
 * backoff parks its callers for seconds, and must not fill the pipeline
 * while the other sessions could churn. */
static void issue(struct client *cl, enum op op, struct sess *s, const char *method,
		  json_t *params)
{
	struct sdc_error err;
	long id;

	if ((cl->c == NULL && client_connect(cl) < 0) || cl->ninflight == MAX_DEPTH ||
	    (s != NULL && waits_on(cl, s))) {
		json_decref(params);
		return;
	}
	id = sdc_send(cl->c, method, params, &err);
	if (id < 0) {
		record_outcome(cl, op, s ? s->name : NULL, -1, &err, 0);
		client_reconnect(cl);
		return;
	}
	cl->st.sent++;
	cl->inflight[cl->ninflight++] = (struct pending){ id, op, s, mono_now() };
}

/* A client that learns a session failed resets it (others may have). */
static void issue_reset(struct client *cl, struct sess *s)
{
	issue(cl, OP_RESET, s, RPC_SESSION_RESET, named(s->name));
}

static bool acquire_room(struct client *cl)
{
	int n = cl->ntokens;

	for (int i = 0; i < cl->ninflight; i++)
		n += cl->inflight[i].op == OP_ACQUIRE;
	return n < MAX_TOKENS;
}

static void op_release(struct client *cl);

/* Some tokens expire by TTL while held (one in sixteen also outlives its
 * connection), some are released, some dropped. */
static void op_acquire(struct client *cl)
{
	struct sess *s = any_session(cl);
	char reason[48];
	json_t *p;

	if (!acquire_room(cl)) {
		op_release(cl);
		return;
	}
	if (s == NULL)
		return;
	snprintf(reason, sizeof reason, "sessiond-stress client %d", cl->idx);
	p = json_pack("{s:s, s:s}", "name", s->name, "reason", reason);
	unsigned x = rnd(&cl->rng) % 16;
	if (x < 2)
		json_object_set_new(p, "ttl_s", json_real(0.05 + (rnd(&cl->rng) % 500) / 1000.0));
	/* Detached: outlives this connection, bounded by its TTL only. */
	if (x == 0)
		json_object_set_new(p, "detach", json_true());
	issue(cl, OP_ACQUIRE, s, RPC_TOKEN_ACQUIRE, p);
}

/* Releasing a token that expired or was revoked answers not-found: fine. */
static void op_release(struct client *cl)
{
	char tok[64];

	if (cl->ntokens == 0) {
		if (acquire_room(cl))
			op_acquire(cl);
		return;
	}
	int i = token_to_release(cl);
	memcpy(tok, cl->tokens[i].id, sizeof tok);
	token_forget(cl, i);
	issue(cl, OP_RELEASE, NULL, RPC_TOKEN_RELEASE, json_pack("{s:s}", "token", tok));
}

/* A renewal may give a token a TTL it did not have: it may then expire. */
static void op_renew(struct client *cl)
{
	if (cl->ntokens == 0)
		return;
	struct held *h = &cl->tokens[rnd(&cl->rng) % (unsigned)cl->ntokens];
	issue(cl, OP_RENEW, NULL, RPC_TOKEN_RENEW, json_pack("{s:s, s:f}", "token", h->id,
	      "ttl_s", 0.2 + (rnd(&cl->rng) % 800) / 1000.0));
}

/* session.start, vm.info (a lease while the daemon works), vm.console
 * and session.get. */
static void op_named(struct client *cl, enum op op, const char *method)
{
	struct sess *s = any_session(cl);

	if (s != NULL)
		issue(cl, op, s, method, named(s->name));
}

/* -32005 while something holds the session is the expected answer. */
static void op_stop(struct client *cl, bool force)
{
	struct sess *s = any_session(cl);

	if (s == NULL)
		return;
	issue(cl, force ? OP_FORCE_STOP : OP_STOP, s, RPC_SESSION_STOP,
	      json_pack("{s:s, s:b}", "name", s->name, "force", force));
}

/* A request the client walks away from: the daemon may be parking it for
 * a boot when the connection closes (with the rest in flight). */
static void op_abandon(struct client *cl)
{
	static const char *const methods[] = { RPC_TOKEN_ACQUIRE, RPC_VM_INFO, RPC_SESSION_START };
	struct sess *s = any_session(cl);
	struct sdc_error err;

	if (s == NULL || (cl->c == NULL && client_connect(cl) < 0))
		return;
	if (sdc_send(cl->c, methods[rnd(&cl->rng) % 3], named(s->name), &err) > 0) {
		cl->st.sent++;
		cl->st.abandoned++;
	}
	sdc_poll(cl->c, (int)(rnd(&cl->rng) % 4), &err);
	cl->st.op[OP_ABANDON].calls++;
	client_reconnect(cl);
}

/* A client killed while it holds tokens and waits for replies. */
static void op_drop(struct client *cl)
{
	cl->st.op[OP_DROP].calls++;
	client_reconnect(cl);
}

/* A session object agrees with itself: an instance exactly while a VM
 * is starting, running or stopping. */
static void check_session_view(const struct pending *p, json_t *view)
{
	const char *state = json_string_value(json_object_get(view, "state"));
	bool has_inst = json_is_object(json_object_get(view, "instance"));
	bool vm_state = state != NULL && (strcmp(state, "starting") == 0 ||
					  strcmp(state, "running") == 0 ||
					  strcmp(state, "stopping") == 0);

	if (state == NULL || has_inst != vm_state)
		fail(C_AGREE, "%s %s: state %s with%s an instance", op_names[p->op], p->s->name,
		     state ? state : "(none)", has_inst ? "" : "out");
}

/* A hold is granted only on a running VM: the reply of token.acquire and
 * session.start shows the session as it was at the grant. */
static void check_granted(const struct pending *p, json_t *view)
{
	const char *state = json_string_value(json_object_get(view, "state"));

	check_session_view(p, view);
	if (state == NULL || strcmp(state, "running") != 0)
		fail(C_AGREE, "%s %s granted while %s", op_names[p->op], p->s->name,
		     state ? state : "(no state)");
}

/* vm.info asks libvirt about the session's own domain. */
static void check_info(const struct pending *p, json_t *info)
{
	const char *name = json_string_value(json_object_get(info, "name"));

	if (!has_prefix(name, p->s->dom_prefix))
		fail(C_AGREE, "vm.info %s: domain %s is not the session's", p->s->name,
		     name ? name : "(none)");
}

/* What a reply teaches (a token to keep, a failed session to reset) and
 * whether it agrees with the state machine. */
static void on_reply(struct client *cl, const struct pending *p, int rc, json_t *r,
		     const struct sdc_error *err)
{
	if (rc < 0) {
		if (err->code == RPC_ERR_SESSION_FAILED && p->s != NULL)
			issue_reset(cl, p->s);
		return;
	}
	if (p->op == OP_ACQUIRE)
		check_granted(p, json_object_get(r, "session"));
	else if (p->op == OP_START)
		check_granted(p, r);
	else if (p->op == OP_INFO)
		check_info(p, r);
	else if (p->op == OP_GET || p->op == OP_STOP || p->op == OP_FORCE_STOP)
		check_session_view(p, r);
	if (p->op == OP_ACQUIRE) {
		const char *tok = json_string_value(json_object_get(r, "token"));
		if (tok != NULL && cl->ntokens < MAX_TOKENS) {
			snprintf(cl->tokens[cl->ntokens].id, sizeof cl->tokens[0].id, "%s", tok);
			cl->tokens[cl->ntokens++].s = p->s;
		}
	} else if (p->op == OP_GET) {
		const char *state = json_string_value(json_object_get(r, "state"));
		if (state != NULL && strcmp(state, "failed") == 0)
			issue_reset(cl, p->s);
	}
}

/* Takes every reply that has arrived.  A request past the bound is a hung
 * call: reported, and its connection replaced. */
static void reap(struct client *cl)
{
	struct sdc_error err;
	json_t *r;

	for (int i = 0; i < cl->ninflight;) {
		struct pending p = cl->inflight[i];
		int rc = sdc_wait(cl->c, p.id, 0, &r, &err);
		double took = mono_now() - p.sent;
		if (rc < 0 && err.code == SDC_ERR_TIMEOUT && took <= R.o.timeout) {
			i++;
			continue;
		}
		cl->inflight[i] = cl->inflight[--cl->ninflight];
		record_outcome(cl, p.op, p.s ? p.s->name : NULL, rc, &err, took);
		if (rc < 0 && err.code == SDC_ERR_TIMEOUT) {
			client_reconnect(cl);
			return;
		}
		on_reply(cl, &p, rc, r, &err);
		json_decref(r);
	}
}

/* Reads and reaps replies until `until` (monotonic), or until the
 * pipeline has room when need_room is set. */
static void pump(struct client *cl, double until, bool need_room)
{
	struct sdc_error err;

	while (cl->c != NULL) {
		double left = until - mono_now();
		if (left <= 0 || (need_room && cl->ninflight < R.o.depth))
			return;
		if (sdc_poll(cl->c, (int)(left * 1000) + 1, &err) < 0) {
			fail(C_CONN, "client %d: %s", cl->idx, err.message);
			client_reconnect(cl);
			return;
		}
		reap(cl);
	}
}

/* Weights of the mix; resets come from what the clients learn. */
static const struct {
	enum op op;
	unsigned weight;
} mix[] = {
	{ OP_ACQUIRE, 250 }, { OP_RELEASE, 210 }, { OP_RENEW, 20 }, { OP_START, 80 },
	{ OP_INFO, 150 }, { OP_CONSOLE, 20 }, { OP_GET, 90 }, { OP_STOP, 59 },
	{ OP_FORCE_STOP, 1 }, { OP_ABANDON, 70 }, { OP_DROP, 50 },
};

static enum op pick_op(struct client *cl)
{
	unsigned total = 0, x;

	for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
		total += mix[i].weight;
	x = rnd(&cl->rng) % total;
	for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
		if (x < mix[i].weight)
			return mix[i].op;
		x -= mix[i].weight;
	}
	return OP_GET;
}

/* A token on a resting session goes back before anything else. */
static void do_op(struct client *cl, enum op op)
{
	int t = token_to_release(cl);

	if (t >= 0 && resting(cl->tokens[t].s))
		op = OP_RELEASE;
	switch (op) {
	case OP_ACQUIRE: op_acquire(cl); break;
	case OP_RELEASE: op_release(cl); break;
	case OP_RENEW: op_renew(cl); break;
	case OP_CONSOLE: op_named(cl, OP_CONSOLE, RPC_VM_CONSOLE); break;
	case OP_START: op_named(cl, OP_START, RPC_SESSION_START); break;
	case OP_INFO: op_named(cl, OP_INFO, RPC_VM_INFO); break;
	case OP_STOP: op_stop(cl, false); break;
	case OP_FORCE_STOP: op_stop(cl, true); break;
	case OP_ABANDON: op_abandon(cl); break;
	case OP_DROP: op_drop(cl); break;
	default: op_named(cl, OP_GET, RPC_SESSION_GET); break;
	}
}

static bool churn_goes_on(void)
{
	if (atomic_load(&R.stop_churn))
		return false;
	if (R.o.ops > 0)
		return atomic_fetch_add(&R.ops_begun, 1) < R.o.ops;
	atomic_fetch_add(&R.ops_begun, 1);
	return mono_now() < R.deadline;
}

/* At the end half the clients await their replies (each within the bound)
 * and release their tokens; the other half just go. */
static void client_finish(struct client *cl)
{
	bool tidy = rnd(&cl->rng) % 2 == 0;

	while (tidy && cl->c != NULL && cl->ninflight > 0)
		pump(cl, mono_now() + 0.1, false);
	if (tidy && cl->c != NULL && cl->ntokens > 0) {
		while (cl->ntokens > 0 && cl->c != NULL) {
			op_release(cl);
			while (cl->c != NULL && cl->ninflight > 0)
				pump(cl, mono_now() + 0.1, false);
		}
	} else if (cl->ntokens > 0 || cl->ninflight > 0) {
		cl->st.op[OP_DROP].calls++;
	}
	client_drop(cl);
}

/* Issues an operation whenever the pipeline has room, reaping replies in
 * the pause between operations. */
static void *client_main(void *arg)
{
	struct client *cl = arg;

	if (client_connect(cl) == 0) {
		while (!cl->dead && churn_goes_on()) {
			pump(cl, mono_now() + R.o.timeout, true);
			do_op(cl, pick_op(cl));
			double think = R.o.think_ms > 0 ? (rnd(&cl->rng) %
				(2u * (unsigned)R.o.think_ms * 1000 + 1)) / 1e6 : 0;
			pump(cl, mono_now() + think, false);
		}
		client_finish(cl);
	}
	atomic_fetch_add(&R.clients_done, 1);
	return NULL;
}

/* ---- setup ---------------------------------------------------------- */

static struct host_rt *host_named(const char *name)
{
	for (int i = 0; i < R.nh; i++)
		if (strcmp(R.hosts[i].name, name) == 0)
			return &R.hosts[i];
	return NULL;
}

/* One host of --uri and --pool; or, when daemon.info lists several, each
 * with its uri and pool (--pool, if given, for all). */
static void learn_hosts(json_t *hosts)
{
	size_t i;
	json_t *h;

	R.nh = 1;
	snprintf(R.hosts[0].name, sizeof R.hosts[0].name, "%s",
		 json_array_size(hosts) == 1
		 ? json_string_value(json_object_get(json_array_get(hosts, 0), "name")) : "local");
	snprintf(R.hosts[0].uri, sizeof R.hosts[0].uri, "%s", R.o.uri);
	snprintf(R.hosts[0].pool, sizeof R.hosts[0].pool, "%s", R.o.pool);
	R.hosts[0].log = R.o.libvirtd_log;
	if (json_array_size(hosts) < 2)
		return;
	R.nh = 0;
	json_array_foreach(hosts, i, h) {
		if (R.nh == 8)
			break;
		struct host_rt *r = &R.hosts[R.nh++];
		const char *pool = json_string_value(json_object_get(h, "pool"));
		snprintf(r->name, sizeof r->name, "%s", json_string_value(json_object_get(h, "name")));
		snprintf(r->uri, sizeof r->uri, "%s", json_string_value(json_object_get(h, "uri")));
		snprintf(r->pool, sizeof r->pool, "%s", R.o.pool != R.pool || pool == NULL ? R.o.pool : pool);
		r->log = NULL;
	}
}

static int learn_daemon(struct client *ctl)
{
	struct sdc_error err;
	json_t *info;

	if (call(ctl, OP_DAEMON_INFO, RPC_DAEMON_INFO, NULL, NULL, &info, &err) < 0) {
		fprintf(stderr, "sessiond-stress: daemon.info: %s\n", err.message);
		return -1;
	}
	const char *id = json_string_value(json_object_get(info, "daemon_id"));
	if (id == NULL || strlen(id) < 8) {
		fprintf(stderr, "sessiond-stress: daemon.info has no daemon_id\n");
		json_decref(info);
		return -1;
	}
	/* The daemon's domain prefix (core.c): "sd-" and 8 hex of its id. */
	snprintf(R.prefix, sizeof R.prefix, "sd-%.8s", id);
	const char *pool = json_string_value(json_object_get(info, "pool"));
	if (R.o.pool == NULL && pool != NULL)
		snprintf(R.pool, sizeof R.pool, "%s", pool);
	if (R.o.pool == NULL)
		R.o.pool = R.pool;
	learn_hosts(json_object_get(info, "hosts"));
	json_decref(info);
	if (R.o.pool[0] == '\0') {
		fprintf(stderr, "sessiond-stress: daemon.info names no pool (give --pool)\n");
		return -1;
	}
	for (int i = 0; i < R.o.nkills; i++) {
		struct host_rt *h = host_named(R.o.kills[i][0]);
		if (h == NULL)
			return fprintf(stderr, "sessiond-stress: --host-kill: no host '%s'\n",
				       R.o.kills[i][0]), -1;
		h->dir = R.o.kills[i][1];
	}
	for (int i = 0; i < R.o.nlogs; i++) {
		struct host_rt *h = host_named(R.o.logs[i][0]);
		if (h == NULL)
			return fprintf(stderr, "sessiond-stress: --libvirtd-log: no host '%s'\n",
				       R.o.logs[i][0]), -1;
		h->log = R.o.logs[i][1];
	}
	return 0;
}

static json_t *create_params(int i)
{
	json_t *p = json_pack("{s:f, s:s}", "grace_s", R.o.grace,
			      "crash_policy", R.sess[i].policy);

	if (R.o.settings != NULL)
		json_object_update(p, R.o.settings);
	return p;
}

static int create_sessions(struct client *ctl)
{
	struct sdc_error err;
	json_t *r;

	for (int i = 0; i < R.nsess; i++) {
		struct sess *s = &R.sess[i];
		json_t *p = create_params(i);
		json_object_set_new(p, "name", json_string(s->name));
		if (call(ctl, OP_CREATE, RPC_SESSION_CREATE, s->name, p, &r, &err) < 0) {
			fprintf(stderr, "sessiond-stress: session.create %s: %s\n", s->name,
				err.message);
			return -1;
		}
		snprintf(s->id, sizeof s->id, "%s",
			 json_string_value(json_object_get(r, "id")) ?: "");
		snprintf(s->dom_prefix, sizeof s->dom_prefix, "%s-%.8s-", R.prefix, s->id);
		json_decref(r);
		s->created = true;
	}
	return 0;
}

static void init_sessions(void)
{
	unsigned tag = R.o.seed * 2654435761u ^ (unsigned)mono_now();

	R.nsess = R.o.sessions;
	R.sess = calloc((size_t)R.nsess, sizeof *R.sess);
	if (R.sess == NULL)
		exit(2);
	snprintf(R.tag, sizeof R.tag, "stress-%d-%04x-", (int)getpid(), tag & 0xffff);
	for (int i = 0; i < R.nsess; i++) {
		snprintf(R.sess[i].name, sizeof R.sess[i].name, "%s%d", R.tag, i);
		R.sess[i].policy = i % 2 ? "restart" : "terminate";
		R.sess[i].last_state = -1;
	}
}

/* ---- quiescence and the checks -------------------------------------- */

/* One session at rest: stopped or failed, no hold, nobody parked.  why
 * says what is still going on otherwise. */
static bool at_rest(json_t *s, char *why, size_t len)
{
	const char *state = json_string_value(json_object_get(s, "state"));
	size_t holds = json_array_size(json_object_get(s, "holds"));
	json_int_t waiting = json_integer_value(json_object_get(s, "waiting"));

	snprintf(why, len, "%s, %zu hold(s), %lld waiting", state ? state : "?", holds,
		 (long long)waiting);
	return state != NULL && (strcmp(state, "stopped") == 0 || strcmp(state, "failed") == 0) &&
	       holds == 0 && waiting == 0;
}

/* Waits (bounded) until every session is at rest; false on a timeout. */
static bool settle(struct client *ctl)
{
	double end = mono_now() + R.o.settle;
	char why[128] = "";
	const char *who = "";
	struct sdc_error err;

	for (;;) {
		bool all = true;
		for (int i = 0; i < R.nsess && all; i++) {
			json_t *r;
			if (call(ctl, OP_GET, RPC_SESSION_GET, R.sess[i].name,
				 named(R.sess[i].name), &r, &err) < 0) {
				snprintf(why, sizeof why, "%.100s", err.message);
				all = false;
			} else {
				all = at_rest(r, why, sizeof why);
				json_decref(r);
			}
			who = R.sess[i].name;
		}
		if (all)
			return true;
		if (mono_now() > end) {
			fail(C_SETTLE, "%s not at rest %g s after the churn: %s", who, R.o.settle, why);
			return false;
		}
		nap(POLL_S, NULL);
	}
}

/* Daemon-wide leftovers checks only when root sees nobody else's
 * sessions: another user's running VM would carry the same prefix. */
static void decide_scope(struct client *ctl)
{
	struct sdc_error err;
	json_t *r;
	size_t i;
	json_t *v;

	R.strict = false;
	if (R.uid != 0 || call(ctl, OP_LIST, RPC_SESSION_LIST, NULL, NULL, &r, &err) < 0)
		return;
	R.strict = true;
	json_array_foreach(json_object_get(r, "sessions"), i, v) {
		if (session_index(json_string_value(json_object_get(v, "name"))) < 0)
			R.strict = false;
	}
	json_decref(r);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void check_domains(virConnectPtr conn, const struct host_rt *h)
{
	virDomainPtr *doms = NULL;
	char pfx[40];
	int n = virConnectListAllDomains(conn, &doms, 0);

	if (n < 0) {
		fail(C_DOMAINS, "host %s: list domains: %s", h->name, virt_error());
		return;
	}
	snprintf(pfx, sizeof pfx, "%s-", R.prefix);
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		int k = domain_session(name);
		if (k >= 0)
			fail(C_DOMAINS, "domain %s of %s left behind on %s (%s)", name, R.sess[k].name,
			     h->name, virDomainIsActive(doms[i]) == 1 ? "running" : "defined");
		else if (R.strict && has_prefix(name, pfx))
			fail(C_DOMAINS, "domain %s of the daemon left behind", name);
		virDomainFree(doms[i]);
	}
	free(doms);
}

/* The pool's volume names (refreshed first); NULL with a failure. */
static json_t *pool_volumes(virConnectPtr conn, const struct host_rt *h, enum check c)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(conn, h->pool);
	virStorageVolPtr *vols = NULL;
	json_t *names;

	if (pool == NULL) {
		fail(c, "host %s: pool %s: %s", h->name, h->pool, virt_error());
		return NULL;
	}
	virStoragePoolRefresh(pool, 0);
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0)
		fail(c, "host %s: pool %s: list volumes: %s", h->name, h->pool, virt_error());
	names = n < 0 ? NULL : json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(names, json_string(virStorageVolGetName(vols[i]) ?: ""));
		virStorageVolFree(vols[i]);
	}
	free(vols);
	virStoragePoolFree(pool);
	return names;
}

/* Scratch and boot volumes are "<daemon prefix>-<instance id>-...". */
static void check_scratch(virConnectPtr conn, const struct host_rt *h)
{
	json_t *names = pool_volumes(conn, h, C_VOLUMES), *v;
	char pfx[40], id[37];
	size_t i;

	snprintf(pfx, sizeof pfx, "%s-", R.prefix);
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		if (!has_prefix(name, pfx) ||
		    !(ends_with(name, "-scratch.qcow2") || ends_with(name, "-boot.qcow2")))
			continue;
		snprintf(id, sizeof id, "%s", name + strlen(pfx));
		pthread_mutex_lock(&R.lock);
		bool ours = htab_find(&R.instances, id) != NULL;
		pthread_mutex_unlock(&R.lock);
		if (ours || R.strict)
			fail(C_VOLUMES, "volume %s left in pool %s of %s%s", name, h->pool, h->name,
			     ours ? " (an instance of ours)" : "");
	}
	json_decref(names);
}

/* After the deletes: "<daemon prefix>-<session id>-disk.qcow2" is gone. */
static void check_disks(virConnectPtr conn, const struct host_rt *h)
{
	json_t *names = pool_volumes(conn, h, C_DISKS), *v;
	char disk[128];
	size_t i;

	for (int k = 0; names != NULL && k < R.nsess; k++) {
		snprintf(disk, sizeof disk, "%s-%s-disk.qcow2", R.prefix, R.sess[k].id);
		json_array_foreach(names, i, v) {
			if (strcmp(json_string_value(v), disk) == 0)
				fail(C_DISKS, "persistent disk %s of deleted %s left", disk,
				     R.sess[k].name);
		}
	}
	json_decref(names);
}

/* Deletes what this program created; waits (bounded) for the watcher to
 * see every "deleted", so it has every event before the instance check. */
static void delete_sessions(struct client *ctl)
{
	struct sdc_error err;
	double end;

	for (int i = 0; i < R.nsess; i++) {
		if (R.sess[i].created &&
		    call(ctl, OP_DELETE, RPC_SESSION_DELETE, R.sess[i].name,
			 named(R.sess[i].name), NULL, &err) < 0)
			fail(C_DELETE, "session.delete %s: %s", R.sess[i].name, err.message);
	}
	end = mono_now() + R.o.settle;
	for (int i = 0; i < R.nsess; i++) {
		for (;;) {
			pthread_mutex_lock(&R.lock);
			bool seen = R.sess[i].deleted || !R.sess[i].created;
			pthread_mutex_unlock(&R.lock);
			if (seen)
				break;
			if (mono_now() > end) {
				fail(C_DELETE, "no 'deleted' event for %s", R.sess[i].name);
				break;
			}
			nap(POLL_S, NULL);
		}
	}
}

struct inst_tally {
	long running, ended, stopped, crashed, killed, killed_crashed;
};

static void tally_one(struct htab_node *n, void *arg)
{
	struct inst *in = htab_entry(n, struct inst, node);
	struct inst_tally *t = arg;

	t->running += in->running > 0;
	t->ended += in->ends > 0;
	t->stopped += strcmp(in->end, RPC_EV_STOPPED) == 0;
	t->crashed += strcmp(in->end, RPC_EV_CRASHED) == 0;
	t->killed += in->killed;
	t->killed_crashed += in->killed && strcmp(in->end, RPC_EV_CRASHED) == 0;
	/* Once the sessions are deleted, every instance must have ended. */
	if (in->ends == 0)
		fail(C_END, "%s: instance %s %s but never ended", R.sess[in->sess].name, in->id,
		     in->running ? "reached running" : in->starting ? "started" : "was seen");
}

static void free_one(struct htab_node *n, void *arg)
{
	(void)arg;
	htab_remove(&R.instances, n);
	free(htab_entry(n, struct inst, node));
}

static void add_stats(struct stats *into, const struct stats *s);

/* A new connection, so a daemon that still answers old ones but no longer
 * accepts is caught too. */
static void check_alive(void)
{
	struct client probe = { .idx = -3 };
	struct sdc_error err;
	json_t *r;

	if (client_connect(&probe) < 0) {
		fail(C_ALIVE, "cannot connect to %s after the run", R.o.socket);
		return;
	}
	if (call(&probe, OP_DAEMON_INFO, RPC_DAEMON_INFO, NULL, NULL, &r, &err) < 0)
		fail(C_ALIVE, "daemon.info: %s", err.message);
	json_decref(r);
	sdc_close(probe.c);
	add_stats(&R.total, &probe.st);
}

/* ---- teardowns seen from outside ------------------------------------- */

/* "<prefix>-<uuid>-scratch.qcow2" of the daemon: the uuid, or NULL. */
static const char *scratch_uuid(const char *name, char *id)
{
	size_t pl = strlen(R.prefix) + 1, n = name ? strlen(name) : 0;

	if (n != pl + 36 + strlen("-scratch.qcow2") || strncmp(name, R.prefix, pl - 1) != 0 ||
	    name[pl - 1] != '-' || strcmp(name + pl + 36, "-scratch.qcow2") != 0)
		return NULL;
	snprintf(id, 37, "%s", name + pl);
	return id;
}

static void count_in(json_t *counts, const char *key)
{
	json_object_set_new(counts, key,
			    json_integer(json_integer_value(json_object_get(counts, key)) + 1));
}

/* The libvirtd's debug log, per instance uuid of the daemon's scratch
 * volumes: created (virStorageVolCreateXML, whose XML on the next lines
 * names it) and looked up by name (virStorageVolLookupByName: the
 * daemon's delete looks a volume up, then deletes it; nothing else of the
 * daemon looks up a scratch volume by name).  -1 if it cannot be read. */
static int read_libvirtd_log(const char *path, json_t *created, json_t *deletes)
{
	FILE *f = fopen(path, "r");
	char line[4096], id[37];
	bool in_create = false;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		const char *p;
		bool stamped = line[0] >= '0' && line[0] <= '9' && strstr(line, ": debug : ") != NULL;
		if (stamped)
			in_create = strstr(line, " virStorageVolCreateXML:") != NULL;
		if (stamped && strstr(line, " virStorageVolLookupByName:") != NULL &&
		    (p = strstr(line, ", name=")) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (scratch_uuid(p + 7, id) != NULL)
				count_in(deletes, id);
		} else if (in_create && (p = strstr(line, "<name>")) != NULL) {
			char *q = strstr(p, "</name>");
			if (q != NULL) {
				*q = '\0';
				if (scratch_uuid(p + 6, id) != NULL)
					count_in(created, id);
			}
			in_create = false;
		}
	}
	fclose(f);
	return 0;
}

/* One observer's record into arg (an object by uuid), added to what
 * another observer (another host, or the same before a kill) saw. */
static void merge_seen(const struct observer_inst *in, void *arg)
{
	json_t *o = json_object_get(arg, in->id);

	if (o == NULL) {
		o = json_pack("{s:s, s:i, s:i, s:b, s:b}", "session", in->session, "started", 0,
			      "stopped", 0, "seen", 0, "back", 0);
		json_object_set_new(arg, in->id, o);
	}
	json_object_set_new(o, "started", json_integer(json_integer_value(json_object_get(o,
		"started")) + in->started));
	json_object_set_new(o, "stopped", json_integer(json_integer_value(json_object_get(o,
		"stopped")) + in->stopped));
	if (in->vol_seen)
		json_object_set_new(o, "seen", json_true());
	if (in->vol_back)
		json_object_set_new(o, "back", json_true());
}

/* Everything the observers saw, per instance uuid. */
static json_t *observed(void)
{
	json_t *all = json_deep_copy(R.seen_before);

	pthread_mutex_lock(&R.host_lock);
	for (int i = 0; i < R.nh; i++)
		if (R.hosts[i].ob != NULL)
			observer_foreach(R.hosts[i].ob, merge_seen, all);
	pthread_mutex_unlock(&R.host_lock);
	return all;
}

static bool observers_all_stopped(void)
{
	bool all = true;

	pthread_mutex_lock(&R.host_lock);
	for (int i = 0; i < R.nh; i++)
		all = all && (R.hosts[i].ob == NULL || observer_all_stopped(R.hosts[i].ob));
	pthread_mutex_unlock(&R.host_lock);
	return all;
}

static bool host_killing(void)
{
	return R.o.nkills > 0;
}

/* Instance uuid -> true for the instances this run may judge: those of
 * its sessions (the watcher's, and domains named with their ids), every
 * one of the daemon's when the scope is daemon-wide. */
static json_t *our_instances(json_t *seen)
{
	json_t *ours = json_object(), *v;
	const char *id;

	pthread_mutex_lock(&R.lock);
	for (int i = 0; i < R.nsess; i++) {
		json_object_foreach(seen, id, v) {
			const char *sid = json_string_value(json_object_get(v, "session"));
			if (R.strict || (sid != NULL && sid[0] != '\0' &&
					 strncmp(R.sess[i].id, sid, strlen(sid)) == 0))
				json_object_set(ours, id, json_true());
		}
	}
	pthread_mutex_unlock(&R.lock);
	return ours;
}

static void add_watched(struct htab_node *n, void *arg)
{
	json_object_set(arg, htab_entry(n, struct inst, node)->id, json_true());
}

/* Every instance that reached running was seen starting and every domain
 * seen starting was seen stopping. */
static bool observer_caught_up(json_t *reached)
{
	json_t *seen = observed(), *v;
	const char *id;
	bool all = observers_all_stopped();

	json_object_foreach(reached, id, v) {
		if (json_integer_value(json_object_get(json_object_get(seen, id), "started")) < 1)
			all = false;
	}
	json_decref(seen);
	return all;
}

/* Instances that reached running with no host killed in their life: a
 * libvirtd killed just after it created a domain takes it before the
 * observer hears of it (seen under ASan on a loaded machine), so only
 * these must have been seen starting. */
static void reached_one(struct htab_node *n, void *arg)
{
	struct inst *in = htab_entry(n, struct inst, node);
	long until = in->ends > 0 ? in->kills_at_end : host_kills_begun();

	if (in->running > 0 && until == in->kills_at_start)
		json_object_set(arg, in->id, json_true());
}

/* One instance of ours, after the deletes. */
static void audit_one(const char *id, json_t *o, bool reached, json_t *created, json_t *deletes)
{
	json_int_t up = json_integer_value(json_object_get(o, "started"));
	json_int_t down = json_integer_value(json_object_get(o, "stopped"));
	json_int_t made = json_integer_value(json_object_get(created, id));
	json_int_t gone = json_integer_value(json_object_get(deletes, id));

	/* A killed libvirtd takes its domains without a stop event. */
	if (up > 1 || down > up || (!host_killing() && down != up))
		fail(C_OBSERVED, "instance %s: its domain started %lld and stopped %lld times", id,
		     (long long)up, (long long)down);
	if (reached && up == 0)
		fail(C_OBSERVED, "instance %s reached running, but libvirt never showed its domain"
		     " start", id);
	if (json_is_true(json_object_get(o, "back")))
		fail(C_OBSERVED, "instance %s: its scratch volume was listed again after it was gone",
		     id);
	/* ... and its volumes: their delete may have nothing to look up. */
	if (R.log_read && (gone > 1 || (made > 0 && gone != 1 && !host_killing())))
		fail(C_DELETES, "instance %s: scratch volume created %lld, deleted %lld times", id,
		     (long long)made, (long long)gone);
}

/* After the deletes: every instance of ours is torn down.  The observer
 * (and libvirtd's log) tell whether each was torn down once. */
static void audit_outside(void)
{
	json_t *reached = json_object(), *watched = json_object(), *seen, *ours, *v;
	json_t *created = json_object(), *deletes = json_object();
	const char *id;
	char why[256];

	pthread_mutex_lock(&R.lock);
	htab_each(&R.instances, reached_one, reached);
	R.must_show = (long)json_object_size(reached);
	htab_each(&R.instances, add_watched, watched);
	pthread_mutex_unlock(&R.lock);
	for (double end = mono_now() + R.o.settle; !observer_caught_up(reached);) {
		if (mono_now() > end) {
			fail(C_OBSERVED, "the observer did not see every domain start and stop within"
			     " %g s", R.o.settle);
			break;
		}
		nap(POLL_S, NULL);
	}
	bool any_log = false;
	R.log_read = true;
	for (int i = 0; i < R.nh; i++) {
		observer_poll(R.hosts[i].ob);
		if (R.hosts[i].log == NULL)
			continue;
		any_log = true;
		if (read_libvirtd_log(R.hosts[i].log, created, deletes) < 0) {
			R.log_read = false;
			fail(C_DELETES, "cannot read %s", R.hosts[i].log);
		}
	}
	R.log_read = R.log_read && any_log;
	seen = observed();
	ours = our_instances(seen);
	json_object_update(ours, watched);
	json_object_foreach(ours, id, v) {
		audit_one(id, json_object_get(seen, id), json_object_get(reached, id) != NULL,
			  created, deletes);
		R.audited++;
		R.log_created += json_integer_value(json_object_get(created, id)) > 0;
		R.log_deletes += json_integer_value(json_object_get(deletes, id));
	}
	/* A log that names none of our scratch volumes is not the daemon's
	 * libvirtd's, or lacks the debug filter: it would prove nothing. */
	if (R.log_read && json_object_size(reached) > 0 && R.log_created == 0)
		fail(C_DELETES, "the libvirtd logs name no scratch volume of ours "
		     "(log_filters=\"1:libvirt.storage\"?)");
	why[0] = '\0';
	for (int i = 0; i < R.nh; i++) {
		long e, p, pe;
		char w[256];
		observer_health(R.hosts[i].ob, &e, &p, &pe, w, sizeof w);
		R.obs_events += e;
		R.obs_polls += p;
		R.obs_poll_errors += pe;
		if (pe > 0 && why[0] == '\0')
			snprintf(why, sizeof why, "%.60s: %.190s", R.hosts[i].name, w);
	}
	if (R.obs_polls == 0 || R.obs_poll_errors > 0 ||
	    (json_object_size(reached) > 0 && R.obs_events == 0))
		fail(C_OBSERVER, "observer: %ld events, %ld listings, %ld failed%s%s", R.obs_events,
		     R.obs_polls, R.obs_poll_errors, why[0] ? ": " : "", why);
	json_decref(reached);
	json_decref(watched);
	json_decref(seen);
	json_decref(ours);
	json_decref(created);
	json_decref(deletes);
}

/* The chaos the run exists for happened: kills, and crashes of them. */
static void require_chaos(const struct inst_tally *t)
{
	if (atomic_load(&R.kills) == 0 || t->killed_crashed == 0)
		fail(C_CHAOS, "%ld domains killed from outside, %ld instances crashed of it%s",
		     atomic_load(&R.kills), t->killed_crashed,
		     R.o.kill_ms == 0 ? " (--kill-interval-ms 0)" : "");
	/* Whether a VM a kill took is found gone at the host's return, or was
	 * already being stopped (the stop then fails on the lost connection
	 * and the instance ends "stopped"), is the race's to decide: the
	 * found-gone path has its deterministic test (hosts-one-down-others-
	 * serve).  Here: hosts were killed with VMs of ours on them. */
	if (host_killing() && (atomic_load(&R.host_kills) == 0 || atomic_load(&R.vms_taken) == 0))
		fail(C_CHAOS, "%ld hosts killed, with %ld VMs of ours on them "
		     "(--host-kill-interval-ms %d)", atomic_load(&R.host_kills),
		     atomic_load(&R.vms_taken), R.o.host_kill_ms);
}

/* ---- the summary ---------------------------------------------------- */

static void add_stats(struct stats *into, const struct stats *s)
{
	for (int op = 0; op < OP__COUNT; op++) {
		into->op[op].calls += s->op[op].calls;
		into->op[op].ok += s->op[op].ok;
		for (size_t c = 0; c < NCODES; c++)
			into->op[op].errs[c] += s->op[op].errs[c];
	}
	into->revoked += s->revoked;
	into->abandoned += s->abandoned;
	into->sent += s->sent;
	if (s->slowest_s > into->slowest_s) {
		into->slowest_s = s->slowest_s;
		into->slowest_op = s->slowest_op;
		memcpy(into->slowest_session, s->slowest_session, sizeof into->slowest_session);
	}
}

static long errors_with(size_t slot)
{
	long n = 0;

	for (int op = 0; op < OP__COUNT; op++)
		n += R.total.op[op].errs[slot];
	return n;
}

static json_t *summary_json(const struct inst_tally *t)
{
	json_t *ops = json_object(), *errs = json_object(), *checks = json_object();
	json_t *fails = json_array(), *events = json_object(), *samples = json_object();

	for (int op = 0; op < OP__COUNT; op++) {
		const struct op_stats *os = &R.total.op[op];
		json_t *e = json_object();
		if (os->calls == 0)
			continue;
		json_t *sm = json_object();
		for (size_t c = 0; c < NCODES; c++) {
			if (os->errs[c] > 0)
				json_object_set_new(e, codes[c].name, json_integer(os->errs[c]));
			if (R.samples[op][c] != NULL)
				json_object_set_new(sm, codes[c].name, json_string(R.samples[op][c]));
		}
		if (json_object_size(sm) > 0)
			json_object_set(samples, op_names[op], sm);
		json_decref(sm);
		json_object_set_new(ops, op_names[op], json_pack("{s:I, s:I, s:o}", "calls",
			(json_int_t)os->calls, "ok", (json_int_t)os->ok, "errors", e));
	}
	for (size_t c = 0; c < NCODES; c++)
		if (errors_with(c) > 0)
			json_object_set_new(errs, codes[c].name, json_integer(errors_with(c)));
	for (size_t e = 0; e < NEVENTS; e++)
		json_object_set_new(events, event_kinds[e].name, json_integer(R.events[e]));
	for (int c = 0; c < C__COUNT; c++)
		json_object_set_new(checks, check_names[c], json_integer(R.failures[c]));
	for (int i = 0; i < R.nfailure_text; i++)
		json_array_append_new(fails, json_string(R.failure_text[i]));
	return json_pack("{s:{s:s, s:s, s:s, s:i, s:i, s:i, s:f, s:I, s:i, s:f, s:I}, s:s, s:f,"
			 " s:f, s:o, s:o, s:o, s:{s:s, s:s, s:f}, s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:I},"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:I, s:o, s:b}",
		"config", "socket", R.o.socket, "uri", R.o.uri, "pool", R.o.pool,
		"clients", R.o.clients, "depth", R.o.depth, "sessions", R.nsess, "duration_s", R.o.duration,
		"ops", (json_int_t)R.o.ops, "kill_interval_ms", R.o.kill_ms, "grace_s", R.o.grace,
		"seed", (json_int_t)R.o.seed,
		"daemon_prefix", R.prefix, "churn_s", R.churn_s, "finish_s", R.finish_s,
		"operations", ops, "errors", errs, "error_samples", samples,
		"slowest", "method", op_names[R.total.slowest_op],
		"session", R.total.slowest_session, "seconds", R.total.slowest_s,
		"kills", "destroyed", (json_int_t)atomic_load(&R.kills),
		"missed", (json_int_t)atomic_load(&R.kill_misses),
		"rounds_none_running", (json_int_t)atomic_load(&R.kill_idle),
		"tokens_revoked", (json_int_t)R.total.revoked,
		"requests", "sent", (json_int_t)R.total.sent,
		"answered", (json_int_t)atomic_load(&R.calls),
		"abandoned", (json_int_t)R.total.abandoned,
		"instances", "seen", (json_int_t)R.ninst, "reached_running", (json_int_t)t->running,
		"ended", (json_int_t)t->ended, "stopped", (json_int_t)t->stopped,
		"crashed", (json_int_t)t->crashed, "killed", (json_int_t)t->killed,
		"killed_then_crashed", (json_int_t)t->killed_crashed,
		"events", events, "stop_reasons", json_incref(R.stop_reasons), "checks", checks, "failures_total", (json_int_t)failures_total(),
		"failures", fails, "passed", failures_total() == 0);
}

static void print_ops(void)
{
	long calls = 0, ok = 0;

	printf("operations              calls        ok  errors by code\n");
	for (int op = 0; op < OP__COUNT; op++) {
		const struct op_stats *os = &R.total.op[op];
		if (os->calls == 0)
			continue;
		printf("  %-20s %8ld  %8ld ", op_names[op], os->calls, os->ok);
		for (size_t c = 0; c < NCODES; c++)
			if (os->errs[c] > 0)
				printf(" %s %ld", codes[c].name, os->errs[c]);
		printf("\n");
		calls += os->calls;
		ok += os->ok;
	}
	printf("  %-20s %8ld  %8ld\n", "total", calls, ok);
	printf("errors by code:");
	for (size_t c = 0; c < NCODES; c++)
		if (errors_with(c) > 0)
			printf(" %s (%d) %ld", codes[c].name, codes[c].code, errors_with(c));
	printf("\nerror samples (first of each):\n");
	for (int op = 0; op < OP__COUNT; op++)
		for (size_t c = 0; c < NCODES; c++)
			if (R.samples[op][c] != NULL)
				printf("  %s %s: %s\n", op_names[op], codes[c].name, R.samples[op][c]);
}

static void print_summary(const struct inst_tally *t)
{
	printf("sessiond-stress: %.1f s of churn (+%.1f s for the last replies), %d clients"
	       " x %d in flight, %d sessions (terminate/restart alternating), seed %u\n",
	       R.churn_s, R.finish_s, R.o.clients, R.o.depth, R.nsess, R.o.seed);
	printf("  daemon prefix %s, libvirt %s, pool %s, leftovers checked %s\n", R.prefix,
	       R.o.uri, R.o.pool, R.strict ? "daemon-wide" : "for our sessions");
	print_ops();
	printf("slowest reply: %s %s in %.3f s (bound %g s)\n", op_names[R.total.slowest_op],
	       R.total.slowest_session, R.total.slowest_s, R.o.timeout);
	printf("kills: %ld domains destroyed, %ld missed (gone first), %ld rounds found none"
	       " running\n", atomic_load(&R.kills), atomic_load(&R.kill_misses),
	       atomic_load(&R.kill_idle));
	if (R.nh > 1 || host_killing())
		printf("hosts: %d; host kills (a libvirtd killed and started again, empty): %ld,"
		       " taking %ld VMs of ours; VMs found gone on a host's return: %ld\n", R.nh,
		       atomic_load(&R.host_kills), atomic_load(&R.vms_taken), R.found_gone);
	printf("requests: %ld sent, %ld answered, %ld abandoned by a close\n", R.total.sent,
	       atomic_load(&R.calls), R.total.abandoned);
	printf("tokens revoked (notifications): %ld\n", R.total.revoked);
	printf("instances: %ld seen, %ld reached running, %ld ended (stopped %ld, crashed %ld);"
	       " %ld killed, %ld of them ended crashed\n", R.ninst, t->running, t->ended,
	       t->stopped, t->crashed, t->killed, t->killed_crashed);
	printf("outside view: %ld instances audited (%ld reached running with no host kill in their"
	       " life: their start must show); observer %ld lifecycle events, %ld pool listings; ",
	       R.audited, R.must_show, R.obs_events, R.obs_polls);
	if (R.log_read)
		printf("libvirtd log: %ld scratch volumes created, %ld deletes\n", R.log_created,
		       R.log_deletes);
	else
		printf("deletes not counted (no --libvirtd-log)\n");
	printf("stops by reason:");
	const char *key;
	json_t *v;
	json_object_foreach(R.stop_reasons, key, v)
		printf(" %s %lld", key, (long long)json_integer_value(v));
	printf("\nevents:");
	for (size_t e = 0; e < NEVENTS; e++)
		printf(" %s %ld", event_kinds[e].name, R.events[e]);
	printf("\nchecks:\n");
	for (int c = 0; c < C__COUNT; c++) {
		printf("  %-4s %s", R.failures[c] ? "FAIL" : "ok", check_names[c]);
		if (R.failures[c])
			printf(" (%ld)", R.failures[c]);
		printf("\n");
	}
	printf("failures: %ld\n", failures_total());
	for (int i = 0; i < R.nfailure_text; i++)
		printf("  %s\n", R.failure_text[i]);
	if (failures_total() > R.nfailure_text)
		printf("  ... and %ld more\n", failures_total() - R.nfailure_text);
	printf("%s\n", failures_total() ? "FAILED" : "PASSED");
}

/* ---- main ----------------------------------------------------------- */

static void free_texts(void)
{
	for (int i = 0; i < R.nfailure_text; i++)
		free(R.failure_text[i]);
	for (int op = 0; op < OP__COUNT; op++)
		for (size_t c = 0; c < NCODES; c++)
			free(R.samples[op][c]);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&R.stop_churn, 1);
}

/* Runs the churn until the duration or the operations are spent (or
 * SIGINT), printing progress now and then. */
static void churn(struct client *clients, struct killer *k)
{
	double start = mono_now(), next_report = start + 10, stop;

	R.deadline = start + R.o.duration;
	if (R.o.kill_ms > 0)
		pthread_create(&k->thread, NULL, killer_main, k);
	if (host_killing())
		pthread_create(&k->hosts, NULL, host_killer_main, k);
	for (int i = 0; i < R.o.clients; i++)
		pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
	while (!atomic_load(&R.stop_churn) && atomic_load(&R.clients_done) < R.o.clients &&
	       (R.o.ops > 0 || mono_now() < R.deadline)) {
		nap(0.1, &R.stop_churn);
		if (!R.o.json && mono_now() > next_report) {
			fprintf(stderr, "sessiond-stress: [%.0f s] %ld calls, %ld kills, %ld host kills,"
				" %ld instances, %ld failures\n", mono_now() - R.t0,
				atomic_load(&R.calls), atomic_load(&R.kills),
				atomic_load(&R.host_kills), instances_seen(), failures_total());
			next_report += 10;
		}
	}
	atomic_store(&R.stop_churn, 1);
	atomic_store(&R.stop_killer, 1);
	stop = mono_now();
	if (R.o.kill_ms > 0)
		pthread_join(k->thread, NULL);
	if (host_killing())
		pthread_join(k->hosts, NULL);   /* every host it killed is back */
	for (int i = 0; i < R.o.clients; i++) {
		pthread_join(clients[i].thread, NULL);
		add_stats(&R.total, &clients[i].st);
	}
	R.churn_s = stop - start;
	R.finish_s = mono_now() - stop;
}

/* Quiescence, then the leftovers, then the deletes and what they leave. */
/* What every host still has of ours, after the churn. */
static void check_hosts(bool disks)
{
	for (int i = 0; i < R.nh; i++) {
		unsigned epoch;
		virConnectPtr c = host_conn(&R.hosts[i], &epoch);
		if (c == NULL) {
			fail(C_DOMAINS, "host %s: no connection to check it", R.hosts[i].name);
			continue;
		}
		if (disks) {
			check_disks(c, &R.hosts[i]);
		} else {
			check_domains(c, &R.hosts[i]);
			check_scratch(c, &R.hosts[i]);
		}
		virConnectClose(c);
	}
}

/* Every killed host is back and the daemon says so (bounded). */
static void hosts_back(struct client *ctl)
{
	struct sdc_error err;
	json_t *info;

	for (double end = mono_now() + R.o.settle; host_killing();) {
		bool up = true;
		size_t i;
		json_t *h;
		if (call(ctl, OP_DAEMON_INFO, RPC_DAEMON_INFO, NULL, NULL, &info, &err) < 0)
			return;
		json_array_foreach(json_object_get(info, "hosts"), i, h)
			up = up && json_is_true(json_object_get(h, "connected"));
		json_decref(info);
		if (up)
			return;
		if (mono_now() > end) {
			fail(C_SETTLE, "a host is not connected %g s after the churn", R.o.settle);
			return;
		}
		nap(POLL_S, NULL);
	}
}

static void verify(struct client *ctl)
{
	hosts_back(ctl);
	bool settled = settle(ctl);

	decide_scope(ctl);
	if (settled)
		check_hosts(false);
	delete_sessions(ctl);
	/* Unsettled sessions are torn down by their delete: check after it. */
	if (!settled)
		check_hosts(false);
	check_hosts(true);
	check_alive();
}

/* libvirt's event loop, on a thread of this program's (for every
 * observer, whichever host's). */
static _Atomic int loop_quit;

static void *loop_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&loop_quit))
		virEventRunDefaultImpl();
	return NULL;
}

static void loop_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

int main(int argc, char **argv)
{
	struct client ctl = { .idx = -1 }, *clients;
	pthread_t loop;
	struct watcher w = { .cl = { .idx = -2 } };
	struct killer k = { 0 };
	struct inst_tally t = { 0 };

	parse_opts(argc, argv, &R.o);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pthread_mutex_init(&R.lock, NULL);
	pthread_mutex_init(&R.fail_lock, NULL);
	pthread_mutex_init(&R.host_lock, NULL);
	R.seen_before = json_object();
	htab_init(&R.instances);
	R.stop_reasons = json_object();
	R.uid = getuid();
	R.t0 = mono_now();
	init_sessions();
	virSetErrorFunc(NULL, silent_error);
	if (client_connect(&ctl) < 0 || learn_daemon(&ctl) < 0) {
		fprintf(stderr, "sessiond-stress: cannot set up against %s\n", R.o.socket);
		return 2;
	}
	/* libvirt's event loop: before any connection; the observers of all
	 * hosts share it. */
	if (virEventRegisterDefaultImpl() < 0 ||
	    pthread_create(&loop, NULL, loop_main, NULL) != 0) {
		fprintf(stderr, "sessiond-stress: cannot run libvirt's event loop\n");
		return 2;
	}
	for (int i = 0; i < R.nh; i++) {
		char err[256];
		struct host_rt *h = &R.hosts[i];
		struct observer_opts oo = { .uri = h->uri, .pool = h->pool, .prefix = R.prefix,
					    .poll_ms = 5 };
		if ((h->ob = observer_new(&oo, err, sizeof err)) == NULL) {
			fprintf(stderr, "sessiond-stress: observer on %s: %s\n", h->uri, err);
			return 2;
		}
		if ((h->kconn = virConnectOpen(h->uri)) == NULL) {
			fprintf(stderr, "sessiond-stress: libvirt %s: %s\n", h->uri, virt_error());
			return 2;
		}
	}
	k.rng = R.o.seed ^ 0x9e3779b9u;
	if (watcher_start(&w) < 0) {
		fprintf(stderr, "sessiond-stress: cannot set up against %s\n", R.o.socket);
		return 2;
	}
	clients = calloc((size_t)R.o.clients, sizeof *clients);
	for (int i = 0; clients != NULL && i < R.o.clients; i++) {
		clients[i].idx = i;
		clients[i].rng = R.o.seed + 7919u * (unsigned)(i + 1);
	}
	if (clients == NULL || create_sessions(&ctl) < 0) {
		delete_sessions(&ctl);
		return 2;
	}
	churn(clients, &k);
	verify(&ctl);

	atomic_store(&R.stop_watch, 1);
	pthread_join(w.thread, NULL);
	audit_outside();
	htab_each(&R.instances, tally_one, &t);
	require_chaos(&t);
	add_stats(&R.total, &ctl.st);
	add_stats(&R.total, &w.cl.st);
	if (R.o.json) {
		json_t *j = summary_json(&t);
		json_object_set_new(j, "outside", json_pack("{s:I, s:I, s:I, s:I, s:b, s:I, s:I}",
			"audited", (json_int_t)R.audited, "observer_events", (json_int_t)R.obs_events,
			"observer_listings", (json_int_t)R.obs_polls,
			"observer_listings_failed", (json_int_t)R.obs_poll_errors,
			"libvirtd_log_read", R.log_read, "scratch_created", (json_int_t)R.log_created,
			"scratch_deletes", (json_int_t)R.log_deletes));
		json_dumpf(j, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(j);
	} else {
		print_summary(&t);
	}
	int rc = failures_total() ? 1 : 0;
	free_texts();
	htab_each(&R.instances, free_one, NULL);
	htab_free(&R.instances);
	sdc_close(ctl.c);
	sdc_close(w.cl.c);
	/* The loop stops before the observers go (observer.h). */
	atomic_store(&loop_quit, 1);
	virEventAddTimeout(0, loop_wake, NULL, NULL);
	pthread_join(loop, NULL);
	for (int i = 0; i < R.nh; i++) {
		virConnectClose(R.hosts[i].kconn);
		observer_free(R.hosts[i].ob);
	}
	json_decref(R.seen_before);
	free(clients);
	free(R.sess);
	json_decref(R.o.settings);
	json_decref(R.stop_reasons);
	return rc;
}
