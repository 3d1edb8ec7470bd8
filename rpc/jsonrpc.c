/* jsonrpc.c — the codec (see rpc.h, part 1). */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonplain.h"
#include "../common/utf8.h"

static json_t *invalid(const char *why)
{
	return rpc_make_error(json_null(), RPC_ERR_INVALID_REQUEST, why);
}

static bool id_valid(json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

json_t *rpc_parse_frame(const char *buf, size_t len, json_t **reply)
{
	json_error_t e;
	char msg[300];

	*reply = NULL;
	if (len > RPC_MAX_FRAME) {
		snprintf(msg, sizeof msg, "invalid request: frame of %zu bytes exceeds the %d-byte limit",
			 len, RPC_MAX_FRAME);
		*reply = invalid(msg);
		return NULL;
	}
	/* jansson rejects invalid UTF-8 and NUL bytes inside strings. */
	json_t *doc = json_plain_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (doc == NULL) {
		snprintf(msg, sizeof msg, "parse error: %s (at byte %d)", e.text, e.position);
		*reply = rpc_make_error(json_null(), RPC_ERR_PARSE, msg);
		return NULL;
	}
	if (json_is_array(doc) && json_array_size(doc) == 0) {
		*reply = invalid("invalid request: an empty batch");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int rpc_request_from(json_t *obj, struct rpc_request *req, json_t **reply)
{
	memset(req, 0, sizeof *req);
	*reply = NULL;
	if (!json_is_object(obj)) {
		*reply = invalid("invalid request: expected a JSON object");
		return -1;
	}
	json_t *ver = json_object_get(obj, "jsonrpc");
	json_t *id = json_object_get(obj, "id");
	json_t *method = json_object_get(obj, "method");
	json_t *params = json_object_get(obj, "params");
	const char *why = NULL;
	if (id != NULL && !id_valid(id))
		why = "invalid request: \"id\" must be a string, a number or null";
	else if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
		why = "invalid request: \"jsonrpc\" must be \"2.0\"";
	else if (!json_is_string(method))
		why = "invalid request: \"method\" must be a string";
	else if (params != NULL && !json_is_object(params) && !json_is_array(params))
		why = "invalid request: \"params\" must be an object";
	if (why != NULL) {
		*reply = rpc_make_error(id != NULL && id_valid(id) ? id : json_null(),
					RPC_ERR_INVALID_REQUEST, why);
		return -1;
	}
	req->doc = json_incref(obj);
	req->id = id;
	req->method = json_string_value(method);
	req->params = params;
	return 0;
}

int rpc_parse_request(const char *buf, size_t len, struct rpc_request *req, json_t **reply)
{
	json_t *doc = rpc_parse_frame(buf, len, reply);

	memset(req, 0, sizeof *req);
	if (doc == NULL)
		return -1;
	int rc = rpc_request_from(doc, req, reply);
	json_decref(doc);
	return rc;
}

void rpc_request_clear(struct rpc_request *req)
{
	json_decref(req->doc);
	memset(req, 0, sizeof *req);
}

json_t *rpc_make_result(json_t *id, json_t *result)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set(m, "id", id ? id : json_null());
	json_object_set_new(m, "result", result ? result : json_object());
	return m;
}

/* A message cut to fit a buffer may end inside a UTF-8 sequence of a
 * client's text (a long method or parameter name), and jansson refuses
 * invalid UTF-8: drop the cut tail, so the error still has a message (an
 * error without one would leave the reply with neither error nor result). */
static json_t *message_json(const char *message)
{
	json_t *s = json_string(message);
	size_t n = strlen(message);

	if (s != NULL)
		return s;
	while (n > 0 && ((unsigned char)message[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && ((unsigned char)message[n - 1] & 0xc0) == 0xc0)
		n--;
	s = json_stringn(message, n);
	return s != NULL ? s : json_string("(error message not valid UTF-8)");
}

json_t *rpc_make_error(json_t *id, int code, const char *message)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set(m, "id", id ? id : json_null());
	json_object_set_new(m, "error", json_pack("{s:i, s:o}", "code", code, "message",
						  message_json(message ? message : "")));
	return m;
}

json_t *rpc_make_notification(const char *method, json_t *params)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "method", json_string(method));
	/* params is borrowed; an empty one is ours. */
	if (params != NULL)
		json_object_set(m, "params", params);
	else
		json_object_set_new(m, "params", json_object());
	return m;
}

json_t *rpc_make_request(json_t *id, const char *method, json_t *params)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set(m, "id", id);
	json_object_set_new(m, "method", json_string(method));
	json_object_set_new(m, "params", params ? params : json_object());
	return m;
}

