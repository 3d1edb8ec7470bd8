/*
 * test_settings.c — session settings: name tables, validation with
 * messages naming the parameter, the JSON round trip, idle-stop rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../rpc/sessiond-protocol.h"
#include "../sessiond/config.h"
#include "../sessiond/settings.h"

static void test_enum_tables_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < STORAGE__COUNT; i++)
		assert_int_equal(storage_kind_from_name(storage_kind_name(i)), i);
	for (int i = 0; i < CRASH__COUNT; i++)
		assert_int_equal(crash_policy_from_name(crash_policy_name(i)), i);
	for (int i = 0; i < DOMTYPE__COUNT; i++)
		assert_int_equal(domain_type_from_name(domain_type_name(i)), i);
	assert_int_equal(storage_kind_from_name("tmpfs"), -1);
	assert_string_equal(crash_policy_name(CRASH__COUNT), "invalid");
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(session_name_valid("dev"));
	assert_true(session_name_valid("a.b_c-d9"));
	assert_true(session_name_valid("9"));
	memset(long_name, 'x', 64);
	long_name[64] = '\0';
	assert_true(session_name_valid(long_name));
	long_name[64] = 'x';
	long_name[65] = '\0';
	assert_false(session_name_valid(long_name));
	const char *bad[] = { "", ".hidden", "-x", "_x", "a/b", "..", "../etc", "a b",
			      "a\nb", "naïve", NULL };
	for (int i = 0; bad[i]; i++)
		assert_false(session_name_valid(bad[i]));
	assert_false(session_name_valid(NULL));
}

static int parse(const char *json, struct settings *out, struct cause *c)
{
	struct settings_defaults d;
	json_t *p = json_loads(json, 0, NULL);

	settings_defaults_builtin(&d);
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
	assert_int_equal(c.code, RPC_ERR_INVALID_PARAMS);
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
	struct settings a, b;
	struct settings_defaults d;
	struct cause c;

	(void)state;
	assert_int_equal(parse("{\"grace_s\": 0.25, \"storage\": \"ephemeral\", \"crash_policy\":"
			       " \"restart\", \"memory_mib\": 1024, \"vcpus\": 3, \"domain_type\": \"qemu\","
			       " \"kernel\": \"/k\", \"initrd\": \"/i\", \"cmdline\": \"x=\\\"y\\\" <z>\","
			       " \"disk_gib\": 2, \"ready_pattern\": \"^READY$\", \"ready_timeout_s\": 9,"
			       " \"stop_timeout_s\": 0}", &a, &c), 0);
	json_t *j = settings_to_json(&a);
	settings_defaults_builtin(&d);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enum_tables_round_trip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_defaults_and_ephemeral),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_config_defaults_in_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
