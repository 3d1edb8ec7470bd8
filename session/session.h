/*
 * session.h — sessions and the life of their VMs: the contract of session/.
 *
 * A session is what a user keeps (identity, settings, persistent disk,
 * bookkeeping); an instance (lease.h) is one VM incarnation of it.  This
 * folder owns both lives.  It knows libvirt only through the driver of
 * virt/ and no wire protocol at all: failures are causes with a kind
 * (common/cause.h), events are names (state.c), and the daemon (daemon/)
 * turns both into JSON-RPC.
 *
 * One state per object, one writer each (state.c):
 *
 *   session state   new -> stopped -> starting -> running -> stopping -> stopped
 *                   new -> failed (loaded failed), stopped -> running (adopted
 *                   at load), starting -> stopping, stopping -> failed -> stopped
 *                   memory tiers (tiers.c):
 *                   running -> stopping (idle, save) -> suspended -> starting
 *                   (restore) -> running; suspended -> stopping (discard: stop,
 *                   delete, settings changed) -> stopped; stopped -> suspended
 *                   (an image found again at load)
 *   phase           what the session is doing inside its state: the start job,
 *                   the ready wait, the teardown's steps, a restart's back-off
 *   life            creating -> live -> deleting -> gone (session.c)
 *
 * Every other pair is a bug: asserted in debug builds, logged otherwise.
 * tests/test_state.c drives both matrices.
 *
 * Files and their prefixes:
 *   core.c       core_*        the context: directories, daemon id, workers,
 *                              registry, memory trim, reconnects
 *   load.c       load_*        start-up: state files in; each host as it
 *                              connects: domains adopted or reconciled,
 *                              orphans destroyed, stale volumes swept
 *   hosts.c      hosts_*       the hosts: one libvirt connection each, their
 *                              reconnects, placement by room, waiting for a
 *                              host that is away
 *   session.c    session_*     the object: allocation, references, timers, life
 *   state.c      state_*       the state machine and the events it emits
 *   registry.c   registry_*    session.create: check, disk, state file, register
 *   persist.c    persist_*     state files (what survives a restart: see there)
 *   view.c       view_*        the session object shown to clients
 *   holds.c      holds_*       leases, tokens, "what keeps my VM up"
 *   start.c      start_*       bringing an instance up
 *   teardown.c   teardown_*    the claims and taking an instance down, once
 *   requests.c   request_*     stop, reset, delete; what parked callers get
 *   limits.c     limits_*      what one user may run at once
 *   reconcile.c  reconcile_*   lifecycle events, adoption, lost instances,
 *                              reconnects
 *   readiness.c  readiness_*   the ready pattern on the serial console
 *   console.c    console_*     console logs
 *   hostpaths.c  hostpaths_*   may a session's owner use these host files?
 *   tiers.c      tiers_*       memory tiers: save on idle, restore, the image
 *
 * Threads: the loop thread owns everything here, except the lease gate
 * (lease.h) and reconcile_vm_event(), which runs on the driver's event
 * thread.  Blocking work (libvirt, state files) runs on workers: each host
 * has its own, so a slow or dead host never stalls another's sessions.
 */
#ifndef SESSIOND_SESSION_H
#define SESSIOND_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uuid/uuid.h>

#include "../common/cause.h"
#include "../common/htab.h"
#include "../common/log.h"
#include "../common/list.h"
#include "../common/mailbox.h"
#include "../common/prng.h"
#include "../common/worker.h"
#include "../idle/idle.h"
#include "../lease/lease.h"
#include "../settings/settings.h"
#include "../virt/virt.h"

struct event;
struct event_base;
struct readiness;
struct session;
struct write_job;

typedef void (*session_done_cb)(struct session *s, const struct cause *err, void *arg);

#define SESSION_NAME_MAX 64
#define SESSION_KEY_MAX 96                   /* "uid/name" */

/* ---- states (state.c) ------------------------------------------------ */

enum session_state {
	SESSION_NEW,                            /* allocated, not yet stopped or failed */
	SESSION_STOPPED,
	SESSION_STARTING,
	SESSION_RUNNING,
	SESSION_STOPPING,
	SESSION_FAILED,
	SESSION_SUSPENDED,                      /* memory saved to an image; no domain */
	SESSION__COUNT
};

