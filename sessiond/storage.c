/*
 * storage.c — disks through libvirt's storage API (see storage.h).
 *
 * The scratch template is built once per size and shared by every
 * instance: "<prefix>-template-<N>g.qcow2".  It is built under a temporary
 * name and published by a rename, so a template that a crash interrupted
 * is never used: the sweep deletes "*.partial" leftovers.  Building is
 * serialized by a mutex, so two sessions starting at once never race on
 * it; after that, each instance costs one overlay (a few milliseconds).
 * When the pool is a directory on this host the rename is rename(2) plus
 * a pool refresh; otherwise (the test driver's pools live in memory and
 * cannot be torn by a crash) the template is created under its final name.
 * Where mkfs.ext4 and qemu-img exist, a template in a local directory is
 * formatted once, so every instance gets a ready filesystem for the cost
 * of an overlay.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/log.h"
#include "domxml.h"
#include "driver.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

struct storage {
	struct driver *drv;
	char prefix[16];                    /* "sd-1a2b3c4d" */
	char *pool;                         /* NULL until storage_init chooses */
	char *pool_path;                    /* its directory */
	bool path_strict;                   /* an existing pool must be over pool_path */
	double scratch_gib;
	pthread_mutex_t template_lock;
	bool template_ready;
	char template_path[4096];
};

struct storage *storage_new(struct driver *drv, const char *prefix, const char *pool,
			    const char *pool_path, bool path_strict, double scratch_gib)
{
	struct storage *st = calloc(1, sizeof *st);

	if (st == NULL || (st->pool_path = strdup(pool_path)) == NULL ||
	    (pool != NULL && (st->pool = strdup(pool)) == NULL))
		fatal("out of memory");
	st->drv = drv;
	snprintf(st->prefix, sizeof st->prefix, "%s", prefix);
	st->path_strict = path_strict;
	st->scratch_gib = scratch_gib;
	pthread_mutex_init(&st->template_lock, NULL);
	return st;
}

void storage_free(struct storage *st)
{
	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->template_lock);
	free(st->pool);
	free(st->pool_path);
	free(st);
}

const char *storage_pool(const struct storage *st)
{
	return st->pool;
}

bool storage_scratch_enabled(const struct storage *st)
{
	return st->scratch_gib > 0;
}

/* ---- the pool and who owns it ----------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *pool_field(json_t *p, const char *key)
{
	const char *v = json_string_value(json_object_get(p, key));

	return v != NULL ? v : "";
}

static json_t *pool_find(json_t *pools, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(pools, i, p) {
		if (strcmp(pool_field(p, "name"), name) == 0)
			return p;
	}
	return NULL;
}

/* A path as libvirt spells a pool's target: no "//", no trailing "/". */
static void path_clean(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < len; in++)
		if (!(*in == '/' && n > 0 && out[n - 1] == '/'))
			out[n++] = *in;
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
}

