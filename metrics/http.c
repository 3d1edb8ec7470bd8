/*
 * http.c — the metrics endpoint: GET /metrics in the text format, served by
 * libevent's evhttp on the daemon's loop (a scrape reads the cells and the
 * core's gauges on the thread that owns them; no lock, no thread of its
 * own).
 *
 * Loopback only unless the configuration says otherwise: the counts are
 * the whole machine's (every user's starts, failures, limits), so an
 * address that another host can reach must be asked for explicitly
 * (metrics_allow_remote).  Host names are not resolved: a name could
 * resolve to anything, and the loop never blocks on DNS.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"

#define METRICS_SOCKET_MODE 0660
#define METRICS_HTTP_TIMEOUT_S 10

struct metrics_http {
	struct evhttp *http;
	void (*collect)(void *arg);
	void *arg;
	char address[300];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct where {
	struct sockaddr_storage ss;
	int len;
	bool is_unix;
};

/* "A:PORT" or "[A6]:PORT" with numeric addresses (port 0: any free one). */
static bool parse_host_port(const char *listen, struct sockaddr_storage *ss, int *len)
{
	const char *colon = strrchr(listen, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t n;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535)
		return false;
	n = (size_t)(colon - listen);
	if (listen[0] == '[') {
		if (n < 2 || colon[-1] != ']' || n - 2 >= sizeof host)
			return false;
		memcpy(host, listen + 1, n - 2);
		host[n - 2] = '\0';
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = (int)sizeof *in6;
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
	}
	if (n >= sizeof host)
		return false;
	memcpy(host, listen, n);
	host[n] = '\0';
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(colon + 1));
	*len = (int)sizeof *in;
	return inet_pton(AF_INET, host, &in->sin_addr) == 1;
}

static int parse_listen(const char *listen, struct where *w, struct cause *c)
{
	memset(w, 0, sizeof *w);
	if (listen == NULL || listen[0] == '\0') {
		cause_set(c, CAUSE_INVALID, "metrics_listen: empty");
		return -1;
	}
	if (listen[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&w->ss;
		if (strlen(listen) >= sizeof sun->sun_path) {
			cause_set(c, CAUSE_INVALID, "metrics_listen: path too long: %s", listen);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, listen);
		w->len = (int)sizeof *sun;
		w->is_unix = true;
		return 0;
	}
	if (!parse_host_port(listen, &w->ss, &w->len)) {
		cause_set(c, CAUSE_INVALID,
			  "metrics_listen = %s: expected a numeric address and port "
			  "(127.0.0.1:9464, [::1]:9464) or an absolute socket path", listen);
		return -1;
	}
	return 0;
}

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: reachable from this host only. */
static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return true;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

static int check_where(const char *listen, bool allow_remote, struct where *w, struct cause *c)
{
	if (parse_listen(listen, w, c) < 0)
		return -1;
	if (!w->is_unix && !allow_remote && !loopback(&w->ss)) {
		cause_set(c, CAUSE_INVALID,
			  "metrics_listen = %s is not a loopback address: other hosts could read "
			  "every user's counts; set metrics_allow_remote = yes to serve it anyway",
			  listen);
		return -1;
	}
	return 0;
}

int metrics_http_check(const char *listen, bool allow_remote, struct cause *c)
{
	struct where w;

	return check_where(listen, allow_remote, &w, c);
}

/* ---- serving ---------------------------------------------------------------- */

static void serve(struct evhttp_request *req, void *arg)
{
	struct metrics_http *h = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (h->collect != NULL)
		h->collect(h->arg);
	metrics_write(body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

/* A stale socket of an earlier run goes; any other file is not ours. */
static int clear_unix_path(const char *path, struct cause *c)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		cause_set(c, CAUSE_INVALID, "metrics_listen = %s: exists and is not a socket", path);
		return -1;
	}
	unlink(path);
	return 0;
}

static void describe(struct metrics_http *h, evutil_socket_t fd, const struct where *w)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];

	if (w->is_unix || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(h->address, sizeof h->address, "%s", h->unix_path);
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(h->address, sizeof h->address, "%s:%u", host, ntohs(in->sin_port));
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(h->address, sizeof h->address, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static struct evconnlistener *bind_where(struct event_base *base, struct metrics_http *h,
					 const char *listen, const struct where *w,
					 struct cause *c)
{
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;

	if (w->is_unix && clear_unix_path(listen, c) < 0)
		return NULL;
	if (!w->is_unix)
		flags |= LEV_OPT_REUSEABLE;
	struct evconnlistener *l = evconnlistener_new_bind(base, NULL, NULL, flags, -1,
							   (const struct sockaddr *)&w->ss, w->len);
	if (l == NULL) {
		cause_set(c, CAUSE_INTERNAL, "metrics_listen = %s: cannot listen: %s", listen,
			  strerror(errno));
		return NULL;
	}
	if (w->is_unix) {
		/* Ours now: removed when we stop serving. */
		snprintf(h->unix_path, sizeof h->unix_path, "%s", listen);
		if (chmod(listen, METRICS_SOCKET_MODE) < 0)
			log_warn("metrics: chmod %s: %s", listen, strerror(errno));
	}
	return l;
}

struct metrics_http *metrics_http_new(struct event_base *base, const char *listen,
				      bool allow_remote, void (*collect)(void *arg), void *arg,
				      struct cause *c)
{
	struct metrics_http *h = XNEW(h);
	struct where w;

	h->collect = collect;
	h->arg = arg;
	if (check_where(listen, allow_remote, &w, c) < 0)
		goto fail;
	h->http = evhttp_new(base);
	if (h->http == NULL) {
		cause_set(c, CAUSE_INTERNAL, "metrics: cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(h->http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(h->http, 8192);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_gencb(h->http, serve, h);
	struct evconnlistener *l = bind_where(base, h, listen, &w, c);
	if (l == NULL)
		goto fail;
	if (evhttp_bind_listener(h->http, l) == NULL) {
		evconnlistener_free(l);
		cause_set(c, CAUSE_INTERNAL, "metrics: cannot serve on %s", listen);
		goto fail;
	}
	describe(h, evconnlistener_get_fd(l), &w);
	return h;
fail:
	metrics_http_free(h);
	return NULL;
}

void metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	if (h->unix_path[0] != '\0')
		unlink(h->unix_path);
	free(h);
}

const char *metrics_http_address(const struct metrics_http *h)
{
	return h->address;
}
