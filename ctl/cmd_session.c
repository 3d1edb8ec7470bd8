/*
 * cmd_session.c — the commands on a session as a whole: create, list,
 * status, holds, start, stop, reset, delete; and hosts (see ctl.h).
 *
 * create's options are the rows of settings_table that have a flag; their
 * text is parsed as sessiond.conf parses the same text.  --host is not a
 * setting but where the session goes: a parameter of session.create.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

#include "../common/timeutil.h"
#include "../common/xalloc.h"

/* ---- create ------------------------------------------------------------------ */

/* getopt's value for settings_table[i] is OPT_FIELD + i. */
#define OPT_FIELD 2000
#define OPT_HOST 1999

/* The common options, then one per row of settings_table with a flag;
 * ends with a zeroed entry.  The caller frees it. */
static struct option *create_options(void)
{
	static const struct option common[] = { CTL_COMMON_OPTS };
	size_t n = sizeof common / sizeof common[0], rows = 0;

	while (settings_table[rows].key != NULL)
		rows++;
	struct option *opts = xcalloc(n + rows + 2, sizeof *opts);
	memcpy(opts, common, sizeof common);
	opts[n++] = (struct option){ "host", required_argument, NULL, OPT_HOST };
	for (size_t i = 0; i < rows; i++) {
		const struct field *f = &settings_table[i];
		if (f->flag != NULL)
			opts[n++] = (struct option){ f->flag, required_argument, NULL,
						     OPT_FIELD + (int)i };
	}
	return opts;
}

/* One option's text into settings[f->key], exactly as sessiond.conf reads
 * the same text: into its JSON value, which must then pass the row's
 * checks (bounds, lengths). */
static int create_setting(json_t *settings, const struct field *f, const char *text)
{
	struct settings check;
	struct cause c;
	json_t *v = NULL;

	settings_builtin(&check);
	int rc = fields_set_text(f, &check, text, &c);
	settings_free(&check);
	if (rc < 0 || fields_text_json(f, text, &v, &c) < 0)
		return ctl_usage_error("create: --%s: %s", f->flag, c.msg);
	json_object_set_new(settings, f->key, v);
	return 0;
}

static void show_created(struct ctx *x, json_t *s)
{
	(void)x;
	printf("created session '%s' (id %s)\n", out_str(s, "name", "?"), out_str(s, "id", "?"));
}

int cmd_create(struct ctx *x, int argc, char **argv)
{
	struct option *opts = create_options();
	json_t *settings = json_object(), *r = NULL;
	struct sdc_error e;
	int ch, rc = 0;

	while (rc == 0 && (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == OPT_HOST)
			json_object_set_new(settings, "host", json_string(optarg));
		else
			rc = ch >= OPT_FIELD ? create_setting(settings, &settings_table[ch - OPT_FIELD],
							      optarg)
					     : ctl_common_opt(x, ch, argv[0]);
	}
	free(opts);
	if (rc == 0 && argc - optind != 1)
		rc = ctl_usage_error("create: expected one session name");
	if (rc == 0)
		rc = ctl_connect(x);
	if (rc == 0) {
		rc = sdc_session_create(x->c, argv[optind], settings, &r, &e);
		rc = ctl_result(x, rc, &e, r, show_created);
	}
	json_decref(settings);
	return rc;
}

/* ---- list / status / holds ------------------------------------------------------ */

static void list_header(void)
{
	printf("%-20s %-6s %-9s %5s %-10s %6s  %-12s %s\n", "NAME", "UID", "STATE", "HOLDS",
	       "IDLE STOP", "STARTS", "HOST", "LAST STOP");
}

/* A session's host, with "!" when that host is away. */
static void host_text(json_t *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", out_str(s, "host", "-"),
		 json_is_false(json_object_get(s, "host_connected")) ? "!" : "");
}

static void list_row(json_t *s)
{
	char idle[40], host[80];

	out_until(s, "idle_deadline", idle, sizeof idle, "-");
	host_text(s, host, sizeof host);
	printf("%-20s %-6d %-9s %5lld %-10s %6d  %-12s %s\n", out_str(s, "name", "?"),
	       (int)json_integer_value(json_object_get(s, "owner_uid")),
	       out_str(s, "state", "?"), (long long)json_integer_value(json_object_get(s, "holds_count")),
	       idle, (int)json_integer_value(json_object_get(s, "start_count")), host,
	       out_str(s, "last_stop_reason", "-"));
}

