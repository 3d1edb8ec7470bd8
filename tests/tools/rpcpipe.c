/*
 * rpcpipe.c — raw frames to sessiond on one connection, for behaviour
 * scripts that need what sessionctl will not send (bad JSON, wrong types,
 * several requests in flight on one connection).
 *
 *   rpcpipe [-s SOCKET] [-t SECONDS] [-n REPLIES] [-d MS] [LINE...]
 *
 * Each LINE (or, with none, each line of stdin) is written verbatim with a
 * "\n" after it, all on one connection and without waiting for replies in
 * between (-d MS waits that long between two lines).  Then every frame the
 * daemon sends is printed on stdout as it arrives, one per line, exactly
 * as received: replies and notifications in arrival order, so a script can
 * match replies to requests by id with jq and tell which came first.
 * stdout is flushed after each frame, so a script can watch the file grow.
 *
 * It stops once REPLIES replies have arrived (default: one per line sent;
 * a reply is a frame with an "id" member, whatever its value, and a
 * "result" or "error", or an array of those (a batch's answer); a
 * notification does not count), when the daemon
 * closes the connection, or after SECONDS (default 10); -n -1 reads until
 * one of the last two (and that is success).  Until then the connection
 * stays open, so tokens acquired on it stay held.
 *
 * Exit status: 0 all expected replies arrived, 1 timeout or the daemon
 * hung up first, 2 usage, 3 cannot connect.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../rpc/sessiond-client.h"

struct pipe_state {
	int fd;
	char *buf;                          /* received, not yet a whole frame */
	size_t len, cap;
	long replies;                       /* replies seen so far */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fputs("usage: rpcpipe [-s SOCKET] [-t SECONDS] [-n REPLIES] [-d MS] [LINE...]\n", stderr);
	exit(2);
}

/* Writes all of buf, retrying short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line as a frame: the text verbatim, then the newline. */
static int send_line(int fd, const char *line)
{
	size_t n = strlen(line);

	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (write_all(fd, line, n) < 0 || write_all(fd, "\n", 1) < 0) {
		fprintf(stderr, "rpcpipe: write: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static bool is_response(json_t *m)
{
	return json_is_object(m) && json_object_get(m, "id") != NULL &&
	       (json_object_get(m, "result") != NULL || json_object_get(m, "error") != NULL);
}

/* A reply answers a request: it has an id (null included) and a result
 * or an error; the answer to a batch (an array of such) is one reply.
 * Anything else (a notification, garbage) is only printed. */
static bool is_reply(const char *frame, size_t len)
{
	json_t *m = json_loadb(frame, len, JSON_DECODE_ANY, NULL), *v;
	bool r = is_response(m);
	size_t i;

	if (json_is_array(m) && json_array_size(m) > 0) {
		r = true;
		json_array_foreach(m, i, v)
			r = r && is_response(v);
	}
	json_decref(m);
	return r;
}

/* Prints and counts each whole frame in the buffer; keeps the rest. */
static void take_frames(struct pipe_state *p)
{
	size_t start = 0;

	for (size_t i = 0; i < p->len; i++) {
		if (p->buf[i] != '\n')
			continue;
		fwrite(p->buf + start, 1, i - start + 1, stdout);
		fflush(stdout);
		if (is_reply(p->buf + start, i - start))
			p->replies++;
		start = i + 1;
	}
	memmove(p->buf, p->buf + start, p->len - start);
	p->len -= start;
}

/* Reads what is there; 0 on data, -1 on EOF or error. */
static int read_some(struct pipe_state *p)
{
	if (p->cap - p->len < 65536) {
		p->cap = p->cap * 2 + 65536;
		p->buf = realloc(p->buf, p->cap);
		if (p->buf == NULL) {
			fputs("rpcpipe: out of memory\n", stderr);
			exit(1);
		}
	}
	ssize_t n = read(p->fd, p->buf + p->len, p->cap - p->len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	p->len += (size_t)n;
	take_frames(p);
	return 0;
}

/* Waits for want replies (want < 0: until EOF or the deadline). */
static int collect(struct pipe_state *p, long want, double deadline)
{
	while (want < 0 || p->replies < want) {
		double left = deadline - now_s();
		if (left <= 0 && want < 0)
			return 0;
		if (left <= 0) {
			fprintf(stderr, "rpcpipe: timeout: %ld of %ld replies\n", p->replies, want);
			return 1;
		}
		struct pollfd pfd = { p->fd, POLLIN, 0 };
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0 && read_some(p) < 0) {
			if (p->len > 0)         /* a last frame without its newline */
				fprintf(stderr, "rpcpipe: unterminated frame at EOF: %.*s\n",
					(int)p->len, p->buf);
			if (want >= 0 && p->replies < want)
				fprintf(stderr, "rpcpipe: connection closed after %ld of %ld replies\n",
					p->replies, want);
			return want >= 0 && p->replies < want ? 1 : 0;
		}
	}
	return 0;
}

/* The lines from stdin, each sent as it is read. */
static long send_stdin(int fd, int delay_ms)
{
	char *line = NULL;
	size_t cap = 0;
	long sent = 0;

	while (getline(&line, &cap, stdin) >= 0) {
		if (sent > 0 && delay_ms > 0)
			usleep((useconds_t)delay_ms * 1000);
		if (send_line(fd, line) < 0)
			break;
		sent++;
	}
	free(line);
	return sent;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	double timeout = 10;
	long want = -2;                     /* -2: one per line sent */
	int delay_ms = 0, ch;
	struct sdc_error e;

	while ((ch = getopt(argc, argv, "+s:t:n:d:h")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 'n': want = atol(optarg); break;
		case 'd': delay_ms = atoi(optarg); break;
		default: usage();
		}
	}
	struct sdc *c = sdc_connect(sock, &e);
	if (c == NULL) {
		fprintf(stderr, "rpcpipe: %s\n", e.message);
		return 3;
	}
	struct pipe_state p = { .fd = sdc_fd(c) };
	double deadline = now_s() + timeout;
	long sent = 0;
	if (optind == argc) {
		sent = send_stdin(p.fd, delay_ms);
	} else {
		for (int i = optind; i < argc; i++, sent++) {
			if (i > optind && delay_ms > 0)
				usleep((useconds_t)delay_ms * 1000);
			if (send_line(p.fd, argv[i]) < 0)
				break;
		}
	}
	int rc = collect(&p, want == -2 ? sent : want, deadline);
	free(p.buf);
	sdc_close(c);
	return rc;
}
