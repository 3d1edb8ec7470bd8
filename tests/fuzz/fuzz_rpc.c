/*
 * fuzz_rpc.c — libFuzzer harness for the control socket: bytes in, framed
 * JSON-RPC replies out, through the real server, method table, core and
 * libvirt's embedded test driver (test:///default), wrapped by the fault
 * seam (tests/fault) with every random fault off.
 *
 * One input is one client connection.  Byte 0 is a control byte, the rest
 * is what the client writes:
 *
 *     bit 0   the client is root (uid 0) instead of uid 1000
 *     bit 1   hang up right after writing: calls still pending (a start,
 *             a create waiting for its state file) lose their connection
 *     bit 2   lockstep: write one line, let the daemon finish with it, then
 *             the next (a client that waits for each reply); otherwise the
 *             whole input is written at once (pipelined requests)
 *     bit 3   after the input, send one frame over RPC_MAX_FRAME bytes
 *             (the oversized-frame path: error, then the server hangs up)
 *     bit 6   linger: before hanging up, run the loop for LINGER_MS so
 *             short timers fire (grace_s, ttl_s, stop_timeout_s, an
 *             immediate readiness deadline)
 *     bit 7   with bit 6: linger LINGER_LONG_MS instead, past the 100 ms
 *             readiness poll (a ready_timeout_s that expires while polling)
 *     bits 4 and 5 are ignored (digits have them set)
 *
 * So the corpus files start with '0' uid 1000, '1' root, '2'/'3' the same
 * hanging up at once, '4'..'7' the same four in lockstep, '8' and '9' an
 * oversized frame after the input, 'D' and 'E' lockstep with a linger,
 * 0xC4 and 0xC5 lockstep with the long linger.
 *
 * In lockstep, "@TOKEN@" in a line becomes the last token id a reply
 * carried (so token.renew/release can name a live token), and a line that
 * starts with '!' is for the harness, not the daemon:
 *
 *     !crash      destroy every session's VM behind the daemon's back
 *                 (a real libvirt STOPPED event: crash policy, restart)
 *     !failstart  the next VM start fails as libvirt would fail it
 *     !slowevents for the rest of the input libvirt's events reach the
 *                 daemon up to SLOW_EVENTS_US late (the event thread sleeps)
 *     !wait       run the loop for LINGER_MS
 *     !restart    hang up, restart the daemon on the same state directory
 *                 (state files reloaded, running VMs adopted), reconnect;
 *                 every detached token that had more than a minute to live
 *                 must be back (persist.c: they survive a restart)
 *
 * The connection is one end of a bufferevent pair handed to the server
 * with rpc_server_add_bev(); the harness writes to the other end, runs the
 * loop until no worker job and no callback is pending, then checks every
 * line that came back: a JSON object with "jsonrpc":"2.0" and either an
 * id with exactly one of result / error (error: integer code, string
 * message), or a known notification.  Anything else abort()s so the
 * fuzzer keeps the input.  Then it hangs up (EOF, as a closing socket
 * would, then rpc_conn_hangup() for the POLLHUP a pair cannot show),
 * lets the teardown run and checks the server dropped the connection.
 * After every input, and before every !restart, no instance may have been
 * torn down twice: neither by the core's own count nor by the fault
 * seam's ledger of what the core asked libvirt for (a domain destroyed or
 * an instance volume deleted twice); either aborts, whatever
 * SESSIOND_FUZZ_TOLERATE says.
 *
 * The daemon ("world": config, core, server, state directory, and an
 * outside libvirt connection that keeps the test driver's domains across
 * !restart) is shared by inputs.  It is rebuilt from scratch every
 * RESET_EVERY inputs and whenever more than SESSIONS_CAP sessions exist,
 * so memory stays bounded (root may create sessions for any owner_uid;
 * detached tokens and keep_storage volumes outlive their connection).
 *
 * Environment: SESSIOND_FUZZ_RESET=1 rebuilds the world before every
 * input (to reproduce from a clean state); SESSIOND_FUZZ_LOG=1 turns the
 * daemon's log on and prints every reply; SESSIOND_FUZZ_DIR is where the
 * state directories go (default /dev/shm, else /tmp);
 * SESSIOND_FUZZ_TOLERATE=tag,... counts the named kinds of bad reply
 * instead of aborting (tags: not-json not-object version notification
 * no-id bad-id no-result-or-error result-and-error error-shape
 * partial-frame, and restart-tokens for the !restart check), to fuzz on
 * past a known, unfixed bug; the count is printed at exit.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <ftw.h>
#include <libvirt/libvirt.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/log.h"
#include "../../common/timeutil.h"
#include "../../rpc/rpc.h"
#include "../../rpc/sessiond-protocol.h"
#include "../../daemon/daemon.h"
#include "../fault/fault_driver.h"

#define SESSIONS_CAP 48
#define RESET_EVERY 4000
#define SETTLE_TURNS 4000                   /* loop turns per settle, at most */
#define TICK_US 2000                        /* wait per turn while a job runs */
#define FUZZ_PID 4242
#define LINGER_MS 20
#define LINGER_LONG_MS 120
#define TOKEN_MARK "@TOKEN@"
#define MAX_KEPT 64                         /* detached tokens checked per restart */
#define SLOW_EVENTS_US 20000

