/*
 * rpc.h — rpc/'s contract inside the tree: the JSON-RPC codec, the method
 * table's parameter specs, and the server transport.  The installed
 * interface is the other two headers: sessiond-protocol.h (names, codes)
 * and sessiond-client.h (the client library).
 *
 *  1. Codec (jsonrpc.c): frames and the JSON-RPC 2.0 envelope, no I/O.
 *     Pure functions over bytes and jansson values, shared by the server,
 *     the client library and the fuzz harness.  A frame is one line
 *     without its "\n".
 *  2. Methods (methods.c): one row per method with the parameters it
 *     takes (which, required, types, bounds).  The server checks every
 *     request against its row before a handler runs and hands the handler
 *     typed arguments; tests/test_client.c checks that each client wrapper
 *     sends what the row accepts.
 *  3. Server (server.c): the control socket, connections, calls.
 */
#ifndef SESSIOND_RPC_H
#define SESSIOND_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/cause.h"
#include "../common/jsontext.h"
#include "../common/list.h"
#include "sessiond-protocol.h"

/* ---- 1. codec ----------------------------------------------------------- */
struct rpc_request {
	json_t *doc;                        /* owns everything below */
	json_t *id;                         /* NULL for a notification */
	const char *method;
	json_t *params;                     /* NULL when absent */
};

/* A frame as JSON: an object (a request), or a non-empty array (a batch,
 * JSON-RPC 2.0 section 6).  NULL: *reply is the error reply to send (parse
 * error, an empty batch, a frame over the limit). */
json_t *rpc_parse_frame(const char *buf, size_t len, json_t **reply);
/* One request object (a frame's, or a batch member).  0: req filled
 * (holds its own reference; release with rpc_request_clear).  -1: *reply
 * is the error reply to send. */
int rpc_request_from(json_t *obj, struct rpc_request *req, json_t **reply);
/* Both for a single request; a batch is an invalid request here. */
int rpc_parse_request(const char *buf, size_t len, struct rpc_request *req, json_t **reply);
void rpc_request_clear(struct rpc_request *req);
/*
 * A request in the plain form nearly every client sends, read straight
 * from its text without a tree: one object of "jsonrpc": "2.0", a "method"
 * of the table that takes no settings, an optional "id" (null, a number or
 * a string) and an optional "params" object whose members are parameters
 * of that method, each a string, a number or a boolean that rpc_args_put
 * accepts; numbers as json_plain_number reads them; every string ASCII
 * without escapes or control characters (jtext_plain_run), no member
 * twice, nothing else.  true: *m, *id (a new reference,
 * NULL for a notification) and args are what rpc_parse_frame,
 * rpc_request_from and rpc_args_parse would give, with args' strings
 * copied into store (at least len bytes).  false: anything else; the full
 * path then decides and words the error, if there is one.
 */
struct rpc_args;
bool rpc_plain_request(const char *buf, size_t len, char *store, int *m, json_t **id,
		       struct rpc_args *args);

json_t *rpc_make_result(json_t *id, json_t *result);          /* steals result */
json_t *rpc_make_error(json_t *id, int code, const char *message);
json_t *rpc_make_notification(const char *method, json_t *params); /* borrows */
json_t *rpc_make_request(json_t *id, const char *method, json_t *params); /* steals params */
/* A message's compact JSON text, as json_dumpb(msg, buf, size, JSON_COMPACT)
 * writes it: its length (the text is in buf when that is at most size),
 * 0 when msg is not an object or array or cannot be encoded. */
size_t rpc_dumpb(const json_t *msg, char *buf, size_t size);
/* Compact JSON plus "\n"; NULL if it would exceed RPC_MAX_FRAME. */
char *rpc_encode(json_t *msg, size_t *len);
/* The same in buf when it fits its size bytes (NUL included), in one pass;
 * else in a new allocation, the caller's to free (what is not buf).  NULL
 * with errno EMSGSIZE (too large, or not encodable) or ENOMEM. */
char *rpc_encode_into(json_t *msg, char *buf, size_t size, size_t *len);

/* A request's "params" member (key included), written by its caller. */
typedef void rpc_params_fn(struct jtext *t, const void *arg);
/* {"jsonrpc":"2.0","id":ID,"method":METHOD,"params":...} plus "\n", as
 * rpc_encode_into writes rpc_make_request's message, params written by
 * params(t, arg): in buf when it fits, else in an allocation the caller
 * frees; NULL with errno EMSGSIZE (too large), EILSEQ (a string not
 * UTF-8) or ENOMEM. */
char *rpc_encode_request(long id, const char *method, rpc_params_fn *params, const void *arg,
			 char *buf, size_t size, size_t *len);
/* {"jsonrpc":"2.0","id":ID,"result":TEXT} plus "\n", as rpc_encode_into
 * writes rpc_make_result(id, the value of text): in buf when it fits, else
 * in an allocation the caller frees; NULL with errno EMSGSIZE or ENOMEM. */
