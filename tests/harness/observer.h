/*
 * observer.h — a daemon's VMs as libvirt shows them, for the race tests.
 *
 * The observer has a libvirt connection of its own (never the daemon's):
 * it receives the lifecycle events of every domain whose name carries the
 * daemon's prefix and lists the daemon's pool every poll_ms on a thread of
 * its own.  It keeps, per instance (the uuid in a domain's name
 * "<prefix>-<session id 8 hex>-<uuid>" and in a scratch volume's name
 * "<prefix>-<uuid>-scratch.qcow2"), what it saw: STARTED and STOPPED
 * events, and whether the scratch volume was listed, then gone, then
 * listed again.  It counts nothing the daemon counts, so a test can check
 * teardowns against it: each domain started and stopped once per life
 * (a boot or a restore, then its end or its save), each scratch volume
 * gone for good, nothing of the daemon's left.
 *
 * Memory tiers: when told the daemon's image directory, the poller also
 * lists the image files there ("<prefix>-<uuid>-<n>.save"), each by its
 * name: seen, then gone, and never back once gone (an image is deleted
 * once; a new save makes a new name).
 *
 * It does not list domains on its poller: listing walks libvirt's domain
 * objects, whose lifetime libvirt orders with atomics ThreadSanitizer
 * cannot see, and under make check-tsan that was reported as a race
 * between two libvirt functions without a name (no suppression can match
 * it; see tests/tsan.supp).
 *
 * Events need libvirt's event loop: a process that runs one already (the
 * daemon's core does, sessiond/virt.c) passes event_thread false and must
 * free the observer only after that loop has stopped; otherwise the
 * observer registers libvirt's default loop and runs it on its own thread
 * (before it opens its connection, as libvirt wants).
 *
 * For test:///default the observer is a second connection to the state
 * the daemon's connection shares in this process (and keeps it alive);
 * for test+unix:// or qemu:// a second client of the same libvirtd.
 */
#ifndef SESSIOND_OBSERVER_H
#define SESSIOND_OBSERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct observer_opts {
	const char *uri;                    /* the daemon's libvirt URI */
	const char *pool;                   /* the daemon's storage pool */
	const char *const *pools;           /* or several (NULL-terminated; hosts
					     * on one test:///default) */
	const char *prefix;                 /* the daemon's prefix, "sd-1a2b3c4d" */
	bool event_thread;                  /* run libvirt's event loop here */
	const char *image_dir;              /* memory images (tiers); NULL: none */
	int poll_ms;                        /* pause between two listings */
	bool pool_may_be_missing;           /* no such pool lists as empty (a
					     * host that is back, before the
					     * daemon made its pool there) */
};

/* What the observer saw of one instance. */
struct observer_inst {
	char id[37];                        /* the instance uuid */
	char session[16];                   /* session id part of its domain name */
	int started, stopped;               /* lifecycle events of its domain */
	bool vol_seen;                      /* its scratch volume was listed */
	bool vol_gone;                      /* ... and later not */
	bool vol_back;                      /* ... and later listed again */
	int images_seen;                    /* memory image names listed */
	int images_back;                    /* ... listed again after they were gone */
};

struct observer;

/* NULL with a reason in err when the connection or the event callback
 * cannot be set up. */
struct observer *observer_new(const struct observer_opts *o, char *err, size_t errlen);
void observer_free(struct observer *ob);

/* Lists the pool now (the poller does it every poll_ms too); -1 with the
 * error kept for observer_health() when listing fails. */
int observer_poll(struct observer *ob);
/* True when every domain seen starting was seen stopping. */
bool observer_all_stopped(struct observer *ob);
/* Calls fn for every instance record, under the observer's lock (fn must
 * not call the observer). */
void observer_foreach(struct observer *ob, void (*fn)(const struct observer_inst *, void *),
		      void *arg);
/* Forgets every record: a checkpoint after which nothing of the old
 * instances may happen again. */
void observer_reset(struct observer *ob);
/* Lists, now, the domains (any state), the instance volumes
 * ("-scratch.qcow2", "-boot.qcow2") and the memory images that carry the
 * daemon's prefix: *names is a new array of names.  -1 when libvirt
 * cannot list them. */
int observer_leftovers(struct observer *ob, json_t **names);
/* Events received, listings made, listings failed; why (if not NULL)
 * gets the last libvirt error. */
void observer_health(struct observer *ob, long *events, long *polls, long *poll_errors,
		     char *why, size_t len);

#endif