static struct {
	struct daemon d;                    /* what the method table sees */
	struct driver *virt;                /* the libvirt driver under drv */
	struct driver *drv;                 /* the fault seam: d.drvs[0], the one host */
	virConnectPtr outside;              /* keeps test-driver state per world */
	char dir[256];                      /* state dir + socket, removed on reset */
	struct event *tick;
	unsigned long inputs;
	bool up;
	bool reset_each;                    /* SESSIOND_FUZZ_RESET */
	bool verbose;                       /* SESSIOND_FUZZ_LOG */
	const char *tolerate;               /* SESSIOND_FUZZ_TOLERATE */
	unsigned long tolerated;
	char last_token[64];                /* for TOKEN_MARK */
	char *huge;                         /* the oversized frame (bit 3) */
} W;

/* One input's client: our end of the pair and who the server thinks we are. */
struct client {
	struct bufferevent *bev;
	uid_t uid;
};

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz_rpc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- running the loop ------------------------------------------------ */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static bool jobs_pending(void)
{
	struct core *core = W.d.core;

	if (core == NULL)
		return false;
	return workers_pending(core->workers) > 0 || workers_pending(core->writer) > 0;
}

/* One loop turn that waits at most us microseconds. */
static void turn(long us)
{
	struct timeval tv = { 0, us };

	evtimer_add(W.tick, &tv);
	event_base_loop(W.d.base, EVLOOP_ONCE);
	evtimer_del(W.tick);
}

/* Runs the loop until no worker job is in flight and no callback is
 * queued (bounded).  Returns true if it had to wait for a worker. */
static bool settle(void)
{
	bool waited = false;

	for (int i = 0; i < SETTLE_TURNS; i++) {
		if (jobs_pending()) {
			turn(TICK_US);
			waited = true;
		} else if (event_base_get_num_events(W.d.base, EVENT_BASE_COUNT_ACTIVE) > 0) {
			event_base_loop(W.d.base, EVLOOP_NONBLOCK);
		} else {
			break;
		}
	}
	return waited;
}

/* After libvirt work its lifecycle events arrive from libvirt's event
 * thread a moment later: give them one short turn, then settle again. */
static void settle_all(void)
{
	if (!settle())
		return;
	turn(300);
	settle();
}

/* Runs the loop for ms milliseconds of wall time (timers fire), then settles. */
static void run_for(int ms)
{
	double end = mono_now() + ms / 1000.0;

	while (mono_now() < end)
		turn(TICK_US);
	settle_all();
}

/* ---- exactly one teardown per instance --------------------------------- */

