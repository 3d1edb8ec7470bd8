/*
 * disposition.pml — a Promela model of sessiond's VM lifecycle protocol:
 * the hold gate (lease/lease.c), the instance disposition CAS
 * (lease/instance.c), the idle tracker (idle/idle.c), readiness
 * (session/readiness.c), memory tiers (session/tiers.c: save and restore,
 * with TIERS) and the actors of session/start.c, teardown.c, requests.c.  Checked
 * with spin by tests/model/check.sh; the README next to this file maps
 * every model element to its C function.
 *
 * Actors (one proctype each, as in the daemon's threads):
 *   Loop        the libevent loop thread: RPC handlers (lease acquire and
 *               release, session.stop), the idle grace timer, the idle
 *               recheck event, the stop timeout, the aux timer (restart
 *               backoff or readiness poll: one slot, s->aux_timer), the
 *               libvirt reconnect, and the two mailboxes it drains (worker
 *               results, VM event mails).
 *   Client(c)   a caller holding the VM through the lease point: a token
 *               (token.acquire -> token.release; revoked by a forced stop
 *               or a failed session), a vm.info lease (held while its
 *               worker job asks libvirt; never revoked) or a session.start
 *               lease (released by its own grant callback, started()).
 *               Or a caller whose connection closes while it waits
 *               (acquire_lost / lease_call_lost / tokens_conn_close).
 *   Admin       one session.stop request, forced or not.
 *   Worker      the worker thread running start_run, shutdown_run and
 *               cleanup_run, and with TIERS save_run and restore_run (it
 *               is what makes the libvirt domain exist and go away, and
 *               writes and deletes the memory images).  One thread is
 *               enough: s->job_busy (state_job_busy()) never lets two of
 *               one session's jobs run at once.
 *   Reconciler  another worker thread, running reconcile_run (it does not
 *               count as a session job: it may run beside one).  Its load
 *               of the domain state and its post are one step: a "not
 *               gone" answer does nothing on the loop wherever it queues,
 *               and a domain once gone stays gone.
 *   Qemu        the environment: a VM dies on its own (crash, killed QEMU)
 *               at any moment it is up, and a guest asked to shut down may
 *               power off at any later moment (or never).
 *   EventThread the libvirt event thread: reconcile_vm_event() for every
 *               STOPPED lifecycle event, delivered at any later moment
 *               (with TIERS: a STOPPED/SAVED event of our own save is
 *               swallowed, instance_own_save_event()).
 *               While the libvirt connection is down (before the one
 *               reconnect of a run, RECONNECT) an event may be lost.
 *   Quiescence  fires only when nothing else can move (spin's timeout) and
 *               checks the end-state properties.
 *
 * Atomicity: a d_step/atomic block stands for one atomic instruction of the
 * C code (fetch-add, fetch-or, fetch-and, compare-exchange, an atomic load,
 * a mutex-protected section, a mailbox post) together with the statements
 * around it that no other thread can observe (a reduction in the sense of
 * Lipton: a step holds at most one access that another thread races, "N:"
 * in the comments, possibly a mailbox receive before it and a job submit
 * or mailbox post after it).  What other threads race: the gate's CLOSED
 * bit (the event thread closes it), the dispositions (both claim), the
 * instance index (the event thread looks up), the libvirt world (vm[],
 * the workers and QEMU), reconn_left and the channels.  Loop-only state
 * (struct session, struct idle, the parked list, the gate's hold count and
 * generation: leases are taken and dropped on the loop) commutes with every
 * other thread's step.  Two loads are stable and count as loop-only: the
 * gate's CLOSED bit once the loop has closed it (only the loop opens it)
 * and a disposition that is no longer ACTIVE (only the loop changes it
 * again: with TIERS, STOP_REQUESTED -> SUSPENDED -> ACTIVE or
 * STOP_REQUESTED; the other threads' only write, the exit claim, fails
 * on each of those; the resume to ACTIVE is an N step).  A
 * caller's own steps are invisible to the loop (the hold is the loop's
 * bookkeeping), so a caller's answer and its release are one step.
 *
 * Bounds (override with -D on the spin command line, see check.sh):
 *   NINST      2  instances, in sequence (instance ids 0, 1).  A third start
 *                 is not modelled: start_instance() with no id left fails
 *                 the parked callers (a model-only "budget" answer).
 *   NCLIENT    2  callers (1 or 2).
 *   C0_KINDS, C1_KINDS  what each caller may be (a bit set of K_TOKEN,
 *                 K_INFO, K_START, chosen anew each round).  One caller:
 *                 any of the three; two: a token and a lease (vm.info or
 *                 session.start).
 *   ROUNDS     1  acquire/release rounds per caller.
 *   MAXCRASH   2  spontaneous VM exits in a run.
 *   MAXFAIL    1  failed starts in a run.
 *   CRASH_LOOP_MAX 1  (C: 5) crashes tolerated by the restart policy
 *                 before the session fails.  With MAXCRASH 2 and two
 *                 instances, a first crash restarts (restart_cb) and a
 *                 second one is a crash loop: both branches of
 *                 after_crash() run (probes 11, 12).
 *   READY      2  0: no ready_pattern; 1: a ready_pattern; 2: either,
 *                 chosen at init.  The console matches or the ready timeout
 *                 passes at any moment the readiness poll is armed.
 *   RECONNECT  1  0: the libvirt connection never drops; 1: it drops once
 *                 and comes back at some moment (open_done ->
 *                 load_host); events before that may be lost.
 *   TIERS      0  0: no memory tiers (the model as before); 1: idle_action
 *                 save: every idle expiry saves the VM (virDomainSaveFlags)
 *                 instead of stopping it; 2: save or stop, chosen at init.
 *                 The save may fail (libvirt refuses, or the domain died
 *                 before or during it), the restore may fail (refused, or
 *                 the domain started and died: a STOPPED event), QEMU may
 *                 die during either, and the admin's stop may come while
 *                 saving, suspended or restoring.  Not modelled: delete,
 *                 a settings change that discards the image, adoption of a
 *                 suspended session at load, the sweep of stray images,
 *                 somebody else's virsh save.
 *   Timing is abstracted: every timer (grace, stop timeout, restart
 *   backoff, readiness poll) may fire at any moment while it is armed
 *   (idle_timer_cb re-adding itself when it fires before the announced
 *   deadline is the grace timer not having fired yet).  The crash policy
 *   (terminate or restart) is chosen nondeterministically at start;
 *   record_crash() counts every crash as inside CRASH_WINDOW_S.
 *
 * Properties (PROP selects one; 0 checks all; 99 none).  Every assertion
 * names its property (p1_once ... p7_legal): spin's report says which
 * property failed, and check.sh relies on that.
 *   1  every instance is torn down exactly once, by one owner (the
 *      winner of its claim: s->teardown is set once per instance); with
 *      TIERS, a suspended instance lives on (at the end, the suspended
 *      session's, not torn down) and every memory image written is
 *      deleted exactly once (by the restore job that read it, or by the
 *      cleanup of its instance), never before a restore read it, and
 *      none is left at the end but the suspended session's own
 *   2  no deadlock: every run ends quiescent (no VM up, no job, no waiter;
 *      with TIERS a suspended session keeps its instance and its image)
 *   3  no lost wake-up: no caller stays parked (plus the LTL claim p3)
 *   4  a VM is never stopped while a token is held, nor while a lease is
 *      held unless the stop is forced (a failed start stops a VM that was
 *      never granted); an idle stop closes the gate only if no hold was
 *      taken since the grace was armed
 *   5  no lease is granted on a VM that is not up: the session runs only
 *      an instance whose start job succeeded and whose own console
 *      matched the ready pattern, and no lease is counted on a gate that
 *      a crash has closed
 *   6  the gate counts exactly the held leases and tokens: never fewer
 *      (a lease that survives a forced stop keeps its hold until its own
 *      release), and equal at rest
 *   7  state_set() only takes the transitions of its table
 *
 * Reachability probes (REACH=1, check.sh): PROBE(n, reach_..., cond) on a
 * branch reports "probe reach_... reached" (an error with a trail) the
 * first time the search passes there; a branch no probe report names is
 * dead under the bounds.
 *   1 reach_ready_running     the console matched: start_ready -> running
 *   2 reach_not_ready_won     the ready timeout claimed the expected stop
 *   3 reach_not_ready_lost    the ready timeout lost the claim to an exit
 *   4 reach_reconcile_won     reconcile_listed claimed a gone domain's exit
 *   5 reach_reconcile_lost    ... lost it to the event thread's claim
 *   6 reach_reconcile_gone    ... found an expected stop's domain gone
 *   7 reach_event_lost        the event thread lost its claim to reconcile
 *   8 reach_lease_survives    a forced stop claimed while a lease is held
 *   9 reach_survivor_released that lease released after the forced stop
 *  10 reach_start_in_grant    a session.start lease granted (and released
 *                             by its callback) inside lease_point_grant()
 *  11 reach_restart           restart_cb started a new instance
 *  12 reach_crash_loop        record_crash() saw a crash loop
 *  With TIERS:
 *  13 reach_saved             save_done() -> suspended()
 *  14 reach_restored          restore_done(): restored, unclaimed ->
 *                             start_running()
 *  15 reach_restore_failed_boot  a new instance booted after a failed
 *                             restore's teardown (image and scratch)
 *  16 reach_crash_saving      QEMU died while the save job ran
 *  17 reach_crash_restoring   QEMU died after the restore, before
 *                             restore_done()
 *  18 reach_stop_suspended    a stop claimed a suspended instance (from
 *                             SUSPENDED)
 *  19 reach_save_failed       save_done(): failed, the guest is shut down
 *  20 reach_stop_while_saving save_done(): saved, but a stop came during
 *                             the save: cleanup with the image
 *
 * Variants (each breaks one property; check.sh says which and checks it):
 *   BUG_GRANT     lease_point_grant() without the may_grant() re-check (the
 *                 code before it was added: this model found that window,
 *                 property 5, and the code now closes it).
 *   BUG_NOCAS     instance_claim() as a load then a store (not a CAS).
 *   BUG_LOSER     the loser of the claim also tears down.
 *   BUG_NOGEN     lease_gate_leave() does not bump the generation.
 *   BUG_NOKICK    finish_teardown() does not kick() parked callers.
 *   BUG_NODEFER   start_done() forgets a teardown deferred by job_busy.
 *   BUG_NOTREADY  start_not_ready() tears down without the claim.
 *   BUG_RECONCILE reconcile_listed() takes a gone domain's exit without the
 *                 claim.
 *   BUG_NOREVOKE  a forced request_stop() does not revoke tokens.
 *   BUG_DROPHOLDS session_revoke_tokens() also drops the gate hold of every
 *                 held lease, which stays held by its call.
 *   BUG_RESTOREDEL (TIERS) restore_run() deletes the image whatever the
 *                 outcome: a failed restore's teardown deletes it again.
 *   BUG_SUSPCLAIM (TIERS) instance_claim_expected_stop() only from ACTIVE:
 *                 a stop of a suspended session claims nothing, its
 *                 caller waits forever.
 *   BUG_OWNSAVE   (TIERS) the event thread does not swallow our own
 *                 save's STOPPED/SAVED event: delivered after the
 *                 restore, it claims the restored VM's exit and a held VM
 *                 is destroyed.
 *   BUG_NOCHECK   start_running() without the disposition check and
 *                 state_set() without the gate close (the code
 *                 before commit 8aac116).
 */

