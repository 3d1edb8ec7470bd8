/*
 * sessiond-protocol.h — the wire protocol between sessiond and its clients.
 *
 * Unix stream socket; one JSON-RPC 2.0 object per line (compact JSON, "\n"
 * ends a frame, at most RPC_MAX_FRAME bytes).  Requests on one connection
 * may be in flight at once; replies carry the request id and may come in
 * any order.  Server-to-client notifications have no id.
 *
 * Bump SESSIOND_PROTOCOL_VERSION if any name, code or documented field
 * below changes meaning.  Adding an optional parameter or a result field
 * is compatible and does not bump it.  sessiond-protocol(7) documents
 * every method.
 */
#ifndef SESSIOND_PROTOCOL_H
#define SESSIOND_PROTOCOL_H

/* 2: token.acquire and the acting methods (create, start, stop, reset)
 *    return the session summary instead of the whole object; session.list
 *    pages and returns summaries; session.holds; batches (JSON-RPC 2.0
 *    section 6); session.get lists at most 100 holds.  sessiond-protocol(7)
 *    says what a version-1 client sees. */
#define SESSIOND_PROTOCOL_VERSION 2

#define RPC_MAX_FRAME (1024 * 1024)          /* bytes, newline excluded */
#define RPC_PAGE_DEFAULT 500                 /* session.list, session.holds */
#define RPC_PAGE_MAX 1000

/* Methods, grouped by noun. */
#define RPC_DAEMON_INFO     "daemon.info"
#define RPC_DAEMON_RELOAD   "daemon.reload"
#define RPC_SESSION_CREATE  "session.create"
#define RPC_SESSION_LIST    "session.list"
#define RPC_SESSION_GET     "session.get"
#define RPC_SESSION_START   "session.start"
#define RPC_SESSION_STOP    "session.stop"
#define RPC_SESSION_RESET   "session.reset"
#define RPC_SESSION_DELETE  "session.delete"
#define RPC_SESSION_WATCH   "session.watch"
#define RPC_SESSION_HOLDS   "session.holds"
#define RPC_TOKEN_ACQUIRE   "token.acquire"
#define RPC_TOKEN_RENEW     "token.renew"
#define RPC_TOKEN_RELEASE   "token.release"
#define RPC_VM_INFO         "vm.info"
#define RPC_VM_CONSOLE      "vm.console"

/* Notifications (server to client). */
#define RPC_NOTIFY_SESSION_EVENT "session.event"
#define RPC_NOTIFY_TOKEN_REVOKED "token.revoked"

/* Error codes: JSON-RPC's own, then sessiond's. */
#define RPC_ERR_PARSE            (-32700)
#define RPC_ERR_INVALID_REQUEST  (-32600)
#define RPC_ERR_NO_METHOD        (-32601)
#define RPC_ERR_INVALID_PARAMS   (-32602)
#define RPC_ERR_INTERNAL         (-32603)
#define RPC_ERR_NOT_FOUND        (-32001)
#define RPC_ERR_FORBIDDEN        (-32002)
#define RPC_ERR_SESSION_FAILED   (-32003)
#define RPC_ERR_START_FAILED     (-32004)
#define RPC_ERR_CONFLICT         (-32005)
#define RPC_ERR_LIMIT            (-32006)

/* session.event "event" values. */
#define RPC_EV_CREATED  "created"
#define RPC_EV_STARTING "starting"
#define RPC_EV_RUNNING  "running"
#define RPC_EV_IDLE     "idle"
#define RPC_EV_BUSY     "busy"
#define RPC_EV_STOPPING "stopping"
#define RPC_EV_STOPPED  "stopped"
#define RPC_EV_CRASHED  "crashed"
#define RPC_EV_FAILED   "failed"
#define RPC_EV_RESET    "reset"
#define RPC_EV_DELETED  "deleted"
#define RPC_EV_SUSPENDED "suspended"   /* memory saved to an image (idle_action save) */

#endif
