/*
 * test_fileio.c — crash-safe file writes (common/fileio.c).
 *
 * file_write_atomic() must leave the target holding either its old or its
 * new content, never a part of either: not for a reader that has the old
 * file open, not for one reading while writes go on, not after the writer
 * is killed with SIGKILL at any moment.  It fsyncs the temporary file
 * before the rename and the directory after it; every failure (no such
 * directory, a read-only file system, no space, the file-size limit, a
 * rename that cannot be done) returns -1 with a cause naming the reason,
 * leaves the old file as it was and no temporary file behind.  The file
 * gets exactly the mode asked for, whatever the umask.
 *
 * The read-only and no-space cases need root: the test mounts its own
 * small tmpfs in a private mount namespace (nothing is seen outside this
 * process).  Other users see them as SKIPPED.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/timeutil.h"
#include "harness/xfail.h"

static bool mount_ns;                   /* root, in a private mount namespace */

/* ---- observing fsync and rename ---------------------------------------- */

/* The test program's fsync() and rename() come before libc's for the code
 * linked into it: they log what they are called on and do the real call. */
#define TRACE_MAX 64
static struct {
	bool on;
	int n;
	char what[TRACE_MAX][PATH_MAX + 16];
} trace;

static void trace_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void trace_add(const char *fmt, ...)
{
	va_list ap;

	if (!trace.on || trace.n >= TRACE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(trace.what[trace.n++], sizeof trace.what[0], fmt, ap);
	va_end(ap);
}

int fsync(int fd)
{
	static int (*real)(int);
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	path[n > 0 ? n : 0] = '\0';
	trace_add("fsync %s", path);
	return real(fd);
}

int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);

	if (real == NULL)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	trace_add("rename %s %s", from, to);
	return real(from, to);
}

/* ---- the test directory ------------------------------------------------ */

struct dirs {
	char dir[256];                      /* on the root file system (ext4 here) */
	char mnt[300];                      /* a small tmpfs, when mounted */
	bool mounted;
};

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof *d);

	assert_non_null(d);
	snprintf(d->dir, sizeof d->dir, "/tmp/sessiond-fileio.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->mnt, sizeof d->mnt, "%s/mnt", d->dir);
	*state = d;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;

	if (d->mounted)
		umount2(d->mnt, MNT_DETACH);
	nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
	return 0;
}

/* A tmpfs of size bytes at d->mnt (root, private namespace). */
static void mount_small(struct dirs *d, const char *size)
{
	char opts[64];

	if (geteuid() != 0)
		skip();
	if (!mount_ns)
		fail_msg("as root, but no private mount namespace (unshare failed)");
	snprintf(opts, sizeof opts, "size=%s,mode=0755", size);
	assert_int_equal(mkdir(d->mnt, 0755), 0);
	if (mount("sessiond-test", d->mnt, "tmpfs", 0, opts) < 0)
		fail_msg("mount tmpfs on %s: %s", d->mnt, strerror(errno));
	d->mounted = true;
}

static void remount_ro(struct dirs *d)
{
	if (mount("none", d->mnt, "none", MS_REMOUNT | MS_RDONLY, NULL) < 0)
		fail_msg("remount %s read-only: %s", d->mnt, strerror(errno));
}

/* ---- reading back, independently of file_read_all --------------------- */

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_non_null(buf);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		assert_non_null(buf);
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf;
}

static bool holds(const char *dir, const char *name, const void *data, size_t len)
{
	size_t n;
	char *got = slurp(dir, name, &n);
	bool same = got != NULL && n == len && memcmp(got, data, len) == 0;

	free(got);
	return same;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Entries of dir other than . and .., and how many are temporary files. */
static int entries(const char *dir, int *tmps)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(dp);
	*tmps = 0;
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (e->d_name[0] == '.' && l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0)
			(*tmps)++;
	}
	closedir(dp);
	return n;
}

static void assert_no_tmp(const char *dir)
{
	int tmps;

	entries(dir, &tmps);
	if (tmps != 0)
		fail_msg("%d temporary file(s) left in %s", tmps, dir);
}

