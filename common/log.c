/* log.c — see log.h. */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

/* A reload changes it on the loop while workers log: atomic. */
static atomic_int max_level = LOG_LVL_INFO;
static log_sink_fn sink;

void log_set_level(enum log_level max)
{
	atomic_store_explicit(&max_level, (int)max, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&max_level, memory_order_relaxed);
}

void log_set_sink(log_sink_fn fn)
{
	sink = fn;
}

static const char *level_word(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR: return "error";
	case LOG_LVL_WARN: return "warning";
	case LOG_LVL_INFO: return "info";
	case LOG_LVL_DEBUG: return "debug";
	}
	return "log";
}

/* The plain line.  One write per line so lines from several threads
 * never interleave. */
static void write_line(enum log_level lvl, const char *msg)
{
	char line[LINE_MAX_BYTES + 32];
	int n;

	if (isatty(STDERR_FILENO))
		n = snprintf(line, sizeof line, "sessiond %s: %s", level_word(lvl), msg);
	else
		n = snprintf(line, sizeof line, "<%d>%s", (int)lvl, msg);
	if (n < 0)
		return;
	size_t len = (size_t)n;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

static void log_vfields(enum log_level lvl, const struct log_field *fields, size_t nfields,
			const char *fmt, va_list ap)
{
	char msg[LINE_MAX_BYTES];

	if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
		return;
	if (sink != NULL && sink(lvl, fields, nfields, msg) == 0)
		return;
	write_line(lvl, msg);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_get_level())
		return;
	va_start(ap, fmt);
	log_vfields(lvl, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(enum log_level lvl, const struct log_field *fields, size_t nfields,
		const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_get_level())
		return;
	va_start(ap, fmt);
	log_vfields(lvl, fields, nfields, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vfields(LOG_LVL_ERR, NULL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
