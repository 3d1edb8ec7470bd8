/*
 * reload.c — SIGHUP and daemon.reload: sessiond.conf read again, and what
 * may change live put in force (daemon.h; config_reload() decides which
 * keys those are).  The session defaults apply to sessions created from
 * now on; the limits at their next check; the log level at once.  What
 * takes a restart (the socket, the state directory, the libvirt URI, the
 * pool, the workers) is named in the log as ignored.
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/xalloc.h"

struct reload_hook {
	struct reload_hook *next;
	reload_hook_fn fn;
	void *arg;
};

void daemon_on_reload(struct daemon *d, reload_hook_fn fn, void *arg)
{
	struct reload_hook *h = XNEW(h), **end = &d->reload_hooks;

	h->fn = fn;
	h->arg = arg;
	while (*end != NULL)
		end = &(*end)->next;
	*end = h;
}

void daemon_reload_hooks_free(struct daemon *d)
{
	while (d->reload_hooks != NULL) {
		struct reload_hook *h = d->reload_hooks;
		d->reload_hooks = h->next;
		free(h);
	}
}

/* A value as the file would say it: strings bare, numbers short, null
 * as "(none)". */
static void value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, len, "%.15g", json_number_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "(none)");
}

/* "log_level = debug (was info), grace = 60 (was 300)" */
static void changes_text(json_t *changes, char *buf, size_t len)
{
	size_t n = 0, i;
	json_t *ch;
	char old[256], now[256];

	buf[0] = '\0';
	json_array_foreach(changes, i, ch) {
		value_text(json_object_get(ch, "old"), old, sizeof old);
		value_text(json_object_get(ch, "new"), now, sizeof now);
		int m = snprintf(buf + n, len - n, "%s%s = %s (was %s)", i ? ", " : "",
				 json_string_value(json_object_get(ch, "key")), now, old);
		if (m < 0 || (size_t)m >= len - n)
			break;
		n += (size_t)m;
	}
}

static void log_outcome(const char *path, json_t *applied, json_t *ignored)
{
	char text[2048];

	if (json_array_size(applied) == 0 && json_array_size(ignored) == 0)
		log_info("sessiond: reload: %s: nothing changed", path);
	if (json_array_size(applied) > 0) {
		changes_text(applied, text, sizeof text);
		log_info("sessiond: reload: %s: applied %s", path, text);
	}
	if (json_array_size(ignored) > 0) {
		changes_text(ignored, text, sizeof text);
		log_warn("sessiond: reload: %s: ignored until a restart: %s", path, text);
	}
}

/* The changes as daemon.reload's reply lists them: at most
 * RELOAD_CHANGES_MAX (the log has them all), so that the reply fits a
 * frame whatever the file says (a value is at most a line of it). */
static json_t *changes_shown(json_t *changes)
{
	json_t *out = json_array(), *ch;
	size_t i;

	json_array_foreach(changes, i, ch) {
		if (i == RELOAD_CHANGES_MAX)
			break;
		json_array_append(out, ch);
	}
	return out;
}

int daemon_reload(struct daemon *d, json_t **report, struct cause *c)
{
	json_t *applied, *ignored;
	struct cause e;

	service_reloading(d, true);
	if (config_reload(&d->cfg, &applied, &ignored, &e) < 0) {
		cause_set(c, CAUSE_CONFLICT, "%s; the configuration in force is unchanged", e.msg);
		log_err("sessiond: reload refused: %s", c->msg);
		service_reloading(d, false);
		return -1;
	}
	log_set_level((enum log_level)config_log_level(&d->cfg));
	log_outcome(d->cfg.config_path, applied, ignored);
	for (struct reload_hook *h = d->reload_hooks; h != NULL; h = h->next)
		h->fn(d, applied, h->arg);
	service_reloading(d, false);
	if (report != NULL)
		*report = json_pack("{s:s, s:o, s:o, s:I}", "config", d->cfg.config_path,
				    "applied", changes_shown(applied), "ignored", changes_shown(ignored),
				    "changes", (json_int_t)(json_array_size(applied) +
							    json_array_size(ignored)));
	json_decref(applied);
	json_decref(ignored);
	return 0;
}