/* ---- bounds --------------------------------------------------------- */
#define NINST 2
#ifndef NCLIENT
#define NCLIENT 2
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef MAXCRASH
#define MAXCRASH 2
#endif
#ifndef MAXFAIL
#define MAXFAIL 1
#endif
#ifndef CRASH_LOOP_MAX
#define CRASH_LOOP_MAX 1
#endif
#ifndef READY
#define READY 2
#endif
#ifndef RECONNECT
#define RECONNECT 1
#endif
#ifndef PROP
#define PROP 0
#endif
#ifndef REACH
#define REACH 0
#endif
#ifndef TIERS
#define TIERS 0
#endif

/* what a caller is (struct token, or struct session_lease of methods.c) */
#define K_TOKEN 1
#define K_INFO  2
#define K_START 4
#ifndef C0_KINDS
#if NCLIENT > 1
#define C0_KINDS K_TOKEN
#else
#define C0_KINDS (K_TOKEN | K_INFO | K_START)
#endif
#endif
#ifndef C1_KINDS
#define C1_KINDS (K_INFO | K_START)
#endif
#define KINDS(c) (c == 0 -> C0_KINDS : C1_KINDS)
#define K_TOKEN_OR_START (K_TOKEN | K_START)   /* for check.sh's -D (no shell metacharacters) */

/* ---- property switches ------------------------------------------------
 * The tags are never written; they put the property's name into spin's
 * "assertion violated" line. */
hidden byte p1_once = 1;
hidden byte p2_quiescent = 1;
hidden byte p3_answered = 1;
hidden byte p4_not_held = 1;
hidden byte p5_no_dead_grant = 1;
hidden byte p6_holds_counted = 1;
hidden byte p7_legal = 1;
#if PROP == 0 || PROP == 1
#define A1(x) assert(p1_once && (x))
#else
#define A1(x) skip
#endif
#if PROP == 0 || PROP == 2
#define A2(x) assert(p2_quiescent && (x))
#else
#define A2(x) skip
#endif
#if PROP == 0 || PROP == 3
#define A3(x) assert(p3_answered && (x))
#else
#define A3(x) skip
#endif
#if PROP == 0 || PROP == 4
#define A4(x) assert(p4_not_held && (x))
#else
#define A4(x) skip
#endif
#if PROP == 0 || PROP == 5
#define A5(x) assert(p5_no_dead_grant && (x))
#else
#define A5(x) skip
#endif
#if PROP == 0 || PROP == 6
#define A6(x) assert(p6_holds_counted && (x))
#else
#define A6(x) skip
#endif
#if PROP == 0 || PROP == 7
#define A7(x) assert(p7_legal && (x))
#else
#define A7(x) skip
#endif

/* ---- reachability probes (see the header) ---------------------------
 * PROBE(n, tag, cond): with REACH set, the first time the search passes
 * here with cond true, pan reports "probe <tag> reached" as an error (one
 * trail each with pan -e); probe_hit[] is C state outside the state
 * vector, so each probe reports once per search.  Only inside an atomic
 * or d_step block (there it adds no state).  Without REACH: nothing. */
