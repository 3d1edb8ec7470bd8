/*
 * daemon.h — the running daemon: configuration, the control socket and the
 * RPC methods; the contract of daemon/.
 *
 * This folder is the one place where sessions (session/) meet the wire
 * (rpc/): a request is checked against its method's row (rpc/methods.c)
 * by the server, authorized and resolved here (dispatch.c), and handed to
 * its handler with typed arguments; a handler's failure is a cause whose
 * kind the server turns into a wire code.
 *
 *   main.c      sessiond: flags, start-up, signals, shutdown
 *   config.c    config_*     sessiond.conf and the flags (config_table)
 *   dispatch.c  dispatch_*   authorize, resolve the session, call the handler
 *   methods.c   methods_*    the handler table; daemon.*, session.* and vm.console
 *   leased.c    leased_*     session.start and vm.info: calls that hold a lease
 *   tokens.c    tokens_*     token.*, and what a connection holds
 *   watch.c     watch_*      session.watch and the event stream
 *   reload.c    daemon_reload*  SIGHUP and daemon.reload: sessiond.conf again
 *   service.c   service_*    what systemd sees: a passed socket, readiness,
 *                            status, watchdog (sd-daemon; nothing without it)
 *   exporter.c  exporter_*   the metrics endpoint (metrics/) and the gauges
 *                            it shows
 *
 * What survives a restart is the state directory's (session/); nothing here
 * is kept: tokens bound to a connection go with it, watches too.
 */
#ifndef SESSIOND_DAEMON_H
#define SESSIOND_DAEMON_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/list.h"
#include "../rpc/rpc.h"
#include "../session/session.h"
#include "../settings/settings.h"

/* ---- configuration (config.c) ----------------------------------------- */

struct config {
	char *socket_path;
	char *uri;
	char *config_path;
	bool config_required;                   /* named with -c: must exist */
	json_t *overrides;                      /* the flags' keys: name -> value text */
	int max_tokens_per_connection;
	int max_connections;
	int log_level;                          /* index into the log level names */
	char *metrics_listen;                   /* NULL: metrics not served */
	bool metrics_allow_remote;
	bool foreground;
	struct core_config core;                /* state_dir, pool, workers, hosts, defaults... */
	/* Where the file said what (for errors found once it is read). */
	int uri_line;                           /* a top-level uri; 0: none */
	int *host_lines;                        /* each host's [host NAME] line */
};

/* The daemon's keys of sessiond.conf (the session defaults are the
 * settings table's rows with a conf name).  Rows flagged FIELD_LIVE may
 * change at a reload; the others take a restart. */
extern const struct field config_table[];
/* The keys of a [host NAME] section (struct host_config). */
extern const struct field host_table[];

/* Built-in defaults for the calling user (root vs per-user paths). */
void config_init(struct config *cfg);
/* Reads path; a missing file is fine when !required. */
int config_load_file(struct config *cfg, const char *path, bool required, struct cause *c);
/* One key = value; the names of the file. */
int config_set(struct config *cfg, const char *key, const char *value, struct cause *c);
/* One key = value of host name's section (made on first use; line is its
 * header's, for errors). */
int config_host_set(struct config *cfg, const char *name, const char *key, const char *value,
		    struct cause *c);
/* After the file and the flags: the hosts.  Without [host] sections, or
 * with the --uri flag (uri_flag), one host "local" on uri; every host has
 * a uri.  -1 with a cause naming the file and line. */
int config_finish(struct config *cfg, bool uri_flag, struct cause *c);
/* config_set() for a command-line flag: remembered, so that a reload puts
 * it over the file again (flags override the file, at a reload too). */
int config_override(struct config *cfg, const char *key, const char *value, struct cause *c);
/* The keys that must agree (metrics_listen and metrics_allow_remote):
 * 0, or -1 with why. */
int config_check(const struct config *cfg, struct cause *c);
/* The log level the configuration says (log.h's). */
int config_log_level(const struct config *cfg);
void config_free(struct config *cfg);

/*
 * A reload: live->config_path read afresh into a new configuration
 * (built-in defaults, the file, the flags' overrides), checked whole,
 * then compared with live key by key.  A key that differs and may change
 * live (a FIELD_LIVE row of config_table, or a default of new sessions)
 * is copied into live and named in *applied; a daemon key that differs
 * and takes a restart is left as it is and named in *ignored.  Both are
 * arrays of {"key", "old", "new"} objects (the values as JSON).  A file
 * that does not load is refused whole: -1 with c, and live untouched.
 */
int config_reload(struct config *live, json_t **applied, json_t **ignored, struct cause *c);

/* ---- the daemon --------------------------------------------------------- */

struct reload_hook;
struct service;

struct daemon {
	struct event_base *base;
	struct config cfg;
	struct driver **drvs;                   /* one per host of cfg.core */
	struct core *core;
	struct rpc_server *srv;
	size_t watchers;                        /* connections that watch (watch.c) */
	struct exporter *exporter;              /* metrics; NULL until first applied */
	double started;                         /* monotonic */
	struct reload_hook *reload_hooks;       /* daemon_on_reload() */
	struct service *svc;                    /* service_start(); NULL: none */
};

