/* loop.c — see loop.h. */
#include "loop.h"

#include <event2/event.h>
#include <stddef.h>

#include "log.h"

struct event_base *loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL ||
	    event_config_set_max_dispatch_interval(cfg, NULL, LOOP_WORK_BURST, LOOP_PRIO_WORK) < 0)
		fatal("cannot configure the event loop");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL || event_base_priority_init(base, LOOP_PRIOS) < 0)
		fatal("cannot create the event loop");
	return base;
}