static char *pattern(size_t len, unsigned seed)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (char)((i * 31 + seed * 7 + (i >> 12)) & 0xff);
	return p;
}

/* ---- writes that work -------------------------------------------------- */

static void test_write_new_and_replace(void **state)
{
	struct dirs *d = *state;
	static const size_t sizes[] = { 0, 1, 4095, 4096, 65537, 1 << 20 };
	struct cause c;
	int tmps;

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *data = pattern(sizes[i], (unsigned)i);   /* has NUL bytes */
		cause_clear(&c);
		if (file_write_atomic(d->dir, "state.json", data, sizes[i], 0600, &c) < 0)
			fail_msg("write %zu bytes: %s", sizes[i], c.msg);
		if (!holds(d->dir, "state.json", data, sizes[i]))
			fail_msg("after writing %zu bytes the file holds something else", sizes[i]);
		assert_int_equal(entries(d->dir, &tmps), 1);
		assert_int_equal(tmps, 0);
		free(data);
	}
}

/* The mode asked for, whatever the umask and whatever the old file had. */
static void test_modes(void **state)
{
	struct dirs *d = *state;
	static const struct {
		mode_t mode, umask, old_mode;   /* old_mode 0: no old file */
	} cases[] = {
		{ 0600, 022, 0 }, { 0644, 022, 0 }, { 0644, 077, 0 }, { 0600, 0, 0 },
		{ 0640, 027, 0 }, { 0600, 022, 0666 }, { 0644, 077, 0600 }, { 0400, 022, 0644 },
	};
	struct cause c;
	struct stat st;
	char path[PATH_MAX];
	mode_t saved = umask(022);

	snprintf(path, sizeof path, "%s/f", d->dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unlink(path);
		if (cases[i].old_mode != 0) {
			put(d->dir, "f", "old");
			assert_int_equal(chmod(path, cases[i].old_mode), 0);
		}
		umask(cases[i].umask);
		int rc = file_write_atomic(d->dir, "f", "new", 3, cases[i].mode, &c);
		umask(022);
		if (rc < 0)
			fail_msg("case %zu: %s", i, c.msg);
		assert_int_equal(stat(path, &st), 0);
		if ((st.st_mode & 07777) != cases[i].mode)
			fail_msg("case %zu: mode %04o asked under umask %03o (old file %04o): got %04o", i,
				 (unsigned)cases[i].mode, (unsigned)cases[i].umask,
				 (unsigned)cases[i].old_mode, (unsigned)(st.st_mode & 07777));
	}
	umask(saved);
}

/* A reader that opened the old file keeps reading all of the old content:
 * the new one is a new file put in place, not the old one rewritten. */
static void test_open_reader_keeps_old(void **state)
{
	struct dirs *d = *state;
	size_t len = 256 * 1024, n = 0;
	char *old = pattern(len, 1), *new = pattern(len / 2, 2), *buf = malloc(len + 1);
	char path[PATH_MAX];
	struct cause c;

	assert_non_null(buf);
	snprintf(path, sizeof path, "%s/f", d->dir);
	assert_int_equal(file_write_atomic(d->dir, "f", old, len, 0600, &c), 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(file_write_atomic(d->dir, "f", new, len / 2, 0600, &c), 0);
	for (ssize_t r; (r = read(fd, buf + n, len + 1 - n)) > 0;)
		n += (size_t)r;
	close(fd);
	if (n != len || memcmp(buf, old, len) != 0)
		fail_msg("a reader of the old file read %zu bytes%s, not the old %zu", n,
			 n == len ? " of other content" : "", len);
	assert_true(holds(d->dir, "f", new, len / 2));
	free(old);
	free(new);
	free(buf);
}

/* ---- readers during writes, and SIGKILL in the middle of one ------------ */

#define BIG (512 * 1024)

struct race {
	const char *dir;
	char *a, *b;
	atomic_bool done;
	atomic_long saw_a, saw_b, torn, reads;
	char torn_what[128];
};

static void *reader(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->done)) {
		size_t n;
		char *got = slurp(r->dir, "f", &n);
		atomic_fetch_add(&r->reads, 1);
		if (got != NULL && n == BIG && memcmp(got, r->a, BIG) == 0) {
			atomic_fetch_add(&r->saw_a, 1);
		} else if (got != NULL && n == BIG && memcmp(got, r->b, BIG) == 0) {
			atomic_fetch_add(&r->saw_b, 1);
		} else {
			if (atomic_fetch_add(&r->torn, 1) == 0)
				snprintf(r->torn_what, sizeof r->torn_what, "%s of %zu bytes",
					 got ? "content" : "no file", got ? n : 0);
		}
		free(got);
	}
	return NULL;
}

