/*
 * test_metrics.c — the metrics module (metrics/): its table, its labels
 * against the tables they name (methods, states), the text format of a
 * scrape (read back and compared before and after updates), the man page
 * listing every family, and the endpoint: which addresses it takes, what
 * it answers over TCP and over a Unix socket.
 *
 * Counters are process-wide, so every check compares a scrape before and
 * after what it does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "../common/timeutil.h"
#include "../metrics/metrics.h"
#include "../rpc/rpc.h"
#include "../session/session.h"

/* ---- a scrape, read back ---------------------------------------------------- */

/* Every sample of a scrape: {"name{labels}": value}. */
static json_t *scrape(void)
{
	struct evbuffer *b = evbuffer_new();
	json_t *m = json_object();
	char *line;

	metrics_write(b);
	while ((line = evbuffer_readln(b, NULL, EVBUFFER_EOL_LF)) != NULL) {
		char *sp = strrchr(line, ' ');
		if (line[0] != '#' && sp != NULL) {
			*sp = '\0';
			json_object_set_new(m, line, json_real(strtod(sp + 1, NULL)));
		}
		free(line);
	}
	evbuffer_free(b);
	return m;
}

static double delta(json_t *before, json_t *after, const char *key)
{
	json_t *a = json_object_get(after, key), *b = json_object_get(before, key);

	if (a == NULL || b == NULL)
		fail_msg("no sample %s in a scrape", key);
	return json_real_value(a) - json_real_value(b);
}

/* ---- the table ---------------------------------------------------------------- */

static void test_table_fits(void **state)
{
	char why[256];

	(void)state;
	if (!metrics_table_ok(why, sizeof why))
		fail_msg("%s", why);
	for (unsigned i = 0; i < MX__COUNT; i++) {
		const char *n = metrics_name((enum metrics_id)i);
		assert_non_null(n);
		assert_int_equal(strncmp(n, "sessiond_", 9), 0);
	}
}

/* The method label of each cell is rpc_methods[]'s name; "other" last. */
static void test_method_labels(void **state)
{
	(void)state;
	assert_int_equal(metrics_cells(MX_RPC_DURATION), RPC_M__COUNT + 1);
	for (unsigned i = 0; i < RPC_M__COUNT; i++)
		assert_string_equal(metrics_label_value(MX_RPC_DURATION, i, 0), rpc_methods[i].name);
	assert_string_equal(metrics_label_value(MX_RPC_DURATION, RPC_M__COUNT, 0), "other");
}

/* Sessions by state: every state a registered session can be in. */
static void test_state_labels(void **state)
{
	(void)state;
	assert_int_equal(SESSION__COUNT - SESSION_STOPPED, METRICS_STATES);
	for (unsigned i = 0; i < METRICS_STATES; i++)
		assert_string_equal(metrics_label_value(MX_SESSIONS, i, 0),
				    state_name((enum session_state)(SESSION_STOPPED + i)));
}

/* ---- the text format ------------------------------------------------------------ */

static void test_histogram_buckets(void **state)
{
	json_t *b, *a;

	(void)state;
	b = scrape();
	metrics_observe(MX_LOOP_LAG, 0, 0.003);
	metrics_observe(MX_LOOP_LAG, 0, 0.2);
	metrics_observe(MX_LOOP_LAG, 0, 7);
	a = scrape();
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_bucket{le=\"0.0025\"}") == 0);
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_bucket{le=\"0.005\"}") == 1);
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_bucket{le=\"0.25\"}") == 2);
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_bucket{le=\"1\"}") == 2);
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(delta(b, a, "sessiond_loop_lag_seconds_count") == 3);
	assert_true(fabs(delta(b, a, "sessiond_loop_lag_seconds_sum") - 7.203) < 1e-6);
	/* With a label: the label first, then le. */
	metrics_observe(MX_VM_TIME_TO_RUNNING, MSTART_RESTORE, 0.3);
	json_decref(b);
	b = a;
	a = scrape();
	assert_true(delta(b, a, "sessiond_vm_time_to_running_seconds_bucket{kind=\"restore\",le=\"0.5\"}") == 1);
	assert_true(delta(b, a, "sessiond_vm_time_to_running_seconds_bucket{kind=\"boot\",le=\"0.5\"}") == 0);
	json_decref(a);
	json_decref(b);
}