#if REACH
c_decl { int probe_hit[32]; }
#define PROBE(n, tag, cond) \
	if \
	:: (cond) -> c_code { if (!probe_hit[n]) { probe_hit[n] = 1; uerror("probe " #tag " reached"); } } \
	:: else -> skip \
	fi
#else
#define PROBE(n, tag, cond) skip
#endif

#define NONE 255

/* enum disposition (lease/lease.h) */
#define D_ACTIVE         0
#define D_STOP_REQUESTED 1
#define D_EXIT_CLAIMED   2
#define D_SUSPENDED      3   /* tiers: saved to a memory image, no domain */

/* enum session_state (session/session.h) */
#define S_STOPPED  0
#define S_STARTING 1
#define S_RUNNING  2
#define S_STOPPING 3
#define S_FAILED   4
#define S_SUSPENDED 5   /* tiers: memory saved to an image; no domain */

/* enum lease_state (lease/lease.h) */
#define L_FREE   0
#define L_PARKED 1
#define L_HELD   2

/* enum lease_gate_rc (lease/lease.h) */
#define WAS_CLOSED     0
#define ENTERED        1
#define ENTERED_FIRST  2

/* enum teardown_kind (session/session.h) */
#define TD_NONE     0
#define TD_EXPECTED 1
#define TD_EXIT     2

/* s->stop_reason */
#define R_NONE         0
#define R_IDLE         1
#define R_REQUESTED    2
#define R_START_FAILED 3
#define R_RESTORE_FAILED 4   /* tiers: restore_failed() */

/* what s->aux_timer is armed for (session_timer() re-arms the one slot) */
#define AUX_NONE    0
#define AUX_RESTART 1   /* restart_cb */
#define AUX_READY   2   /* readiness poll_cb */

/* the libvirt domain of an instance */
#define VM_NONE 0
#define VM_UP   1
#define VM_GONE 2

/* answers to a caller (the lease_cb / rpc reply) */
#define ANS_NONE    0
#define ANS_GRANTED 1
#define ANS_FAILED  2
#define ANS_DONE    3
#define ANS_CONFLICT 4

/* client status, for the LTL claim */
#define C_IDLE    0
#define C_WAITING 1   /* token.acquire sent, answer not yet seen */

mtype = { ACQ, REL, DISC, STOP, STOPF };          /* RPC requests */
mtype = { J_START, J_SHUTDOWN, J_CLEANUP, J_RECON, J_SAVE, J_RESTORE }; /* worker jobs */

/* ---- channels: the transports between threads ----------------------- */
chan rpc[NCLIENT] = [2] of { mtype, byte };        /* one connection each: request, kind */
chan adminq = [1] of { mtype };                    /* session.stop */
#if TIERS
/* session jobs, with the memory image the job deletes or reads (a cleanup:
 * tj->image = tiers_image_path(), taken at submit; a restore: its path) */
chan jobs = [1] of { mtype, byte, bool };          /* workers_submit(): session jobs */
#define JOB(kind, i) jobs!kind,i,saved
#define JOBIMG ,wimg
#else
chan jobs = [1] of { mtype, byte };                /* workers_submit(): session jobs */
#define JOB(kind, i) jobs!kind,i
#define JOBIMG
#endif
chan rjobs = [1] of { byte };                      /* workers_submit(): the reconcile job */
chan results = [2] of { mtype, byte, bool, bool }; /* worker results mailbox: job, inst, rc>=0, gone */
chan vmmail = [NINST] of { byte, bool };           /* core->vm_events mailbox: inst, won */

/* ---- struct lease_gate: the one 64-bit word --------------------------
 * bit 0 CLOSED, bits 1-31 holds, bits 32-63 release generation.  The
 * three fields below are only ever changed together, inside one d_step,
 * as the C changes the word with one atomic instruction. */
bool g_closed = true;     /* lease_gate_init(): closed, 0 holds */
byte g_holds = 0;
byte g_gen = 0;

/* ---- struct instance (per instance id) ------------------------------ */
byte disp[NINST];         /* _Atomic int disposition, D_ACTIVE at instance_new */
bool indexed[NINST];      /* in the instance index (mutex-protected) */
byte teardowns[NINST];    /* _Atomic int teardowns: must end at 1 */

/* ---- libvirt (the world the workers and QEMU change) ---------------- */
byte vm[NINST];           /* VM_NONE until start_run creates the domain */
bool ev_pending[NINST];   /* a STOPPED lifecycle event not yet delivered */
#if TIERS
byte ev_saved[NINST];     /* STOPPED/SAVED events of our saves not yet delivered */
byte own_saves[NINST];    /* _Atomic int own_saves: our saves whose event is due */
byte img[NINST];          /* ghost: memory images of the instance on disk (0 or 1) */
#endif
bool shut_req[NINST];     /* virDomainShutdown was sent: the guest may power off */
byte crashes = 0;
byte fails = 0;
byte reconn_left = RECONNECT; /* the connection is down until the reconnect */

/* ---- struct session (loop thread only) ------------------------------ */
byte state = S_STOPPED;
byte cur = NONE;          /* s->inst */
byte next_inst = 0;       /* instance_new(): the next id */
bool job_busy = false;
bool awaiting_gone = false;
bool inst_gone = false;
bool stop_timer = false;  /* s->stop_timer armed */
byte aux = AUX_NONE;      /* s->aux_timer armed, and for what */
bool ready_on = false;    /* s->ready != NULL */
bool restart_pending = false;
bool reached_running = false;
byte teardown = TD_NONE;
byte stop_reason = R_NONE;
byte stop_waiters = 0;
byte ncrash = 0;          /* record_crash() window, unbounded time: a count */
bool policy_restart;      /* s->set.crash_policy, chosen at init */
bool ready_cfg;           /* s->set.ready_pattern != NULL, chosen at init */
#if TIERS
bool save_cfg;            /* s->set.idle_action == IDLE_SAVE (TIERS 1: yes; 2: chosen at init) */
bool saved = false;       /* s->saved != NULL: the image of the current instance */
bool saving = false;      /* PHASE_SAVING: the save job runs */
bool restoring = false;   /* PHASE_RESTORING: the restore job runs */
#endif

/* ---- struct idle (loop thread only) ---------------------------------- */
bool id_enabled = false;
bool id_deadline = false; /* id->deadline != 0 */
bool id_timer = false;    /* the evtimer is pending */
bool snap_bogus = false;  /* id->snap = ~0 (idle_set_grace: force a re-arm) */
byte snap_gen = 0;        /* id->snap is always (open, 0 holds, snap_gen) */
bool id_poked = false;    /* the recheck event is active (idle_poke) */

/* ---- the parked list and the callers -------------------------------- */
byte lst[NCLIENT];        /* struct lease state of each caller's lease */
byte ckind[NCLIENT];      /* K_TOKEN, K_INFO or K_START: the caller's current lease */
byte ans[NCLIENT];        /* last answer delivered to the caller */
byte cst[NCLIENT];        /* caller status (LTL) */
byte stop_ans = ANS_NONE; /* answer to the admin's session.stop */
bool admin_waiting = false;

/* ---- ghosts (no counterpart in C; they only feed assertions) --------- */
byte nheld = 0;           /* callers whose lease is HELD */
byte ntok = 0;            /* ... of them tokens */
bool td_forced = false;   /* the expected stop under way was forced */
bool survivor = false;    /* a lease was held when a forced stop claimed (probe 9 only) */
bool busy_since_arm = false; /* a hold was counted since the grace timer was armed */
bool crash_closed = false;   /* the current instance's crash closed the gate */
byte booted = NONE;       /* the last instance whose start succeeded and ready pattern matched */
byte ready_for = NONE;    /* the instance whose console the readiness poll reads */
#if TIERS && REACH
bool cold_after_restore = false; /* the last teardown was a failed restore's (probe 15 only) */
#endif

#define any_parked (lst[0] == L_PARKED || (NCLIENT > 1 && lst[NCLIENT-1] == L_PARKED))

/* property 4: a VM may be stopped now (the expected stop under way) */
#define STOP_OK(reason, forced) \
	(reason == R_START_FAILED || (ntok == 0 && (nheld == 0 || forced)))

/* ==== lease/lease.c: the gate ========================================= */

/* lease_gate_close(): atomic_fetch_or(CLOSED) */
inline gate_close() {
	g_closed = true
}

/* lease_gate_open(): atomic_fetch_and(~CLOSED) */
inline gate_open() {
	g_closed = false
}

/* lease_gate_leave(): one fetch-add of (GEN - HOLD): drops a hold and
 * bumps the generation together.  edge: the 1->0 edge. */
inline gate_leave(edge) {
	d_step {
		A6(g_holds > 0);            /* "lease released more than acquired" */
		edge = (g_holds == 1);
		g_holds--;
		/* property 6: every held lease and token is still counted */
		A6(g_holds >= nheld);
#ifndef BUG_NOGEN
		g_gen++
#else
		skip
#endif
	}
}

/* lease_gate_enter(): one fetch-add of HOLD; if the old word was closed,
 * undo with lease_gate_leave() (a second atomic step). */
inline gate_enter(rc) {
	d_step {
		t_closed = g_closed;
		t_holds = g_holds;
		g_holds++;
		busy_since_arm = true;
		if
		:: !g_closed -> A5(!crash_closed)   /* counted on an open gate */
		:: else -> skip
		fi
	};
	if
	:: t_closed -> gate_leave(t_edge); rc = WAS_CLOSED
	:: else -> rc = (t_holds == 0 -> ENTERED_FIRST : ENTERED)
	fi
}

/* lease_gate_close_idle(snap): one compare-exchange against the word
 * the grace timer was armed on. */
inline gate_close_idle(ok) {
	d_step {
		if
		:: (!snap_bogus && !g_closed && g_holds == 0 && g_gen == snap_gen) ->
			g_closed = true;
			ok = true;
			/* property 4: no hold was counted during the whole grace */
			A4(!busy_since_arm && nheld == 0)
		:: else -> ok = false
		fi
	}
}

/* ==== lease/instance.c: the disposition ============================== */

/* instance_claim(): atomic_compare_exchange_strong(ACTIVE -> to).
 * instance_claim_expected_stop: to = D_STOP_REQUESTED;
 * instance_claim_spontaneous_exit: to = D_EXIT_CLAIMED. */
inline claim(i, to, won) {
#ifdef BUG_NOCAS
	/* mutant: a load, then (later) a store */
	d_step { won = (disp[i] == D_ACTIVE) };
	if
	:: won -> disp[i] = to
	:: else -> skip
	fi
#else
	d_step {
		if
		:: disp[i] == D_ACTIVE -> disp[i] = to; won = true
		:: else -> won = false
		fi
	}
#endif
}

/* instance_claim_expected_stop(): the claim from ACTIVE, then (tiers) the
 * same claim from SUSPENDED: a suspended instance has no domain and no
 * exit to race with, only the loop moves it (its discard). */
inline claim_expected(i, won) {
	claim(i, D_STOP_REQUESTED, won);
#if TIERS && !defined(BUG_SUSPCLAIM)
	if
	:: !won ->
		d_step {
			if
			:: disp[i] == D_SUSPENDED -> disp[i] = D_STOP_REQUESTED; won = true
			:: else -> skip
			fi
		}
	:: else -> skip
	fi
#endif
}

/* instance_suspend() (STOP_REQUESTED -> SUSPENDED) and instance_resume()
 * (SUSPENDED -> ACTIVE): compare-exchanges of the loop, the owner. */
inline move(i, from, to, won) {
	d_step {
		if
		:: disp[i] == from -> disp[i] = to; won = true
		:: else -> won = false
		fi
	}
}

/* ==== idle/idle.c (loop thread) ====================================== */

/* idle_disarm() */
inline idle_disarm() {
	if
	:: id_deadline -> id_timer = false; id_deadline = false
	:: else -> skip
	fi
}

/* idle_recheck(): lease_gate_snapshot() (an atomic load), then decide. */
inline idle_recheck() {
	d_step {
		t_closed = g_closed; t_holds = g_holds; t_gen = g_gen;
		if
		:: (!id_enabled || t_closed || t_holds != 0) -> idle_disarm()
		:: else ->
			if
			:: (id_deadline && !snap_bogus && t_gen == snap_gen) -> skip  /* same idle period */
			:: else ->                                               /* idle_arm(snap) */
				id_timer = true; snap_gen = t_gen; snap_bogus = false;
				id_deadline = true; busy_since_arm = false
			fi
		fi
	}
}

/* idle_set_grace(): a new grace forces a fresh arm. */
inline idle_set_grace() {
	if
	:: id_deadline -> snap_bogus = true
	:: else -> skip
	fi;
	idle_recheck()
}

/* idle_enable() */
inline idle_enable(on) {
	id_enabled = on;
	idle_recheck()
}

/* lease_edge() -> session lease_edge() -> idle_poke(): event_active. */
inline poke_if(edge) {
	if
	:: edge -> id_poked = true
	:: else -> skip
	fi
}

/* ==== lease/lease.c: parked callers (loop thread) ==================== */

/* the ghost count of held leases and tokens */
inline held_add(c) {
	nheld++;
	if
	:: ckind[c] == K_TOKEN -> ntok++
	:: else -> skip
	fi
}

inline held_sub(c) {
	nheld--;
	if
	:: ckind[c] == K_TOKEN -> ntok--
	:: else -> skip
	fi
}

/* lease_point_fail(): answers every parked caller with an error. */
inline lease_point_fail() {
	c = 0;
	do
	:: c < NCLIENT ->
		if
		:: lst[c] == L_PARKED -> lst[c] = L_FREE; ans[c] = ANS_FAILED
		:: else -> skip
		fi;
		c++
	:: else -> break
	od
}

/* lease_release() for caller cc (HELD: drop the hold; PARKED: unpark). */
inline lease_release(cc) {
	if
	:: lst[cc] == L_HELD ->
		lst[cc] = L_FREE; held_sub(cc);
#if REACH
		PROBE(9, reach_survivor_released, survivor && ckind[cc] == K_INFO);
		survivor = (survivor && ckind[cc] != K_INFO);
#endif
		gate_leave(t_edge);
		poke_if(t_edge)
	:: lst[cc] == L_PARKED -> lst[cc] = L_FREE
	:: else -> skip
	fi
}

/* The lease callback of a granted session.start (methods.c started()):
 * it releases at once, then idle_recheck().  A token (acquired()) and
 * vm.info (info_leased()) keep the hold.  The caller's answer goes out
 * after the callback (the reply follows a state-file write). */
inline started_cb(cc) {
	lease_release(cc);
	idle_recheck();
	ans[cc] = ANS_GRANTED
}

/* lease_acquire() for caller cc: the fast path, or park.  Called in the
 * step that receives the request.  N: the fetch-add on the gate. */
inline lease_acquire(cc) {
	gate_enter(t_rc);
	if
	:: t_rc != WAS_CLOSED ->
		lst[cc] = L_HELD; held_add(cc); poke_if(t_rc == ENTERED_FIRST);
		if
		:: ckind[cc] != K_START -> ans[cc] = ANS_GRANTED
		:: else -> skip
		fi
	:: else -> lst[cc] = L_PARKED
	fi
}

/* lease_acquire(), the next step: need_vm() for a parked caller (N:
 * start_instance()), or session.start's callback (N: idle_recheck()). */
inline lease_acquired(cc) {
	if
	:: t_rc == WAS_CLOSED -> atomic { kick() }
	:: t_rc != WAS_CLOSED && ckind[cc] == K_START -> atomic { started_cb(cc) }
	:: else -> skip
	fi
}

/* lease_point_grant(): opens the gate, then counts each parked caller
 * and calls it back with success. */
inline lease_point_grant() {
#ifdef BUG_GRANT
	/* The code before the grant re-check: open, then grant every
	 * parked caller with lease_gate_add() whatever happened meanwhile. */
	atomic { gate_open() };                                  /* N */
	c = 0;
	do
	:: c < NCLIENT ->
		if
		:: lst[c] == L_PARKED ->
			atomic {
				d_step {                        /* lease_gate_add() */
					t_first = (g_holds == 0);
					g_holds++;
					busy_since_arm = true;
					A5(!crash_closed)
				};
				lst[c] = L_HELD; held_add(c); poke_if(t_first);
				if
				:: ckind[c] != K_START -> ans[c] = ANS_GRANTED
				:: else -> started_cb(c)
				fi
			}
		:: else -> skip
		fi;
		c++
	:: else -> break
	od
#else
	/* lease/lease.c lease_point_grant() with may_grant() of
	 * session/start.c, teardown.c, requests.c: open, then re-check the disposition (an exit
	 * claimed before the open is seen here, one claimed after it closes
	 * the gate after the open); grant each parked caller through
	 * lease_gate_enter() so a close that lands during the grant stops it. */
	atomic { gate_open() };                                  /* N */
	atomic {                                                 /* N: may_grant()'s load */
		t_disp = disp[cur];
		if
		:: t_disp != D_ACTIVE -> gate_close()
		:: else -> skip
		fi
	};
	if
	:: t_disp == D_ACTIVE ->
		c = 0;
		do
		:: c < NCLIENT ->
			if
			:: lst[c] == L_PARKED ->
				atomic {                                 /* N: the fetch-add */
					gate_enter(t_rc);
					if
					:: t_rc != WAS_CLOSED ->
						lst[c] = L_HELD; held_add(c); poke_if(t_rc == ENTERED_FIRST);
						PROBE(10, reach_start_in_grant, ckind[c] == K_START);
						if
						:: ckind[c] != K_START -> ans[c] = ANS_GRANTED
						:: else -> skip
						fi
					:: else -> skip
					fi
				};
				if
				:: t_rc == WAS_CLOSED -> break           /* the rest stay parked */
				:: t_rc != WAS_CLOSED && ckind[c] == K_START ->
					atomic { started_cb(c) }         /* N: idle_recheck's load */
				:: else -> skip
				fi
			:: else -> skip
			fi;
			c++
		:: else -> break
		od
	:: else -> skip
	fi
#endif
}

/* session_revoke_tokens(): every held token is released.  Leases
 * (vm.info, session.start) are not tokens: they keep their hold. */
inline revoke_tokens() {
	cc = 0;
	do
	:: cc < NCLIENT ->
		if
		:: lst[cc] == L_HELD && ckind[cc] == K_TOKEN -> lease_release(cc)   /* token.revoked */
#ifdef BUG_DROPHOLDS
		:: lst[cc] == L_HELD && ckind[cc] != K_TOKEN ->
			/* mutant: the lease's hold is dropped, the lease stays held */
			gate_leave(t_edge); poke_if(t_edge)
#endif
		:: else -> skip
		fi;
		cc++
	:: else -> break
	od
}

/* has_holds(): lease_gate_holds() > 0 || lease_point_parked() > 0 */
inline has_holds(h) {
	h = (g_holds > 0) || any_parked
}

/* ==== session/session.c ============================================== */

/* state_set(): legal transitions only; every state but running
 * closes the gate (commit 8aac116). */
inline set_state(to) {
	A7((state == S_STOPPED && to == S_STARTING) ||
	   (state == S_STARTING && (to == S_RUNNING || to == S_STOPPING)) ||
	   (state == S_RUNNING && to == S_STOPPING) ||
	   (state == S_STOPPING && (to == S_STOPPED || to == S_FAILED)) ||
	   (state == S_FAILED && to == S_STOPPED)
#if TIERS
	   || (state == S_STOPPING && to == S_SUSPENDED)      /* saved */
	   || (state == S_SUSPENDED && (to == S_STARTING || to == S_STOPPING))  /* restore, discard */
#endif
	   );
	state = to;
#ifndef BUG_NOCHECK
	if
	:: to != S_RUNNING -> gate_close()
	:: else -> skip
	fi
#else
	skip
#endif
}

/* ==== session/readiness.c (loop thread) ============================== */

/* readiness_begin(): the poll timer in the aux slot. */
inline readiness_begin() {
	ready_on = true; aux = AUX_READY;
	ready_for = cur
}

/* readiness_cancel(): s->ready freed, the aux timer deleted. */
inline readiness_cancel() {
	if
	:: ready_on -> ready_on = false; aux = AUX_NONE
	:: else -> skip
	fi
}

/* ==== session/start.c, teardown.c, requests.c (loop thread) ==============================
 * The inlines below are called inside the Loop's atomic steps; each
 * comment "N:" names the one access of a step that another thread can
 * race (see "Atomicity" in the header). */

/* start_instance(): a new instance, indexed, state starting, start job.
 * N: instance_index_add() (the event thread looks instances up). */
inline start_instance() {
	if
	:: next_inst >= NINST ->
		/* MODEL BOUND: no third instance.  Answer the parked callers
		 * (as a crash loop would) so the bound does not look like a
		 * lost wake-up. */
		lease_point_fail()
	:: else ->
		cur = next_inst; next_inst++;
		reached_running = false; inst_gone = false; awaiting_gone = false;
		teardown = TD_NONE; crash_closed = false; td_forced = false;
		indexed[cur] = true;                     /* instance_index_add() */
		set_state(S_STARTING);
		job_busy = true;
#if TIERS && REACH
		PROBE(15, reach_restore_failed_boot, cold_after_restore);
		cold_after_restore = false;
#endif
		JOB(J_START, cur)
	fi
}

#if TIERS
/* tiers_restore() (session/tiers.c): the suspended instance, made ACTIVE
 * again (instance_resume(), the loop's CAS: only the loop moves a
 * suspended instance; "not suspended" is fatal in C), state starting
 * (restoring), the restore job with its image.  N: the resume (from then
 * on the event thread may claim the instance's exit).  The image always
 * fits the settings here (settings changes are not modelled). */
inline tiers_restore() {
	move(cur, D_SUSPENDED, D_ACTIVE, t_won);
	A1(t_won);                            /* fatal(): "is not suspended (bug)" */
	A1(saved);                            /* s->saved->path: the image it reads */
	inst_gone = false; awaiting_gone = false; crash_closed = false;
	set_state(S_STARTING);
	restoring = true;
	job_busy = true;
	JOB(J_RESTORE, cur)
}
#endif

/* kick(): after every teardown and whenever a caller parks (need_vm). */
inline kick() {
	if
	:: state == S_FAILED -> lease_point_fail()
	:: state == S_STOPPED && any_parked && !restart_pending -> start_instance()
#if TIERS
	:: state == S_SUSPENDED && any_parked -> tiers_restore()   /* request_next() */
#endif
	:: else -> skip
	fi
}

/* submit_phase(): one teardown job; never two jobs at once. */
inline submit_phase(kind) {
	A1(!job_busy && cur != NONE);
	job_busy = true;
	JOB(kind, cur)
}

#if TIERS
/* first_phase() + run_phase(): a save for an idle stop that saves (sv:
 * tiers_wants_save(), evaluated by claimed() before the state moves to
 * stopping); graceful (shutdown first) for an expected stop (stop_timeout
 * > 0) unless no guest runs (a failed start or restore; ng: the instance
 * is suspended); destroy at once otherwise.  A teardown deferred by the
 * start or restore job (teardown_after_start) runs first_phase() in
 * stopping: never a save, never "suspended". */
inline submit_first(sv, ng) {
	if
	:: teardown == TD_EXPECTED && sv -> saving = true; submit_phase(J_SAVE)
	:: teardown == TD_EXPECTED && !sv && !ng && stop_reason != R_START_FAILED &&
	   stop_reason != R_RESTORE_FAILED -> submit_phase(J_SHUTDOWN)
	:: else -> submit_phase(J_CLEANUP)
	fi
}
inline submit_teardown() {
	submit_first(false, false)
}
#else
/* submit_teardown(): graceful (shutdown first) for an expected stop that
 * is not a failed start (stop_timeout > 0); destroy at once otherwise. */
inline submit_teardown() {
	if
	:: teardown == TD_EXPECTED && stop_reason != R_START_FAILED -> submit_phase(J_SHUTDOWN)
	:: else -> submit_phase(J_CLEANUP)
	fi
}
#endif

/* expected_stop_claimed(): after a won claim.  The gate is closed by the
 * loop itself first, so idle_enable()'s load is stable (only the loop
 * opens the gate). */
inline expected_stop_claimed(reason, forced) {
	gate_close();
	idle_enable(false);
	readiness_cancel();
	/* property 4: an idle or requested stop never stops a VM that a
	 * token holds (forced: revoked first) or a lease holds (unless
	 * forced: the lease survives and its call sees the VM go). */
	A4(STOP_OK(reason, forced));
	A1(teardown == TD_NONE);              /* property 1: one owner per instance */
#if TIERS
	/* claimed() -> first_phase(), before state_set(stopping) */
	t_save = (save_cfg && reason == R_IDLE && state == S_RUNNING);   /* tiers_wants_save() */
	t_susp = (state == S_SUSPENDED);
	PROBE(18, reach_stop_suspended, t_susp);
#endif
	stop_reason = reason; teardown = TD_EXPECTED; td_forced = forced;
	PROBE(8, reach_lease_survives, forced && nheld > ntok);
#if REACH
	survivor = survivor || (forced && nheld > ntok);
#endif
	set_state(S_STOPPING);
	if
#if TIERS
	:: !job_busy -> submit_first(t_save, t_susp)
#else
	:: !job_busy -> submit_teardown()
#endif
	:: else -> skip                       /* deferred: start_done runs it */
	fi
}

/* begin_expected_stop(): teardown_begin_expected(): close, then claim
 * ACTIVE (or SUSPENDED) -> STOP_REQUESTED.  N: the claim. */
inline begin_expected_stop(reason, forced) {
	gate_close();
	if
	:: cur == NONE -> skip
	:: else ->
		claim_expected(cur, t_won);
		if
		:: t_won -> expected_stop_claimed(reason, forced)
		:: else -> skip                  /* the exit path owns it */
		fi
	fi
}

/* start_running(): three steps. */
inline start_running() {
	atomic {                             /* N: the disposition load */
#ifndef BUG_NOCHECK
		t_disp = disp[cur];
#else
		t_disp = D_ACTIVE;
#endif
		if
		:: t_disp == D_ACTIVE ->
			/* property 5: only a VM whose start job succeeded (and
			 * whose own console matched the ready pattern) runs */
			A5(booted == cur);
			reached_running = true;
			set_state(S_RUNNING);
			/* the gate is still closed (starting): the loads of
			 * idle_recheck() below are stable */
			idle_set_grace();
			idle_enable(true)
		:: else -> skip                  /* an exit was claimed: its mail tears down */
		fi
	};
	if
	:: t_disp == D_ACTIVE ->
		lease_point_grant();
		atomic { idle_recheck() }        /* N: the gate load */
	:: else -> skip
	fi
}

/* start_not_ready(): the ready timeout passed (or the pattern does not
 * compile): claim the expected stop, racing the event thread and the
 * reconcile.  N: the claim. */
inline start_not_ready() {
	if
	:: state != S_STARTING || cur == NONE -> skip
	:: else ->
#ifdef BUG_NOTREADY
		/* mutant: no claim; the VM is taken as ours to stop */
		expected_stop_claimed(R_START_FAILED, false)
#else
		claim_expected(cur, t_won);
		if
		:: t_won ->
			PROBE(2, reach_not_ready_won, true);
			expected_stop_claimed(R_START_FAILED, false)
		:: else ->
			PROBE(3, reach_not_ready_lost, true)   /* the exit's teardown runs */
		fi
#endif
	fi
}

/* start_done(), first step: the start job's completion, on the loop.
 * N: the disposition load. */
inline start_done(i, ok) {
	job_busy = false;
	A1(i == cur);
	t_disp = disp[i];
	if
	:: t_disp != D_ACTIVE ->
		/* claimed while booting: run the deferred teardown */
#ifndef BUG_NODEFER
		if
		:: teardown != TD_NONE -> submit_teardown()
		:: else -> skip                  /* the exit mail submits it */
		fi
#else
		skip
#endif
	:: else ->
		if
		:: ok && ready_cfg -> readiness_begin()
		:: ok && !ready_cfg -> booted = i   /* start_done_rest(): start_running() */
		:: else -> skip                  /* start_done_rest(): the claim */
		fi
	fi
}

/* start_done(), the rest: a failed start claims (N), a start with no
 * ready_pattern goes start_running(). */
inline start_done_rest(i, ok) {
	if
	:: t_disp == D_ACTIVE && !ok ->
		atomic {
			claim_expected(i, t_won);
			if
			:: t_won -> expected_stop_claimed(R_START_FAILED, false)
			:: else ->
				if
				:: teardown != TD_NONE -> submit_teardown()
				:: else -> skip
				fi
			fi
		}
	:: t_disp == D_ACTIVE && ok && !ready_cfg -> start_running()
	:: else -> skip
	fi
}

/* fail_session(): terminal; parked callers failed, tokens revoked. */
inline fail_session() {
	set_state(S_FAILED);
	lease_point_fail();
	revoke_tokens()
}

/* after_crash(): the crash policy. */
inline after_crash() {
	if
	:: !policy_restart -> fail_session()
	:: else ->
		ncrash++;
		if
		:: ncrash > CRASH_LOOP_MAX ->                  /* record_crash(): a crash loop */
			PROBE(12, reach_crash_loop, true);
			fail_session()
		:: else ->
			set_state(S_STOPPED);
			has_holds(t_h);
			if
			:: t_h -> restart_pending = true; aux = AUX_RESTART   /* session_timer(aux) */
			:: else -> skip
			fi
		fi
	fi
}

/* after_expected_stop() */
inline after_expected_stop() {
	set_state(S_STOPPED);
	if
	:: stop_reason == R_START_FAILED -> lease_point_fail()
	:: else -> skip
	fi
}

/* finish_teardown(): exactly once per instance.  Up to kick(), which is
 * a step of its own.  N: instance_index_remove(). */
inline finish_teardown(i) {
	A1(cur != NONE && i == cur);          /* a teardown of the session's instance */
	stop_timer = false; awaiting_gone = false;
	indexed[cur] = false;                 /* instance_index_remove() */
	A1(teardowns[cur] == 0);              /* property 1: never twice */
	teardowns[cur]++;
#if TIERS && REACH
	cold_after_restore = (teardown == TD_EXPECTED && stop_reason == R_RESTORE_FAILED);
#endif
	if
	:: teardown == TD_EXIT -> after_crash()
	:: else -> after_expected_stop()
	fi;
#if TIERS
	saved = false;                        /* tiers_forget(): the image went with the cleanup */
#endif
	cur = NONE; teardown = TD_NONE; reached_running = false; inst_gone = false;
	td_forced = false;
	if                                    /* complete_waiters(stop_waiters) */
	:: stop_waiters > 0 -> stop_waiters = 0; stop_ans = ANS_DONE
	:: else -> skip
	fi
}

/* on_exit_claimed(): the loop side of a spontaneous exit.  The gate was
 * closed by the claimer before (stable: only the loop opens it). */
inline on_exit_claimed() {
	idle_enable(false);
	readiness_cancel();
	A1(teardown == TD_NONE);              /* property 1: one owner per instance */
	teardown = TD_EXIT; inst_gone = true;
	set_state(S_STOPPING);
	if
	:: !job_busy -> submit_teardown()
	:: else -> skip                      /* deferred: start_done runs it */
	fi
}

/* teardown_domain_gone(): the domain of an instance being stopped is gone. */
inline teardown_domain_gone() {
	inst_gone = true;
	if
	:: awaiting_gone -> awaiting_gone = false; stop_timer = false; submit_phase(J_CLEANUP)
	:: else -> skip
	fi
}

/* load_host(): after open_done(), one reconcile job for the
 * current instance, unless a session job is in flight. */
inline load_host() {
	if
	:: cur == NONE || job_busy -> skip
	:: else -> rjobs!cur
	fi
}

/* reconcile_listed(): a domain found gone goes through the same
 * spontaneous-exit claim its lost event would have made.  N: the claim
 * (a lost claim leaves the disposition final: the load after it is
 * stable). */
inline reconcile_listed(i, gone) {
	if
#if TIERS
	/* a suspended session has no domain to list: its restore finds out */
	:: gone && cur == i && !job_busy && state != S_SUSPENDED ->
#else
	:: gone && cur == i && !job_busy ->
#endif
#ifdef BUG_RECONCILE
		/* mutant: gone means ours to tear down, no claim */
		g_closed = true; crash_closed = true;
		on_exit_claimed()
#else
		claim(i, D_EXIT_CLAIMED, t_won);
		if
		:: t_won ->
			g_closed = true; crash_closed = true;    /* lease_gate_close() */
			PROBE(4, reach_reconcile_won, true);
			on_exit_claimed()
		:: else ->
			if
			:: disp[i] == D_STOP_REQUESTED ->
				PROBE(6, reach_reconcile_gone, true);
				teardown_domain_gone()
			:: else ->
				PROBE(5, reach_reconcile_lost, true)  /* the event's mail tears down */
			fi
		fi
#endif
	:: else -> skip
	fi
}

#if TIERS
/* ==== session/tiers.c (loop thread) ================================== */

/* suspended(): saved, the instance parked (instance_suspend(), the
 * owner's CAS STOP_REQUESTED -> SUSPENDED; "not ours" is fatal in C),
 * the session suspended; this teardown ends without a finish.  Then
 * request_next(): callers that came during the save restore at once.
 * The suspend commutes with every other thread (their only write, the
 * exit claim, fails on STOP_REQUESTED and on SUSPENDED alike); the
 * resume in kick() is the step's one N. */
inline suspended() {
	move(cur, D_STOP_REQUESTED, D_SUSPENDED, t_won);
	A1(t_won);
	teardown = TD_NONE; td_forced = false; inst_gone = false; awaiting_gone = false;
	set_state(S_SUSPENDED);
	PROBE(13, reach_saved, true);
	kick()
}

/* save_done(): one step (a receive, then loop-only work, then at most
 * the resume of suspended() -> request_next()). */
inline save_done(i, ok) {
	job_busy = false; saving = false;
	A1(i == cur);
	if
	:: !ok ->                             /* a normal stop: shut the guest down */
		PROBE(19, reach_save_failed, true);
		submit_phase(J_SHUTDOWN)          /* teardown_continue(SHUTDOWN): stop_timeout > 0 */
	:: ok && stop_waiters > 0 ->          /* a stop came during the save: the image goes too */
		saved = true;                     /* keep_image() */
		stop_reason = R_REQUESTED;
		PROBE(20, reach_stop_while_saving, true);
		submit_phase(J_CLEANUP)
	:: ok && stop_waiters == 0 ->
		saved = true;                     /* keep_image() */
		suspended()
	fi
}

/* restore_done(), first step: the job's end (N: the disposition load). */
inline restore_done(i, ok) {
	job_busy = false; restoring = false;
	A1(i == cur);
	if
	:: ok -> saved = false                /* tiers_forget(): deleted by the job */
	:: else -> skip
	fi;
	t_disp = disp[i];
	if
	:: t_disp != D_ACTIVE ->
		/* claimed while restoring (a crash, a stop): as after a start */
		if
		:: state == S_STOPPING -> submit_teardown()   /* teardown_after_start() */
		:: else -> skip                   /* PHASE_BOOTED: the exit mail tears down */
		fi
	:: else -> PROBE(14, reach_restored, ok)
	fi
}

/* restore_done(), the rest: a failed restore tears the instance down like
 * a failed start (restore_failed() -> teardown_begin_expected(), N: the
 * claim), the callers stay parked and get a new instance; a restore that
 * worked goes start_running(). */
inline restore_done_rest(i, ok) {
	if
	:: t_disp == D_ACTIVE && !ok ->
		atomic { begin_expected_stop(R_RESTORE_FAILED, false) }
	:: t_disp == D_ACTIVE && ok -> start_running()
	:: else -> skip
	fi
}
#endif

/* ---- the loop thread --------------------------------------------------
 * One "::" per event the loop handles.  Each atomic block is one step: a
 * run of loop-only statements with at most one access that another
 * thread races ("N:"), a mailbox receive before it or a job submit after
 * it (see "Atomicity" in the header). */
proctype Loop()
{
	byte c, cc, i, t_holds, t_gen, t_rc, t_disp, t_kind;
	bool t_closed, t_edge, t_first, t_won, t_h, ok, gone, won, t_ok, again;
#if TIERS
	bool t_save, t_susp;
#endif
	mtype k;

	xr adminq; xr vmmail; xs jobs; xs rjobs;
end_loop:
	do
	/* ---- RPC: token.acquire, session.start, vm.info -> lease_acquire() ---- */
	:: atomic { rpc[0]?ACQ,t_kind -> ckind[0] = t_kind; lease_acquire(0) }; lease_acquired(0)
#if NCLIENT > 1
	:: atomic { rpc[1]?ACQ,t_kind -> ckind[1] = t_kind; lease_acquire(1) }; lease_acquired(1)
#endif
	/* ---- RPC: token.release, info_done, connection closed -> lease_release() ---- */
	:: atomic { rpc[0]?REL,_ -> lease_release(0) }
	:: atomic { rpc[0]?DISC,_ -> lease_release(0) }
#if NCLIENT > 1
	:: atomic { rpc[1]?REL,_ -> lease_release(1) }
	:: atomic { rpc[1]?DISC,_ -> lease_release(1) }
#endif
	/* ---- RPC: session.stop -> request_stop().  N: the claim ---- */
	:: atomic { adminq?k ->
		if
		:: state == S_STOPPED || state == S_FAILED -> stop_ans = ANS_DONE
		:: state == S_STOPPING -> stop_waiters++
#if TIERS
		:: state == S_STARTING || state == S_RUNNING || state == S_SUSPENDED ->
#else
		:: state == S_STARTING || state == S_RUNNING ->
#endif
			has_holds(t_h);
			if
			:: k == STOP && t_h -> stop_ans = ANS_CONFLICT
			:: else ->
				stop_waiters++;
				if
				:: k == STOPF ->
					lease_point_fail();
#ifndef BUG_NOREVOKE
					revoke_tokens()
#else
					skip
#endif
				:: else -> skip
				fi;
				begin_expected_stop(R_REQUESTED, k == STOPF)
			fi
		fi
	   }
	/* ---- worker results mailbox ---- */
	:: atomic { results?J_START,i,t_ok,gone -> start_done(i, t_ok) };
		start_done_rest(i, t_ok)
	:: atomic { results?J_SHUTDOWN,i,t_ok,gone ->        /* teardown_done() */
		job_busy = false;
		if
		:: gone || inst_gone || !t_ok -> submit_phase(J_CLEANUP)
		:: else -> awaiting_gone = true; stop_timer = true   /* the STOPPED event or the timer ends it */
		fi
	   }
	:: atomic { results?J_CLEANUP,i,t_ok,gone ->         /* teardown_done() */
		job_busy = false;
		finish_teardown(i)
	   };
#ifndef BUG_NOKICK
		atomic { kick() }                                 /* N: start_instance() */
#else
		skip
#endif
	:: atomic { results?J_RECON,i,t_ok,gone -> reconcile_listed(i, gone) }
#if TIERS
	:: atomic { results?J_SAVE,i,t_ok,gone -> save_done(i, t_ok) }
	:: atomic { results?J_RESTORE,i,t_ok,gone -> restore_done(i, t_ok) };
		restore_done_rest(i, t_ok)
#endif
	/* ---- VM event mailbox -> session_vm_event_mail() ---- */
	:: atomic { vmmail?i,won ->
		if
		:: cur == i ->
			if
			:: won -> on_exit_claimed()
			:: else ->
#ifdef BUG_LOSER
				/* mutant: the loser tears down as well */
				on_exit_claimed()
#else
				/* the event lost its claim: the disposition is final */
				if
				:: disp[i] == D_STOP_REQUESTED -> teardown_domain_gone()
				:: else -> skip
				fi
#endif
			fi
		:: else -> skip                  /* an older instance: nothing */
		fi
	   }
	/* ---- the grace timer fires -> idle_timer_cb().  N: the gate CAS ---- */
	:: atomic { id_timer ->
		id_timer = false;
		if
		:: !id_enabled -> idle_recheck(); ok = false; again = false
		:: else -> gate_close_idle(ok); again = !ok
		fi
	   };
		if
		:: ok ->                          /* idle_expired().  N: the claim */
			atomic {
				id_deadline = false; id_enabled = false;
				begin_expected_stop(R_IDLE, false)
			}
		:: again -> atomic { idle_recheck() }    /* N: the gate load */
		:: else -> skip
		fi
	/* ---- the recheck event (idle_poke) -> idle_recheck_cb().  N: the gate load ---- */
	:: atomic { id_poked -> id_poked = false; idle_recheck() }
	/* ---- the stop timeout -> stop_timeout_cb() ---- */
	:: atomic { stop_timer ->
		stop_timer = false;
		if
		:: awaiting_gone -> awaiting_gone = false; submit_phase(J_CLEANUP)
		:: else -> skip
		fi
	   }
	/* ---- the aux timer: the restart backoff -> restart_cb() ---- */
	:: atomic { aux == AUX_RESTART ->
		aux = AUX_NONE; restart_pending = false;
		has_holds(t_h);
		if
		:: state == S_STOPPED && t_h ->
			PROBE(11, reach_restart, true);
			start_instance()
		:: else -> skip
		fi
	   }
	/* ---- the aux timer: the readiness poll -> poll_cb() ---- */
	:: atomic { aux == AUX_READY ->
		aux = AUX_NONE; ok = false;
		if
		:: !ready_on -> skip
		:: else ->
			readiness_cancel();
			if
			:: true ->                    /* a console line matched: start_ready().  N: the load */
				if
				:: state == S_STARTING && cur != NONE && disp[cur] == D_ACTIVE ->
					PROBE(1, reach_ready_running, true);
					booted = ready_for;  /* the console of that instance matched */
					ok = true
				:: else -> skip
				fi
			:: true ->                    /* the deadline passed.  N: the claim */
				start_not_ready()
			fi
		fi
	   };
		if
		:: ok -> start_running()
		:: else -> skip
		fi
	/* ---- libvirt reconnected -> open_done() -> load_host() ----
	 * (only with an instance: a reconnect without one reconciles nothing,
	 * and ending the lost-event window early adds no run) */
	:: atomic { reconn_left > 0 && cur != NONE -> reconn_left = 0; load_host() }
	od
}

/* ---- a caller: a token, a vm.info lease or a session.start lease ----- */
inline pick_kind(me) {
	if
	:: (KINDS(me) & K_TOKEN) != 0 -> k = K_TOKEN
	:: (KINDS(me) & K_INFO) != 0 -> k = K_INFO
	:: (KINDS(me) & K_START) != 0 -> k = K_START
	fi
}

proctype Client(byte me)
{
	byte r = 0, k;

	/* The caller's own steps are invisible to the loop: a hold starts at
	 * the grant and ends when the loop takes the release from the
	 * connection, at any later moment.  So the answer and the release
	 * (or the request and the hang-up) are one step each. */
	do
	:: r < ROUNDS ->
		r++;
		if
		:: /* acquire, wait for the answer, use, release (token.release,
		    * or info_done; session.start's lease is released by the
		    * daemon itself) */
			atomic { pick_kind(me); ans[me] = ANS_NONE; cst[me] = C_WAITING; rpc[me]!ACQ,k };
			atomic {
				ans[me] != ANS_NONE -> cst[me] = C_IDLE;
				if
				:: ans[me] == ANS_GRANTED && k != K_START ->
					rpc[me]!REL,0  /* a revoked token: "no token" */
				:: else -> skip
				fi
			}
		:: /* acquire, then the connection closes at some point while it
		    * waits (acquire_lost, lease_call_lost) or holds
		    * (tokens_conn_close; a vm.info lease: info_done) */
			atomic { pick_kind(me); ans[me] = ANS_NONE; rpc[me]!ACQ,k; rpc[me]!DISC,0 };
			break
		fi
	:: else -> break
	od
}

/* ---- session.stop, once, forced or not ------------------------------ */
proctype Admin()
{
	xs adminq;
	if
	:: atomic { admin_waiting = true; adminq!STOP }
	:: atomic { admin_waiting = true; adminq!STOPF }
	fi;
	atomic { stop_ans != ANS_NONE -> admin_waiting = false }
}

/* a domain stops: its STOPPED event, or nothing while the connection is
 * down (the event is lost; the reconnect will reconcile) */
inline vm_stopped(i) {
	vm[i] = VM_GONE;
	if
	:: ev_pending[i] = true
	:: reconn_left > 0 -> skip
	fi
}

/* ---- the worker thread: start_run / shutdown_run / cleanup_run ------ */
proctype Worker()
{
	byte i;
	bool ok, gone;
#if TIERS
	bool wimg;
#endif

	xr jobs;
end_worker:
	do
	:: atomic { jobs?J_START,i JOBIMG ->           /* start_run() */
		if
		:: fails < MAXFAIL -> fails++; ok = false   /* disks/XML/domain_start failed: no domain */
		:: vm[i] = VM_UP; ok = true                 /* domain_start() */
		fi;
		results!J_START,i,ok,false                 /* mailbox_post(results) */
	   }
	:: atomic { jobs?J_SHUTDOWN,i JOBIMG ->        /* shutdown_run() */
		if
		:: vm[i] == VM_UP ->
			/* property 4: we stop a VM only when nothing holds it */
			A4(STOP_OK(stop_reason, td_forced));
			shut_req[i] = true; gone = false    /* rc 0 */
		:: else -> gone = true                  /* rc 1: gone */
		fi
	   };
		atomic {
			if
			:: !gone -> gone = (vm[i] != VM_UP) /* domain_state() */
			:: else -> skip
			fi;
			results!J_SHUTDOWN,i,true,gone
		}
	:: atomic { jobs?J_CLEANUP,i JOBIMG ->         /* cleanup_run(): destroy */
		if
		:: vm[i] == VM_UP ->
			A4(STOP_OK(stop_reason, td_forced));
			vm_stopped(i)                       /* STOPPED/DESTROYED */
		:: else -> skip
		fi;
#if TIERS
		if
		:: wimg ->                          /* image_delete(tj->image) */
			/* property 1: each image written is deleted once */
			A1(img[i] == 1);
			img[i] = 0
		:: else -> skip
		fi;
#endif
		results!J_CLEANUP,i,true,false
	   }
#if TIERS
	/* save_run(): instance_own_save_begin(), then virDomainSaveFlags: the
	 * domain goes (its STOPPED/SAVED event follows, or is lost while the
	 * connection is down) and the image is written; or the save fails
	 * (libvirt refuses: the guest runs on; the domain died before or
	 * during the save: a crash, an outside destroy), own_save_cancel()
	 * and the partial file deleted by the job itself (nobody's image:
	 * not modelled).  One step: the counter is raised before the event
	 * can exist, and nothing else touches it meanwhile. */
	:: atomic { jobs?J_SAVE,i JOBIMG ->
		if
		:: vm[i] == VM_UP ->
			/* property 1: no image of this instance is left behind */
			A1(img[i] == 0);
			img[i] = 1;
			own_saves[i]++;
			vm[i] = VM_GONE;
			if
			:: ev_saved[i]++
			:: reconn_left > 0 -> skip         /* the event is lost */
			fi;
			ok = true
		:: vm[i] == VM_UP -> ok = false        /* refused: the guest runs on */
		:: else -> ok = false                   /* the domain is gone */
		fi;
		results!J_SAVE,i,ok,false
	   }
	/* restore_run(): virDomainRestore from the image; once the domain is
	 * back the job deletes the image.  Or the restore fails: refused (no
	 * domain), or the domain started and died at once (a STOPPED event,
	 * one of the MAXCRASH exits). */
	:: atomic { jobs?J_RESTORE,i JOBIMG ->
		/* property 1: the image a restore reads was never deleted */
		A1(wimg && img[i] == 1);
		if
		:: vm[i] = VM_UP; shut_req[i] = false; ok = true
		:: ok = false
		:: crashes < MAXCRASH -> crashes++; ok = false; vm_stopped(i)
		fi;
#ifndef BUG_RESTOREDEL
		if
		:: ok -> img[i] = 0                    /* image_delete() */
		:: else -> skip
		fi;
#else
		/* mutant: the image has been read: delete it whatever the outcome */
		img[i] = 0;
#endif
		results!J_RESTORE,i,ok,false
	   }
#endif
	od
}

/* ---- another worker thread: reconcile_run ----------------------------- */
proctype Reconciler()
{
	byte i;

	xr rjobs;
end_reconciler:
	do
	:: atomic {
		/* domain_state() == VM_GONE, then mailbox_post(results).  One
		 * step: a "not gone" answer is a no-op on the loop wherever it
		 * queues, and a domain once gone stays gone. */
		rjobs?i -> results!J_RECON,i,true,(vm[i] != VM_UP)
	   }
	od
}

/* ---- QEMU and the guest: a VM dies on its own, or obeys a shutdown ----
 * (a crash and an outside virsh destroy are the same here: the domain
 * goes, a STOPPED event follows) */
#if TIERS
#define QEMU_PROBES(n) \
	PROBE(16, reach_crash_saving, saving && cur == n); \
	PROBE(17, reach_crash_restoring, restoring && cur == n)
#else
#define QEMU_PROBES(n) skip
#endif
proctype Qemu()
{
end_qemu:
	do
	:: atomic { crashes < MAXCRASH && vm[0] == VM_UP -> vm_stopped(0); crashes++; QEMU_PROBES(0) }
	:: atomic { crashes < MAXCRASH && vm[1] == VM_UP -> vm_stopped(1); crashes++; QEMU_PROBES(1) }
	:: atomic { shut_req[0] && vm[0] == VM_UP -> vm_stopped(0) }
	:: atomic { shut_req[1] && vm[1] == VM_UP -> vm_stopped(1) }
	od
}

/* ---- the libvirt event thread: session_vm_event() -------------------- */
#ifndef BUG_OWNSAVE
#define OWN_SAVE(n) \
	if \
	:: got && own_saves[n] > 0 -> own_saves[n]--; got = false \
	:: else -> skip \
	fi
#else
/* mutant: our own save's event is taken for an exit like any other */
#define OWN_SAVE(n) skip
#endif
proctype EventThread()
{
	byte i;
	bool got, won;

	xs vmmail;
end_events:
	do
	:: atomic { ev_pending[0] -> ev_pending[0] = false; i = 0; got = indexed[0] } -> goto deliver
	:: atomic { ev_pending[1] -> ev_pending[1] = false; i = 1; got = indexed[1] } -> goto deliver
#if TIERS
	/* a STOPPED/SAVED event: instance_own_save_event() swallows ours (the
	 * index lookup and the count-down are one step: every SAVED event is
	 * one of our saves, counted before it exists) */
	:: atomic { ev_saved[0] > 0 -> ev_saved[0]--; i = 0; got = indexed[0]; OWN_SAVE(0) } -> goto deliver
	:: atomic { ev_saved[1] > 0 -> ev_saved[1]--; i = 1; got = indexed[1]; OWN_SAVE(1) } -> goto deliver
#endif
	od;
	/* the event picked up with instance_index_get() (mutex), then: */
deliver:
	if
	:: !got -> skip                       /* not ours any more */
	:: else ->
		claim(i, D_EXIT_CLAIMED, won);    /* instance_claim_spontaneous_exit() */
		atomic {
			if
			:: won -> g_closed = true; crash_closed = true   /* lease_gate_close() */
			:: else -> skip
			fi;
			PROBE(7, reach_event_lost, !won && disp[i] == D_EXIT_CLAIMED);
			vmmail!i,won                  /* mailbox_post(core->vm_events) */
		}
	fi;
	goto end_events
}

/* ---- quiescence: nothing else can move ------------------------------ */
active proctype Quiescence()
{
	timeout ->
	d_step {
#if TIERS
		/* 1: every instance started was torn down, once, but a
		 * suspended one (it lives on in its image); every image
		 * written was deleted, but the suspended instance's, which
		 * the session records */
		A1(next_inst < 1 || teardowns[0] == 1 || (cur == 0 && state == S_SUSPENDED && teardowns[0] == 0));
		A1(next_inst < 2 || teardowns[1] == 1 || (cur == 1 && state == S_SUSPENDED && teardowns[1] == 0));
		A1(img[0] == 0 || (cur == 0 && state == S_SUSPENDED && saved));
		A1(img[1] == 0 || (cur == 1 && state == S_SUSPENDED && saved));
		A1(state != S_SUSPENDED || (saved && disp[cur] == D_SUSPENDED && img[cur] == 1));
		/* 2: nothing left running or pending (a suspended session
		 * keeps its instance, indexed, and no domain) */
		A2((cur == NONE || state == S_SUSPENDED) && !job_busy && stop_waiters == 0 && !admin_waiting);
		A2(vm[0] != VM_UP && vm[1] != VM_UP);
		A2(g_closed || state == S_RUNNING);     /* the gate is open only while running */
		A2((!indexed[0] || (cur == 0 && state == S_SUSPENDED)) && (!indexed[1] || (cur == 1 && state == S_SUSPENDED)));
#else
		/* 1: every instance started was torn down, once */
		A1(next_inst < 1 || teardowns[0] == 1);
		A1(next_inst < 2 || teardowns[1] == 1);
		/* 2: nothing left running or pending */
		A2(cur == NONE && !job_busy && stop_waiters == 0 && !admin_waiting);
		A2(vm[0] != VM_UP && vm[1] != VM_UP);
		A2(g_closed || state == S_RUNNING);     /* the gate is open only while running */
		A2(!indexed[0] && !indexed[1]);
#endif
		A2(aux == AUX_NONE && !ready_on);
		/* 3: no caller left parked or unanswered */
		A3(!any_parked);
		A3(cst[0] != C_WAITING && cst[NCLIENT-1] != C_WAITING);
		/* 6: every hold released, and the gate counted each exactly */
		A6(g_holds == nheld && nheld == 0)
	}
}

init {
	atomic {
		if
		:: policy_restart = true
		:: policy_restart = false
		fi;
#if READY == 2
		if
		:: ready_cfg = true
		:: ready_cfg = false
		fi;
#else
		ready_cfg = (READY == 1);
#endif
#if TIERS == 2
		if
		:: save_cfg = true
		:: save_cfg = false
		fi;
#elif TIERS
		save_cfg = true;
#endif
		run Loop();
		run Worker();
		run Reconciler();
		run Qemu();
		run EventThread();
		run Admin();
		run Client(0);
#if NCLIENT > 1
		run Client(1);
#endif
	}
}

/* property 3 as liveness: a caller waiting for a lease is always answered */
#ifdef LIVENESS
#if NCLIENT > 1
ltl p3 { [] ((cst[0] == C_WAITING -> <> (cst[0] != C_WAITING)) &&
             (cst[1] == C_WAITING -> <> (cst[1] != C_WAITING)) &&
             (admin_waiting -> <> !admin_waiting)) }
#else
ltl p3 { [] ((cst[0] == C_WAITING -> <> (cst[0] != C_WAITING)) &&
             (admin_waiting -> <> !admin_waiting)) }
#endif
#endif
