/*
 * test_exporter.c — exporter_apply(), the one function that (re)applies
 * metrics_listen and metrics_allow_remote (what a reload calls): it
 * starts, moves and stops the endpoint; a change it cannot make leaves the
 * endpoint that served before serving.  On a real core (the harness);
 * whether something listens is asked of the kernel (a connect), not of the
 * exporter.  (What a scrape shows: tests/behave/metrics-count-real-work.sh.)
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/xalloc.h"
#include "harness/harness.h"

struct rig {
	struct harness *h;
	struct daemon d;
};

static void set_listen(struct rig *r, const char *listen, bool allow)
{
	free(r->d.cfg.metrics_listen);
	r->d.cfg.metrics_listen = listen != NULL ? xstrdup(listen) : NULL;
	r->d.cfg.metrics_allow_remote = allow;
}

/* Does something accept on 127.0.0.1:port? */
static bool accepts(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&in, sizeof in) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A free port: bind port 0, note it, let it go. */
static int free_port(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	socklen_t len = sizeof in;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof in), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	close(fd);
	return ntohs(in.sin_port);
}

static void test_apply_moves_and_stops(void **state)
{
	struct rig r;
	struct cause c;
	char a[64], b[64];
	int pa = free_port(), pb = free_port();

	(void)state;
	memset(&r, 0, sizeof r);
	r.h = harness_new(NULL);
	r.d.base = r.h->base;
	r.d.core = r.h->core;
	snprintf(a, sizeof a, "127.0.0.1:%d", pa);
	snprintf(b, sizeof b, "127.0.0.1:%d", pb);

	/* Off: nothing. */
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_false(accepts(pa));
	/* On. */
	set_listen(&r, a, false);
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_true(accepts(pa));
	/* Applied again unchanged: nothing moves. */
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_true(accepts(pa));
	/* Moved: the new port serves, the old one is closed. */
	set_listen(&r, b, false);
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_true(accepts(pb));
	assert_false(accepts(pa));
	/* A change it must refuse: the old endpoint serves on. */
	set_listen(&r, "0.0.0.0:0", false);
	assert_int_equal(exporter_apply(&r.d, &c), -1);
	assert_non_null(strstr(c.msg, "metrics_allow_remote"));
	assert_true(accepts(pb));
	/* The same address, now allowed elsewhere too: rebinds the same port. */
	snprintf(a, sizeof a, "0.0.0.0:%d", pb);
	set_listen(&r, a, true);
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_true(accepts(pb));
	/* Off again. */
	set_listen(&r, NULL, false);
	assert_int_equal(exporter_apply(&r.d, &c), 0);
	assert_false(accepts(pb));
	exporter_free(&r.d);
	free(r.d.cfg.metrics_listen);
	harness_free(r.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_moves_and_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
