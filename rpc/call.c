/*
 * call.c — one request of a connection, from its frame to its one answer
 * (see rpc.h, part 3): parsed, checked against its method's row, handed to
 * the dispatcher, answered exactly once (reply or error), or dropped with
 * its connection ("lost, not freed": the cancel hook runs, a late answer
 * is discarded).
 *
 * A batch (JSON-RPC 2.0 section 6: a frame that is an array of requests)
 * makes one call per member, each dispatched as if it came alone; their
 * answers are collected and the array goes out once the last member is
 * answered.  Notifications get no answer; a batch of notifications only
 * gets nothing at all.  An array of answers too large for one frame is
 * sent as an error per member instead, saying so.
 *
 * Metrics: every answer is counted here, the one place that sees a call
 * begin (call_start) and end (rpc_call_reply, rpc_call_error): by method
 * and code, with the time in between (metrics.h).
 */
#include "rpc.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonplain.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

_Static_assert(RPC_M__COUNT == METRICS_RPC_METHODS, "metrics.c names every method");

struct rpc_batch {
	struct rpc_conn *conn;
	json_t *replies;                    /* the answers so far */
	size_t pending;                     /* members not answered yet */
};

/* Each member's error in place of an array that does not fit a frame. */
static json_t *batch_too_large(json_t *replies)
{
	json_t *errs = json_array(), *r;
	size_t i;

	json_array_foreach(replies, i, r)
		json_array_append_new(errs, rpc_make_error(json_object_get(r, "id"), RPC_ERR_INTERNAL,
			"internal error: the batch's answers exceed the frame limit; send this request alone"));
	return errs;
}

static void batch_answer(struct rpc_batch *b, json_t *msg)
{
	if (msg != NULL)
		json_array_append_new(b->replies, msg);
	if (--b->pending > 0)
		return;
	/* Too large as answers, then as errors (thousands of members): one
	 * error for the whole batch, never silence. */
	if (json_array_size(b->replies) > 0 &&
	    rpc_conn_send(b->conn, json_incref(b->replies)) == -2 &&
	    rpc_conn_send(b->conn, batch_too_large(b->replies)) == -2) {
		char why[200];
		snprintf(why, sizeof why, "internal error: the %zu answers of a batch exceed the "
			 "frame limit even as errors; send fewer requests at a time",
			 json_array_size(b->replies));
		rpc_conn_send(b->conn, rpc_make_error(json_null(), RPC_ERR_INTERNAL, why));
	}
	json_decref(b->replies);
	rpc_conn_unref(b->conn);
	free(b);
}

/* The one way out of an answer: to its batch, or to the connection. */
static void answer(struct rpc_conn *c, struct rpc_batch *b, json_t *msg)
{
	if (b != NULL)
		batch_answer(b, msg);
	else if (msg != NULL)
		rpc_conn_send(c, msg);
}

/* The call's answer, counted. */
static void call_count(struct rpc_call *call, int code)
{
	metrics_rpc_done(call->method < 0 ? METRICS_RPC_OTHER : (unsigned)call->method, code,
			 mono_now() - call->started);
}

/* An error answered before there was a call (no request to name). */
static void count_unnamed(json_t *reply)
{
	json_t *code = json_object_get(json_object_get(reply, "error"), "code");

	if (json_is_integer(code))
		metrics_rpc_done(METRICS_RPC_OTHER, (int)json_integer_value(code), 0);
}

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

/* A batch's member goes into the batch's array as a whole message; any
 * other reply is written straight into the connection's output. */
void rpc_call_reply(struct rpc_call *call, json_t *result)
{
	static const struct jtext empty = { .buf = (char *)"{}", .size = 2, .used = 2 };

	call_count(call, 0);
	if (call->req.id == NULL) {
		json_decref(result);
		answer(call->conn, call->batch, NULL);
	} else if (call->batch != NULL) {
		answer(call->conn, call->batch, rpc_make_result(call->req.id, result));
	} else {
		rpc_conn_send_result(call->conn, call->req.id, result == NULL ? &empty : NULL, result);
		json_decref(result);
	}
	call_free(call);
}

/* As rpc_call_reply; a batch's member is loaded back into a tree for the
 * batch's array (batches are rare). */