/* What the session does inside its state.  The jobs of a start and of a
 * teardown never overlap: a claim while the start job runs waits for it. */
enum session_phase {
	PHASE_IDLE,             /* no job of ours: new, stopped, running, failed */
	PHASE_RESTART_WAIT,     /* stopped after a crash; the restart back-off runs */
	PHASE_BOOTING,          /* starting: the start job runs */
	PHASE_BOOTED,           /* starting: the start job returned; a claim's exit
				 * event is on its way (it tears down) */
	PHASE_READY_WAIT,       /* starting: the domain runs; waiting for the ready line */
	PHASE_CLAIMED_BOOTING,  /* stopping: claimed while the start job ran */
	PHASE_SHUTDOWN,         /* stopping: the shutdown job runs */
	PHASE_SHUTDOWN_GONE,    /* ... and the domain is known to be gone already */
	PHASE_AWAIT_GONE,       /* stopping: shut down asked; waiting for the domain to go */
	PHASE_CLEANUP,          /* stopping: destroy and volume deletion run */
	PHASE_SAVING,           /* stopping: the save job runs (idle, action save) */
	PHASE_RESTORING,        /* starting: the restore job runs */
	PHASE__COUNT
};

/* Events a session announces (session.event "event" values of the wire). */
enum session_event {
	EV_NONE = -1,
	EV_CREATED, EV_STARTING, EV_RUNNING, EV_IDLE, EV_BUSY, EV_STOPPING, EV_STOPPED,
	EV_CRASHED, EV_FAILED, EV_RESET, EV_DELETED, EV_SUSPENDED,
	EV__COUNT
};

const char *state_name(enum session_state st);
int state_from_name(const char *name);
const char *state_phase_name(enum session_phase ph);
const char *state_event_name(enum session_event ev);
bool state_legal(enum session_state from, enum session_state to);
bool state_phase_legal(enum session_phase from, enum session_phase to);
/* May a session in state st be in phase ph? */
bool state_phase_fits(enum session_state st, enum session_phase ph);

/* The one writer of s->state (and of s->phase with it): checks both
 * tables, logs "from -> to", closes the lease gate outside running, emits
 * ev (EV_NONE: none) with extra merged into it (stolen, may be NULL). */
void state_set(struct session *s, enum session_state to, enum session_phase phase,
	       enum session_event ev, json_t *extra);
/* The one writer of s->phase within the current state. */
void state_phase(struct session *s, enum session_phase to);
/* An event without a state change (idle, busy, crashed, ...). */
void state_notify(struct session *s, enum session_event ev, json_t *extra);
/* A start or teardown job of ours is in flight. */
bool state_job_busy(const struct session *s);

/* ---- the context (core.c, load.c) ------------------------------------- */

/* One host as configured (a [host NAME] section, or the one "local" host
 * of the uri key); daemon/config.c's host_table describes its keys. */
struct host_config {
	char *name;
	char *uri;
	double memory_mib;                      /* capacity; 0: libvirt's less reserve_mib;
						 * HOST_UNLIMITED: no check */
	double reserve_mib;
	char *pool;                             /* NULL: the daemon's pool key, else its own */
	char *pool_path;                        /* NULL: the daemon's pool_path key */
};

#define HOST_UNLIMITED (-1.0)
#define HOST_LOCAL "local"

/* How libvirt reads a started or restored guest's CPU (sessiond.conf
 * cpu_probe): one QMP query per CPU feature (~400, libvirt's default), or
 * the three of its older x86 path (a per-domain capability override). */
enum cpu_probe { CPU_PROBE_FULL, CPU_PROBE_QUICK };

/* What core_new() is told (the daemon's configuration keeps these). */
struct core_config {
	char *state_dir;
	char *pool;                             /* storage pool name; NULL: the daemon's own */
	char *pool_path;                        /* its directory; NULL: <state_dir>/pool */
	char *save_dir;                         /* memory images; NULL: <state_dir>/saved */
	double scratch_gib;                     /* 0: no scratch disks */
	int workers;
	int max_sessions_per_user;              /* 0: no limit; root is exempt */
	double keepalive_s;                     /* a silent host is lost after this */
	double host_wait_s;                     /* a request waits this long for its host */
	struct host_config *hosts;              /* at least one (config_finish) */
	size_t nhosts;
	int max_running_per_user;               /* VMs starting or running; 0: no limit */
	int max_memory_mib_per_user;            /* their guest memory; 0: no limit */
	int cpu_probe;                          /* enum cpu_probe */
	struct settings defaults;               /* for session.create */
};