/* Prints what it iterates as it comes: a table, or with --json one array. */
static int stream(struct ctx *x, struct sdc_iter *it, const char *wrap, void (*header)(void),
		  void (*row)(json_t *), const char *empty)
{
	struct out_stream st = { x->json, wrap, 0, header, row, empty };
	struct sdc_error e;
	json_t *item;

	if (it == NULL)
		return ctl_usage_error("out of memory");
	/* Printed as it comes, flushed once per page (not per item: 100,000
	 * sessions would be 100,000 writes). */
	while ((item = sdc_iter_next(it, &e)) != NULL) {
		out_stream_item(&st, item);
		if (sdc_iter_buffered(it) == 0)
			fflush(stdout);
	}
	bool failed = sdc_iter_failed(it);
	sdc_iter_free(it);
	/* A failure after some pages still closes what was printed. */
	if (!failed || st.n > 0)
		out_stream_end(&st);
	return failed ? ctl_refused(&e) : 0;
}

int cmd_list(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { CTL_COMMON_OPTS,
		{ "state", required_argument, NULL, 's' }, { "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 } };
	struct sdc_list_opts o = { NULL, 0, NULL };
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 's')
			o.state = optarg;
		else if (ch == 'H')
			o.host = optarg;
		else if ((rc = ctl_common_opt(x, ch, argv[0])) != 0)
			return rc;
	}
	if (argc != optind)
		return ctl_usage_error("list: expected no operand");
	if ((rc = ctl_connect(x)) != 0)
		return rc;
	/* --json: {"sessions": [...]}, the shape of session.list's result. */
	return stream(x, sdc_sessions_iter(x->c, &o), "sessions", list_header, list_row,
		      "no sessions");
}

static void holds_header(void);
static void holds_row(json_t *h);

static void show_holds_table(json_t *holds)
{
	json_t *h;
	size_t i;

	holds_header();
	json_array_foreach(holds, i, h)
		holds_row(h);
}

/* "Idle stop:" and the grace of status. */
static void show_idle(json_t *s, json_t *holds)
{
	char idle[64], grace[32];

	if (json_is_string(json_object_get(s, "grace_s")))
		snprintf(grace, sizeof grace, "never");
	else
		duration_format(json_number_value(json_object_get(s, "grace_s")), grace, sizeof grace);
	if (json_array_size(holds) > 0)
		snprintf(idle, sizeof idle, "held");
	else
		out_until(s, "idle_deadline", idle, sizeof idle,
			  strcmp(out_str(s, "state", ""), "running") == 0 ? "never (no grace)" : "-");
	printf("Idle stop:    %s (grace %s)\n", idle, grace);
}

/* "Holds:" and the holds table of status. */
static void show_status_holds(json_t *s, json_t *holds)
{
	int waiting = (int)json_integer_value(json_object_get(s, "waiting"));
	json_int_t n = json_integer_value(json_object_get(s, "holds_count"));

	printf("Holds:        %lld", (long long)n);
	if (waiting > 0)
		printf(" (%d waiting for the VM)", waiting);
	if ((size_t)n > json_array_size(holds))
		printf(" (the first %zu below; sessionctl holds %s lists all)", json_array_size(holds),
		       out_str(s, "name", "?"));
	putchar('\n');
	if (json_array_size(holds) > 0)
		show_holds_table(holds);
}

static void show_status(struct ctx *x, json_t *s)
{
	json_t *inst = json_object_get(s, "instance"), *holds = json_object_get(s, "holds");
	json_t *saved = json_object_get(s, "saved_state");
	char up[32], tier[128];

	(void)x;
	printf("Session:      %s (uid %d, id %s)\n", out_str(s, "name", "?"),
	       (int)json_integer_value(json_object_get(s, "owner_uid")), out_str(s, "id", "?"));
	out_tier(s, tier, sizeof tier);
	printf("State:        %s\n", tier);
	if (json_is_string(json_object_get(s, "host")))
		printf("Host:         %s (%s)\n", out_str(s, "host", "?"),
		       json_is_true(json_object_get(s, "host_connected")) ? "connected"
		       : "not connected: requests that need the VM wait for it");
	if (json_is_object(inst))
		printf("VM:           %s (instance %s, scratch %s)\n", out_str(inst, "domain", "?"),
		       out_str(inst, "id", "?"), out_str(inst, "scratch", "none"));
	if (json_is_object(saved))
		printf("Saved memory: %s\n", out_str(saved, "path", "?"));
	show_idle(s, holds);
	show_status_holds(s, holds);
	printf("Starts:       %d (restores %d)\n",
	       (int)json_integer_value(json_object_get(s, "start_count")),
	       (int)json_integer_value(json_object_get(s, "restore_count")));
	printf("Last stop:    %s%s%s\n", out_str(s, "last_stop_reason", "-"),
	       json_is_string(json_object_get(s, "last_stop_detail")) ? ": " : "",
	       out_str(s, "last_stop_detail", ""));
	if (json_is_string(json_object_get(s, "failed_reason")))
		printf("Failed:       %s (sessionctl reset %s)\n", out_str(s, "failed_reason", ""),
		       out_str(s, "name", ""));
	if (json_is_string(json_object_get(s, "warning")))
		printf("Warning:      %s\n", out_str(s, "warning", ""));
	duration_format(json_number_value(json_object_get(s, "uptime_s")), up, sizeof up);
	printf("VM uptime:    %s total\n", up);
	printf("Settings:     %s storage, crash policy %s, %d MiB, %d vCPU, domain type %s, "
	       "idle action %s\n", out_str(s, "storage", "?"), out_str(s, "crash_policy", "?"),
	       (int)json_integer_value(json_object_get(s, "memory_mib")),
	       (int)json_integer_value(json_object_get(s, "vcpus")), out_str(s, "domain_type", "?"),
	       out_str(s, "idle_action", "?"));
}

