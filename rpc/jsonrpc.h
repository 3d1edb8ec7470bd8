/*
 * jsonrpc.h — frames and the JSON-RPC 2.0 envelope, with no I/O.
 *
 * Pure functions over bytes and jansson values, shared by the server, the
 * client library and the fuzz harness (tests/fuzz/fuzz_rpc.c).  A frame is
 * one line without its "\n".
 */
#ifndef SESSIOND_JSONRPC_H
#define SESSIOND_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sessiond-protocol.h"

struct rpc_request {
	json_t *doc;                        /* owns everything below */
	json_t *id;                         /* NULL for a notification */
	const char *method;
	json_t *params;                     /* NULL when absent */
};

/* 0: req filled (release with rpc_request_clear).  -1: *reply is the error
 * reply to send (parse error, invalid request). */
int rpc_parse_request(const char *buf, size_t len, struct rpc_request *req, json_t **reply);
void rpc_request_clear(struct rpc_request *req);

json_t *rpc_make_result(json_t *id, json_t *result);          /* steals result */
json_t *rpc_make_error(json_t *id, int code, const char *message);
json_t *rpc_make_notification(const char *method, json_t *params); /* borrows */
json_t *rpc_make_request(json_t *id, const char *method, json_t *params); /* steals params */
/* Compact JSON plus "\n"; NULL if it would exceed RPC_MAX_FRAME. */
char *rpc_encode(json_t *msg, size_t *len);

/* Client side: classifies one incoming frame. */
enum rpc_incoming { RPC_IN_INVALID, RPC_IN_RESULT, RPC_IN_ERROR, RPC_IN_NOTIFICATION };
enum rpc_incoming rpc_parse_incoming(json_t *msg, json_t **id, json_t **payload,
				     const char **method);

/* Params checking for handlers: every key of params must be in allowed
 * (NULL-terminated).  Returns the offending key or NULL. */
const char *rpc_params_unknown(json_t *params, const char *const *allowed);

#endif