static void test_rpc_cells(void **state)
{
	json_t *b, *a;

	(void)state;
	b = scrape();
	metrics_rpc_done(RPC_M_SESSION_START, RPC_ERR_LIMIT, 0.5);
	metrics_rpc_done(RPC_M_SESSION_START, 0, 0.001);
	metrics_rpc_done(RPC_M_TOKEN_ACQUIRE, 12345, 0);
	metrics_rpc_done(METRICS_RPC_OTHER, RPC_ERR_NO_METHOD, 0);
	a = scrape();
	assert_true(delta(b, a, "sessiond_rpc_requests_total{method=\"session.start\",code=\"-32006\"}") == 1);
	assert_true(delta(b, a, "sessiond_rpc_requests_total{method=\"session.start\",code=\"0\"}") == 1);
	assert_true(delta(b, a, "sessiond_rpc_requests_total{method=\"token.acquire\",code=\"other\"}") == 1);
	assert_true(delta(b, a, "sessiond_rpc_requests_total{method=\"other\",code=\"-32601\"}") == 1);
	assert_true(delta(b, a, "sessiond_rpc_request_duration_seconds_count{method=\"session.start\"}") == 2);
	assert_true(delta(b, a, "sessiond_rpc_request_duration_seconds_bucket{method=\"session.start\",le=\"0.25\"}") == 1);
	json_decref(a);
	json_decref(b);
}

static void test_reason_cells(void **state)
{
	(void)state;
	assert_string_equal(metrics_label_value(MX_VM_STOPS, metrics_stop_reason("idle"), 0), "idle");
	assert_string_equal(metrics_label_value(MX_VM_STOPS, metrics_stop_reason("start-failed"), 0),
			    "start_failed");
	assert_string_equal(metrics_label_value(MX_VM_STOPS, metrics_stop_reason("whatever"), 0), "other");
	assert_string_equal(metrics_label_value(MX_VM_CRASHES, metrics_crash_detail(2), 0), "crashed");
	assert_string_equal(metrics_label_value(MX_VM_CRASHES, metrics_crash_detail(99), 0), "other");
	assert_string_equal(metrics_label_value(MX_VM_CRASHES, metrics_crash_detail(-1), 0), "other");
}

/* Each family: HELP, TYPE, and samples named after it (counters _total). */
static void test_every_family_written(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char want[200];

	(void)state;
	metrics_write(b);
	size_t len = evbuffer_get_length(b);
	char *text = malloc(len + 1);
	evbuffer_remove(b, text, len);
	text[len] = '\0';
	for (unsigned i = 0; i < MX__COUNT; i++) {
		const char *n = metrics_name((enum metrics_id)i);
		snprintf(want, sizeof want, "\n# HELP %s ", n);
		assert_true(strstr(text, want) != NULL || strncmp(text, want + 1, strlen(want) - 1) == 0);
		snprintf(want, sizeof want, "\n# TYPE %s ", n);
		const char *t = strstr(text, want);
		assert_non_null(t);
		t += strlen(want);
		bool total = strlen(n) > 6 && strcmp(n + strlen(n) - 6, "_total") == 0;
		assert_int_equal(strncmp(t, "counter", 7) == 0, total);
	}
	free(text);
	evbuffer_free(b);
}

/* sessiond.8 lists every family, and no other (".It Li sessiond_..."). */
static void test_man_lists_every_family(void **state)
{
	FILE *f = fopen("man/sessiond.8", "r");
	char line[512];
	json_t *listed = json_object();

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		char name[128];
		if (sscanf(line, ".It Li %127[a-z_]", name) == 1 && strncmp(name, "sessiond_", 9) == 0)
			json_object_set_new(listed, name, json_true());
	}
	fclose(f);
	for (unsigned i = 0; i < MX__COUNT; i++) {
		const char *n = metrics_name((enum metrics_id)i);
		if (json_object_get(listed, n) == NULL)
			fail_msg("man/sessiond.8 (METRICS) does not list %s", n);
		json_object_del(listed, n);
	}
	if (json_object_size(listed) > 0)
		fail_msg("man/sessiond.8 lists %s, which is no metric", json_object_iter_key(json_object_iter(listed)));
	json_decref(listed);
}

/* ---- the endpoint ------------------------------------------------------------------- */

static void test_addresses(void **state)
{
	static const char *const loopback[] = { "127.0.0.1:9464", "127.1.2.3:0", "[::1]:9464",
						"[::ffff:127.0.0.1]:1", "/run/sessiond/metrics.sock" };
	static const char *const remote[] = { "0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464",
					      "[::ffff:10.0.0.1]:9464", "192.168.1.1:1" };
	static const char *const malformed[] = { "localhost:9464", "127.0.0.1", "::1:9464", "[::1]",
						 "127.0.0.1:99999", "127.0.0.1:x", "metrics.sock",
						 "", "[::1:9464", "1.2.3:80" };
	struct cause c;

	(void)state;
	for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
		assert_int_equal(metrics_http_check(loopback[i], false, &c), 0);
	for (size_t i = 0; i < sizeof remote / sizeof *remote; i++) {
		assert_int_equal(metrics_http_check(remote[i], false, &c), -1);
		assert_non_null(strstr(c.msg, "metrics_allow_remote = yes"));
		assert_int_equal(metrics_http_check(remote[i], true, &c), 0);
	}
	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
		if (metrics_http_check(malformed[i], true, &c) == 0)
			fail_msg("'%s' was taken as an address", malformed[i]);
	}
}

