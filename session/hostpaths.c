/*
 * hostpaths.c — may a session's owner hand these host files to a VM?
 *
 * A session's "disk" (an absolute path is the VM's disk as it is),
 * "image" (a base image the instance boots from), "kernel" and "initrd"
 * (the settings table's FIELD_HOSTPATH rows) are opened by libvirt on the
 * daemon's behalf, with the daemon's rights (root, or the user of a
 * per-user daemon).  An owner who is neither may name only files it could
 * open itself, and that is checked by opening them as the owner: this
 * thread's filesystem identity becomes the owner's (setfsuid, setfsgid and
 * the owner's groups), the kernel does the check it would do for the owner
 * (mode bits, ACLs, every directory on the way, symlinks, security
 * modules), and the identity is put back.  The calls are per thread:
 * setfsuid/setfsgid are, and setgroups is made as a raw system call
 * because glibc's wrapper changes every thread of the process.
 *
 * The owner's groups are those of the user database (primary and
 * supplementary, getgrouplist(3)), not of the connecting process:
 * SO_PEERCRED gives no supplementary groups, and a session outlives the
 * connection that created it.  A "disk" without a slash names a volume of
 * the daemon's pool, where other users' disks live: only a trusted owner
 * may name one.  The rule is checked at session.create and again by each
 * start (a file swapped for a symlink since is caught then).  A daemon that
 * is not root cannot take another identity, so it refuses another owner's
 * host files.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"

/* A uid the user database does not know has no groups; its primary group
 * is taken to be the kernel's overflow gid ("nogroup"), so only the
 * owner and "other" bits count for it. */
#define UNKNOWN_USER_GID 65534

/* Who the check is for: a uid, its primary group and its groups from the
 * user database. */
struct who {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

static void who_load(struct who *w, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = 32;

	w->uid = uid;
	w->gid = UNKNOWN_USER_GID;
	w->groups = NULL;
	w->ngroups = 0;
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return;                     /* no such user: no groups */
	w->gid = pw.pw_gid;
	for (int tries = 0; tries < 4; tries++) {
		w->groups = xrealloc(w->groups, (size_t)n * sizeof *w->groups);
		int want = n;
		if (getgrouplist(pw.pw_name, pw.pw_gid, w->groups, &want) >= 0) {
			w->ngroups = want;
			return;
		}
		n = want > n ? want : n * 2;    /* too small: want says how many */
	}
}

/* This thread's filesystem identity, to put back afterwards. */
struct fsid {
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
};

static int become(const struct who *w, struct fsid *saved)
{
	saved->ngroups = getgroups(256, saved->groups);
	saved->uid = (uid_t)setfsuid((uid_t)-1);
	saved->gid = (gid_t)setfsgid((gid_t)-1);
	if (saved->ngroups < 0 || syscall(SYS_setgroups, (size_t)w->ngroups, w->groups) < 0)
		return -1;
	setfsgid(w->gid);
	setfsuid(w->uid);
	/* setfsuid reports the old value even when it fails: ask again. */
	if ((uid_t)setfsuid((uid_t)-1) != w->uid || (gid_t)setfsgid((gid_t)-1) != w->gid)
		return -1;
	return 0;
}

static void restore(const struct fsid *saved)
{
	setfsuid(saved->uid);
	setfsgid(saved->gid);
	if (saved->ngroups >= 0 &&
	    syscall(SYS_setgroups, (size_t)saved->ngroups, saved->groups) < 0)
		fatal("hostpaths: cannot restore this thread's groups: %s", strerror(errno));
}

/* Opens path as the owner would (the identity is already the owner's). */
static int open_as_owner(const char *path, bool write, struct stat *st)
{
	int fd = open(path, (write ? O_RDWR : O_RDONLY) | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	int rc = fstat(fd, st);
	close(fd);
	return rc;
}

static int check_one(const struct who *w, const char *key, const char *path, bool write,
		     struct cause *c)
{
	struct fsid saved;
	struct stat st;

	if (path[0] != '/') {
		cause_set(c, CAUSE_FORBIDDEN, "forbidden: %s: '%s' names a pool volume; "
			  "only root may name one (give an absolute path to a file you own)", key, path);
		return -1;
	}
	if (become(w, &saved) < 0) {
		restore(&saved);
		cause_set(c, CAUSE_FORBIDDEN, "forbidden: %s: cannot check '%s' as uid %u (sessiond "
			  "is not root, or the user is unknown)", key, path, (unsigned)w->uid);
		return -1;
	}
	int rc = open_as_owner(path, write, &st);
	int err = errno;
	restore(&saved);
	if (rc == 0 && (S_ISREG(st.st_mode) || (write && S_ISBLK(st.st_mode))))
		return 0;
	if (rc < 0 && err == ENOENT) {
		cause_set(c, CAUSE_INVALID, "invalid params: %s: %s: %s", key, path, strerror(err));
		return -1;
	}
	cause_set(c, CAUSE_FORBIDDEN, "forbidden: %s: uid %u may not %s '%s'", key,
		  (unsigned)w->uid, write ? "read and write" : "read", path);
	return -1;
}

bool hostpaths_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* The host files of a session: the FIELD_HOSTPATH rows; "disk" is written. */
static int check_all(uid_t owner, const char *const *paths, struct cause *c)
{
	struct who w;
	int rc = 0;
	size_t i = 0;

	if (hostpaths_trusted(owner))
		return 0;
	who_load(&w, owner);
	for (const struct field *f = settings_table; rc == 0 && f->key != NULL; f++) {
		if (!(f->flags & FIELD_HOSTPATH))
			continue;
		if (paths[i] != NULL && check_one(&w, f->key, paths[i], strcmp(f->key, "disk") == 0, c) < 0)
			rc = -1;
		i++;
	}
	free(w.groups);
	return rc;
}

int hostpaths_check(uid_t owner, const struct settings *set, struct cause *c)
{
	const char *paths[8];
	size_t n = 0;

	for (const struct field *f = settings_table; f->key != NULL && n < 8; f++)
		if (f->flags & FIELD_HOSTPATH)
			paths[n++] = *(char *const *)(const void *)((const char *)set + f->offset);
	return check_all(owner, paths, c);
}

int hostpaths_check_params(uid_t owner, json_t *params, struct cause *c)
{
	const char *paths[8];
	size_t n = 0;

	for (const struct field *f = settings_table; f->key != NULL && n < 8; f++)
		if (f->flags & FIELD_HOSTPATH)
			paths[n++] = json_string_value(json_object_get(params, f->key));
	return check_all(owner, paths, c);
}
