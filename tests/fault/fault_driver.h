/*
 * fault_driver.h — the fault-injection seam of the race tests.
 *
 * A struct driver (sessiond/driver.h) that wraps the real libvirt driver
 * and forwards every call to it, adding, at random with the given
 * probabilities: delays before and after create, shutdown, destroy and
 * lookups; failed starts (an error as libvirt would give); crashes during
 * a start (the domain is destroyed behind the daemon's back right after
 * libvirt created it, before the start job returns); crashes during a
 * stop; failed saves and restores (memory tiers), a crash during a save
 * (the domain destroyed just before libvirt saves it, so the save fails as
 * it would) and during a restore (destroyed right after libvirt restored
 * it); and delays in event delivery (the libvirt event thread sleeps
 * before handing an event on).  Not at random: a fixed delay in every
 * domain_start (slow boots, for the fairness tests).  Crashes are real: the wrapped driver
 * destroys the domain, libvirt emits a real STOPPED/DESTROYED event.
 *
 * It also keeps a ledger: per domain uuid, per volume name and per memory
 * image path, how often the core asked for each operation and how often it
 * succeeded.  The
 * ledger is the seam's own record, kept where the calls leave the core,
 * so a test can count teardowns without trusting the core's counters (a
 * cleanup run twice destroys a domain and deletes a volume twice, even if
 * every later call is a no-op in libvirt).  Calls the seam makes itself
 * (crashes) are not the core's and are not in it.
 *
 * Several hosts in one process: libvirt's test:///default is one state
 * per process, so every host's seam sees every domain.  A partitioned
 * seam plays one host of its own: it lists only the domains it started
 * and hands on only their events, as a second libvirtd would (each host
 * also gets a pool of its own, see tests/harness).  And a host can go
 * away: fault_driver_host_down() closes the seam's "connection" (every
 * call fails, events are lost, disconnected() is told) and refuses to
 * open again until fault_driver_host_up(); the domains stay as they are,
 * so an outside kill meanwhile is what the core must find when it
 * reconnects.
 *
 * Test-only: it lives in tests/ and is linked into test programs only; the
 * daemon binary never contains it.
 */
#ifndef SESSIOND_FAULT_DRIVER_H
#define SESSIOND_FAULT_DRIVER_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../../virt/virt.h"

struct fault_cfg {
	unsigned seed;
	double p_start_fail;                /* domain_start returns an error */
	double p_crash_in_start;            /* destroyed right after create */
	double p_crash_in_stop;             /* destroyed while shutdown runs */
	double p_vol_fail;                  /* vol_create fails (scratch fallback) */
	double p_save_fail;                 /* domain_save returns an error */
	double p_crash_in_save;             /* destroyed just before the save */
	double p_restore_fail;              /* domain_restore returns an error */
	double p_crash_in_restore;          /* destroyed right after the restore */
	int max_op_delay_us;                /* random delay around each op */
	int max_event_delay_us;             /* random delay before an event */
	int start_delay_us;                 /* every domain_start takes this long (a slow boot) */
};

struct fault_stats {
	_Atomic long starts, start_fails, crashes_in_start, crashes_in_stop;
	_Atomic long outside_crashes, vol_fails, events;
	_Atomic long saves, save_fails, crashes_in_save;
	_Atomic long restores, restore_fails, crashes_in_restore;
	_Atomic long host_downs, calls_refused, events_lost, opens;
};

/* The ledger's kinds: the key is the domain uuid or the volume name. */
enum fault_call {
	FC_DOMAIN_START,                    /* domain_start asked */
	FC_DOMAIN_STARTED,                  /* ... and the domain was made */
	FC_DOMAIN_DESTROYED,                /* domain_destroy answered 0 */
	FC_VOL_CREATE,                      /* vol_create asked */
	FC_VOL_CREATED,                     /* ... and the volume was made */
	FC_VOL_DELETED,                     /* vol_delete answered 0 */
	FC_DOMAIN_SAVED,                    /* domain_save answered 0 (key: image path) */
	FC_DOMAIN_RESTORED,                 /* domain_restore answered 0 (key: image path) */
	FC_IMAGE_DELETED,                   /* image_delete answered 0 (key: image path) */
	FC__COUNT
};

struct driver *fault_driver_new(struct driver *inner, const struct fault_cfg *cfg);
void fault_driver_free(struct driver *d);
struct fault_stats *fault_driver_stats(struct driver *d);
/* Changes probabilities at run time (tests switch faults on and off). */
void fault_driver_set(struct driver *d, const struct fault_cfg *cfg);
/* Fails the next n domain_start calls deterministically. */
void fault_driver_fail_starts(struct driver *d, int n);
/* Fails the next n domain_save / domain_restore calls deterministically. */
void fault_driver_fail_saves(struct driver *d, int n);
void fault_driver_fail_restores(struct driver *d, int n);
/* Destroys a domain behind the daemon's back (an outside crash); any
 * thread.  Returns 0 if it was destroyed. */
int fault_driver_crash(struct driver *d, const char *uuid);
/* A copy of the ledger: {"<kind name>": {"<key>": count, ...}, ...} with
 * every kind present; the caller owns it. */
json_t *fault_driver_ledger(struct driver *d);
void fault_driver_ledger_clear(struct driver *d);
/* The uuids of the domains domain_start was asked for, in the order the
 * calls came (a copy; the caller owns it).  Cleared with the ledger. */
json_t *fault_driver_start_order(struct driver *d);
const char *fault_call_name(enum fault_call k);
/* Instance volumes ("...-scratch.qcow2", "...-boot.qcow2") and memory
 * images deleted and domains destroyed more than once so far: how many,
 * and the first in why.  A teardown runs once; these calls belong to it
 * alone. */
int fault_driver_repeats(struct driver *d, char *why, size_t len);
/* Plays a host of its own on a shared test:///default (see above). */
void fault_driver_partition(struct driver *d);
/* The host goes away (any thread): calls fail, events are lost, the
 * core is told; opens fail until fault_driver_host_up(). */
void fault_driver_host_down(struct driver *d, const char *why);
void fault_driver_host_up(struct driver *d);
/* Opened since the last host_down (the core reconnected). */
bool fault_driver_connected(struct driver *d);
/* Destroys, behind the core's back, one running domain of those this
 * (partitioned) host started: an outside crash there, also while the
 * host is away.  0 if one was destroyed (its uuid in uuid, 37 bytes). */
int fault_driver_crash_one(struct driver *d, unsigned pick, char *uuid);
/* Running domains this (partitioned) host started, as libvirt lists them
 * (whatever the host's connection). */
int fault_driver_running(struct driver *d);

#endif