/* The core counts a second teardown of an instance; the seam's ledger
 * counts, independently, every domain destroy and instance volume delete
 * the core asked for.  Either seeing one twice is a broken invariant. */
static void check_teardowns(void)
{
	char why[200];

	if (W.d.core != NULL && W.d.core->stats.double_teardowns != 0)
		die("%ld instance(s) torn down twice (the core's count)",
		    W.d.core->stats.double_teardowns);
	if (fault_driver_repeats(W.drv, why, sizeof why) > 0)
		die("an instance was torn down twice (the fault seam's ledger): %s", why);
}

/* ---- the world: config, core, server ----------------------------------- */

static void loaded(struct core *core, void *arg)
{
	(void)core;
	*(bool *)arg = true;
}

static void cfg_set(const char *key, const char *value)
{
	struct cause c;

	if (config_set(&W.d.cfg, key, value, &c) < 0)
		die("config %s: %s", key, c.msg);
}

/* Core and server on the current config and state directory. */
static void daemon_up(void)
{
	struct cause c;
	bool done = false;

	W.d.core = core_new(W.d.base, &W.d.cfg.core, W.d.drvs, &c);
	if (W.d.core == NULL)
		die("core_new: %s", c.msg);
	core_set_hooks(W.d.core, &dispatch_core_hooks, &W.d);
	load_sessions(W.d.core, loaded, &done);
	for (int i = 0; i < 5000 && !done; i++)
		turn(TICK_US);
	if (!done)
		die("core_load did not finish");
	W.d.srv = rpc_server_new(W.d.base, W.d.cfg.socket_path, &dispatch_server_ops, &W.d,
				 W.d.cfg.max_connections, &c);
	if (W.d.srv == NULL)
		die("rpc_server_new: %s", c.msg);
	W.d.started = mono_now();
	settle_all();
}

/* As main.c at exit: server first, then the core (VMs stay up). */
static void daemon_down(void)
{
	settle_all();
	rpc_server_free(W.d.srv);
	W.d.srv = NULL;                     /* events during core_free go nowhere */
	core_free(W.d.core);
	W.d.core = NULL;
	settle();
}

