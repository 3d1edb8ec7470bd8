/*
 * config.c — sessiond's configuration: built-in defaults, then
 * sessiond.conf (key = value, libinih), then command-line flags.
 * sessiond.conf(5) documents every key; three tables hold them:
 * config_table below (the daemon's own), host_table (the keys of a
 * [host NAME] section) and settings_table (the defaults of a new session:
 * the rows with a sessiond.conf name).
 */
#include "daemon.h"

#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

static const char *const log_level_names[] = { "error", "warning", "info", "debug", NULL };
static const char *const cpu_probe_names[] = { "full", "quick", NULL };
static const enum log_level log_levels[] = { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO,
					     LOG_LVL_DEBUG };

#define C(m) offsetof(struct config, m)
#define COUNT_MAX 1000000
#define MIB_MAX 1073741824                  /* 1 PiB */

const struct field config_table[] = {
	{ "socket", "socket", NULL, "PATH", FT_STRING, C(socket_path), 0, 4096, 0, NULL, 0,
	  "the control socket" },
	{ "state_dir", "state_dir", NULL, "DIR", FT_STRING, C(core.state_dir), 0, 4096, 0, NULL, 0,
	  "the state directory" },
	{ "uri", "uri", NULL, "URI", FT_STRING, C(uri), 0, 4096, 0, NULL, 0,
	  "the libvirt connection URI" },
	{ "pool", "pool", NULL, "NAME", FT_STRING, C(core.pool), 0, 256, 0, NULL, 0,
	  "the libvirt storage pool (default: the daemon's own, sd-<8 hex of its id>)" },
	{ "pool_path", "pool_path", NULL, "DIR", FT_STRING, C(core.pool_path), 0, 4096, 0, NULL, 0,
	  "the pool's directory" },
	{ "save_dir", "save_dir", NULL, "DIR", FT_STRING, C(core.save_dir), 0, 4096, 0, NULL, 0,
	  "where saved memory images go (default: STATE/saved)" },
	{ "scratch_gib", "scratch_gib", NULL, "N", FT_NUMBER, C(core.scratch_gib), 0, 65536, 8,
	  NULL, 0, "size of each instance's scratch disk in GiB; 0: none" },
	{ "workers", "workers", NULL, "N", FT_INT, C(core.workers), 1, 64, 4, NULL, 0,
	  "threads for blocking libvirt calls" },
	{ "cpu_probe", "cpu_probe", NULL, "full|quick", FT_ENUM, C(core.cpu_probe), 0, 0,
	  CPU_PROBE_FULL, cpu_probe_names, 0,
	  "how libvirt reads a started or restored QEMU guest's CPU: one query per feature, or "
	  "quick (three; the domain is marked tainted)" },
	{ "max_sessions_per_user", "max_sessions_per_user", NULL, "N", FT_INT,
	  C(core.max_sessions_per_user), 0, COUNT_MAX, 64, NULL, FIELD_LIVE,
	  "sessions a user other than root may own; 0: no limit" },
	{ "max_running_per_user", "max_running_per_user", NULL, "N", FT_INT,
	  C(core.max_running_per_user), 0, COUNT_MAX, 0, NULL, FIELD_LIVE,
	  "VMs a user other than root may have starting or running at once; 0: no limit" },
	{ "max_memory_mib_per_user", "max_memory_mib_per_user", NULL, "MIB", FT_INT,
	  C(core.max_memory_mib_per_user), 0, MIB_MAX, 0, NULL, FIELD_LIVE,
	  "guest memory in MiB of the VMs a user other than root has starting or running; "
	  "0: no limit" },
	{ "max_tokens_per_connection", "max_tokens_per_connection", NULL, "N", FT_INT,
	  C(max_tokens_per_connection), 1, COUNT_MAX, 1024, NULL, FIELD_LIVE,
	  "tokens one connection may hold" },
	{ "max_connections", "max_connections", NULL, "N", FT_INT, C(max_connections), 1,
	  COUNT_MAX, 4096, NULL, 0, "connections served at once" },
	{ "log_level", "log_level", NULL, "LEVEL", FT_ENUM, C(log_level), 0, 0, 2,
	  log_level_names, FIELD_LIVE, "error, warning, info or debug" },
	{ "keepalive_s", "keepalive_s", NULL, "D", FT_SECONDS, C(core.keepalive_s), 1, 600, 10,
	  NULL, 0, "a host that does not answer for this long is marked disconnected" },
	{ "host_wait_s", "host_wait_s", NULL, "D", FT_SECONDS, C(core.host_wait_s), 0, 86400, 30,
	  NULL, FIELD_LIVE, "how long a request waits for its session's host to come back" },
	{ "metrics_listen", "metrics_listen", NULL, "ADDRESS", FT_STRING, C(metrics_listen), 0,
	  4096, 0, NULL, FIELD_LIVE,
	  "serve Prometheus metrics on HOST:PORT or a Unix socket path; unset: not served" },
	{ "metrics_allow_remote", "metrics_allow_remote", NULL, "BOOL", FT_BOOL,
	  C(metrics_allow_remote), 0, 0, 0, NULL, FIELD_LIVE,
	  "allow metrics_listen to be an address other hosts can reach" },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, NULL },
};

