/*
 * state.c — the session's state machine: its tables, its one writer, and
 * the events it announces.
 *
 * Two enums, one writer each (state_set, state_phase), one table each, and
 * a third table that says which phases belong to which state.  A move the
 * tables forbid is a bug: it asserts in debug builds and is logged and
 * refused otherwise, so an impossible combination never becomes state.
 */
#include "session.h"

#include <assert.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"

static const char *const state_names[SESSION__COUNT] = {
	[SESSION_NEW] = "new",
	[SESSION_STOPPED] = "stopped",
	[SESSION_STARTING] = "starting",
	[SESSION_RUNNING] = "running",
	[SESSION_STOPPING] = "stopping",
	[SESSION_FAILED] = "failed",
	[SESSION_SUSPENDED] = "suspended",
};

static const char *const phase_names[PHASE__COUNT] = {
	[PHASE_IDLE] = "idle",
	[PHASE_RESTART_WAIT] = "restart-wait",
	[PHASE_BOOTING] = "booting",
	[PHASE_BOOTED] = "booted",
	[PHASE_READY_WAIT] = "ready-wait",
	[PHASE_CLAIMED_BOOTING] = "claimed-booting",
	[PHASE_SHUTDOWN] = "shutdown",
	[PHASE_SHUTDOWN_GONE] = "shutdown-gone",
	[PHASE_AWAIT_GONE] = "await-gone",
	[PHASE_CLEANUP] = "cleanup",
	[PHASE_SAVING] = "saving",
	[PHASE_RESTORING] = "restoring",
};

static const char *const event_names[EV__COUNT] = {
	[EV_CREATED] = "created",
	[EV_STARTING] = "starting",
	[EV_RUNNING] = "running",
	[EV_IDLE] = "idle",
	[EV_BUSY] = "busy",
	[EV_STOPPING] = "stopping",
	[EV_STOPPED] = "stopped",
	[EV_CRASHED] = "crashed",
	[EV_FAILED] = "failed",
	[EV_RESET] = "reset",
	[EV_DELETED] = "deleted",
	[EV_SUSPENDED] = "suspended",
};

/* legal_state[from][to] */
static const bool legal_state[SESSION__COUNT][SESSION__COUNT] = {
	/* created (stopped) or loaded (stopped or failed) */
	[SESSION_NEW] = { [SESSION_STOPPED] = true, [SESSION_FAILED] = true },
	/* a start; adoption of a domain that still runs at load; a saved
	 * image found again at load */
	[SESSION_STOPPED] = { [SESSION_STARTING] = true, [SESSION_RUNNING] = true,
			      [SESSION_SUSPENDED] = true },
	/* up; a failed start, a stop during boot, a crash during boot */
	[SESSION_STARTING] = { [SESSION_RUNNING] = true, [SESSION_STOPPING] = true },
	[SESSION_RUNNING] = { [SESSION_STOPPING] = true },
	/* torn down; the terminate crash policy or a crash loop; saved */
	[SESSION_STOPPING] = { [SESSION_STOPPED] = true, [SESSION_FAILED] = true,
			       [SESSION_SUSPENDED] = true },
	/* reset */
	[SESSION_FAILED] = { [SESSION_STOPPED] = true },
	/* a restore; a discard (stop, delete, settings changed) */
	[SESSION_SUSPENDED] = { [SESSION_STARTING] = true, [SESSION_STOPPING] = true },
};

