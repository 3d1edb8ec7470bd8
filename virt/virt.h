/*
 * virt.h — everything of sessiond that speaks to a hypervisor: the contract
 * of virt/.  It knows libvirt, libxml2 and files; it knows nothing of
 * sessions, instances or the wire protocol (names and ids come in as
 * strings, failures go out as causes).
 *
 *   virt.c     virt_*     the libvirt driver (the one place that calls libvirt)
 *   evthread.c evthread_* libvirt's event thread
 *   domxml.c   domxml_*   domain, volume and pool XML
 *   storage.c  storage_*  the pool, persistent disks, scratch and boot volumes
 *
 * 1. The driver: the seam between sessiond and the hypervisor.
 *
 * sessiond reaches VMs only through libvirt; virt.c implements
 * this interface with one libvirt connection.  The interface exists so the
 * race tests can wrap the real libvirt driver with delays and injected
 * crashes (tests/fault/fault_driver.c): the test build inserts that wrapper
 * between the core and virt.c, the release build never contains it.
 *
 * Every operation may block and is called on a worker thread (never on the
 * loop), except open/close/kind/uri.  Domains are named by their uuid,
 * which is the instance id.  Lifecycle events arrive on the driver's own
 * event thread through driver_events.lifecycle and must be handed off
 * quickly (see reconcile_vm_event() in session/).
 */
#ifndef SESSIOND_VIRT_H
#define SESSIOND_VIRT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/cause.h"

/* Lifecycle event kinds we act on (values of libvirt's
 * virDomainEventType, kept here so the core does not include libvirt). */
enum vm_event {
	VM_EVENT_DEFINED = 0,
	VM_EVENT_UNDEFINED = 1,
	VM_EVENT_STARTED = 2,
	VM_EVENT_SUSPENDED = 3,
	VM_EVENT_RESUMED = 4,
	VM_EVENT_STOPPED = 5,
	VM_EVENT_SHUTDOWN = 6,
	VM_EVENT_PMSUSPENDED = 7,
	VM_EVENT_CRASHED = 8,
};

/* virDomainEventStoppedDetailType */
enum vm_stop_detail {
	VM_STOPPED_SHUTDOWN = 0,
	VM_STOPPED_DESTROYED = 1,
	VM_STOPPED_CRASHED = 2,
	VM_STOPPED_MIGRATED = 3,
	VM_STOPPED_SAVED = 4,
	VM_STOPPED_FAILED = 5,
	VM_STOPPED_FROM_SNAPSHOT = 6,
};

enum vm_state { VM_GONE = 0, VM_RUNNING = 1 };

struct driver_events {
	/* Driver event thread.  uuid and name are valid during the call. */
	void (*lifecycle)(void *arg, const char *uuid, const char *name,
			  int event, int detail);
	/* Driver event thread: the connection to libvirt closed. */
	void (*disconnected)(void *arg, const char *why);
};

struct driver;

struct driver_ops {
	/* Loop thread, at start-up and on reconnect. */
	int (*open)(struct driver *d, struct cause *c);
	void (*close)(struct driver *d);
	const char *(*kind)(struct driver *d);      /* "TEST", "QEMU", ... */
	const char *(*uri)(struct driver *d);
	/* Can KVM guests run here (libvirt's domain capabilities)?  Blocks. */
	bool (*kvm_usable)(struct driver *d);

	/* Worker threads. */
	int (*domain_start)(struct driver *d, const char *xml, struct cause *c);
	/* 1: already gone; 0: shutdown requested; -1: error */
	int (*domain_shutdown)(struct driver *d, const char *uuid, struct cause *c);
	/* 0: destroyed or already gone; -1: error */
	int (*domain_destroy)(struct driver *d, const char *uuid, struct cause *c);
	/* VM_RUNNING, VM_GONE, or -1 on error */
	int (*domain_state)(struct driver *d, const char *uuid, struct cause *c);
	int (*domain_info)(struct driver *d, const char *uuid, json_t **out,
			   struct cause *c);
	/* The resident set of the process that runs the domain (for QEMU, the
	 * QEMU process as libvirt reads it from /proc), in bytes: 1 known,
	 * 0 the hypervisor does not say (c says why), -1 error. */
	int (*domain_rss)(struct driver *d, const char *uuid, uint64_t *bytes,
			  struct cause *c);
	/* Active domains whose name starts with prefix: a JSON array of
	 * {"name","uuid"}. */
	int (*domain_list)(struct driver *d, const char *prefix, json_t **out,
			   struct cause *c);

