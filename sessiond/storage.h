/*
 * storage.h — the disks of sessions and instances, all through libvirt's
 * storage API (so the same code runs on the test driver, in memory).
 *
 *  - one pool: a dir pool under the state directory unless configured,
 *    named after the daemon ("sd-<8 hex>", like its domains);
 *  - a persistent disk per session: <prefix>-<session id>-disk.qcow2,
 *    created (or an existing one validated) at session.create, attached
 *    to every instance, removed with the session unless kept;
 *  - a scratch disk per instance: <prefix>-<instance id>-scratch.qcow2, a
 *    qcow2 overlay over a template built once per size; its name is
 *    derived from the instance id, so deleting it is idempotent and a
 *    sweep can find the stale ones;
 *  - a boot overlay per instance when the session boots from an image.
 *
 * All functions but storage_new/free block: call them on a worker.
 */
#ifndef SESSIOND_STORAGE_H
#define SESSIOND_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/cause.h"
#include "../lease/lease.h"

struct driver;
struct storage;

/* The pool every daemon used before pools were named after the daemon. */
#define STORAGE_LEGACY_POOL "sessiond"

/* pool: the pool's name, or NULL for the daemon's own (chosen by the first
 * storage_init).  pool_path: the directory of the pool; path_strict: an
 * existing pool of that name must be over it (false: a configured pool is
 * used wherever it is). */
struct storage *storage_new(struct driver *drv, const char *prefix, const char *pool,
			    const char *pool_path, bool path_strict, double scratch_gib);
void storage_free(struct storage *st);
/* NULL before the first storage_init. */
const char *storage_pool(const struct storage *st);

/* Makes the pool usable (at start and after a reconnect): chooses its name
 * the first time; makes sure a pool of that name is over pool_path (a
 * stale transient one is replaced, a defined one elsewhere is an error);
 * creates it (transient) when missing, starts it when inactive. */
int storage_init(struct storage *st, struct cause *c);

void storage_disk_name(const struct storage *st, const char *session_id,
		       char *buf, size_t len);
/* Creates the session's persistent disk (qcow2 v3, gib), or validates an
 * existing volume name or path given as existing (created stays false). */
int storage_disk_create(struct storage *st, const char *session_id, double gib,
			const char *existing, bool *created, struct cause *c);
int storage_disk_delete(struct storage *st, const char *session_id, struct cause *c);

/* Scratch overlay for an instance; 0 on success, -1 (with a cause) when
 * the VM must start without one.  No-op returning 1 when scratch is off. */
int storage_scratch_create(struct storage *st, const struct instance *inst,
			   struct cause *c);
int storage_scratch_delete(struct storage *st, const struct instance *inst,
			   struct cause *c);
bool storage_scratch_enabled(const struct storage *st);

void storage_boot_name(const struct instance *inst, char *buf, size_t len);
int storage_boot_create(struct storage *st, const struct instance *inst,
			const char *image, struct cause *c);
int storage_boot_delete(struct storage *st, const struct instance *inst,
			struct cause *c);

/* Deletes scratch and boot volumes of this daemon whose instance id is not
 * in live (a JSON array of ids), and unfinished templates.  Returns the
 * number deleted. */
int storage_sweep(struct storage *st, json_t *live, struct cause *c);
/* Volumes of this daemon's instances (scratch + boot): stress invariants. */
int storage_instance_volumes(struct storage *st, json_t **names, struct cause *c);

#endif
