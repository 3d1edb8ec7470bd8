/*
 * test_settings.c — the settings tables and their engine: name tables,
 * validation with messages naming the parameter, the JSON round trip,
 * text values (sessiond.conf, sessionctl), idle-stop rules, and every row
 * checked against the man pages that document it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../daemon/daemon.h"
#include "../settings/settings.h"

static void test_enum_tables_round_trip(void **state)
{
	(void)state;
	/* Every enum row: each name parses to its index and prints back. */
	for (const struct field *f = settings_table; f->key != NULL; f++) {
		if (f->type != FT_ENUM)
			continue;
		for (int i = 0; f->names[i] != NULL; i++) {
			struct settings s;
			struct cause c;
			settings_builtin(&s);
			json_t *v = json_string(f->names[i]);
			assert_int_equal(fields_set_json(f, &s, v, &c), 0);
			json_t *back = fields_value_json(f, &s);
			assert_true(json_equal(v, back));
			json_decref(v);
			json_decref(back);
		}
	}
	assert_string_equal(storage_kind_name(STORAGE_EPHEMERAL), "ephemeral");
	assert_string_equal(domain_type_name(DOMTYPE_QEMU), "qemu");
	assert_string_equal(crash_policy_name(CRASH__COUNT), "invalid");
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(registry_name_valid("dev"));
	assert_true(registry_name_valid("a.b_c-d9"));
	assert_true(registry_name_valid("9"));
	memset(long_name, 'x', 64);
	long_name[64] = '\0';
	assert_true(registry_name_valid(long_name));
	long_name[64] = 'x';
	long_name[65] = '\0';
	assert_false(registry_name_valid(long_name));
	const char *bad[] = { "", ".hidden", "-x", "_x", "a/b", "..", "../etc", "a b",
			      "a\nb", "naïve", NULL };
	for (int i = 0; bad[i]; i++)
		assert_false(registry_name_valid(bad[i]));
	assert_false(registry_name_valid(NULL));
}

static int parse(const char *json, struct settings *out, struct cause *c)
{
	struct settings d;
	json_t *p = json_loads(json, 0, NULL);

	settings_builtin(&d);
	assert_non_null(p);
	int rc = settings_parse(p, &d, NULL, out, c);
	json_decref(p);
	return rc;
}

static void expect_bad(const char *json, const char *needle)
{
	struct settings s;
	struct cause c;

	assert_int_equal(parse(json, &s, &c), -1);
	assert_int_equal(c.kind, CAUSE_INVALID);
	if (strstr(c.msg, needle) == NULL)
		fail_msg("%s: message '%s' does not name '%s'", json, c.msg, needle);
}

static void test_validation_errors(void **state)
{
	(void)state;
	expect_bad("{\"grace_s\": -1}", "grace_s");
	expect_bad("{\"grace_s\": \"forever\"}", "grace_s");
	expect_bad("{\"grace_s\": true}", "grace_s");
	expect_bad("{\"storage\": \"tmpfs\"}", "storage");
	expect_bad("{\"crash_policy\": 1}", "crash_policy");
	expect_bad("{\"memory_mib\": 1.5}", "memory_mib");
	expect_bad("{\"memory_mib\": 8}", "memory_mib");
	expect_bad("{\"vcpus\": 0}", "vcpus");
	expect_bad("{\"vcpus\": \"2\"}", "vcpus");
	expect_bad("{\"domain_type\": \"xen\"}", "domain_type");
	expect_bad("{\"disk_gib\": 0}", "disk_gib");
	expect_bad("{\"kernel\": 5}", "kernel");
	expect_bad("{\"cmdline\": \"console=ttyS0\"}", "kernel");
	expect_bad("{\"ready_pattern\": \"(\"}", "ready_pattern");
	expect_bad("{\"colour\": \"blue\"}", "colour");
	expect_bad("{\"idle_action\": \"hibernate\"}", "idle_action");
	expect_bad("{\"idle_action\": 1}", "idle_action");
}

/* idle_action: stop unless told; and the settings a memory image depends
 * on are exactly the FIELD_IMAGE rows: a change of one of them makes a
 * saved image unusable, a change of anything else does not. */
