/* config.c — see config.h; sessiond.conf(5) is the reference. */
#include "config.h"

#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? strdup(v) : NULL;
	if (v != NULL && *slot == NULL)
		fatal("out of memory");
}

static char *path_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		fatal("out of memory");
	return p;
}

/* Root: system paths.  Others: XDG paths of a per-user service. */
void config_init(struct config *cfg)
{
	char buf[PATH_MAX];
	const char *home = getenv("HOME");

	memset(cfg, 0, sizeof *cfg);
	settings_defaults_builtin(&cfg->defaults);
	cfg->uri = strdup("test:///default");
	cfg->scratch_gib = 8;
	cfg->workers = 4;
	cfg->max_sessions_per_user = 64;
	cfg->max_tokens_per_connection = 1024;
	cfg->max_connections = 4096;
	if (geteuid() == 0) {
		cfg->socket_path = strdup("/run/sessiond/sessiond.sock");
		cfg->state_dir = strdup("/var/lib/sessiond");
		cfg->config_path = strdup("/etc/sessiond/sessiond.conf");
		return;
	}
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (rt != NULL && rt[0] == '/') {
		cfg->socket_path = path_join(rt, "sessiond/sessiond.sock");
	} else {
		snprintf(buf, sizeof buf, "/tmp/sessiond-%u/sessiond.sock", (unsigned)geteuid());
		cfg->socket_path = strdup(buf);
	}
	const char *st = getenv("XDG_STATE_HOME");
	if (st != NULL && st[0] == '/')
		cfg->state_dir = path_join(st, "sessiond");
	else
		cfg->state_dir = path_join(home ? home : "/tmp", ".local/state/sessiond");
	const char *xc = getenv("XDG_CONFIG_HOME");
	if (xc != NULL && xc[0] == '/')
		cfg->config_path = path_join(xc, "sessiond/sessiond.conf");
	else
		cfg->config_path = path_join(home ? home : "/tmp", ".config/sessiond/sessiond.conf");
}

static int bad_value(struct cause *c, const char *key, const char *value, const char *want)
{
	cause_set(c, 0, "%s = %s: expected %s", key, value, want);
	return -1;
}

static int parse_int(const char *key, const char *value, int lo, int hi, int *out,
		     struct cause *c)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (*value == '\0' || *end != '\0' || v < lo || v > hi)
		return bad_value(c, key, value, "an integer in range");
	*out = (int)v;
	return 0;
}

/* The ranges are those settings_parse() applies to a session's own
 * values: a default it would refuse would make every session created
 * with it unreadable at the next start of the daemon. */
static int parse_seconds(const char *key, const char *value, double *out, bool never_ok,
			 double lo, double hi, struct cause *c)
{
	double x;

	if (never_ok && strcmp(value, "never") == 0) {
		*out = GRACE_NEVER;
		return 0;
	}
	if (!duration_parse(value, &x))
		return bad_value(c, key, value, never_ok ? "a duration or \"never\"" : "a duration");
	if (x < lo || x > hi) {
		char why[80];
		snprintf(why, sizeof why, "a duration between %gs and %gs", lo, hi);
		return bad_value(c, key, value, why);
	}
	*out = x;
	return 0;
}

static int parse_enum(const char *key, const char *value, int (*from)(const char *),
		      int *out, struct cause *c)
{
	int v = from(value);

	if (v < 0)
		return bad_value(c, key, value, "a known name (see sessiond.conf(5))");
	*out = v;
	return 0;
}

static int log_level_from_name(const char *s)
{
	static const struct { const char *name; int lvl; } t[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].name, s) == 0)
			return t[i].lvl;
	return -1;
}