#define H(m) offsetof(struct host_config, m)
#define HOST_MIB_MAX 1073741824.0        /* a petabyte */

const struct field host_table[] = {
	{ "uri", "uri", NULL, "URI", FT_STRING, H(uri), 0, 4096, 0, NULL, 0,
	  "the host's libvirt connection URI (required)" },
	{ "memory_mib", "memory_mib", NULL, "MIB", FT_NUMBER, H(memory_mib), 0, HOST_MIB_MAX, 0,
	  NULL, 0, "memory sessiond may commit there; 0: the host's memory less reserve_mib" },
	{ "reserve_mib", "reserve_mib", NULL, "MIB", FT_NUMBER, H(reserve_mib), 0, HOST_MIB_MAX,
	  1024, NULL, 0, "memory kept free for the host itself when memory_mib is 0" },
	{ "pool", "pool", NULL, "NAME", FT_STRING, H(pool), 0, 256, 0, NULL, 0,
	  "the storage pool there (default: the daemon's pool key, else its own)" },
	{ "pool_path", "pool_path", NULL, "DIR", FT_STRING, H(pool_path), 0, 4096, 0, NULL, 0,
	  "the pool's directory there (default: the daemon's pool_path key)" },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, NULL },
};

/* Root: system paths.  Others: XDG paths of a per-user service. */
static void default_paths(struct config *cfg)
{
	char buf[4096];
	const char *home = getenv("HOME"), *st = getenv("XDG_STATE_HOME");
	const char *xc = getenv("XDG_CONFIG_HOME");

	rpc_default_socket(geteuid(), buf, sizeof buf);
	cfg->socket_path = xstrdup(buf);
	if (geteuid() == 0) {
		cfg->core.state_dir = xstrdup("/var/lib/sessiond");
		cfg->config_path = xstrdup("/etc/sessiond/sessiond.conf");
		return;
	}
	if (home == NULL)
		home = "/tmp";
	cfg->core.state_dir = st != NULL && st[0] == '/' ? xasprintf("%s/sessiond", st)
				: xasprintf("%s/.local/state/sessiond", home);
	cfg->config_path = xc != NULL && xc[0] == '/' ? xasprintf("%s/sessiond/sessiond.conf", xc)
				: xasprintf("%s/.config/sessiond/sessiond.conf", home);
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	fields_defaults(config_table, cfg);
	settings_builtin(&cfg->core.defaults);
	cfg->uri = xstrdup("test:///default");
	default_paths(cfg);
}

/* A daemon key, else a default of new sessions. */
int config_set(struct config *cfg, const char *key, const char *value, struct cause *c)
{
	const struct field *f = fields_find_conf(config_table, key);

	if (f != NULL)
		return fields_set_text(f, cfg, value, c);
	f = fields_find_conf(settings_table, key);
	if (f != NULL)
		return fields_set_text(f, &cfg->core.defaults, value, c);
	cause_set(c, CAUSE_INVALID, "unknown key '%s'", key);
	return -1;
}

/* What no single key can say: the keys that must agree.  Start-up and a
 * reload reject a configuration that fails here, whole. */
