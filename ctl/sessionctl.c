/*
 * sessionctl.c — main, the command table, usage, the options every command
 * takes, connecting, signals and exit statuses (see ctl.h).
 *
 * A table drives the commands and usage(); a command with a field table
 * (create: settings_table) shows that table's options in its synopsis and
 * their help under --help.
 */
#include "ctl.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/timeutil.h"

const struct command ctl_commands[] = {
	{ "create", cmd_create, "NAME [--host HOST]", settings_table,
	  "create a session (no VM starts yet); --host pins it to that host" },
	{ "list", cmd_list, "[--state STATE] [--host HOST]", NULL,
	  "list the sessions you may see (page after page, as they come)" },
	{ "status", cmd_status, "NAME", NULL, "state, holds, idle deadline, start count, last stop" },
	{ "holds", cmd_holds, "NAME", NULL, "what keeps the VM up" },
	{ "start", cmd_start, "NAME", NULL,
	  "start the VM now (the grace period runs if nothing holds it)" },
	{ "stop", cmd_stop, "NAME [--force]", NULL,
	  "stop the VM now (refused while held, unless --force)" },
	{ "reset", cmd_reset, "NAME", NULL, "return a failed session to stopped" },
	{ "delete", cmd_delete, "NAME [--keep-storage]", NULL, "stop the VM and delete the session" },
	{ "hold", cmd_hold, "NAME [--ttl D] [--reason TEXT] [--detach]", NULL,
	  "hold the VM up until interrupted (or for D); --detach prints the token and exits" },
	{ "release", cmd_release, "TOKEN", NULL, "release a hold by its token" },
	{ "watch", cmd_watch, "[NAME]", NULL, "print session events as they happen" },
	{ "info", cmd_info, "NAME", NULL, "domain facts from libvirt (starts the VM if needed)" },
	{ "console", cmd_console, "NAME [--follow]", NULL,
	  "print the serial console log of the current or last VM (logs is an alias)" },
	{ "logs", cmd_console, "NAME [--follow]", NULL, "same as console" },
	{ "run", cmd_run, "NAME [--reason TEXT] -- CMD [ARG...]", NULL,
	  "hold the VM up while CMD runs; exit with its status" },
	{ "hosts", cmd_hosts, "", NULL,
	  "the hosts: connected or not, memory, committed, room, VMs, sessions" },
	{ "reload", cmd_reload, "", NULL,
	  "make sessiond re-read sessiond.conf (root only); says what changed" },
	/* For the shell completion, not for people: sessionctl(1), COMPLETION. */
	{ "complete", cmd_complete, "-- PROGRAM WORD...", NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

/* ---- usage ------------------------------------------------------------------ */

/* Synopsis lines end before this column; continuation lines start at 8. */
#define SYNOPSIS_WIDTH 90
#define SYNOPSIS_INDENT "        "

/* The command's args, then "[--flag METAVAR]" for each row of its field
 * table, wrapped; col is where the cursor stands. */
static void print_args(FILE *f, const struct command *c, int col)
{
	char item[128];

	col += fprintf(f, "%s", c->args);
	for (const struct field *r = c->fields; r != NULL && r->key != NULL; r++) {
		if (r->flag == NULL)
			continue;
		int n = snprintf(item, sizeof item, "[--%s %s]", r->flag,
				 r->metavar ? r->metavar : "VALUE");
		if (col + 1 + n > SYNOPSIS_WIDTH)
			col = fprintf(f, "\n" SYNOPSIS_INDENT) - 1;
		else
			col += fprintf(f, " ");
		col += fprintf(f, "%s", item);
	}
}

static void usage(FILE *f)
{
	fputs("Usage: sessionctl [--socket PATH] [--json] [--owner UID] COMMAND [ARGS]\n"
	      "Control sessiond: per-user sessions whose VMs run only while needed.\n\n"
	      "Commands:\n", f);
	for (const struct command *c = ctl_commands; c->name != NULL; c++) {
		if (c->help == NULL)
			continue;
		print_args(f, c, fprintf(f, "  %-8s ", c->name));
		fprintf(f, "\n           %s\n", c->help);
	}
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

/* sessionctl CMD --help: its synopsis, and the help of its table's options. */
static void command_help(const char *cmd)
{
	for (const struct command *c = ctl_commands; c->name; c++) {
		if (strcmp(c->name, cmd) != 0)
			continue;
		print_args(stdout, c, printf("Usage: sessionctl %s ", c->name));
		printf("\n%s\n", c->help != NULL ? c->help : "");
		if (c->fields != NULL) {
			puts("\nOptions:");
			fields_print_options(c->fields, stdout);
		}
	}
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sessionctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sessionctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* ---- options ------------------------------------------------------------------ */

int ctl_common_opt(struct ctx *x, int ch, const char *cmd)
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
			return ctl_usage_error("--owner: expected a uid");
		return 0;
	case 'h':
		command_help(cmd);
		exit(0);
	default:
		return ctl_usage_error("%s: unknown option (see 'sessionctl %s --help')", cmd, cmd);
	}
}

int ctl_begin(struct ctx *x, int argc, char **argv, int want_min, int want_max)
{
	static const struct option opts[] = { CTL_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (ctl_common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	int n = argc - optind;
	if (n < want_min || n > want_max)
		return ctl_usage_error("%s: expected %s", argv[0],
				       want_min == want_max && want_min == 1 ? "one operand"
									     : "other operands");
	return ctl_connect(x);
}

bool ctl_duration_arg(const char *opt, const char *text, double *out)
{
	if (duration_parse(text, out))
		return true;
	ctl_usage_error("%s: '%s' is not a duration (e.g. 90s, 5m, 1h)", opt, text);
	return false;
}

/* ---- the daemon ----------------------------------------------------------------- */

int ctl_connect(struct ctx *x)
{
	struct sdc_error e;

	x->c = sdc_connect(x->socket, &e);
	if (x->c == NULL) {
		fprintf(stderr, "sessionctl: %s\n(is sessiond running? see sessiond(8); "
			"--socket or $SESSIOND_SOCKET selects another socket)\n", e.message);
		return EXIT_UNREACHABLE;
	}
	sdc_set_owner(x->c, x->owner);
	return 0;
}

int ctl_refused(const struct sdc_error *e)
{
	fprintf(stderr, "sessionctl: %s\n", e->message);
	return e->code == SDC_ERR_IO || e->code == SDC_ERR_TIMEOUT ? EXIT_UNREACHABLE
								   : EXIT_REFUSED;
}

int ctl_result(struct ctx *x, int rc, const struct sdc_error *e, json_t *result,
	       ctl_show_fn show)
{
	if (rc < 0) {
		json_decref(result);
		return ctl_refused(e);
	}
	if (x->json)
		out_json(result);
	else if (show != NULL)
		show(x, result);
	json_decref(result);
	return 0;
}

/* ---- signals ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void note_signal(int sig)
{
	got_signal = sig;
}

void ctl_catch_signals(bool hup)
{
	signal(SIGINT, note_signal);
	signal(SIGTERM, note_signal);
	if (hup)
		signal(SIGHUP, note_signal);
}

bool ctl_interrupted(void)
{
	return got_signal != 0;
}

/* ---- main --------------------------------------------------------------------------- */

static int dispatch(struct ctx *x, int argc, char **argv)
{
	for (const struct command *c = ctl_commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) != 0)
			continue;
		optind = 0;                 /* GNU getopt: rescan from argv[1] */
		int rc = c->fn(x, argc, argv);
		sdc_close(x->c);
		return rc;
	}
	return ctl_usage_error("unknown command '%s'", argv[0]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		CTL_COMMON_OPTS, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 } };
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
		if (ch == '?' || ctl_common_opt(&x, ch, "sessionctl") != 0) {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(&x, argc - optind, argv + optind);
}
