/*
 * disposition.pml — a Promela model of sessiond's VM lifecycle protocol:
 * the hold gate (lease/lease.c), the instance disposition CAS
 * (lease/instance.c), the idle tracker (idle/idle.c) and the actors of
 * sessiond/lifecycle.c.  Checked with spin by tests/model/check.sh; the
 * README next to this file maps every model element to its C function.
 *
 * Actors (one proctype each, as in the daemon's threads):
 *   Loop        the libevent loop thread: RPC handlers (lease acquire and
 *               release, session.stop), the idle grace timer, the idle
 *               recheck event, the stop timeout, the restart timer, and the
 *               two mailboxes it drains (worker results, VM event mails).
 *   Client(c)   a lease/token client: token.acquire -> parked or held ->
 *               token.release; or a client whose connection closes while
 *               it waits (acquire_lost / tokens_conn_close).
 *   Admin       one session.stop request, forced or not.
 *   Worker      the worker thread running start_run, shutdown_run and
 *               cleanup_run (it is what makes the libvirt domain exist and
 *               go away).
 *   Qemu        the environment: a VM dies on its own (crash, killed QEMU)
 *               at any moment it is up, and a guest asked to shut down may
 *               power off at any later moment (or never).
 *   EventThread the libvirt event thread: session_vm_event() for every
 *               STOPPED lifecycle event, delivered at any later moment.
 *   Quiescence  fires only when nothing else can move (spin's timeout) and
 *               checks the end-state properties.
 *
 * Atomicity: a d_step/atomic block stands for one atomic instruction of the
 * C code (fetch-add, fetch-or, fetch-and, compare-exchange, an atomic load,
 * a mutex-protected section, a mailbox post).  A few atomic blocks group
 * statements that touch only state owned by the loop thread (struct
 * session, struct idle, the parked list): those commute with every step of
 * every other thread, so grouping them removes no behaviour; each such
 * group holds at most one access to state another thread writes.
 *
 * Bounds (override with -D on the spin command line, see check.sh):
 *   NINST      2  instances, in sequence (instance ids 0, 1).  A third start
 *                 is not modelled: start_instance() with no id left fails
 *                 the parked callers (a model-only "budget" answer).
 *   NCLIENT    2  lease/token clients (1 or 2).
 *   ROUNDS     1  acquire/release rounds per client.
 *   MAXCRASH   1  spontaneous VM exits in a run.
 *   MAXFAIL    1  failed starts in a run.
 *   CRASH_LOOP_MAX 1  (C: 5) crashes tolerated by the restart policy
 *                 before the session fails; scaled down with MAXCRASH.
 *   Timing is abstracted: every timer (grace, stop timeout, restart
 *   backoff) may fire at any moment while it is armed (idle_timer_cb
 *   re-adding itself when it fires before the announced deadline is the
 *   grace timer not having fired yet).  The crash policy
 *   (terminate or restart) is chosen nondeterministically at start.
 *
 * Properties (PROP selects one; 0 checks all; see check.sh):
 *   1  every instance is torn down exactly once
 *   2  no deadlock: every run ends quiescent (no VM up, no job, no waiter)
 *   3  no lost wake-up: no caller stays parked (plus the LTL claim p3)
 *   4  a VM is never stopped while a lease/token is held; an idle stop
 *      closes the gate only if no hold was taken since the grace was armed
 *   5  no lease is granted on a gate that a crash has closed
 *
 * Variants:
 *   BUG_GRANT     lease_point_grant() without the may_grant() re-check (the
 *                 code before it was added: this model found that window,
 *                 property 5, and the code now closes it).
 *   BUG_NOCAS     instance_claim() as a load then a store (not a CAS).
 *   BUG_LOSER     the loser of the claim also tears down.
 *   BUG_NOGEN     lease_gate_leave() does not bump the generation.
 *   BUG_NOKICK    finish_teardown() does not kick() parked callers.
 *   BUG_NODEFER   start_done() forgets a teardown deferred by job_busy.
 *   BUG_NOCHECK   to_running() without the disposition check and
 *                 session_set_state() without the gate close (the code
 *                 before commit 8aac116).
 *
 * Memory tiers (-DTIERS; session/tiers.c, issue 14): the session may save
 * on idle (idle_action save, chosen at init) instead of stopping.  Every
 * part of it is in the "TIERS" blocks and the tiers_* inlines below, kept
 * apart from the rest so the base model reads (and changes) as before:
 * the idle stop's owner saves (J_SAVE); saved, the instance is parked
 * (D_SUSPENDED, state S_SUSPENDED) with its image; a caller restores it
 * (J_RESTORE, the same instance id) or a stop discards it; a restore or a
 * save may fail; the VM may crash during either; our own save's STOPPED
 * event may come late.  Extra property (with TIERS):
 *   6  an exit is claimed only for a VM that is gone (our own save's late
 *      STOPPED event never claims the restored VM)
 * and property 1 covers the images: each image is deleted once, and none
 * is left but a suspended session's.
 *   BUG_OWNSAVE   the event thread does not count our own saves' events.
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
#define MAXCRASH 1
#endif
#ifndef MAXFAIL
#define MAXFAIL 1
#endif
#ifndef CRASH_LOOP_MAX
#define CRASH_LOOP_MAX 1
#endif
#ifndef PROP
#define PROP 0
#endif
#ifndef MAXSAVE
#define MAXSAVE 2         /* TIERS: saves that write an image, per run */
#endif
#ifndef MAXSFAIL
#define MAXSFAIL 1        /* TIERS: saves libvirt refuses */
#endif
#ifndef MAXRFAIL
#define MAXRFAIL 1        /* TIERS: restores libvirt refuses (a bad image) */
#endif

