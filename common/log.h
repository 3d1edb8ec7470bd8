/*
 * log.h — one logging sink for the daemon: stderr, journald-friendly.
 *
 * When stderr is not a terminal each line starts with a syslog priority in
 * angle brackets ("<6>"), which journald turns into the entry's priority;
 * on a terminal the level is spelled out instead.
 *
 * Structured lines: log_fields() carries a list of journal fields
 * (NAME=value) with the message.  This layer knows no sessions: the caller
 * names the fields (session/ builds its own, session_log()).  On stderr the
 * fields are not printed, the line is the message as always; a sink
 * installed with log_set_sink() (common/journal.h: journald's native
 * protocol) receives them.
 */
#ifndef SESSIOND_LOG_H
#define SESSIOND_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* One journal field: name in upper case ("SESSION"), value as text.  A
 * field whose value is NULL is left out. */
struct log_field {
	const char *name;
	const char *value;
};

/* Receives each line that passes the level (msg without "<6>" or the
 * level word, and without a newline).  -1: not delivered, the line goes
 * to stderr instead.  Called from any thread. */
typedef int (*log_sink_fn)(enum log_level lvl, const struct log_field *fields, size_t nfields,
			   const char *msg);

void log_set_level(enum log_level max);
enum log_level log_get_level(void);
/* Set once at start-up, before other threads run; NULL: stderr only. */
void log_set_sink(log_sink_fn sink);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_fields(enum log_level lvl, const struct log_field *fields, size_t nfields,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A broken invariant or an impossible start-up: log and exit(1). */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
