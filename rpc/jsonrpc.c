/* jsonrpc.c — the codec (see rpc.h, part 1). */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonplain.h"

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

size_t rpc_dumpb(const json_t *msg, char *buf, size_t size)
{
	struct jtext o;

	if (!json_is_object(msg) && !json_is_array(msg))
		return 0;
	jtext_fixed(&o, buf, size);
	return jtext_value(&o, msg) < 0 ? 0 : o.used;
}

/* A frame in two passes at most, for both encoders: fill writes the text
 * into a buffer of the size given and returns its whole length (0: it
 * cannot be encoded); a text that does not fit buf goes to an allocation. */
static char *framed(size_t (*fill)(const void *arg, char *buf, size_t size), const void *arg,
		    char *buf, size_t size, size_t *len)
{
	size_t n = fill(arg, buf, size > 2 ? size - 2 : 0);
	char *out = buf;

	if (n == 0 || n > RPC_MAX_FRAME) {
		errno = EMSGSIZE;
		return NULL;
	}
	if (n + 2 > size) {             /* it did not fit: a second pass */
		if ((out = malloc(n + 2)) == NULL)
			return NULL;
		fill(arg, out, n);
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	*len = n + 1;
	return out;
}

static size_t fill_message(const void *msg, char *buf, size_t size)
{
	return rpc_dumpb(msg, buf, size);
}

char *rpc_encode_into(json_t *msg, char *buf, size_t size, size_t *len)
{
	return framed(fill_message, msg, buf, size, len);
}

char *rpc_encode(json_t *msg, size_t *len)
{
	return rpc_encode_into(msg, NULL, 0, len);
}

struct request {
	long id;
	const char *method;
	rpc_params_fn *params;
	const void *arg;
	bool *bad;                          /* out: a string was not UTF-8 */
};

static size_t fill_request(const void *arg, char *buf, size_t size)
{
	const struct request *r = arg;
	struct jtext o;

	jtext_fixed(&o, buf, size);
	jtext_open(&o, NULL);
	jtext_string(&o, "jsonrpc", "2.0");
	jtext_int(&o, "id", r->id);
	jtext_string(&o, "method", r->method);
	r->params(&o, r->arg);
	jtext_close(&o);
	*r->bad = o.bad;
	return o.bad ? 0 : o.used;
}

char *rpc_encode_request(long id, const char *method, rpc_params_fn *params, const void *arg,
			 char *buf, size_t size, size_t *len)
{
	bool bad = false;
	struct request r = { id, method, params, arg, &bad };
	char *out = framed(fill_request, &r, buf, size, len);

	if (out == NULL && bad)
		errno = EILSEQ;
	return out;
}

struct result {
	json_t *id;
	const struct jtext *text;           /* the result as text, or */
	const json_t *tree;                 /* as a tree */
};

static size_t fill_result(const void *arg, char *buf, size_t size)
{
	const struct result *r = arg;
	struct jtext o;
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":", mid[] = ",\"result\":";

	if (r->text != NULL && (r->text->bad || r->text->used == 0))
		return 0;
	jtext_fixed(&o, buf, size);
	jtext_raw(&o, head, sizeof head - 1);
	if (jtext_value(&o, r->id != NULL ? r->id : json_null()) < 0)
		return 0;
	jtext_raw(&o, mid, sizeof mid - 1);
	if (r->text != NULL)
		jtext_raw(&o, r->text->buf, r->text->used);
	else if (jtext_value(&o, r->tree) < 0)
		return 0;
	jtext_raw(&o, "}", 1);
	return o.used;
}

char *rpc_encode_result_text(json_t *id, const struct jtext *text, char *buf, size_t size,
			     size_t *len)
{
	struct result r = { .id = id, .text = text };

	return framed(fill_result, &r, buf, size, len);
}

char *rpc_encode_result(json_t *id, const json_t *result, char *buf, size_t size, size_t *len)
{
	struct result r = { .id = id, .tree = result };

	return framed(fill_result, &r, buf, size, len);
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
