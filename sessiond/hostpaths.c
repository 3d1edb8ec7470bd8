/*
 * hostpaths.c — may a caller hand these host files to a VM?
 *
 * A session's "disk" (an absolute path is the VM's disk as it is),
 * "image" (a base image the instance boots from), "kernel" and "initrd"
 * are opened by libvirt on the daemon's behalf, with the daemon's rights
 * (root, or the user of a per-user daemon).  A caller who is neither may
 * name only files it could use itself: after symlinks are resolved, every
 * directory on the way must be searchable and the file readable (and for
 * "disk" writable) by the caller through the owner or "other" permission
 * bits.  Group permissions are not honoured: SO_PEERCRED gives no
 * supplementary groups.  A "disk" without a slash names a volume of the
 * daemon's pool, where other users' disks live: only a trusted caller may
 * name one.
 *
 * The rule is about the session's owner (root creating a session for a
 * user may not name files that user could not use either), and it is
 * checked twice: at session.create, and again by each start (a file the
 * owner swapped for a symlink since is caught then).
 */
#include "session.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../rpc/sessiond-protocol.h"

static bool caller_may(const struct stat *st, uid_t caller, mode_t user_bits, mode_t other_bits)
{
	if (st->st_uid == caller)
		return (st->st_mode & user_bits) == user_bits;
	return (st->st_mode & other_bits) == other_bits;
}

static int check_one(uid_t caller, const char *key, const char *path, bool write,
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
		if (!caller_may(&st, caller, S_IXUSR, S_IXOTH))
			goto denied;
	}
	if (!(S_ISREG(st.st_mode) || (write && S_ISBLK(st.st_mode))))
		goto denied;
	if (!caller_may(&st, caller, write ? S_IRUSR | S_IWUSR : S_IRUSR,
			write ? S_IROTH | S_IWOTH : S_IROTH))
		goto denied;
	return 0;
denied:
	cause_set(c, RPC_ERR_FORBIDDEN, "forbidden: %s: uid %u may not %s '%s'", key,
		  (unsigned)caller, write ? "read and write" : "read", path);
	return -1;
}

bool caller_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int check_owner_paths(uid_t owner, const char *disk, const char *image, const char *kernel,
		      const char *initrd, struct cause *c)
{
	if (caller_trusted(owner))
		return 0;
	if ((disk != NULL && check_one(owner, "disk", disk, true, c) < 0) ||
	    (image != NULL && check_one(owner, "image", image, false, c) < 0) ||
	    (kernel != NULL && check_one(owner, "kernel", kernel, false, c) < 0) ||
	    (initrd != NULL && check_one(owner, "initrd", initrd, false, c) < 0))
		return -1;
	return 0;
}