/* ---- property switches ------------------------------------------------ */
#if PROP == 0 || PROP == 1
#define A1(x) assert(x)
#else
#define A1(x) skip
#endif
#if PROP == 0 || PROP == 2
#define A2(x) assert(x)
#else
#define A2(x) skip
#endif
#if PROP == 0 || PROP == 3
#define A3(x) assert(x)
#else
#define A3(x) skip
#endif
#if PROP == 0 || PROP == 4
#define A4(x) assert(x)
#else
#define A4(x) skip
#endif
#if PROP == 0 || PROP == 5
#define A5(x) assert(x)
#else
#define A5(x) skip
#endif
#if PROP == 0 || PROP == 6
#define A6(x) assert(x)
#else
#define A6(x) skip
#endif

#define NONE 255

/* enum disposition (lease/lease.h) */
#define D_ACTIVE         0
#define D_STOP_REQUESTED 1
#define D_EXIT_CLAIMED   2
#define D_SUSPENDED      3   /* TIERS */

/* enum session_state (sessiond/session.h) */
#define S_STOPPED  0
#define S_STARTING 1
#define S_RUNNING  2
#define S_STOPPING 3
#define S_FAILED   4
#define S_SUSPENDED 5        /* TIERS */

/* enum lease_state (lease/lease.h) */
#define L_FREE   0
#define L_PARKED 1
#define L_HELD   2

/* enum lease_gate_rc (lease/lease.h) */
#define WAS_CLOSED     0
#define ENTERED        1
#define ENTERED_FIRST  2

/* enum teardown_kind (sessiond/session.h) */
#define TD_NONE     0
#define TD_EXPECTED 1
#define TD_EXIT     2

/* s->stop_reason */
#define R_NONE         0
#define R_IDLE         1
#define R_REQUESTED    2
#define R_START_FAILED 3
#define R_RESTORE_FAILED 4   /* TIERS */

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
mtype = { J_START, J_SHUTDOWN, J_CLEANUP };       /* worker jobs */
#ifdef TIERS
mtype = { J_SAVE, J_RESTORE };                    /* worker jobs (tiers.c) */
#endif

/* ---- channels: the transports between threads ----------------------- */
chan rpc[NCLIENT] = [2] of { mtype };              /* one connection each */
chan adminq = [1] of { mtype };                    /* session.stop */
chan jobs = [1] of { mtype, byte };                /* workers_submit() */
chan results = [1] of { mtype, byte, bool, bool }; /* worker results mailbox: job, inst, rc>=0, gone */
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
bool shut_req[NINST];     /* virDomainShutdown was sent: the guest may power off */
byte crashes = 0;
byte fails = 0;

/* ---- struct session (loop thread only) ------------------------------ */
byte state = S_STOPPED;
byte cur = NONE;          /* s->inst */
byte next_inst = 0;       /* instance_new(): the next id */
bool job_busy = false;
bool awaiting_gone = false;
bool inst_gone = false;
bool stop_timer = false;  /* s->stop_timer armed */
bool restart_pending = false;
bool reached_running = false;
byte teardown = TD_NONE;
byte stop_reason = R_NONE;
byte stop_waiters = 0;
byte ncrash = 0;          /* record_crash() window, unbounded time: a count */
bool policy_restart;      /* s->set.crash_policy, chosen at init */

/* ---- struct idle (loop thread only) ---------------------------------- */
bool id_enabled = false;
bool id_deadline = false; /* id->deadline != 0 */
bool id_timer = false;    /* the evtimer is pending */
bool snap_bogus = false;  /* id->snap = ~0 (idle_set_grace: force a re-arm) */
byte snap_gen = 0;        /* id->snap is always (open, 0 holds, snap_gen) */
bool id_poked = false;    /* the recheck event is active (idle_poke) */

/* ---- the parked list and the callers -------------------------------- */
byte lst[NCLIENT];        /* struct lease state of each client's token */
byte ans[NCLIENT];        /* last answer delivered to the client */
byte cst[NCLIENT];        /* client status (LTL) */
byte stop_ans = ANS_NONE; /* answer to the admin's session.stop */
bool admin_waiting = false;