int config_set(struct config *cfg, const char *key, const char *value, struct cause *c)
{
	struct settings_defaults *d = &cfg->defaults;
	int e;
	double x;

	if (strcmp(key, "socket") == 0)
		set_str(&cfg->socket_path, value);
	else if (strcmp(key, "state_dir") == 0)
		set_str(&cfg->state_dir, value);
	else if (strcmp(key, "uri") == 0)
		set_str(&cfg->uri, value);
	else if (strcmp(key, "pool") == 0)
		set_str(&cfg->pool, value);
	else if (strcmp(key, "pool_path") == 0)
		set_str(&cfg->pool_path, value);
	else if (strcmp(key, "scratch_gib") == 0) {
		char *end;
		x = strtod(value, &end);
		if (*end != '\0' || !isfinite(x) || x < 0 || x > 65536)
			return bad_value(c, key, value, "a size in GiB (0 disables scratch disks)");
		cfg->scratch_gib = x;
	} else if (strcmp(key, "workers") == 0)
		return parse_int(key, value, 1, 64, &cfg->workers, c);
	else if (strcmp(key, "max_sessions_per_user") == 0)
		return parse_int(key, value, 0, 1000000, &cfg->max_sessions_per_user, c);
	else if (strcmp(key, "max_tokens_per_connection") == 0)
		return parse_int(key, value, 1, 1000000, &cfg->max_tokens_per_connection, c);
	else if (strcmp(key, "max_connections") == 0)
		return parse_int(key, value, 1, 1000000, &cfg->max_connections, c);
	else if (strcmp(key, "grace") == 0 || strcmp(key, "grace_s") == 0)
		return parse_seconds(key, value, &d->grace, true, 0, 31536000, c);
	else if (strcmp(key, "stop_timeout") == 0 || strcmp(key, "stop_timeout_s") == 0)
		return parse_seconds(key, value, &d->stop_timeout, false, 0, 3600, c);
	else if (strcmp(key, "ready_timeout") == 0 || strcmp(key, "ready_timeout_s") == 0)
		return parse_seconds(key, value, &d->ready_timeout, false, 0.001, 86400, c);
	else if (strcmp(key, "storage") == 0) {
		if (parse_enum(key, value, storage_kind_from_name, &e, c) < 0)
			return -1;
		d->storage = (enum storage_kind)e;
	} else if (strcmp(key, "crash_policy") == 0) {
		if (parse_enum(key, value, crash_policy_from_name, &e, c) < 0)
			return -1;
		d->crash_policy = (enum crash_policy)e;
	} else if (strcmp(key, "domain_type") == 0) {
		if (parse_enum(key, value, domain_type_from_name, &e, c) < 0)
			return -1;
		d->domain_type = (enum domain_type)e;
	} else if (strcmp(key, "memory_mib") == 0) {
		if (parse_int(key, value, 16, 1048576, &e, c) < 0)
			return -1;
		d->memory_mib = (unsigned)e;
	} else if (strcmp(key, "vcpus") == 0) {
		if (parse_int(key, value, 1, 256, &e, c) < 0)
			return -1;
		d->vcpus = (unsigned)e;
	} else if (strcmp(key, "disk_gib") == 0) {
		char *end;
		x = strtod(value, &end);
		if (*end != '\0' || !isfinite(x) || x <= 0 || x > 65536)
			return bad_value(c, key, value, "a size in GiB");
		d->disk_gib = x;
	} else if (strcmp(key, "kernel") == 0) {
		set_str(&cfg->def_kernel, value);
		d->kernel = cfg->def_kernel;
	} else if (strcmp(key, "initrd") == 0) {
		set_str(&cfg->def_initrd, value);
		d->initrd = cfg->def_initrd;
	} else if (strcmp(key, "cmdline") == 0) {
		set_str(&cfg->def_cmdline, value);
		d->cmdline = cfg->def_cmdline;
	} else if (strcmp(key, "image") == 0) {
		set_str(&cfg->def_image, value);
		d->image = cfg->def_image;
	} else if (strcmp(key, "log_level") == 0) {
		if ((e = log_level_from_name(value)) < 0)
			return bad_value(c, key, value, "error, warning, info or debug");
		log_set_level((enum log_level)e);
	} else {
		cause_set(c, 0, "unknown key '%s'", key);
		return -1;
	}
	return 0;
}

struct ini_ctx {
	struct config *cfg;
	struct cause *c;
	const char *path;
	int failed;
};

static int conf_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	struct cause e;

	if (section[0] != '\0' && strcmp(section, "sessiond") != 0) {
		cause_set(ctx->c, 0, "%s: unknown section [%s]", ctx->path, section);
		ctx->failed = 1;
		return 0;
	}
	if (config_set(ctx->cfg, name, value, &e) < 0) {
		cause_set(ctx->c, 0, "%s: %s", ctx->path, e.msg);
		ctx->failed = 1;
		return 0;
	}
	return 1;
}

int config_load_file(struct config *cfg, const char *path, bool required, struct cause *c)
{
	struct ini_ctx ctx = { cfg, c, path, 0 };

	if (access(path, F_OK) < 0) {
		if (!required)
			return 0;
		cause_set(c, 0, "%s: no such file", path);
		return -1;
	}
	int rc = ini_parse(path, conf_line, &ctx);
	if (ctx.failed)
		return -1;
	if (rc < 0) {
		cause_set(c, 0, "%s: cannot read", path);
		return -1;
	}
	if (rc > 0) {
		cause_set(c, 0, "%s:%d: syntax error (expected key = value)", path, rc);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->socket_path);
	free(cfg->state_dir);
	free(cfg->uri);
	free(cfg->config_path);
	free(cfg->pool);
	free(cfg->pool_path);
	free(cfg->def_kernel);
	free(cfg->def_initrd);
	free(cfg->def_cmdline);
	free(cfg->def_image);
	memset(cfg, 0, sizeof *cfg);
}