int config_check(const struct config *cfg, struct cause *c)
{
	if (cfg->metrics_listen != NULL &&
	    metrics_http_check(cfg->metrics_listen, cfg->metrics_allow_remote, c) < 0)
		return -1;
	return 0;
}

int config_log_level(const struct config *cfg)
{
	return log_levels[cfg->log_level];
}

/* ---- hosts ------------------------------------------------------------------ */

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}, like a session's name. */
static bool host_name_valid(const char *name)
{
	return registry_name_valid(name);
}

static struct host_config *host_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->core.nhosts; i++)
		if (strcmp(cfg->core.hosts[i].name, name) == 0)
			return &cfg->core.hosts[i];
	return NULL;
}

static struct host_config *host_add(struct config *cfg, const char *name, int line)
{
	size_t n = cfg->core.nhosts + 1;

	cfg->core.hosts = xrealloc(cfg->core.hosts, n * sizeof *cfg->core.hosts);
	cfg->host_lines = xrealloc(cfg->host_lines, n * sizeof *cfg->host_lines);
	struct host_config *hc = &cfg->core.hosts[n - 1];
	memset(hc, 0, sizeof *hc);
	fields_defaults(host_table, hc);
	hc->name = xstrdup(name);
	cfg->host_lines[n - 1] = line;
	cfg->core.nhosts = n;
	return hc;
}

int config_host_set(struct config *cfg, const char *name, const char *key, const char *value,
		    struct cause *c)
{
	struct host_config *hc = host_find(cfg, name);
	const struct field *f = fields_find_conf(host_table, key);

	if (!host_name_valid(name)) {
		cause_set(c, CAUSE_INVALID, "host name '%s' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}",
			  name);
		return -1;
	}
	if (f == NULL) {
		cause_set(c, CAUSE_INVALID, "unknown key '%s' in [host %s]", key, name);
		return -1;
	}
	if (hc == NULL)
		hc = host_add(cfg, name, 0);
	return fields_set_text(f, hc, value, c);
}

static void hosts_free_all(struct config *cfg)
{
	for (size_t i = 0; i < cfg->core.nhosts; i++) {
		fields_free(host_table, &cfg->core.hosts[i]);
		free(cfg->core.hosts[i].name);
	}
	free(cfg->core.hosts);
	free(cfg->host_lines);
	cfg->core.hosts = NULL;
	cfg->host_lines = NULL;
	cfg->core.nhosts = 0;
}

int config_finish(struct config *cfg, bool uri_flag, struct cause *c)
{
	const char *path = cfg->config_path;

	if (cfg->core.nhosts > 0 && cfg->uri_line > 0 && !uri_flag) {
		cause_set(c, CAUSE_INVALID, "%s:%d: uri and [host] sections exclude each other "
			  "(put the uri in a [host NAME] section)", path, cfg->uri_line);
		return -1;
	}
	/* --uri means one host, whatever the file says. */
	if (uri_flag || cfg->core.nhosts == 0) {
		hosts_free_all(cfg);
		struct host_config *hc = host_add(cfg, HOST_LOCAL, 0);
		hc->uri = xstrdup(cfg->uri);
		hc->memory_mib = HOST_UNLIMITED;
		return 0;
	}
	for (size_t i = 0; i < cfg->core.nhosts; i++) {
		if (cfg->core.hosts[i].uri == NULL) {
			cause_set(c, CAUSE_INVALID, "%s:%d: [host %s] has no uri", path,
				  cfg->host_lines[i], cfg->core.hosts[i].name);
			return -1;
		}
	}
	return 0;
}

/* ---- the file ------------------------------------------------------------------ */

struct ini_ctx {
	struct config *cfg;
	struct cause *c;
	const char *path;
	FILE *f;
	int lineno;                         /* of the line inih handles now */
	int failed;
};

static int ctx_fail(struct ini_ctx *ctx, const char *msg)
{
	if (!ctx->failed)
		cause_set(ctx->c, CAUSE_INVALID, "%s:%d: %s", ctx->path, ctx->lineno, msg);
	ctx->failed = 1;
	return 0;
}