static void world_up(void)
{
	const char *tmp = getenv("SESSIOND_FUZZ_DIR");
	char path[300];

	if (tmp == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(W.dir, sizeof W.dir, "%s/sessiond-fuzz.XXXXXX", tmp);
	if (mkdtemp(W.dir) == NULL)
		die("mkdtemp %s: %s", W.dir, strerror(errno));
	W.outside = virConnectOpen("test:///default");
	if (W.outside == NULL)
		die("cannot open test:///default");
	fault_driver_ledger_clear(W.drv);        /* a new test driver state */
	config_init(&W.d.cfg);
	snprintf(path, sizeof path, "%s/state", W.dir);
	cfg_set("state_dir", path);
	snprintf(path, sizeof path, "%s/sock", W.dir);
	cfg_set("socket", path);
	cfg_set("uri", "test:///default");
	cfg_set("scratch_gib", "0");
	cfg_set("workers", "2");
	daemon_up();
	W.up = true;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Closing the last connection to test:///default drops its domains. */
static void world_down(void)
{
	if (!W.up)
		return;
	daemon_down();
	virConnectClose(W.outside);
	W.outside = NULL;
	config_free(&W.d.cfg);
	nftw(W.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	W.up = false;
}

static const struct fault_cfg no_faults = { .seed = 1 };

static void at_exit(void)
{
	if (W.tolerate != NULL)
		fprintf(stderr, "fuzz_rpc: %lu tolerated bad repl%s (%s)\n", W.tolerated,
			W.tolerated == 1 ? "y" : "ies", W.tolerate);
	world_down();
	free(W.huge);
	if (W.tick != NULL)
		event_free(W.tick);
	fault_driver_free(W.drv);
	virt_driver_free(W.virt);
	event_base_free(W.d.base);
	xmlCleanupParser();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	W.verbose = getenv("SESSIOND_FUZZ_LOG") != NULL;
	W.reset_each = getenv("SESSIOND_FUZZ_RESET") != NULL;
	W.tolerate = getenv("SESSIOND_FUZZ_TOLERATE");
	log_set_level(W.verbose ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	evthread_use_pthreads();
	W.d.base = event_base_new();
	if (W.d.base == NULL)
		die("event_base_new");
	W.tick = evtimer_new(W.d.base, tick_cb, NULL);
	W.virt = virt_driver_new("test:///default");
	W.drv = fault_driver_new(W.virt, &no_faults);
	W.d.drvs = &W.drv;
	world_up();
	atexit(at_exit);
	return 0;
}

/* ---- checking what came back ------------------------------------------ */

/* A bad reply (or a failed harness check): abort, unless
 * SESSIOND_FUZZ_TOLERATE names its tag. */
static bool bad_reply(const char *tag, const char *why, const char *line, size_t n)
{
	const char *t = W.tolerate;
	size_t tl = strlen(tag);

	while (t != NULL && (t = strstr(t, tag)) != NULL) {
		bool start = t == W.tolerate || t[-1] == ',';
		if (start && (t[tl] == '\0' || t[tl] == ',')) {
			W.tolerated++;
			return false;
		}
		t += tl;
	}
	die("check failed (%s): %s%s%.*s", tag, why, n > 0 ? ": " : "", (int)(n > 2000 ? 2000 : n),
	    line);
}

static bool check_error(json_t *err, const char *line, size_t n)
{
	if (!json_is_object(err))
		return bad_reply("error-shape", "\"error\" is not an object", line, n);
	if (!json_is_integer(json_object_get(err, "code")))
		return bad_reply("error-shape", "error.code is not an integer", line, n);
	if (!json_is_string(json_object_get(err, "message")))
		return bad_reply("error-shape", "error.message is not a string", line, n);
	return true;
}

static bool check_notification(json_t *m, const char *line, size_t n)
{
	const char *name = json_string_value(json_object_get(m, "method"));

	if (json_object_get(m, "id") != NULL || json_object_get(m, "result") != NULL ||
	    json_object_get(m, "error") != NULL)
		return bad_reply("notification", "with id, result or error", line, n);
	if (name == NULL || (strcmp(name, RPC_NOTIFY_SESSION_EVENT) != 0 &&
			     strcmp(name, RPC_NOTIFY_TOKEN_REVOKED) != 0))
		return bad_reply("notification", "unknown method", line, n);
	if (!json_is_object(json_object_get(m, "params")))
		return bad_reply("notification", "params is not an object", line, n);
	return true;
}

static bool check_response(json_t *m, const char *line, size_t n)
{
	json_t *id = json_object_get(m, "id");
	json_t *result = json_object_get(m, "result");
	json_t *err = json_object_get(m, "error");

	if (id == NULL)
		return bad_reply("no-id", "a response without \"id\"", line, n);
	if (!json_is_string(id) && !json_is_number(id) && !json_is_null(id))
		return bad_reply("bad-id", "\"id\" is not a string, number or null", line, n);
	if (result == NULL && err == NULL)
		return bad_reply("no-result-or-error", "neither result nor error", line, n);
	if (result != NULL && err != NULL)
		return bad_reply("result-and-error", "both result and error", line, n);
	if (err != NULL)
		return check_error(err, line, n);
	/* token.acquire: remember the id for TOKEN_MARK. */
	const char *tok = json_string_value(json_object_get(result, "token"));
	if (tok != NULL)
		snprintf(W.last_token, sizeof W.last_token, "%s", tok);
	return true;
}

/* One reply object: a response or a notification. */
static void check_message(json_t *m, const char *line, size_t n)
{
	json_t *ver = json_object_get(m, "jsonrpc");

	if (!json_is_object(m))
		bad_reply("not-object", "not a JSON object", line, n);
	else if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
		bad_reply("version", "\"jsonrpc\" is not \"2.0\"", line, n);
	else if (json_object_get(m, "method") != NULL)
		check_notification(m, line, n);
	else
		check_response(m, line, n);
}

/* A line is one reply object, or a batch's replies: a non-empty array of
 * them (JSON-RPC 2.0 section 6). */
static void check_line(const char *line, size_t n)
{
	json_error_t e;
	json_t *m = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
	size_t i;
	json_t *v;

	if (m == NULL) {
		bad_reply("not-json", e.text, line, n);
		return;
	}
	if (!json_is_array(m))
		check_message(m, line, n);
	else if (json_array_size(m) == 0)
		bad_reply("not-object", "an empty array", line, n);
	else
		json_array_foreach(m, i, v)
			check_message(v, line, n);
	json_decref(m);
}

/* Checks and drains every complete line; a partial one stays. */
static void check_replies(struct client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);

	for (;;) {
		size_t eol = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);
		if (p.pos < 0)
			break;
		size_t len = (size_t)p.pos;
		if (len > RPC_MAX_FRAME)
			die("reply frame of %zu bytes exceeds RPC_MAX_FRAME", len);
		const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)(len + 1));
		if (W.verbose)
			fprintf(stderr, "fuzz_rpc: reply: %.*s\n", (int)len, line);
		check_line(line, len);
		evbuffer_drain(in, len + 1);
	}
}

