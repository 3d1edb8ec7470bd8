/*
 * client.c — libsessiond-client (see sessiond-client.h).
 */
#include "sessiond-client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/jsonplain.h"
#include "../common/timeutil.h"
#include "rpc.h"

struct sdc {
	int fd;
	long next_id;
	char *buf;                          /* bytes read, not yet a frame */
	size_t len, cap;
	json_t *replies;                    /* id (as text) -> reply (kept_result) */
	struct {                            /* one kept result outside replies: */
		long id;                    /* the usual caller waits for one */
		char *text;
		size_t len, cap;
		bool full;
	} kept;
	sdc_notify_fn notify;
	void *notify_arg;
	sdc_tick_fn tick;
	void *tick_arg;
	int tick_ms;
	long owner;                         /* owner_uid of the wrappers; -1: none */
};

static int fail(struct sdc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *sdc_default_socket(void)
{
	static char path[4096];
	const char *env = getenv("SESSIOND_SOCKET");

	if (env != NULL && env[0] != '\0')
		return env;
	rpc_default_socket(geteuid(), path, sizeof path);
	return path;
}

struct sdc *sdc_connect(const char *path, struct sdc_error *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sdc *c;
	int fd;

	if (path == NULL)
		path = sdc_default_socket();
	if (strlen(path) >= sizeof sun.sun_path) {
		fail(err, SDC_ERR_IO, "socket path too long: %s", path);
		return NULL;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fail(err, SDC_ERR_IO, "cannot connect to sessiond at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		fail(err, SDC_ERR_IO, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->owner = -1;
	c->replies = json_object();
	return c;
}

void sdc_close(struct sdc *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	json_decref(c->replies);
	free(c->kept.text);
	free(c->buf);
	free(c);
}

int sdc_fd(const struct sdc *c)
{
	return c->fd;
}

void sdc_set_notify(struct sdc *c, sdc_notify_fn fn, void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

void sdc_set_tick(struct sdc *c, sdc_tick_fn fn, void *arg, int interval_ms)
{
	c->tick = fn;
	c->tick_arg = arg;
	c->tick_ms = interval_ms;
}

void sdc_set_owner(struct sdc *c, long uid)
{
	c->owner = uid < 0 ? -1 : uid;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A daemon that refuses a connection (at its limit) says why, then
 * closes: our write may meet the closed socket before we read that. */
static int refused_or_lost(struct sdc *c, int write_errno, struct sdc_error *err)
{
	char buf[1024];
	ssize_t n = recv(c->fd, buf, sizeof buf - 1, MSG_DONTWAIT);

	if (n > 0) {
		buf[n] = '\0';
		char *eol = strchr(buf, '\n');
		json_t *msg = eol ? json_loadb(buf, (size_t)(eol - buf), 0, NULL) : NULL;
		json_t *e = json_object_get(msg, "error");
		const char *text = json_string_value(json_object_get(e, "message"));
		if (text != NULL) {
			fail(err, (int)json_integer_value(json_object_get(e, "code")), "%s", text);
			json_decref(msg);
			return -1;
		}
		json_decref(msg);
	}
	return fail(err, SDC_ERR_IO, "lost the connection to sessiond: %s", strerror(write_errno));
}

/* params from a tree (NULL: none, which is {}). */
static void tree_params(struct jtext *t, const void *arg)
{
	if (arg != NULL) {
		jtext_json(t, "params", arg);
	} else {
		jtext_open(t, "params");
		jtext_close(t);
	}
}

/* Writes a request without a tree (into 4 KiB on the stack when it fits).
 * Its id. */
static long send_request(struct sdc *c, const char *method, rpc_params_fn *params,
			 const void *arg, struct sdc_error *err)
{
	long id = ++c->next_id;
	char stack[4096];
	size_t len;
	char *buf = rpc_encode_request(id, method, params, arg, stack, sizeof stack, &len);

	if (buf == NULL)
		return errno == ENOMEM ? fail(err, SDC_ERR_IO, "out of memory") :
		       errno == EILSEQ ? fail(err, SDC_ERR_PROTOCOL,
					      "a request parameter is not valid UTF-8") :
					 fail(err, SDC_ERR_PROTOCOL, "request too large");
	int rc = write_all(c->fd, buf, len), write_errno = errno;
	if (buf != stack)
		free(buf);
	if (rc < 0)
		return refused_or_lost(c, write_errno, err);
	return id;
}

long sdc_send(struct sdc *c, const char *method, json_t *params, struct sdc_error *err)
{
	long id = send_request(c, method, tree_params, params, err);

	json_decref(params);
	return id;
}

/*
 * A result as sessiond writes it, {"jsonrpc":"2.0","id":N,"result":R}, is
 * kept as R's text (in a JSON string) and loaded into a tree only when a
 * caller asks for it: most callers want a token or nothing at all.  Any
 * other frame is loaded whole: an error, a notification, another id.
 */
static bool kept_result(const char *line, size_t n, long *id, size_t *at)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":", tail[] = ",\"result\":";
	const char *end = line + n, *p;
	struct json_plain_num num;

	if (n < sizeof head - 1 || memcmp(line, head, sizeof head - 1) != 0)
		return false;
	p = json_plain_number(line + sizeof head - 1, end, &num);
	if (p == NULL || num.real || (size_t)(end - p) < sizeof tail ||
	    memcmp(p, tail, sizeof tail - 1) != 0 || line[n - 1] != '}')
		return false;
	*id = (long)num.i;
	*at = (size_t)(p - line) + sizeof tail - 1;
	return true;
}

/* A kept result into the slot, when it is free: false when it is not (or
 * memory is short), and the result goes into replies instead. */
static bool keep_in_slot(struct sdc *c, long id, const char *text, size_t n)
{
	if (c->kept.full)
		return false;
	if (n + 1 > c->kept.cap) {
		char *b = realloc(c->kept.text, n + 1);
		if (b == NULL)
			return false;
		c->kept.text = b;
		c->kept.cap = n + 1;
	}
	memcpy(c->kept.text, text, n);
	c->kept.text[n] = '\0';
	c->kept.len = n;
	c->kept.id = id;
	c->kept.full = true;
	return true;
}

/* Files one complete frame: a reply is kept by id, a notification handed on. */
static void file_frame(struct sdc *c, const char *line, size_t n)
{
	json_t *msg, *id, *payload;
	const char *method;
	char key[JTEXT_DECIMAL_MAX];
	long rid;
	size_t at;

	if (kept_result(line, n, &rid, &at)) {
		if (!keep_in_slot(c, rid, line + at, n - 1 - at)) {
			jtext_decimal(key, rid);
			json_object_set_new(c->replies, key, json_stringn_nocheck(line + at, n - 1 - at));
		}
		return;
	}
	msg = json_plain_loadb(line, n, 0, NULL);
	if (msg == NULL)
		return;
	enum rpc_incoming kind = rpc_parse_incoming(msg, &id, &payload, &method);
	if (kind == RPC_IN_NOTIFICATION) {
		if (c->notify != NULL)
			c->notify(method, payload, c->notify_arg);
	} else if (kind != RPC_IN_INVALID) {
		jtext_decimal(key, json_is_integer(id) ? (long long)json_integer_value(id) : 0);
		json_object_set(c->replies, key, msg);
	}
	json_decref(msg);
}

static int take_reply(struct sdc *c, long id, json_t **result, char *token,
		      struct sdc_error *err);

/* Reads what is available (waiting at most timeout_ms; -1: until
 * something comes, in the read itself: the socket blocks) and files
 * frames. */
static int pump(struct sdc *c, int timeout_ms, struct sdc_error *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int rc = timeout_ms < 0 ? 1 : poll(&pfd, 1, timeout_ms);

	if (rc < 0 && errno == EINTR)
		return 0;
	if (rc <= 0)
		return rc < 0 ? fail(err, SDC_ERR_IO, "poll: %s", strerror(errno)) : 0;
	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 131072;
		if (cap > 2 * (size_t)RPC_MAX_FRAME + 131072)
			return fail(err, SDC_ERR_PROTOCOL, "frame from sessiond too large");
		char *nb = realloc(c->buf, cap);
		if (nb == NULL)
			return fail(err, SDC_ERR_IO, "out of memory");
		c->buf = nb;
		c->cap = cap;
	}
	ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;               /* (a caller may have made the socket non-blocking) */
	if (r <= 0) {
		/* An error with a null id (a refused connection, a frame it
		 * could not read) says why it closed. */
		if (json_object_get(c->replies, "0") != NULL && take_reply(c, 0, NULL, NULL, err) < 0)
			return -1;
		return fail(err, SDC_ERR_IO, "sessiond closed the connection");
	}
	c->len += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < c->len; i++) {
		if (c->buf[i] != '\n')
			continue;
		file_frame(c, c->buf + start, i - start);
		start = i + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	return 0;
}

int sdc_poll(struct sdc *c, int timeout_ms, struct sdc_error *err)
{
	return pump(c, timeout_ms, err);
}

/* A kept result's "token" (its first member, as sessiond writes it)
 * without loading the rest; false when it is not so written. */
static bool token_of_text(const char *text, size_t n, char *token)
{
	static const char head[] = "{\"token\":\"";
	const char *end;

	if (n < sizeof head || memcmp(text, head, sizeof head - 1) != 0)
		return false;
	text += sizeof head - 1;
	n -= sizeof head - 1;
	end = memchr(text, '"', n < 64 ? n : 64);
	if (end == NULL || memchr(text, '\\', (size_t)(end - text)) != NULL)
		return false;
	memcpy(token, text, (size_t)(end - text));
	token[end - text] = '\0';
	return true;
}

/* The "token" of a result's tree (empty without one) into token. */
static void token_of_tree(const json_t *tree, char *token)
{
	snprintf(token, 64, "%s", json_string_value(json_object_get(tree, "token")) ?: "");
}

/* A kept result's tree into *result and its "token" into token, each when
 * not NULL; -1 when it is needed and not JSON. */
static int kept_text(const char *text, size_t n, json_t **result, char *token,
		     struct sdc_error *err)
{
	bool quick = token != NULL && token_of_text(text, n, token);
	json_t *tree = NULL;

	if (result == NULL && (token == NULL || quick))
		return 0;
	tree = json_plain_loadb(text, n, JSON_DECODE_ANY, NULL);
	if (tree == NULL)
		return fail(err, SDC_ERR_PROTOCOL, "a result from sessiond that is not JSON");
	if (token != NULL && !quick)
		token_of_tree(tree, token);
	if (result != NULL)
		*result = tree;
	else
		json_decref(tree);
	return 0;
}

/* The reply to id: 1 not here yet, 0 a result (its tree in *result and its
 * "token" in token, each when not NULL), -1 an error (in err). */
static int take_reply(struct sdc *c, long id, json_t **result, char *token,
		      struct sdc_error *err)
{
	char key[JTEXT_DECIMAL_MAX];
	json_t *msg, *v;
	int rc = 0;

	if (c->kept.full && c->kept.id == id) {
		c->kept.full = false;
		rc = kept_text(c->kept.text, c->kept.len, result, token, err);
		if (c->kept.cap > 65536) {          /* not kept large for long */
			free(c->kept.text);
			c->kept.text = NULL;
			c->kept.cap = 0;
		}
		return rc;
	}
	jtext_decimal(key, id);
	msg = json_object_get(c->replies, key);
	if (msg == NULL)
		return 1;
	json_incref(msg);
	json_object_del(c->replies, key);
	if (json_is_string(msg)) {
		rc = kept_text(json_string_value(msg), json_string_length(msg), result, token, err);
	} else if ((v = json_object_get(msg, "result")) != NULL) {
		if (token != NULL)
			token_of_tree(v, token);
		if (result != NULL)
			*result = json_incref(v);
	} else {
		v = json_object_get(msg, "error");
		rc = fail(err, (int)json_integer_value(json_object_get(v, "code")), "%s",
			  json_string_value(json_object_get(v, "message")) ?: "error without a message");
	}
	json_decref(msg);
	return rc;
}

/* sdc_wait, and the result's "token" into token when it is not NULL. */
static int wait_reply(struct sdc *c, long id, int timeout_ms, json_t **result, char *token,
		      struct sdc_error *err)
{
	double deadline = timeout_ms >= 0 ? mono_now() + timeout_ms / 1000.0 : 0;

	if (result != NULL)
		*result = NULL;
	for (;;) {
		int rc = take_reply(c, id, result, token, err);
		if (rc <= 0)
			return rc;
		int wait = c->tick != NULL ? c->tick_ms : -1;
		if (timeout_ms >= 0) {
			double left = deadline - mono_now();
			if (left <= 0)
				return fail(err, SDC_ERR_TIMEOUT, "no reply from sessiond in time");
			if (wait < 0 || left * 1000 < wait)
				wait = (int)(left * 1000) + 1;
		}
		if (pump(c, wait, err) < 0)
			return -1;
		if (c->tick != NULL)
			c->tick(c->tick_arg);
	}
}

int sdc_wait(struct sdc *c, long id, int timeout_ms, json_t **result, struct sdc_error *err)
{
	return wait_reply(c, id, timeout_ms, result, NULL, err);
}

int sdc_call(struct sdc *c, const char *method, json_t *params, json_t **result,
	     struct sdc_error *err)
{
	long id = sdc_send(c, method, params, err);

	return id < 0 ? -1 : sdc_wait(c, id, -1, result, err);
}

/* ---- wrappers ------------------------------------------------------- */

/*
 * Every wrapper is sdc_call(): it waits without a time limit and calls the
 * tick function meanwhile, so a program that shows progress while a VM
 * boots sets sdc_set_tick() and calls the wrapper.  Which parameters each
 * method takes is rpc_methods[] (rpc/methods.c); tests/test_client.c checks
 * every wrapper's request against its row.
 */

static json_t *named(const char *name)
{
	return json_pack("{s:s}", "name", name);
}

/* params (NULL: none) plus owner_uid when the connection acts as another
 * user: for the methods whose row takes owner_uid. */
static json_t *owned(struct sdc *c, json_t *params)
{
	if (c->owner < 0)
		return params;
	if (params == NULL)
		params = json_object();
	json_object_set_new(params, "owner_uid", json_integer(c->owner));
	return params;
}

int sdc_daemon_info(struct sdc *c, json_t **info, struct sdc_error *err)
{
	return sdc_call(c, RPC_DAEMON_INFO, NULL, info, err);
}

int sdc_daemon_reload(struct sdc *c, json_t **report, struct sdc_error *err)
{
	return sdc_call(c, RPC_DAEMON_RELOAD, NULL, report, err);
}

int sdc_session_create(struct sdc *c, const char *name, json_t *settings,
		       json_t **session, struct sdc_error *err)
{
	json_t *p = settings ? json_deep_copy(settings) : json_object();

	json_object_set_new(p, "name", json_string(name));
	return sdc_call(c, RPC_SESSION_CREATE, owned(c, p), session, err);
}

/* The parameters of one page of session.list or of session.holds. */
static json_t *list_params(struct sdc *c, const struct sdc_list_opts *o, const char *after)
{
	json_t *p = json_object();

	if (o != NULL && o->state != NULL)
		json_object_set_new(p, "state", json_string(o->state));
	if (o != NULL && o->host != NULL)
		json_object_set_new(p, "host", json_string(o->host));
	if (o != NULL && o->limit > 0)
		json_object_set_new(p, "limit", json_integer((json_int_t)o->limit));
	if (after != NULL)
		json_object_set_new(p, "after", json_string(after));
	return owned(c, p);
}

static json_t *holds_params(struct sdc *c, const char *name, const char *after, size_t limit)
{
	json_t *p = named(name);

	if (limit > 0)
		json_object_set_new(p, "limit", json_integer((json_int_t)limit));
	if (after != NULL)
		json_object_set_new(p, "after", json_string(after));
	return owned(c, p);
}

int sdc_session_list_page(struct sdc *c, const struct sdc_list_opts *o, const char *after,
			  json_t **page, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_LIST, list_params(c, o, after), page, err);
}

int sdc_session_holds(struct sdc *c, const char *name, const char *after, size_t limit,
		      json_t **page, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_HOLDS, holds_params(c, name, after, limit), page, err);
}

/* ---- iterators ---------------------------------------------------------- */

struct sdc_iter {
	struct sdc *c;
	bool holds;                         /* session.holds, else session.list */
	char *name;                         /* holds: the session */
	struct sdc_list_opts opts;
	char *state, *host;                 /* opts.state's and opts.host's copies */
	json_t *page;                       /* the current page */
	size_t next_item;                   /* in the page's array */
	char *after;                        /* the next page's cursor; NULL: none */
	long asked;                         /* the next page's request id; 0: none, < 0: failed */
	struct sdc_error ask_err;           /* why it failed */
	bool started, failed;
};

static struct sdc_iter *iter_new(struct sdc *c)
{
	struct sdc_iter *it = calloc(1, sizeof *it);

	if (it != NULL)
		it->c = c;
	return it;
}

struct sdc_iter *sdc_sessions_iter(struct sdc *c, const struct sdc_list_opts *o)
{
	struct sdc_iter *it = iter_new(c);

	if (it != NULL && o != NULL) {
		it->opts = *o;
		it->state = o->state ? strdup(o->state) : NULL;
		it->opts.state = it->state;
		it->host = o->host ? strdup(o->host) : NULL;
		it->opts.host = it->host;
	}
	return it;
}

struct sdc_iter *sdc_holds_iter(struct sdc *c, const char *name, size_t limit)
{
	struct sdc_iter *it = iter_new(c);

	if (it != NULL) {
		it->holds = true;
		it->name = strdup(name);
		it->opts.limit = limit;
	}
	return it;
}

/* Asks for the page after it->after (the first when NULL): the request
 * goes out before the caller is handed the items of the page before it,
 * so the daemon builds the next page while the caller prints this one. */
static void iter_ask(struct sdc_iter *it)
{
	json_t *p = it->holds ? holds_params(it->c, it->name, it->after, it->opts.limit) :
				list_params(it->c, &it->opts, it->after);

	it->asked = sdc_send(it->c, it->holds ? RPC_SESSION_HOLDS : RPC_SESSION_LIST, p,
			     &it->ask_err);
}

/* The page asked for; false at the end or on an error. */
static bool iter_fetch(struct sdc_iter *it, struct sdc_error *err)
{
	json_t *page = NULL;

	if (!it->started)
		iter_ask(it);
	else if (it->asked == 0)
		return false;               /* the last page was had */
	it->started = true;
	if (it->asked < 0) {
		if (err != NULL)
			*err = it->ask_err;
		it->failed = true;
		return false;
	}
	int rc = sdc_wait(it->c, it->asked, -1, &page, err);
	it->asked = 0;
	if (rc < 0) {
		it->failed = true;
		return false;
	}
	json_decref(it->page);
	it->page = page;
	it->next_item = 0;
	free(it->after);
	const char *next = json_string_value(json_object_get(page, "next"));
	it->after = next ? strdup(next) : NULL;
	if (it->after != NULL)
		iter_ask(it);
	return true;
}

json_t *sdc_iter_next(struct sdc_iter *it, struct sdc_error *err)
{
	for (;;) {
		json_t *a = json_object_get(it->page, it->holds ? "holds" : "sessions");
		if (it->next_item < json_array_size(a))
			return json_array_get(a, it->next_item++);
		if (!iter_fetch(it, err))
			return NULL;
	}
}

bool sdc_iter_failed(const struct sdc_iter *it)
{
	return it->failed;
}

size_t sdc_iter_buffered(const struct sdc_iter *it)
{
	size_t n = json_array_size(json_object_get(it->page, it->holds ? "holds" : "sessions"));

	return n > it->next_item ? n - it->next_item : 0;
}

void sdc_iter_free(struct sdc_iter *it)
{
	if (it == NULL)
		return;
	if (it->asked > 0)                  /* a page asked in advance: not left behind */
		sdc_wait(it->c, it->asked, -1, NULL, NULL);
	json_decref(it->page);
	free(it->after);
	free(it->name);
	free(it->state);
	free(it->host);
	free(it);
}

int sdc_session_list(struct sdc *c, json_t **sessions, struct sdc_error *err)
{
	struct sdc_iter *it = sdc_sessions_iter(c, NULL);
	json_t *a = json_array(), *s;

	if (it == NULL)
		return fail(err, SDC_ERR_IO, "out of memory");
	while ((s = sdc_iter_next(it, err)) != NULL)
		json_array_append(a, s);
	bool failed = sdc_iter_failed(it);
	sdc_iter_free(it);
	if (failed) {
		json_decref(a);
		return -1;
	}
	*sessions = a;
	return 0;
}

int sdc_session_get(struct sdc *c, const char *name, json_t **session, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_GET, owned(c, named(name)), session, err);
}