struct get {
	struct sockaddr_storage ss;
	socklen_t len;
	const char *request;
	char reply[1 << 17];
	size_t n;
	_Atomic int done;                   /* 1: ok, -1: failed */
};

/* A client on its own thread: the endpoint is served by the loop below. */
static void *get_main(void *arg)
{
	struct get *g = arg;
	int fd = socket(g->ss.ss_family, SOCK_STREAM, 0);
	ssize_t r;

	if (fd < 0 || connect(fd, (struct sockaddr *)&g->ss, g->len) < 0 ||
	    write(fd, g->request, strlen(g->request)) != (ssize_t)strlen(g->request)) {
		g->done = -1;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (g->n < sizeof g->reply - 1 && (r = read(fd, g->reply + g->n, sizeof g->reply - 1 - g->n)) > 0)
		g->n += (size_t)r;
	g->reply[g->n] = '\0';
	close(fd);
	g->done = 1;
	return NULL;
}

static void http_get(struct event_base *base, struct get *g, const char *request)
{
	pthread_t t;

	g->request = request;
	g->n = 0;
	g->done = 0;
	assert_int_equal(pthread_create(&t, NULL, get_main, g), 0);
	for (double end = mono_now() + 10; !g->done && mono_now() < end;)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	pthread_join(t, NULL);
	assert_int_equal(g->done, 1);
}

static int collected;

static void collect(void *arg)
{
	(void)arg;
	collected++;
	metrics_set(MX_BUILD_INFO, 0, 1);
}

static const char GET_METRICS[] = "GET /metrics HTTP/1.0\r\n\r\n";

static void check_scrape(struct get *g)
{
	assert_non_null(strstr(g->reply, "HTTP/1.0 200") ? g->reply : strstr(g->reply, "HTTP/1.1 200"));
	assert_non_null(strstr(g->reply, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(g->reply, "\r\n\r\n# HELP sessiond_"));
	assert_non_null(strstr(g->reply, "\nsessiond_build_info{version=\""));
}

static void test_serves_tcp(void **state)
{
	struct event_base *base = event_base_new();
	struct get *g = calloc(1, sizeof *g);
	struct cause c;

	(void)state;
	struct metrics_http *h = metrics_http_new(base, "127.0.0.1:0", false, collect, NULL, &c);
	assert_non_null(h);
	const char *at = metrics_http_address(h);
	assert_int_equal(strncmp(at, "127.0.0.1:", 10), 0);
	assert_true(atoi(at + 10) > 0);
	struct sockaddr_in *in = (struct sockaddr_in *)&g->ss;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(at + 10));
	inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
	g->len = sizeof *in;
	int before = collected;
	http_get(base, g, GET_METRICS);
	check_scrape(g);
	assert_int_equal(collected, before + 1);
	http_get(base, g, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(g->reply, " 404 "));
	http_get(base, g, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	assert_null(strstr(g->reply, " 200 "));         /* GET and HEAD only */
	assert_null(strstr(g->reply, "sessiond_"));
	assert_int_equal(collected, before + 1);
	metrics_http_free(h);
	/* Refused without asking; served when asked. */
	assert_null(metrics_http_new(base, "0.0.0.0:0", false, collect, NULL, &c));
	h = metrics_http_new(base, "0.0.0.0:0", true, collect, NULL, &c);
	assert_non_null(h);
	metrics_http_free(h);
	free(g);
	event_base_free(base);
}

static void test_serves_unix(void **state)
{
	struct event_base *base = event_base_new();
	struct get *g = calloc(1, sizeof *g);
	char dir[] = "/tmp/sessiond-metrics.XXXXXX", path[64];
	struct cause c;
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/metrics.sock", dir);
	struct metrics_http *h = metrics_http_new(base, path, false, collect, NULL, &c);
	assert_non_null(h);
	assert_string_equal(metrics_http_address(h), path);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);
	struct sockaddr_un *sun = (struct sockaddr_un *)&g->ss;
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	g->len = sizeof *sun;
	http_get(base, g, GET_METRICS);
	check_scrape(g);
	metrics_http_free(h);
	assert_int_equal(stat(path, &sb), -1);          /* removed */
	/* A file that is not a socket is never replaced. */
	FILE *f = fopen(path, "w");
	fclose(f);
	assert_null(metrics_http_new(base, path, false, collect, NULL, &c));
	assert_non_null(strstr(c.msg, "not a socket"));
	assert_int_equal(stat(path, &sb), 0);
	unlink(path);
	rmdir(dir);
	free(g);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_fits),
		cmocka_unit_test(test_method_labels),
		cmocka_unit_test(test_state_labels),
		cmocka_unit_test(test_histogram_buckets),
		cmocka_unit_test(test_rpc_cells),
		cmocka_unit_test(test_reason_cells),
		cmocka_unit_test(test_every_family_written),
		cmocka_unit_test(test_man_lists_every_family),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_serves_tcp),
		cmocka_unit_test(test_serves_unix),
	};

	evthread_use_pthreads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
