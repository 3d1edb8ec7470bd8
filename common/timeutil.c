/* timeutil.c — see timeutil.h. */
#include "timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsontext.h"

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double mono_to_wall(double mono)
{
	return wall_now() + (mono - mono_now());
}

void time_rfc3339(double epoch, char *buf, size_t len)
{
	/* Rounded to the millisecond, so parse(format(t)) is t to 1 ms
	 * (truncating turned 1.2345 into 1.234 and then 1.233 on a reload). */
	long long total = llround(epoch * 1000.0);
	long long q = total / 1000, r = total % 1000;
	if (r < 0) {
		r += 1000;
		q--;
	}
	time_t secs = (time_t)q;
	int ms = (int)r;
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

bool time_parse_rfc3339(const char *s, double *epoch)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return false;
	double frac = 0;
	if (*end == '.') {
		char *fend;
		frac = strtod(end, &fend);
		end = fend;
	}
	if (strcmp(end, "Z") != 0)
		return false;
	*epoch = (double)timegm(&tm) + frac;
	return true;
}

struct timeval tv_from_seconds(double s)
{
	struct timeval tv;

	if (s < 0)
		s = 0;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return tv;
}

bool duration_parse(const char *s, double *seconds)
{
	char *end;
	double v, mult = 1;

	if (s == NULL || *s == '\0')
		return false;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return false;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "ms") == 0)
		mult = 0.001;
	else if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else
		return false;
	*seconds = v * mult;
	return true;
}

void duration_format(double seconds, char *buf, size_t len)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60 && seconds != floor(seconds)) {
		snprintf(buf, len, "%.3gs", seconds);
		return;
	}
	long s = lround(seconds);
	long d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60;
	long r = s % 60;
	size_t n = 0;
	buf[0] = '\0';
	if (d)
		n += (size_t)snprintf(buf + n, len - n, "%ldd", d);
	if (h && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%ldh", h);
	if (m && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%ldm", m);
	if ((r || s == 0) && n < len)
		snprintf(buf + n, len - n, "%lds", r);
}

json_t *time_json(double wall)
{
	char buf[TIME_RFC3339_LEN];

	if (wall <= 0)
		return json_null();
	time_rfc3339(wall, buf, sizeof buf);
	return json_string(buf);
}

void time_text(struct jtext *t, const char *key, double wall)
{
	char buf[TIME_RFC3339_LEN];

	if (wall <= 0) {
		jtext_null(t, key);
		return;
	}
	time_rfc3339(wall, buf, sizeof buf);
	jtext_string(t, key, buf);
}

double time_backoff(int attempt, double first, double max)
{
	double d = first;

	for (int i = 1; i < attempt && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}
