/*
 * readiness.c — when is a started VM "running"?
 *
 * Without ready_pattern: as soon as libvirt has started the domain.  With
 * it: when a line matching the pattern (POSIX extended regex) appears on
 * the instance's serial console log, within ready_timeout_s; otherwise the
 * start fails with a message saying so and is cleaned up like any failed
 * start.  Leases and tokens wait for readiness.  Polls the console log
 * every 100 ms: QEMU writes it, we only read, and a boot takes seconds.
 */
#include "session.h"

#include <event2/event.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"

#define POLL_S 0.1
#define LINE_MAX_KEEP 4096

struct readiness {
	regex_t re;
	char path[4200];
	off_t off;
	double deadline;                    /* monotonic */
	char line[LINE_MAX_KEEP];           /* the unfinished last line */
	size_t len;
};

/* Feeds new console bytes; true when a line matches. */
static bool feed(struct readiness *r, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\n' || ch == '\r' || r->len == LINE_MAX_KEEP - 1) {
			r->line[r->len] = '\0';
			bool hit = r->len > 0 && regexec(&r->re, r->line, 0, NULL, 0) == 0;
			r->len = 0;
			if (hit)
				return true;
			if (ch == '\n' || ch == '\r')
				continue;
		}
		r->line[r->len++] = ch ? ch : ' ';
	}
	/* A prompt without a newline counts too. */
	r->line[r->len] = '\0';
	return r->len > 0 && regexec(&r->re, r->line, 0, NULL, 0) == 0;
}

static bool poll_log(struct readiness *r)
{
	char buf[8192];
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);
	bool hit = false;

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, r->off);
		if (n <= 0)
			break;
		r->off += n;
		if (feed(r, buf, (size_t)n)) {
			hit = true;
			break;
		}
	}
	close(fd);
	return hit;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct readiness *r = s->ready;
	char why[512];

	(void)fd;
	(void)what;
	if (r == NULL)
		return;
	if (poll_log(r)) {
		session_log(s, LOG_LVL_INFO, NULL, "guest is ready (console matched '%s')",
			    s->set.ready_pattern);
		readiness_cancel(s);
		start_ready(s);
		return;
	}
	if (mono_now() >= r->deadline) {
		snprintf(why, sizeof why, "guest not ready within %gs (no console line matched '%s')",
			 s->set.ready_timeout, s->set.ready_pattern);
		readiness_cancel(s);
		start_not_ready(s, why);
		return;
	}
	session_timer(s, &s->aux_timer, poll_cb, POLL_S);
}

void readiness_begin(struct session *s)
{
	struct readiness *r = XNEW(r);

	if (regcomp(&r->re, s->set.ready_pattern, REG_EXTENDED | REG_NOSUB) != 0) {
		free(r);
		start_not_ready(s, "ready_pattern does not compile");
		return;
	}
	console_path(s->core, s->inst->id, r->path, sizeof r->path);
	r->deadline = mono_now() + s->set.ready_timeout;
	s->ready = r;
	poll_cb(-1, 0, s);
}

void readiness_cancel(struct session *s)
{
	struct readiness *r = s->ready;

	if (r == NULL)
		return;
	s->ready = NULL;
	if (s->aux_timer != NULL)
		evtimer_del(s->aux_timer);
	regfree(&r->re);
	free(r);
}
