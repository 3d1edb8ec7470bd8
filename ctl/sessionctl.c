/*
 * sessionctl.c — the command line for sessiond (sessionctl(1)).
 *
 * A table drives the commands and usage().  Every command takes --socket,
 * --json and (for root) --owner.  Exit status: 0 success, 1 sessiond
 * refused (its message on stderr), 2 usage, 3 sessiond unreachable or the
 * connection broke; "run" exits with its command's status.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "../rpc/sessiond-client.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

struct ctx {
	const char *socket;
	bool json;
	bool holds_json;
	long owner;                         /* -1: the caller */
	struct sdc *c;
	/* progress while a VM boots */
	bool progress;
	double wait_started;
	char wait_name[80];
	char wait_state[32];
	/* run/hold */
	bool revoked;
	char revoked_reason[512];
};

struct command {
	const char *name;
	int (*fn)(struct ctx *x, int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct command commands[];

/* ---- output helpers --------------------------------------------------- */

static int refused(struct sdc_error *e)
{
	fprintf(stderr, "sessionctl: %s\n", e->message);
	return e->code == SDC_ERR_IO || e->code == SDC_ERR_TIMEOUT ? EXIT_UNREACHABLE
								   : EXIT_REFUSED;
}

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sessionctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sessionctl --help'.\n", stderr);
	return EXIT_USAGE;
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (s != NULL)
		puts(s);
	free(s);
}

static const char *jstr(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* "in 4m12s" for an RFC 3339 deadline, or dflt. */
static void until(json_t *o, const char *key, char *buf, size_t len, const char *dflt)
{
	double t;
	char d[32];

	if (!time_parse_rfc3339(jstr(o, key, ""), &t)) {
		snprintf(buf, len, "%s", dflt);
		return;
	}
	duration_format(fmax(0, t - wall_now()), d, sizeof d);
	snprintf(buf, len, "in %s", d);
}

static void local_time(const char *rfc, char *buf, size_t len)
{
	double t;
	struct tm tm;

	if (rfc == NULL || !time_parse_rfc3339(rfc, &t)) {
		snprintf(buf, len, "-");
		return;
	}
	time_t secs = (time_t)t;
	localtime_r(&secs, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static json_t *with_name(struct ctx *x, const char *name)
{
	json_t *p = json_pack("{s:s}", "name", name);

	if (x->owner >= 0)
		json_object_set_new(p, "owner_uid", json_integer(x->owner));
	return p;
}

static int connect_daemon(struct ctx *x)
{
	struct sdc_error e;

	x->c = sdc_connect(x->socket, &e);
	if (x->c == NULL) {
		fprintf(stderr, "sessionctl: %s\n(is sessiond running? see sessiond(8); "
			"--socket or $SESSIOND_SOCKET selects another socket)\n", e.message);
		return -1;
	}
	return 0;
}

/* One request, printed with show() or as JSON. */
static int simple(struct ctx *x, const char *method, json_t *params,
		  void (*show)(struct ctx *, json_t *))
{
	struct sdc_error e;
	json_t *r = NULL;

	if (connect_daemon(x) < 0) {
		json_decref(params);
		return EXIT_UNREACHABLE;
	}
	if (sdc_call(x->c, method, params, &r, &e) < 0)
		return refused(&e);
	if (x->json)
		print_json(r);
	else if (show != NULL)
		show(x, r);
	json_decref(r);
	return 0;
}

/* ---- progress while waiting for a VM ---------------------------------- */

static void on_notify(const char *method, json_t *params, void *arg)
{
	struct ctx *x = arg;

	if (strcmp(method, RPC_NOTIFY_SESSION_EVENT) == 0) {
		snprintf(x->wait_state, sizeof x->wait_state, "%s", jstr(params, "state", "?"));
	} else if (strcmp(method, RPC_NOTIFY_TOKEN_REVOKED) == 0) {
		x->revoked = true;
		snprintf(x->revoked_reason, sizeof x->revoked_reason, "%s",
			 jstr(params, "reason", "revoked"));
		fprintf(stderr, "sessionctl: the hold on '%s' was revoked: %s\n",
			jstr(params, "name", "?"), x->revoked_reason);
	}
}

static void on_tick(void *arg)
{
	struct ctx *x = arg;
	char d[32];

	if (!x->progress)
		return;
	duration_format(mono_now() - x->wait_started, d, sizeof d);
	fprintf(stderr, "\r\033[Ksessionctl: waiting for '%s': %s (%s)", x->wait_name, d,
		x->wait_state);
	fflush(stderr);
}

static void progress_end(struct ctx *x)
{
	if (x->progress)
		fputs("\r\033[K", stderr);
	x->progress = false;
}

/* Sends method on a watched connection and waits, showing progress on a
 * terminal (and nothing on a pipe). */
static int wait_for_vm(struct ctx *x, const char *name, const char *method, json_t *params,
		       json_t **result, struct sdc_error *e)
{
	sdc_set_notify(x->c, on_notify, x);
	snprintf(x->wait_name, sizeof x->wait_name, "%s", name);
	snprintf(x->wait_state, sizeof x->wait_state, "waiting");
	if (isatty(STDERR_FILENO) && !x->json) {
		long wid = sdc_send(x->c, RPC_SESSION_WATCH, with_name(x, name), e);
		if (wid < 0 || sdc_wait(x->c, wid, -1, NULL, e) < 0)
			return -1;
		x->progress = true;
		x->wait_started = mono_now();
		sdc_set_tick(x->c, on_tick, x, 100);
	}
	long id = sdc_send(x->c, method, params, e);
	int rc = id < 0 ? -1 : sdc_wait(x->c, id, -1, result, e);
	sdc_set_tick(x->c, NULL, NULL, 0);
	progress_end(x);
	return rc;
}

/* ---- per-command option parsing --------------------------------------- */

enum { OPT_SOCKET = 1000, OPT_JSON, OPT_OWNER };

#define COMMON_OPTS \
	{ "socket", required_argument, NULL, OPT_SOCKET }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "owner", required_argument, NULL, OPT_OWNER }, \
	{ "help", no_argument, NULL, 'h' }

static int common_opt(struct ctx *x, int ch, const char *cmd)
{
	char *end;

	switch (ch) {
	case OPT_SOCKET:
		x->socket = optarg;
		return 0;
	case OPT_JSON:
		x->json = true;
		return 0;
	case OPT_OWNER:
		x->owner = strtol(optarg, &end, 10);
		if (*end != '\0' || x->owner < 0)
			return usage_error("--owner: expected a uid");
		return 0;
	case 'h':
		for (const struct command *c = commands; c->name; c++)
			if (strcmp(c->name, cmd) == 0)
				printf("Usage: sessionctl %s %s\n%s\n", c->name, c->args, c->help);
		exit(0);
	default:
		return usage_error("%s: unknown option (see 'sessionctl %s --help')", cmd, cmd);
	}
}

/* Commands with only the common options and a fixed number of operands. */
static int operands(struct ctx *x, int argc, char **argv, int want_min, int want_max)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (common_opt(x, ch, argv[0]) != 0)
			return -1;
	int n = argc - optind;
	if (n < want_min || n > want_max) {
		usage_error("%s: expected %s", argv[0],
			    want_min == want_max && want_min == 1 ? "one operand" : "other operands");
		return -1;
	}
	return 0;
}

static bool parse_duration_arg(const char *opt, const char *s, double *out)
{
	if (duration_parse(s, out))
		return true;
	usage_error("%s: '%s' is not a duration (e.g. 90s, 5m, 1h)", opt, s);
	return false;
}

/* ---- create ------------------------------------------------------------ */

static void show_created(struct ctx *x, json_t *s)
{
	(void)x;
	printf("created session '%s' (id %s)\n", jstr(s, "name", "?"), jstr(s, "id", "?"));
}

static int cmd_create(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "grace", required_argument, NULL, 'g' },
		{ "storage", required_argument, NULL, 's' },
		{ "crash-policy", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "domain-type", required_argument, NULL, 't' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'l' },
		{ "image", required_argument, NULL, 'I' },
		{ "disk", required_argument, NULL, 'd' },
		{ "disk-gib", required_argument, NULL, 'D' },
		{ "ready-pattern", required_argument, NULL, 'r' },
		{ "ready-timeout", required_argument, NULL, 'R' },
		{ "stop-timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *p = json_object();
	double d;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (strcmp(optarg, "never") == 0)
				json_object_set_new(p, "grace_s", json_string("never"));
			else if (parse_duration_arg("--grace", optarg, &d))
				json_object_set_new(p, "grace_s", json_real(d));
			else
				goto usage;
			break;
		case 's': json_object_set_new(p, "storage", json_string(optarg)); break;
		case 'p': json_object_set_new(p, "crash_policy", json_string(optarg)); break;
		case 't': json_object_set_new(p, "domain_type", json_string(optarg)); break;
		case 'k': json_object_set_new(p, "kernel", json_string(optarg)); break;
		case 'i': json_object_set_new(p, "initrd", json_string(optarg)); break;
		case 'l': json_object_set_new(p, "cmdline", json_string(optarg)); break;
		case 'I': json_object_set_new(p, "image", json_string(optarg)); break;
		case 'd': json_object_set_new(p, "disk", json_string(optarg)); break;
		case 'r': json_object_set_new(p, "ready_pattern", json_string(optarg)); break;
		case 'm':
		case 'c':
			d = strtod(optarg, &end);
			if (*end != '\0' || d != floor(d) || d < 1) {
				usage_error("%s: expected a positive integer", ch == 'm' ? "--memory" : "--vcpus");
				goto usage;
			}
			json_object_set_new(p, ch == 'm' ? "memory_mib" : "vcpus", json_integer((json_int_t)d));
			break;
		case 'D':
			d = strtod(optarg, &end);
			if (*end != '\0' || d <= 0) {
				usage_error("--disk-gib: expected a size in GiB");
				goto usage;
			}
			json_object_set_new(p, "disk_gib", json_real(d));
			break;
		case 'R':
		case 'T':
			if (!parse_duration_arg(ch == 'R' ? "--ready-timeout" : "--stop-timeout", optarg, &d))
				goto usage;
			json_object_set_new(p, ch == 'R' ? "ready_timeout_s" : "stop_timeout_s", json_real(d));
			break;
		default:
			if (common_opt(x, ch, argv[0]) != 0)
				goto usage;
		}
	}
	if (argc - optind != 1) {
		usage_error("create: expected one session name");
		goto usage;
	}
	json_t *n = with_name(x, argv[optind]);
	json_object_update(p, n);
	json_decref(n);
	return simple(x, RPC_SESSION_CREATE, p, show_created);
usage:
	json_decref(p);
	return EXIT_USAGE;
}

