/*
 * rpcworld.h — the daemon's RPC side over an in-process harness, and
 * clients that talk to it as a socket client would (cmocka tests only).
 *
 * The daemon is real: the method table (daemon/), the server (rpc/) and
 * the core on libvirt's embedded test driver (harness.h).  Each client is
 * one end of a socketpair whose other end the server serves as if
 * accepted from a given uid (rpc_server_add_bev), so requests go through
 * the server's framing, batches and dispatch.
 *
 * The loop is the test's: a client's reads happen inside harness_wait()
 * predicates, so whatever waits for a reply also runs the daemon.
 */
#ifndef SESSIOND_RPCWORLD_H
#define SESSIOND_RPCWORLD_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

/* One connection to the daemon. */
struct client {
	int fd;
	uid_t uid;
	char *buf;                          /* bytes read, not yet a whole line */
	size_t len, cap;
	json_t *replies;                    /* id key (client_key) -> response */
	json_t *sizes;                      /* id key -> its frame's bytes, "\n" excluded */
	json_t *batches;                    /* answers that were arrays, in arrival order */
	json_t *notes;                      /* notifications, in order */
	size_t frames;                      /* every frame received */
	long next_id;
};

/* The daemon's RPC side over h (d is filled: base, cfg, driver, core, hooks,
 * server on h's socket path).  d->cfg is a copy the test may change (limits). */
void rpcworld_start(struct daemon *d, struct harness *h);
/* Waits (bounded) for the core to be quiet, then frees the server; close
 * the clients first. */
void rpcworld_stop(struct daemon *d, struct harness *h);

void client_open(struct daemon *d, struct client *cl, uid_t uid);
void client_close(struct client *cl);
/* Reads what the server sent; files whole frames: replies by id, arrays
 * (batch answers) in batches, notifications in notes. */
void client_pump(struct client *cl);
/* Writes frame and a "\n" (the frame verbatim: bad JSON, arrays...),
 * running the loop while the socket is full. */
void client_write(struct harness *h, struct client *cl, const char *frame);
/* The key replies and sizes use for an id: integers "%lld", strings
 * "s:TEXT", null "null". */
void client_key(json_t *id, char *buf, size_t len);
/* Waits (bounded by timeout seconds, failing the test) for the response
 * with that key; takes it out of replies (a new reference); *bytes (may be
 * NULL) is its frame's size. */
json_t *client_wait_key(struct harness *h, struct client *cl, const char *key, double timeout,
			size_t *bytes);
/* Waits for the next batch answer (an array; a new reference). */
json_t *client_wait_batch(struct harness *h, struct client *cl, double timeout);
/* One request (params stolen, may be NULL) with the next integer id, and
 * its response; *bytes as above. */
json_t *client_request(struct harness *h, struct client *cl, const char *method, json_t *params,
		       size_t *bytes);
/* The error code of a response; 0 for a result. */
int code_of(json_t *reply);

#endif
