/*
 * config.h — sessiond's configuration: built-in defaults, then
 * sessiond.conf (key = value, libinih), then command-line flags.
 * sessiond.conf(5) documents every key.
 */
#ifndef SESSIOND_CONFIG_H
#define SESSIOND_CONFIG_H

#include <stdbool.h>

#include "../common/cause.h"
#include "settings.h"

struct config {
	char *socket_path;
	char *state_dir;
	char *uri;
	char *config_path;
	char *pool;                         /* storage pool name; NULL: the daemon's own */
	char *pool_path;                    /* its directory; NULL: <state_dir>/pool */
	double scratch_gib;                 /* 0: no scratch disks */
	int workers;
	int max_sessions_per_user;
	int max_tokens_per_connection;
	int max_connections;
	bool foreground;
	int verbose;
	struct settings_defaults defaults;  /* for session.create */
	/* Owned copies of the string defaults above. */
	char *def_kernel, *def_initrd, *def_cmdline, *def_image;
};

/* Built-in defaults for the calling user (root vs per-user paths). */
void config_init(struct config *cfg);
/* Reads path; missing file is fine when !required. */
int config_load_file(struct config *cfg, const char *path, bool required, struct cause *c);
/* One key = value; the same names as the file. */
int config_set(struct config *cfg, const char *key, const char *value, struct cause *c);
void config_free(struct config *cfg);

#endif
