/*
 * harness.h — an in-process sessiond core for tests and the stress run.
 *
 * Real components: libevent loop, the real core, libvirt's embedded test
 * driver (test:///default), optionally wrapped by the fault seam
 * (tests/fault/fault_driver.h).  The harness keeps its own libvirt
 * connection open ("outside"), which both keeps the embedded driver's
 * state alive across a simulated daemon restart and lets tests look at
 * libvirt the way an outside observer would.
 *
 * Several hosts: nhosts > 1 makes hosts "h0", "h1", ... on the same URI,
 * each with a driver of its own wrapped in a partitioned fault seam (one
 * host's domains and events each, see fault_driver.h) and a pool of its
 * own ("hpool0", ...), so the core sees separate hypervisors.
 */
#ifndef SESSIOND_HARNESS_H
#define SESSIOND_HARNESS_H

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "../../daemon/daemon.h"
#include "../../session/session.h"
#include "../../session/session.h"
#include "../fault/fault_driver.h"

#define HARNESS_HOSTS_MAX 8

struct harness_opts {
	const char *uri;                    /* default test:///default */
	bool fault;                         /* wrap the driver with the fault seam */
	struct fault_cfg fcfg;
	double scratch_gib;                 /* 0: 1 GiB; negative: no scratch */
	bool record_events;                 /* keep every session.event in h->events */
	const char *tmp;                    /* where the state directory goes; default /tmp
					     * (/dev/shm: a memory file system, no disk writes) */
	int nhosts;                         /* 0 or 1: the one host "local" */
	double host_memory_mib;             /* each host's capacity; 0: no limit */
	double host_wait_s;                 /* 0: the default */
	const char *const *conf;            /* sessiond.conf keys and values, in pairs,
					     * NULL-terminated: set before the core starts */
};

struct harness {
	struct event_base *base;
	struct config cfg;
	struct driver *virt, *drv;          /* host 0's (in the configuration's order) */
	int nhosts;
	struct driver *virts[HARNESS_HOSTS_MAX], *drvs[HARNESS_HOSTS_MAX];
	struct core *core;
	virConnectPtr outside;
	char dir[256];
	struct harness_opts opts;
	json_t *events;                     /* recorded notifications */
	long nevents;
	void (*on_event)(struct harness *h, struct session *s, json_t *params);
	void *user;
};

struct harness *harness_new(const struct harness_opts *o);
void harness_free(struct harness *h);
/* Simulates a daemon restart: frees the core (VMs stay up) and loads a
 * new one from the same state directory, then waits for the load. */
void harness_restart(struct harness *h);
/* Starts a core again after the test freed it (core_free, h->core = NULL)
 * and changed what it finds: 0, or -1 with c when core_new refused. */
int harness_start(struct harness *h, struct cause *c);
/* Runs the loop until pred() or timeout seconds; returns pred()'s value. */
bool harness_wait(struct harness *h, double timeout, bool (*pred)(struct harness *, void *),
		  void *arg);
/* Runs the loop for a while (for "nothing happens" checks). */
void harness_spin(struct harness *h, double seconds);
/* Creates a session (params borrowed, may be NULL); NULL with err on failure. */
struct session *harness_create(struct harness *h, const char *name, json_t *params,
			       struct cause *err);
/* The same for another owner (root's harness_create is owner 0). */
struct session *harness_create_as(struct harness *h, uid_t owner, const char *name,
				  json_t *params, struct cause *err);
/* Acquires sl and waits for the grant or failure: 0 held, -1 failed. */
int harness_lease(struct harness *h, struct session *s, struct session_lease *sl,
		  double timeout, struct cause *err);
/* Stops (force) and waits; 0 or -1 with err. */
int harness_stop(struct harness *h, struct session *s, bool force, struct cause *err);
int harness_delete(struct harness *h, struct session *s, struct cause *err);
/* Events recorded for session name with event kind ev. */
int harness_events(struct harness *h, const char *name, const char *ev);
/* Domains and instance volumes of this daemon still in libvirt. */
int harness_domains(struct harness *h);
int harness_volumes(struct harness *h);
/* Memory image files of this daemon in its save directory. */
int harness_images(struct harness *h);
bool harness_quiet(struct harness *h, void *arg);    /* predicate: core_quiescent */
/* Predicate: every host is up. */
bool harness_hosts_up(struct harness *h, void *arg);
/* The seam of host name (its fault driver), or NULL. */
struct driver *harness_host_drv(struct harness *h, const char *name);

#endif
