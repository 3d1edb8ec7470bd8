/*
 * lease.h — what keeps a session's VM up, and who tears an instance down.
 *
 * Four pieces, each tested alone (tests/test_lease.c, test_instance.c,
 * test_token.c):
 *
 * 1. struct lease_gate: the hold count of one session (leases + tokens) and
 *    whether the VM may be used right now.  One 64-bit atomic word:
 *
 *        bit 0      CLOSED: the VM is not running (or is being stopped)
 *        bits 1-31  holds
 *        bits 32-63 release generation: +1 on every release
 *
 *    lease_gate_enter() and lease_gate_leave() are one atomic
 *    read-modify-write each and never take a lock.  They report the 0->1
 *    and 1->0 edges; only those touch the idle timer (see idle/idle.h).
 *    An idle stop closes the gate with one compare-and-swap against the
 *    word it saw when it armed the grace timer: any enter or leave since
 *    (the generation moves even when the count is back to 0) makes the
 *    CAS fail, so a VM that was used during the grace is never stopped.
 *    Closing may happen on any thread; opening only on the loop thread.
 *
 * 2. struct instance: one VM incarnation (uuid, domain name, scratch volume
 *    name, all derived from ids) with an atomic disposition:
 *
 *        ACTIVE --instance_claim_expected_stop-->     STOP_REQUESTED
 *        ACTIVE --instance_claim_spontaneous_exit-->  EXIT_CLAIMED
 *
 *    Each claim is one atomic_compare_exchange_strong; exactly one claim
 *    ever succeeds and its caller owns the teardown; the loser only drops
 *    its reference.  The stop event our own shutdown/destroy causes
 *    arrives after STOP_REQUESTED and loses by design.  Instances are
 *    reference-counted: the loop, a worker and the libvirt event thread may
 *    each hold one.  tests/model/disposition.pml models this protocol.
 *
 *    Memory tiers (session/tiers.c) add a fourth value.  An idle stop that
 *    saves the guest's memory owns the instance (STOP_REQUESTED); once the
 *    save has taken the domain away, the owner parks it:
 *
 *        STOP_REQUESTED --instance_suspend-->             SUSPENDED
 *        SUSPENDED      --instance_resume-->              ACTIVE  (restore)
 *        SUSPENDED      --instance_claim_expected_stop--> STOP_REQUESTED (discard)
 *
 *    No domain exists while SUSPENDED, so no exit can be claimed then;
 *    only the loop moves a suspended instance.  The STOPPED event of our
 *    own save may be delivered after a restore made the instance ACTIVE
 *    again: the saver counts it in own_saves before it calls libvirt, and
 *    the event thread swallows that many STOPPED/SAVED events
 *    (instance_own_save_event), so a late one never claims the restored VM.
 *
 * 3. struct lease_point + struct lease: a gate plus the callers parked
 *    while the VM is not running.  lease_acquire() counts at once when the
 *    gate is open (any thread); otherwise (loop thread only) it parks the
 *    caller and asks the owner to bring the VM up; lease_point_grant() or
 *    lease_point_fail() later answers every parked caller on the loop.
 *
 * 4. struct token / struct token_table: client-held activity tokens: an
 *    id, an owner (connection, uid, pid), a reason, an optional TTL.  Each
 *    token holds one lease.  Loop thread only.
 */
#ifndef SESSIOND_LEASE_H
#define SESSIOND_LEASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uuid/uuid.h>

#include "../common/cause.h"
#include "../common/htab.h"
#include "../common/list.h"

/* ---- 1. the gate --------------------------------------------------- */

struct lease_gate {
	_Atomic uint64_t word;
};

#define LEASE_GATE_CLOSED  ((uint64_t)1)
#define LEASE_GATE_HOLD    ((uint64_t)2)
#define LEASE_GATE_GEN     ((uint64_t)1 << 32)
#define LEASE_GATE_MAX_HOLDS 0x7fffffffu

enum lease_gate_rc {
	LEASE_GATE_WAS_CLOSED = 0,   /* not counted: take the slow path */
	LEASE_GATE_ENTERED = 1,      /* counted */
	LEASE_GATE_ENTERED_FIRST = 2 /* counted, and it was the 0->1 edge */
};

