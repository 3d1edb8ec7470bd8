/*
 * cmd_watch.c — the commands that look at a session from outside: watch
 * (its events), info (its domain), console (its serial log); and reload,
 * which looks at the daemon's configuration (see ctl.h).
 */
#include "ctl.h"

#include <string.h>
#include <unistd.h>

#define WATCH_POLL_MS 500
#define CONSOLE_POLL_US 500000

/* ---- watch ---------------------------------------------------------------------- */

/* One notification: a line of compact JSON, or of text for session.event. */
static void print_event(const char *method, json_t *p, void *arg)
{
	static const char *const extra[] = { "reason", "action", "detail", "deadline", "warning" };
	struct ctx *x = arg;
	char when[32];

	if (x->json) {
		json_t *m = json_pack("{s:s, s:O}", "method", method, "params", p);
		out_json_line(m);
		json_decref(m);
	} else if (strcmp(method, RPC_NOTIFY_SESSION_EVENT) == 0) {
		out_local_time(out_str(p, "time", NULL), when, sizeof when);
		printf("%s  %-16s %-9s %-9s", when, out_str(p, "name", "?"), out_str(p, "event", "?"),
		       out_str(p, "state", "?"));
		for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
			if (json_is_string(json_object_get(p, extra[i])))
				printf(" %s=%s", extra[i], out_str(p, extra[i], ""));
		if (json_is_true(json_object_get(p, "restore")))
			printf(" restore");
		if (json_is_string(json_object_get(p, "instance")))
			printf(" instance=%.8s", out_str(p, "instance", ""));
		putchar('\n');
	}
	fflush(stdout);
}

int cmd_watch(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	int rc = ctl_begin(x, argc, argv, 0, 1);

	if (rc != 0)
		return rc;
	sdc_set_notify(x->c, print_event, x);
	if (sdc_session_watch(x->c, optind < argc ? argv[optind] : NULL, &e) < 0)
		return ctl_refused(&e);
	ctl_catch_signals(false);
	while (!ctl_interrupted())
		if (sdc_poll(x->c, WATCH_POLL_MS, &e) < 0)
			return ctl_refused(&e);
	return 0;
}

/* ---- info ------------------------------------------------------------------------ */

/* "Balloon:" and "QEMU RSS:" lines, when libvirt says. */
static void show_balloon(json_t *r)
{
	json_t *b = json_object_get(r, "balloon"), *rss = json_object_get(r, "rss_kib");
	char size[32];

	if (json_is_object(b)) {
		printf("Balloon:   %s%s", out_str(b, "model", "?"),
		       json_is_true(json_object_get(b, "free_page_reporting"))
		       ? ", free page reporting" : "");
		if (json_is_integer(json_object_get(b, "actual_kib"))) {
			out_bytes(1024.0 * (double)json_integer_value(json_object_get(b, "actual_kib")),
				  size, sizeof size);
			printf(", actual %s", size);
		}
		if (json_is_integer(json_object_get(b, "unused_kib"))) {
			out_bytes(1024.0 * (double)json_integer_value(json_object_get(b, "unused_kib")),
				  size, sizeof size);
			printf(", unused in the guest %s", size);
		}
		putchar('\n');
	}
	if (json_is_integer(rss)) {
		out_bytes(1024.0 * (double)json_integer_value(rss), size, sizeof size);
		printf("QEMU RSS:  %s\n", size);
	}
}

static void show_info(struct ctx *x, json_t *r)
{
	char mem[32];

	(void)x;
	snprintf(mem, sizeof mem, "%lld MiB",
		 (long long)json_integer_value(json_object_get(r, "memory_kib")) / 1024);
	printf("Session:   %s\nDomain:    %s\nUUID:      %s\nState:     %s\nMemory:    %s\n"
	       "vCPUs:     %d\nCPU time:  %.2fs\nDriver:    %s\n", out_str(r, "session", "?"),
	       out_str(r, "name", "?"), out_str(r, "uuid", "?"), out_str(r, "state", "?"), mem,
	       (int)json_integer_value(json_object_get(r, "vcpus")),
	       json_number_value(json_object_get(r, "cpu_time_s")), out_str(r, "driver", "?"));
	show_balloon(r);
}

