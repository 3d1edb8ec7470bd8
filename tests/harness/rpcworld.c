/* rpcworld.c — see rpcworld.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpcworld.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/timeutil.h"

void rpcworld_start(struct daemon *d, struct harness *h)
{
	struct cause c;

	d->base = h->base;
	d->cfg = h->cfg;                    /* pointers borrowed: the harness frees them */
	d->drvs = h->drvs;
	d->core = h->core;
	d->started = mono_now();
	core_set_hooks(d->core, &dispatch_core_hooks, d);
	d->srv = rpc_server_new(d->base, h->cfg.socket_path, &dispatch_server_ops, d, 64, &c);
	if (d->srv == NULL)
		fail_msg("rpc_server_new: %s", c.msg);
}

void rpcworld_stop(struct daemon *d, struct harness *h)
{
	harness_wait(h, 10, harness_quiet, NULL);
	rpc_server_free(d->srv);
	d->srv = NULL;
}

void client_open(struct daemon *d, struct client *cl, uid_t uid)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	evutil_make_socket_nonblocking(sv[1]);
	struct bufferevent *bev = bufferevent_socket_new(d->base, sv[1], BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	assert_non_null(rpc_server_add_bev(d->srv, bev, uid, 4242));
	*cl = (struct client){ .fd = sv[0], .uid = uid, .replies = json_object(),
			       .sizes = json_object(), .batches = json_array(),
			       .notes = json_array() };
}

void client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	free(cl->buf);
	json_decref(cl->replies);
	json_decref(cl->sizes);
	json_decref(cl->batches);
	json_decref(cl->notes);
	cl->buf = NULL;
	cl->replies = cl->sizes = cl->batches = cl->notes = NULL;
}

void client_key(json_t *id, char *buf, size_t len)
{
	if (json_is_integer(id))
		snprintf(buf, len, "%lld", (long long)json_integer_value(id));
	else if (json_is_string(id))
		snprintf(buf, len, "s:%s", json_string_value(id));
	else
		snprintf(buf, len, "null");
}

/* One whole frame from the server. */
static void file_frame(struct client *cl, const char *start, size_t n)
{
	json_error_t e;
	json_t *m = json_loadb(start, n, 0, &e);
	char key[256];

	if (m == NULL)
		fail_msg("not JSON from the server (%s): %.*s", e.text, (int)(n < 300 ? n : 300), start);
	cl->frames++;
	if (json_is_array(m)) {
		json_array_append_new(cl->batches, m);
	} else if (json_object_get(m, "method") != NULL) {
		json_array_append_new(cl->notes, m);
	} else {
		client_key(json_object_get(m, "id"), key, sizeof key);
		json_object_set_new(cl->replies, key, m);
		json_object_set_new(cl->sizes, key, json_integer((json_int_t)n));
	}
}

void client_pump(struct client *cl)
{
	for (;;) {
		if (cl->cap - cl->len < 65536) {
			cl->cap = cl->cap ? cl->cap * 2 : 131072;
			cl->buf = realloc(cl->buf, cl->cap);
			assert_non_null(cl->buf);
		}
		ssize_t r = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (r <= 0)
			break;
		cl->len += (size_t)r;
	}
	char *start = cl->buf, *nl;
	while (cl->len > 0 && (nl = memchr(start, '\n', cl->len - (size_t)(start - cl->buf))) != NULL) {
		file_frame(cl, start, (size_t)(nl - start));
		start = nl + 1;
	}
	size_t used = (size_t)(start - cl->buf);
	memmove(cl->buf, start, cl->len - used);
	cl->len -= used;
}

void client_write(struct harness *h, struct client *cl, const char *frame)
{
	size_t len = strlen(frame), off = 0;
	char *text = malloc(len + 1);
	double end = mono_now() + 30;

	assert_non_null(text);
	memcpy(text, frame, len);
	text[len++] = '\n';
	while (off < len) {
		ssize_t w = write(cl->fd, text + off, len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			fail_msg("write to the server: %s", strerror(errno));
		if (mono_now() > end)
			fail_msg("the server did not read a %zu-byte frame in 30 s", len);
		/* Full: let the server read (and answer) a while. */
		event_base_loop(h->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		client_pump(cl);
	}
	free(text);
}

struct wait_reply {
	struct client *cl;
	const char *key;
};

static bool reply_came(struct harness *h, void *arg)
{
	struct wait_reply *wr = arg;

	(void)h;
	client_pump(wr->cl);
	return json_object_get(wr->cl->replies, wr->key) != NULL;
}

json_t *client_wait_key(struct harness *h, struct client *cl, const char *key, double timeout,
			size_t *bytes)
{
	struct wait_reply wr = { cl, key };

	if (!harness_wait(h, timeout, reply_came, &wr))
		fail_msg("uid %u: no reply with id %s in %g s", (unsigned)cl->uid, key, timeout);
	json_t *r = json_incref(json_object_get(cl->replies, key));
	if (bytes != NULL)
		*bytes = (size_t)json_integer_value(json_object_get(cl->sizes, key));
	json_object_del(cl->replies, key);
	json_object_del(cl->sizes, key);
	return r;
}

static bool batch_came(struct harness *h, void *arg)
{
	struct client *cl = arg;

	(void)h;
	client_pump(cl);
	return json_array_size(cl->batches) > 0;
}

json_t *client_wait_batch(struct harness *h, struct client *cl, double timeout)
{
	if (!harness_wait(h, timeout, batch_came, cl))
		fail_msg("uid %u: no batch answer in %g s", (unsigned)cl->uid, timeout);
	json_t *b = json_incref(json_array_get(cl->batches, 0));
	json_array_remove(cl->batches, 0);
	return b;
}

json_t *client_request(struct harness *h, struct client *cl, const char *method, json_t *params,
		       size_t *bytes)
{
	json_t *req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id",
				(json_int_t)++cl->next_id, "method", method);
	char key[32];

	if (params != NULL)
		json_object_set_new(req, "params", params);
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	assert_non_null(text);
	client_write(h, cl, text);
	free(text);
	snprintf(key, sizeof key, "%ld", cl->next_id);
	return client_wait_key(h, cl, key, 60, bytes);
}

int code_of(json_t *reply)
{
	json_t *err = json_object_get(reply, "error");

	return err ? (int)json_integer_value(json_object_get(err, "code")) : 0;
}