/* A reader in a loop sees the old content or the new one, never a mix, a
 * short file or no file.  The writer goes on until the reader has seen
 * both (so the reads did overlap the writes), at least MIN_WRITES times. */
static void test_concurrent_reader_never_torn(void **state)
{
	struct dirs *d = *state;
	struct race r = { .dir = d->dir, .a = pattern(BIG, 3), .b = pattern(BIG, 4) };
	enum { MIN_WRITES = 200 };
	double end = mono_now() + 60;
	struct cause c;
	pthread_t th;
	long writes = 0;

	assert_int_equal(file_write_atomic(d->dir, "f", r.a, BIG, 0600, &c), 0);
	assert_int_equal(pthread_create(&th, NULL, reader, &r), 0);
	while ((writes < MIN_WRITES || atomic_load(&r.saw_a) == 0 || atomic_load(&r.saw_b) == 0) &&
	       mono_now() < end) {
		const char *data = writes % 2 ? r.a : r.b;
		if (file_write_atomic(d->dir, "f", data, BIG, 0600, &c) < 0)
			fail_msg("write %ld: %s", writes, c.msg);
		writes++;
		sched_yield();
	}
	atomic_store(&r.done, true);
	pthread_join(th, NULL);
	print_message("%ld writes, %ld reads: %ld of one content, %ld of the other, %ld torn\n", writes,
		      atomic_load(&r.reads), atomic_load(&r.saw_a), atomic_load(&r.saw_b),
		      atomic_load(&r.torn));
	if (atomic_load(&r.torn) != 0)
		fail_msg("%ld of %ld reads saw a torn file (first: %s)", atomic_load(&r.torn),
			 atomic_load(&r.reads), r.torn_what);
	if (atomic_load(&r.saw_a) == 0 || atomic_load(&r.saw_b) == 0)
		fail_msg("the reader never saw both versions in 60 s: reads did not overlap writes");
	assert_no_tmp(d->dir);
	free(r.a);
	free(r.b);
}

/* The writer is killed with SIGKILL at random moments once it is busy
 * writing: the file is still one of the contents written.  A temporary
 * file may be left (a reload removes those); it must have been, at least
 * once, or no kill landed inside a write and the check proved nothing. */
static void test_kill9_mid_write(void **state)
{
	struct dirs *d = *state;
	char *old = pattern(BIG, 5), *a = pattern(BIG, 6), *b = pattern(BIG, 7);
	int interrupted = 0, rounds = 0;
	struct cause c;
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof tmp, "%s/.f.tmp", d->dir);
	srand(12345);
	while (rounds < 30 || (interrupted < 3 && rounds < 300)) {
		int ready[2];
		char byte;

		assert_int_equal(file_write_atomic(d->dir, "f", old, BIG, 0600, &c), 0);
		assert_int_equal(pipe(ready), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(ready[0]);
			for (unsigned i = 0;; i++) {
				file_write_atomic(d->dir, "f", i % 2 ? a : b, BIG, 0600, NULL);
				if (i == 0 && write(ready[1], "r", 1) != 1)
					_exit(1);
			}
		}
		close(ready[1]);
		/* Busy: it has written once (a slow start, as under valgrind,
		 * must not make every kill land before the first write). */
		assert_int_equal(read(ready[0], &byte, 1), 1);
		close(ready[0]);
		struct timespec ts = { 0, (long)(rand() % 3000) * 1000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
		rounds++;
		if (!holds(d->dir, "f", a, BIG) && !holds(d->dir, "f", b, BIG))
			fail_msg("round %d: after SIGKILL the file is not one of the contents written",
				 rounds);
		if (access(tmp, F_OK) == 0) {
			interrupted++;
			unlink(tmp);
		}
	}
	print_message("%d kills, %d inside a write\n", rounds, interrupted);
	if (interrupted == 0)
		fail_msg("no kill in %d landed inside a write: nothing was tested", rounds);
	free(old);
	free(a);
	free(b);
}