/* ---- list / status / holds -------------------------------------------- */

static void show_list(struct ctx *x, json_t *r)
{
	json_t *a = json_object_get(r, "sessions"), *s;
	size_t i;
	char idle[40];

	(void)x;
	if (json_array_size(a) == 0) {
		puts("no sessions");
		return;
	}
	printf("%-20s %-6s %-9s %5s %-10s %6s  %s\n", "NAME", "UID", "STATE", "HOLDS",
	       "IDLE STOP", "STARTS", "LAST STOP");
	json_array_foreach(a, i, s) {
		until(s, "idle_deadline", idle, sizeof idle, "-");
		printf("%-20s %-6d %-9s %5zu %-10s %6d  %s\n", jstr(s, "name", "?"),
		       (int)json_integer_value(json_object_get(s, "owner_uid")),
		       jstr(s, "state", "?"), json_array_size(json_object_get(s, "holds")),
		       idle, (int)json_integer_value(json_object_get(s, "start_count")),
		       jstr(s, "last_stop_reason", "-"));
	}
}

static int cmd_list(struct ctx *x, int argc, char **argv)
{
	json_t *p = json_object();

	if (operands(x, argc, argv, 0, 0) < 0) {
		json_decref(p);
		return EXIT_USAGE;
	}
	if (x->owner >= 0)
		json_object_set_new(p, "owner_uid", json_integer(x->owner));
	return simple(x, RPC_SESSION_LIST, p, show_list);
}