struct core_hooks {
	/* A session event for watchers: params is the notification's params
	 * (borrowed). */
	void (*event)(struct session *s, json_t *params, void *arg);
	/* Does anyone watch s (NULL: assume so)?  When not, no event is built. */
	bool (*listening)(struct session *s, void *arg);
	/* A token was revoked (session failed or force-stopped). */
	void (*token_revoked)(struct token *t, const char *reason, void *arg);
};

struct core_stats {
	long instances_started;
	long placements;                        /* hosts chosen for a start or a create */
	long teardowns;                         /* teardown_finish() runs */
	long expected_stops;
	long spontaneous_exits;
	long start_failures;
	long adopted;
	long double_teardowns;                  /* must stay 0: a broken invariant */
	long saves, save_failures;              /* memory tiers */
	long restores, restore_failures;
};

/* A host's link to its libvirtd.  Only an up host takes new work; one
 * that syncs has its connection back and is being reconciled (load.c). */
enum host_link { HOST_DOWN, HOST_OPENING, HOST_SYNCING, HOST_UP };

struct host {
	struct core *core;
	const struct host_config *cfg;          /* the core's, or own_cfg */
	struct host_config own_cfg;             /* a core_config without hosts: "local" */
	const char *name;                       /* cfg->name */
	struct driver *drv;                     /* borrowed (the daemon's or a test's) */
	struct storage *storage;
	struct workers *workers;                /* this host's libvirt calls */
	struct driver_events events;            /* events_arg: this host */
	enum host_link link;
	bool kvm_usable;                        /* libvirt says KVM guests can run */
	bool lost_again;                        /* a disconnect came while it opened */
	unsigned epoch;                         /* +1 at every connection made */
	double capacity_mib;                    /* HOST_UNLIMITED: no check */
	double committed_mib;                   /* memory of the instances here */
	long vms;                               /* instances here */
	int reconnect_attempt;
	struct event *lost_ev;                  /* activated by the event thread */
	struct event *reconnect_ev;             /* the back-off timer */
	char why[CAUSE_MSG_MAX];                /* why it is down, "" when up */
};

/* A registered session and its seq; s is NULL where one left (core.c). */
struct seq_slot {
	uint64_t seq;
	struct session *s;
};

struct core {
	struct event_base *base;
	const struct core_config *cfg;
	struct host *hosts;                     /* sorted by name */
	size_t nhosts;
	struct workers *workers;                /* jobs of no host (create without one) */
	struct workers *writer;                 /* state files: one thread, FIFO */
	struct mailbox *vm_events;              /* from the driver's event thread */
	struct token_table *tokens;
	struct storage *storage;
	struct htab by_key;                     /* "uid/name" -> session */
	struct list_node sessions;              /* in registration order (seq) */
	size_t nsessions;
	size_t nstate[SESSION__COUNT];          /* registered sessions by state */
	uint64_t next_seq;                      /* of the next registered session */
	struct seq_slot *by_seq;                /* registered sessions by seq (core_after) */
	size_t nby_seq, by_seq_cap, by_seq_holes;
	struct prng ids;                        /* token and lease ids (loop thread) */
	char daemon_id[UUID_STR_LEN];
	char prefix[16];                        /* "sd-" + 8 hex of the daemon id */
	char sessions_dir[4096];
	char console_dir[4096];
	char save_dir[4096];                    /* memory images (tiers.c) */
	const struct core_hooks *hooks;
	void *hooks_arg;
	bool shutting_down;
	bool freeing;                           /* in core_free: nothing is saved or torn down */
	struct event *trim_ev;                  /* returns freed heap to the host */
	double trim_first;                      /* monotonic: first teardown since the last trim */
	double started;                         /* monotonic */
	struct core_stats stats;
};

/* Creates the context: state directories, daemon id, a connection and a
 * storage pool per host (hosts.c).  drvs[i] is the driver of
 * cfg->hosts[i] (a cfg without hosts: one host "local" on drvs[0]); they
 * are borrowed (a test may wrap the libvirt driver, see virt.h).
 * Sessions are not loaded yet. */