	/* The pool called name, active and refreshed; created (transient)
	 * from xml when missing (xml NULL: it must exist). */
	int (*pool_ensure)(struct driver *d, const char *name, const char *xml,
			   struct cause *c);
	/* Every storage pool: a JSON array of {"name", "path" (its target,
	 * "" when it has none), "persistent", "active"}. */
	int (*pool_list)(struct driver *d, json_t **out, struct cause *c);
	/* Stops the pool called name; a transient one is gone after it.
	 * 0: stopped or already gone. */
	int (*pool_destroy)(struct driver *d, const char *name, struct cause *c);
	int (*vol_create)(struct driver *d, const char *pool, const char *xml,
			  struct cause *c);
	/* 0: deleted or already gone */
	int (*vol_delete)(struct driver *d, const char *pool, const char *name,
			  struct cause *c);
	/* 1 exists (path filled), 0 missing, -1 error */
	int (*vol_lookup)(struct driver *d, const char *pool, const char *name,
			  char *path, size_t pathlen, struct cause *c);
	/* Volume names starting with prefix: a JSON array of strings. */
	int (*vol_list)(struct driver *d, const char *pool, const char *prefix,
			json_t **out, struct cause *c);

	/* Memory tiers (session/tiers.c), worker threads.
	 *
	 * Saves the running domain's memory and device state to path on the
	 * hypervisor host (virDomainSaveFlags) and chmods the file 0600: the
	 * domain is gone after (a STOPPED/SAVED event), its disks untouched.
	 * A failed save leaves the domain as it was. */
	int (*domain_save)(struct driver *d, const char *uuid, const char *path,
			   struct cause *c);
	/* A domain again, running, from the image at path
	 * (virDomainRestoreFlags); the image stays.  -1 for a missing,
	 * truncated or corrupt image, or a domain of that uuid that exists. */
	int (*domain_restore)(struct driver *d, const char *path, struct cause *c);
	/* A memory image file on the hypervisor host: 1 it exists (size and
	 * modification time, wall clock), 0 missing, -1 error. */
	int (*image_stat)(struct driver *d, const char *path, double *bytes, double *mtime,
			  struct cause *c);
	/* 0: deleted or already gone. */
	int (*image_delete)(struct driver *d, const char *path, struct cause *c);
	/* File names in dir that start with prefix: a JSON array of strings. */
	int (*image_list)(struct driver *d, const char *dir, const char *prefix, json_t **out,
			  struct cause *c);
	/* Can this host's QEMU report free guest pages back (virtio-balloon
	 * free-page-reporting)?  Asked of QEMU itself once (the emulator of
	 * libvirt's domain capabilities), then remembered; false on the test
	 * driver and on remote hosts.  Blocks. */
	bool (*balloon_reporting)(struct driver *d);
	/* The host's memory in MiB (libvirt's node info). */
	int (*node_memory)(struct driver *d, double *mib, struct cause *c);
};

struct driver {
	const struct driver_ops *ops;
	const struct driver_events *events;
	void *events_arg;
	void *priv;
};

/* The libvirt driver (virt.c). */
struct driver *virt_driver_new(const char *uri);
void virt_driver_free(struct driver *d);
/* From the next open: a connection that does not answer for about
 * seconds is closed (libvirt's keepalive; disconnected() follows). */
void virt_driver_set_keepalive(struct driver *d, double seconds);

const char *virt_event_name(int event);
const char *virt_stop_detail_name(int detail);

/* Inside virt/ only (evthread.c): libvirt's event thread.  get registers
 * the event implementation (once) and starts the thread for the first
 * user; put stops it after the last; barrier returns once a callback that
 * runs on it now has finished. */
void evthread_get(void);
void evthread_put(void);
void evthread_barrier(void);