static void show_holds_table(json_t *holds)
{
	json_t *h;
	size_t i;
	char since[32], exp[40];

	printf("  %-5s  %-36s  %-24s %7s  %-8s  %s\n", "KIND", "ID", "REASON", "PID", "SINCE",
	       "EXPIRES");
	json_array_foreach(holds, i, h) {
		local_time(jstr(h, "since", NULL), since, sizeof since);
		until(h, "expires", exp, sizeof exp, "-");
		printf("  %-5s  %-36s  %-24.24s %7d  %-8s  %s\n", jstr(h, "kind", "?"),
		       jstr(h, "id", "?"), jstr(h, "reason", ""),
		       (int)json_integer_value(json_object_get(h, "owner_pid")), since, exp);
	}
}

static void show_status(struct ctx *x, json_t *s)
{
	json_t *inst = json_object_get(s, "instance"), *holds = json_object_get(s, "holds");
	char idle[64], up[32], grace[32];
	double g = json_number_value(json_object_get(s, "grace_s"));

	(void)x;
	if (json_is_string(json_object_get(s, "grace_s")))
		snprintf(grace, sizeof grace, "never");
	else
		duration_format(g, grace, sizeof grace);
	if (json_array_size(holds) > 0)
		snprintf(idle, sizeof idle, "held");
	else
		until(s, "idle_deadline", idle, sizeof idle,
		      strcmp(jstr(s, "state", ""), "running") == 0 ? "never (no grace)" : "-");
	duration_format(json_number_value(json_object_get(s, "uptime_s")), up, sizeof up);
	printf("Session:      %s (uid %d, id %s)\n", jstr(s, "name", "?"),
	       (int)json_integer_value(json_object_get(s, "owner_uid")), jstr(s, "id", "?"));
	printf("State:        %s\n", jstr(s, "state", "?"));
	if (json_is_object(inst))
		printf("VM:           %s (instance %s, scratch %s)\n", jstr(inst, "domain", "?"),
		       jstr(inst, "id", "?"), jstr(inst, "scratch", "none"));
	printf("Idle stop:    %s (grace %s)\n", idle, grace);
	printf("Holds:        %zu", json_array_size(holds));
	int waiting = (int)json_integer_value(json_object_get(s, "waiting"));
	if (waiting > 0)
		printf(" (%d waiting for the VM)", waiting);
	putchar('\n');
	if (json_array_size(holds) > 0)
		show_holds_table(holds);
	printf("Starts:       %d\n", (int)json_integer_value(json_object_get(s, "start_count")));
	printf("Last stop:    %s%s%s\n", jstr(s, "last_stop_reason", "-"),
	       json_is_string(json_object_get(s, "last_stop_detail")) ? ": " : "",
	       jstr(s, "last_stop_detail", ""));
	if (json_is_string(json_object_get(s, "failed_reason")))
		printf("Failed:       %s (sessionctl reset %s)\n", jstr(s, "failed_reason", ""),
		       jstr(s, "name", ""));
	if (json_is_string(json_object_get(s, "warning")))
		printf("Warning:      %s\n", jstr(s, "warning", ""));
	printf("VM uptime:    %s total\n", up);
	printf("Settings:     %s storage, crash policy %s, %d MiB, %d vCPU, domain type %s\n",
	       jstr(s, "storage", "?"), jstr(s, "crash_policy", "?"),
	       (int)json_integer_value(json_object_get(s, "memory_mib")),
	       (int)json_integer_value(json_object_get(s, "vcpus")), jstr(s, "domain_type", "?"));
}

