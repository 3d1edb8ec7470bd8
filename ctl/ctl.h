/*
 * ctl.h — ctl/'s contract: sessionctl(1), the command line of sessiond.
 *
 * sessionctl is a thin client.  Every request goes through a wrapper of the
 * client library (sessiond-client.h), never a method name of its own: the
 * daemon decides, sessionctl asks and prints.  Two tables drive it:
 *
 *   the command table (sessionctl.c)  dispatch, usage() and each
 *                                     command's --help;
 *   settings_table (settings/)        create's options, their parsing
 *                                     (exactly as sessiond.conf values)
 *                                     and their help.
 *
 * One prefix per file:
 *
 *   sessionctl.c   main, the command table, usage, the options every
 *                  command takes, connecting, signals, exit statuses: ctl_*
 *   output.c       how results look: JSON, strings, times: out_*
 *   progress.c     progress on a terminal while a VM comes up: progress_*
 *   cmd_session.c  create list status holds start stop reset delete hosts: cmd_*
 *   cmd_hold.c     hold release run (tokens, signals, the child): cmd_*
 *   cmd_watch.c    watch info console reload: cmd_*
 *   complete.c     complete: the words the shell completion offers,
 *                  from the command table, settings_table and the
 *                  daemon (the caller's session names): cmd_complete
 *
 * Exit status: 0 success, 1 sessiond refused (its message on stderr), 2 a
 * usage error, 3 sessiond unreachable or the connection broke; run exits
 * with its command's status.  Nothing outlives the process but what the
 * daemon keeps: a hold ends with the connection unless it was detached.
 */
#ifndef SESSIOND_CTL_H
#define SESSIOND_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "../rpc/sessiond-client.h"
#include "../settings/settings.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

/* What one run of sessionctl knows. */
struct ctx {
	const char *socket;
	bool json;
	bool holds_json;                    /* holds --json: the holds array only */
	long owner;                         /* --owner; -1: the caller */
	struct sdc *c;
	/* progress while a VM boots (progress.c) */
	bool progress;
	double wait_started;
	char wait_name[80];
	char wait_state[32];
	/* hold, run: the daemon revoked the token */
	bool revoked;
	char revoked_reason[512];
};

typedef int (*ctl_cmd_fn)(struct ctx *x, int argc, char **argv);

/* A row of the command table (sessionctl.c): dispatch, usage() and each
 * command's --help, and the shell completion (complete.c) read it. */
struct command {
	const char *name;
	ctl_cmd_fn fn;
	const char *args;                   /* the operands and own options */
	const struct field *fields;         /* then one option per row with a flag */
	const char *help;                   /* NULL: left out of usage() (complete) */
};

extern const struct command ctl_commands[];
/* Prints a result as text (--json prints it as JSON instead). */
typedef void (*ctl_show_fn)(struct ctx *x, json_t *result);

/* ---- sessionctl.c --------------------------------------------------------- */

/* The options every command takes; a command lists them first in its
 * getopt table and hands what it does not know itself to ctl_common_opt(). */
enum { OPT_SOCKET = 1000, OPT_JSON, OPT_OWNER };
#define CTL_COMMON_OPTS \
	{ "socket", required_argument, NULL, OPT_SOCKET }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "owner", required_argument, NULL, OPT_OWNER }, \
	{ "help", no_argument, NULL, 'h' }

/* 0, or EXIT_USAGE with the message printed; -h prints cmd's help and
 * exits 0. */
int ctl_common_opt(struct ctx *x, int ch, const char *cmd);
/* For commands with only the common options: parses them, checks that
 * between want_min and want_max operands follow (at argv[optind]) and
 * connects.  0, or EXIT_USAGE / EXIT_UNREACHABLE with the reason printed. */
int ctl_begin(struct ctx *x, int argc, char **argv, int want_min, int want_max);
/* "sessionctl: MESSAGE" and a hint on stderr; returns EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A duration option's value; false after a usage error naming opt. */
bool ctl_duration_arg(const char *opt, const char *text, double *out);

