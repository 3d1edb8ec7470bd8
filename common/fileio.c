/* fileio.c — see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timeutil.h"

/* fsync, its time added to *spent. */
static int fsync_timed(int fd, double *spent)
{
	double t0 = mono_now();
	int rc = fsync(fd);
	int e = errno;

	*spent += mono_now() - t0;
	errno = e;
	return rc;
}

static int fsync_dir(const char *dir, double *spent, struct cause *cause)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		cause_set(cause, CAUSE_INTERNAL, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = fsync_timed(fd, spent);
	int e = errno;
	close(fd);
	if (rc < 0) {
		cause_set(cause, CAUSE_INTERNAL, "fsync %s: %s", dir, strerror(e));
		return -1;
	}
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int file_write_atomic(const char *dir, const char *name, const void *data,
		      size_t len, mode_t mode, struct cause *cause)
{
	double spent = 0;

	return file_write_atomic_timed(dir, name, data, len, mode, &spent, cause);
}

int file_write_atomic_timed(const char *dir, const char *name, const void *data, size_t len,
			    mode_t mode, double *fsync_s, struct cause *cause)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd = -1;

	if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst) {
		cause_set(cause, CAUSE_INTERNAL, "path too long: %s/%s", dir, name);
		return -1;
	}
	/* A leftover of a crash, or anything planted under the temporary
	 * name (a symlink), goes first; then the name must be new: a file
	 * never follows a link or reuses one it did not create. */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		cause_set(cause, CAUSE_INTERNAL, "unlink %s: %s", tmp, strerror(errno));
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		cause_set(cause, CAUSE_INTERNAL, "create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync_timed(fd, fsync_s) < 0) {
		cause_set(cause, CAUSE_INTERNAL, "write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		cause_set(cause, CAUSE_INTERNAL, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0) {
		cause_set(cause, CAUSE_INTERNAL, "rename %s: %s", dst, strerror(errno));
		goto fail;
	}
	return fsync_dir(dir, fsync_s, cause);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int file_remove_durable(const char *dir, const char *name, struct cause *cause)
{
	double spent = 0;

	return file_remove_durable_timed(dir, name, &spent, cause);
}

int file_remove_durable_timed(const char *dir, const char *name, double *fsync_s,
			      struct cause *cause)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		cause_set(cause, CAUSE_INTERNAL, "path too long: %s/%s", dir, name);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		cause_set(cause, CAUSE_INTERNAL, "remove %s: %s", path, strerror(errno));
		return -1;
	}
	return fsync_dir(dir, fsync_s, cause);
}

/*
 * The buffer starts at the file's size (fstat) plus one, so reading many
 * small files (start-up reads every session's state file) costs a small
 * allocation each rather than one of max bytes (which, above malloc's mmap
 * threshold, cost a fresh mapping and its page faults per file).  It
 * doubles, up to max + 1, if the file grew meanwhile.  A regular file is
 * read up to the size fstat gave (no second read to see its end): the
 * files read here are replaced by rename, never written in place.
 */
static char *read_grow(char *buf, size_t *cap, size_t max)
{
	size_t want = *cap > max / 2 ? max + 1 : *cap * 2;
	char *p = realloc(buf, want);

	if (p != NULL)
		*cap = want;
	return p;
}

char *file_read_all(const char *path, size_t max, size_t *len, struct cause *cause)
{
	return file_read_at(AT_FDCWD, path, max, len, cause);
}

char *file_read_at(int dirfd, const char *path, size_t max, size_t *len, struct cause *cause)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL, *grown;
	size_t n = 0, cap;

	if (fd < 0) {
		cause_set(cause, CAUSE_INTERNAL, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	bool sized = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
		     (size_t)st.st_size < max;
	cap = sized ? (size_t)st.st_size + 1 : max + 1;
	if ((buf = malloc(cap)) == NULL)
		goto oom;
	for (;;) {
		if (n == cap) {         /* n <= max here: it grew, not past max */
			if ((grown = read_grow(buf, &cap, max)) == NULL)
				goto oom;
			buf = grown;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cause_set(cause, CAUSE_INTERNAL, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			cause_set(cause, CAUSE_INTERNAL, "%s is larger than %zu bytes", path, max);
			goto fail;
		}
		if (sized && n == (size_t)st.st_size && n < cap)
			break;              /* all fstat saw, and a short read: its end */
	}
	close(fd);
	buf[n] = '\0';           /* n < cap: the read that returned 0 had room */
	if (len)
		*len = n;
	return buf;
oom:
	cause_set(cause, CAUSE_INTERNAL, "out of memory reading %s", path);
fail:
	free(buf);
	close(fd);
	return NULL;
}

long file_read_into_at(int dirfd, const char *path, char *buf, size_t cap,
		       struct cause *cause)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t n = 0;

	if (fd < 0) {
		cause_set(cause, CAUSE_INTERNAL, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (size_t)st.st_size >= cap) {
		close(fd);
		return -2;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cause_set(cause, CAUSE_INTERNAL, "read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;              /* shorter than it was: a file replaced whole */
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (long)n;
}

int mkdir_p(const char *path, mode_t mode, struct cause *cause)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		cause_set(cause, CAUSE_INTERNAL, "path too long: %s", path);
		return -1;
	}
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST) {
			cause_set(cause, CAUSE_INTERNAL, "mkdir %s: %s", buf, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}
