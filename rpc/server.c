/*
 * server.c — the control socket on libevent: listening, accepting,
 * connections and their phases (see rpc.h, part 3; calls are call.c's).
 */
#include "rpc.h"

#include <assert.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/list.h"
#include "../common/log.h"
#include "../common/xalloc.h"

struct rpc_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume_ev;            /* re-enables accept after EMFILE */
	bool accept_starved;                /* out of descriptors: logged once */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "": a socket passed in */
	const struct rpc_server_ops *ops;
	void *arg;
	struct list_node conns;
	size_t nconns;
	int max_conns;
	unsigned long next_id;
	char scratch[4096];                 /* encode_into's, for most messages */
	char rbuf[16384];                   /* conn_readable's: what one read brings */
};

static void conn_lost(struct rpc_conn *c, const char *why);
static void reader_update(struct rpc_conn *c);

static const char *const conn_phase_names[CONN__COUNT] = {
	"open", "paused", "half-closed", "half-paused", "closing", "lost"
};

const char *rpc_conn_phase_name(enum conn_phase ph)
{
	return (unsigned)ph < CONN__COUNT ? conn_phase_names[ph] : "invalid";
}

bool rpc_conn_phase_legal(enum conn_phase from, enum conn_phase to)
{
	static const bool legal[CONN__COUNT][CONN__COUNT] = {
		[CONN_OPEN] = { [CONN_PAUSED] = true, [CONN_HALF_CLOSED] = true,
				[CONN_CLOSING] = true, [CONN_LOST] = true },
		[CONN_PAUSED] = { [CONN_OPEN] = true, [CONN_HALF_PAUSED] = true,
				  [CONN_LOST] = true },
		[CONN_HALF_CLOSED] = { [CONN_HALF_PAUSED] = true, [CONN_CLOSING] = true,
				       [CONN_LOST] = true },
		[CONN_HALF_PAUSED] = { [CONN_HALF_CLOSED] = true, [CONN_LOST] = true },
		[CONN_CLOSING] = { [CONN_LOST] = true },
	};

	return (unsigned)from < CONN__COUNT && (unsigned)to < CONN__COUNT && legal[from][to];
}

/* The one writer of c->phase. */
static void conn_set_phase(struct rpc_conn *c, enum conn_phase to)
{
	if (to == c->phase)
		return;
	if (!rpc_conn_phase_legal(c->phase, to)) {
		log_err("rpc: conn %lu: illegal phase %s -> %s (bug)", c->id,
			conn_phase_names[c->phase], conn_phase_names[to]);
		assert(!"illegal connection phase");
		return;
	}
	log_debug("rpc: conn %lu: %s -> %s", c->id, conn_phase_names[c->phase],
		  conn_phase_names[to]);
	c->phase = to;
	reader_update(c);
}

static bool conn_gone(const struct rpc_conn *c)
{
	return c->phase == CONN_LOST || c->phase == CONN_CLOSING;
}

bool rpc_conn_half(const struct rpc_conn *c)
{
	return c->phase == CONN_HALF_CLOSED || c->phase == CONN_HALF_PAUSED;
}

static bool conn_paused(const struct rpc_conn *c)
{
	return c->phase == CONN_PAUSED || c->phase == CONN_HALF_PAUSED;
}

void rpc_conn_unref(struct rpc_conn *c)
{
	if (--c->refs > 0)
		return;
	free(c);
}

/* ---- input ------------------------------------------------------- */

/*
 * A socket is read by an event of our own, not by its bufferevent:
 * libevent asks the kernel how much waits (ioctl FIONREAD) before every
 * read, a system call per request beyond the read itself (4 instead of the
 * echo server's 3: epoll_wait, read, write).  conn_take serves what a read
 * brings, keeping what is left in the bufferevent's input, up to the
 * input limit; the bufferevent still writes.  An in-memory pair (no
 * descriptor) keeps libevent's own reading, with the same limit as a
 * watermark.
 */
#define INPUT_MAX ((size_t)RPC_MAX_FRAME + 65536)  /* a frame that cannot fit: we answer and close */

