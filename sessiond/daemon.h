/*
 * daemon.h — the running daemon: configuration, core, control socket,
 * and the RPC methods (methods.c for sessions, daemon and VM; tokens.c
 * for tokens and watches).
 */
#ifndef SESSIOND_DAEMON_H
#define SESSIOND_DAEMON_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/list.h"
#include "../rpc/server.h"
#include "config.h"
#include "core.h"
#include "session.h"

struct daemon {
	struct event_base *base;
	struct config cfg;
	struct driver *drv;
	struct core *core;
	struct rpc_server *srv;
	double started;                     /* monotonic */
};

/* Per-connection state the methods keep. */
struct conn_data {
	struct list_node tokens;            /* struct token, conn_node */
	bool watch_all;
	bool watch_owner_set;               /* watch_all only for this owner */
	uid_t watch_owner;
	json_t *watch_names;                /* array of names, or NULL */
};

extern const struct rpc_method daemon_methods[];
extern const size_t daemon_nmethods;
extern const struct rpc_server_ops daemon_server_ops;
extern const struct core_hooks daemon_core_hooks;

/* ---- helpers shared by the method files ------------------------- */

/* Each replies with -32602 and returns false/NULL/-1 on bad input. */
bool param_only(struct rpc_call *call, const char *const *allowed);
const char *param_string(struct rpc_call *call, const char *key, bool required,
			 size_t max, bool *failed);
int param_bool(struct rpc_call *call, const char *key, bool *out);
int param_number(struct rpc_call *call, const char *key, double lo, double hi,
		 double *out, bool *present);
/* The session a request names, authorized for the caller; replies with
 * not-found, forbidden or invalid-params and returns NULL otherwise. */
struct session *resolve_session(struct daemon *d, struct rpc_call *call);
bool caller_may_see(struct rpc_call *call, uid_t owner);
/* The owner a request acts for: the caller, or for root "owner_uid"
 * (another caller naming another uid gets -32002 and -1). */
int request_owner(struct rpc_call *call, uid_t *owner);

void tokens_handle_acquire(struct rpc_call *call, void *arg);
void tokens_handle_renew(struct rpc_call *call, void *arg);
void tokens_handle_release(struct rpc_call *call, void *arg);
void tokens_handle_watch(struct rpc_call *call, void *arg);
void tokens_conn_open(struct rpc_conn *c, void *arg);
void tokens_conn_close(struct rpc_conn *c, void *arg);
void tokens_event_hook(struct session *s, json_t *params, void *arg);
void tokens_revoked_hook(struct token *t, const char *reason, void *arg);

#endif
