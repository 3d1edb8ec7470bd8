/*
 * server.h — the control socket: connections, calls, notifications.
 *
 * Authenticate at accept, authorize every request: the peer's uid and pid
 * come from SO_PEERCRED when the connection is accepted and every handler
 * sees them through its call.  A method table drives dispatch.
 *
 * Calls: each request becomes a struct rpc_call that the handler completes
 * exactly once with rpc_call_reply() or rpc_call_error(), now or later.
 * Many calls of one connection may be pending at once; replies go out as
 * they complete.  When a connection goes away its pending calls are
 * "lost, not freed": their cancel hooks run (so a parked boot wait can be
 * dropped), and a completion that still comes later is discarded.
 *
 * Limits: a frame over RPC_MAX_FRAME gets an error and the connection is
 * closed.  Once RPC_OUTPUT_PAUSE bytes of replies wait for a client, its
 * further requests wait unread until they drain (a pipelining client is
 * served as fast as it reads); a client that does not read at all is
 * disconnected when its unread requests fill a frame as well, or when
 * RPC_MAX_OUTPUT bytes (notifications) wait for it.  Accept pauses for a
 * moment when the process is out of descriptors instead of spinning.
 * A peer that shuts down only its sending side still gets every answer,
 * then the connection closes; a peer that is gone is dropped at once.
 */
#ifndef SESSIOND_RPC_SERVER_H
#define SESSIOND_RPC_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../common/cause.h"

#define RPC_MAX_OUTPUT (8 * 1024 * 1024)
/* Above this much unsent output a connection's next requests wait. */
#define RPC_OUTPUT_PAUSE (1024 * 1024)

struct event_base;
struct rpc_server;
struct rpc_conn;
struct rpc_call;

typedef void (*rpc_handler)(struct rpc_call *call, void *arg);

struct rpc_method {
	const char *name;
	rpc_handler fn;
	const char *params;                 /* for docs and --help */
};

struct rpc_server_ops {
	void (*conn_open)(struct rpc_conn *c, void *arg);
	/* After the pending calls' cancel hooks ran. */
	void (*conn_close)(struct rpc_conn *c, void *arg);
};

struct rpc_server *rpc_server_new(struct event_base *base, const char *path,
				  const struct rpc_method *methods, size_t nmethods,
				  const struct rpc_server_ops *ops, void *arg,
				  int max_conns, struct cause *c);
/* Stops accepting; existing connections carry on. */
void rpc_server_stop_accepting(struct rpc_server *srv);
/* Bytes still waiting to be written on all connections. */
size_t rpc_server_pending_output(struct rpc_server *srv);
/* Closes every connection (cancel hooks, conn_close) and frees. */
void rpc_server_free(struct rpc_server *srv);
size_t rpc_server_conn_count(struct rpc_server *srv);
/* Serves a connection over an existing bufferevent (the server owns it
 * from now on), as if accepted from uid/pid.  For in-memory pairs in the
 * fuzz harness and tests; sockets come through the listener. */
struct bufferevent;
struct rpc_conn *rpc_server_add_bev(struct rpc_server *srv, struct bufferevent *bev,
				    uid_t uid, pid_t pid);
/* The peer is gone (what POLLHUP tells for a socket; an in-memory pair
 * cannot say it): as a hang-up, pending calls are cancelled. */
void rpc_conn_hangup(struct rpc_conn *c);
void rpc_server_foreach(struct rpc_server *srv, void (*fn)(struct rpc_conn *c, void *arg),
			void *arg);

json_t *rpc_call_params(struct rpc_call *call);       /* an object, maybe empty */
const char *rpc_call_method(struct rpc_call *call);
struct rpc_conn *rpc_call_conn(struct rpc_call *call);
uid_t rpc_call_uid(struct rpc_call *call);
pid_t rpc_call_pid(struct rpc_call *call);
bool rpc_call_lost(struct rpc_call *call);            /* its connection is gone */
void rpc_call_reply(struct rpc_call *call, json_t *result);   /* steals result */
void rpc_call_error(struct rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cause->code, or RPC_ERR_INTERNAL when it has none. */
void rpc_call_fail(struct rpc_call *call, const struct cause *cause);
/* fn runs (once) if the connection goes away while the call is pending. */
void rpc_call_on_lost(struct rpc_call *call, void (*fn)(struct rpc_call *call, void *arg),
		      void *arg);

uid_t rpc_conn_uid(struct rpc_conn *c);
pid_t rpc_conn_pid(struct rpc_conn *c);
void *rpc_conn_data(struct rpc_conn *c);
void rpc_conn_set_data(struct rpc_conn *c, void *data);
/* A notification; dropped if the connection is closing. */
/* params is borrowed: the caller keeps (and drops) its reference. */
void rpc_conn_notify(struct rpc_conn *c, const char *method, json_t *params);

#endif