/* ---- encoding ------------------------------------------------------------
 *
 * A message's compact text, byte for byte what json_dumpb(JSON_COMPACT)
 * writes (tests/test_jsonrpc.c compares the two), for a fraction of its
 * cost: jansson's dump keeps a hash table of the containers it is inside
 * (each keyed by its address, printed with snprintf) to refuse a cycle, and
 * hands its output over a few bytes at a time.  Here a depth bound refuses
 * a cycle, and text goes out in runs.  Reals are left to jansson (rare in
 * messages, and its format for them differs between its versions).
 */

/* Deeper than anything a parse can make (jansson's own bound): a cycle. */
#define ENCODE_MAX_DEPTH JSON_PARSER_MAX_DEPTH

struct sink {
	char *buf;
	size_t size;
	size_t used;                        /* may pass size: what it takes */
};

static void put(struct sink *o, const char *s, size_t n)
{
	if (n <= o->size && o->used <= o->size - n)
		memcpy(o->buf + o->used, s, n);
	o->used += n;
}

/* A character a JSON string cannot carry as it is (jansson's escapes). */
static void put_escape(struct sink *o, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";
	char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
	const char *two = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\b' ? "\\b" :
			  ch == '\f' ? "\\f" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" :
			  ch == '\t' ? "\\t" : NULL;

	if (two != NULL)
		put(o, two, 2);
	else
		put(o, u, sizeof u);
}

/* ASCII that goes out as it is: one test per byte for most text. */
static bool plain(unsigned char ch)
{
	return (unsigned char)(ch - 0x20) < 0x60 && ch != '"' && ch != '\\';
}

/* -1: not valid UTF-8 (as jansson refuses it). */
static int put_string(struct sink *o, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

	put(o, "\"", 1);
	for (;;) {
		while (p < end && plain(*p))
			p++;
		if (p == end)
			break;
		if (*p >= 0x80) {
			size_t n = utf8_seq_len(p, (size_t)(end - p));
			if (n == 0)
				return -1;
			p += n;
		} else {
			put(o, (const char *)run, (size_t)(p - run));
			put_escape(o, *p);
			run = ++p;
		}
	}
	put(o, (const char *)run, (size_t)(p - run));
	put(o, "\"", 1);
	return 0;
}

static void put_integer(struct sink *o, json_int_t v)
{
	char d[24];
	size_t i = sizeof d;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--i] = '-';
	put(o, d + i, sizeof d - i);
}

static int put_real(struct sink *o, const json_t *v)
{
	char d[100];
	size_t n = json_dumpb(v, d, sizeof d, JSON_ENCODE_ANY | JSON_COMPACT);

	if (n == 0 || n > sizeof d)
		return -1;
	put(o, d, n);
	return 0;
}

static int put_value(struct sink *o, const json_t *v, int depth);

static int put_object(struct sink *o, const json_t *v, int depth)
{
	json_t *obj = (json_t *)v;          /* iterating does not change it */
	size_t comma = 0;

	put(o, "{", 1);
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		put(o, ",", comma);
		comma = 1;
		if (put_string(o, json_object_iter_key(it), json_object_iter_key_len(it)) < 0)
			return -1;
		put(o, ":", 1);
		if (put_value(o, json_object_iter_value(it), depth + 1) < 0)
			return -1;
	}
	put(o, "}", 1);
	return 0;
}