/* ---- reload (reload.c) ------------------------------------------------------ */

/* Runs after a reload changed the configuration in force (d->cfg);
 * applied is config_reload()'s array of {"key", "old", "new"}: a hook
 * looks for its own keys there (e.g. a listener that follows its
 * address).  Hooks run in the order they were added. */
typedef void (*reload_hook_fn)(struct daemon *d, json_t *applied, void *arg);
void daemon_on_reload(struct daemon *d, reload_hook_fn fn, void *arg);
void daemon_reload_hooks_free(struct daemon *d);
/* SIGHUP and daemon.reload: config_reload() on d->cfg, the new log level
 * in force, the hooks run, the outcome logged (what changed, what was
 * ignored until a restart).  *report (report may be NULL) is
 * {"config": path, "applied": [...], "ignored": [...], "changes": N}: at
 * most RELOAD_CHANGES_MAX changes each (the log names them all; changes
 * counts them all).  A file that does not load changes nothing: -1 with c
 * (CAUSE_CONFLICT, the file's error). */
#define RELOAD_CHANGES_MAX 100
int daemon_reload(struct daemon *d, json_t **report, struct cause *c);

/* ---- systemd (service.c) ------------------------------------------------------ */

/* The listening socket systemd passed (sd_listen_fds), or -1.  Fatal when
 * it passed several, or one that is not a listening Unix stream socket.
 * Once, early: it clears LISTEN_FDS. */
int service_listen_fd(void);
/* Started by systemd (NOTIFY_SOCKET set, or a socket passed)?  Then the
 * daemon stays in the foreground: a forked child could neither notify
 * (NotifyAccess=main) nor be the process the socket was passed to. */
bool service_managed(int listen_fd);
/* From now on, with NOTIFY_SOCKET set: WATCHDOG=1 from the loop every half
 * of WATCHDOG_USEC (when set), and STATUS= "starting: connecting to URI,
 * then loading sessions" (before the connection, which may block). */
void service_start(struct daemon *d);
/* READY=1 with the first STATUS= summary; from then on STATUS= follows the
 * counts (checked each second, sent when it changed). */
void service_ready(struct daemon *d);
/* RELOADING=1 around a reload; READY=1 and the summary after it. */
void service_reloading(struct daemon *d, bool begin);
/* STOPPING=1 (SIGTERM). */
void service_stopping(struct daemon *d);
void service_free(struct daemon *d);
/* The one-line summary STATUS= carries: "sessions 3: running 1, stopped 2;
 * holds 1" (states with no session left out). */
void service_status_line(struct core *core, char *buf, size_t len);

/* Per-connection state the methods keep. */
struct conn_data {
	struct list_node tokens;                /* struct token, conn_node */
	bool watch_all;                         /* every session it may see */
	json_t *watch_owners;                   /* array of uids (root's watches), or NULL */
	json_t *watch_names;                    /* array of session keys, or NULL */
};

/* What a handler gets: the call, typed arguments, the owner the request
 * acts for (the caller, or owner_uid for root) and, for the methods that
 * name one, the session, resolved and authorized. */
struct request {
	struct rpc_call *call;
	struct daemon *d;
	const struct rpc_args *args;
	uid_t owner;
	struct session *s;
};

typedef void (*method_fn)(struct request *rq);

/* One handler per method of rpc_methods[] (methods.c). */
extern const method_fn methods_table[RPC_M__COUNT];

extern const struct rpc_server_ops dispatch_server_ops;
extern const struct core_hooks dispatch_core_hooks;

/* May the caller see what owner owns?  Root and the owner may. */
bool dispatch_may_see(struct rpc_call *call, uid_t owner);
/* Answers the call with its cause (the server maps the kind). */
void dispatch_fail(struct request *rq, const struct cause *c);

void leased_start(struct request *rq);
void leased_vm_info(struct request *rq);

void tokens_acquire(struct request *rq);
void tokens_renew(struct request *rq);
void tokens_release(struct request *rq);
void tokens_conn_open(struct rpc_conn *c, void *arg);
void tokens_conn_close(struct rpc_conn *c, void *arg);
void tokens_revoked_hook(struct token *t, const char *reason, void *arg);

void watch_start(struct request *rq);
void watch_event_hook(struct session *s, json_t *params, void *arg);
bool watch_listening(struct session *s, void *arg);
/* A connection goes (tokens_conn_close): its watches with it. */
void watch_conn_close(struct daemon *d, struct conn_data *cd);

/* Serves metrics as d->cfg says now (metrics_listen, metrics_allow_remote):
 * starts, moves or stops the endpoint.  The one function a reload calls
 * for them; on failure whatever served before serves on and -1 says why. */
int exporter_apply(struct daemon *d, struct cause *c);
void exporter_free(struct daemon *d);

#endif