struct core *core_new(struct event_base *base, const struct core_config *cfg,
		      struct driver *const *drvs, struct cause *c);
/* Drops every session object without touching VMs (daemon exit: running
 * VMs stay up and are adopted next start).  Then frees. */
void core_free(struct core *core);
void core_set_hooks(struct core *core, const struct core_hooks *h, void *arg);
struct session *core_find(struct core *core, uid_t owner, const char *name);
size_t core_count_owned(struct core *core, uid_t owner);
void core_register(struct session *s);
void core_unregister(struct session *s);
/* The first registered session whose seq is above seq (in O(log n): a
 * list cursor's page starts there), or NULL. */
struct session *core_after(struct core *core, uint64_t seq);
/* A blocking job for session s: holds a reference to s until done runs. */
void core_submit(struct core *core, struct job *j);
/* True when no worker job, teardown or start is in flight (tests). */
bool core_quiescent(struct core *core);
/* A VM was torn down: soon (once for a burst) give the memory its
 * bookkeeping freed back to the host. */
void core_memory_idle(struct core *core);

/* Loads state files, then reconciles each connected host (load_host);
 * done runs on the loop when that has finished. */
void load_sessions(struct core *core, void (*done)(struct core *core, void *arg), void *arg);
/* A host (re)connected: lists its domains once and reconciles each of its
 * sessions with them (adopts or cleans up a recorded instance; keeps a
 * running one, sends a gone one down the spontaneous-exit path), destroys
 * its orphan domains and sweeps its stale volumes; then done(h, ok,
 * epoch), epoch being the connection's it reconciled. */
void load_host(struct host *h, void (*done)(struct host *h, bool ok, unsigned epoch, void *arg),
	       void *arg);

/* ---- hosts (hosts.c) ------------------------------------------------------ */

/* Opens every host (core_new): 0, or -1 when a host's pool is unusable or
 * no host can be reached at all. */
int hosts_open(struct core *core, struct driver *const *drvs, const char *recorded_pool,
	       struct cause *c);
/* Lets every host's jobs finish and closes its connection (no lifecycle
 * callback after it); hosts_free then frees them. */
void hosts_close(struct core *core);
void hosts_free(struct core *core);
struct host *hosts_find(struct core *core, const char *name);
/* The host a state file without one belongs to: "local", else the only one. */
struct host *hosts_default(struct core *core);
/* Up: connected and reconciled, so it takes work. */
bool hosts_usable(const struct host *h);
/* load_host() is done with h's connection epoch: up (what waits for it
 * goes on), or down again and retried; nothing when h lost that
 * connection meanwhile. */
void hosts_loaded(struct host *h, bool ok, unsigned epoch);
/* session.create: the host of new session s (name: the one asked for, or
 * NULL).  A persistent session is placed now by room and pinned there; an
 * ephemeral one is pinned only to a host named.  0, or -1 with c. */
int hosts_for_create(struct session *s, const char *name, struct cause *c);
/* start_instance(): places (or checks the pinned host) and commits the
 * memory, on the loop; false when it cannot start now (parked callers
 * were failed, or wait for a host). */
bool hosts_claim(struct session *s);
/* The instance's memory goes back to its host (its teardown ended, or it
 * was adopted and then lost); an unpinned session leaves the host. */
void hosts_release(struct session *s);
/* An adopted instance's memory counts on its host. */
void hosts_commit(struct session *s, struct host *h);
/* The session has a host and it is away: arms the wait (host_wait_s)
 * and returns true; done is queued for the host's return (err NULL) or
 * the timeout (err names the host).  done may be NULL (parked leases are
 * failed at the timeout anyway). */
bool hosts_wait(struct session *s, session_done_cb done, void *arg);
/* The session's VM is gone (its teardown ended, or a lost instance was
 * cleaned up): what waited for its host is asked again on what the
 * session is now (a stop finds it stopped, a delete goes on or, for a disk
 * on a host still away, waits on), before a start can place it elsewhere
 * and end the wait. */
void hosts_wait_reask(struct session *s);
/* The hosts as daemon.info shows them; sessions counted for owner
 * (all when all). */
json_t *hosts_json(struct core *core, bool all, uid_t owner);
/* Every host up (daemon.info's "connected"). */
bool hosts_all_up(struct core *core);

