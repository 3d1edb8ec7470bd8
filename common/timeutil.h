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

double mono_now(void);          /* seconds on CLOCK_MONOTONIC */
double wall_now(void);          /* seconds since the epoch */

/* Wall time (epoch seconds) to "2026-11-23T10:04:05.123Z"; buf >= 32. */
void time_rfc3339(double epoch, char *buf, size_t len);
/* Parses what time_rfc3339 writes (fraction optional); false if malformed. */
bool time_parse_rfc3339(const char *s, double *epoch);

/* Monotonic deadline to the wall-clock time it corresponds to now. */
double mono_to_wall(double mono);

struct timeval tv_from_seconds(double s);

/* "1.5", "90s", "5m", "1h", "2d" to seconds; false on junk or negatives. */
bool duration_parse(const char *s, double *seconds);
/* 90 -> "90s", 300 -> "5m", 5400 -> "1h30m", 0.25 -> "0.25s"; buf >= 32. */
void duration_format(double seconds, char *buf, size_t len);

#endif