/* legal_phase[from][to]; staying in a phase is no move. */
static const bool legal_phase[PHASE__COUNT][PHASE__COUNT] = {
	[PHASE_IDLE] = { [PHASE_RESTART_WAIT] = true, [PHASE_BOOTING] = true,
			 [PHASE_SHUTDOWN] = true, [PHASE_CLEANUP] = true,
			 [PHASE_SAVING] = true, [PHASE_RESTORING] = true },
	[PHASE_RESTART_WAIT] = { [PHASE_IDLE] = true, [PHASE_BOOTING] = true },
	[PHASE_BOOTING] = { [PHASE_BOOTED] = true, [PHASE_READY_WAIT] = true,
			    [PHASE_IDLE] = true, [PHASE_CLAIMED_BOOTING] = true },
	[PHASE_BOOTED] = { [PHASE_CLEANUP] = true },
	[PHASE_READY_WAIT] = { [PHASE_IDLE] = true, [PHASE_SHUTDOWN] = true,
			       [PHASE_CLEANUP] = true },
	[PHASE_CLAIMED_BOOTING] = { [PHASE_SHUTDOWN] = true, [PHASE_CLEANUP] = true },
	[PHASE_SHUTDOWN] = { [PHASE_SHUTDOWN_GONE] = true, [PHASE_AWAIT_GONE] = true,
			     [PHASE_CLEANUP] = true },
	[PHASE_SHUTDOWN_GONE] = { [PHASE_CLEANUP] = true },
	[PHASE_AWAIT_GONE] = { [PHASE_CLEANUP] = true },
	/* torn down: stopped, or waiting out a restart's back-off */
	[PHASE_CLEANUP] = { [PHASE_IDLE] = true, [PHASE_RESTART_WAIT] = true },
	/* saved (suspended); a failed save stops the guest as an idle stop
	 * would; a stop or delete asked meanwhile discards the image */
	[PHASE_SAVING] = { [PHASE_IDLE] = true, [PHASE_SHUTDOWN] = true,
			   [PHASE_CLEANUP] = true },
	/* restored; failed or crashed (a claim's exit tears down); claimed
	 * by a stop while the job ran */
	[PHASE_RESTORING] = { [PHASE_IDLE] = true, [PHASE_BOOTED] = true,
			      [PHASE_CLAIMED_BOOTING] = true },
};

/* fits[state][phase]: the phases a state may be in. */
static const bool fits[SESSION__COUNT][PHASE__COUNT] = {
	[SESSION_NEW] = { [PHASE_IDLE] = true },
	[SESSION_STOPPED] = { [PHASE_IDLE] = true, [PHASE_RESTART_WAIT] = true },
	[SESSION_STARTING] = { [PHASE_BOOTING] = true, [PHASE_BOOTED] = true,
			       [PHASE_READY_WAIT] = true, [PHASE_RESTORING] = true },
	[SESSION_RUNNING] = { [PHASE_IDLE] = true },
	[SESSION_STOPPING] = { [PHASE_CLAIMED_BOOTING] = true, [PHASE_SHUTDOWN] = true,
			       [PHASE_SHUTDOWN_GONE] = true, [PHASE_AWAIT_GONE] = true,
			       [PHASE_CLEANUP] = true, [PHASE_SAVING] = true },
	[SESSION_FAILED] = { [PHASE_IDLE] = true },
	[SESSION_SUSPENDED] = { [PHASE_IDLE] = true },
};

const char *state_name(enum session_state st)
{
	return (unsigned)st < SESSION__COUNT ? state_names[st] : "invalid";
}

int state_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < SESSION__COUNT; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

const char *state_phase_name(enum session_phase ph)
{
	return (unsigned)ph < PHASE__COUNT ? phase_names[ph] : "invalid";
}

const char *state_event_name(enum session_event ev)
{
	return (unsigned)ev < EV__COUNT ? event_names[ev] : "invalid";
}

bool state_legal(enum session_state from, enum session_state to)
{
	return (unsigned)from < SESSION__COUNT && (unsigned)to < SESSION__COUNT &&
	       legal_state[from][to];
}

bool state_phase_legal(enum session_phase from, enum session_phase to)
{
	return (unsigned)from < PHASE__COUNT && (unsigned)to < PHASE__COUNT &&
	       (from == to || legal_phase[from][to]);
}

bool state_phase_fits(enum session_state st, enum session_phase ph)
{
	return (unsigned)st < SESSION__COUNT && (unsigned)ph < PHASE__COUNT && fits[st][ph];
}