/* fsync of the temporary file, then the rename, then fsync of the
 * directory: otherwise a crash can leave a renamed but empty file, or
 * lose the rename. */
static void test_fsync_rename_order(void **state)
{
	struct dirs *d = *state;
	char real[PATH_MAX], tmp[PATH_MAX + 16], dst[PATH_MAX + 16], want[3][2 * PATH_MAX + 40];
	int at[3] = { -1, -1, -1 };
	struct cause c;

	assert_non_null(realpath(d->dir, real));
	snprintf(tmp, sizeof tmp, "%s/.f.tmp", real);
	snprintf(dst, sizeof dst, "%s/f", real);
	snprintf(want[0], sizeof want[0], "fsync %s", tmp);
	snprintf(want[1], sizeof want[1], "rename %s %s", tmp, dst);
	snprintf(want[2], sizeof want[2], "fsync %s", real);
	trace.n = 0;
	trace.on = true;
	int rc = file_write_atomic(real, "f", "content", 7, 0600, &c);
	trace.on = false;
	assert_int_equal(rc, 0);
	for (int i = 0; i < trace.n; i++)
		for (int k = 0; k < 3; k++)
			if (at[k] < 0 && strcmp(trace.what[i], want[k]) == 0)
				at[k] = i;
	if (!(at[0] >= 0 && at[0] < at[1] && at[1] < at[2])) {
		char seen[2048] = "";
		for (int i = 0; i < trace.n; i++)
			snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "\n  %s", trace.what[i]);
		fail_msg("want fsync(temporary) < rename < fsync(directory); saw:%s", seen);
	}
}

/* ---- failures leave the old file and no temporary file ------------------ */

enum fail_setup { FS_NONE, FS_TARGET_IS_DIR, FS_READ_ONLY, FS_NO_SPACE, FS_FSIZE };

static const struct fail_case {
	const char *label;
	enum fail_setup setup;
	bool root;                          /* mounts a file system of its own */
	size_t len;                         /* bytes the failing write tries */
	const char *cause_has;              /* in the cause's message */
} fail_cases[] = {
	{ "no such directory", FS_NONE, false, 16, "No such file or directory" },
	{ "target is a directory", FS_TARGET_IS_DIR, false, 16, "rename" },
	{ "file size limit", FS_FSIZE, false, 64 * 1024, "File too large" },
	{ "read-only file system", FS_READ_ONLY, true, 16, "Read-only file system" },
	{ "no space left", FS_NO_SPACE, true, 256 * 1024, "No space left on device" },
};

/* Runs file_write_atomic under RLIMIT_FSIZE in a child (SIGXFSZ ignored,
 * so write() fails with EFBIG); the cause comes back through a pipe. */
