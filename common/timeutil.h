/*
 * timeutil.h — clocks and the two time formats sessiond speaks.
 *
 * Deadlines and grace periods use the monotonic clock (immune to wall-clock
 * steps); what users and files see is wall-clock time as RFC 3339 UTC.
 * Durations are doubles in seconds (grace may be fractional); the human form
 * is "90s", "5m", "1h", "1.5s".
 */
#ifndef SESSIOND_TIMEUTIL_H
#define SESSIOND_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>

#include <jansson.h>

double mono_now(void);          /* seconds on CLOCK_MONOTONIC */
double wall_now(void);          /* seconds since the epoch */

/* Wall time (epoch seconds) to "2026-11-23T10:04:05.123Z". */
#define TIME_RFC3339_LEN 40
void time_rfc3339(double epoch, char *buf, size_t len);
/* The same as a JSON string; wall <= 0 (never, none) is null. */
json_t *time_json(double wall);
/* The same as a member of a text (jsontext.h). */
struct jtext;
void time_text(struct jtext *t, const char *key, double wall);
/* Parses what time_rfc3339 writes (fraction optional); false if malformed. */
bool time_parse_rfc3339(const char *s, double *epoch);

/* Monotonic deadline to the wall-clock time it corresponds to now. */
double mono_to_wall(double mono);

struct timeval tv_from_seconds(double s);

/* "1.5", "90s", "5m", "1h", "2d" to seconds; false on junk or negatives. */
bool duration_parse(const char *s, double *seconds);
/* 90 -> "90s", 300 -> "5m", 5400 -> "1h30m", 0.25 -> "0.25s"; buf >= 32. */
void duration_format(double seconds, char *buf, size_t len);
/* Exponential back-off: first, 2 first, 4 first ... at most max, for the
 * attempt-th try (1-based; 0 counts as 1). */
double time_backoff(int attempt, double first, double max);

#endif
