/*
 * lease.c — the hold gate and parked leases (see lease.h, parts 1 and 3).
 *
 * The running path is lease_gate_enter()/lease_gate_leave(): one atomic
 * fetch-add each, no lock, no CAS loop.  Everything that can wait (parking,
 * granting, failing) runs on the loop thread, which owns the parked list.
 */
#include "lease.h"

#include <assert.h>

#include "../common/log.h"

void lease_gate_init(struct lease_gate *g)
{
	atomic_init(&g->word, LEASE_GATE_CLOSED);
}

/* Acquire ordering pairs with the release in lease_gate_open(): a caller
 * that sees the gate open also sees the instance the loop published. */
enum lease_gate_rc lease_gate_enter(struct lease_gate *g)
{
	uint64_t old = atomic_fetch_add_explicit(&g->word, LEASE_GATE_HOLD,
						 memory_order_acq_rel);

	if (old & LEASE_GATE_CLOSED) {
		/* Undo.  A hold counted for an instant on a closed gate is
		 * harmless: nothing stops on a count, only on a snapshot CAS. */
		lease_gate_leave(g);
		return LEASE_GATE_WAS_CLOSED;
	}
	return lease_gate_holds_of(old) == 0 ? LEASE_GATE_ENTERED_FIRST
					     : LEASE_GATE_ENTERED;
}

bool lease_gate_add(struct lease_gate *g)
{
	uint64_t old = atomic_fetch_add_explicit(&g->word, LEASE_GATE_HOLD,
						 memory_order_acq_rel);
	return lease_gate_holds_of(old) == 0;
}

/* One fetch-add drops the hold and bumps the generation together, so an
 * idle snapshot taken before this release can never match again. */
bool lease_gate_leave(struct lease_gate *g)
{
	uint64_t old = atomic_fetch_add_explicit(&g->word,
						 LEASE_GATE_GEN - LEASE_GATE_HOLD,
						 memory_order_acq_rel);
	assert(lease_gate_holds_of(old) > 0 && "lease released more than acquired");
	return lease_gate_holds_of(old) == 1;
}

uint64_t lease_gate_snapshot(const struct lease_gate *g)
{
	return atomic_load_explicit(&((struct lease_gate *)g)->word,
				    memory_order_acquire);
}

bool lease_gate_close_idle(struct lease_gate *g, uint64_t snap)
{
	if (!lease_gate_open_of(snap) || lease_gate_holds_of(snap) != 0)
		return false;
	return atomic_compare_exchange_strong_explicit(
		&g->word, &snap, snap | LEASE_GATE_CLOSED,
		memory_order_acq_rel, memory_order_acquire);
}

void lease_gate_close(struct lease_gate *g)
{
	atomic_fetch_or_explicit(&g->word, LEASE_GATE_CLOSED, memory_order_acq_rel);
}

void lease_gate_open(struct lease_gate *g)
{
	atomic_fetch_and_explicit(&g->word, ~LEASE_GATE_CLOSED, memory_order_acq_rel);
}

unsigned lease_gate_holds(const struct lease_gate *g)
{
	return lease_gate_holds_of(lease_gate_snapshot(g));
}

bool lease_gate_is_open(const struct lease_gate *g)
{
	return lease_gate_open_of(lease_gate_snapshot(g));
}

void lease_point_init(struct lease_point *lp, const struct lease_point_ops *ops,
		      void *owner)
{
	lease_gate_init(&lp->gate);
	list_init(&lp->parked);
	lp->ops = ops;
	lp->owner = owner;
}

void lease_init(struct lease *l)
{
	l->lp = NULL;
	l->state = LEASE_FREE;
	l->cb = NULL;
	l->arg = NULL;
	list_init(&l->node);
}

static void lease_edge(struct lease_point *lp)
{
	if (lp->ops != NULL && lp->ops->edge != NULL)
		lp->ops->edge(lp);
}

int lease_acquire(struct lease_point *lp, struct lease *l, lease_cb cb, void *arg)
{
	enum lease_gate_rc rc;

	assert(l->state == LEASE_FREE);
	l->lp = lp;
	l->cb = cb;
	l->arg = arg;
	rc = lease_gate_enter(&lp->gate);
	if (rc != LEASE_GATE_WAS_CLOSED) {
		l->state = LEASE_HELD;
		if (rc == LEASE_GATE_ENTERED_FIRST)
			lease_edge(lp);
		if (cb != NULL)
			cb(l, NULL, arg);
		return 1;
	}
	/* Slow path, loop thread: park and make sure the VM is coming. */
	l->state = LEASE_PARKED;
	list_add_tail(&lp->parked, &l->node);
	if (lp->ops != NULL && lp->ops->need_vm != NULL)
		lp->ops->need_vm(lp);
	return 0;
}

void lease_hold(struct lease_point *lp, struct lease *l)
{
	assert(l->state == LEASE_FREE);
	l->lp = lp;
	l->state = LEASE_HELD;
	if (lease_gate_add(&lp->gate))
		lease_edge(lp);
}

void lease_release(struct lease *l)
{
	switch (l->state) {
	case LEASE_FREE:
		return;
	case LEASE_PARKED:
		list_del(&l->node);
		break;
	case LEASE_HELD:
		if (lease_gate_leave(&l->lp->gate))
			lease_edge(l->lp);
		break;
	}
	l->state = LEASE_FREE;
}

/* Callbacks may release or acquire leases on this point, so the parked
 * list is detached first and walked one node at a time. */
size_t lease_point_grant(struct lease_point *lp)
{
	size_t granted = 0;

	lease_gate_open(&lp->gate);
	/* An exit claimed before the open is seen here; one claimed after it
	 * closes the gate after the open, and lease_gate_enter() sees that. */
	if (lp->ops != NULL && lp->ops->may_grant != NULL && !lp->ops->may_grant(lp)) {
		lease_gate_close(&lp->gate);
		return 0;
	}
	while (!list_empty(&lp->parked)) {
		struct lease *l = list_entry(lp->parked.next, struct lease, node);
		enum lease_gate_rc rc = lease_gate_enter(&lp->gate);

		if (rc == LEASE_GATE_WAS_CLOSED)
			break;
		list_del(&l->node);
		l->state = LEASE_HELD;
		granted++;
		if (rc == LEASE_GATE_ENTERED_FIRST)
			lease_edge(lp);
		if (l->cb != NULL)
			l->cb(l, NULL, l->arg);
	}
	return granted;
}

void lease_point_fail(struct lease_point *lp, const struct cause *why)
{
	struct list_node batch = LIST_HEAD_INIT(batch);

	list_splice_tail(&batch, &lp->parked);
	while (!list_empty(&batch)) {
		struct lease *l = list_entry(batch.next, struct lease, node);
		list_del(&l->node);
		l->state = LEASE_FREE;
		if (l->cb != NULL)
			l->cb(l, why, l->arg);
	}
}

size_t lease_point_parked(const struct lease_point *lp)
{
	return list_length(&lp->parked);
}
