/*
 * core.h — the daemon's shared context: the session registry and the
 * services sessions use (libvirt driver, workers, state files, tokens).
 *
 * The loop thread owns everything here except what is marked otherwise.
 * One struct core per daemon; tests build several in one process.
 */
#ifndef SESSIOND_CORE_H
#define SESSIOND_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../common/htab.h"
#include "../common/list.h"
#include "../lease/lease.h"
#include "config.h"
#include "driver.h"
#include "mailbox.h"
#include "worker.h"

struct session;
struct storage;

struct core_hooks {
	/* A session.event for watchers: params is the full notification
	 * params object (borrowed). */
	void (*event)(struct session *s, json_t *params, void *arg);
	/* A token was revoked (session failed or force-stopped). */
	void (*token_revoked)(struct token *t, const char *reason, void *arg);
};

struct core_stats {
	long instances_started;
	long teardowns;                     /* finish_teardown() runs */
	long expected_stops;
	long spontaneous_exits;
	long start_failures;
	long adopted;
	long double_teardowns;              /* must stay 0: a broken invariant */
};

struct core {
	struct event_base *base;
	const struct config *cfg;
	struct driver *drv;
	struct workers *workers;            /* libvirt calls */
	struct workers *writer;             /* state files: one thread, FIFO */
	struct mailbox *vm_events;          /* from the driver's event thread */
	struct token_table *tokens;
	struct storage *storage;
	struct htab by_key;                 /* "uid/name" -> session */
	struct list_node sessions;
	size_t nsessions;
	char daemon_id[37];
	char prefix[16];                    /* "sd-" + 8 hex of the daemon id */
	char sessions_dir[4096];
	char console_dir[4096];
	const struct core_hooks *hooks;
	void *hooks_arg;
	struct driver_events drv_events;
	bool connected;
	bool kvm_usable;                    /* /dev/kvm opens and the CPU has vmx/svm */
	bool shutting_down;
	bool freeing;                       /* in core_free: nothing is saved or torn down */
	struct event *reconnect_ev;
	struct event *trim_ev;              /* returns freed heap to the host */
	double trim_first;                  /* monotonic: first teardown since the last trim */
	double reconnect_backoff;
	double started;                     /* monotonic */
	struct core_stats stats;
};

/* A VM was torn down: soon (once for a burst of teardowns) give the
 * memory its bookkeeping freed back to the host (malloc_trim). */
void core_memory_idle(struct core *core);

/* Creates the context: state directories, daemon id, the driver's
 * connection, the storage pool.  drv is borrowed (the caller may wrap the
 * libvirt driver, see driver.h).  Sessions are not loaded yet. */
struct core *core_new(struct event_base *base, const struct config *cfg,
		      struct driver *drv, struct cause *c);
/* Loads state files, reconciles with libvirt (adopts running domains,
 * cleans up dead ones and orphans), sweeps stale scratch volumes.  done
 * runs on the loop when reconciliation has finished. */
void core_load(struct core *core, void (*done)(struct core *core, void *arg), void *arg);
/* Drops every session object without touching VMs (daemon exit: running
 * VMs stay up and are adopted next start).  Then frees. */
void core_free(struct core *core);
void core_set_hooks(struct core *core, const struct core_hooks *h, void *arg);

/* Registry. */
struct session *core_find(struct core *core, uid_t owner, const char *name);
size_t core_count_owned(struct core *core, uid_t owner);

/* Jobs: a libvirt job that holds a session reference until done. */
void core_submit(struct core *core, struct job *j);

/* True when no worker job, teardown or start is in flight (tests). */
bool core_quiescent(struct core *core);

#endif