int sdc_session_start(struct sdc *c, const char *name, json_t **session, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_START, owned(c, named(name)), session, err);
}

int sdc_session_stop(struct sdc *c, const char *name, bool force, json_t **session,
		     struct sdc_error *err)
{
	json_t *p = json_pack("{s:s, s:b}", "name", name, "force", force);

	return sdc_call(c, RPC_SESSION_STOP, owned(c, p), session, err);
}

int sdc_session_reset(struct sdc *c, const char *name, json_t **session, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_RESET, owned(c, named(name)), session, err);
}

int sdc_session_delete(struct sdc *c, const char *name, bool keep_storage,
		       struct sdc_error *err)
{
	json_t *p = json_pack("{s:s, s:b}", "name", name, "keep_storage", keep_storage);

	return sdc_call(c, RPC_SESSION_DELETE, owned(c, p), NULL, err);
}

int sdc_session_watch(struct sdc *c, const char *name, struct sdc_error *err)
{
	return sdc_call(c, RPC_SESSION_WATCH, owned(c, name ? named(name) : NULL), NULL, err);
}

/* token.acquire's parameters, written as text: the first call of every
 * held operation. */
struct acquire_params {
	const char *name, *reason;
	double ttl_s;
	bool detach;
	long owner;
};

static void acquire_params(struct jtext *t, const void *arg)
{
	const struct acquire_params *a = arg;

	jtext_open(t, "params");
	jtext_string(t, "name", a->name);
	if (a->reason != NULL)
		jtext_string(t, "reason", a->reason);
	if (a->ttl_s > 0) {
		json_t *ttl = json_real(a->ttl_s);
		jtext_json(t, "ttl_s", ttl);
		json_decref(ttl);
	}
	if (a->detach)
		jtext_bool(t, "detach", true);
	if (a->owner >= 0)
		jtext_int(t, "owner_uid", a->owner);
	jtext_close(t);
}

