/* journal.c — see journal.h. */
#include "journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "xalloc.h"

/* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then the caller's. */
#define FIXED_FIELDS 3
#define FIELDS_MAX 16

bool journal_is_stderr(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char tail;

	if (e == NULL || sscanf(e, "%" SCNuMAX ":%" SCNuMAX "%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

static void add(struct iovec *iov, size_t *n, char *text)
{
	iov[*n].iov_base = text;
	iov[*n].iov_len = strlen(text);
	(*n)++;
}

int journal_sink(enum log_level lvl, const struct log_field *fields, size_t nfields,
		 const char *msg)
{
	struct iovec iov[FIXED_FIELDS + FIELDS_MAX];
	size_t n = 0;

	add(iov, &n, xasprintf("MESSAGE=%s", msg));
	add(iov, &n, xasprintf("PRIORITY=%d", (int)lvl));
	add(iov, &n, xstrdup("SYSLOG_IDENTIFIER=sessiond"));
	for (size_t i = 0; i < nfields && n < FIXED_FIELDS + FIELDS_MAX; i++)
		if (fields[i].value != NULL)
			add(iov, &n, xasprintf("%s=%s", fields[i].name, fields[i].value));
	int rc = sd_journal_sendv(iov, (int)n);
	for (size_t i = 0; i < n; i++)
		free(iov[i].iov_base);
	return rc < 0 ? -1 : 0;
}
