/* settings.c — see settings.h. */
#include "settings.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../rpc/sessiond-protocol.h"

static const char *const storage_names[STORAGE__COUNT] = { "persistent", "ephemeral" };
static const char *const crash_names[CRASH__COUNT] = { "terminate", "restart" };
static const char *const domtype_names[DOMTYPE__COUNT] = { "auto", "kvm", "qemu" };

static int from_table(const char *const *names, int n, const char *s)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *storage_kind_name(enum storage_kind k)
{
	return (unsigned)k < STORAGE__COUNT ? storage_names[k] : "invalid";
}

int storage_kind_from_name(const char *s)
{
	return from_table(storage_names, STORAGE__COUNT, s);
}

const char *crash_policy_name(enum crash_policy p)
{
	return (unsigned)p < CRASH__COUNT ? crash_names[p] : "invalid";
}

int crash_policy_from_name(const char *s)
{
	return from_table(crash_names, CRASH__COUNT, s);
}

const char *domain_type_name(enum domain_type t)
{
	return (unsigned)t < DOMTYPE__COUNT ? domtype_names[t] : "invalid";
}

int domain_type_from_name(const char *s)
{
	return from_table(domtype_names, DOMTYPE__COUNT, s);
}

void settings_defaults_builtin(struct settings_defaults *d)
{
	memset(d, 0, sizeof *d);
	d->grace = 300;
	d->storage = STORAGE_PERSISTENT;
	d->crash_policy = CRASH_TERMINATE;
	d->memory_mib = 512;
	d->vcpus = 1;
	d->domain_type = DOMTYPE_AUTO;
	d->disk_gib = 4;
	d->ready_timeout = 120;
	d->stop_timeout = 10;
}

bool session_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > SESSION_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return false;
	}
	return true;
}

/* ---- one parser per value shape ----------------------------------- */

static int bad(struct cause *c, const char *key, const char *why)
{
	cause_set(c, RPC_ERR_INVALID_PARAMS, "invalid params: %s: %s", key, why);
	return -1;
}

static int get_number(json_t *v, const char *key, double lo, double hi, double *out,
		      struct cause *c)
{
	char why[128];

	if (!json_is_number(v))
		return bad(c, key, "expected a number");
	double x = json_number_value(v);
	if (!isfinite(x) || x < lo || x > hi) {
		snprintf(why, sizeof why, "must be between %g and %g", lo, hi);
		return bad(c, key, why);
	}
	*out = x;
	return 0;
}

static int get_uint(json_t *v, const char *key, unsigned lo, unsigned hi, unsigned *out,
		    struct cause *c)
{
	char why[128];

	if (!json_is_integer(v))
		return bad(c, key, "expected an integer");
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi) {
		snprintf(why, sizeof why, "must be between %u and %u", lo, hi);
		return bad(c, key, why);
	}
	*out = (unsigned)x;
	return 0;
}

static int get_enum(json_t *v, const char *key, int (*from)(const char *),
		    const char *choices, int *out, struct cause *c)
{
	char why[160];
	int x = json_is_string(v) ? from(json_string_value(v)) : -1;

	if (x < 0) {
		snprintf(why, sizeof why, "expected one of %s", choices);
		return bad(c, key, why);
	}
	*out = x;
	return 0;
}

static int get_string(json_t *v, const char *key, size_t max, char **out, struct cause *c)
{
	if (json_is_null(v)) {
		free(*out);
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return bad(c, key, "expected a string");
	if (json_string_length(v) > max)
		return bad(c, key, "too long");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(c, key, "contains a NUL character");
	free(*out);
	*out = strdup(json_string_value(v));
	if (*out == NULL)
		fatal("out of memory");
	return 0;
}

static int get_grace(json_t *v, struct settings *out, struct cause *c)
{
	if (json_is_string(v) && strcmp(json_string_value(v), "never") == 0) {
		out->grace = GRACE_NEVER;
	} else if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		   json_number_value(v) < 0 || json_number_value(v) > 31536000) {
		return bad(c, "grace_s", "expected seconds (a number >= 0) or \"never\"");
	} else {
		out->grace = json_number_value(v);
	}
	out->grace_given = true;
	return 0;
}

static char *dup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		fatal("out of memory");
	return d;
}

static void settings_apply_defaults(const struct settings_defaults *d, struct settings *out)
{
	memset(out, 0, sizeof *out);
	out->grace = d->grace;
	out->storage = d->storage;
	out->crash_policy = d->crash_policy;
	out->memory_mib = d->memory_mib;
	out->vcpus = d->vcpus;
	out->domain_type = d->domain_type;
	out->kernel = dup_or_null(d->kernel);
	out->initrd = dup_or_null(d->initrd);
	out->cmdline = dup_or_null(d->cmdline);
	out->image = dup_or_null(d->image);
	out->disk_gib = d->disk_gib;
	out->ready_timeout = d->ready_timeout;
	out->stop_timeout = d->stop_timeout;
}

static bool ignored(const char *key, const char *const *ignore)
{
	for (; ignore != NULL && *ignore != NULL; ignore++)
		if (strcmp(*ignore, key) == 0)
			return true;
	return false;
}

