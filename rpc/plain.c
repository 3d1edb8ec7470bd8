/*
 * plain.c — a request in the plain form nearly every client sends, read
 * straight from its text into its call's arguments, without a JSON tree
 * (see rpc_plain_request in rpc.h).  Anything outside that form is left to
 * the full path (jsonrpc.c, methods.c), which words every error; the
 * parameters go through the same checker (rpc_args_put) either way.
 */
#include "rpc.h"

#include <string.h>

#include "../common/jsonplain.h"
#include "../common/jsontext.h"

struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool take_char(struct scan *s, char ch)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == ch) {
		s->p++;
		return true;
	}
	return false;
}

/* A string of ASCII without escapes or control characters: its bytes are
 * its value. */
static bool plain_string(struct scan *s, const char **str, size_t *n)
{
	if (!take_char(s, '"'))
		return false;
	const char *b = s->p;
	s->p = jtext_plain_run(b, s->end);
	if (s->p == s->end || *s->p != '"')
		return false;
	*str = b;
	*n = (size_t)(s->p++ - b);
	return true;
}

static bool take_word(struct scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* A number as jansson reads it (json_plain_number), ended where JSON lets
 * a number end. */
static bool plain_number(struct scan *s, struct rpc_scalar *v)
{
	struct json_plain_num n;
	const char *p = json_plain_number(s->p, s->end, &n);

	if (p == NULL)
		return false;
	s->p = p;
	v->type = n.real ? RS_REAL : RS_INTEGER;
	v->i = n.i;
	v->r = n.d;
	return true;
}

/* A value of params: a plain string (copied into the store, with its NUL),
 * true, false or a number. */
static bool plain_scalar(struct scan *s, struct rpc_scalar *v, char **store)
{
	const char *str;

	skip_ws(s);
	if (s->p == s->end)
		return false;
	if (*s->p == '"') {
		if (!plain_string(s, &str, &v->n))
			return false;
		memcpy(*store, str, v->n);
		(*store)[v->n] = '\0';
		v->s = *store;
		*store += v->n + 1;
		v->type = RS_STRING;
		return true;
	}
	if (take_word(s, "true", 4)) {
		v->type = RS_TRUE;
		return true;
	}
	if (take_word(s, "false", 5)) {
		v->type = RS_FALSE;
		return true;
	}
	return plain_number(s, v);
}

static bool plain_id(struct scan *s, json_t **id)
{
	const char *str;
	size_t n;
	struct rpc_scalar v;

	skip_ws(s);
	if (s->p < s->end && *s->p == '"') {
		if (!plain_string(s, &str, &n))
			return false;
		*id = json_stringn_nocheck(str, n);
	} else if (take_word(s, "null", 4)) {
		*id = json_null();
	} else if (plain_number(s, &v)) {
		*id = v.type == RS_REAL ? json_real(v.r) : json_integer(v.i);
	} else {
		return false;
	}
	return *id != NULL;
}

static bool plain_params(struct scan *s, int m, struct rpc_args *args, char *store)
{
	struct cause err;

	if (!take_char(s, '{'))
		return false;
	if (take_char(s, '}'))
		return true;
	do {
		struct rpc_scalar v = { .type = RS_OTHER };
		const char *key;
		size_t n;
		unsigned before = args->given;
		if (!plain_string(s, &key, &n) || !take_char(s, ':') || !plain_scalar(s, &v, &store))
			return false;
		/* An unknown key, a wrong value, or a key given twice. */
		if (rpc_args_put((enum rpc_method_id)m, key, n, &v, args, &err) < 0 ||
		    args->given == before)
			return false;
	} while (take_char(s, ','));
	return take_char(s, '}');
}

/* Over an object without objects or arrays inside, its strings plain. */
static bool skip_flat_object(struct scan *s)
{
	const char *str;
	size_t n;

	if (!take_char(s, '{'))
		return false;
	while (s->p < s->end && *s->p != '}') {
		if (*s->p == '"') {
			if (!plain_string(s, &str, &n))
				return false;
		} else if (*s->p == '{' || *s->p == '[') {
			return false;
		} else {
			s->p++;
		}
	}
	return take_char(s, '}');
}

enum { TOP_JSONRPC = 1, TOP_ID = 2, TOP_METHOD = 4, TOP_PARAMS = 8 };

bool rpc_plain_request(const char *buf, size_t len, char *store, int *m, json_t **id,
		       struct rpc_args *args)
{
	struct scan s = { buf, buf + len };
	const char *key, *val, *params = NULL, *params_end = NULL;
	size_t n, vn;
	unsigned seen = 0, bit;
	struct cause err;

	*m = -1;
	*id = NULL;
	memset(args, 0, sizeof *args);
	if (len > RPC_MAX_FRAME || !take_char(&s, '{'))
		return false;
	do {
		if (!plain_string(&s, &key, &n) || !take_char(&s, ':'))
			goto decline;
		bit = n == 7 && memcmp(key, "jsonrpc", 7) == 0 ? TOP_JSONRPC :
		      n == 2 && memcmp(key, "id", 2) == 0 ? TOP_ID :
		      n == 6 && memcmp(key, "method", 6) == 0 ? TOP_METHOD :
		      n == 6 && memcmp(key, "params", 6) == 0 ? TOP_PARAMS : 0;
		if (bit == 0 || (seen & bit))
			goto decline;
		seen |= bit;
		switch (bit) {
		case TOP_JSONRPC:
			if (!plain_string(&s, &val, &vn) || vn != 3 || memcmp(val, "2.0", 3) != 0)
				goto decline;
			break;
		case TOP_ID:
			if (!plain_id(&s, id))
				goto decline;
			break;
		case TOP_METHOD:
			if (!plain_string(&s, &val, &vn) || (*m = rpc_method_findn(val, vn)) < 0 ||
			    (rpc_methods[*m].flags & RPC_M_SETTINGS))
				goto decline;
			break;
		default:
			/* Read now if the method is known; else once it is. */
			skip_ws(&s);
			params = s.p;
			if (*m >= 0 ? !plain_params(&s, *m, args, store) : !skip_flat_object(&s))
				goto decline;
			params_end = s.p;
			if (*m >= 0)
				params = NULL;
			break;
		}
	} while (take_char(&s, ','));
	if (!take_char(&s, '}') || (skip_ws(&s), s.p != s.end) ||
	    (seen & (TOP_JSONRPC | TOP_METHOD)) != (TOP_JSONRPC | TOP_METHOD))
		goto decline;
	if (params != NULL) {
		struct scan ps = { params, params_end };
		if (!plain_params(&ps, *m, args, store) || ps.p != params_end)
			goto decline;
	}
	if (rpc_args_done((enum rpc_method_id)*m, args, &err) == 0)
		return true;
decline:
	json_decref(*id);
	*id = NULL;
	*m = -1;
	return false;
}