static void test_idle_action_and_image_settings(void **state)
{
	static const char *const image_keys[] = { "storage", "memory_mib", "vcpus", "domain_type",
						  "kernel", "initrd", "cmdline", "image", "disk" };
	struct settings s, t;
	struct cause c;

	(void)state;
	assert_int_equal(parse("{}", &s, &c), 0);
	assert_int_equal(s.idle_action, IDLE_STOP);
	settings_free(&s);
	assert_int_equal(parse("{\"idle_action\": \"save\", \"kernel\": \"/k\"}", &s, &c), 0);
	assert_int_equal(s.idle_action, IDLE_SAVE);
	assert_string_equal(idle_action_name(s.idle_action), "save");
	for (const struct field *f = settings_table; f->key != NULL; f++) {
		bool want = false;
		for (size_t i = 0; i < sizeof image_keys / sizeof image_keys[0]; i++)
			want |= strcmp(f->key, image_keys[i]) == 0;
		if (want != ((f->flags & FIELD_IMAGE) != 0))
			fail_msg("row %s: FIELD_IMAGE is %s", f->key, want ? "missing" : "set");
	}
	json_t *a = settings_image_json(&s);
	assert_non_null(json_object_get(a, "memory_mib"));
	assert_non_null(json_object_get(a, "kernel"));
	assert_null(json_object_get(a, "idle_action"));
	assert_int_equal(parse("{\"idle_action\": \"stop\", \"kernel\": \"/k\", \"grace_s\": 7,"
			       " \"stop_timeout_s\": 1}", &t, &c), 0);
	json_t *b = settings_image_json(&t);
	assert_true(json_equal(a, b));          /* grace and actions do not matter */
	t.memory_mib = 1024;
	json_decref(b);
	b = settings_image_json(&t);
	assert_false(json_equal(a, b));         /* memory does */
	json_decref(a);
	json_decref(b);
	settings_free(&s);
	settings_free(&t);
}

static void test_defaults_and_ephemeral(void **state)
{
	struct settings s;
	struct cause c;

	(void)state;
	assert_int_equal(parse("{}", &s, &c), 0);
	assert_true(s.grace == 300);
	assert_true(settings_idle_stop(&s));
	assert_int_equal(s.storage, STORAGE_PERSISTENT);
	assert_int_equal(s.memory_mib, 512);
	settings_free(&s);
	/* An ephemeral session keeps its VM unless a grace is given. */
	assert_int_equal(parse("{\"storage\": \"ephemeral\"}", &s, &c), 0);
	assert_false(settings_idle_stop(&s));
	settings_free(&s);
	assert_int_equal(parse("{\"storage\": \"ephemeral\", \"grace_s\": 2.5}", &s, &c), 0);
	assert_true(settings_idle_stop(&s));
	assert_true(s.grace == 2.5);
	settings_free(&s);
	assert_int_equal(parse("{\"grace_s\": \"never\"}", &s, &c), 0);
	assert_false(settings_idle_stop(&s));
	settings_free(&s);
}

static void test_json_round_trip(void **state)
{
	struct settings a, b, d;
	struct cause c;

	(void)state;
	assert_int_equal(parse("{\"grace_s\": 0.25, \"storage\": \"ephemeral\", \"crash_policy\":"
			       " \"restart\", \"memory_mib\": 1024, \"vcpus\": 3, \"domain_type\": \"qemu\","
			       " \"kernel\": \"/k\", \"initrd\": \"/i\", \"cmdline\": \"x=\\\"y\\\" <z>\","
			       " \"disk_gib\": 2, \"ready_pattern\": \"^READY$\", \"ready_timeout_s\": 9,"
			       " \"stop_timeout_s\": 0}", &a, &c), 0);
	json_t *j = settings_to_json(&a);
	settings_builtin(&d);
	assert_int_equal(settings_parse(j, &d, NULL, &b, &c), 0);
	json_t *k = settings_to_json(&b);
	assert_true(json_equal(j, k));
	assert_string_equal(b.cmdline, "x=\"y\" <z>");
	assert_true(b.stop_timeout == 0);
	json_decref(j);
	json_decref(k);
	settings_free(&a);
	settings_free(&b);
}

/* A configured default must be one a session could hold: every value
 * settings_parse() refuses is refused in sessiond.conf as well, or the
 * sessions created with it would be unreadable at the next start. */