char *rpc_encode_result_text(json_t *id, const struct jtext *text, char *buf, size_t size,
			     size_t *len);
/* The same with the result as a tree (borrowed): rpc_make_result's text
 * without building its envelope. */
char *rpc_encode_result(json_t *id, const json_t *result, char *buf, size_t size, size_t *len);

/* Client side: classifies one incoming frame. */
enum rpc_incoming { RPC_IN_INVALID, RPC_IN_RESULT, RPC_IN_ERROR, RPC_IN_NOTIFICATION };
enum rpc_incoming rpc_parse_incoming(json_t *msg, json_t **id, json_t **payload,
				     const char **method);

/* The wire code of a failure of this kind (the one mapping of the tree). */
int rpc_code_of(enum cause_kind kind);
/* The default control socket for uid (sessiond(8)): root
 * /run/sessiond/sessiond.sock, others $XDG_RUNTIME_DIR/sessiond/sessiond.sock
 * or /tmp/sessiond-UID/sessiond.sock. */
void rpc_default_socket(uid_t uid, char *buf, size_t len);


/* ---- 2. methods and their parameters ------------------------------------ */

/* Every parameter the protocol knows, one bit each. */
enum rpc_param_id {
	RP_NAME, RP_OWNER_UID, RP_TOKEN, RP_REASON, RP_TTL_S, RP_DETACH, RP_FORCE,
	RP_KEEP_STORAGE, RP_MAX_BYTES, RP_LIMIT, RP_AFTER, RP_STATE, RP_HOST,
	RP__COUNT
};
#define RPB(id) (1u << (id))

/* A request's parameters, checked and typed.  A member is meaningful when
 * its bit is in given. */
struct rpc_args {
	unsigned given;
	const char *name, *token, *reason;  /* borrowed from the request */
	const char *after, *state;          /* a page's cursor; a state filter */
	const char *host;                   /* a host (session.create, session.list) */
	uid_t owner_uid;
	double ttl_s, max_bytes;
	size_t limit;                       /* a page's size */
	bool detach, force, keep_storage;
	json_t *rest;                       /* RPC_M_SETTINGS: the other keys (borrowed) */
};

enum rpc_method_id {
	RPC_M_DAEMON_INFO, RPC_M_SESSION_CREATE, RPC_M_SESSION_LIST, RPC_M_SESSION_GET,
	RPC_M_SESSION_START, RPC_M_SESSION_STOP, RPC_M_SESSION_RESET, RPC_M_SESSION_DELETE,
	RPC_M_SESSION_WATCH, RPC_M_TOKEN_ACQUIRE, RPC_M_TOKEN_RENEW, RPC_M_TOKEN_RELEASE,
	RPC_M_VM_INFO, RPC_M_VM_CONSOLE, RPC_M_SESSION_HOLDS, RPC_M_DAEMON_RELOAD,
	RPC_M__COUNT
};

/* Method flags. */
#define RPC_M_SESSION  0x1u     /* a name given names a session: resolved (with owner_uid) */
#define RPC_M_SETTINGS 0x2u     /* other keys are a session's settings (session.create) */

struct rpc_method_spec {
	const char *name;
	unsigned params;                    /* RPB() of what it takes */
	unsigned required;                  /* RPB() of what it needs */
	unsigned flags;
};

extern const struct rpc_method_spec rpc_methods[RPC_M__COUNT];
/* The parameter's JSON name ("owner_uid"). */
const char *rpc_param_name(enum rpc_param_id id);
/* -1 when no method has that name (n bytes, not NUL-terminated). */
int rpc_method_find(const char *name);
int rpc_method_findn(const char *name, size_t n);
/* Checks params (an object, or NULL) against the method's row and fills
 * args.  0, or -1 with a CAUSE_INVALID message naming the parameter. */
int rpc_args_parse(enum rpc_method_id m, json_t *params, struct rpc_args *args,
		   struct cause *c);

/* A parameter's value as the one checker reads it: from a JSON tree
 * (rpc_args_parse) or straight from a plain frame (rpc_plain_request). */
struct rpc_scalar {
	enum { RS_STRING, RS_TRUE, RS_FALSE, RS_INTEGER, RS_REAL, RS_OTHER } type;
	const char *s;                      /* RS_STRING: n bytes and a NUL; lives as args does */
	size_t n;
	long long i;                        /* RS_INTEGER */
	double r;                           /* RS_REAL */
};
/* rpc_args_parse's steps: one member (key of n bytes) into args (zeroed
 * before the first), then the check that nothing required is missing. */
int rpc_args_put(enum rpc_method_id m, const char *key, size_t n, const struct rpc_scalar *v,
		 struct rpc_args *args, struct cause *c);
int rpc_args_done(enum rpc_method_id m, struct rpc_args *args, struct cause *c);

/* ---- 3. the server -------------------------------------------------------- */

