/*
 * idle.c — the grace timer and the stop decision (see idle.h).
 * Modelled by tests/model/disposition.pml (inlines idle_recheck,
 * idle_disarm, idle_set_grace, idle_enable and the Loop's grace timer).
 */
#include "idle.h"

#include <event2/event.h>
#include <stdlib.h>

#include "../common/log.h"
#include "../common/loop.h"
#include "../common/timeutil.h"

static void idle_timer_cb(evutil_socket_t fd, short what, void *arg);
static void idle_recheck_cb(evutil_socket_t fd, short what, void *arg);

void idle_init(struct idle *id, struct event_base *base, struct lease_gate *gate,
	       const struct idle_ops *ops, void *arg)
{
	id->gate = gate;
	id->base = base;
	id->timer = NULL;
	id->recheck = NULL;
	id->ops = ops;
	id->arg = arg;
	id->grace = 300;
	id->deadline = 0;
	id->snap = 0;
	id->enabled = false;
	atomic_init(&id->poke_pending, false);
	/* Both events exist from the start: idle_poke() may come from any
	 * thread and must not race a lazy creation. */
	id->timer = evtimer_new(base, idle_timer_cb, id);
	id->recheck = event_new(base, -1, 0, idle_recheck_cb, id);
	if (id->timer == NULL || id->recheck == NULL)
		fatal("out of memory creating idle events");
	/* A deadline: ahead of work queued on the loop (common/loop.h). */
	event_priority_set(id->timer, LOOP_PRIO_TIMELY);
}

void idle_fini(struct idle *id)
{
	if (id->timer != NULL)
		event_free(id->timer);
	if (id->recheck != NULL)
		event_free(id->recheck);
	id->timer = NULL;
	id->recheck = NULL;
	id->deadline = 0;
	id->enabled = false;
}

void idle_set_grace(struct idle *id, double grace)
{
	id->grace = grace;
	if (id->deadline != 0)
		id->snap = ~(uint64_t)0;    /* force a fresh arm with the new grace */
	idle_recheck(id);
}

void idle_enable(struct idle *id, bool on)
{
	id->enabled = on;
	idle_recheck(id);
}

static void idle_disarm(struct idle *id)
{
	if (id->deadline == 0)
		return;
	evtimer_del(id->timer);
	id->deadline = 0;
	if (id->ops->changed != NULL)
		id->ops->changed(id, 0, id->arg);
}

static void idle_arm(struct idle *id, uint64_t snap)
{
	struct timeval tv = tv_from_seconds(id->grace);

	/* Timers are relative to the loop's cached time, taken before this
	 * iteration's callbacks ran: refresh it, or the VM could be stopped
	 * before the deadline we announce. */
	event_base_update_cache_time(id->base);
	evtimer_add(id->timer, &tv);
	id->snap = snap;
	id->deadline = mono_now() + id->grace;
	if (id->ops->changed != NULL)
		id->ops->changed(id, id->deadline, id->arg);
}

void idle_recheck(struct idle *id)
{
	uint64_t snap = lease_gate_snapshot(id->gate);

	if (!id->enabled || id->grace < 0 || !lease_gate_open_of(snap) ||
	    lease_gate_holds_of(snap) != 0) {
		idle_disarm(id);
		return;
	}
	/* Still the same idle period: keep the deadline we gave. */
	if (id->deadline != 0 && snap == id->snap)
		return;
	idle_arm(id, snap);
}

static void idle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle *id = arg;

	(void)fd;
	(void)what;
	/* libevent's timers run on its own clock (on Linux possibly
	 * CLOCK_MONOTONIC_COARSE, a tick behind) and from a cached loop
	 * time, so a timer can fire a little before the deadline we
	 * announced.  The grace is a promise: wait out the rest. */
	if (id->enabled && id->deadline != 0) {
		double left = id->deadline - mono_now();

		if (left > 0) {
			struct timeval tv = tv_from_seconds(left + 1e-6);

			event_base_update_cache_time(id->base);
			evtimer_add(id->timer, &tv);
			return;
		}
	}
	if (!id->enabled || !lease_gate_close_idle(id->gate, id->snap)) {
		/* Held, or released since we armed (the generation moved):
		 * not idle for a full grace.  Re-evaluate from the gate. */
		idle_recheck(id);
		return;
	}
	id->deadline = 0;
	id->enabled = false;
	id->ops->expired(id, id->arg);
}

static void idle_recheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle *id = arg;

	(void)fd;
	(void)what;
	/* Cleared before the gate is read: an edge after this pokes again,
	 * one before it is in the snapshot idle_recheck() takes. */
	atomic_store(&id->poke_pending, false);
	idle_recheck(id);
}

/* Only the first edge since the last recheck activates the event (which
 * takes libevent's lock); later ones are seen by that recheck. */
void idle_poke(struct idle *id)
{
	if (!atomic_exchange(&id->poke_pending, true))
		event_active(id->recheck, 0, 0);
}