/* ---- the session object (session.c) ----------------------------------- */

/* The session object itself: is it visible, going, gone? */
enum session_life {
	LIFE_CREATING,          /* in the registry (names conflict), invisible to requests */
	LIFE_LIVE,
	LIFE_DELETING,          /* delete under way: no new VM, parked callers fail */
	LIFE_GONE,              /* state file removal queued; nothing more is written */
};

#define CRASH_WINDOW_S 600.0
#define CRASH_LOOP_MAX 5                        /* more than this in the window: failed */
#define CRASH_BACKOFF_FIRST_S 1.0
#define CRASH_BACKOFF_MAX_S 60.0

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
	struct list_node node;                  /* s->leases while parked or held */
	struct session *s;
	char id[UUID_STR_LEN];
	char reason[64];
	uid_t uid;
	pid_t pid;
	uint64_t seq;                           /* s->hold_seq when taken */
	double since;                           /* wall clock */
	session_lease_cb cb;
	void *arg;
};

struct session {
	int refs;
	struct core *core;
	struct host *host;                      /* pinned, or of the instance; NULL: none */
	bool pinned;                            /* host kept across instances */
	double committed_mib;                   /* counted on host for the instance */
	struct event *host_timer;               /* host_wait_s while its host is away */
	struct list_node host_waiters;          /* requests waiting for the host */
	struct htab_node by_key;
	struct list_node node;                  /* core->sessions */
	char key[SESSION_KEY_MAX];              /* "uid/name" */
	char name[SESSION_NAME_MAX + 1];
	char id[UUID_STR_LEN];
	char prefix[32];                        /* domain prefix: sd-<daemon8>-<id8> */
	uid_t owner;
	uint64_t seq;                           /* registration order: list cursors */
	struct settings set;

	/* Bookkeeping (persisted). */
	double created;                         /* wall clock */
	unsigned start_count;
	char last_stop_reason[32];
	char *last_stop_detail;                 /* text_set(); NULL: none */
	char *failed_reason;                    /* text_set(); NULL: none */
	double uptime_total;                    /* seconds of VM uptime, closed instances */
	double crash_times[CRASH_LOOP_MAX + 1];
	int ncrash;
	bool disk_created;                      /* persistent disk made by us */
	char last_instance[UUID_STR_LEN];       /* most recent instance (its console log) */
	char prev_instance[UUID_STR_LEN];       /* the one before (kept for a post-mortem) */
	unsigned restore_count;                 /* restores (start_count: cold boots) */
	struct saved_image *saved;              /* the memory image; NULL: none (tiers.c) */

	/* Live state. */
	enum session_state state;               /* state_set() only */
	enum session_phase phase;               /* state_set() and state_phase() only */
	enum session_life life;                 /* session_set_life() only */
	struct instance *inst;                  /* current instance or NULL */
	double running_since;                   /* monotonic; 0 when not running */
	double start_began;                     /* monotonic: the current start's */
	bool measure_rss;                       /* an idle stop: count what it returns */
	char stop_reason[32];                   /* of the expected stop under way */
	struct cause *start_err;                /* why the last start failed; NULL: it did not */
	char *warning;                          /* of the current instance (scratch, restore) */
	bool no_scratch;                        /* the current instance started without one */
	char *exit_detail;                      /* of the spontaneous exit under way */
	char *stop_detail;                      /* of the expected stop under way (a failed save) */
	char *next_warning;                     /* for the next instance (a failed restore) */
	char *saving;                           /* the image a save in flight writes (tiers.c) */
	struct event *stop_timer;               /* stop_timeout after shutdown */
	struct event *aux_timer;                /* restart back-off, readiness poll */
	struct readiness *ready;                /* while waiting for ready_pattern */
	bool keep_storage;                      /* of the delete under way */
	struct lease_point lp;
	struct idle idle;
	struct list_node leases;                /* struct session_lease, by seq */
	struct list_node tokens;                /* struct token (session_node), by seq */
	uint64_t hold_seq;                      /* of the last hold taken: holds cursors */
	struct list_node stop_waiters;          /* request_stop() callers */
	struct list_node delete_waiters;        /* request_delete() callers */
	struct write_job *writing;              /* state file being written (persist.c) */
	bool write_dirty;                       /* more was asked since it began */
	struct list_node write_waiters;         /* answered by the next write */
	char loaded_instance[UUID_STR_LEN];     /* instance id read from the state file */
};