/* ---- the client ----------------------------------------------------------- */

static void client_open(struct client *cl)
{
	struct bufferevent *pair[2];

	if (bufferevent_pair_new(W.d.base, 0, pair) < 0)
		die("bufferevent_pair_new");
	cl->bev = pair[0];
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	if (rpc_server_add_bev(W.d.srv, pair[1], cl->uid, FUZZ_PID) == NULL)
		die("rpc_server_add_bev");
}

static void hangup_one(struct rpc_conn *c, void *arg)
{
	(void)arg;
	rpc_conn_hangup(c);
}

/* EOF first (the server answers what is pending and may close then, as
 * for a half-closed socket), then the hang-up: a pair cannot report
 * POLLHUP, so the harness says it (rpc_conn_hangup).  The server releases
 * what the connection held; nothing of it may stay. */
static void client_close(struct client *cl)
{
	bufferevent_flush(cl->bev, EV_WRITE, BEV_FINISHED);
	settle_all();
	check_replies(cl);
	struct evbuffer *rest = bufferevent_get_input(cl->bev);
	if (evbuffer_get_length(rest) > 0)
		bad_reply("partial-frame", "bytes after the last newline",
			  (const char *)evbuffer_pullup(rest, -1), evbuffer_get_length(rest));
	bufferevent_free(cl->bev);
	cl->bev = NULL;
	rpc_server_foreach(W.d.srv, hangup_one, NULL);
	settle();
	if (rpc_server_conn_count(W.d.srv) != 0)
		die("%zu connection(s) still open after the client hung up",
		    rpc_server_conn_count(W.d.srv));
}

/* A frame one byte over the limit, without its newline. */
static void write_huge(struct client *cl)
{
	if (W.huge == NULL) {
		W.huge = malloc(RPC_MAX_FRAME + 1);
		if (W.huge == NULL)
			die("out of memory");
		memset(W.huge, ' ', RPC_MAX_FRAME + 1);
	}
	bufferevent_write(cl->bev, W.huge, RPC_MAX_FRAME + 1);
}

/* ---- lockstep: one line at a time, harness directives ------------------ */

/* Writes one line with every TOKEN_MARK replaced by the last token id. */
static void write_line(struct client *cl, const char *p, size_t len)
{
	size_t ml = strlen(TOKEN_MARK);
	const char *m;

	while ((m = memmem(p, len, TOKEN_MARK, ml)) != NULL) {
		bufferevent_write(cl->bev, p, (size_t)(m - p));
		bufferevent_write(cl->bev, W.last_token, strlen(W.last_token));
		len -= (size_t)(m - p) + ml;
		p = m + ml;
	}
	bufferevent_write(cl->bev, p, len);
}

