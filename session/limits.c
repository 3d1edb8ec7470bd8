/*
 * limits.c — what one user may have up at once: max_running_per_user VMs
 * and max_memory_mib_per_user MiB of guest memory, counting the VMs that
 * are starting or running (one being stopped is on its way out).  Root is
 * exempt.  max_sessions_per_user (registry.c) limits what a user owns;
 * these limit what a user runs.
 *
 * limits_check() is the one check, made where a start is decided
 * (request_next, and the restart after a crash): a start past a limit
 * fails the callers parked for it at once with CAUSE_LIMIT naming the
 * limit, the user's use and the figure.  Nobody waits for room: a
 * caller parked until another session stops could wait for ever.
 *
 * The limits are read from the configuration at each check, so a reload
 * that changes them applies to the next start.
 */
#include "session.h"

#include "../metrics/metrics.h"

static bool up(const struct session *s)
{
	return s->state == SESSION_STARTING || s->state == SESSION_RUNNING;
}

void limits_use(struct core *core, uid_t owner, struct limits_use *u)
{
	struct list_node *pos;

	u->running = 0;
	u->memory_mib = 0;
	list_foreach(pos, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (s->owner == owner && up(s)) {
			u->running++;
			u->memory_mib += s->set.memory_mib;
		}
	}
}

int limits_check(struct session *s, struct cause *c)
{
	const struct core_config *cfg = s->core->cfg;
	struct limits_use u;

	if (s->owner == 0 || (cfg->max_running_per_user <= 0 && cfg->max_memory_mib_per_user <= 0))
		return 0;
	limits_use(s->core, s->owner, &u);
	if (cfg->max_running_per_user > 0 && u.running >= (size_t)cfg->max_running_per_user) {
		cause_set(c, CAUSE_LIMIT, "limit reached: max_running_per_user is %d and user %u "
			  "has %zu VM(s) starting or running; stop one to start '%s'",
			  cfg->max_running_per_user, (unsigned)s->owner, u.running, s->name);
		metrics_inc(MX_LIMIT_REFUSALS, MLIMIT_RUNNING);
		return -1;
	}
	if (cfg->max_memory_mib_per_user > 0 &&
	    u.memory_mib + s->set.memory_mib > (uint64_t)cfg->max_memory_mib_per_user) {
		cause_set(c, CAUSE_LIMIT, "limit reached: max_memory_mib_per_user is %d and user %u "
			  "has %llu MiB in VMs starting or running; '%s' needs %u MiB more",
			  cfg->max_memory_mib_per_user, (unsigned)s->owner,
			  (unsigned long long)u.memory_mib, s->name, s->set.memory_mib);
		metrics_inc(MX_LIMIT_REFUSALS, MLIMIT_MEMORY);
		return -1;
	}
	return 0;
}