/*
 * Authenticate at accept, authorize every request: the peer's uid and pid
 * come from SO_PEERCRED when the connection is accepted and every handler
 * sees them through its call.  The method table drives dispatch.
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

#define RPC_MAX_OUTPUT (8 * 1024 * 1024)
/* Above this much unsent output a connection's next requests wait. */
#define RPC_OUTPUT_PAUSE (1024 * 1024)

/*
 * A connection's phase: one enum, one writer (server.c conn_set_phase),
 * one table (rpc_conn_phase_legal).
 *
 *   open ----------> paused          replies pile up: frames wait unread
 *     |    <-------                  until they drain
 *     v                 v
 *   half-closed <--> half-paused     the peer shut down its sending side:
 *     |                              every request is answered, then close
 *   closing                          an error was sent: close once flushed
 *   lost                             gone; the last reference frees it
 */
enum conn_phase {
	CONN_OPEN, CONN_PAUSED, CONN_HALF_CLOSED, CONN_HALF_PAUSED, CONN_CLOSING, CONN_LOST,
	CONN__COUNT
};

const char *rpc_conn_phase_name(enum conn_phase ph);
bool rpc_conn_phase_legal(enum conn_phase from, enum conn_phase to);

struct event_base;
struct rpc_server;
struct rpc_conn;
struct rpc_call;

struct rpc_server_ops {
	/* A request whose method exists and whose parameters passed its row
	 * (args lives as long as the call). */
	void (*dispatch)(struct rpc_call *call, enum rpc_method_id m,
			 const struct rpc_args *args, void *arg);
	void (*conn_open)(struct rpc_conn *c, void *arg);
	/* After the pending calls' cancel hooks ran. */
	void (*conn_close)(struct rpc_conn *c, void *arg);
};

struct rpc_server *rpc_server_new(struct event_base *base, const char *path,
				  const struct rpc_server_ops *ops, void *arg,
				  int max_conns, struct cause *c);
/* Serves on a listening Unix stream socket made by someone else (systemd
 * socket activation: sd_listen_fds()); the server owns fd from now on and
 * never binds, chmods or unlinks a path.  NULL with c when fd cannot serve. */
struct rpc_server *rpc_server_new_fd(struct event_base *base, int fd,
				     const struct rpc_server_ops *ops, void *arg,
				     int max_conns, struct cause *c);
/* Stops accepting (unlinking the socket it bound, if it bound one);
 * existing connections carry on. */
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

const char *rpc_call_method(struct rpc_call *call);
struct rpc_conn *rpc_call_conn(struct rpc_call *call);
uid_t rpc_call_uid(struct rpc_call *call);
pid_t rpc_call_pid(struct rpc_call *call);
bool rpc_call_lost(struct rpc_call *call);            /* its connection is gone */
/* Steals result; NULL is {} (written without a tree). */
void rpc_call_reply(struct rpc_call *call, json_t *result);
/* The same with the result as text (the caller keeps and frees it). */
void rpc_call_reply_text(struct rpc_call *call, const struct jtext *result);
void rpc_call_error(struct rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The error of the cause's kind (rpc_code_of) with its message. */
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


/* ---- inside rpc/ only: what server.c and call.c share ------------------- */

struct rpc_conn {
	struct rpc_server *srv;
	struct bufferevent *bev;
	struct event *rd;                   /* a socket's reader (server.c), or NULL */
	bool rd_on;                         /* rd is added */
	struct list_node node;
	struct list_node calls;
	int refs;                           /* open + one per pending call */
	enum conn_phase phase;              /* server.c conn_set_phase() only */
	bool reading;                       /* in conn_read: it flushes at its end */
	uid_t uid;
	pid_t pid;
	unsigned long id;
	void *data;
};

struct rpc_batch;

struct rpc_call {
	struct list_node node;
	struct rpc_conn *conn;
	struct rpc_batch *batch;            /* the batch it came in, or NULL */
	struct rpc_request req;
	struct rpc_args args;
	void (*lost_fn)(struct rpc_call *call, void *arg);
	void *lost_arg;
	int method;                         /* enum rpc_method_id; -1: none (yet) */
	double started;                     /* monotonic: the request was read */
	char store[];                       /* a plain request's strings (args) */
};

struct bufferevent;
/* Steals msg.  A reply too large for a frame is answered with an error of
 * its id; a message without an id (a batch's array) returns -2 unsent. */
int rpc_conn_send(struct rpc_conn *c, json_t *msg);
/* A result for id, as text or as a tree (both borrowed: one of them is
 * NULL); too large: an error of id. */
void rpc_conn_send_result(struct rpc_conn *c, json_t *id, const struct jtext *text,
			  const json_t *tree);
void rpc_conn_unref(struct rpc_conn *c);
bool rpc_conn_half(const struct rpc_conn *c);
/* The server's dispatcher for a checked call (server.c). */
void rpc_server_dispatch(struct rpc_server *srv, struct rpc_call *call, enum rpc_method_id m);
/* A frame read from c (call.c). */
void rpc_call_frame(struct rpc_conn *c, const char *buf, size_t len);

#endif