void rpc_call_reply_text(struct rpc_call *call, const struct jtext *result)
{
	if (result->bad) {
		rpc_call_error(call, RPC_ERR_INTERNAL,
			       "internal error: the reply could not be written (text not valid UTF-8, "
			       "or out of memory)");
		return;
	}
	if (call->req.id == NULL) {         /* a notification: no answer */
		rpc_call_reply(call, NULL);
		return;
	}
	if (call->batch != NULL) {
		json_t *v = json_plain_loadb(result->buf, result->used, JSON_DECODE_ANY, NULL);
		if (v == NULL) {
			rpc_call_error(call, RPC_ERR_INTERNAL, "internal error: a reply that is not JSON");
			return;
		}
		rpc_call_reply(call, v);
		return;
	}
	call_count(call, 0);
	rpc_conn_send_result(call->conn, call->req.id, result, NULL);
	call_free(call);
}

void rpc_call_error(struct rpc_call *call, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	call_count(call, code);
	answer(call->conn, call->batch,
	       call->req.id != NULL ? rpc_make_error(call->req.id, code, msg) : NULL);
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

static struct rpc_call *call_new(size_t store)
{
	struct rpc_call *call = xmalloc(sizeof *call + store);

	memset(call, 0, sizeof *call);
	call->started = mono_now();
	call->method = -1;
	return call;
}

/* The call is its connection's until answered. */
static void call_link(struct rpc_call *call, struct rpc_conn *c, struct rpc_batch *b)
{
	call->conn = c;
	call->batch = b;
	c->refs++;
	list_add_tail(&c->calls, &call->node);
}

/* One request object: a call, checked against its method's row, and
 * dispatched (or answered with why not). */
static void call_start(struct rpc_conn *c, struct rpc_batch *b, json_t *obj)
{
	struct rpc_call *call = call_new(0);
	struct cause err;
	json_t *reply;

	if (rpc_request_from(obj, &call->req, &reply) < 0) {
		free(call);
		count_unnamed(reply);
		answer(c, b, reply);
		return;
	}
	call_link(call, c, b);
	int m = rpc_method_find(call->req.method);
	call->method = m;
	if (m < 0) {
		rpc_call_error(call, RPC_ERR_NO_METHOD, "no such method '%s'", call->req.method);
		return;
	}
	if (json_is_array(call->req.params)) {
		rpc_call_error(call, RPC_ERR_INVALID_PARAMS,
			       "invalid params: %s takes named parameters (an object)", rpc_methods[m].name);
		return;
	}
	if (rpc_args_parse((enum rpc_method_id)m, call->req.params, &call->args, &err) < 0) {
		rpc_call_fail(call, &err);
		return;
	}
	rpc_server_dispatch(c->srv, call, (enum rpc_method_id)m);
}

/* A plain request (rpc_plain_request: nearly every one) is dispatched
 * without a tree; its strings live in the call's store. */
static bool call_plain(struct rpc_conn *c, const char *buf, size_t len)
{
	struct rpc_call *call = call_new(len);

	if (!rpc_plain_request(buf, len, call->store, &call->method, &call->req.id,
			       &call->args)) {
		free(call);
		return false;
	}
	call->req.doc = call->req.id;       /* all it owns */
	call->req.method = rpc_methods[call->method].name;
	call_link(call, c, NULL);
	rpc_server_dispatch(c->srv, call, (enum rpc_method_id)call->method);
	return true;
}

void rpc_call_frame(struct rpc_conn *c, const char *buf, size_t len)
{
	json_t *reply, *member;
	json_t *doc;
	size_t i;

	if (call_plain(c, buf, len))
		return;
	doc = rpc_parse_frame(buf, len, &reply);
	if (doc == NULL) {
		count_unnamed(reply);
		rpc_conn_send(c, reply);
		return;
	}
	if (!json_is_array(doc)) {
		call_start(c, NULL, doc);
		json_decref(doc);
		return;
	}
	struct rpc_batch *b = XNEW(b);
	b->conn = c;
	b->replies = json_array();
	/* One more than the members, so a member answered at once cannot end
	 * the batch before the last one started. */
	b->pending = json_array_size(doc) + 1;
	c->refs++;
	json_array_foreach(doc, i, member)
		call_start(c, b, member);
	json_decref(doc);
	batch_answer(b, NULL);
}