/* Connects x->c (acting as --owner): 0, or EXIT_UNREACHABLE with the
 * reason printed. */
int ctl_connect(struct ctx *x);
/* Prints the client library's error; EXIT_UNREACHABLE or EXIT_REFUSED. */
int ctl_refused(const struct sdc_error *e);
/* The end of a command that made one request: rc < 0 is refused(e), else
 * the result (stolen) as JSON or through show (NULL: nothing). */
int ctl_result(struct ctx *x, int rc, const struct sdc_error *e, json_t *result,
	       ctl_show_fn show);

/* SIGINT, SIGTERM (and SIGHUP if hup) from now on only set a flag that
 * ctl_interrupted() reads. */
void ctl_catch_signals(bool hup);
bool ctl_interrupted(void);

/* ---- output.c ------------------------------------------------------------ */

/* Pretty-printed, keys sorted: what --json prints. */
void out_json(json_t *v);
/* One line of compact JSON, keys sorted. */
void out_json_line(json_t *v);
/* o[key] if it is a string, else dflt. */
const char *out_str(json_t *o, const char *key, const char *dflt);
/* "in 4m12s" for the RFC 3339 time o[key], or dflt. */
void out_until(json_t *o, const char *key, char *buf, size_t len, const char *dflt);
/* The local "HH:MM:SS" of an RFC 3339 time, or "-". */
void out_local_time(const char *rfc3339, char *buf, size_t len);
/* "3m12s ago" for the RFC 3339 time o[key], or dflt. */
void out_ago(json_t *o, const char *key, char *buf, size_t len, const char *dflt);
/* "212 MiB" (or KiB, GiB) for a number of bytes. */
void out_bytes(double bytes, char *buf, size_t len);
/* The state with its memory tier: "suspended (saved 212 MiB, 3m ago)"
 * for a suspended session (a session object or summary), else the state. */
void out_tier(json_t *s, char *buf, size_t len);

/* Items printed as they come (a listing that pages): a table under its
 * header, or with --json one array, an item per line (inside an object
 * {"<wrap>": [...]} when wrap is set); empty (text) when there was none. */
struct out_stream {
	bool json;
	const char *wrap;
	size_t n;
	void (*header)(void);
	void (*row)(json_t *item);
	const char *empty;
};
void out_stream_item(struct out_stream *st, json_t *item);
void out_stream_end(struct out_stream *st);

/* ---- progress.c ------------------------------------------------------------ */

/* Before a call that may wait for the VM of session name: notifications
 * go to x (state changes, a revoked hold), and on a terminal without
 * --json the session is watched and the wait shown on stderr.  0, or -1
 * with e. */
int progress_begin(struct ctx *x, const char *name, struct sdc_error *e);
/* After that call: no more ticks, the progress line erased. */
void progress_end(struct ctx *x);

/* ---- the commands ------------------------------------------------------------ */

/* cmd_session.c */
int cmd_create(struct ctx *x, int argc, char **argv);
int cmd_list(struct ctx *x, int argc, char **argv);
int cmd_status(struct ctx *x, int argc, char **argv);
int cmd_holds(struct ctx *x, int argc, char **argv);
int cmd_start(struct ctx *x, int argc, char **argv);
int cmd_stop(struct ctx *x, int argc, char **argv);
int cmd_reset(struct ctx *x, int argc, char **argv);
int cmd_delete(struct ctx *x, int argc, char **argv);
int cmd_hosts(struct ctx *x, int argc, char **argv);
/* cmd_hold.c */
int cmd_hold(struct ctx *x, int argc, char **argv);
int cmd_release(struct ctx *x, int argc, char **argv);
int cmd_run(struct ctx *x, int argc, char **argv);
/* cmd_watch.c */
int cmd_watch(struct ctx *x, int argc, char **argv);
int cmd_info(struct ctx *x, int argc, char **argv);
int cmd_console(struct ctx *x, int argc, char **argv);
int cmd_reload(struct ctx *x, int argc, char **argv);
/* complete.c */
int cmd_complete(struct ctx *x, int argc, char **argv);

#endif
