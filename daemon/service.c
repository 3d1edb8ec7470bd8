/*
 * service.c — what systemd sees of the daemon (daemon.h, "systemd").
 *
 * Socket activation: a socket unit listens on the control socket and
 * passes it (LISTEN_FDS); the daemon serves on it instead of binding one,
 * so it starts on the first sessionctl call and a restart loses no
 * connection attempt.  Type=notify: READY=1 once sessions are loaded,
 * adoption is done and the socket is served (main.c, loaded()); STATUS=
 * a one-line summary kept current; RELOADING=1 around a reload;
 * STOPPING=1 at SIGTERM; WATCHDOG=1 from the loop at half of
 * WATCHDOG_USEC, so a loop that wedges stops the pings and systemd
 * restarts the daemon.
 *
 * Without NOTIFY_SOCKET none of the timers exist; without LISTEN_FDS the
 * daemon binds its socket itself: outside systemd nothing changes.
 */
#include "daemon.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "../common/log.h"
#include "../common/xalloc.h"

/* How often the summary is looked at (sent only when it changed). */
#define STATUS_PERIOD_S 1

struct service {
	struct event *watchdog;             /* WATCHDOG=1, persistent */
	struct event *status;               /* STATUS= check, persistent */
	char last_status[256];              /* what systemd was told last */
	bool ready;                         /* READY=1 was sent */
};

int service_listen_fd(void)
{
	int n = sd_listen_fds(1);

	if (n < 0)
		fatal("systemd passed sockets we cannot use: %s", strerror(-n));
	if (n == 0)
		return -1;
	if (n > 1)
		fatal("systemd passed %d sockets; the socket unit must have one ListenStream=", n);
	int fd = SD_LISTEN_FDS_START;
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
		fatal("the socket systemd passed (fd %d) is not a listening Unix stream socket", fd);
	return fd;
}

bool service_managed(int listen_fd)
{
	return listen_fd >= 0 || getenv("NOTIFY_SOCKET") != NULL;
}

/* A notification systemd does not take is said once, not at every ping. */
static void notify(const char *what)
{
	static bool warned;
	int rc = sd_notify(0, what);

	if (rc >= 0)
		return;
	if (!warned)
		log_warn("sessiond: cannot notify systemd (%s): %s; further failures are "
			 "logged at debug level", what, strerror(-rc));
	else
		log_debug("sessiond: cannot notify systemd (%s): %s", what, strerror(-rc));
	warned = true;
}

void service_status_line(struct core *core, char *buf, size_t len)
{
	size_t total = 0, holds = 0, n;
	struct list_node *pos;

	for (int st = SESSION_STOPPED; st < SESSION__COUNT; st++)
		total += core->nstate[st];
	list_foreach(pos, &core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		if (session_visible(s))
			holds += holds_count(s);
	}
	n = (size_t)snprintf(buf, len, "sessions %zu", total);
	const char *sep = ": ";
	for (int st = SESSION_STOPPED; st < SESSION__COUNT && n < len; st++) {
		if (core->nstate[st] == 0)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s %zu", sep, state_name(st),
				      core->nstate[st]);
		sep = ", ";
	}
	if (n < len)
		snprintf(buf + n, len - n, "; holds %zu", holds);
}

/* Sends STATUS= when it says something new. */
static void send_status(struct daemon *d, bool always)
{
	char line[sizeof d->svc->last_status], msg[sizeof line + 16];

	service_status_line(d->core, line, sizeof line);
	if (!always && strcmp(line, d->svc->last_status) == 0)
		return;
	str_copy(d->svc->last_status, sizeof d->svc->last_status, line);
	snprintf(msg, sizeof msg, "STATUS=%s", line);
	notify(msg);
}

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_status(arg, false);
}

/* From the loop: a loop that no longer runs stops the pings. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify("WATCHDOG=1");
}

static struct event *every(struct daemon *d, double seconds, event_callback_fn fn)
{
	struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6) };
	struct event *ev = event_new(d->base, -1, EV_PERSIST, fn, d);

	if (ev == NULL || event_add(ev, &tv) < 0)
		fatal("cannot create a systemd timer");
	return ev;
}

void service_start(struct daemon *d)
{
	uint64_t usec = 0;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	d->svc = XNEW(d->svc);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		d->svc->watchdog = every(d, (double)usec / 2e6, watchdog_cb);
		log_info("sessiond: systemd watchdog: a ping every %.3gs", (double)usec / 2e6);
	}
	/* What a start that hangs waits for (systemctl status shows it). */
	char msg[4200];
	snprintf(msg, sizeof msg, "STATUS=starting: connecting to %s, then loading sessions",
		 d->cfg.uri);
	notify(msg);
}

void service_ready(struct daemon *d)
{
	char msg[sizeof d->svc->last_status + 32];

	if (d->svc == NULL)
		return;
	service_status_line(d->core, d->svc->last_status, sizeof d->svc->last_status);
	snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", d->svc->last_status);
	notify(msg);
	d->svc->ready = true;
	if (d->svc->status == NULL)
		d->svc->status = every(d, STATUS_PERIOD_S, status_cb);
}

void service_reloading(struct daemon *d, bool begin)
{
	if (d->svc == NULL)
		return;
	/* A SIGHUP while sessions still load: READY=1 comes with the load. */
	if (!d->svc->ready)
		return;
	if (begin)
		notify("RELOADING=1\nSTATUS=reloading the configuration");
	else
		service_ready(d);
}

void service_stopping(struct daemon *d)
{
	if (d->svc == NULL)
		return;
	notify("STOPPING=1\nSTATUS=shutting down (VMs keep running)");
	if (d->svc->status != NULL)
		event_del(d->svc->status);
}

void service_free(struct daemon *d)
{
	if (d->svc == NULL)
		return;
	if (d->svc->watchdog != NULL)
		event_free(d->svc->watchdog);
	if (d->svc->status != NULL)
		event_free(d->svc->status);
	free(d->svc);
	d->svc = NULL;
}