static int cmd_status(struct ctx *x, int argc, char **argv)
{
	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	return simple(x, RPC_SESSION_GET, with_name(x, argv[optind]), show_status);
}

static void show_holds(struct ctx *x, json_t *s)
{
	json_t *holds = json_object_get(s, "holds");
	char idle[64];

	if (x->holds_json) {
		print_json(holds);
		return;
	}
	if (json_array_size(holds) == 0) {
		until(s, "idle_deadline", idle, sizeof idle, "not scheduled");
		printf("nothing holds session '%s' (%s); idle stop: %s\n", jstr(s, "name", "?"),
		       jstr(s, "state", "?"), idle);
		return;
	}
	printf("session '%s' (%s) is held by:\n", jstr(s, "name", "?"), jstr(s, "state", "?"));
	show_holds_table(holds);
}

static int cmd_holds(struct ctx *x, int argc, char **argv)
{
	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	/* --json prints the holds array, not the whole session. */
	x->holds_json = x->json;
	x->json = false;
	return simple(x, RPC_SESSION_GET, with_name(x, argv[optind]), show_holds);
}

/* ---- start / stop / reset / delete ------------------------------------- */

static int cmd_start(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;

	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	const char *name = argv[optind];
	if (wait_for_vm(x, name, RPC_SESSION_START, with_name(x, name), &r, &e) < 0)
		return refused(&e);
	if (x->json) {
		print_json(r);
	} else {
		char idle[64];
		until(r, "idle_deadline", idle, sizeof idle, "not scheduled");
		printf("session '%s' is running (idle stop: %s)\n", name, idle);
	}
	json_decref(r);
	return 0;
}