/* The same directory: the same clean path, or the same inode (a symlink). */
static bool same_dir(const char *a, const char *b)
{
	char ca[PATH_MAX], cb[PATH_MAX];
	struct stat sa, sb;

	if (a[0] == '\0' || b[0] == '\0')
		return false;
	path_clean(a, ca, sizeof ca);
	path_clean(b, cb, sizeof cb);
	if (strcmp(ca, cb) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* "sd-" and 8 hex digits: the pool of some sessiond's daemon id. */
static bool derived_name(const char *name)
{
	if (strlen(name) != 11 || strncmp(name, "sd-", 3) != 0)
		return false;
	for (int i = 3; i < 11; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

/* Whether pool holds a persistent disk of this daemon. */
static bool pool_has_own_disk(struct storage *st, const char *pool)
{
	json_t *names = NULL, *v;
	char pfx[32];
	struct cause e;
	bool found = false;
	size_t i;

	snprintf(pfx, sizeof pfx, "%s-", st->prefix);
	if (st->drv->ops->vol_list(st->drv, pool, pfx, &names, &e) < 0)
		return false;
	json_array_foreach(names, i, v) {
		if (ends_with(json_string_value(v), "-disk.qcow2"))
			found = true;
	}
	json_decref(names);
	return found;
}

/* No name configured: the daemon's own, its prefix "sd-<8 hex>" like its
 * domain names, so two daemons on one libvirtd never share a pool.  An
 * installation from before, when every daemon's pool was "sessiond",
 * keeps that pool while it is over this daemon's directory and holds its
 * disks (core.c records the choice in the state directory). */
static void pool_choose(struct storage *st, json_t *pools, const char *dir)
{
	json_t *legacy = pool_find(pools, STORAGE_LEGACY_POOL);
	const char *name = st->prefix;

	if (legacy != NULL && same_dir(pool_field(legacy, "path"), dir) &&
	    pool_has_own_disk(st, STORAGE_LEGACY_POOL))
		name = STORAGE_LEGACY_POOL;
	if ((st->pool = strdup(name)) == NULL)
		fatal("out of memory");
}

/* The pool of this daemon's name as libvirt has it: 0 use it, 1 make it
 * (it was not usable and is gone now), -1 refuse to start.  A transient
 * pool over another or a vanished directory is stale (a state directory
 * moved, a pool_path changed): replaced.  A defined one is somebody's
 * configuration: never used over another directory, never removed. */
static int pool_check(struct storage *st, json_t *p, const char *dir, struct cause *c)
{
	const char *path = pool_field(p, "path");
	struct stat sb;
	bool elsewhere = st->path_strict && !same_dir(path, dir);
	bool gone = path[0] != '\0' && stat(path, &sb) < 0;

	if (json_is_true(json_object_get(p, "persistent"))) {
		if (!elsewhere)
			return 0;
		/* The paths first: a cause is 512 bytes. */
		cause_set(c, 0, "storage pool '%s' is defined over %s, not over this daemon's %s: "
			  "refusing another directory's pool (undefine it, or configure that "
			  "pool_path or another pool)", st->pool, path, dir);
		return -1;
	}
	if (!elsewhere && !gone)
		return 0;
	log_warn("storage: replacing the transient pool %s: its target %s %s%s", st->pool,
		 path, gone ? "is gone" : "is not ", gone ? "" : dir);
	return st->drv->ops->pool_destroy(st->drv, st->pool, c) < 0 ? -1 : 1;
}

/* Before making the pool over dir: libvirt allows one pool per directory.
 * A transient one named as sessiond names pools was left by an earlier
 * daemon whose state directory was here (a reset state directory):
 * removed.  Any other is somebody's: refuse. */
static int dir_clear(struct storage *st, json_t *pools, const char *dir, struct cause *c)
{
	size_t i;
	json_t *p;

	json_array_foreach(pools, i, p) {
		const char *name = pool_field(p, "name");
		if (strcmp(name, st->pool) == 0 || !same_dir(pool_field(p, "path"), dir))
			continue;
		if (json_is_true(json_object_get(p, "persistent")) ||
		    !(derived_name(name) || strcmp(name, STORAGE_LEGACY_POOL) == 0)) {
			cause_set(c, 0, "storage pool '%s' already uses %s (set pool = %s in "
				  "sessiond.conf to use it, or remove it)", name, dir, name);
			return -1;
		}
		log_warn("storage: removing the transient pool %s over %s, left by an earlier "
			 "daemon", name, dir);
		if (st->drv->ops->pool_destroy(st->drv, name, c) < 0)
			return -1;
	}
	return 0;
}

int storage_init(struct storage *st, struct cause *c)
{
	char dir[PATH_MAX], *xml = NULL;
	json_t *pools = NULL, *mine;
	int rc = -1;

	if (mkdir_p(st->pool_path, 0711, c) < 0)
		return -1;
	if (realpath(st->pool_path, dir) == NULL) {
		cause_set(c, 0, "%s: %s", st->pool_path, strerror(errno));
		return -1;
	}
	if (st->drv->ops->pool_list(st->drv, &pools, c) < 0)
		return -1;
	if (st->pool == NULL)
		pool_choose(st, pools, dir);
	mine = pool_find(pools, st->pool);
	int state = mine != NULL ? pool_check(st, mine, dir, c) : 1;
	if (state < 0 || (state == 1 && dir_clear(st, pools, dir, c) < 0))
		goto out;
	if ((xml = domxml_pool_dir(st->pool, dir, c)) == NULL ||
	    st->drv->ops->pool_ensure(st->drv, st->pool, xml, c) < 0)
		goto out;
	/* A pool made anew has no template: look again at the next start. */
	pthread_mutex_lock(&st->template_lock);
	st->template_ready = false;
	pthread_mutex_unlock(&st->template_lock);
	log_info("storage: pool %s (%s)", st->pool, state == 1 ? dir : pool_field(mine, "path"));
	rc = 0;
out:
	free(xml);
	json_decref(pools);
	return rc;
}

static int vol_create(struct storage *st, const char *name, double bytes,
		      const char *backing, struct cause *c)
{
	char *xml = domxml_volume(name, bytes, backing, c);

	if (xml == NULL)
		return -1;
	int rc = st->drv->ops->vol_create(st->drv, st->pool, xml, c);
	free(xml);
	return rc;
}

/* ---- persistent disks ----------------------------------------------- */

void storage_disk_name(const struct storage *st, const char *session_id,
		       char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s-disk.qcow2", st->prefix, session_id);
}

int storage_disk_create(struct storage *st, const char *session_id, double gib,
			const char *existing, bool *created, struct cause *c)
{
	char name[256];
	struct stat sb;

	*created = false;
	if (existing != NULL && existing[0] == '/') {
		if (stat(existing, &sb) < 0) {
			cause_set(c, 0, "%s: %s", existing, strerror(errno));
			return -1;
		}
		if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
			cause_set(c, 0, "%s: not a file or block device", existing);
			return -1;
		}
		return 0;
	}
	if (existing != NULL) {
		int found = st->drv->ops->vol_lookup(st->drv, st->pool, existing, NULL, 0, c);
		if (found == 0)
			cause_set(c, 0, "volume '%s' not found in pool '%s'", existing, st->pool);
		return found == 1 ? 0 : -1;
	}
	storage_disk_name(st, session_id, name, sizeof name);
	if (vol_create(st, name, gib * GIB, NULL, c) < 0)
		return -1;
	*created = true;
	return 0;
}

int storage_disk_delete(struct storage *st, const char *session_id, struct cause *c)
{
	char name[256];

	storage_disk_name(st, session_id, name, sizeof name);
	return st->drv->ops->vol_delete(st->drv, st->pool, name, c);
}

/* ---- the scratch template ------------------------------------------- */

static void template_name(const struct storage *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s-template-%gg.qcow2", st->prefix, st->scratch_gib);
}

static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Optional: an ext4 filesystem in the template (raw mkfs, then qcow2). */
static void template_format(const char *path, double gib)
{
	char raw[4500], size[32];

	snprintf(raw, sizeof raw, "%s.raw", path);
	snprintf(size, sizeof size, "%.0f", gib * GIB);
	char *trunc[] = { "truncate", "-s", size, raw, NULL };
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1", "-L", "scratch", raw, NULL };
	char *conv[] = { "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "compat=1.1",
			 raw, (char *)path, NULL };
	if (run_quiet(trunc) == 0 && run_quiet(mkfs) == 0 && run_quiet(conv) == 0)
		log_info("storage: scratch template formatted as ext4");
	unlink(raw);
}

/* Builds the template under "<name>.partial" and renames it into place.
 * A pool whose volumes are no files on this host (the test driver keeps
 * them in memory) cannot be torn by a crash: create it under its name. */
static int template_build(struct storage *st, const char *name, struct cause *c)
{
	char partial[300], from[4096], to[4400];
	struct stat sb;

	snprintf(partial, sizeof partial, "%s.partial", name);
	st->drv->ops->vol_delete(st->drv, st->pool, partial, c);
	if (vol_create(st, partial, st->scratch_gib * GIB, NULL, c) < 0)
		return -1;
	if (st->drv->ops->vol_lookup(st->drv, st->pool, partial, from, sizeof from, c) != 1)
		return -1;
	if (from[0] != '/' || stat(from, &sb) < 0) {
		st->drv->ops->vol_delete(st->drv, st->pool, partial, c);
		return vol_create(st, name, st->scratch_gib * GIB, NULL, c);
	}
	template_format(from, st->scratch_gib);
	snprintf(to, sizeof to, "%.*s/%s", (int)(strrchr(from, '/') - from), from, name);
	if (rename(from, to) < 0) {
		cause_set(c, 0, "rename %s: %s", to, strerror(errno));
		return -1;
	}
	/* The pool learns of the rename when vol_lookup refreshes it. */
	return 0;
}

static int template_ensure(struct storage *st, struct cause *c)
{
	char name[256];
	int rc = 0;

	pthread_mutex_lock(&st->template_lock);
	if (st->template_ready)
		goto out;
	template_name(st, name, sizeof name);
	int found = st->drv->ops->vol_lookup(st->drv, st->pool, name, st->template_path,
					     sizeof st->template_path, c);
	if (found < 0 || (found == 0 && template_build(st, name, c) < 0)) {
		rc = -1;
		goto out;
	}
	if (found == 0 &&
	    st->drv->ops->vol_lookup(st->drv, st->pool, name, st->template_path,
				     sizeof st->template_path, c) != 1) {
		cause_set(c, 0, "template %s missing after it was built", name);
		rc = -1;
		goto out;
	}
	st->template_ready = true;
out:
	pthread_mutex_unlock(&st->template_lock);
	return rc;
}

int storage_scratch_create(struct storage *st, const struct instance *inst,
			   struct cause *c)
{
	if (!storage_scratch_enabled(st))
		return 1;
	if (template_ensure(st, c) < 0)
		return -1;
	return vol_create(st, inst->scratch, st->scratch_gib * GIB, st->template_path, c);
}

int storage_scratch_delete(struct storage *st, const struct instance *inst,
			   struct cause *c)
{
	if (!storage_scratch_enabled(st))
		return 0;
	return st->drv->ops->vol_delete(st->drv, st->pool, inst->scratch, c);
}

/* ---- boot overlays -------------------------------------------------- */

void storage_boot_name(const struct instance *inst, char *buf, size_t len)
{
	/* The scratch name with "boot" for "scratch": same prefix, same id. */
	size_t n = strlen(inst->scratch) - strlen("scratch.qcow2");
	snprintf(buf, len, "%.*sboot.qcow2", (int)n, inst->scratch);
}

int storage_boot_create(struct storage *st, const struct instance *inst,
			const char *image, struct cause *c)
{
	char name[INSTANCE_NAME_MAX];

	storage_boot_name(inst, name, sizeof name);
	/* 0 capacity: qemu-img takes the backing image's size. */
	return vol_create(st, name, 0, image, c);
}

int storage_boot_delete(struct storage *st, const struct instance *inst,
			struct cause *c)
{
	char name[INSTANCE_NAME_MAX];

	storage_boot_name(inst, name, sizeof name);
	return st->drv->ops->vol_delete(st->drv, st->pool, name, c);
}

/* ---- sweep ---------------------------------------------------------- */

static bool is_instance_volume(const char *name)
{
	return ends_with(name, "-scratch.qcow2") || ends_with(name, "-boot.qcow2");
}

static bool live_has(json_t *live, const char *name, size_t prefix_len)
{
	size_t i;
	json_t *v;

	json_array_foreach(live, i, v) {
		const char *id = json_string_value(v);
		if (id != NULL && strncmp(name + prefix_len, id, strlen(id)) == 0)
			return true;
	}
	return false;
}

int storage_instance_volumes(struct storage *st, json_t **names, struct cause *c)
{
	json_t *all = NULL;
	char pfx[32];
	size_t i;
	json_t *v;

	snprintf(pfx, sizeof pfx, "%s-", st->prefix);
	if (st->drv->ops->vol_list(st->drv, st->pool, pfx, &all, c) < 0)
		return -1;
	*names = json_array();
	json_array_foreach(all, i, v) {
		if (is_instance_volume(json_string_value(v)))
			json_array_append(*names, v);
	}
	json_decref(all);
	return 0;
}

int storage_sweep(struct storage *st, json_t *live, struct cause *c)
{
	json_t *all = NULL;
	char pfx[32];
	int deleted = 0;
	size_t i;
	json_t *v;

	snprintf(pfx, sizeof pfx, "%s-", st->prefix);
	if (st->drv->ops->vol_list(st->drv, st->pool, pfx, &all, c) < 0)
		return -1;
	json_array_foreach(all, i, v) {
		const char *name = json_string_value(v);
		bool stale = ends_with(name, ".partial") ||
			     (is_instance_volume(name) && !live_has(live, name, strlen(pfx)));
		if (!stale)
			continue;
		struct cause e;
		if (st->drv->ops->vol_delete(st->drv, st->pool, name, &e) == 0) {
			log_info("storage: removed stale volume %s", name);
			deleted++;
		} else {
			log_warn("storage: cannot remove stale volume %s: %s", name, e.msg);
		}
	}
	json_decref(all);
	return deleted;
}