/* Reads while the connection takes requests and its input has room. */
static void reader_update(struct rpc_conn *c)
{
	if (c->rd == NULL)
		return;
	bool want = (c->phase == CONN_OPEN || c->phase == CONN_PAUSED) &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) < INPUT_MAX;
	if (want == c->rd_on)
		return;
	if ((want ? event_add(c->rd, NULL) : event_del(c->rd)) < 0)
		fatal("rpc: conn %lu: cannot %s its reader", c->id, want ? "add" : "remove");
	c->rd_on = want;
}

static void conn_take(struct rpc_conn *c, const char *fresh, size_t n);
static void conn_event(struct bufferevent *bev, short what, void *arg);

static void conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_conn *c = arg;
	struct rpc_server *srv = c->srv;
	size_t room = INPUT_MAX - evbuffer_get_length(bufferevent_get_input(c->bev));

	(void)what;
	ssize_t n = read(fd, srv->rbuf, room < sizeof srv->rbuf ? room : sizeof srv->rbuf);
	if (n > 0)
		conn_take(c, srv->rbuf, (size_t)n);
	else if (n == 0)
		conn_event(c->bev, BEV_EVENT_READING | BEV_EVENT_EOF, c);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		conn_event(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, c);
}

/* ---- output ------------------------------------------------------ */

/*
 * Messages are encoded into the server's scratch buffer, then appended to
 * the connection's output, where one of ordinary size takes a chain of
 * 1 KiB (malloc's per-thread cache).  Encoding straight into reserved
 * output space saved that copy but reserved for the largest ordinary reply
 * (8 KiB chains, each a trip through malloc's bins and back).  One
 * scratch buffer serves every connection: all of them are served on the
 * loop's thread.  A reply that does not fit it (a long list) gets a buffer
 * of its own, of the size the first pass measured.
 */
/* What an encoder (rpc_encode_into, rpc_encode_result_text) made of a
 * message, into the connection's output.  0: written (with its "\n");
 * -2: larger than a frame (nothing written). */
static int add_frame(struct rpc_conn *c, char *buf, size_t n)
{
	if (buf == NULL && errno == ENOMEM)
		fatal("out of memory writing a reply");
	if (buf == NULL)
		return -2;
	if (evbuffer_add(bufferevent_get_output(c->bev), buf, n) < 0)
		fatal("out of memory writing a reply");
	if (buf != c->srv->scratch)
		free(buf);
	return 0;
}

static int encode_into(struct rpc_conn *c, json_t *msg)
{
	size_t n = 0;
	char *buf = rpc_encode_into(msg, c->srv->scratch, sizeof c->srv->scratch, &n);

	return add_frame(c, buf, n);
}

/* A reply that does not fit in a frame still answers its request, or the
 * client would wait for ever: an error with the request's id, or with a
 * null id when the id itself is what does not fit. */
static void send_too_large(struct rpc_conn *c, json_t *id)
{
	char msg[128];

	log_warn("rpc: conn %lu: reply exceeds the %d-byte frame limit; sent an error instead",
		 c->id, RPC_MAX_FRAME);
	snprintf(msg, sizeof msg, "internal error: the reply exceeds the %d-byte frame limit",
		 RPC_MAX_FRAME);
	json_t *err = rpc_make_error(id, RPC_ERR_INTERNAL, msg);
	if (encode_into(c, err) < 0) {
		json_decref(err);
		err = rpc_make_error(json_null(), RPC_ERR_INTERNAL, msg);
		encode_into(c, err);
	}
	json_decref(err);
}

void rpc_server_dispatch(struct rpc_server *srv, struct rpc_call *call, enum rpc_method_id m)
{
	srv->ops->dispatch(call, m, &call->args, srv->arg);
}

/*
 * Replies are written at once, on the loop, instead of waiting for epoll to
 * say the socket can take them: a reply costs one write(2), not an
 * epoll_ctl(2) to ask, a loop turn, the write and another epoll_ctl(2).
 * Only what the socket does not take waits for EV_WRITE (then libevent
 * writes the rest and conn_write sees it drained).  Frames read together
 * are answered together: conn_read flushes once at its end.  An in-memory
 * pair (no descriptor) keeps libevent's own writing.
 */