bool state_job_busy(const struct session *s)
{
	switch (s->phase) {
	case PHASE_BOOTING:
	case PHASE_CLAIMED_BOOTING:
	case PHASE_SHUTDOWN:
	case PHASE_SHUTDOWN_GONE:
	case PHASE_CLEANUP:
	case PHASE_SAVING:
	case PHASE_RESTORING:
		return true;
	default:
		return false;
	}
}

void state_notify(struct session *s, enum session_event ev, json_t *extra)
{
	struct core *core = s->core;
	char when[TIME_RFC3339_LEN];

	if (core->hooks == NULL || core->hooks->event == NULL || ev == EV_NONE ||
	    (core->hooks->listening != NULL && !core->hooks->listening(s, core->hooks_arg))) {
		json_decref(extra);
		return;
	}
	time_rfc3339(wall_now(), when, sizeof when);
	json_t *p = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}",
			      "name", s->name, "owner_uid", (int)s->owner,
			      "event", state_event_name(ev), "state", state_name(s->state),
			      "time", when, "id", s->id);
	json_object_set_new(p, "instance", s->inst ? json_string(s->inst->id) : json_null());
	if (extra != NULL)
		json_object_update(p, extra);
	json_decref(extra);
	core->hooks->event(s, p, core->hooks_arg);
	json_decref(p);
}

static bool refuse(struct session *s, const char *what, const char *from, const char *to)
{
	log_err("session %s: illegal %s %s -> %s (bug)", s->key, what, from, to);
	assert(!"illegal session state transition");
	return false;
}

/* Both tables, and the pair they end in. */
static bool may_move(struct session *s, enum session_state to, enum session_phase phase)
{
	if (to != s->state && !state_legal(s->state, to))
		return refuse(s, "transition", state_name(s->state), state_name(to));
	if (!state_phase_legal(s->phase, phase))
		return refuse(s, "phase", state_phase_name(s->phase), state_phase_name(phase));
	if (!state_phase_fits(to, phase))
		return refuse(s, "state and phase", state_name(to), state_phase_name(phase));
	return true;
}

/* The REASON= of a state change: the event's reason (idle, request,
 * delete, ...), else its detail (how a VM ended). */
static const char *change_reason(json_t *extra)
{
	const char *r = json_string_value(json_object_get(extra, "reason"));

	return r != NULL ? r : json_string_value(json_object_get(extra, "detail"));
}

void state_set(struct session *s, enum session_state to, enum session_phase phase,
	       enum session_event ev, json_t *extra)
{
	enum session_state from = s->state;

	if (!may_move(s, to, phase)) {
		json_decref(extra);
		return;
	}
	if (phase != s->phase)
		log_debug("session %s: phase %s -> %s", s->key, state_phase_name(s->phase),
			  state_phase_name(phase));
	if (!list_empty(&s->node)) {       /* registered: keep the counts */
		s->core->nstate[from]--;
		s->core->nstate[to]++;
	}
	s->state = to;
	s->phase = phase;
	/* After the move, so the journal's STATE= is the new state. */
	if (from != to)
		session_log_id(s, LOG_LVL_INFO, SESSION_MSGID_STATE, change_reason(extra),
			       "%s -> %s%s%s%s", state_name(from), state_name(to),
			       ev != EV_NONE ? " (event " : "", ev != EV_NONE ? state_event_name(ev) : "",
			       ev != EV_NONE ? ")" : "");
	/* The gate is open only while running.  Every other state closes it
	 * here, so no path can leave a stopped or failed session with an open
	 * gate (a crash claimed while a start completes closes the gate on
	 * the event thread; a grant racing that close must not survive it). */
	if (to != SESSION_RUNNING)
		lease_gate_close(&s->lp.gate);
	state_notify(s, ev, extra);
}

void state_phase(struct session *s, enum session_phase to)
{
	if (to == s->phase || !may_move(s, s->state, to))
		return;
	log_debug("session %s: phase %s -> %s", s->key, state_phase_name(s->phase),
		  state_phase_name(to));
	s->phase = to;
}
