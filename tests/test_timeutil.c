/*
 * test_timeutil.c — durations and RFC 3339 (common/timeutil.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../common/timeutil.h"

static void test_duration_parse(void **state)
{
	double s;

	(void)state;
	assert_true(duration_parse("90s", &s) && s == 90);
	assert_true(duration_parse("90", &s) && s == 90);
	assert_true(duration_parse("5m", &s) && s == 300);
	assert_true(duration_parse("1h", &s) && s == 3600);
	assert_true(duration_parse("1.5s", &s) && s == 1.5);
	assert_true(duration_parse("250ms", &s) && s == 0.25);
	assert_true(duration_parse("2d", &s) && s == 172800);
	assert_false(duration_parse("", &s));
	assert_false(duration_parse("-1s", &s));
	assert_false(duration_parse("5 m", &s));
	assert_false(duration_parse("5x", &s));
	assert_false(duration_parse("inf", &s));
	assert_false(duration_parse(NULL, &s));
}

static void test_duration_format(void **state)
{
	char b[32];

	(void)state;
	duration_format(90, b, sizeof b);
	assert_string_equal(b, "1m30s");
	duration_format(300, b, sizeof b);
	assert_string_equal(b, "5m");
	duration_format(3600, b, sizeof b);
	assert_string_equal(b, "1h");
	duration_format(0, b, sizeof b);
	assert_string_equal(b, "0s");
	duration_format(0.25, b, sizeof b);
	assert_string_equal(b, "0.25s");
	duration_format(45, b, sizeof b);
	assert_string_equal(b, "45s");
	duration_format(90061, b, sizeof b);
	assert_string_equal(b, "1d1h1m1s");
}

static void test_rfc3339_round_trip(void **state)
{
	char b[40];
	double t;

	(void)state;
	time_rfc3339(1795000000.25, b, sizeof b);
	assert_string_equal(b, "2026-11-18T11:06:40.250Z");
	assert_true(time_parse_rfc3339(b, &t));
	assert_true(t > 1795000000.249 && t < 1795000000.251);
	assert_true(time_parse_rfc3339("2026-11-23T10:04:05Z", &t));
	assert_false(time_parse_rfc3339("2026-11-23 10:04:05", &t));
	assert_false(time_parse_rfc3339("2026-11-23T10:04:05+01:00", &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_rfc3339_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