static bool direct(const struct rpc_conn *c)
{
	return bufferevent_getfd(c->bev) >= 0;
}

static void conn_flush(struct rpc_conn *c)
{
	if (c->phase == CONN_LOST || c->reading || !direct(c))
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* A socket bufferevent keeps the front of its output frozen (only
	 * its own write callback takes data out): thaw it for this write, as
	 * that callback does, or nothing is written here at all.  An error is
	 * libevent's to find (its write callback reports it). */
	evbuffer_unfreeze(out, 1);
	evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
	else if (c->phase != CONN_OPEN)
		/* Drained: a closing, paused or half-closed connection goes on
		 * in conn_write (deferred: never from inside a handler). */
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
				    BEV_TRIG_DEFER_CALLBACKS);
}

/* After a message: written at once, unless the client has stopped reading
 * (it must not grow our memory without bound). */
static void sent(struct rpc_conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > RPC_MAX_OUTPUT)
		conn_lost(c, "not reading its replies");
	else
		conn_flush(c);
}

int rpc_conn_send(struct rpc_conn *c, json_t *msg)
{
	int rc = 0;

	if (conn_gone(c)) {
		json_decref(msg);
		return 0;
	}
	if (encode_into(c, msg) < 0) {
		if (json_object_get(msg, "id") != NULL)
			send_too_large(c, json_object_get(msg, "id"));
		else
			rc = -2;
	}
	json_decref(msg);
	sent(c);
	return rc;
}

void rpc_conn_send_result(struct rpc_conn *c, json_t *id, const struct jtext *text,
			  const json_t *tree)
{
	char *scratch = c->srv->scratch, *buf;
	size_t n = 0, size = sizeof c->srv->scratch;

	if (conn_gone(c))
		return;
	buf = text != NULL ? rpc_encode_result_text(id, text, scratch, size, &n) :
	      rpc_encode_result(id, tree, scratch, size, &n);
	if (add_frame(c, buf, n) < 0)
		send_too_large(c, id);
	sent(c);
}

/* Sends a last error, then closes once it is written. */
static void conn_fail(struct rpc_conn *c, json_t *reply)
{
	rpc_conn_send(c, reply);
	if (c->phase == CONN_LOST)
		return;
	conn_set_phase(c, CONN_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_lost(c, "protocol error");
}

static void too_large(struct rpc_conn *c)
{
	char msg[160];

	snprintf(msg, sizeof msg, "invalid request: frame exceeds the %d-byte limit; closing",
		 RPC_MAX_FRAME);
	log_warn("rpc: conn %lu (uid %u pid %d): oversized frame", c->id, (unsigned)c->uid,
		 (int)c->pid);
	conn_fail(c, rpc_make_error(json_null(), RPC_ERR_INVALID_REQUEST, msg));
}

/*
 * Whether requests must wait unread (pending bytes of them): while replies
 * pile up, a pipelining client is served as fast as it reads; one that also
 * sends a frame's worth more does not read at all, and is dropped.
 */
static bool hold_input(struct rpc_conn *c, size_t pending)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <= RPC_OUTPUT_PAUSE)
		return false;
	if (!conn_paused(c))
		conn_set_phase(c, rpc_conn_half(c) ? CONN_HALF_PAUSED : CONN_PAUSED);
	if (pending > RPC_MAX_FRAME)
		conn_lost(c, "not reading its replies");
	return true;
}

/*
 * Serves the complete frames at the front of buf[0, len) and returns how
 * many bytes they took.  It stops at an incomplete frame, and when the
 * connection must hold its input or goes.
 */
static size_t take_frames(struct rpc_conn *c, const char *buf, size_t len)
{
	size_t done = 0;

	while (!conn_gone(c) && !hold_input(c, len - done)) {
		const char *nl = memchr(buf + done, '\n', len - done);
		size_t n = nl != NULL ? (size_t)(nl - (buf + done)) : len - done;
		if (n > RPC_MAX_FRAME) {
			too_large(c);
			break;
		}
		if (nl == NULL)
			break;
		size_t end = n;
		if (end > 0 && buf[done + end - 1] == '\r')
			end--;
		if (end > 0)
			rpc_call_frame(c, buf + done, end);
		done += n + 1;
	}
	return done;
}