static int write_limited(const char *dir, void *data, size_t len, struct cause *c)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 8192, 8192 };
		struct cause cc;
		signal(SIGXFSZ, SIG_IGN);
		close(p[0]);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		memset(&cc, 0, sizeof cc);
		int rc = file_write_atomic(dir, "f", data, len, 0600, &cc);
		free(data);                 /* this copy's (valgrind checks the child too) */
		if (write(p[1], &cc, sizeof cc) != (ssize_t)sizeof cc)
			_exit(4);
		_exit(rc == 0 ? 0 : 1);
	}
	close(p[1]);
	cause_clear(c);
	ssize_t got = read(p[0], c, sizeof *c);
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 1)
		fail_msg("the limited writer failed: wait status 0x%x", (unsigned)st);
	assert_int_equal(got, (ssize_t)sizeof *c);
	return WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void failures_keep_old(struct dirs *d, bool root)
{
	int ran = 0;

	for (size_t i = 0; i < sizeof fail_cases / sizeof fail_cases[0]; i++) {
		const struct fail_case *fc = &fail_cases[i];
		if (fc->root != root)
			continue;
		ran++;
		char dir[PATH_MAX + 16];
		char *data = pattern(fc->len, 9);
		const char *old = "old content\n";
		struct cause c;
		int rc;

		snprintf(dir, sizeof dir, "%s/case%zu", d->dir, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		switch (fc->setup) {
		case FS_NONE:
			strcat(dir, "/missing");
			break;
		case FS_TARGET_IS_DIR:
			snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/f");
			assert_int_equal(mkdir(dir, 0755), 0);
			put(dir, "inside", old);
			*strrchr(dir, '/') = '\0';
			break;
		case FS_READ_ONLY:
		case FS_NO_SPACE:
			if (d->mounted) {
				umount2(d->mnt, MNT_DETACH);
				rmdir(d->mnt);
				d->mounted = false;
			}
			mount_small(d, "64k");
			snprintf(dir, sizeof dir, "%s", d->mnt);
			put(dir, "f", old);
			if (fc->setup == FS_READ_ONLY)
				remount_ro(d);
			break;
		case FS_FSIZE:
			put(dir, "f", old);
			break;
		}
		if (fc->setup == FS_FSIZE)
			rc = write_limited(dir, data, fc->len, &c);
		else
			rc = file_write_atomic(dir, "f", data, fc->len, 0600, &c);
		if (rc != -1)
			fail_msg("%s: returned %d, not -1", fc->label, rc);
		if (strstr(c.msg, fc->cause_has) == NULL)
			fail_msg("%s: cause \"%s\" does not say \"%s\"", fc->label, c.msg, fc->cause_has);
		if (fc->setup == FS_TARGET_IS_DIR) {
			char inner[PATH_MAX + 32];
			snprintf(inner, sizeof inner, "%s/f", dir);
			assert_true(holds(inner, "inside", old, strlen(old)));
		} else if (fc->setup != FS_NONE && !holds(dir, "f", old, strlen(old))) {
			fail_msg("%s: the old file was changed", fc->label);
		}
		if (fc->setup != FS_NONE)
			assert_no_tmp(dir);
		free(data);
	}
	assert_true(ran > 0);
}

static void test_failures_keep_old(void **state)
{
	failures_keep_old(*state, false);
}

static void test_failures_keep_old_root(void **state)
{
	if (geteuid() != 0)
		skip();
	failures_keep_old(*state, true);
}

static void test_path_too_long(void **state)
{
	struct dirs *d = *state;
	char name[PATH_MAX];
	struct cause c;
	int tmps;

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_int_equal(file_write_atomic(d->dir, name, "x", 1, 0600, &c), -1);
	assert_non_null(strstr(c.msg, "too long"));
	assert_int_equal(file_remove_durable(d->dir, name, &c), -1);
	assert_non_null(strstr(c.msg, "too long"));
	assert_int_equal(entries(d->dir, &tmps), 0);
}

/* A temporary file left by a killed writer is replaced by the next write
 * and gone after it. */
static void test_leftover_tmp_replaced(void **state)
{
	struct dirs *d = *state;
	struct cause c;
	int tmps;

	put(d->dir, ".f.tmp", "garbage from a killed writer, longer than the new content");
	assert_int_equal(file_write_atomic(d->dir, "f", "new", 3, 0600, &c), 0);
	assert_true(holds(d->dir, "f", "new", 3));
	assert_int_equal(entries(d->dir, &tmps), 1);
	assert_int_equal(tmps, 0);
}

/* A symlink planted at the temporary name is not followed: the file it
 * points to keeps its content and mode, and the target is a regular file.
 * (Only someone who can write into the state directory can plant one:
 * hardening.) */
static void test_tmp_symlink_not_followed(void **state)
{
	struct dirs *d = *state;
	char victim[PATH_MAX + 16], link[PATH_MAX + 16];
	struct cause c;
	struct stat st;

	snprintf(victim, sizeof victim, "%s/victim", d->dir);
	snprintf(link, sizeof link, "%s/.f.tmp", d->dir);
	put(d->dir, "victim", "precious");
	assert_int_equal(chmod(victim, 0644), 0);
	assert_int_equal(symlink(victim, link), 0);
	int rc = file_write_atomic(d->dir, "f", "new", 3, 0600, &c);
	bool victim_kept = holds(d->dir, "victim", "precious", 8) && stat(victim, &st) == 0 &&
			   (st.st_mode & 07777) == 0644;
	bool target_file = lstat(link, &st) < 0 && rc == 0 &&
			   lstat(victim, &st) == 0 && holds(d->dir, "f", "new", 3);
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s/f", d->dir);
	target_file = target_file && lstat(f, &st) == 0 && S_ISREG(st.st_mode);
	check_or_xfail(victim_kept && target_file, false,
		       "fileio: a symlink left at the temporary name is followed: the file it "
		       "points to is overwritten (victim kept: %s, target a regular file: %s)",
		       victim_kept ? "yes" : "no", target_file ? "yes" : "no");
}

/* ---- file_remove_durable, file_read_all, mkdir_p ------------------------ */

static void test_remove_durable(void **state)
{
	struct dirs *d = *state;
	struct cause c;
	int tmps;

	put(d->dir, "f", "x");
	assert_int_equal(file_remove_durable(d->dir, "f", &c), 0);
	assert_int_equal(entries(d->dir, &tmps), 0);
	assert_int_equal(file_remove_durable(d->dir, "f", &c), 0);     /* missing: fine */
	char sub[PATH_MAX + 16];
	snprintf(sub, sizeof sub, "%s/sub", d->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(file_remove_durable(d->dir, "sub", &c), -1);
	assert_non_null(strstr(c.msg, "sub"));
	assert_int_equal(file_remove_durable("/nonexistent-sessiond-dir", "f", &c), -1);
	assert_non_null(strstr(c.msg, "No such file or directory"));
}

static void test_remove_read_only(void **state)
{
	struct dirs *d = *state;
	struct cause c;

	mount_small(d, "64k");
	put(d->mnt, "f", "kept");
	remount_ro(d);
	assert_int_equal(file_remove_durable(d->mnt, "f", &c), -1);
	assert_non_null(strstr(c.msg, "Read-only file system"));
	assert_true(holds(d->mnt, "f", "kept", 4));
}

static void test_read_all(void **state)
{
	struct dirs *d = *state;
	static const struct {
		size_t size, max;
		bool ok;
	} cases[] = {
		{ 0, 10, true }, { 10, 10, true }, { 11, 10, false }, { 4096, 4096, true },
		{ 70000, 65536, false }, { 70000, 70000, true },
	};
	char path[PATH_MAX + 16];
	struct cause c;
	size_t len;

	snprintf(path, sizeof path, "%s/r", d->dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *data = pattern(cases[i].size, 11);
		assert_int_equal(file_write_atomic(d->dir, "r", data, cases[i].size, 0600, &c), 0);
		len = 12345;
		cause_clear(&c);
		char *got = file_read_all(path, cases[i].max, &len, &c);
		if (cases[i].ok) {
			assert_non_null(got);
			assert_int_equal(len, cases[i].size);
			assert_memory_equal(got, data, cases[i].size);
			assert_int_equal(got[len], '\0');
		} else {
			assert_null(got);
			assert_non_null(strstr(c.msg, "larger than"));
		}
		free(got);
		free(data);
	}
	assert_null(file_read_all("/nonexistent-sessiond-file", 10, &len, &c));
	assert_non_null(strstr(c.msg, "No such file or directory"));
	/* A file without end is cut at max, not read for ever. */
	assert_null(file_read_all("/dev/zero", 4096, &len, &c));
	assert_non_null(strstr(c.msg, "larger than"));
	/* A directory: read fails with a cause. */
	assert_null(file_read_all(d->dir, 4096, &len, &c));
	assert_non_null(strstr(c.msg, "Is a directory"));
}

/* file_read_into_at: a file shorter than the buffer is read whole and
 * NUL-terminated; one that leaves no room for the NUL, and what is not a
 * regular file, are left to file_read_at (-2); one that cannot be opened
 * says why (-1). */
static void test_read_into(void **state)
{
	struct dirs *d = *state;
	static const struct {
		size_t size, cap;
		long want;
	} cases[] = {
		{ 0, 1, 0 }, { 9, 10, 9 }, { 10, 10, -2 }, { 11, 10, -2 }, { 70000, 70001, 70000 },
	};
	char buf[70001];
	struct cause c;
	int dirfd = open(d->dir, O_RDONLY | O_DIRECTORY);

	assert_true(dirfd >= 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *data = pattern(cases[i].size, 13);
		assert_int_equal(file_write_atomic(d->dir, "r", data, cases[i].size, 0600, &c), 0);
		memset(buf, 'x', sizeof buf);
		long got = file_read_into_at(dirfd, "r", buf, cases[i].cap, &c);
		assert_int_equal(got, cases[i].want);
		if (got >= 0) {
			assert_memory_equal(buf, data, cases[i].size);
			assert_int_equal(buf[got], '\0');
		}
		free(data);
	}
	cause_clear(&c);
	assert_int_equal(file_read_into_at(dirfd, "none", buf, sizeof buf, &c), -1);
	assert_non_null(strstr(c.msg, "No such file or directory"));
	assert_int_equal(file_read_into_at(dirfd, ".", buf, sizeof buf, &c), -2);
	close(dirfd);
}

/* The modes the daemon asks for (state 0711, sessions/ 0700, socket
 * directory 0755) under the daemon's umask 022 (main.c); a directory
 * that exists keeps its mode. */
static void test_mkdir_p(void **state)
{
	struct dirs *d = *state;
	static const mode_t modes[] = { 0711, 0700, 0755 };
	char path[PATH_MAX + 64], part[PATH_MAX + 64];
	struct cause c;
	struct stat st;
	mode_t saved = umask(022);

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		snprintf(path, sizeof path, "%s/m%zu/a/b/", d->dir, i);
		assert_int_equal(mkdir_p(path, modes[i], &c), 0);
		static const char *const parts[] = { "", "/a", "/a/b" };
		for (int k = 0; k < 3; k++) {
			snprintf(part, sizeof part, "%s/m%zu%s", d->dir, i, parts[k]);
			assert_int_equal(stat(part, &st), 0);
			assert_true(S_ISDIR(st.st_mode));
			assert_int_equal(st.st_mode & 07777, modes[i]);
		}
		assert_int_equal(mkdir_p(path, modes[i], &c), 0);           /* again: fine */
	}
	snprintf(path, sizeof path, "%s/kept", d->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/kept/new", d->dir);
	assert_int_equal(mkdir_p(path, 0755, &c), 0);
	snprintf(path, sizeof path, "%s/kept", d->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A file on the way: an error naming it. */
	put(d->dir, "file", "x");
	snprintf(path, sizeof path, "%s/file/sub", d->dir);
	assert_int_equal(mkdir_p(path, 0755, &c), -1);
	assert_non_null(strstr(c.msg, "file/sub"));
	umask(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_new_and_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_reader_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reader_never_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_mid_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_rename_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_keep_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_keep_old_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_tmp_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_symlink_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_into, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
	};

	/* Root: a private mount namespace for the small file systems. */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0)
		mount_ns = true;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