/* The registry key "uid/name". */
void session_key(char *buf, size_t len, uid_t owner, const char *name);
/* A session in state new, not registered, one reference. */
struct session *session_alloc(struct core *core, uid_t owner, const char *name,
			      const char *id);
void session_ref(struct session *s);
void session_unref(struct session *s);
/* The one writer of s->life. */
void session_set_life(struct session *s, enum session_life to);
/* Visible to requests (created and not being deleted or gone)? */
bool session_visible(const struct session *s);
double session_uptime(const struct session *s);
/* Arms *slot (created on first use) to call fn(s) after seconds. */
void session_timer(struct session *s, struct event **slot,
		   void (*fn)(int, short, void *), double seconds);
void session_timer_cancel(struct event *ev);
/* Queues done(s, err, arg) on list; session_waiters_done answers them all. */
void session_waiter_add(struct list_node *list, session_done_cb cb, void *arg);
void session_waiters_done(struct session *s, struct list_node *list, const struct cause *err);
/* load.c: whether the JSON array a holds the string str. */
bool json_array_has_string(json_t *a, const char *str);

/* A job for s: run on a worker of its host, done on the loop; s is
 * referenced meanwhile (done drops it with session_unref).  It is the
 * owner's job: the pool takes turns between owners (common/worker.h). */
void session_submit(struct session *s, struct job *j, job_fn run, job_fn done,
		    const char *what);
/* The driver and storage of the session's host (it has one whenever it
 * has an instance or a persistent disk). */
static inline struct driver *session_driver(const struct session *s)
{
	return s->host->drv;
}
static inline struct storage *session_storage(const struct session *s)
{
	return s->host->storage;
}

/* ---- log lines about a session (session.c) ----------------------------- */

/* The journal's MESSAGE_ID of a session's state change (sessiond(8),
 * JOURNAL): "journalctl MESSAGE_ID=..." lists every state change. */
#define SESSION_MSGID_STATE "7dcfa187ae9e4cc4952ae1f9a62a3840"

/* "session KEY: <fmt>" at lvl, with the session's journal fields: SESSION
 * (its name), SESSION_ID, OWNER_UID, STATE, INSTANCE (while it has one),
 * HOST (session_host(), when it names one) and REASON (when reason is
 * neither NULL nor empty).  On stderr only the text shows. */