/*
 * Serves what waits: the connection's input, then fresh[0, n) (what a
 * read just brought, or nothing).  Fresh bytes are served where they are
 * when nothing waits before them (the usual case: one whole request per
 * read), and only what is left of them is kept.
 */
static void conn_take(struct rpc_conn *c, const char *fresh, size_t n)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->refs++;                          /* a handler may drop the connection */
	c->reading = true;
	if (n > 0 && evbuffer_get_length(in) == 0) {
		size_t took = take_frames(c, fresh, n);
		fresh += took;
		n -= took;
		if (conn_gone(c))
			n = 0;
	}
	if (n > 0) {
		/* The socket bufferevent keeps its input's end frozen (only
		 * its own read adds there): thaw it for ours. */
		evbuffer_unfreeze(in, 0);
		if (evbuffer_add(in, fresh, n) < 0)
			fatal("out of memory reading a request");
		evbuffer_freeze(in, 0);
	}
	size_t len = evbuffer_get_length(in);
	if (len > 0 && !conn_gone(c) && !hold_input(c, len) &&
	    (len > RPC_MAX_FRAME || evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos >= 0)) {
		size_t took = take_frames(c, (const char *)evbuffer_pullup(in, -1), len);
		if (c->phase != CONN_LOST)
			evbuffer_drain(in, took);
	}
	c->reading = false;
	if (c->phase != CONN_LOST)
		reader_update(c);           /* input below its limit again, or full */
	conn_flush(c);
	rpc_conn_unref(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_take(arg, NULL, 0);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct rpc_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (direct(c))
		bufferevent_disable(bev, EV_WRITE);     /* until a write falls short again */
	if (c->phase == CONN_CLOSING) {
		conn_lost(c, "closed after an error");
		return;
	}
	c->refs++;
	if (conn_paused(c)) {
		conn_set_phase(c, c->phase == CONN_HALF_PAUSED ? CONN_HALF_CLOSED : CONN_OPEN);
		conn_read(bev, c);
	}
	if (c->phase == CONN_HALF_CLOSED && list_empty(&c->calls) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_lost(c, "half-closed, every request answered");
	rpc_conn_unref(c);
}

/* EOF on a Unix stream socket: a peer that is gone (POLLHUP) takes its
 * holds with it at once; one that only shut down its sending side (as
 * socat and "nc -N" do) still reads, so it gets its answers first. */
static bool peer_gone(struct rpc_conn *c)
{
	struct pollfd p = { .fd = bufferevent_getfd(c->bev), .events = POLLOUT };

	return poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)) != 0;
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct rpc_conn *c = arg;

	if (what & BEV_EVENT_ERROR) {
		conn_lost(c, strerror(EVUTIL_SOCKET_ERROR()));
	} else if (what & BEV_EVENT_EOF) {
		if (peer_gone(c)) {
			conn_lost(c, "hung up");
			return;
		}
		if (conn_gone(c))
			return;
		conn_set_phase(c, c->phase == CONN_PAUSED ? CONN_HALF_PAUSED : CONN_HALF_CLOSED);
		bufferevent_disable(bev, EV_READ);
		conn_write(bev, c);
	}
}

/* Lost, not freed: unhook, cancel what waits, let the owner release what
 * the client held; the struct goes with its last reference. */
static void conn_lost(struct rpc_conn *c, const char *why)
{
	struct rpc_server *srv = c->srv;
	struct list_node *pos, *tmp;

	if (c->phase == CONN_LOST)
		return;
	conn_set_phase(c, CONN_LOST);
	log_debug("rpc: conn %lu (uid %u pid %d) gone: %s", c->id, (unsigned)c->uid,
		  (int)c->pid, why);
	list_del(&c->node);
	srv->nconns--;
	if (c->rd != NULL)
		event_free(c->rd);          /* the descriptor goes with the bufferevent */
	c->rd = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	list_foreach_safe(pos, tmp, &c->calls) {
		struct rpc_call *call = list_entry(pos, struct rpc_call, node);
		void (*fn)(struct rpc_call *, void *) = call->lost_fn;
		call->lost_fn = NULL;
		if (fn != NULL)
			fn(call, call->lost_arg);
	}
	if (srv->ops != NULL && srv->ops->conn_close != NULL)
		srv->ops->conn_close(c, srv->arg);
	rpc_conn_unref(c);
}