static int parse_one(const char *key, json_t *v, struct settings *out, struct cause *c)
{
	int e;

	if (strcmp(key, "grace_s") == 0)
		return get_grace(v, out, c);
	if (strcmp(key, "storage") == 0) {
		if (get_enum(v, key, storage_kind_from_name, "\"persistent\", \"ephemeral\"", &e, c) < 0)
			return -1;
		out->storage = (enum storage_kind)e;
		return 0;
	}
	if (strcmp(key, "crash_policy") == 0) {
		if (get_enum(v, key, crash_policy_from_name, "\"terminate\", \"restart\"", &e, c) < 0)
			return -1;
		out->crash_policy = (enum crash_policy)e;
		return 0;
	}
	if (strcmp(key, "domain_type") == 0) {
		if (get_enum(v, key, domain_type_from_name, "\"auto\", \"kvm\", \"qemu\"", &e, c) < 0)
			return -1;
		out->domain_type = (enum domain_type)e;
		return 0;
	}
	if (strcmp(key, "memory_mib") == 0)
		return get_uint(v, key, 16, 1048576, &out->memory_mib, c);
	if (strcmp(key, "vcpus") == 0)
		return get_uint(v, key, 1, 256, &out->vcpus, c);
	if (strcmp(key, "disk_gib") == 0)
		return get_number(v, key, 0.001, 65536, &out->disk_gib, c);
	if (strcmp(key, "ready_timeout_s") == 0)
		return get_number(v, key, 0.001, 86400, &out->ready_timeout, c);
	if (strcmp(key, "stop_timeout_s") == 0)
		return get_number(v, key, 0, 3600, &out->stop_timeout, c);
	if (strcmp(key, "kernel") == 0)
		return get_string(v, key, 4096, &out->kernel, c);
	if (strcmp(key, "initrd") == 0)
		return get_string(v, key, 4096, &out->initrd, c);
	if (strcmp(key, "cmdline") == 0)
		return get_string(v, key, 4096, &out->cmdline, c);
	if (strcmp(key, "image") == 0)
		return get_string(v, key, 4096, &out->image, c);
	if (strcmp(key, "disk") == 0)
		return get_string(v, key, 4096, &out->disk, c);
	if (strcmp(key, "ready_pattern") == 0)
		return get_string(v, key, 1024, &out->ready_pattern, c);
	return bad(c, key, "unknown parameter");
}

static int check_pattern(const struct settings *s, struct cause *c)
{
	regex_t re;
	char why[256], err[160];

	if (s->ready_pattern == NULL)
		return 0;
	int rc = regcomp(&re, s->ready_pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &re, err, sizeof err);
		snprintf(why, sizeof why, "not a regular expression: %s", err);
		return bad(c, "ready_pattern", why);
	}
	regfree(&re);
	return 0;
}

int settings_parse(json_t *params, const struct settings_defaults *d,
		   const char *const *ignore, struct settings *out, struct cause *c)
{
	const char *key;
	json_t *v;

	settings_apply_defaults(d, out);
	if (params != NULL && !json_is_object(params)) {
		cause_set(c, RPC_ERR_INVALID_PARAMS, "invalid params: expected an object");
		goto fail;
	}
	if (params != NULL) {
		json_object_foreach(params, key, v) {
			if (ignored(key, ignore))
				continue;
			if (parse_one(key, v, out, c) < 0)
				goto fail;
		}
	}
	/* An ephemeral session keeps its VM unless told otherwise. */
	if (out->storage == STORAGE_EPHEMERAL && !out->grace_given)
		out->grace = GRACE_NEVER;
	if ((out->initrd != NULL || out->cmdline != NULL) && out->kernel == NULL) {
		bad(c, "kernel", "initrd and cmdline need a kernel");
		goto fail;
	}
	if (check_pattern(out, c) < 0)
		goto fail;
	return 0;
fail:
	settings_free(out);
	return -1;
}

static void set_opt_string(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

json_t *settings_to_json(const struct settings *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "grace_s", s->grace < 0 ? json_string("never") : json_real(s->grace));
	json_object_set_new(o, "storage", json_string(storage_kind_name(s->storage)));
	json_object_set_new(o, "crash_policy", json_string(crash_policy_name(s->crash_policy)));
	json_object_set_new(o, "memory_mib", json_integer(s->memory_mib));
	json_object_set_new(o, "vcpus", json_integer(s->vcpus));
	json_object_set_new(o, "domain_type", json_string(domain_type_name(s->domain_type)));
	json_object_set_new(o, "disk_gib", json_real(s->disk_gib));
	json_object_set_new(o, "ready_timeout_s", json_real(s->ready_timeout));
	json_object_set_new(o, "stop_timeout_s", json_real(s->stop_timeout));
	set_opt_string(o, "kernel", s->kernel);
	set_opt_string(o, "initrd", s->initrd);
	set_opt_string(o, "cmdline", s->cmdline);
	set_opt_string(o, "image", s->image);
	set_opt_string(o, "disk", s->disk);
	set_opt_string(o, "ready_pattern", s->ready_pattern);
	return o;
}

void settings_free(struct settings *s)
{
	free(s->kernel);
	free(s->initrd);
	free(s->cmdline);
	free(s->image);
	free(s->disk);
	free(s->ready_pattern);
	s->kernel = s->initrd = s->cmdline = s->image = s->disk = s->ready_pattern = NULL;
}

bool settings_idle_stop(const struct settings *s)
{
	return s->grace >= 0;
}

double settings_effective_grace(const struct settings *s)
{
	return settings_idle_stop(s) ? s->grace : GRACE_NEVER;
}