static void show_stopped(struct ctx *x, json_t *s)
{
	(void)x;
	printf("session '%s' is %s\n", jstr(s, "name", "?"), jstr(s, "state", "?"));
}

static int cmd_stop(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { "force", no_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	bool force = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		if (ch == 'f')
			force = true;
		else if (common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return usage_error("stop: expected one session name");
	json_t *p = with_name(x, argv[optind]);
	json_object_set_new(p, "force", json_boolean(force));
	return simple(x, RPC_SESSION_STOP, p, show_stopped);
}

static int cmd_reset(struct ctx *x, int argc, char **argv)
{
	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	return simple(x, RPC_SESSION_RESET, with_name(x, argv[optind]), show_stopped);
}

static const char *deleted_name;

static void show_deleted(struct ctx *x, json_t *r)
{
	(void)x;
	(void)r;
	printf("deleted session '%s'\n", deleted_name);
}

static int cmd_delete(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS,
		{ "keep-storage", no_argument, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	bool keep = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "hk", opts, NULL)) != -1) {
		if (ch == 'k')
			keep = true;
		else if (common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return usage_error("delete: expected one session name");
	deleted_name = argv[optind];
	json_t *p = with_name(x, argv[optind]);
	json_object_set_new(p, "keep_storage", json_boolean(keep));
	return simple(x, RPC_SESSION_DELETE, p, show_deleted);
}

/* ---- hold / release ------------------------------------------------------ */

static volatile sig_atomic_t got_signal;

static void note_signal(int sig)
{
	got_signal = sig;
}

static int acquire(struct ctx *x, const char *name, const char *reason, double ttl, bool detach,
		   char *token, json_t **r)
{
	struct sdc_error e;
	json_t *p = with_name(x, name);

	if (reason != NULL)
		json_object_set_new(p, "reason", json_string(reason));
	if (ttl > 0)
		json_object_set_new(p, "ttl_s", json_real(ttl));
	if (detach)
		json_object_set_new(p, "detach", json_true());
	if (wait_for_vm(x, name, RPC_TOKEN_ACQUIRE, p, r, &e) < 0)
		return refused(&e);
	snprintf(token, 64, "%s", jstr(*r, "token", ""));
	return 0;
}

static int cmd_hold(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS,
		{ "ttl", required_argument, NULL, 't' }, { "reason", required_argument, NULL, 'r' },
		{ "detach", no_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	const char *reason = "sessionctl hold";
	double ttl = 0;
	bool detach = false;
	char token[64];
	json_t *r = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "hd", opts, NULL)) != -1) {
		if (ch == 't' && !parse_duration_arg("--ttl", optarg, &ttl))
			return EXIT_USAGE;
		else if (ch == 'r')
			reason = optarg;
		else if (ch == 'd')
			detach = true;
		else if (ch != 't' && common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return usage_error("hold: expected one session name");
	if (detach && ttl <= 0)
		return usage_error("hold: --detach needs --ttl (a detached hold must expire)");
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	signal(SIGINT, note_signal);
	signal(SIGTERM, note_signal);
	signal(SIGHUP, note_signal);
	if ((rc = acquire(x, argv[optind], reason, ttl, detach, token, &r)) != 0)
		return rc;
	if (x->json)
		print_json(r);
	json_decref(r);
	if (detach) {
		if (!x->json)
			puts(token);
		return 0;
	}
	if (!x->json) {
		char d[32];
		duration_format(ttl, d, sizeof d);
		printf("holding '%s' (token %s)%s%s; interrupt to release\n", argv[optind], token,
		       ttl > 0 ? " for at most " : "", ttl > 0 ? d : "");
		fflush(stdout);
	}
	double end = ttl > 0 ? mono_now() + ttl : 0;
	struct sdc_error e;
	while (!got_signal && !x->revoked && (end == 0 || mono_now() < end)) {
		if (sdc_poll(x->c, 200, &e) < 0)
			return refused(&e);
	}
	if (x->revoked)
		return EXIT_REFUSED;
	if (sdc_token_release(x->c, token, &e) < 0 && e.code != RPC_ERR_NOT_FOUND)
		return refused(&e);
	if (!x->json)
		printf("released '%s'\n", argv[optind]);
	return 0;
}

static int cmd_release(struct ctx *x, int argc, char **argv)
{
	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	return simple(x, RPC_TOKEN_RELEASE, json_pack("{s:s}", "token", argv[optind]), NULL);
}

/* ---- watch / info --------------------------------------------------------- */

static void print_event(const char *method, json_t *p, void *arg)
{
	struct ctx *x = arg;
	char when[32];

	if (x->json) {
		json_t *m = json_pack("{s:s, s:O}", "method", method, "params", p);
		char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(m);
	} else if (strcmp(method, RPC_NOTIFY_SESSION_EVENT) == 0) {
		local_time(jstr(p, "time", NULL), when, sizeof when);
		printf("%s  %-16s %-9s %-9s", when, jstr(p, "name", "?"), jstr(p, "event", "?"),
		       jstr(p, "state", "?"));
		const char *extra[] = { "reason", "detail", "deadline", "warning" };
		for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
			if (json_is_string(json_object_get(p, extra[i])))
				printf(" %s=%s", extra[i], jstr(p, extra[i], ""));
		if (json_is_string(json_object_get(p, "instance")))
			printf(" instance=%.8s", jstr(p, "instance", ""));
		putchar('\n');
	}
	fflush(stdout);
}

static int cmd_watch(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;

	if (operands(x, argc, argv, 0, 1) < 0)
		return EXIT_USAGE;
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	sdc_set_notify(x->c, print_event, x);
	json_t *p = optind < argc ? with_name(x, argv[optind]) : json_object();
	if (optind >= argc && x->owner >= 0)
		json_object_set_new(p, "owner_uid", json_integer(x->owner));
	if (sdc_call(x->c, RPC_SESSION_WATCH, p, NULL, &e) < 0)
		return refused(&e);
	signal(SIGINT, note_signal);
	signal(SIGTERM, note_signal);
	while (!got_signal)
		if (sdc_poll(x->c, 500, &e) < 0)
			return refused(&e);
	return 0;
}

static void show_info(struct ctx *x, json_t *r)
{
	char mem[32];

	(void)x;
	snprintf(mem, sizeof mem, "%lld MiB",
		 (long long)json_integer_value(json_object_get(r, "memory_kib")) / 1024);
	printf("Session:   %s\nDomain:    %s\nUUID:      %s\nState:     %s\nMemory:    %s\n"
	       "vCPUs:     %d\nCPU time:  %.2fs\nDriver:    %s\n", jstr(r, "session", "?"),
	       jstr(r, "name", "?"), jstr(r, "uuid", "?"), jstr(r, "state", "?"), mem,
	       (int)json_integer_value(json_object_get(r, "vcpus")),
	       json_number_value(json_object_get(r, "cpu_time_s")), jstr(r, "driver", "?"));
}

static int cmd_info(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;

	if (operands(x, argc, argv, 1, 1) < 0)
		return EXIT_USAGE;
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	if (wait_for_vm(x, argv[optind], RPC_VM_INFO, with_name(x, argv[optind]), &r, &e) < 0)
		return refused(&e);
	if (x->json)
		print_json(r);
	else
		show_info(x, r);
	json_decref(r);
	return 0;
}

/* ---- console ------------------------------------------------------------------ */

static int cmd_console(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS,
		{ "follow", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	bool follow = false;
	struct sdc_error e;
	char last[64] = "";
	json_int_t printed = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		if (ch == 'f')
			follow = true;
		else if (common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return usage_error("console: expected one session name");
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	signal(SIGINT, note_signal);
	signal(SIGTERM, note_signal);
	do {
		json_t *r = NULL;
		if (sdc_call(x->c, RPC_VM_CONSOLE, with_name(x, argv[optind]), &r, &e) < 0)
			return refused(&e);
		if (x->json) {
			print_json(r);
			json_decref(r);
			return 0;
		}
		const char *inst = jstr(r, "instance", ""), *text = jstr(r, "text", "");
		json_int_t size = json_integer_value(json_object_get(r, "size"));
		size_t len = strlen(text);
		/* Print what is new since the last poll (all of it for a new
		 * instance or a log that shrank). */
		if (strcmp(inst, last) != 0 || size < printed) {
			if (last[0] != '\0')
				printf("\n--- instance %s ---\n", inst);
			printed = size - (json_int_t)len;
			snprintf(last, sizeof last, "%s", inst);
		}
		json_int_t fresh = size - printed;
		if (fresh > 0)
			fputs(text + (len > (size_t)fresh ? len - (size_t)fresh : 0), stdout);
		printed = size;
		fflush(stdout);
		json_decref(r);
		if (follow && !got_signal)
			usleep(500000);
	} while (follow && !got_signal);
	return 0;
}

/* ---- run -------------------------------------------------------------------- */

static volatile pid_t child_pid;
static int sigchld_pipe[2] = { -1, -1 };

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(sigchld_pipe[1], "c", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static pid_t spawn(char **cmd, const char *name, const char *domain, const char *uri)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	setenv("SESSIOND_SESSION", name, 1);
	setenv("SESSIOND_DOMAIN", domain, 1);
	setenv("SESSIOND_URI", uri, 1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	execvp(cmd[0], cmd);
	fprintf(stderr, "sessionctl: run: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the child while keeping the connection (and so the token)
 * alive and reporting a revocation. */
static int wait_child(struct ctx *x, pid_t pid)
{
	bool connected = true;
	int status;

	for (;;) {
		struct pollfd pfd[2] = { { sigchld_pipe[0], POLLIN, 0 }, { sdc_fd(x->c), POLLIN, 0 } };
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (poll(pfd, connected ? 2 : 1, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			char buf[64];
			if (read(sigchld_pipe[0], buf, sizeof buf) < 0)
				continue;
		}
		if (connected && (pfd[1].revents & (POLLIN | POLLHUP))) {
			struct sdc_error e;
			if (sdc_poll(x->c, 0, &e) < 0) {
				fprintf(stderr, "sessionctl: run: %s; the VM is no longer held\n", e.message);
				connected = false;
			}
		}
	}
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int cmd_run(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS,
		{ "reason", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
	char reason[256] = "", token[64], uri[512] = "";
	json_t *r = NULL, *info = NULL;
	struct sdc_error e;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'r')
			snprintf(reason, sizeof reason, "%s", optarg);
		else if (common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind < 2)
		return usage_error("run: expected NAME -- CMD [ARG...]");
	const char *name = argv[optind];
	char **cmd = argv + optind + 1;
	if (reason[0] == '\0')
		snprintf(reason, sizeof reason, "sessionctl run: %s", cmd[0]);
	if (connect_daemon(x) < 0)
		return EXIT_UNREACHABLE;
	if (sdc_daemon_info(x->c, &info, &e) < 0)
		return refused(&e);
	snprintf(uri, sizeof uri, "%s", jstr(info, "uri", ""));
	json_decref(info);
	if ((rc = acquire(x, name, reason, 0, false, token, &r)) != 0)
		return rc;
	char domain[256];
	snprintf(domain, sizeof domain, "%s",
		 jstr(json_object_get(json_object_get(r, "session"), "instance"), "domain", ""));
	json_decref(r);
	if (pipe(sigchld_pipe) < 0)
		return fprintf(stderr, "sessionctl: pipe: %s\n", strerror(errno)), EXIT_REFUSED;
	install(SIGCHLD, on_sigchld);
	install(SIGINT, forward_signal);
	install(SIGTERM, forward_signal);
	install(SIGHUP, forward_signal);
	child_pid = spawn(cmd, name, domain, uri);
	if (child_pid < 0) {
		fprintf(stderr, "sessionctl: run: fork: %s\n", strerror(errno));
		return EXIT_REFUSED;
	}
	rc = wait_child(x, child_pid);
	if (sdc_token_release(x->c, token, &e) < 0 && e.code != RPC_ERR_NOT_FOUND &&
	    e.code != SDC_ERR_IO)
		fprintf(stderr, "sessionctl: run: releasing the hold: %s\n", e.message);
	return rc;
}

/* ---- the table ------------------------------------------------------------------ */

static const struct command commands[] = {
	{ "create", cmd_create, "NAME [--grace D|never] [--storage persistent|ephemeral]\n"
	  "        [--crash-policy terminate|restart] [--memory MIB] [--vcpus N]\n"
	  "        [--domain-type auto|kvm|qemu] [--kernel PATH] [--initrd PATH] [--cmdline TEXT]\n"
	  "        [--image PATH] [--disk VOLUME|PATH] [--disk-gib N] [--ready-pattern REGEX]\n"
	  "        [--ready-timeout D] [--stop-timeout D]", "create a session (no VM starts yet)" },
	{ "list", cmd_list, "", "list the sessions you may see" },
	{ "status", cmd_status, "NAME", "state, holds, idle deadline, start count, last stop" },
	{ "holds", cmd_holds, "NAME", "what keeps the VM up" },
	{ "start", cmd_start, "NAME", "start the VM now (the grace period runs if nothing holds it)" },
	{ "stop", cmd_stop, "NAME [--force]", "stop the VM now (refused while held, unless --force)" },
	{ "reset", cmd_reset, "NAME", "return a failed session to stopped" },
	{ "delete", cmd_delete, "NAME [--keep-storage]", "stop the VM and delete the session" },
	{ "hold", cmd_hold, "NAME [--ttl D] [--reason TEXT] [--detach]",
	  "hold the VM up until interrupted (or for D); --detach prints the token and exits" },
	{ "release", cmd_release, "TOKEN", "release a hold by its token" },
	{ "watch", cmd_watch, "[NAME]", "print session events as they happen" },
	{ "info", cmd_info, "NAME", "domain facts from libvirt (starts the VM if needed)" },
	{ "console", cmd_console, "NAME [--follow]",
	  "print the serial console log of the current or last VM (logs is an alias)" },
	{ "logs", cmd_console, "NAME [--follow]", "same as console" },
	{ "run", cmd_run, "NAME [--reason TEXT] -- CMD [ARG...]",
	  "hold the VM up while CMD runs; exit with its status" },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fputs("Usage: sessionctl [--socket PATH] [--json] [--owner UID] COMMAND [ARGS]\n"
	      "Control sessiond: per-user sessions whose VMs run only while needed.\n\n"
	      "Commands:\n", f);
	for (const struct command *c = commands; c->name != NULL; c++)
		fprintf(f, "  %-8s %s\n           %s\n", c->name, c->args, c->help);
	fputs("\nOptions (before or after the command):\n"
	      "  --socket PATH  sessiond's socket (default: $SESSIOND_SOCKET, else the\n"
	      "                 default of sessiond(8) for your user)\n"
	      "  --json         print results as JSON\n"
	      "  --owner UID    act on another user's session (root only)\n"
	      "  -h, --help     this help (after a command: that command's)\n"
	      "  --version      print the version\n\n"
	      "Durations: 90s, 5m, 1h, 1.5s.  Exit status: 0 success, 1 sessiond refused,\n"
	      "2 usage error, 3 sessiond unreachable; run exits with CMD's status.\n"
	      "See sessionctl(1).\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
	struct ctx x = { .owner = -1 };
	int ch;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'V') {
			printf("sessionctl %s (protocol %d)\n", SESSIOND_VERSION, SESSIOND_PROTOCOL_VERSION);
			return 0;
		}
		if (ch == '?' || common_opt(&x, ch, "sessionctl") != 0) {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (const struct command *c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		argv += optind;
		argc -= optind;
		optind = 0;                 /* GNU getopt: rescan from argv[1] */
		int rc = c->fn(&x, argc, argv);
		sdc_close(x.c);
		return rc;
	}
	return usage_error("unknown command '%s'", name);
}