/* ---- accept ------------------------------------------------------ */

static void refuse(int fd, const char *why)
{
	json_t *err = rpc_make_error(json_null(), RPC_ERR_LIMIT, why);
	size_t len;
	char *buf = rpc_encode(err, &len);

	json_decref(err);
	if (buf != NULL && send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("rpc: refuse: %s", strerror(errno));
	free(buf);
	close(fd);
}

/* A connection over an existing bufferevent: accepted sockets, and the
 * in-memory pairs the fuzz harness and dispatch tests use. */
static struct rpc_conn *conn_new(struct rpc_server *srv, struct bufferevent *bev, uid_t uid,
				 pid_t pid)
{
	struct rpc_conn *c = XNEW(c);

	c->srv = srv;
	c->refs = 1;
	c->uid = uid;
	c->pid = pid;
	c->id = ++srv->next_id;
	c->bev = bev;
	list_init(&c->calls);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	if (direct(c)) {
		/* A new bufferevent has writing enabled: a direct one writes
		 * itself, and reads with its own event. */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		c->rd = event_new(srv->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST,
				  conn_readable, c);
		if (c->rd == NULL)
			fatal("out of memory: a connection's reader");
		reader_update(c);
	} else {
		bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_MAX);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	}
	list_add_tail(&srv->conns, &c->node);
	srv->nconns++;
	log_debug("rpc: conn %lu from uid %u pid %d", c->id, (unsigned)uid, (int)pid);
	if (srv->ops != NULL && srv->ops->conn_open != NULL)
		srv->ops->conn_open(c, srv->arg);
	return c;
}

struct rpc_conn *rpc_server_add_bev(struct rpc_server *srv, struct bufferevent *bev,
				    uid_t uid, pid_t pid)
{
	return conn_new(srv, bev, uid, pid);
}

void rpc_conn_hangup(struct rpc_conn *c)
{
	conn_lost(c, "hung up");
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct rpc_server *srv = arg;
	struct ucred cred;
	socklen_t clen = sizeof cred;

	(void)l;
	(void)sa;
	(void)salen;
	if (srv->accept_starved) {
		srv->accept_starved = false;
		log_info("rpc: accepting connections again");
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("rpc: SO_PEERCRED failed: %s; connection refused", strerror(errno));
		close(fd);
		return;
	}
	if (srv->nconns >= (size_t)srv->max_conns) {
		log_warn("rpc: connection limit (%d) reached; refusing uid %u pid %d",
			 srv->max_conns, (unsigned)cred.uid, (int)cred.pid);
		refuse(fd, "limit reached: too many connections");
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL || conn_new(srv, bev, cred.uid, cred.pid) == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		else
			close(fd);
	}
}

static void resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->listener);
}

/* Out of descriptors: pause accepting for 100 ms instead of spinning on
 * a listening socket that stays readable. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct rpc_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Once per episode, not every 100 ms while it lasts. */
		if (!srv->accept_starved)
			log_warn("rpc: accept: %s; pausing accept, retrying every 100 ms",
				 strerror(err));
		srv->accept_starved = true;
		evconnlistener_disable(l);
		struct timeval tv = { 0, 100000 };
		evtimer_add(srv->resume_ev, &tv);
		return;
	}
	log_warn("rpc: accept: %s", strerror(err));
}