/* ---- 2. XML (domxml.c) ----------------------------------------------------
 *
 * libvirt XML for domains, volumes and pools, built with libxml2's tree
 * API so every user-supplied string (session name, kernel path, command
 * line) is escaped by the serializer, never pasted.  The domain fits the
 * connection's driver: the test driver gets <domain type='test'> and
 * nothing hypervisor-specific; QEMU gets the resolved virt type (kvm or
 * qemu), direct kernel boot or a boot disk, the serial console in a log
 * file, and no graphics.
 */

struct vm_spec {
	bool test_driver;                   /* virConnectGetType() == "TEST" */
	const char *virt_type;              /* "kvm" or "qemu" (QEMU only) */
	const char *name, *uuid;            /* domain name, instance id */
	const char *session_name, *session_id;
	uid_t owner;
	unsigned memory_mib, vcpus;
	const char *kernel, *initrd, *cmdline;
	const char *pool;
	const char *boot_vol;               /* overlay of the base image, or NULL */
	const char *disk_vol;               /* persistent disk volume, or NULL */
	const char *disk_path;              /* persistent disk outside the pool, or NULL */
	const char *scratch_vol;            /* per-instance scratch, or NULL */
	const char *console_log;            /* serial console file, or NULL */
	bool free_page_reporting;           /* virtio balloon reports free pages (QEMU) */
	bool quick_cpu_probe;               /* sessiond.conf cpu_probe = quick (QEMU) */
};

/* Each returns a malloc'd NUL-terminated document, or NULL with a cause. */
char *domxml_domain(const struct vm_spec *s, struct cause *c);
/* A qcow2 v3 volume; backing_path NULL for a plain one. */
char *domxml_volume(const char *name, double capacity_bytes,
		    const char *backing_path, struct cause *c);
char *domxml_pool_dir(const char *name, const char *path, struct cause *c);
/* The <target><path> of a pool's XML (malloc'd), or NULL. */
char *domxml_pool_target_path(const char *xml);
/* The emulator <path> of domain capabilities XML (malloc'd), or NULL. */
char *domxml_caps_emulator(const char *xml);
/* Whether the host CPU of libvirt's capabilities XML (virConnectGetCapabilities)
 * lists vmx or svm: the hardware virtualization a KVM guest needs. */
bool domxml_caps_hw_virt(const char *xml);
/* The balloon of a domain's XML: {"model", "free_page_reporting",
 * "stats_period_s"}, or NULL without a <memballoon>. */
json_t *domxml_balloon(const char *xml);
/* Seconds between the balloon's memory statistics (QEMU domains). */
#define DOMXML_BALLOON_STATS_S 2


/* ---- 3. storage (storage.c) -----------------------------------------------
 *
 * The disks of sessions and instances, all through libvirt's storage API
 * (so the same code runs on the test driver, in memory):
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
 * All functions but storage_new/free/pool/enabled block: call them on a
 * worker.
 */

struct storage;

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

/* Scratch overlay "<daemon prefix>-<instance id>-scratch.qcow2"; 0 on
 * success, -1 (with a cause) when the VM must start without one.  No-op
 * returning 1 when scratch is off. */
int storage_scratch_create(struct storage *st, const char *scratch, struct cause *c);
int storage_scratch_delete(struct storage *st, const char *scratch, struct cause *c);
bool storage_scratch_enabled(const struct storage *st);

/* The boot overlay's name: the scratch name with "boot" for "scratch". */
void storage_boot_name(const char *scratch, char *buf, size_t len);
int storage_boot_create(struct storage *st, const char *scratch, const char *image,
			struct cause *c);
int storage_boot_delete(struct storage *st, const char *scratch, struct cause *c);

/* Deletes scratch and boot volumes of this daemon whose instance id is not
 * in live (a JSON array of ids), and unfinished templates.  Returns the
 * number deleted. */
int storage_sweep(struct storage *st, json_t *live, struct cause *c);
/* Volumes of this daemon's instances (scratch + boot): stress invariants. */
int storage_instance_volumes(struct storage *st, json_t **names, struct cause *c);

#endif
