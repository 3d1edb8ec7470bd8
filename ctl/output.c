/*
 * output.c — how sessionctl prints results: JSON, strings that may be
 * missing, deadlines and local times (see ctl.h).
 */
#include "ctl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/timeutil.h"

static void print_dump(json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (s != NULL)
		puts(s);
	free(s);
}

void out_json(json_t *v)
{
	print_dump(v, JSON_INDENT(2));
}

void out_json_line(json_t *v)
{
	print_dump(v, JSON_COMPACT);
}

const char *out_str(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

void out_until(json_t *o, const char *key, char *buf, size_t len, const char *dflt)
{
	double t;
	char d[32];

	if (!time_parse_rfc3339(out_str(o, key, ""), &t)) {
		snprintf(buf, len, "%s", dflt);
		return;
	}
	duration_format(fmax(0, t - wall_now()), d, sizeof d);
	snprintf(buf, len, "in %s", d);
}

void out_ago(json_t *o, const char *key, char *buf, size_t len, const char *dflt)
{
	double t;
	char d[32];

	if (!time_parse_rfc3339(out_str(o, key, ""), &t)) {
		snprintf(buf, len, "%s", dflt);
		return;
	}
	duration_format(fmax(0, wall_now() - t), d, sizeof d);
	snprintf(buf, len, "%s ago", d);
}

void out_bytes(double bytes, char *buf, size_t len)
{
	if (bytes >= 1024.0 * 1024 * 1024 * 10)
		snprintf(buf, len, "%.0f GiB", bytes / (1024.0 * 1024 * 1024));
	else if (bytes >= 1024.0 * 1024)
		snprintf(buf, len, "%.0f MiB", bytes / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KiB", bytes / 1024.0);
}

void out_tier(json_t *s, char *buf, size_t len)
{
	json_t *saved = json_object_get(s, "saved_state");
	const char *state = out_str(s, "state", "?");
	char size[32], ago[48];

	if (strcmp(state, "suspended") != 0 || !json_is_object(saved)) {
		snprintf(buf, len, "%s", state);
		return;
	}
	out_bytes(json_number_value(json_object_get(saved, "bytes")), size, sizeof size);
	out_ago(saved, "since", ago, sizeof ago, "at an unknown time");
	snprintf(buf, len, "%s (saved %s, %s)", state, size, ago);
}

void out_local_time(const char *rfc3339, char *buf, size_t len)
{
	double t;
	struct tm tm;

	if (rfc3339 == NULL || !time_parse_rfc3339(rfc3339, &t)) {
		snprintf(buf, len, "-");
		return;
	}
	time_t secs = (time_t)t;
	localtime_r(&secs, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

void out_stream_item(struct out_stream *st, json_t *item)
{
	if (st->json) {
		if (st->n == 0 && st->wrap != NULL)
			printf("{\"%s\": ", st->wrap);
		fputs(st->n == 0 ? "[\n  " : ",\n  ", stdout);
		char *text = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS);
		fputs(text != NULL ? text : "null", stdout);
		free(text);
	} else {
		if (st->n == 0)
			st->header();
		st->row(item);
	}
	st->n++;
}

void out_stream_end(struct out_stream *st)
{
	if (st->json && st->wrap != NULL && st->n == 0)
		printf("{\"%s\": []}\n", st->wrap);
	else if (st->json)
		printf("%s%s\n", st->n == 0 ? "[]" : "\n]", st->wrap != NULL ? "}" : "");
	else if (st->n == 0 && st->empty[0] != '\0')
		puts(st->empty);
	fflush(stdout);
}
