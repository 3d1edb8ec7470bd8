/*
 * test_config.c — sessiond.conf reloaded (daemon/config.c, config_reload):
 * what may change live is applied and reported, what takes a restart is
 * reported and left, the command-line flags stay over the file, a file
 * that does not load changes nothing at all, and sessiond.conf(5) names
 * exactly the FIELD_LIVE keys in its RELOAD section.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "../daemon/daemon.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof dir, "/tmp/test_config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sessiond.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A configuration as sessiond starts with it: the file, then flags. */
static void start(struct config *cfg, const char *text)
{
	struct cause c;

	write_conf(text);
	config_init(cfg);
	free(cfg->config_path);
	cfg->config_path = strdup(path);
	cfg->config_required = true;
	if (config_load_file(cfg, path, true, &c) < 0 || config_finish(cfg, false, &c) < 0)
		fail_msg("the first file does not load: %s", c.msg);
}

/* Everything the configuration says, for "nothing changed" checks. */
static json_t *snapshot(const struct config *cfg)
{
	return json_pack("{s:o, s:o}", "daemon", fields_to_json(config_table, cfg, 0), "defaults",
			 fields_to_json(settings_table, &cfg->core.defaults, 0));
}

/* The keys of a report, in order: "a,b". */
static void keys_of(json_t *changes, char *buf, size_t len)
{
	size_t i, n = 0;
	json_t *ch;

	buf[0] = '\0';
	json_array_foreach(changes, i, ch)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(ch, "key")));
}

static void reload_ok(struct config *cfg, const char *text, const char *want_applied,
		      const char *want_ignored)
{
	json_t *applied, *ignored;
	struct cause c;
	char got[512];

	write_conf(text);
	if (config_reload(cfg, &applied, &ignored, &c) < 0)
		fail_msg("reload refused: %s", c.msg);
	keys_of(applied, got, sizeof got);
	if (strcmp(got, want_applied) != 0)
		fail_msg("applied '%s', want '%s'", got, want_applied);
	keys_of(ignored, got, sizeof got);
	if (strcmp(got, want_ignored) != 0)
		fail_msg("ignored '%s', want '%s'", got, want_ignored);
	json_decref(applied);
	json_decref(ignored);
}

static void test_live_keys_applied_others_ignored(void **state)
{
	struct config cfg;

	(void)state;
	start(&cfg, "max_sessions_per_user = 2\nworkers = 4\nkernel = /boot/a\n");
	reload_ok(&cfg,
		  "max_sessions_per_user = 5\nworkers = 2\nlog_level = debug\ngrace = 60\n"
		  "memory_mib = 1024\nstop_timeout = 3\nmax_tokens_per_connection = 7\n"
		  "scratch_gib = 1\n",
		  "max_sessions_per_user,max_tokens_per_connection,log_level,grace,memory_mib,"
		  "kernel,stop_timeout",
		  "scratch_gib,workers");
	assert_int_equal(cfg.core.max_sessions_per_user, 5);
	assert_int_equal(cfg.max_tokens_per_connection, 7);
	assert_int_equal(config_log_level(&cfg), LOG_LVL_DEBUG);
	assert_true(cfg.core.defaults.grace == 60);
	assert_int_equal(cfg.core.defaults.memory_mib, 1024);
	assert_true(cfg.core.defaults.stop_timeout == 3);
	assert_null(cfg.core.defaults.kernel);         /* gone from the file: back to none */
	assert_int_equal(cfg.core.workers, 4);          /* takes a restart */
	assert_true(cfg.core.scratch_gib == 8);
	/* The same file again: the ignored keys still differ, nothing applies. */
	reload_ok(&cfg,
		  "max_sessions_per_user = 5\nworkers = 2\nlog_level = debug\ngrace = 60\n"
		  "memory_mib = 1024\nstop_timeout = 3\nmax_tokens_per_connection = 7\n"
		  "scratch_gib = 1\n",
		  "", "scratch_gib,workers");
	config_free(&cfg);
}