/* ---- ghosts (no counterpart in C; they only feed assertions) --------- */
byte nheld = 0;           /* clients whose lease is HELD */
bool busy_since_arm = false; /* a hold was counted since the grace timer was armed */
bool crash_closed = false;   /* the current instance's crash closed the gate */

#define any_parked (lst[0] == L_PARKED || (NCLIENT > 1 && lst[NCLIENT-1] == L_PARKED))

/* Hooks of the TIERS part in expressions of the base model (spin's
 * preprocessor cannot split an expression across #ifdef lines). */
#ifdef TIERS
#define TIERS_NO_GUEST no_guest
#define TIERS_MOVE(to) ((state == S_STOPPING && to == S_SUSPENDED) || \
			(state == S_SUSPENDED && (to == S_STARTING || to == S_STOPPING)))
#define TIERS_STOPPABLE (state == S_SUSPENDED)
#else
#define TIERS_NO_GUEST false
#define TIERS_MOVE(to) false
#define TIERS_STOPPABLE false
#endif

#ifdef TIERS
/* ---- memory tiers (session/tiers.c) ---------------------------------- */
bool save_policy;         /* s->set.idle_action == save, chosen at init */
bool img_rec[NINST];      /* s->saved: the loop records the image (loop only) */
bool img[NINST];          /* the image file exists (the world) */
byte own_saves[NINST];    /* instance->own_saves (atomic) */
byte ev_saved[NINST];     /* STOPPED/SAVED events not yet delivered */
byte saves = 0;           /* images written */
byte sfails = 0;          /* saves refused */
byte rfails = 0;          /* restores refused */
bool no_guest = false;    /* the claim is a discard or a failed restore: no shutdown */
#endif

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
		assert(g_holds > 0);        /* "lease released more than acquired" */
		edge = (g_holds == 1);
		g_holds--;
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

/* lease_gate_add(): one fetch-add of HOLD whatever CLOSED says (the loop
 * granting parked callers).  first: the 0->1 edge. */