int cmd_info(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;
	int rc = ctl_begin(x, argc, argv, 1, 1);

	if (rc != 0)
		return rc;
	rc = progress_begin(x, argv[optind], &e);
	if (rc == 0)
		rc = sdc_vm_info(x->c, argv[optind], &r, &e);
	progress_end(x);
	return ctl_result(x, rc, &e, r, show_info);
}

/* ---- console --------------------------------------------------------------------- */

/* What was printed of the console log so far. */
struct console_seen {
	char instance[64];
	json_int_t printed;                 /* bytes of the log up to here */
};

/* Prints what is new in a vm.console result since the last one: all of it
 * for a new instance or a log that shrank. */
static void console_print_new(struct console_seen *seen, json_t *r)
{
	const char *inst = out_str(r, "instance", ""), *text = out_str(r, "text", "");
	json_int_t size = json_integer_value(json_object_get(r, "size"));
	size_t len = strlen(text);

	if (strcmp(inst, seen->instance) != 0 || size < seen->printed) {
		if (seen->instance[0] != '\0')
			printf("\n--- instance %s ---\n", inst);
		seen->printed = size - (json_int_t)len;
		snprintf(seen->instance, sizeof seen->instance, "%s", inst);
	}
	json_int_t fresh = size - seen->printed;
	if (fresh > 0)
		fputs(text + (len > (size_t)fresh ? len - (size_t)fresh : 0), stdout);
	seen->printed = size;
	fflush(stdout);
}

int cmd_console(struct ctx *x, int argc, char **argv)
{
	static const struct option opts[] = { CTL_COMMON_OPTS,
		{ "follow", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	struct console_seen seen = { "", 0 };
	bool follow = false;
	struct sdc_error e;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		if (ch == 'f')
			follow = true;
		else if (ctl_common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return ctl_usage_error("console: expected one session name");
	if ((rc = ctl_connect(x)) != 0)
		return rc;
	ctl_catch_signals(false);
	do {
		json_t *r = NULL;
		if (sdc_vm_console(x->c, argv[optind], 0, &r, &e) < 0)
			return ctl_refused(&e);
		if (x->json)
			return ctl_result(x, 0, &e, r, NULL);
		console_print_new(&seen, r);
		json_decref(r);
		if (follow && !ctl_interrupted())
			usleep(CONSOLE_POLL_US);
	} while (follow && !ctl_interrupted());
	return 0;
}

/* ---- reload ------------------------------------------------------------------------ */

/* A value as sessiond.conf says it: strings bare, numbers short. */
static void print_value(json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_number(v))
		printf("%.15g", json_number_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", stdout);
	else
		fputs("(none)", stdout);
}

/* "  max_sessions_per_user = 2 (was 64)" per change. */
static void show_changes(json_t *changes, const char *title)
{
	size_t i;
	json_t *ch;

	if (json_array_size(changes) == 0)
		return;
	printf("%s:\n", title);
	json_array_foreach(changes, i, ch) {
		printf("  %s = ", out_str(ch, "key", "?"));
		print_value(json_object_get(ch, "new"));
		fputs(" (was ", stdout);
		print_value(json_object_get(ch, "old"));
		puts(")");
	}
}

static void show_reload(struct ctx *x, json_t *r)
{
	json_t *applied = json_object_get(r, "applied"), *ignored = json_object_get(r, "ignored");

	(void)x;
	printf("reloaded %s\n", out_str(r, "config", "?"));
	if (json_array_size(applied) == 0 && json_array_size(ignored) == 0)
		puts("nothing changed");
	show_changes(applied, "applied");
	show_changes(ignored, "ignored until sessiond restarts");
}

int cmd_reload(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	json_t *r = NULL;
	int rc = ctl_begin(x, argc, argv, 0, 0);

	if (rc != 0)
		return rc;
	rc = sdc_daemon_reload(x->c, &r, &e);
	return ctl_result(x, rc, &e, r, show_reload);
}
