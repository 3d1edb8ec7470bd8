/*
 * call.c — one request of a connection, from its frame to its one answer
 * (see rpc.h, part 3): parsed, checked against its method's row, handed to
 * the dispatcher, answered exactly once (reply or error), or dropped with
 * its connection ("lost, not freed": the cancel hook runs, a late answer
 * is discarded).
 */
#include "rpc.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/xalloc.h"

static void call_free(struct rpc_call *call)
{
	struct rpc_conn *c = call->conn;

	list_del(&call->node);
	/* A half-closed peer is closed once answered: let the write callback
	 * (deferred, never from inside a handler) look. */
	if (rpc_conn_half(c) && list_empty(&c->calls))
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
				    BEV_TRIG_DEFER_CALLBACKS);
	rpc_request_clear(&call->req);
	free(call);
	rpc_conn_unref(c);
}

void rpc_call_reply(struct rpc_call *call, json_t *result)
{
	if (call->req.id != NULL)
		rpc_conn_send(call->conn, rpc_make_result(call->req.id, result));
	else
		json_decref(result);
	call_free(call);
}

void rpc_call_error(struct rpc_call *call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (call->req.id != NULL)
		rpc_conn_send(call->conn, rpc_make_error(call->req.id, code, msg));
	call_free(call);
}

void rpc_call_fail(struct rpc_call *call, const struct cause *cause)
{
	rpc_call_error(call, rpc_code_of(cause->kind), "%s", cause->msg);
}

void rpc_call_on_lost(struct rpc_call *call, void (*fn)(struct rpc_call *, void *), void *arg)
{
	call->lost_fn = fn;
	call->lost_arg = arg;
}

json_t *rpc_call_params(struct rpc_call *call)
{
	return call->params;
}

const char *rpc_call_method(struct rpc_call *call)
{
	return call->req.method;
}

struct rpc_conn *rpc_call_conn(struct rpc_call *call)
{
	return call->conn;
}

uid_t rpc_call_uid(struct rpc_call *call)
{
	return call->conn->uid;
}

pid_t rpc_call_pid(struct rpc_call *call)
{
	return call->conn->pid;
}

bool rpc_call_lost(struct rpc_call *call)
{
	return call->conn->phase == CONN_LOST;
}

/* ---- frames ------------------------------------------------------ */

void rpc_call_frame(struct rpc_conn *c, const char *buf, size_t len)
{
	struct rpc_call *call = XNEW(call);
	struct cause err;
	json_t *reply;

	if (rpc_parse_request(buf, len, &call->req, &reply) < 0) {
		free(call);
		rpc_conn_send(c, reply);
		return;
	}
	call->conn = c;
	c->refs++;
	list_add_tail(&c->calls, &call->node);
	int m = rpc_method_find(call->req.method);
	if (m < 0) {
		rpc_call_error(call, RPC_ERR_NO_METHOD, "no such method '%s'", call->req.method);
		return;
	}
	if (json_is_array(call->req.params)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: %s takes named parameters (an object)", rpc_methods[m].name);
		return;
	}
	/* Handlers always see an object; it lives as long as the request. */
	if (call->req.params == NULL) {
		json_object_set_new(call->req.doc, "params", json_object());
		call->req.params = json_object_get(call->req.doc, "params");
	}
	call->params = call->req.params;
	if (rpc_args_parse((enum rpc_method_id)m, call->params, &call->args, &err) < 0) {
		rpc_call_fail(call, &err);
		return;
	}
	rpc_server_dispatch(c->srv, call, (enum rpc_method_id)m);
}

