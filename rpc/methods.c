/*
 * methods.c — the method table's parameter specs and the one checker of
 * request parameters (see rpc.h).  The server runs rpc_args_parse() before
 * any handler, so a handler never sees an unknown key, a wrong type or a
 * value out of range.
 */
#include "rpc.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define TTL_MAX_S 31536000.0            /* a year */
/* A console tail's JSON text is at most 3 times its bytes (utf8.h): this
 * keeps the reply inside a frame. */
#define CONSOLE_MAX_BYTES (256.0 * 1024)
#define NAME_MAX_BYTES 256.0            /* longer than any valid name: the daemon says why */
#define TOKEN_MAX_BYTES 64.0
#define REASON_MAX_BYTES 256.0
#define UID_MAX 2147483647.0
#define CURSOR_MAX_BYTES 64.0
#define STATE_MAX_BYTES 32.0
#define HOST_MAX_BYTES 256.0            /* longer than any valid name: the daemon says why */

enum rpc_param_type { RPT_STRING, RPT_BOOL, RPT_NUMBER, RPT_UID, RPT_COUNT };

struct rpc_param {
	const char *key;
	enum rpc_param_type type;
	double lo, hi;                      /* numbers; strings: hi is the maximum length */
	size_t offset;                      /* in struct rpc_args */
};

#define A(m) offsetof(struct rpc_args, m)

static const struct rpc_param params[RP__COUNT] = {
	[RP_NAME] = { "name", RPT_STRING, 0, NAME_MAX_BYTES, A(name) },
	[RP_OWNER_UID] = { "owner_uid", RPT_UID, 0, UID_MAX, A(owner_uid) },
	[RP_TOKEN] = { "token", RPT_STRING, 0, TOKEN_MAX_BYTES, A(token) },
	[RP_REASON] = { "reason", RPT_STRING, 0, REASON_MAX_BYTES, A(reason) },
	[RP_TTL_S] = { "ttl_s", RPT_NUMBER, 0.001, TTL_MAX_S, A(ttl_s) },
	[RP_DETACH] = { "detach", RPT_BOOL, 0, 0, A(detach) },
	[RP_FORCE] = { "force", RPT_BOOL, 0, 0, A(force) },
	[RP_KEEP_STORAGE] = { "keep_storage", RPT_BOOL, 0, 0, A(keep_storage) },
	[RP_MAX_BYTES] = { "max_bytes", RPT_NUMBER, 1, CONSOLE_MAX_BYTES, A(max_bytes) },
	[RP_LIMIT] = { "limit", RPT_COUNT, 1, RPC_PAGE_MAX, A(limit) },
	[RP_AFTER] = { "after", RPT_STRING, 0, CURSOR_MAX_BYTES, A(after) },
	[RP_STATE] = { "state", RPT_STRING, 0, STATE_MAX_BYTES, A(state) },
	[RP_HOST] = { "host", RPT_STRING, 0, HOST_MAX_BYTES, A(host) },
};

#define NAMED (RPB(RP_NAME) | RPB(RP_OWNER_UID))
#define PAGED (RPB(RP_LIMIT) | RPB(RP_AFTER))

const struct rpc_method_spec rpc_methods[RPC_M__COUNT] = {
	[RPC_M_DAEMON_INFO] = { RPC_DAEMON_INFO, 0, 0, 0 },
	[RPC_M_SESSION_CREATE] = { RPC_SESSION_CREATE, NAMED | RPB(RP_HOST), RPB(RP_NAME),
				   RPC_M_SETTINGS },
	[RPC_M_SESSION_LIST] = { RPC_SESSION_LIST, RPB(RP_OWNER_UID) | PAGED | RPB(RP_STATE) |
				 RPB(RP_HOST), 0, 0 },
	[RPC_M_SESSION_GET] = { RPC_SESSION_GET, NAMED, RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_SESSION_START] = { RPC_SESSION_START, NAMED, RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_SESSION_STOP] = { RPC_SESSION_STOP, NAMED | RPB(RP_FORCE), RPB(RP_NAME),
				 RPC_M_SESSION },
	[RPC_M_SESSION_RESET] = { RPC_SESSION_RESET, NAMED, RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_SESSION_DELETE] = { RPC_SESSION_DELETE, NAMED | RPB(RP_KEEP_STORAGE), RPB(RP_NAME),
				   RPC_M_SESSION },
	/* Without a name: every session the caller may see (of owner_uid). */
	[RPC_M_SESSION_WATCH] = { RPC_SESSION_WATCH, NAMED, 0, RPC_M_SESSION },
	[RPC_M_TOKEN_ACQUIRE] = { RPC_TOKEN_ACQUIRE, NAMED | RPB(RP_TTL_S) | RPB(RP_REASON) |
				  RPB(RP_DETACH), RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_TOKEN_RENEW] = { RPC_TOKEN_RENEW, RPB(RP_TOKEN) | RPB(RP_TTL_S), RPB(RP_TOKEN), 0 },
	[RPC_M_TOKEN_RELEASE] = { RPC_TOKEN_RELEASE, RPB(RP_TOKEN), RPB(RP_TOKEN), 0 },
	[RPC_M_VM_INFO] = { RPC_VM_INFO, NAMED, RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_VM_CONSOLE] = { RPC_VM_CONSOLE, NAMED | RPB(RP_MAX_BYTES), RPB(RP_NAME),
			       RPC_M_SESSION },
	[RPC_M_SESSION_HOLDS] = { RPC_SESSION_HOLDS, NAMED | PAGED, RPB(RP_NAME), RPC_M_SESSION },
	[RPC_M_DAEMON_RELOAD] = { RPC_DAEMON_RELOAD, 0, 0, 0 },
};