/* Every session's VM destroyed behind the daemon's back. */
static void crash_all(void)
{
	struct list_node *pos, *tmp;
	char uuid[64];

	list_foreach_safe(pos, tmp, &W.d.core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->inst == NULL)
			continue;
		snprintf(uuid, sizeof uuid, "%s", s->inst->id);
		fault_driver_crash(W.drv, uuid);
	}
	run_for(5);                         /* the STOPPED events come through */
}

static bool directive(struct client *cl, const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);

	(void)cl;
	return len >= n && memcmp(p, word, n) == 0;
}

/* Ids of the detached tokens a restart must keep (a minute or more left). */
static size_t detached_tokens(char ids[][40], size_t max)
{
	struct list_node *pos, *tmp, *p2, *t2;
	size_t n = 0;

	list_foreach_safe(pos, tmp, &W.d.core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		list_foreach_safe(p2, t2, &s->tokens) {
			struct token *t = list_entry(p2, struct token, session_node);
			if (n < max && t->detached && t->lease.state == LEASE_HELD &&
			    t->expires > wall_now() + 60)
				snprintf(ids[n++], 40, "%s", t->id);
		}
	}
	return n;
}

static void restart(struct client *cl)
{
	char ids[MAX_KEPT][40];
	size_t n;

	client_close(cl);
	check_teardowns();
	n = detached_tokens(ids, MAX_KEPT);
	daemon_down();
	daemon_up();
	for (size_t i = 0; i < n; i++) {
		if (token_find(W.d.core->tokens, ids[i]) == NULL) {
			char why[120];
			snprintf(why, sizeof why, "detached token %s did not survive the restart", ids[i]);
			bad_reply("restart-tokens", why, "", 0);
		}
	}
	client_open(cl);
}

/* A '!' line: done by the harness; unknown words do nothing. */
static void run_directive(struct client *cl, const char *p, size_t len)
{
	if (directive(cl, p, len, "!crash")) {
		crash_all();
	} else if (directive(cl, p, len, "!failstart")) {
		fault_driver_fail_starts(W.drv, 1);
	} else if (directive(cl, p, len, "!slowevents")) {
		struct fault_cfg slow = { .seed = 1, .max_event_delay_us = SLOW_EVENTS_US };
		fault_driver_set(W.drv, &slow);
	} else if (directive(cl, p, len, "!wait")) {
		run_for(LINGER_MS);
	} else if (directive(cl, p, len, "!restart")) {
		restart(cl);
	}
}

static void write_lockstep(struct client *cl, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) + 1 : n;
		if (p[0] == '!')
			run_directive(cl, p, len);
		else
			write_line(cl, p, len);
		settle_all();
		check_replies(cl);
		p += len;
		n -= len;
	}
}

/* ---- one input --------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client cl;

	if (size < 1)
		return 0;
	if (W.reset_each || W.inputs++ % RESET_EVERY == RESET_EVERY - 1 ||
	    W.d.core->nsessions > SESSIONS_CAP) {
		world_down();
		world_up();
	}
	bool hang_up = (data[0] & 2) != 0;
	bool lockstep = (data[0] & 4) != 0;
	bool oversize = (data[0] & 8) != 0;
	int linger = !(data[0] & 0x40) ? 0 : (data[0] & 0x80) ? LINGER_LONG_MS : LINGER_MS;

	cl.uid = (data[0] & 1) ? 0 : 1000;
	client_open(&cl);
	if (lockstep)
		write_lockstep(&cl, (const char *)data + 1, size - 1);
	else
		bufferevent_write(cl.bev, data + 1, size - 1);
	if (oversize)
		write_huge(&cl);
	if (!hang_up) {
		settle_all();
		if (linger > 0)
			run_for(linger);
		check_replies(&cl);
	}
	client_close(&cl);
	check_teardowns();
	fault_driver_set(W.drv, &no_faults);
	fault_driver_fail_starts(W.drv, 0);
	return 0;
}
