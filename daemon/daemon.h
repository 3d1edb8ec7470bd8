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
	int max_tokens_per_connection;
	int max_connections;
	int log_level;                          /* index into the log level names */
	char *metrics_listen;                   /* NULL: metrics not served */
	bool metrics_allow_remote;
	bool foreground;
	struct core_config core;                /* state_dir, pool, workers, defaults... */
};

/* The daemon's keys of sessiond.conf (the session defaults are the
 * settings table's rows with a conf name). */
extern const struct field config_table[];

/* Built-in defaults for the calling user (root vs per-user paths). */
void config_init(struct config *cfg);
/* Reads path; a missing file is fine when !required. */
int config_load_file(struct config *cfg, const char *path, bool required, struct cause *c);
/* One key = value; the names of the file. */
int config_set(struct config *cfg, const char *key, const char *value, struct cause *c);
/* The keys that must agree (metrics_listen and metrics_allow_remote):
 * 0, or -1 with why. */
int config_check(const struct config *cfg, struct cause *c);
/* The log level the configuration says (log.h's). */
int config_log_level(const struct config *cfg);
void config_free(struct config *cfg);

/* ---- the daemon --------------------------------------------------------- */

struct daemon {
	struct event_base *base;
	struct config cfg;
	struct driver *drv;
	struct core *core;
	struct rpc_server *srv;
	struct exporter *exporter;              /* metrics; NULL until first applied */
	double started;                         /* monotonic */
};

/* Per-connection state the methods keep. */
struct conn_data {
	struct list_node tokens;                /* struct token, conn_node */
	bool watch_all;
	bool watch_owner_set;                   /* watch_all only for this owner */
	uid_t watch_owner;
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

/* Serves metrics as d->cfg says now (metrics_listen, metrics_allow_remote):
 * starts, moves or stops the endpoint.  The one function a reload calls
 * for them; on failure whatever served before serves on and -1 says why. */
int exporter_apply(struct daemon *d, struct cause *c);
void exporter_free(struct daemon *d);

#endif
