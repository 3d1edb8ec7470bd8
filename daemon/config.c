/*
 * config.c — sessiond's configuration: built-in defaults, then
 * sessiond.conf (key = value, libinih), then command-line flags.
 * sessiond.conf(5) documents every key; two tables hold them: config_table
 * below (the daemon's own) and settings_table (the defaults of a new
 * session: the rows with a sessiond.conf name).
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
	{ "scratch_gib", "scratch_gib", NULL, "N", FT_NUMBER, C(core.scratch_gib), 0, 65536, 8,
	  NULL, 0, "size of each instance's scratch disk in GiB; 0: none" },
	{ "workers", "workers", NULL, "N", FT_INT, C(core.workers), 1, 64, 4, NULL, 0,
	  "threads for blocking libvirt calls" },
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
	{ "metrics_listen", "metrics_listen", NULL, "ADDRESS", FT_STRING, C(metrics_listen), 0,
	  4096, 0, NULL, FIELD_LIVE,
	  "serve Prometheus metrics on HOST:PORT or a Unix socket path; unset: not served" },
	{ "metrics_allow_remote", "metrics_allow_remote", NULL, "BOOL", FT_BOOL,
	  C(metrics_allow_remote), 0, 0, 0, NULL, FIELD_LIVE,
	  "allow metrics_listen to be an address other hosts can reach" },
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

struct ini_ctx {
	struct config *cfg;
	struct cause *c;
	const char *path;
	FILE *f;
	int lineno;                         /* of the line inih handles now */
	int failed;
};

/* inih's reader, counting lines so errors can name theirs. */
static char *read_line(char *buf, int len, void *stream)
{
	struct ini_ctx *ctx = stream;
	char *line = fgets(buf, len, ctx->f);

	if (line != NULL)
		ctx->lineno++;
	return line;
}

static int conf_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	int lineno = ctx->lineno;
	struct cause e;

	if (section[0] != '\0' && strcmp(section, "sessiond") != 0) {
		cause_set(ctx->c, CAUSE_INVALID, "%s:%d: unknown section [%s]", ctx->path, lineno,
			  section);
		ctx->failed = 1;
		return 0;
	}
	if (config_set(ctx->cfg, name, value, &e) < 0) {
		cause_set(ctx->c, CAUSE_INVALID, "%s:%d: %s", ctx->path, lineno, e.msg);
		ctx->failed = 1;
		return 0;
	}
	return 1;
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

void config_free(struct config *cfg)
{
	fields_free(config_table, cfg);
	settings_free(&cfg->core.defaults);
	free(cfg->config_path);
	memset(cfg, 0, sizeof *cfg);
}