void lease_gate_init(struct lease_gate *g);            /* closed, 0 holds */
enum lease_gate_rc lease_gate_enter(struct lease_gate *g);
/* Counts a hold whatever the CLOSED bit says (the loop granting parked
 * callers); true on the 0->1 edge. */
bool lease_gate_add(struct lease_gate *g);
/* Drops a hold; true on the 1->0 edge. */
bool lease_gate_leave(struct lease_gate *g);
uint64_t lease_gate_snapshot(const struct lease_gate *g);
/* Closes only if the word is still exactly snap (open, 0 holds). */
bool lease_gate_close_idle(struct lease_gate *g, uint64_t snap);
void lease_gate_close(struct lease_gate *g);           /* any thread */
void lease_gate_open(struct lease_gate *g);            /* loop thread */

static inline unsigned lease_gate_holds_of(uint64_t w)
{
	return (unsigned)((w >> 1) & LEASE_GATE_MAX_HOLDS);
}

static inline bool lease_gate_open_of(uint64_t w)
{
	return (w & LEASE_GATE_CLOSED) == 0;
}

unsigned lease_gate_holds(const struct lease_gate *g);
bool lease_gate_is_open(const struct lease_gate *g);

/* ---- 2. instances and the disposition ------------------------------- */

enum disposition {
	DISP_ACTIVE,
	DISP_STOP_REQUESTED,
	DISP_EXIT_CLAIMED,
	DISP_SUSPENDED,         /* saved to a memory image; no domain (tiers) */
	DISP__COUNT
};

const char *disposition_name(enum disposition d);
int disposition_from_name(const char *name);          /* -1 if unknown */

#define INSTANCE_NAME_MAX 128

struct instance {
	_Atomic int refs;
	_Atomic int disposition;
	uuid_t uuid;
	char id[UUID_STR_LEN];              /* uuid as text */
	char domain[INSTANCE_NAME_MAX];     /* <prefix>-<id> */
	char scratch[INSTANCE_NAME_MAX];    /* <daemon prefix>-<id>-scratch.qcow2 */
	struct htab_node index_node;        /* instance_index */
	bool indexed;
	void *owner;                        /* the session (opaque here) */
	_Atomic int teardowns;              /* times torn down: must end at 1 */
	_Atomic int own_saves;              /* our saves whose STOPPED event is due */
};

/* prefix names the daemon and session ("sd-1a2b3c4d-9f8e7d6c"); the
 * daemon part (up to the second '-') also prefixes the scratch name.
 * uuid NULL: a fresh one.  Returns a new instance holding one reference. */
struct instance *instance_new(const char *prefix, const uuid_t uuid);
struct instance *instance_ref(struct instance *inst, const char *who);
void instance_unref(struct instance *inst, const char *who);
/* ACTIVE (or SUSPENDED: a discard) -> STOP_REQUESTED. */
bool instance_claim_expected_stop(struct instance *inst);
bool instance_claim_spontaneous_exit(struct instance *inst);
/* The owner of STOP_REQUESTED parks a saved instance; false otherwise. */
bool instance_suspend(struct instance *inst);
/* SUSPENDED -> ACTIVE before a restore (loop); false when not suspended. */
bool instance_resume(struct instance *inst);
/* The saver: one more STOPPED/SAVED event of ours will come (before the
 * save call), or will not after all (the save failed). */
void instance_own_save_begin(struct instance *inst);
void instance_own_save_cancel(struct instance *inst);
/* Event thread, for a STOPPED/SAVED event: true when it is one of ours
 * (counted down), false when somebody else saved the domain. */
bool instance_own_save_event(struct instance *inst);
enum disposition instance_disposition(const struct instance *inst);

/* The index the libvirt event thread uses to find an instance by its
 * uuid (= the libvirt domain uuid).  Mutex-protected; lookups return a
 * new reference.  Not on any fast path. */
void instance_index_add(struct instance *inst);
void instance_index_remove(struct instance *inst);
struct instance *instance_index_get(const char *id, const char *who);
size_t instance_index_count(void);
/* Counts of live instance objects and of teardowns run (stress checks). */
long instance_live_count(void);

/* ---- 3. leases and parked callers ---------------------------------- */

struct lease;
struct lease_point;

/* err NULL: the lease is held.  Otherwise it is not, and err says why. */
typedef void (*lease_cb)(struct lease *l, const struct cause *err, void *arg);