/* Refuses to take over a socket a live daemon still answers on. */
static int claim_path(const char *path, struct cause *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		close(fd);
		cause_set(c, CAUSE_INTERNAL, "%s: another sessiond is listening there", path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	if (unlink(path) < 0 && errno != ENOENT) {
		cause_set(c, CAUSE_INTERNAL, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static struct rpc_server *server_alloc(struct event_base *base, const struct rpc_server_ops *ops,
				       void *arg, int max_conns)
{
	struct rpc_server *srv = XNEW(srv);

	srv->base = base;
	srv->ops = ops;
	srv->arg = arg;
	srv->max_conns = max_conns;
	list_init(&srv->conns);
	return srv;
}

/* The listener is there: accept from now on. */
static struct rpc_server *server_serve(struct rpc_server *srv)
{
	srv->resume_ev = evtimer_new(srv->base, resume_accept, srv);
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	return srv;
}

struct rpc_server *rpc_server_new(struct event_base *base, const char *path,
				  const struct rpc_server_ops *ops, void *arg,
				  int max_conns, struct cause *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct rpc_server *srv;

	if (strlen(path) >= sizeof sun.sun_path) {
		cause_set(c, CAUSE_INTERNAL, "socket path too long: %s", path);
		return NULL;
	}
	if (claim_path(path, c) < 0)
		return NULL;
	srv = server_alloc(base, ops, arg, max_conns);
	snprintf(srv->path, sizeof srv->path, "%s", path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	srv->listener = evconnlistener_new_bind(base, on_accept, srv,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
						(struct sockaddr *)&sun, sizeof sun);
	if (srv->listener == NULL) {
		cause_set(c, CAUSE_INTERNAL, "bind %s: %s", path, strerror(errno));
		free(srv);
		return NULL;
	}
	/* Every request is authorized by the peer's uid; anyone may connect. */
	if (chmod(path, 0666) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
	return server_serve(srv);
}

/* Whoever made the socket (systemd's socket unit) owns its path and mode:
 * nothing is bound, chmod'ed or unlinked here. */
struct rpc_server *rpc_server_new_fd(struct event_base *base, int fd,
				     const struct rpc_server_ops *ops, void *arg,
				     int max_conns, struct cause *c)
{
	struct rpc_server *srv;

	if (evutil_make_socket_nonblocking(fd) < 0) {
		cause_set(c, CAUSE_INTERNAL, "socket fd %d: %s", fd, strerror(errno));
		return NULL;
	}
	srv = server_alloc(base, ops, arg, max_conns);
	/* Backlog 0: it listens already. */
	srv->listener = evconnlistener_new(base, on_accept, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (srv->listener == NULL) {
		cause_set(c, CAUSE_INTERNAL, "socket fd %d: cannot listen: %s", fd, strerror(errno));
		free(srv);
		return NULL;
	}
	return server_serve(srv);
}

void rpc_server_stop_accepting(struct rpc_server *srv)
{
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
		if (srv->path[0] != '\0')
			unlink(srv->path);
	}
	if (srv->resume_ev != NULL) {
		event_free(srv->resume_ev);
		srv->resume_ev = NULL;
	}
}

size_t rpc_server_pending_output(struct rpc_server *srv)
{
	size_t n = 0;
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &srv->conns) {
		struct rpc_conn *c = list_entry(pos, struct rpc_conn, node);
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	}
	return n;
}

void rpc_server_free(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	rpc_server_stop_accepting(srv);
	while (!list_empty(&srv->conns))
		conn_lost(list_entry(srv->conns.next, struct rpc_conn, node), "server shutdown");
	free(srv);
}

size_t rpc_server_conn_count(struct rpc_server *srv)
{
	return srv->nconns;
}

void rpc_server_foreach(struct rpc_server *srv, void (*fn)(struct rpc_conn *, void *),
			void *arg)
{
	struct list_node *pos, *tmp;

	list_foreach_safe(pos, tmp, &srv->conns)
		fn(list_entry(pos, struct rpc_conn, node), arg);
}

uid_t rpc_conn_uid(struct rpc_conn *c)
{
	return c->uid;
}

pid_t rpc_conn_pid(struct rpc_conn *c)
{
	return c->pid;
}

void *rpc_conn_data(struct rpc_conn *c)
{
	return c->data;
}

void rpc_conn_set_data(struct rpc_conn *c, void *data)
{
	c->data = data;
}

void rpc_conn_notify(struct rpc_conn *c, const char *method, json_t *params)
{
	rpc_conn_send(c, rpc_make_notification(method, params));
}
