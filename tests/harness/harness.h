/*
 * harness.h — an in-process sessiond core for tests and the stress run.
 *
 * Real components: libevent loop, the real core, libvirt's embedded test
 * driver (test:///default), optionally wrapped by the fault seam
 * (tests/fault/fault_driver.h).  The harness keeps its own libvirt
 * connection open ("outside"), which both keeps the embedded driver's
 * state alive across a simulated daemon restart and lets tests look at
 * libvirt the way an outside observer would.
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

struct harness_opts {
	const char *uri;                    /* default test:///default */
	bool fault;                         /* wrap the driver with the fault seam */
	struct fault_cfg fcfg;
	double scratch_gib;                 /* 0: 1 GiB; negative: no scratch */
	bool record_events;                 /* keep every session.event in h->events */
	const char *const *conf;            /* sessiond.conf keys and values, in pairs,
					     * NULL-terminated: set before the core starts */
};

struct harness {
	struct event_base *base;
	struct config cfg;
	struct driver *virt, *drv;
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
bool harness_quiet(struct harness *h, void *arg);    /* predicate: core_quiescent */

#endif