/* The host of a section's name ("host NAME"), or NULL; name gets NAME. */
static bool host_section(const char *section, char *name, size_t len)
{
	if (strncmp(section, "host", 4) != 0 || (section[4] != ' ' && section[4] != '\t'))
		return false;
	section += 4 + strspn(section + 4, " \t");
	size_t n = strcspn(section, " \t");
	snprintf(name, len, "%.*s", (int)n, section);
	return section[n + strspn(section + n, " \t")] == '\0';
}

/* A section header: a host section is registered here, where its line is
 * known, so a repeated one is an error even when it has no keys. */
static void read_header(struct ini_ctx *ctx, const char *line)
{
	char section[256], name[256], msg[300];
	const char *p = line + strspn(line, " \t");
	const char *end = strchr(p, ']');

	if (*p != '[' || end == NULL)
		return;
	snprintf(section, sizeof section, "%.*s", (int)(end - p - 1), p + 1);
	if (!host_section(section, name, sizeof name))
		return;
	if (!host_name_valid(name)) {
		snprintf(msg, sizeof msg, "host name '%.64s' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}",
			 name);
		ctx_fail(ctx, msg);
		return;
	}
	for (size_t i = 0; i < ctx->cfg->core.nhosts; i++) {
		if (strcmp(ctx->cfg->core.hosts[i].name, name) == 0) {
			snprintf(msg, sizeof msg, "duplicate host '%s' (first at line %d)", name,
				 ctx->cfg->host_lines[i]);
			ctx_fail(ctx, msg);
			return;
		}
	}
	host_add(ctx->cfg, name, ctx->lineno);
}

#define CONF_LINE_STR2(n) #n
#define CONF_LINE_STR(n) CONF_LINE_STR2(n)
#define CONF_LINE_ERR "line longer than " CONF_LINE_STR(INI_MAX_LINE) " bytes with its newline"

/* inih's reader, counting lines so errors can name theirs; it stops at
 * the first error. */
static char *read_line(char *buf, int len, void *stream)
{
	struct ini_ctx *ctx = stream;
	char *line = ctx->failed ? NULL : fgets(buf, len, ctx->f);

	if (line != NULL) {
		size_t n = strlen(line);
		ctx->lineno++;
		/* inih would take the rest of a long line as the next line. */
		if (n == (size_t)len - 1 && line[n - 1] != '\n' && !feof(ctx->f))
			ctx_fail(ctx, CONF_LINE_ERR);
		else
			read_header(ctx, line);
	}
	return ctx->failed ? NULL : line;
}

static int conf_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	char host[256];
	struct cause e;
	int rc;

	if (host_section(section, host, sizeof host))
		rc = config_host_set(ctx->cfg, host, name, value, &e);
	else if (section[0] != '\0' && strcmp(section, "sessiond") != 0)
		cause_set(&e, CAUSE_INVALID, "unknown section [%s]", section), rc = -1;
	else if ((rc = config_set(ctx->cfg, name, value, &e)) == 0 && strcmp(name, "uri") == 0)
		ctx->cfg->uri_line = ctx->lineno;
	return rc < 0 ? ctx_fail(ctx, e.msg) : 1;
}

int config_load_file(struct config *cfg, const char *path, bool required, struct cause *c)
{
	struct ini_ctx ctx = { cfg, c, path, NULL, 0, 0 };

	if (access(path, F_OK) < 0) {
		if (!required)
			return 0;
		cause_set(c, CAUSE_INVALID, "%s: no such file", path);
		return -1;
	}
	ctx.f = fopen(path, "r");
	if (ctx.f == NULL) {
		cause_set(c, CAUSE_INVALID, "%s: cannot read", path);
		return -1;
	}
	int rc = ini_parse_stream(read_line, &ctx, conf_line, &ctx);
	fclose(ctx.f);
	if (ctx.failed)
		return -1;
	if (rc != 0) {
		cause_set(c, CAUSE_INVALID, "%s:%d: syntax error (expected key = value)", path, rc);
		return -1;
	}
	return 0;
}

int config_override(struct config *cfg, const char *key, const char *value, struct cause *c)
{
	if (config_set(cfg, key, value, c) < 0)
		return -1;
	if (cfg->overrides == NULL)
		cfg->overrides = json_object();
	json_object_set_new(cfg->overrides, key, json_string(value));
	return 0;
}