void session_log(const struct session *s, enum log_level lvl, const char *reason,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with MESSAGE_ID msgid (state.c: SESSION_MSGID_STATE). */
void session_log_id(const struct session *s, enum log_level lvl, const char *msgid,
		    const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The host the session's VM runs on, for HOST=: NULL while sessiond knows
 * one host only.  The hook for several hosts: return the session's host
 * name here and every line about the session carries it. */
const char *session_host(const struct session *s);

/* ---- create (registry.c) --------------------------------------------- */

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
bool registry_name_valid(const char *name);
/* Validates params (session.create's, name and owner_uid skipped),
 * creates the persistent disk, writes the state file, registers; done
 * runs with the session or with why not. */
void registry_create(struct core *core, uid_t owner, const char *name, json_t *params,
		     session_done_cb done, void *arg);

/* ---- state files (persist.c) ------------------------------------------ */

/* Writes the state file; done (may be NULL) runs once it is on disk. */
void persist_write(struct session *s, session_done_cb done, void *arg);
/* done runs once every write queued so far is on disk (at once when none
 * is in flight): for replies that acknowledge what another path queued. */
void persist_barrier(struct session *s, session_done_cb done, void *arg);
/* Removes the state file (after every queued write); no write follows. */
void persist_remove(struct session *s, session_done_cb done, void *arg);
/* The state file's JSON, and a session rebuilt from it. */
json_t *persist_json(struct session *s);
struct session *persist_load(struct core *core, json_t *doc, struct cause *c);

/* ---- what clients see (view.c, holds.c) -------------------------------- */

/* The session object of the protocol; reading it never counts as
 * activity and never starts a VM. */
json_t *view_session(struct session *s);
/* The summary: what acting methods and token.acquire return.  Its size
 * does not depend on the holds, not even on how many there are. */
json_t *view_summary(struct session *s);
/* The same written as text, as a member named key (NULL: a value). */
struct jtext;
void view_summary_text(struct jtext *t, const char *key, struct session *s);
/* session.list's row, as a value: the summary and holds_count. */
void view_row_text(struct jtext *t, struct session *s);

/* Live holds (tokens + leases) as the wire shows them, in the order they
 * were taken: at most limit of them (0: all) taken after cursor seq after;
 * *next is the seq of the last one returned when more follow, else 0. */
json_t *holds_json(struct session *s, uint64_t after, size_t limit, uint64_t *next);
size_t holds_count(struct session *s);
/* The next hold's seq. */
uint64_t holds_next_seq(struct session *s);
/* A new token's id (the core's prng: unguessable, see common/prng.h). */
void holds_token_id(struct session *s, char id[UUID_STR_LEN]);
/* Makes t one of s's holds (numbered, listed); its lease is the caller's. */
void holds_add_token(struct session *s, struct token *t);
/* Something holds the VM or waits for it. */
bool holds_any(struct session *s);
/* "session 'dev' is in use: token ... (build, pid 42); 1 caller(s)
 * waiting for the VM; <advice>" as a CAUSE_CONFLICT. */
void holds_conflict(struct session *s, struct cause *c, const char *advice);
/* A lease for one operation: reason and owner for "holds"; cb runs when
 * held (maybe before this returns) or failed.  Starts a stopped VM. */
void holds_lease_acquire(struct session *s, struct session_lease *sl, const char *reason,
			 uid_t uid, pid_t pid, session_lease_cb cb, void *arg);
void holds_lease_release(struct session_lease *sl);
/* Revokes every token (the VM was force-stopped or the session failed). */
void holds_revoke_tokens(struct session *s, const char *reason);

/* ---- the VM's life (start.c, teardown.c, requests.c, reconcile.c) ----- */

/* A new instance: state file, then the start job. */
void start_instance(struct session *s);
/* The VM is up (booted and ready, or restored): running, callers granted. */
void start_running(struct session *s, bool restored);
/* readiness.c reports back. */
void start_ready(struct session *s);
void start_not_ready(struct session *s, const char *why);

/* An expected stop (idle, request, delete): claims the instance; false
 * when the spontaneous-exit path owns it already (its teardown completes
 * whatever waits on the stop). */
bool teardown_begin_expected(struct session *s, const char *reason);
/* The start failed: claim and tear down with the error for the parked. */
void teardown_start_failed(struct session *s, const char *why);
/* The exit path won the claim (reconcile.c, on the loop). */
void teardown_exit_claimed(struct session *s, int detail);
/* The start job is done and a claim came meanwhile: tear down now. */
void teardown_after_start(struct session *s);
/* A teardown goes on in phase ph (shutdown or cleanup; tiers.c after a
 * save). */
void teardown_continue(struct session *s, enum session_phase ph);
/* The domain of an instance being stopped is gone: end the wait. */
void teardown_domain_gone(struct session *s);
/* Restart delay after the n-th crash within the window. */
double teardown_crash_backoff(int crashes);

/* Stops the VM; with holds and !force fails (CAUSE_CONFLICT) naming them. */
void request_stop(struct session *s, bool force, session_done_cb done, void *arg);
/* failed -> stopped. */
int request_reset(struct session *s, struct cause *c);
/* Stops the VM, removes disks unless keep_storage, removes the state
 * file, unregisters; done runs when all of that is finished. */
void request_delete(struct session *s, bool keep_storage, session_done_cb done, void *arg);
/* After a teardown and when a caller parks: start, fail or wait. */
void request_next(struct session *s);

/* What owner has up: VMs starting or running and their guest memory. */
struct limits_use {
	size_t running;
	uint64_t memory_mib;
};
void limits_use(struct core *core, uid_t owner, struct limits_use *u);
/* May s's owner start one more VM now (max_running_per_user,
 * max_memory_mib_per_user; root is exempt)?  0, or -1 with a CAUSE_LIMIT
 * that names the limit, the owner's use and the figure. */
int limits_check(struct session *s, struct cause *c);

extern const struct idle_ops request_idle_ops;
extern const struct lease_point_ops request_lease_ops;

/* Driver event thread: a lifecycle event.  Claims a spontaneous exit when
 * due and queues the outcome for the loop. */
void reconcile_vm_event(void *core, const char *uuid, const char *name, int event, int detail);
/* Loop: a queued VM event. */
void reconcile_vm_mail(struct mail *m, void *arg);
/* Loop, at load: take over a domain that still runs this instance. */
void reconcile_adopt(struct session *s, const char *instance_id);
/* Loop, at load: the recorded instance is gone; clean up after it. */
void reconcile_lost(struct session *s, const char *instance_id);
/* Loop, when the host is back: the instance's domain is still there
 * (running: the VM is usable again) or gone (the spontaneous-exit path). */
void reconcile_listed(struct session *s, bool present);

/* ---- memory tiers (tiers.c) ----------------------------------------------
 *
 * running -> (idle, idle_action save) stopping/saving -> suspended: the
 * domain's memory in an image file, no QEMU, the same instance (id,
 * domain name, scratch disk).  The next need restores it:
 * suspended -> starting/restoring -> running.  A failed save is a normal
 * stop; a failed restore tears the instance down (image included) and a
 * new one boots, with a warning.  A suspended instance's teardown (stop,
 * delete, settings that no longer fit the image) deletes the image with
 * its scratch disk, once.
 */

/* The image of a suspended instance. */
struct saved_image {
	char *path;                             /* on the hypervisor host */
	double bytes;
	double since;                           /* wall clock: when it was written */
	json_t *settings;                       /* the FIELD_IMAGE settings it was saved with */
};

/* The image directory: core->save_dir, made 0700 when missing. */
int tiers_init(struct core *core, struct cause *c);
/* Does the expected stop just claimed save instead (idle, idle_action
 * save, nothing in the way)? */
bool tiers_wants_save(struct session *s);
/* PHASE_SAVING: the save job. */
void tiers_save(struct session *s);
/* Suspended with callers parked: restore (or, when the image no longer
 * fits the settings, discard it; a cold boot follows). */
void tiers_restore(struct session *s);
/* The image still fits the session's settings. */
bool tiers_image_fits(struct session *s);
/* The image's path for the teardown job (a copy; NULL: none). */
char *tiers_image_path(struct session *s);
/* The instance is gone (its teardown finished): the image bookkeeping
 * goes with it. */
void tiers_forget(struct session *s);
/* {"path", "bytes", "since"} or null (the wire's saved_state). */
json_t *tiers_saved_json(struct session *s);
/* The state file's part and its reading back. */
json_t *tiers_persist_json(struct session *s);
void tiers_persist_load(struct session *s, json_t *doc);
/* At load: the recorded instance's image exists (and fits): suspended
 * again, the same instance. */
void tiers_adopt_suspended(struct session *s, const char *instance_id);
/* At load, the recorded instance's domain does not run: suspended again
 * when its image was found and fits (its path appended to live), else
 * stopped, reason lost (or settings-changed). */
void tiers_load_saved(struct session *s, const char *instance_id, bool found, json_t *live);
/* Worker, at load: deletes this daemon's images whose path is not in
 * live and that were last written before since (wall clock, when live
 * was taken: a save that began after that writes a newer file, and the
 * directory is every host's); returns how many. */
int tiers_sweep(struct host *h, json_t *live, double since, struct cause *c);

/* ---- the guest (readiness.c, console.c, hostpaths.c) ------------------ */

void readiness_begin(struct session *s);
void readiness_cancel(struct session *s);

/* <state>/console/<instance id>.log */
void console_path(const struct core *core, const char *instance_id, char *buf, size_t len);
/* Keeps the new instance's log and the previous one's; removes older. */
void console_rotate(struct session *s, const char *new_id);
void console_remove(struct session *s);
/* The tail (max bytes) of the current or last instance's log. */
int console_read(struct session *s, size_t max, json_t **out, struct cause *c);

/* Root and the daemon's own uid may name any host file in a session's
 * settings; another owner only files it could use itself. */
bool hostpaths_trusted(uid_t uid);
int hostpaths_check(uid_t owner, const struct settings *set, struct cause *c);
/* The same for raw params (session.create, before they are parsed). */
int hostpaths_check_params(uid_t owner, json_t *params, struct cause *c);

#endif