struct lease_point_ops {
	/* A caller parked: bring the VM up (or keep bringing it up).  Loop. */
	void (*need_vm)(struct lease_point *lp);
	/* The hold count crossed 0<->1.  Any thread; must not block. */
	void (*edge)(struct lease_point *lp);
	/* Optional, loop: asked by lease_point_grant() once the gate is open;
	 * false means the VM died meanwhile (its exit is claimed). */
	bool (*may_grant)(struct lease_point *lp);
};

struct lease_point {
	struct lease_gate gate;
	struct list_node parked;            /* loop thread only */
	const struct lease_point_ops *ops;
	void *owner;
};

enum lease_state { LEASE_FREE, LEASE_PARKED, LEASE_HELD };

struct lease {
	struct lease_point *lp;
	enum lease_state state;
	lease_cb cb;
	void *arg;
	struct list_node node;              /* in lp->parked while parked */
};

void lease_point_init(struct lease_point *lp, const struct lease_point_ops *ops,
		      void *owner);
void lease_init(struct lease *l);
/* Returns 1 when held at once (cb was called before returning), 0 when
 * parked (cb comes later, on the loop thread). */
int lease_acquire(struct lease_point *lp, struct lease *l, lease_cb cb, void *arg);
/* Counts l as held without asking the gate (the loop restoring a hold
 * that existed before a restart).  No callback. */
void lease_hold(struct lease_point *lp, struct lease *l);
/* Held: drops the hold.  Parked: cancels without calling cb.  Free: no-op. */
void lease_release(struct lease *l);
/* Opens the gate and answers every parked caller with success.  A VM
 * that died just before (may_grant says no after the open) or during the
 * grant (another thread closed the gate) gets no more leases: the gate is
 * left closed and the callers not yet answered stay parked, for the exit
 * path to restart the VM or fail them.  Returns how many were granted.
 * tests/model/disposition.pml: lease_point_grant(). */
size_t lease_point_grant(struct lease_point *lp);
/* Answers every parked caller with why; the gate stays as it is. */
void lease_point_fail(struct lease_point *lp, const struct cause *why);
size_t lease_point_parked(const struct lease_point *lp);

/* ---- 4. activity tokens -------------------------------------------- */

struct event_base;
struct event;
struct token_table;

struct token {
	struct htab_node by_id;
	char id[UUID_STR_LEN];
	struct lease lease;                 /* the hold */
	struct token_table *table;
	void *owner_conn;                   /* NULL once detached from a connection */
	struct list_node conn_node;         /* the owner's list (see token_conn_*) */
	struct list_node session_node;      /* the session's list (caller's use) */
	void *session;                      /* opaque to this module */
	uint64_t seq;                       /* the caller's ordering (holds lists) */
	uid_t uid;
	pid_t pid;
	char *reason;
	double created;                     /* wall clock */
	double ttl;                         /* seconds; 0: no TTL */
	double expires;                     /* wall clock; 0: never */
	bool detached;                      /* survives its connection (TTL required) */
	struct event *ttl_ev;
};

struct token_table_ops {
	/* The token was released and is about to be freed: its hold is
	 * dropped and it is in no list any more.  why is "released",
	 * "expired", "disconnected" or "revoked". */
	void (*gone)(struct token *t, const char *why, void *arg);
};

struct token_table *token_table_new(struct event_base *base,
				    const struct token_table_ops *ops, void *arg);
void token_table_free(struct token_table *tt);   /* frees remaining tokens */
/* A new token whose lease the caller acquires next (state FREE).  id NULL:
 * a fresh uuid. */
struct token *token_new(struct token_table *tt, const char *id, void *session,
			void *conn, struct list_node *conn_tokens,
			uid_t uid, pid_t pid, const char *reason);
struct token *token_find(struct token_table *tt, const char *id);
/* ttl <= 0 clears the TTL.  Re-arms the expiry timer from now. */
void token_set_ttl(struct token *t, double ttl);
/* Releases the hold and frees the token; gone() is told why. */
void token_release(struct token *t, const char *why);
/* Releases every token on a connection's list (its close). */
void token_release_conn(struct list_node *conn_tokens);
size_t token_count(const struct token_table *tt);

#endif