/* session.get of name, shown by show. */
static int get_session(struct ctx *x, const char *name, ctl_show_fn show)
{
	struct sdc_error e;
	json_t *r = NULL;
	int rc = sdc_session_get(x->c, name, &r, &e);

	return ctl_result(x, rc, &e, r, show);
}

int cmd_status(struct ctx *x, int argc, char **argv)
{
	int rc = ctl_begin(x, argc, argv, 1, 1);

	return rc != 0 ? rc : get_session(x, argv[optind], show_status);
}

static void holds_header(void)
{
	printf("  %-5s  %-36s  %-24s %7s  %-8s  %s\n", "KIND", "ID", "REASON", "PID", "SINCE",
	       "EXPIRES");
}

static void holds_row(json_t *h)
{
	char since[32], exp[40];

	out_local_time(out_str(h, "since", NULL), since, sizeof since);
	out_until(h, "expires", exp, sizeof exp, "-");
	printf("  %-5s  %-36s  %-24.24s %7d  %-8s  %s\n", out_str(h, "kind", "?"),
	       out_str(h, "id", "?"), out_str(h, "reason", ""),
	       (int)json_integer_value(json_object_get(h, "owner_pid")), since, exp);
}

/* The session first (its state and idle deadline head the table), then
 * its holds page after page. */
int cmd_holds(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *s = NULL;
	char idle[64];
	int rc = ctl_begin(x, argc, argv, 1, 1);

	if (rc != 0)
		return rc;
	const char *name = argv[optind];
	if (!x->json) {
		if (sdc_session_get(x->c, name, &s, &e) < 0)
			return ctl_refused(&e);
		if (json_integer_value(json_object_get(s, "holds_count")) == 0) {
			out_until(s, "idle_deadline", idle, sizeof idle, "not scheduled");
			printf("nothing holds session '%s' (%s); idle stop: %s\n", name,
			       out_str(s, "state", "?"), idle);
			json_decref(s);
			return 0;
		}
		printf("session '%s' (%s) is held by:\n", name, out_str(s, "state", "?"));
		json_decref(s);
	}
	return stream(x, sdc_holds_iter(x->c, name, 0), NULL, holds_header, holds_row, "");
}

/* ---- start / stop / reset / delete ------------------------------------------------ */

int cmd_start(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;
	char idle[64];
	int rc = ctl_begin(x, argc, argv, 1, 1);

	if (rc != 0)
		return rc;
	rc = progress_begin(x, argv[optind], &e);
	if (rc == 0)
		rc = sdc_session_start(x->c, argv[optind], &r, &e);
	progress_end(x);
	if (rc == 0 && !x->json) {
		out_until(r, "idle_deadline", idle, sizeof idle, "not scheduled");
		printf("session '%s' is running (idle stop: %s)\n", argv[optind], idle);
	}
	return ctl_result(x, rc, &e, r, NULL);
}

static void show_stopped(struct ctx *x, json_t *s)
{
	(void)x;
	printf("session '%s' is %s\n", out_str(s, "name", "?"), out_str(s, "state", "?"));
}