static void test_config_defaults_in_range(void **state)
{
	static const char *const bad[][2] = {
		{ "ready_timeout", "0" }, { "ready_timeout", "2d" }, { "stop_timeout", "2h" },
		{ "grace", "-1s" }, { "memory_mib", "8" }, { "vcpus", "0" }, { "disk_gib", "0" },
	};
	struct config cfg;
	struct cause c;

	(void)state;
	config_init(&cfg);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(config_set(&cfg, bad[i][0], bad[i][1], &c), -1);
	assert_int_equal(config_set(&cfg, "ready_timeout", "90s", &c), 0);
	assert_int_equal(config_set(&cfg, "stop_timeout", "0", &c), 0);
	assert_int_equal(config_set(&cfg, "grace", "never", &c), 0);
	config_free(&cfg);
}

/* Text values take the same bounds as JSON ones and say so naming the key. */
static void test_text_values(void **state)
{
	static const struct { const char *flag, *text, *json; } good[] = {
		{ "grace", "90s", "90.0" }, { "grace", "never", "\"never\"" },
		{ "grace", "1.5", "1.5" }, { "memory", "1024", "1024" },
		{ "domain-type", "kvm", "\"kvm\"" }, { "cmdline", "a \"b\" <c>", "\"a \\\"b\\\" <c>\"" },
	};
	static const char *const bad[][2] = {
		{ "grace", "soon" }, { "memory", "1.5" }, { "memory", "x" },
		{ "storage", "tmpfs" }, { "ready-timeout", "-1s" },
	};
	struct cause c;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const struct field *f = fields_find_flag(settings_table, good[i].flag);
		json_t *v = NULL, *want = json_loads(good[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(f);
		assert_int_equal(fields_text_json(f, good[i].text, &v, &c), 0);
		if (!json_equal(v, want))
			fail_msg("--%s %s: unexpected JSON", good[i].flag, good[i].text);
		json_decref(v);
		json_decref(want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct field *f = fields_find_flag(settings_table, bad[i][0]);
		struct settings s;
		settings_builtin(&s);
		assert_int_equal(fields_set_text(f, &s, bad[i][1], &c), -1);
		assert_non_null(strstr(c.msg, f->conf ? f->conf : f->key));
	}
}

/* The names a man page lists on its ".It" lines after each "macro": for
 * ".It Cm key No = ..." with "Cm ", or ".It Fl \-a Ar X , Fl \-b" with
 * "Fl \\-". */
static json_t *man_names(const char *page, const char *macro)
{
	char *text = file_read_all(page, 1 << 20, NULL, NULL);
	json_t *names = json_array();
	char name[128];

	assert_non_null(text);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, ".It ", 4) != 0)
			continue;
		for (char *p = strstr(line, macro); p != NULL; p = strstr(p + 1, macro)) {
			if (sscanf(p + strlen(macro), "%127[A-Za-z0-9_-]", name) == 1)
				json_array_append_new(names, json_string(name));
		}
	}
	free(text);
	return names;
}

static bool has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* sessiond.conf(5) lists exactly the keys of the three tables (a key of
 * two tables, like uri, once for each), and sessionctl(1) exactly the
 * create options of settings_table. */
static void test_man_pages_match_tables(void **state)
{
	json_t *conf = man_names("man/sessiond.conf.5", "Cm ");
	json_t *ctl = man_names("man/sessionctl.1", "Fl \\-");
	const struct field *tabs[] = { config_table, settings_table, host_table };
	size_t n = 0, i;
	json_t *v;

	(void)state;
	for (size_t t = 0; t < 3; t++) {
		for (const struct field *f = tabs[t]; f->key != NULL; f++) {
			if (f->conf == NULL)
				continue;
			if (!has(conf, f->conf))
				fail_msg("sessiond.conf(5) does not document '%s'", f->conf);
			n++;
		}
	}
	json_array_foreach(conf, i, v) {
		const char *k = json_string_value(v);
		if (fields_find_conf(config_table, k) == NULL && fields_find_conf(settings_table, k) == NULL &&
		    fields_find_conf(host_table, k) == NULL)
			fail_msg("sessiond.conf(5) documents '%s', which no table has", k);
	}
	assert_int_equal(json_array_size(conf), n);
	for (const struct field *f = settings_table; f->key != NULL; f++) {
		if (f->flag != NULL && !has(ctl, f->flag))
			fail_msg("sessionctl(1) does not document --%s", f->flag);
	}
	json_decref(conf);
	json_decref(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enum_tables_round_trip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_idle_action_and_image_settings),
		cmocka_unit_test(test_defaults_and_ephemeral),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_config_defaults_in_range),
		cmocka_unit_test(test_text_values),
		cmocka_unit_test(test_man_pages_match_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