/* Flags override the file at start and at every reload. */
static void test_flags_stay_over_the_file(void **state)
{
	struct config cfg;
	struct cause c;

	(void)state;
	start(&cfg, "");
	assert_int_equal(config_override(&cfg, "uri", "test:///flag", &c), 0);
	assert_int_equal(config_override(&cfg, "log_level", "debug", &c), 0);
	assert_int_equal(config_finish(&cfg, true, &c), 0);
	reload_ok(&cfg, "uri = qemu:///system\nlog_level = error\nmax_sessions_per_user = 9\n",
		  "max_sessions_per_user", "");
	assert_string_equal(cfg.uri, "test:///flag");
	assert_int_equal(config_log_level(&cfg), LOG_LVL_DEBUG);
	config_free(&cfg);
}

/* A file that does not load changes nothing, however much of it was
 * valid before the line that fails. */
#define TEN "aaaaaaaaaa"
#define LONG_LINE TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN

static void test_bad_file_changes_nothing(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "max_sessions_per_user = 5\ngrace = 60\nbogus = 1\n", ":3: unknown key 'bogus'" },
		{ "memory_mib = 1024\nmemory_mib = 8\n", ":2: memory_mib = 8" },
		{ "log_level = debug\n[other]\nworkers = 1\n", "unknown section [other]" },
		{ "kernel = /x\nthis is not a line\n", ":2: syntax error" },
		{ "log_level = loud\n", ":1: log_level = loud" },
		{ "grace = 60\ncmdline = " LONG_LINE "\n", ":2: line longer than 200 bytes" },
		{ "[host a]\nuri = test:///default\nuri = qemu:///system\n[host b]\nmemory_mib = 9\n",
		  "[host b] has no uri" },
	};
	struct config cfg;
	struct cause c;
	json_t *applied = NULL, *ignored = NULL;

	(void)state;
	start(&cfg, "max_sessions_per_user = 2\nkernel = /boot/a\n");
	json_t *before = snapshot(&cfg);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_conf(bad[i].text);
		assert_int_equal(config_reload(&cfg, &applied, &ignored, &c), -1);
		if (strstr(c.msg, bad[i].why) == NULL || strstr(c.msg, path) == NULL)
			fail_msg("file %zu refused with '%s', not naming %s and '%s'", i, c.msg, path,
				 bad[i].why);
		json_t *after = snapshot(&cfg);
		if (!json_equal(before, after))
			fail_msg("file %zu (%s) changed the configuration", i, bad[i].why);
		json_decref(after);
	}
	/* A required file that is gone is refused too. */
	unlink(path);
	assert_int_equal(config_reload(&cfg, &applied, &ignored, &c), -1);
	assert_non_null(strstr(c.msg, "no such file"));
	json_t *after = snapshot(&cfg);
	assert_true(json_equal(before, after));
	json_decref(after);
	json_decref(before);
	config_free(&cfg);
}

/* The text of one section of a man page (".Sh NAME" to the next ".Sh"). */
static char *man_section(const char *page, const char *name)
{
	char *text = file_read_all(page, 1 << 20, NULL, NULL), head[64];

	assert_non_null(text);
	snprintf(head, sizeof head, "\n.Sh %s\n", name);
	char *start = strstr(text, head);
	if (start == NULL)
		fail_msg("%s has no section %s", page, name);
	char *end = strstr(start + strlen(head), "\n.Sh ");
	if (end != NULL)
		*end = '\0';
	char *out = strdup(start);
	free(text);
	return out;
}

/* sessiond.conf(5), RELOAD: a ".Cm key" for each FIELD_LIVE daemon key and
 * for none other of config_table. */
static void test_man_page_names_live_keys(void **state)
{
	char *sec = man_section("man/sessiond.conf.5", "RELOAD"), want[80];

	(void)state;
	for (const struct field *f = config_table; f->key != NULL; f++) {
		snprintf(want, sizeof want, "\n.Cm %s", f->conf);
		bool named = false;
		for (char *p = strstr(sec, want); p != NULL && !named; p = strstr(p + 1, want))
			named = p[strlen(want)] == '\n' || p[strlen(want)] == ' ';
		if ((f->flags & FIELD_LIVE) && !named)
			fail_msg("sessiond.conf(5), RELOAD, does not name the live key %s", f->conf);
		if (!(f->flags & FIELD_LIVE) && named)
			fail_msg("sessiond.conf(5), RELOAD, names %s, which takes a restart", f->conf);
	}
	free(sec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_keys_applied_others_ignored),
		cmocka_unit_test(test_flags_stay_over_the_file),
		cmocka_unit_test(test_bad_file_changes_nothing),
		cmocka_unit_test(test_man_page_names_live_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
