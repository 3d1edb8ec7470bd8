/*
 * session.h — a user's long-lived session and the life of its VM.
 *
 * States (one enum, one writer: session_set_state()):
 *
 *     stopped --> starting --> running --> stopping --> stopped
 *                    |                        ^  \
 *                    +------------------------+   +--> failed --reset--> stopped
 *
 * starting -> stopping covers a failed start, a stop during boot and a
 * crash during boot; stopping -> failed is the terminate crash policy or a
 * crash loop.  Every other pair is a bug: session_set_state() asserts in
 * debug builds and logs an error otherwise.
 *
 * The session owns at most one instance at a time.  Its teardown runs
 * exactly once, by whichever path won the instance's disposition CAS
 * (lease.h): the expected-stop path (idle, request, delete, failed start)
 * or the spontaneous-exit path (a lifecycle stop nobody asked for).
 *
 * Loop thread only, except the lease gate (lease.h) and what
 * session_vm_event() does on the driver's event thread.
 */
#ifndef SESSIOND_SESSION_H
#define SESSIOND_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../common/cause.h"
#include "../common/htab.h"
#include "../common/list.h"
#include "../idle/idle.h"
#include "../lease/lease.h"
#include "core.h"
#include "settings.h"

enum session_state {
	SESSION_STOPPED,
	SESSION_STARTING,
	SESSION_RUNNING,
	SESSION_STOPPING,
	SESSION_FAILED,
	SESSION__COUNT
};

const char *session_state_name(enum session_state st);
int session_state_from_name(const char *name);
bool session_transition_legal(enum session_state from, enum session_state to);

/* Which path owns the current instance's teardown. */
enum teardown_kind { TEARDOWN_NONE, TEARDOWN_EXPECTED, TEARDOWN_EXIT };

#define CRASH_WINDOW_S 600.0
#define CRASH_LOOP_MAX 5                    /* more than this in the window: failed */
#define CRASH_BACKOFF_MAX_S 60.0

struct session_waiter;
typedef void (*session_done_cb)(struct session *s, const struct cause *err, void *arg);

struct session_waiter {
	struct list_node node;
	session_done_cb cb;
	void *arg;
};

/* A server-side lease with an owner and a reason (for "holds"). */
struct session_lease;
typedef void (*session_lease_cb)(struct session_lease *sl, const struct cause *err,
				 void *arg);

struct session_lease {
	struct lease lease;
	struct list_node node;              /* s->leases while parked or held */
	struct session *s;
	char id[37];
	char reason[64];
	uid_t uid;
	pid_t pid;
	double since;                       /* wall clock */
	session_lease_cb cb;
	void *arg;
};

struct session {
	int refs;
	struct core *core;
	struct htab_node by_key;
	struct list_node node;              /* core->sessions */
	char key[96];                       /* "uid/name" */
	char name[SESSION_NAME_MAX + 1];
	char id[37];
	char prefix[32];                    /* domain prefix: sd-<daemon8>-<id8> */
	uid_t owner;
	struct settings set;

	/* Bookkeeping (persisted). */
	double created;                     /* wall clock */
	unsigned start_count;
	char last_stop_reason[32];
	char *last_stop_detail;             /* text_set(); NULL: none */
	char *failed_reason;                /* text_set(); NULL: none */
	double uptime_total;                /* seconds of VM uptime, closed instances */
	double crash_times[CRASH_LOOP_MAX + 1];
	int ncrash;

	/* Live state. */
	enum session_state state;
	struct instance *inst;              /* current instance or NULL */
	double running_since;               /* monotonic; 0 when not running */
	bool reached_running;               /* the current instance did */
	bool job_busy;                      /* a start or teardown job is in flight */
	bool awaiting_gone;                 /* shutdown sent, waiting for the domain to go */
	bool inst_gone;                     /* the domain is known to be gone */
	enum teardown_kind teardown;
	char stop_reason[32];               /* of the expected stop under way */
	struct cause *start_err;            /* why the last start failed; NULL: it did not */
	char *warning;                      /* of the current instance (scratch fallback) */
	struct event *stop_timer;           /* stop_timeout after shutdown */
	struct event *aux_timer;            /* restart backoff, readiness poll */
	struct readiness *ready;            /* while waiting for ready_pattern */
	bool restart_pending;
	bool deleting;
	bool keep_storage;
	bool disk_created;                  /* persistent disk made by us */

	struct lease_point lp;
	struct idle idle;
	struct list_node leases;            /* struct session_lease */
	struct list_node tokens;            /* struct token (session_node) */
	struct list_node stop_waiters;      /* session.stop replies */
	struct list_node delete_waiters;    /* session.delete replies */
	bool removed;                       /* state file removal queued */
	unsigned persist_inflight;          /* state-file jobs queued or running */
	char *exit_detail;                  /* of the spontaneous exit under way */
	char loaded_instance[37];           /* instance id read from the state file */
	char last_instance[37];             /* most recent instance (its console log) */
	char prev_instance[37];             /* the one before (log kept for a post-mortem) */
	bool creating;                      /* until session.create is acknowledged */
};