static int put_array(struct sink *o, const json_t *v, int depth)
{
	put(o, "[", 1);
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (i > 0)
			put(o, ",", 1);
		if (put_value(o, json_array_get(v, i), depth + 1) < 0)
			return -1;
	}
	put(o, "]", 1);
	return 0;
}

static int put_value(struct sink *o, const json_t *v, int depth)
{
	if (v == NULL || depth > ENCODE_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(o, v, depth);
	case JSON_ARRAY:
		return put_array(o, v, depth);
	case JSON_STRING:
		return put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		put_integer(o, json_integer_value(v));
		return 0;
	case JSON_REAL:
		return put_real(o, v);
	case JSON_TRUE:
		put(o, "true", 4);
		return 0;
	case JSON_FALSE:
		put(o, "false", 5);
		return 0;
	case JSON_NULL:
		put(o, "null", 4);
		return 0;
	}
	return -1;
}

size_t rpc_dumpb(const json_t *msg, char *buf, size_t size)
{
	struct sink o = { buf, size, 0 };

	if (!json_is_object(msg) && !json_is_array(msg))
		return 0;
	return put_value(&o, msg, 0) < 0 ? 0 : o.used;
}

char *rpc_encode_into(json_t *msg, char *buf, size_t size, size_t *len)
{
	size_t n = rpc_dumpb(msg, buf, size > 2 ? size - 2 : 0);
	char *out = buf;

	if (n == 0 || n > RPC_MAX_FRAME) {
		errno = EMSGSIZE;
		return NULL;
	}
	if (n + 2 > size) {             /* it did not fit: a second pass */
		if ((out = malloc(n + 2)) == NULL)
			return NULL;
		rpc_dumpb(msg, out, n);
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	*len = n + 1;
	return out;
}

char *rpc_encode(json_t *msg, size_t *len)
{
	return rpc_encode_into(msg, NULL, 0, len);
}

enum rpc_incoming rpc_parse_incoming(json_t *msg, json_t **id, json_t **payload,
				     const char **method)
{
	json_t *v;

	*id = NULL;
	*payload = NULL;
	*method = NULL;
	if (!json_is_object(msg))
		return RPC_IN_INVALID;
	v = json_object_get(msg, "method");
	if (json_is_string(v) && json_object_get(msg, "id") == NULL) {
		*method = json_string_value(v);
		*payload = json_object_get(msg, "params");
		return RPC_IN_NOTIFICATION;
	}
	*id = json_object_get(msg, "id");
	if ((v = json_object_get(msg, "result")) != NULL) {
		*payload = v;
		return RPC_IN_RESULT;
	}
	if (json_is_object(v = json_object_get(msg, "error"))) {
		*payload = v;
		return RPC_IN_ERROR;
	}
	return RPC_IN_INVALID;
}

int rpc_code_of(enum cause_kind kind)
{
	static const int codes[CAUSE__COUNT] = {
		[CAUSE_INTERNAL] = RPC_ERR_INTERNAL,
		[CAUSE_INVALID] = RPC_ERR_INVALID_PARAMS,
		[CAUSE_NOT_FOUND] = RPC_ERR_NOT_FOUND,
		[CAUSE_FORBIDDEN] = RPC_ERR_FORBIDDEN,
		[CAUSE_SESSION_FAILED] = RPC_ERR_SESSION_FAILED,
		[CAUSE_START_FAILED] = RPC_ERR_START_FAILED,
		[CAUSE_CONFLICT] = RPC_ERR_CONFLICT,
		[CAUSE_LIMIT] = RPC_ERR_LIMIT,
	};

	return (unsigned)kind < CAUSE__COUNT ? codes[kind] : RPC_ERR_INTERNAL;
}

void rpc_default_socket(uid_t uid, char *buf, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (uid == 0)
		snprintf(buf, len, "/run/sessiond/sessiond.sock");
	else if (rt != NULL && rt[0] == '/')
		snprintf(buf, len, "%s/sessiond/sessiond.sock", rt);
	else
		snprintf(buf, len, "/tmp/sessiond-%u/sessiond.sock", (unsigned)uid);
}
