/*
 * instance.c — VM incarnations and the exactly-once disposition
 * (see lease.h, part 2; the Promela model tests/model/disposition.pml
 * mirrors instance_claim_expected_stop/instance_claim_spontaneous_exit).
 */
#include "lease.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/xalloc.h"

static const char *const disposition_names[DISP__COUNT] = {
	[DISP_ACTIVE] = "active",
	[DISP_STOP_REQUESTED] = "stop-requested",
	[DISP_EXIT_CLAIMED] = "exit-claimed",
	[DISP_SUSPENDED] = "suspended",
};

const char *disposition_name(enum disposition d)
{
	if ((unsigned)d >= DISP__COUNT)
		return "invalid";
	return disposition_names[d];
}

int disposition_from_name(const char *name)
{
	for (int d = 0; d < DISP__COUNT; d++)
		if (strcmp(disposition_names[d], name) == 0)
			return d;
	return -1;
}

static _Atomic long live_instances;

struct instance *instance_new(const char *prefix, const uuid_t uuid)
{
	struct instance *inst = XNEW(inst);
	const char *dash;
	int daemon_len;

	atomic_init(&inst->refs, 1);
	atomic_init(&inst->disposition, DISP_ACTIVE);
	if (uuid != NULL)
		uuid_copy(inst->uuid, uuid);
	else
		uuid_generate_random(inst->uuid);
	uuid_unparse_lower(inst->uuid, inst->id);
	snprintf(inst->domain, sizeof inst->domain, "%s-%s", prefix, inst->id);
	/* The scratch volume carries the daemon part only: the sweep at
	 * start-up recognises its own volumes by that prefix. */
	dash = strchr(prefix, '-');
	dash = dash ? strchr(dash + 1, '-') : NULL;
	daemon_len = dash ? (int)(dash - prefix) : (int)strlen(prefix);
	snprintf(inst->scratch, sizeof inst->scratch, "%.*s-%s-scratch.qcow2",
		 daemon_len, prefix, inst->id);
	atomic_fetch_add(&live_instances, 1);
	return inst;
}

struct instance *instance_ref(struct instance *inst, const char *who)
{
	int old = atomic_fetch_add_explicit(&inst->refs, 1, memory_order_relaxed);

	if (old <= 0)
		fatal("instance %s: ref from %s after free", inst->id, who);
	return inst;
}

void instance_unref(struct instance *inst, const char *who)
{
	if (inst == NULL)
		return;
	int old = atomic_fetch_sub_explicit(&inst->refs, 1, memory_order_acq_rel);
	if (old <= 0)
		fatal("instance %s: unref from %s after free", inst->id, who);
	if (old == 1) {
		if (inst->indexed)
			fatal("instance %s: freed by %s while still indexed", inst->id, who);
		atomic_fetch_sub(&live_instances, 1);
		free(inst);
	}
}

long instance_live_count(void)
{
	return atomic_load(&live_instances);
}

/* Both claims are the same single CAS from ACTIVE; whichever runs first
 * wins and owns the teardown, the other sees a non-ACTIVE value and backs
 * off.  There is no third path and no window between test and set. */
static bool instance_move(struct instance *inst, enum disposition from, enum disposition to)
{
	int expected = (int)from;

	return atomic_compare_exchange_strong(&inst->disposition, &expected, (int)to);
}

static bool instance_claim(struct instance *inst, enum disposition to)
{
	return instance_move(inst, DISP_ACTIVE, to);
}

/* A suspended instance has no domain and no exit to race with: its
 * discard is the same claim, from SUSPENDED. */
bool instance_claim_expected_stop(struct instance *inst)
{
	return instance_claim(inst, DISP_STOP_REQUESTED) ||
	       instance_move(inst, DISP_SUSPENDED, DISP_STOP_REQUESTED);
}

bool instance_suspend(struct instance *inst)
{
	return instance_move(inst, DISP_STOP_REQUESTED, DISP_SUSPENDED);
}

bool instance_resume(struct instance *inst)
{
	return instance_move(inst, DISP_SUSPENDED, DISP_ACTIVE);
}

void instance_own_save_begin(struct instance *inst)
{
	atomic_fetch_add(&inst->own_saves, 1);
}

/* Counts down only from above zero: a CAS loop. */
static bool own_saves_down(struct instance *inst)
{
	int n = atomic_load(&inst->own_saves);

	while (n > 0)
		if (atomic_compare_exchange_weak(&inst->own_saves, &n, n - 1))
			return true;
	return false;
}

void instance_own_save_cancel(struct instance *inst)
{
	own_saves_down(inst);
}

bool instance_own_save_event(struct instance *inst)
{
	return own_saves_down(inst);
}

bool instance_claim_spontaneous_exit(struct instance *inst)
{
	return instance_claim(inst, DISP_EXIT_CLAIMED);
}

enum disposition instance_disposition(const struct instance *inst)
{
	return (enum disposition)atomic_load(&((struct instance *)inst)->disposition);
}

/* The index: uuid text -> instance, for the libvirt event thread. */
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static struct htab index_tab;

void instance_index_add(struct instance *inst)
{
	pthread_mutex_lock(&index_lock);
	if (!inst->indexed) {
		instance_ref(inst, "index");
		htab_insert(&index_tab, &inst->index_node, inst->id);
		inst->indexed = true;
	}
	pthread_mutex_unlock(&index_lock);
}

void instance_index_remove(struct instance *inst)
{
	bool was;

	pthread_mutex_lock(&index_lock);
	was = inst->indexed;
	if (was) {
		htab_remove(&index_tab, &inst->index_node);
		inst->indexed = false;
	}
	pthread_mutex_unlock(&index_lock);
	if (was)
		instance_unref(inst, "index");
}

struct instance *instance_index_get(const char *id, const char *who)
{
	struct instance *inst = NULL;

	pthread_mutex_lock(&index_lock);
	struct htab_node *n = htab_find(&index_tab, id);
	if (n != NULL)
		inst = instance_ref(htab_entry(n, struct instance, index_node), who);
	pthread_mutex_unlock(&index_lock);
	return inst;
}

size_t instance_index_count(void)
{
	pthread_mutex_lock(&index_lock);
	size_t n = index_tab.count;
	pthread_mutex_unlock(&index_lock);
	return n;
}