int sdc_token_acquire(struct sdc *c, const char *name, const char *reason, double ttl_s,
		      bool detach, char *token, json_t **result, struct sdc_error *err)
{
	struct acquire_params a = { name, reason, ttl_s, detach, c->owner };
	long id = send_request(c, RPC_TOKEN_ACQUIRE, acquire_params, &a, err);

	token[0] = '\0';
	return id < 0 ? -1 : wait_reply(c, id, -1, result, token, err);
}

int sdc_token_renew(struct sdc *c, const char *token, double ttl_s, json_t **result,
		    struct sdc_error *err)
{
	json_t *p = json_pack("{s:s}", "token", token);

	if (ttl_s > 0)
		json_object_set_new(p, "ttl_s", json_real(ttl_s));
	return sdc_call(c, RPC_TOKEN_RENEW, p, result, err);
}

/* token.release's: the last call of every held operation. */
static void release_params(struct jtext *t, const void *arg)
{
	jtext_open(t, "params");
	jtext_string(t, "token", arg);
	jtext_close(t);
}

int sdc_token_release(struct sdc *c, const char *token, struct sdc_error *err)
{
	long id = send_request(c, RPC_TOKEN_RELEASE, release_params, token, err);

	return id < 0 ? -1 : sdc_wait(c, id, -1, NULL, err);
}

int sdc_vm_info(struct sdc *c, const char *name, json_t **info, struct sdc_error *err)
{
	return sdc_call(c, RPC_VM_INFO, owned(c, named(name)), info, err);
}

int sdc_vm_console(struct sdc *c, const char *name, long max_bytes, json_t **out,
		   struct sdc_error *err)
{
	json_t *p = named(name);

	if (max_bytes > 0)
		json_object_set_new(p, "max_bytes", json_integer(max_bytes));
	return sdc_call(c, RPC_VM_CONSOLE, owned(c, p), out, err);
}