const char *rpc_param_name(enum rpc_param_id id)
{
	return (unsigned)id < RP__COUNT ? params[id].key : "?";
}

/* A name of n bytes (no NUL needed) against a NUL-terminated one. */
static bool same_name(const char *table, const char *name, size_t n)
{
	return n > 0 && table[0] == name[0] && strncmp(table, name, n) == 0 && table[n] == '\0';
}

int rpc_method_findn(const char *name, size_t n)
{
	for (int m = 0; name != NULL && m < RPC_M__COUNT; m++)
		if (same_name(rpc_methods[m].name, name, n))
			return m;
	return -1;
}

int rpc_method_find(const char *name)
{
	return name != NULL ? rpc_method_findn(name, strlen(name)) : -1;
}

static int param_id(const char *key, size_t n)
{
	for (int i = 0; i < RP__COUNT; i++)
		if (same_name(params[i].key, key, n))
			return i;
	return -1;
}

static int bad(struct cause *c, const char *key, const char *why)
{
	cause_set(c, CAUSE_INVALID, "invalid params: '%s' %s", key, why);
	return -1;
}

/* One value into its member of args. */
static int take(const struct rpc_param *p, const struct rpc_scalar *v, struct rpc_args *a,
		struct cause *c)
{
	char *slot = (char *)a + p->offset;
	bool integer = v->type == RS_INTEGER;
	double x;

	switch (p->type) {
	case RPT_STRING:
		if (v->type != RS_STRING)
			return bad(c, p->key, "must be a string");
		if ((double)v->n > p->hi || strlen(v->s) != v->n) {
			cause_set(c, CAUSE_INVALID,
				  "invalid params: '%s' must be at most %g bytes, without NUL", p->key, p->hi);
			return -1;
		}
		*(const char **)(void *)slot = v->s;
		return 0;
	case RPT_BOOL:
		if (v->type != RS_TRUE && v->type != RS_FALSE)
			return bad(c, p->key, "must be true or false");
		*(bool *)(void *)slot = v->type == RS_TRUE;
		return 0;
	case RPT_COUNT:
		if (!integer || (double)v->i < p->lo || (double)v->i > p->hi) {
			cause_set(c, CAUSE_INVALID, "invalid params: '%s' must be an integer from %.15g to %.15g",
				  p->key, p->lo, p->hi);
			return -1;
		}
		*(size_t *)(void *)slot = (size_t)v->i;
		return 0;
	case RPT_UID:
		if (!integer || v->i < 0 || (double)v->i > p->hi)
			return bad(c, p->key, "must be a uid");
		*(uid_t *)(void *)slot = (uid_t)v->i;
		return 0;
	case RPT_NUMBER:
		x = integer ? (double)v->i : v->type == RS_REAL ? v->r : NAN;
		if (!isfinite(x) || x < p->lo || x > p->hi) {
			cause_set(c, CAUSE_INVALID, "invalid params: '%s' must be a number between %.15g and %.15g",
				  p->key, p->lo, p->hi);
			return -1;
		}
		*(double *)(void *)slot = x;
		return 0;
	}
	return -1;
}

int rpc_args_put(enum rpc_method_id m, const char *key, size_t n, const struct rpc_scalar *v,
		 struct rpc_args *a, struct cause *c)
{
	const struct rpc_method_spec *spec = &rpc_methods[m];
	int id = param_id(key, n);

	if (id >= 0 && (spec->params & RPB(id))) {
		if (take(&params[id], v, a, c) < 0)
			return -1;
		a->given |= RPB(id);
	} else if (!(spec->flags & RPC_M_SETTINGS)) {
		cause_set(c, CAUSE_INVALID, "invalid params: unknown parameter '%.*s' for %s",
			  (int)n, key, spec->name);
		return -1;
	}
	return 0;
}

int rpc_args_done(enum rpc_method_id m, struct rpc_args *a, struct cause *c)
{
	unsigned missing = rpc_methods[m].required & ~a->given;

	for (int id = 0; missing != 0 && id < RP__COUNT; id++)
		if (missing & RPB(id))
			return bad(c, params[id].key, "is required");
	return 0;
}

/* A JSON value as the checker reads it (borrowed from v). */
static struct rpc_scalar scalar_of(json_t *v)
{
	struct rpc_scalar s = { .type = RS_OTHER };

	switch (json_typeof(v)) {
	case JSON_STRING:
		s.type = RS_STRING;
		s.s = json_string_value(v);
		s.n = json_string_length(v);
		break;
	case JSON_TRUE: s.type = RS_TRUE; break;
	case JSON_FALSE: s.type = RS_FALSE; break;
	case JSON_INTEGER:
		s.type = RS_INTEGER;
		s.i = json_integer_value(v);
		break;
	case JSON_REAL:
		s.type = RS_REAL;
		s.r = json_real_value(v);
		break;
	default: break;
	}
	return s;
}

int rpc_args_parse(enum rpc_method_id m, json_t *params_obj, struct rpc_args *a,
		   struct cause *c)
{
	const char *key;
	json_t *v;

	memset(a, 0, sizeof *a);
	json_object_foreach(params_obj, key, v) {
		struct rpc_scalar s = scalar_of(v);
		if (rpc_args_put(m, key, strlen(key), &s, a, c) < 0)
			return -1;
	}
	if (rpc_methods[m].flags & RPC_M_SETTINGS)
		a->rest = params_obj;
	return rpc_args_done(m, a, c);
}