/* Commands with the common options, one flag (a bool) and one session name. */
static int flag_and_name(struct ctx *x, int argc, char **argv, const char *flag, bool *on)
{
	const struct option opts[] = { CTL_COMMON_OPTS, { flag, no_argument, NULL, flag[0] },
				       { NULL, 0, NULL, 0 } };
	const char shortopts[] = { 'h', flag[0], '\0' };
	int ch;

	/* -f for --force, -k for --keep-storage */
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (ch == flag[0])
			*on = true;
		else if (ctl_common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return ctl_usage_error("%s: expected one session name", argv[0]);
	return ctl_connect(x);
}

/* A suspended session's stop discards its saved memory: say so first. */
static void tell_discard(struct ctx *x, const char *name)
{
	struct sdc_error e;
	json_t *s = NULL, *saved;
	char size[32];

	if (x->json || sdc_session_get(x->c, name, &s, &e) < 0)
		return;
	saved = json_object_get(s, "saved_state");
	if (strcmp(out_str(s, "state", ""), "suspended") == 0 && json_is_object(saved)) {
		out_bytes(json_number_value(json_object_get(saved, "bytes")), size, sizeof size);
		printf("session '%s' is suspended: stopping discards its saved memory (%s); "
		       "the next start boots afresh\n", name, size);
	}
	json_decref(s);
}

int cmd_stop(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	bool force = false;
	json_t *r = NULL;
	int rc = flag_and_name(x, argc, argv, "force", &force);

	if (rc != 0)
		return rc;
	tell_discard(x, argv[optind]);
	rc = sdc_session_stop(x->c, argv[optind], force, &r, &e);
	return ctl_result(x, rc, &e, r, show_stopped);
}

int cmd_reset(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;
	int rc = ctl_begin(x, argc, argv, 1, 1);

	if (rc != 0)
		return rc;
	rc = sdc_session_reset(x->c, argv[optind], &r, &e);
	return ctl_result(x, rc, &e, r, show_stopped);
}

int cmd_delete(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	bool keep = false;
	int rc = flag_and_name(x, argc, argv, "keep-storage", &keep);

	if (rc != 0)
		return rc;
	rc = sdc_session_delete(x->c, argv[optind], keep, &e);
	if (rc == 0 && !x->json)
		printf("deleted session '%s'\n", argv[optind]);
	/* The result of session.delete is {} (sessiond-protocol(7)). */
	return ctl_result(x, rc, &e, json_object(), NULL);
}

/* ---- hosts ------------------------------------------------------------------------ */

static void hosts_header(void)
{
	printf("%-12s %-9s %10s %10s %10s %5s %8s  %s\n", "HOST", "LINK", "MEMORY", "COMMITTED",
	       "ROOM", "VMS", "SESSIONS", "URI");
}

/* MiB as a column: "-" for no limit. */
static void mib_text(json_t *v, char *buf, size_t len)
{
	if (json_is_number(v))
		snprintf(buf, len, "%.0f", json_number_value(v));
	else
		snprintf(buf, len, "-");
}

static void hosts_row(json_t *h)
{
	json_t *mem = json_object_get(h, "memory_mib");
	double committed = json_number_value(json_object_get(h, "committed_mib"));
	char cap[24], com[24], room[24];

	mib_text(mem, cap, sizeof cap);
	snprintf(com, sizeof com, "%.0f", committed);
	if (json_is_number(mem))
		snprintf(room, sizeof room, "%.0f", json_number_value(mem) - committed);
	else
		snprintf(room, sizeof room, "-");
	printf("%-12s %-9s %10s %10s %10s %5lld %8lld  %s\n", out_str(h, "name", "?"),
	       out_str(h, "link", "?"), cap, com, room,
	       (long long)json_integer_value(json_object_get(h, "vms")),
	       (long long)json_integer_value(json_object_get(h, "sessions")), out_str(h, "uri", "?"));
	if (json_is_string(json_object_get(h, "error")))
		printf("%-12s   %s\n", "", out_str(h, "error", ""));
}

static void show_hosts(struct ctx *x, json_t *info)
{
	json_t *hosts = json_object_get(info, "hosts"), *h;
	size_t i;

	(void)x;
	hosts_header();
	json_array_foreach(hosts, i, h)
		hosts_row(h);
}

/* daemon.info's hosts: a table, or with --json {"hosts": [...]}. */
int cmd_hosts(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;
	int rc = ctl_begin(x, argc, argv, 0, 0);

	if (rc != 0)
		return rc;
	rc = sdc_daemon_info(x->c, &r, &e);
	if (rc == 0 && x->json) {
		json_t *only = json_pack("{s:O}", "hosts", json_object_get(r, "hosts"));
		json_decref(r);
		r = only;
	}
	return ctl_result(x, rc, &e, r, show_hosts);
}
