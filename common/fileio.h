/*
 * fileio.h — crash-safe file writes.
 *
 * file_write_atomic() writes a temporary file in the target directory,
 * fsyncs it, renames it over the target and fsyncs the directory: after it
 * returns 0 the new content survives a crash or kill -9, and at no time can
 * a reader see a torn file.  Temporary names start with "." and end in
 * ".tmp" so a reload can recognise and remove leftovers.  The file gets
 * exactly mode, whatever the umask.  On failure it returns -1 with a
 * cause, the old file is as it was and no temporary file is left.
 * (tests/test_fileio.c checks each of these.)
 */
#ifndef SESSIOND_FILEIO_H
#define SESSIOND_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "cause.h"

int file_write_atomic(const char *dir, const char *name, const void *data,
		      size_t len, mode_t mode, struct cause *cause);
/* Unlinks dir/name and fsyncs dir; a missing file is not an error. */
int file_remove_durable(const char *dir, const char *name, struct cause *cause);
/* The same two, adding to *fsync_s the seconds spent in fsync (file and
 * directory): what a state file's durability costs. */
int file_write_atomic_timed(const char *dir, const char *name, const void *data, size_t len,
			    mode_t mode, double *fsync_s, struct cause *cause);
int file_remove_durable_timed(const char *dir, const char *name, double *fsync_s,
			      struct cause *cause);
/* Reads a whole file of at most max bytes into a NUL-terminated buffer.
 * A regular file is read up to the size it had when opened: for files
 * replaced whole (rename), not ones appended to while being read. */
char *file_read_all(const char *path, size_t max, size_t *len, struct cause *cause);
/* The same for path relative to the directory dirfd (openat): a directory
 * of many files is read without resolving its path for each. */
char *file_read_at(int dirfd, const char *path, size_t max, size_t *len, struct cause *cause);
/* The same into the caller's buf, NUL-terminated: the file's length, -1
 * (cause set) when it cannot be read, or -2 (nothing set) when it is not
 * a regular file of fewer than cap bytes (file_read_at reads that). */
long file_read_into_at(int dirfd, const char *path, char *buf, size_t cap,
		       struct cause *cause);
/* mkdir -p with the given mode for the directories it creates (less the
 * umask: the daemon runs with 022); existing directories keep theirs. */
int mkdir_p(const char *path, mode_t mode, struct cause *cause);

#endif
