/*
 * journal.h — log lines to journald with their fields.
 *
 * Under systemd a service's stderr is a stream into the journal, which
 * keeps the text and the priority but no fields.  When stderr is that
 * stream (JOURNAL_STREAM, set by systemd, names its device and inode) the
 * daemon sends each line through the journal's native protocol instead
 * (sd_journal_sendv): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the fields
 * of log_fields() (log.h), so "journalctl SESSION=dev" finds them.
 * Anything else (a terminal, a file, a pipe, stderr redirected by the
 * service) keeps the plain lines.
 */
#ifndef SESSIOND_JOURNAL_H
#define SESSIOND_JOURNAL_H

#include <stdbool.h>

#include "log.h"

/* JOURNAL_STREAM is set and names the file stderr is. */
bool journal_is_stderr(void);
/* A log_sink_fn: one journal entry per line; -1 when journald did not
 * take it (the line then goes to stderr). */
int journal_sink(enum log_level lvl, const struct log_field *fields, size_t nfields,
		 const char *msg);

#endif