void config_free(struct config *cfg)
{
	hosts_free_all(cfg);
	fields_free(config_table, cfg);
	settings_free(&cfg->core.defaults);
	free(cfg->config_path);
	json_decref(cfg->overrides);
	memset(cfg, 0, sizeof *cfg);
}

/* ---- reload ---------------------------------------------------------------- */

/* The configuration the file and the flags say now. */
static int config_fresh(const struct config *live, struct config *fresh, struct cause *c)
{
	const char *key;
	json_t *v;

	config_init(fresh);
	free(fresh->config_path);
	fresh->config_path = xstrdup(live->config_path);
	fresh->config_required = live->config_required;
	if (config_load_file(fresh, fresh->config_path, fresh->config_required, c) < 0)
		return -1;
	json_object_foreach(live->overrides, key, v)
		if (config_set(fresh, key, json_string_value(v), c) < 0)
			return -1;
	return config_finish(fresh, json_object_get(live->overrides, "uri") != NULL, c);
}

static json_t *change(const struct field *f, json_t *old, json_t *now)
{
	return json_pack("{s:s, s:O, s:O}", "key", f->conf, "old", old, "new", now);
}

/* Row by row: what differs is copied (live) or named (ignored). */
static void compare(const struct field *tab, void *live, const void *fresh, bool all_live,
		    json_t *applied, json_t *ignored)
{
	struct cause c;

	for (const struct field *f = tab; f->key != NULL; f++) {
		if (f->conf == NULL)
			continue;
		json_t *old = fields_value_json(f, live), *now = fields_value_json(f, fresh);
		if (!json_equal(old, now)) {
			if (!all_live && !(f->flags & FIELD_LIVE)) {
				json_array_append_new(ignored, change(f, old, now));
			} else if (fields_set_json(f, live, now, &c) < 0) {
				/* It came out of a checked configuration. */
				log_err("sessiond: reload: %s: %s (bug); kept the old value", f->conf,
					c.msg);
			} else {
				json_array_append_new(applied, change(f, old, now));
			}
		}
		json_decref(old);
		json_decref(now);
	}
}

static const struct host_config *host_named(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->core.nhosts; i++)
		if (strcmp(cfg->core.hosts[i].name, name) == 0)
			return &cfg->core.hosts[i];
	return NULL;
}

/* The hosts are not live (a host's connection, pool and sessions stay
 * until a restart): every difference, a host added or gone included, is
 * named as ignored, key "host NAME" or "host NAME.KEY". */
static void compare_hosts(const struct config *live, const struct config *fresh, json_t *ignored)
{
	const struct config *side[2] = { live, fresh };
	char key[160];

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < side[k]->core.nhosts; i++) {
			const struct host_config *a = &side[k]->core.hosts[i];
			const struct host_config *b = host_named(side[1 - k], a->name);
			if (b == NULL) {
				snprintf(key, sizeof key, "host %s", a->name);
				json_array_append_new(ignored, json_pack("{s:s, s:o, s:o}", "key", key,
					"old", k == 0 ? json_string("present") : json_null(),
					"new", k == 0 ? json_null() : json_string("present")));
			} else if (k == 0) {
				for (const struct field *f = host_table; f->key != NULL; f++) {
					json_t *old = fields_value_json(f, (void *)a);
					json_t *now = fields_value_json(f, (void *)b);
					snprintf(key, sizeof key, "host %s.%s", a->name,
						 f->conf != NULL ? f->conf : f->key);
					if (!json_equal(old, now))
						json_array_append_new(ignored, json_pack("{s:s, s:O, s:O}",
							"key", key, "old", old, "new", now));
					json_decref(old);
					json_decref(now);
				}
			}
		}
	}
}

int config_reload(struct config *live, json_t **applied, json_t **ignored, struct cause *c)
{
	struct config fresh;

	if (config_fresh(live, &fresh, c) < 0) {
		config_free(&fresh);
		return -1;
	}
	*applied = json_array();
	*ignored = json_array();
	compare(config_table, live, &fresh, false, *applied, *ignored);
	compare(settings_table, &live->core.defaults, &fresh.core.defaults, true, *applied,
		*ignored);
	compare_hosts(live, &fresh, *ignored);
	config_free(&fresh);
	return 0;
}
