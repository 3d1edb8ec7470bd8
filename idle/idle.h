/*
 * idle.h — the idle tracker: from "nothing holds the VM" to "stop it".
 *
 * Contract (loop thread unless said otherwise):
 *  - The tracker watches one lease_gate.  While it is enabled (the VM is
 *    running and idle stop applies), a gate that is open with 0 holds arms
 *    the grace timer at now + grace; any hold disarms it.
 *  - Anti-thrash: every release that brings the holds back to 0 re-arms the
 *    full grace from that moment, so work in bursts never sees a stop in
 *    between.  The tracker remembers the gate word it armed on; a release
 *    changes the word's generation even if the count is 0 again.
 *  - On expiry it closes the gate with lease_gate_close_idle(snapshot).  If
 *    that CAS fails, something held the VM since: re-evaluate, no stop.  If
 *    it succeeds, no lease can enter any more and ops->expired() runs; the
 *    owner claims the expected stop and stops the VM.
 *  - idle_poke() is the one entry point for other threads (the gate's edge
 *    callback): it only activates an event; the loop re-evaluates.
 *  - grace < 0 means "never": the tracker stays disarmed.
 */
#ifndef SESSIOND_IDLE_H
#define SESSIOND_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "../lease/lease.h"

struct event_base;
struct event;
struct idle;

struct idle_ops {
	/* The gate is now closed by us: stop the VM. */
	void (*expired)(struct idle *id, void *arg);
	/* Armed (deadline = monotonic seconds) or disarmed (deadline 0). */
	void (*changed)(struct idle *id, double deadline, void *arg);
};

struct idle {
	struct lease_gate *gate;
	struct event_base *base;
	struct event *timer;                /* the grace deadline */
	struct event *recheck;              /* activated by idle_poke() */
	const struct idle_ops *ops;
	void *arg;
	double grace;                       /* seconds; < 0: never */
	double deadline;                    /* monotonic; 0 when disarmed */
	uint64_t snap;                      /* gate word the timer was armed on */
	_Atomic bool poke_pending;          /* recheck activated, not yet run */
	bool enabled;
};

#define IDLE_NEVER (-1.0)

void idle_init(struct idle *id, struct event_base *base, struct lease_gate *gate,
	       const struct idle_ops *ops, void *arg);
void idle_fini(struct idle *id);
void idle_set_grace(struct idle *id, double grace);
/* Enables or disables the tracker and re-evaluates at once. */
void idle_enable(struct idle *id, bool on);
void idle_recheck(struct idle *id);
/* Any thread. */
void idle_poke(struct idle *id);
static inline double idle_deadline(const struct idle *id) { return id->deadline; }

#endif