inline gate_add(first) {
	d_step {
		first = (g_holds == 0);
		g_holds++;
		busy_since_arm = true;
		A5(!crash_closed)
	}
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

/* lease_point_fail(): answers every parked caller with an error. */
inline lease_point_fail() {
	atomic {
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
}

/* lease_point_grant(): opens the gate, then counts each parked caller
 * with lease_gate_add() and calls it back with success. */
inline lease_point_grant() {
#ifdef BUG_GRANT
	/* The code before the grant re-check: open, then grant every
	 * parked caller whatever happened meanwhile. */
	gate_open();
	c = 0;
	do
	:: c < NCLIENT ->
		if
		:: lst[c] == L_PARKED ->
			gate_add(t_first);
			atomic { lst[c] = L_HELD; nheld++; ans[c] = ANS_GRANTED; poke_if(t_first) }
		:: else -> skip
		fi;
		c++
	:: else -> break
	od
#else
	/* lease/lease.c lease_point_grant() with may_grant() of
	 * sessiond/lifecycle.c: open, then re-check the disposition (an exit
	 * claimed before the open is seen here, one claimed after it closes
	 * the gate after the open); grant each parked caller through
	 * lease_gate_enter() so a close that lands during the grant stops it. */
	gate_open();
	d_step { t_disp = disp[cur] };
	if
	:: t_disp != D_ACTIVE -> gate_close()
	:: else ->
		c = 0;
		do
		:: c < NCLIENT ->
			if
			:: lst[c] == L_PARKED ->
				gate_enter(t_rc);
				if
				:: t_rc == WAS_CLOSED -> break      /* the rest stay parked */
				:: else ->
					atomic { lst[c] = L_HELD; nheld++; ans[c] = ANS_GRANTED;
						 poke_if(t_rc == ENTERED_FIRST) }
				fi
			:: else -> skip
			fi;
			c++
		:: else -> break
		od
	fi
#endif
}

/* lease_release() for client cc (HELD: drop the hold; PARKED: unpark). */
inline lease_release(cc) {
	if
	:: lst[cc] == L_HELD ->
		atomic { lst[cc] = L_FREE; nheld-- };
		gate_leave(t_edge);
		poke_if(t_edge)
	:: lst[cc] == L_PARKED -> lst[cc] = L_FREE
	:: else -> skip
	fi
}

/* session_revoke_tokens(): every held token is released. */
inline revoke_tokens() {
	cc = 0;
	do
	:: cc < NCLIENT ->
		if
		:: lst[cc] == L_HELD -> lease_release(cc)   /* token.revoked notification */
		:: else -> skip
		fi;
		cc++
	:: else -> break
	od
}

/* has_holds(): lease_gate_holds() > 0 || lease_point_parked() > 0 */
inline has_holds(h) {
	d_step { h = (g_holds > 0) };
	h = h || any_parked
}

/* ==== sessiond/session.c ============================================== */

/* session_set_state(): legal transitions only; every state but running
 * closes the gate (commit 8aac116). */
inline set_state(to) {
	atomic {
		assert((state == S_STOPPED && to == S_STARTING) ||
		       (state == S_STARTING && (to == S_RUNNING || to == S_STOPPING)) ||
		       (state == S_RUNNING && to == S_STOPPING) ||
		       (state == S_STOPPING && (to == S_STOPPED || to == S_FAILED)) ||
		       (state == S_FAILED && to == S_STOPPED) || TIERS_MOVE(to));
		state = to
	};
#ifndef BUG_NOCHECK
	if
	:: to != S_RUNNING -> gate_close()
	:: else -> skip
	fi
#else
	skip
#endif
}

/* ==== sessiond/lifecycle.c (loop thread) ============================== */

/* start_instance(): a new instance, indexed, state starting, start job. */
inline start_instance() {
	if
	:: next_inst >= NINST ->
		/* MODEL BOUND: no third instance.  Answer the parked callers
		 * (as a crash loop would) so the bound does not look like a
		 * lost wake-up. */
		lease_point_fail()
	:: else ->
		atomic {
			cur = next_inst; next_inst++;
			reached_running = false; inst_gone = false; awaiting_gone = false;
			teardown = TD_NONE; crash_closed = false
		};
		indexed[cur] = true;                     /* instance_index_add() */
		set_state(S_STARTING);
		atomic { job_busy = true; jobs!J_START,cur }
	fi
}

/* kick(): after every teardown and whenever a caller parks (need_vm). */
inline kick() {
	if
	:: state == S_FAILED -> lease_point_fail()
	:: state == S_STOPPED && any_parked && !restart_pending -> start_instance()
#ifdef TIERS
	:: state == S_SUSPENDED && any_parked -> tiers_restore()
#endif
	:: else -> skip
	fi
}

/* submit_phase(): one teardown job; never two jobs at once. */
inline submit_phase(kind) {
	atomic {
		A1(!job_busy && cur != NONE);
		job_busy = true;
		jobs!kind,cur
	}
}

/* submit_teardown(): graceful (shutdown first) for an expected stop that
 * is not a failed start (stop_timeout > 0); destroy at once otherwise. */
inline submit_teardown() {
	if
	:: teardown == TD_EXPECTED && stop_reason != R_START_FAILED && !TIERS_NO_GUEST ->
		submit_phase(J_SHUTDOWN)
	:: else -> submit_phase(J_CLEANUP)
	fi
}

/* expected_stop_claimed() */
inline expected_stop_claimed(reason) {
	gate_close();
	idle_enable(false);
	/* property 4: an idle or requested stop (forced: tokens revoked
	 * first) never stops a VM that a lease or token holds. */
	A4(reason == R_START_FAILED || nheld == 0);
	atomic { stop_reason = reason; teardown = TD_EXPECTED };
#ifdef TIERS
	tiers_first_phase(reason)
#else
	set_state(S_STOPPING);
	if
	:: !job_busy -> submit_teardown()
	:: else -> skip                       /* deferred: start_done runs it */
	fi
#endif
}

/* begin_expected_stop(): close, then claim ACTIVE -> STOP_REQUESTED. */
inline begin_expected_stop(reason) {
	gate_close();
	if
	:: cur == NONE -> skip
	:: else ->
		claim(cur, D_STOP_REQUESTED, t_won);
#ifdef TIERS
		tiers_claim_discard(cur, t_won);
#endif
		if
		:: t_won -> expected_stop_claimed(reason)
		:: else -> skip                  /* the exit path owns it */
		fi
	fi
}

/* to_running() */
inline to_running() {
#ifndef BUG_NOCHECK
	d_step { t_disp = disp[cur] };
	if
	:: t_disp != D_ACTIVE -> skip        /* an exit was claimed: its mail tears down */
	:: else ->
#endif
		atomic { reached_running = true };
		set_state(S_RUNNING);
		idle_set_grace();
		idle_enable(true);
		lease_point_grant();
		idle_recheck()
#ifndef BUG_NOCHECK
	fi
#endif
}

/* start_done(): the start job's completion, on the loop. */
inline start_done(i, ok) {
	job_busy = false;
	A1(i == cur);
	d_step { t_disp = disp[i] };
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
		:: !ok ->
			claim(i, D_STOP_REQUESTED, t_won);
			if
			:: t_won -> expected_stop_claimed(R_START_FAILED)
			:: else ->
				if
				:: teardown != TD_NONE -> submit_teardown()
				:: else -> skip
				fi
			fi
		:: else -> to_running()
		fi
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
		:: ncrash > CRASH_LOOP_MAX -> fail_session()       /* record_crash(): a crash loop */
		:: else ->
			set_state(S_STOPPED);
			has_holds(t_h);
			if
			:: t_h -> restart_pending = true                  /* restart timer armed */
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

/* finish_teardown(): exactly once per instance. */
inline finish_teardown(i) {
	A1(cur != NONE && i == cur);          /* a teardown of the session's instance */
	atomic { stop_timer = false; awaiting_gone = false };
	indexed[cur] = false;                 /* instance_index_remove() */
	atomic {
		A1(teardowns[cur] == 0);          /* property 1: never twice */
		teardowns[cur]++
	};
	if
	:: teardown == TD_EXIT -> after_crash()
	:: else -> after_expected_stop()
	fi;
#ifdef TIERS
	atomic { img_rec[cur] = false; no_guest = false };   /* tiers_forget(): deleted by the cleanup */
#endif
	atomic {
		cur = NONE; teardown = TD_NONE; reached_running = false; inst_gone = false;
		if                                /* complete_waiters(stop_waiters) */
		:: stop_waiters > 0 -> stop_waiters = 0; stop_ans = ANS_DONE
		:: else -> skip
		fi
	};
#ifndef BUG_NOKICK
	kick()
#else
	skip
#endif
}

/* teardown_done() */
inline teardown_done(kind, i, ok, gone) {
	job_busy = false;
	if
	:: kind == J_CLEANUP -> finish_teardown(i)
	:: kind == J_SHUTDOWN && (gone || inst_gone || !ok) -> submit_phase(J_CLEANUP)
	:: else -> awaiting_gone = true; stop_timer = true   /* the STOPPED event or the timer ends it */
	fi
}

/* on_exit_claimed(): the loop side of a spontaneous exit. */
inline on_exit_claimed() {
	idle_enable(false);
	atomic { teardown = TD_EXIT; inst_gone = true };
	set_state(S_STOPPING);
	if
	:: !job_busy -> submit_teardown()
	:: else -> skip                      /* deferred: start_done runs it */
	fi
}

/* on_gone(): the domain of an instance being stopped is gone. */
inline on_gone() {
	inst_gone = true;
	if
	:: awaiting_gone -> awaiting_gone = false; stop_timer = false; submit_phase(J_CLEANUP)
	:: else -> skip
	fi
}

/* ==== memory tiers: session/tiers.c (loop thread) ===================== *
 * Everything below up to the loop thread belongs to -DTIERS. */
#ifdef TIERS

/* claimed() -> first_phase(): the idle stop of a saving session saves
 * (tiers_wants_save); every other claim goes on as without tiers. */
inline tiers_first_phase(reason) {
	if
	:: reason == R_IDLE && save_policy && state == S_RUNNING && !job_busy ->
		set_state(S_STOPPING);
		submit_phase(J_SAVE)
	:: else ->
		set_state(S_STOPPING);
		if
		:: !job_busy -> submit_teardown()
		:: else -> skip                  /* deferred: start_done runs it */
		fi
	fi
}

/* instance_claim_expected_stop() from SUSPENDED: a discard.  Only the
 * loop moves a suspended instance, so this is no race. */
inline tiers_claim_discard(i, won) {
	if
	:: !won ->
		d_step {
			if
			:: disp[i] == D_SUSPENDED -> disp[i] = D_STOP_REQUESTED; won = true; no_guest = true
			:: else -> skip
			fi
		}
	:: else -> skip
	fi
}

/* save_done(): saved -> suspended (instance_suspend) unless a stop came
 * meanwhile (the image goes with the instance); refused or the VM gone ->
 * a normal stop. */
inline tiers_save_done(i, ok) {
	job_busy = false;
	A1(i == cur);
	if
	:: !ok -> submit_phase(J_SHUTDOWN)
	:: ok && stop_waiters > 0 -> img_rec[i] = true; submit_phase(J_CLEANUP)
	:: ok && stop_waiters == 0 ->
		img_rec[i] = true;
		d_step { A1(disp[i] == D_STOP_REQUESTED); disp[i] = D_SUSPENDED };
		atomic { teardown = TD_NONE; stop_reason = R_NONE };
		set_state(S_SUSPENDED);
		kick()
	fi
}

/* tiers_restore(): instance_resume(), state starting, the restore job. */
inline tiers_restore() {
	d_step { A1(disp[cur] == D_SUSPENDED); disp[cur] = D_ACTIVE };
	atomic { reached_running = false; inst_gone = false; awaiting_gone = false;
		 teardown = TD_NONE; crash_closed = false };
	set_state(S_STARTING);
	atomic { job_busy = true; jobs!J_RESTORE,cur }
}

/* restore_done(): as start_done(); a refused restore tears the instance
 * down like a failed start (no guest), but the callers stay parked for
 * the cold boot that follows. */
inline tiers_restore_done(i, ok) {
	job_busy = false;
	A1(i == cur);
	if
	:: ok -> img_rec[i] = false          /* the job deleted it */
	:: else -> skip
	fi;
	d_step { t_disp = disp[i] };
	if
	:: t_disp != D_ACTIVE ->
		if
		:: teardown != TD_NONE -> submit_teardown()
		:: else -> skip                  /* the exit mail submits it */
		fi
	:: else ->
		if
		:: !ok ->
			claim(i, D_STOP_REQUESTED, t_won);
			if
			:: t_won -> no_guest = true; expected_stop_claimed(R_RESTORE_FAILED)
			:: else ->
				if
				:: teardown != TD_NONE -> submit_teardown()
				:: else -> skip
				fi
			fi
		:: else -> to_running()
		fi
	fi
}

#endif /* TIERS */

/* ---- the loop thread -------------------------------------------------- */
proctype Loop()
{
	byte c, cc, i, t_holds, t_gen, t_rc, t_disp;
	bool t_closed, t_edge, t_first, t_won, t_h, ok, gone, won, t_ok;
	mtype k;

end_loop:
	do
	/* ---- RPC: token.acquire -> lease_acquire() ---- */
	:: rpc[0]?ACQ -> cc = 0; goto acquire
#if NCLIENT > 1
	:: rpc[1]?ACQ -> cc = 1; goto acquire
#endif
	/* ---- RPC: token.release / connection closed -> lease_release() ---- */
	:: rpc[0]?REL -> lease_release(0)
	:: rpc[0]?DISC -> lease_release(0)
#if NCLIENT > 1
	:: rpc[1]?REL -> lease_release(1)
	:: rpc[1]?DISC -> lease_release(1)
#endif
	/* ---- RPC: session.stop -> session_stop() ---- */
	:: adminq?k ->
		if
		:: state == S_STOPPED || state == S_FAILED -> stop_ans = ANS_DONE
		:: state == S_STOPPING -> stop_waiters++
		:: state == S_STARTING || state == S_RUNNING || TIERS_STOPPABLE ->
			has_holds(t_h);
			if
			:: k == STOP && t_h -> stop_ans = ANS_CONFLICT
			:: else ->
				stop_waiters++;
				if
				:: k == STOPF -> lease_point_fail(); revoke_tokens()
				:: else -> skip
				fi;
				begin_expected_stop(R_REQUESTED)
			fi
		fi
	/* ---- worker results mailbox -> start_done() / teardown_done() ---- */
	:: results?k,i,t_ok,gone ->
		if
		:: k == J_START -> start_done(i, t_ok)
#ifdef TIERS
		:: k == J_SAVE -> tiers_save_done(i, t_ok)
		:: k == J_RESTORE -> tiers_restore_done(i, t_ok)
#endif
		:: else -> teardown_done(k, i, t_ok, gone)
		fi
	/* ---- VM event mailbox -> session_vm_event_mail() ---- */
	:: vmmail?i,won ->
		if
		:: cur == i ->
			if
			:: won -> on_exit_claimed()
			:: else ->
#ifdef BUG_LOSER
				/* mutant: the loser tears down as well */
				on_exit_claimed()
#else
				d_step { t_disp = disp[i] };
				if
				:: t_disp == D_STOP_REQUESTED -> on_gone()
				:: else -> skip
				fi
#endif
			fi
		:: else -> skip                  /* an older instance: nothing */
		fi
	/* ---- the grace timer fires -> idle_timer_cb() ---- */
	:: id_timer ->
		id_timer = false;
		if
		:: !id_enabled -> idle_recheck()
		:: else ->
			gate_close_idle(ok);
			if
			:: !ok -> idle_recheck()
			:: else ->
				atomic { id_deadline = false; id_enabled = false };
				begin_expected_stop(R_IDLE)   /* idle_expired() */
			fi
		fi
	/* ---- the recheck event (idle_poke) -> idle_recheck_cb() ---- */
	:: id_poked -> id_poked = false; idle_recheck()
	/* ---- the stop timeout -> stop_timeout_cb() ---- */
	:: stop_timer ->
		stop_timer = false;
		if
		:: awaiting_gone -> awaiting_gone = false; submit_phase(J_CLEANUP)
		:: else -> skip
		fi
	/* ---- the restart backoff -> restart_cb() ---- */
	:: restart_pending ->
		restart_pending = false;
		has_holds(t_h);
		if
		:: state == S_STOPPED && t_h -> start_instance()
		:: else -> skip
		fi
	od;

	/* lease_acquire() for client cc: the fast path, or park + need_vm. */
acquire:
	gate_enter(t_rc);
	if
	:: t_rc != WAS_CLOSED ->
		atomic { lst[cc] = L_HELD; nheld++; ans[cc] = ANS_GRANTED; poke_if(t_rc == ENTERED_FIRST) }
	:: else ->
		lst[cc] = L_PARKED;
		kick()                                  /* need_vm() */
	fi;
	goto end_loop
}

/* ---- a lease/token client ------------------------------------------ */
proctype Client(byte me)
{
	byte r = 0;

#ifdef TIERS
	/* The second client is the next user of a suspended session (its
	 * restore): it comes once the session is suspended, or never. */
	if
	:: me == 1 ->
end_never_suspended:
		(state == S_SUSPENDED)
	:: else -> skip
	fi;
#endif
	do
	:: r < ROUNDS ->
		r++;
		if
		:: /* token.acquire, wait for the answer, use, token.release */
			atomic { ans[me] = ANS_NONE; cst[me] = C_WAITING; rpc[me]!ACQ };
			atomic { ans[me] != ANS_NONE -> cst[me] = C_IDLE };
			if
			:: ans[me] == ANS_GRANTED -> rpc[me]!REL   /* a revoked token: "no token" */
			:: else -> skip
			fi
		:: /* token.acquire, then the connection closes at some point
		    * while it waits (acquire_lost) or holds (tokens_conn_close) */
			atomic { ans[me] = ANS_NONE; rpc[me]!ACQ };
			rpc[me]!DISC;
			break
		fi
	:: else -> break
	od
}

/* ---- session.stop, once, forced or not ------------------------------ */
proctype Admin()
{
	if
	:: atomic { admin_waiting = true; adminq!STOP }
	:: atomic { admin_waiting = true; adminq!STOPF }
	fi;
	atomic { stop_ans != ANS_NONE -> admin_waiting = false }
}

#ifdef TIERS
/* image_delete(): property 1 for images: the file must be there (a
 * second delete of one image is a teardown run twice). */
inline tiers_image_delete_if(i, rec) {
	if
	:: rec -> d_step { A1(img[i]); img[i] = false }
	:: else -> skip
	fi
}

/* save_run(): announce our own STOPPED/SAVED event, then save: written
 * (the domain gone, an event queued) or refused or the VM gone already
 * (the announcement withdrawn). */
inline tiers_save_run(i, ok) {
	d_step { own_saves[i]++ };
	atomic {
		if
		:: vm[i] == VM_UP && saves < MAXSAVE ->
			A4(nheld == 0);
			vm[i] = VM_GONE; img[i] = true; ev_saved[i]++; saves++; ok = true
		:: vm[i] == VM_UP && sfails < MAXSFAIL -> sfails++; ok = false
		:: vm[i] != VM_UP || (saves >= MAXSAVE && sfails >= MAXSFAIL) -> ok = false
		fi
	};
	if
	:: !ok -> d_step { if :: own_saves[i] > 0 -> own_saves[i]-- :: else -> skip fi }
	:: else -> skip
	fi
}

/* restore_run(): the domain back from the image (same instance id), the
 * image deleted; or refused (the image stays). */
inline tiers_restore_run(i, ok) {
	atomic {
		if
		:: img[i] && vm[i] != VM_UP -> vm[i] = VM_UP; ok = true
		:: rfails < MAXRFAIL -> rfails++; ok = false
		:: !(img[i] && vm[i] != VM_UP) -> ok = false
		fi
	};
	if
	:: ok -> tiers_image_delete_if(i, true)
	:: else -> skip
	fi
}
#endif

/* ---- the worker thread: start_run / shutdown_run / cleanup_run ------ */
proctype Worker()
{
	mtype k;
	byte i;
	bool ok, gone;

end_worker:
	do
	:: jobs?k,i ->
		gone = false;
		if
		:: k == J_START ->                         /* start_run() */
			if
			:: fails < MAXFAIL -> fails++; ok = false   /* disks/XML/domain_start failed: no domain */
			:: vm[i] = VM_UP; ok = true                 /* domain_start() */
			fi
		:: k == J_SHUTDOWN ->                      /* shutdown_run() */
			atomic {
				if
				:: vm[i] == VM_UP ->
					/* property 4: we stop a VM only when nothing holds it */
					A4(nheld == 0);
					shut_req[i] = true; ok = true       /* rc 0 */
				:: else -> gone = true; ok = true       /* rc 1: gone */
				fi
			};
			if
			:: !gone -> gone = (vm[i] != VM_UP)     /* domain_state() */
			:: else -> skip
			fi
		:: k == J_CLEANUP ->                       /* cleanup_run(): destroy */
			atomic {
				if
				:: vm[i] == VM_UP ->
					A4(nheld == 0);
					vm[i] = VM_GONE; ev_pending[i] = true   /* STOPPED/DESTROYED */
				:: else -> skip
				fi;
				ok = true
			}
#ifdef TIERS
			;
			tiers_image_delete_if(i, img_rec[i])       /* the image of a suspended instance */
		:: k == J_SAVE -> tiers_save_run(i, ok)
		:: k == J_RESTORE -> tiers_restore_run(i, ok)
#endif
		fi;
		results!k,i,ok,gone                        /* mailbox_post(results) */
	od
}

/* ---- QEMU and the guest: a VM dies on its own, or obeys a shutdown ---- */
proctype Qemu()
{
end_qemu:
	do
	:: atomic { crashes < MAXCRASH && vm[0] == VM_UP -> vm[0] = VM_GONE; ev_pending[0] = true; crashes++ }
	:: atomic { crashes < MAXCRASH && vm[1] == VM_UP -> vm[1] = VM_GONE; ev_pending[1] = true; crashes++ }
	:: atomic { shut_req[0] && vm[0] == VM_UP -> vm[0] = VM_GONE; ev_pending[0] = true }
	:: atomic { shut_req[1] && vm[1] == VM_UP -> vm[1] = VM_GONE; ev_pending[1] = true }
	od
}

/* ---- the libvirt event thread: session_vm_event() -------------------- */
proctype EventThread()
{
	byte i;
	bool got, won;

end_events:
	do
	:: atomic { ev_pending[0] -> ev_pending[0] = false; i = 0 } -> goto deliver
	:: atomic { ev_pending[1] -> ev_pending[1] = false; i = 1 } -> goto deliver
#ifdef TIERS
	/* a STOPPED/SAVED event: ours (counted) is swallowed */
	:: atomic { ev_saved[0] > 0 -> ev_saved[0]--; i = 0 } -> goto deliver_saved
	:: atomic { ev_saved[1] > 0 -> ev_saved[1]--; i = 1 } -> goto deliver_saved
#endif
	od;
#ifdef TIERS
deliver_saved:
	skip;
#ifndef BUG_OWNSAVE
	d_step {
		if
		:: indexed[i] && own_saves[i] > 0 -> own_saves[i]--; got = false
		:: else -> got = true
		fi
	};
	if
	:: !got -> goto end_events            /* instance_own_save_event(): ours */
	:: else -> skip
	fi;
#endif
#endif
deliver:
	got = indexed[i];                     /* instance_index_get() (mutex) */
	if
	:: !got -> skip                       /* not ours any more */
	:: else ->
		claim(i, D_EXIT_CLAIMED, won);    /* instance_claim_spontaneous_exit() */
#ifdef TIERS
		/* property 6: an exit is claimed only for a VM that is gone */
		A6(!won || vm[i] != VM_UP);
#endif
		if
		:: won -> d_step { g_closed = true; crash_closed = true }   /* lease_gate_close() */
		:: else -> skip
		fi;
		vmmail!i,won                      /* mailbox_post(core->vm_events) */
	fi;
	goto end_events
}

/* ---- quiescence: nothing else can move ------------------------------ */
active proctype Quiescence()
{
	timeout ->
#ifdef TIERS
	d_step {
		/* 1: every instance started was torn down once, but for a
		 * suspended one; its image is the only one left */
		A1(next_inst < 1 || teardowns[0] == 1 || (state == S_SUSPENDED && cur == 0));
		A1(next_inst < 2 || teardowns[1] == 1 || (state == S_SUSPENDED && cur == 1));
		A1(img[0] == (state == S_SUSPENDED && cur == 0));
		A1(img[1] == (state == S_SUSPENDED && cur == 1));
		A1(state != S_SUSPENDED || (disp[cur] == D_SUSPENDED && img_rec[cur]));
		/* 2: nothing running or pending */
		A2(!job_busy && stop_waiters == 0 && !admin_waiting);
		A2(cur == NONE || state == S_SUSPENDED);
		A2(vm[0] != VM_UP && vm[1] != VM_UP);
		A2(g_closed || state == S_RUNNING);
		/* 3: no caller left parked or unanswered */
		A3(!any_parked);
		A3(cst[0] != C_WAITING && cst[NCLIENT-1] != C_WAITING);
		A4(g_holds == nheld)
	}
#else
	d_step {
		/* 1: every instance started was torn down, once */
		A1(next_inst < 1 || teardowns[0] == 1);
		A1(next_inst < 2 || teardowns[1] == 1);
		/* 2: nothing left running or pending */
		A2(cur == NONE && !job_busy && stop_waiters == 0 && !admin_waiting);
		A2(vm[0] != VM_UP && vm[1] != VM_UP);
		A2(g_closed || state == S_RUNNING);     /* the gate is open only while running */
		A2(!indexed[0] && !indexed[1]);
		/* 3: no caller left parked or unanswered */
		A3(!any_parked);
		A3(cst[0] != C_WAITING && cst[NCLIENT-1] != C_WAITING);
		/* 4/5: no lease left counted on a stopped session */
		A4(g_holds == nheld)
	}
#endif
}

init {
	atomic {
		if
		:: policy_restart = true
		:: policy_restart = false
		fi;
#ifdef TIERS
		if
		:: save_policy = true
		:: save_policy = false
		fi;
#endif
		run Loop();
		run Worker();
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
