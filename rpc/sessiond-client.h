/*
 * sessiond-client.h — a small blocking client for sessiond's control
 * socket (libsessiond-client; pkg-config sessiond-client).
 *
 * One struct sdc is one connection.  Requests may be pipelined: send
 * several with sdc_send() and wait for each reply with sdc_wait(); replies
 * that arrive for another id are kept until asked for.  Notifications
 * (session.event after session.watch, token.revoked) go to the callback
 * set with sdc_set_notify(), from inside sdc_wait()/sdc_poll().
 *
 * Tokens acquired on a connection are released by the daemon when the
 * connection closes (unless acquired with detach).  Results are jansson
 * values owned by the caller.  Not thread-safe: one thread per sdc.
 */
#ifndef SESSIOND_CLIENT_H
#define SESSIOND_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "sessiond-protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Client-side error codes (the daemon's are in sessiond-protocol.h). */
#define SDC_ERR_IO       (-1)      /* cannot connect, or the connection broke */
#define SDC_ERR_TIMEOUT  (-2)
#define SDC_ERR_PROTOCOL (-3)      /* the daemon sent something unexpected */

struct sdc;

struct sdc_error {
	int code;                  /* RPC_ERR_* or SDC_ERR_* */
	char message[1024];
};

typedef void (*sdc_notify_fn)(const char *method, json_t *params, void *arg);
/* Called about every interval_ms while sdc_wait() blocks (progress). */
typedef void (*sdc_tick_fn)(void *arg);

/* $SESSIOND_SOCKET, else the default of sessiond(8) for this user. */
const char *sdc_default_socket(void);

struct sdc *sdc_connect(const char *path, struct sdc_error *err);
void sdc_close(struct sdc *c);
int sdc_fd(const struct sdc *c);
void sdc_set_notify(struct sdc *c, sdc_notify_fn fn, void *arg);
void sdc_set_tick(struct sdc *c, sdc_tick_fn fn, void *arg, int interval_ms);
/* The wrappers below act on the sessions of user uid (owner_uid; only root
 * may name another user), from now on; uid < 0: the caller's own again. */
void sdc_set_owner(struct sdc *c, long uid);

/* Sends a request (params stolen, may be NULL); returns its id or -1. */
long sdc_send(struct sdc *c, const char *method, json_t *params, struct sdc_error *err);
/* Waits for the reply to id (timeout_ms < 0: no limit).  0 with *result,
 * or -1 with err. */
int sdc_wait(struct sdc *c, long id, int timeout_ms, json_t **result, struct sdc_error *err);
/* sdc_send + sdc_wait. */
int sdc_call(struct sdc *c, const char *method, json_t *params, json_t **result,
	     struct sdc_error *err);
/* Handles what arrives within timeout_ms (notifications); -1 if the
 * connection broke. */
int sdc_poll(struct sdc *c, int timeout_ms, struct sdc_error *err);

/* One wrapper per method; each returns 0 or -1 like sdc_call(), and like
 * it waits without a time limit, calling the tick function meanwhile.
 * All but sdc_daemon_info(), sdc_daemon_reload(), sdc_token_renew() and
 * sdc_token_release() (whose methods take no owner_uid) send the owner of
 * sdc_set_owner(). */
int sdc_daemon_info(struct sdc *c, json_t **info, struct sdc_error *err);
/* Root (or the user sessiond runs as) only: sessiond.conf read again;
 * report is {"config", "applied", "ignored"} (sessiond-protocol(7)). */
int sdc_daemon_reload(struct sdc *c, json_t **report, struct sdc_error *err);
/* settings: the session's settings (settings_table's JSON names), and
 * "host" to pin it to one host; may be NULL. */
int sdc_session_create(struct sdc *c, const char *name, json_t *settings,
		       json_t **session, struct sdc_error *err);
/* Every session summary the caller may see (of the owner of sdc_set_owner),
 * fetched page after page: an array.  For large daemons prefer the
 * iterator below, which holds one page at a time. */
int sdc_session_list(struct sdc *c, json_t **sessions, struct sdc_error *err);

/* Listing filters: state and host NULL for any, limit 0 for the daemon's
 * page size. */
struct sdc_list_opts {
	const char *state;
	size_t limit;
	const char *host;
};
/* One page of session.list after cursor after (NULL: the first):
 * {"sessions": [...], "next": cursor or null}. */
int sdc_session_list_page(struct sdc *c, const struct sdc_list_opts *o, const char *after,
			  json_t **page, struct sdc_error *err);
/* One page of session.holds: {"name", "state", "holds": [...], "next"}. */
int sdc_session_holds(struct sdc *c, const char *name, const char *after, size_t limit,
		      json_t **page, struct sdc_error *err);

/* Pages through session.list or session.holds, one item at a time.  A
 * session (hold) that exists for the whole walk comes exactly once, what
 * comes and goes meanwhile may or may not.  sdc_iter_next() returns the
 * next item (borrowed: valid until the next call), or NULL at the end or on
 * an error (then err is filled and sdc_iter_failed() says so).  The next
 * page is asked for as soon as a page comes (the daemon builds it while the
 * caller goes through this one); sdc_iter_free() takes its reply if it is
 * still due, so the connection serves other calls after. */
struct sdc_iter;
struct sdc_iter *sdc_sessions_iter(struct sdc *c, const struct sdc_list_opts *o);
struct sdc_iter *sdc_holds_iter(struct sdc *c, const char *name, size_t limit);
json_t *sdc_iter_next(struct sdc_iter *it, struct sdc_error *err);
bool sdc_iter_failed(const struct sdc_iter *it);
/* Items of the current page not yet returned: 0 means the next
 * sdc_iter_next() asks the daemon (a moment to flush what was printed). */
size_t sdc_iter_buffered(const struct sdc_iter *it);
void sdc_iter_free(struct sdc_iter *it);
int sdc_session_get(struct sdc *c, const char *name, json_t **session, struct sdc_error *err);
int sdc_session_start(struct sdc *c, const char *name, json_t **session, struct sdc_error *err);
int sdc_session_stop(struct sdc *c, const char *name, bool force, json_t **session,
		     struct sdc_error *err);
int sdc_session_reset(struct sdc *c, const char *name, json_t **session, struct sdc_error *err);
int sdc_session_delete(struct sdc *c, const char *name, bool keep_storage,
		       struct sdc_error *err);
int sdc_session_watch(struct sdc *c, const char *name, struct sdc_error *err);
/* ttl_s <= 0: no TTL.  token must hold 64 bytes. */
int sdc_token_acquire(struct sdc *c, const char *name, const char *reason, double ttl_s,
		      bool detach, char *token, json_t **result, struct sdc_error *err);
int sdc_token_renew(struct sdc *c, const char *token, double ttl_s, json_t **result,
		    struct sdc_error *err);
int sdc_token_release(struct sdc *c, const char *token, struct sdc_error *err);
int sdc_vm_info(struct sdc *c, const char *name, json_t **info, struct sdc_error *err);
/* The tail (at most max_bytes, 0: the daemon's default) of the serial
 * console log of the current or last instance: {instance, text, truncated,
 * size}. */
int sdc_vm_console(struct sdc *c, const char *name, long max_bytes, json_t **out,
		   struct sdc_error *err);

#ifdef __cplusplus
}
#endif

#endif
