/*
 * driver.h — the seam between sessiond and the hypervisor.
 *
 * sessiond reaches VMs only through libvirt; sessiond/virt.c implements
 * this interface with one libvirt connection.  The interface exists so the
 * race tests can wrap the real libvirt driver with delays and injected
 * crashes (tests/fault/fault_driver.c): the test build inserts that wrapper
 * between the core and virt.c, the release build never contains it.
 *
 * Every operation may block and is called on a worker thread (never on the
 * loop), except open/close/kind/uri.  Domains are named by their uuid,
 * which is the instance id.  Lifecycle events arrive on the driver's own
 * event thread through driver_events.lifecycle and must be handed off
 * quickly (see session_vm_event()).
 */
#ifndef SESSIOND_DRIVER_H
#define SESSIOND_DRIVER_H

#include <jansson.h>
#include <stdbool.h>

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
};

struct driver {
	const struct driver_ops *ops;
	const struct driver_events *events;
	void *events_arg;
	void *priv;
};

/* The libvirt driver (sessiond/virt.c). */
struct driver *virt_driver_new(const char *uri);
void virt_driver_free(struct driver *d);

const char *vm_event_name(int event);
const char *vm_stop_detail_name(int detail);

#endif
