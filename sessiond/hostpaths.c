/*
 * hostpaths.c — may a caller hand these host files to a VM?
 *
 * A session's "disk" (an absolute path is the VM's disk as it is),
 * "image" (a base image the instance boots from), "kernel" and "initrd"
 * are opened by libvirt on the daemon's behalf, with the daemon's rights
 * (root, or the user of a per-user daemon).  A caller who is neither may
 * name only files it could use itself: after symlinks are resolved, every
 * directory on the way must be searchable and the file readable (and for
 * "disk" writable) by the caller, with the kernel's rule: the owner bits
 * if the caller owns it, else the group bits if the file's group is one
 * of the caller's, else the "other" bits.  The caller's groups are those
 * of the user database (primary and supplementary, getgrouplist(3)), not
 * of the connecting process: SO_PEERCRED gives no supplementary groups,
 * and a session outlives the connection that created it.  A "disk" without
 * a slash names a volume of the daemon's pool, where other users' disks
 * live: only a trusted caller may name one.
 *
 * The rule is about the session's owner (root creating a session for a
 * user may not name files that user could not use either), and it is
 * checked twice: at session.create, and again by each start (a file the
 * owner swapped for a symlink since is caught then).
 */
#include "session.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../rpc/sessiond-protocol.h"

/* Who the check is for: a uid and its groups from the user database. */
struct who {
	uid_t uid;
	gid_t *groups;
	int ngroups;
};

static void who_load(struct who *w, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = 32;

	w->uid = uid;
	w->groups = NULL;
	w->ngroups = 0;
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return;                     /* no such user: no groups */
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(w->groups, (size_t)n * sizeof *g);

		if (g == NULL)
			fatal("out of memory");
		w->groups = g;
		int want = n;
		if (getgrouplist(pw.pw_name, pw.pw_gid, w->groups, &want) >= 0) {
			w->ngroups = want;
			return;
		}
		n = want > n ? want : n * 2;    /* too small: want says how many */
	}
}

static bool who_in_group(const struct who *w, gid_t gid)
{
	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i] == gid)
			return true;
	return false;
}

/* bits: the permission wanted, as owner bits (S_IRUSR, S_IWUSR, S_IXUSR). */
static bool caller_may(const struct stat *st, const struct who *w, mode_t bits)
{
	if (st->st_uid == w->uid)
		return (st->st_mode & bits) == bits;
	if (who_in_group(w, st->st_gid))
		return (st->st_mode & (bits >> 3)) == (bits >> 3);
	return (st->st_mode & (bits >> 6)) == (bits >> 6);
}

static int check_one(const struct who *w, const char *key, const char *path, bool write,
		     struct cause *c)
{
	char real[PATH_MAX];
	struct stat st;

	if (path[0] != '/') {
		cause_set(c, RPC_ERR_FORBIDDEN, "forbidden: %s: '%s' names a pool volume; "
			  "only root may name one (give an absolute path to a file you own)", key, path);
		return -1;
	}
	if (realpath(path, real) == NULL) {
		cause_set(c, RPC_ERR_INVALID_PARAMS, "invalid params: %s: %s: %s", key, path,
			  strerror(errno));
		return -1;
	}
	/* Every directory from / down must let the caller through. */
	for (char *p = real + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;
		*p = '\0';
		int rc = stat(real, &st);
		*p = save;
		if (rc < 0 || (save == '/' && !S_ISDIR(st.st_mode)))
			goto denied;
		if (save == '\0')
			break;
		if (!caller_may(&st, w, S_IXUSR))
			goto denied;
	}
	if (!(S_ISREG(st.st_mode) || (write && S_ISBLK(st.st_mode))))
		goto denied;
	if (!caller_may(&st, w, write ? S_IRUSR | S_IWUSR : S_IRUSR))
		goto denied;
	return 0;
denied:
	cause_set(c, RPC_ERR_FORBIDDEN, "forbidden: %s: uid %u may not %s '%s'", key,
		  (unsigned)w->uid, write ? "read and write" : "read", path);
	return -1;
}

bool caller_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int check_owner_paths(uid_t owner, const char *disk, const char *image, const char *kernel,
		      const char *initrd, struct cause *c)
{
	struct who w;
	int rc = 0;

	if (caller_trusted(owner))
		return 0;
	if (disk == NULL && image == NULL && kernel == NULL && initrd == NULL)
		return 0;
	who_load(&w, owner);
	if ((disk != NULL && check_one(&w, "disk", disk, true, c) < 0) ||
	    (image != NULL && check_one(&w, "image", image, false, c) < 0) ||
	    (kernel != NULL && check_one(&w, "kernel", kernel, false, c) < 0) ||
	    (initrd != NULL && check_one(&w, "initrd", initrd, false, c) < 0))
		rc = -1;
	free(w.groups);
	return rc;
}
