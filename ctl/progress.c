/*
 * progress.c — what sessionctl shows while a call waits for a VM (see
 * ctl.h).
 *
 * The wait itself is the client library's: its wrappers call the tick
 * function set with sdc_set_tick() while they wait.  Here the session is
 * watched (its state changes arrive as notifications) and every tick
 * redraws one line on stderr.  On a pipe, or with --json, nothing is shown.
 */
#include "ctl.h"

#include <string.h>
#include <unistd.h>

#include "../common/timeutil.h"

#define TICK_MS 100

static void on_notify(const char *method, json_t *params, void *arg)
{
	struct ctx *x = arg;

	if (strcmp(method, RPC_NOTIFY_SESSION_EVENT) == 0) {
		snprintf(x->wait_state, sizeof x->wait_state, "%s", out_str(params, "state", "?"));
	} else if (strcmp(method, RPC_NOTIFY_TOKEN_REVOKED) == 0) {
		x->revoked = true;
		snprintf(x->revoked_reason, sizeof x->revoked_reason, "%s",
			 out_str(params, "reason", "revoked"));
		fprintf(stderr, "sessionctl: the hold on '%s' was revoked: %s\n",
			out_str(params, "name", "?"), x->revoked_reason);
	}
}

static void on_tick(void *arg)
{
	struct ctx *x = arg;
	char d[32];

	if (!x->progress)
		return;
	duration_format(mono_now() - x->wait_started, d, sizeof d);
	fprintf(stderr, "\r\033[Ksessionctl: waiting for '%s': %s (%s)", x->wait_name, d,
		x->wait_state);
	fflush(stderr);
}

int progress_begin(struct ctx *x, const char *name, struct sdc_error *e)
{
	sdc_set_notify(x->c, on_notify, x);
	snprintf(x->wait_name, sizeof x->wait_name, "%s", name);
	snprintf(x->wait_state, sizeof x->wait_state, "waiting");
	if (!isatty(STDERR_FILENO) || x->json)
		return 0;
	if (sdc_session_watch(x->c, name, e) < 0)
		return -1;
	x->progress = true;
	x->wait_started = mono_now();
	sdc_set_tick(x->c, on_tick, x, TICK_MS);
	return 0;
}

void progress_end(struct ctx *x)
{
	sdc_set_tick(x->c, NULL, NULL, 0);
	if (x->progress)
		fputs("\r\033[K", stderr);
	x->progress = false;
}