/* hostpaths.c: root and the daemon's own uid may name any host file in a
 * session's settings; another owner only files it could use itself. */
bool caller_trusted(uid_t uid);
int check_owner_paths(uid_t owner, const char *disk, const char *image, const char *kernel,
		      const char *initrd, struct cause *c);

/* ---- the one state writer --------------------------------------- */

/* Changes state, logs "from -> to", emits event (NULL: state only, no
 * notification) with extra fields merged into the notification. */
void session_set_state(struct session *s, enum session_state to, const char *event,
		       json_t *extra);
/* A notification without a state change (idle, busy, crashed, ...). */
void session_notify(struct session *s, const char *event, json_t *extra);

/* ---- registry (registry.c) -------------------------------------- */

/* Validates params, creates the persistent disk, writes the state file,
 * then calls done (err NULL on success; the session is registered). */
void session_create(struct core *core, uid_t owner, const char *name, json_t *params,
		    session_done_cb done, void *arg);
void session_ref(struct session *s);
void session_unref(struct session *s);
/* Holds (tokens + leases) that keep the VM up, as the wire shows them. */
json_t *session_holds_json(struct session *s);
/* The session object of the protocol (view.c). */
json_t *session_to_json(struct session *s);

/* ---- what callers ask of a session (lifecycle.c) ----------------- */

/* A lease for one operation: reason and owner for "holds".  cb runs when
 * held (maybe before this returns) or failed.  Starts a stopped VM. */
void session_lease_acquire(struct session *s, struct session_lease *sl,
			   const char *reason, uid_t uid, pid_t pid,
			   session_lease_cb cb, void *arg);
void session_lease_release(struct session_lease *sl);
/* Stops the VM; with holds and !force fails with -32005 naming them. */
void session_stop(struct session *s, bool force, session_done_cb done, void *arg);
/* failed -> stopped. */
int session_reset(struct session *s, struct cause *c);
/* Stops the VM, removes disks unless keep_storage, removes the state
 * file, unregisters; done runs when all of that is finished. */
void session_delete(struct session *s, bool keep_storage, session_done_cb done, void *arg);
/* Writes the state file; done (may be NULL) runs once it is on disk. */
void session_persist(struct session *s, session_done_cb done, void *arg);
/* done runs once every write queued so far is on disk: at once when
 * none is in flight.  For replies that acknowledge state another path
 * already queued (a VM that came up, a lease granted). */
void session_persist_barrier(struct session *s, session_done_cb done, void *arg);
/* Removes the state file (after every queued write); no write follows. */
void session_persist_remove(struct session *s, session_done_cb done, void *arg);
/* The state file's JSON, and a session rebuilt from it (persist.c). */
json_t *session_state_json(struct session *s);
struct session *session_from_state(struct core *core, json_t *doc, struct cause *c);
/* Registry membership (registry.c). */
struct session *session_alloc(struct core *core, uid_t owner, const char *name,
			      const char *id);
void session_register(struct session *s);
void session_unregister(struct session *s);
/* Revokes every token (the VM was force-stopped or the session failed). */
void session_revoke_tokens(struct session *s, const char *reason);

/* ---- VM events and jobs (lifecycle.c) ---------------------------- */

/* Driver event thread: a lifecycle event.  Claims a spontaneous exit
 * when due and queues the outcome for the loop. */
void session_vm_event(void *core, const char *uuid, const char *name,
		      int event, int detail);
/* Loop: a queued VM event. */
void session_vm_event_mail(struct mail *m, void *arg);
/* Loop, at load: take over a domain that still runs this instance. */
void session_adopt(struct session *s, const char *instance_id);
/* Loop, at load: the recorded instance is gone; clean up after it. */
void session_lost(struct session *s, const char *instance_id);
/* Loop: the libvirt connection is back; check the instance still runs. */
void session_reconcile(struct session *s);

double session_uptime(const struct session *s);
/* Restart delay after the n-th crash within the window. */
double session_crash_backoff(int crashes);
/* Arms *slot (created on first use) to call fn(s) after seconds. */
void session_timer(struct session *s, struct event **slot,
		   void (*fn)(int, short, void *), double seconds);

/* Console logs: keeps the new instance's and the previous one's; removes
 * older ones (console.c).  session_console_path: NULL when none. */
void session_console_rotate(struct session *s, const char *new_id);
void session_console_remove(struct session *s);
int session_console_read(struct session *s, size_t max, json_t **out, struct cause *c);

/* Readiness (readiness.c) reports back. */
void session_ready(struct session *s);
void session_not_ready(struct session *s, const char *why);

extern const struct idle_ops session_idle_ops;
extern const struct lease_point_ops session_lease_ops;

#endif
