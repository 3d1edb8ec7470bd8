/*
 * rawrpc.c — arbitrary bytes to sessiond on one connection, for behaviour
 * scripts about framing and misbehaving clients: oversized frames, half
 * frames then a hang-up, a client that trickles one byte at a time, one
 * that never reads its replies.  (rpcpipe sends whole lines and waits;
 * this one reads while it writes, and can pace, repeat and stop reading.)
 *
 *   rawrpc [-s SOCKET] [-t SECONDS] [-n REPLIES] [-p MS] [-d MS] [-N COUNT]
 *          [-R] [-H] [-W] [-E] INPUT...
 *
 * INPUT, sent in the order given, all on one connection:
 *   -l LINE    LINE and a "\n" (one frame)
 *   -e BYTES   BYTES verbatim, with \n \r \t \0 \\ \xHH escapes; no "\n" added
 *   -z SIZE    a daemon.info request of exactly SIZE bytes, then "\n"; the
 *              padding is in its "id" string, which a reply echoes
 *   -Z SIZE    the same SIZE bytes without the "\n" (a frame never ended)
 *   -f FILE    each line of FILE ("-": stdin) as a frame
 *
 * Sending:
 *   -p MS      trickle: one byte every MS milliseconds
 *   -d MS      wait MS milliseconds between two inputs (lines of -f too)
 *   -N COUNT   send the inputs COUNT times (0: again and again, until the
 *              daemon closes the connection or the deadline)
 *   -R         never read from the socket (replies pile up in the daemon)
 *   -H         hang up as soon as everything is sent, reading nothing
 *   -W         once everything is sent, shut down the writing side only
 *              (shutdown SHUT_WR, as "socat" does at the end of its input)
 *              and go on reading
 *
 * Ending (after everything is sent):
 *   -n N       wait for N replies (default: one per "\n" sent; -1: until
 *              the daemon closes the connection or the deadline, either is
 *              success).  A reply has an "id" and a "result" or "error".
 *   -E         expect the daemon to close the connection: success only if
 *              it does before the deadline (after the N replies)
 *   -t SECONDS the deadline for the whole run (default 10)
 *
 * Every frame received is printed on stdout as it arrives (flushed).  The
 * last line on stderr says how it ended:
 *   rawrpc: end=replies|closed|timeout|hungup sent=B/T replies=R
 * ("closed": the daemon closed or reset the connection, seen as EOF, a
 * reset or a failed write).
 *
 * Exit status: 0 as expected, 1 not (timeout; closed too early; not
 * closed with -E), 2 usage, 3 cannot connect.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../rpc/sessiond-client.h"

enum end { END_NONE, END_REPLIES, END_CLOSED, END_TIMEOUT, END_HUNGUP };
static const char *const end_names[] = { "none", "replies", "closed", "timeout", "hungup" };

struct chunk {
	char *data;
	size_t len;
};

struct raw {
	int fd;
	struct chunk *in;                   /* the inputs, in order */
	size_t nin, capin;
	size_t total;                       /* bytes of one pass over the inputs */
	size_t sent;                        /* bytes written, all passes */
	long frames_sent;                   /* "\n" written */
	char *rbuf;                         /* received, not yet a whole frame */
	size_t rlen, rcap;
	long replies;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fputs("rawrpc: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void usage(void)
{
	fputs("usage: rawrpc [-s SOCKET] [-t SECONDS] [-n REPLIES] [-p MS] [-d MS] [-N COUNT]\n"
	      "              [-R] [-H] [-W] [-E] {-l LINE | -e BYTES | -z SIZE | -Z SIZE | -f FILE}...\n",
	      stderr);
	exit(2);
}

static void add_chunk(struct raw *r, char *data, size_t len)
{
	if (r->nin == r->capin) {
		r->capin = r->capin * 2 + 8;
		r->in = xrealloc(r->in, r->capin * sizeof *r->in);
	}
	r->in[r->nin].data = data;
	r->in[r->nin].len = len;
	r->nin++;
	r->total += len;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* -e: C-like escapes, so a script can send NUL, CR or invalid UTF-8. */
static void add_escaped(struct raw *r, const char *s)
{
	char *out = xrealloc(NULL, strlen(s) + 1);
	size_t n = 0;

	while (*s != '\0') {
		if (*s != '\\' || s[1] == '\0') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[n++] = '\n'; s++; break;
		case 'r': out[n++] = '\r'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case '0': out[n++] = '\0'; s++; break;
		case 'x':
			if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
				out[n++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
				s += 3;
				break;
			}
			out[n++] = *s++;        /* not an escape */
			break;
		default: out[n++] = *s++; break;
		}
	}
	add_chunk(r, out, n);
}

static void add_line(struct raw *r, const char *line)
{
	size_t n = strlen(line);
	char *out = xrealloc(NULL, n + 1);

	memcpy(out, line, n);
	out[n] = '\n';
	add_chunk(r, out, n + 1);
}

/* -z/-Z: {"jsonrpc":"2.0","method":"daemon.info","id":"xxx...x"} of size bytes. */
static void add_sized(struct raw *r, const char *arg, bool newline)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"";
	static const char tail[] = "\"}";
	char *end;
	unsigned long long size = strtoull(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || size < sizeof head + sizeof tail || size > (1ULL << 32))
		usage();
	char *out = xrealloc(NULL, (size_t)size + 1);
	size_t pad = (size_t)size - (sizeof head - 1) - (sizeof tail - 1);
	memcpy(out, head, sizeof head - 1);
	memset(out + sizeof head - 1, 'x', pad);
	memcpy(out + sizeof head - 1 + pad, tail, sizeof tail - 1);
	out[size] = '\n';
	add_chunk(r, out, (size_t)size + (newline ? 1 : 0));
}

static void add_file(struct raw *r, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		fprintf(stderr, "rawrpc: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		add_line(r, line);
	}
	free(line);
	if (f != stdin)
		fclose(f);
}

/* A reply answers a request: it has an id (null too) and a result or error. */
static bool is_reply(const char *frame, size_t len)
{
	json_t *m = json_loadb(frame, len, JSON_DECODE_ANY, NULL);
	bool r = json_is_object(m) && json_object_get(m, "id") != NULL &&
		 (json_object_get(m, "result") != NULL || json_object_get(m, "error") != NULL);

	json_decref(m);
	return r;
}

static void take_frames(struct raw *r)
{
	size_t start = 0;

	for (size_t i = 0; i < r->rlen; i++) {
		if (r->rbuf[i] != '\n')
			continue;
		fwrite(r->rbuf + start, 1, i - start + 1, stdout);
		fflush(stdout);
		if (is_reply(r->rbuf + start, i - start))
			r->replies++;
		start = i + 1;
	}
	memmove(r->rbuf, r->rbuf + start, r->rlen - start);
	r->rlen -= start;
}

/* 0: read something or nothing yet; -1: the daemon closed or reset. */
static int read_some(struct raw *r)
{
	for (;;) {
		if (r->rcap - r->rlen < 65536) {
			r->rcap = r->rcap * 2 + 65536;
			r->rbuf = xrealloc(r->rbuf, r->rcap);
		}
		ssize_t n = read(r->fd, r->rbuf + r->rlen, r->rcap - r->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (r->rlen > 0)
				fprintf(stderr, "rawrpc: unterminated frame at close: %.*s\n",
					(int)(r->rlen > 200 ? 200 : r->rlen), r->rbuf);
			return -1;
		}
		r->rlen += (size_t)n;
		take_frames(r);
	}
}

/* The sender: where it is in the inputs, and when it may write next. */
struct cursor {
	size_t chunk, off;
	long pass;
	double next;                        /* pacing: not before this time */
};

/* Writes what may be written now; 1: all sent, 0: more to come, -1: closed. */
static int write_some(struct raw *r, struct cursor *cur, long passes, int pace_ms,
		      int delay_ms)
{
	while (passes == 0 || cur->pass < passes) {
		if (now_s() < cur->next)
			return 0;
		struct chunk *ch = &r->in[cur->chunk];
		size_t want = ch->len - cur->off;
		if (pace_ms > 0 && want > 1)
			want = 1;
		ssize_t n = want == 0 ? 0 : write(r->fd, ch->data + cur->off, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			if (ch->data[cur->off + (size_t)i] == '\n')
				r->frames_sent++;
		cur->off += (size_t)n;
		r->sent += (size_t)n;
		if (pace_ms > 0)
			cur->next = now_s() + pace_ms / 1000.0;
		if (cur->off < ch->len)
			continue;
		cur->off = 0;
		if (++cur->chunk == r->nin) {
			cur->chunk = 0;
			cur->pass++;
		}
		if (delay_ms > 0)
			cur->next = now_s() + delay_ms / 1000.0;
	}
	return 1;
}

static int poll_ms(double deadline, const struct cursor *cur, bool sending)
{
	double until = deadline;

	if (sending && cur->next > now_s() && cur->next < until)
		until = cur->next;
	double left = until - now_s();
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static int connect_to(const char *sock)
{
	struct sdc_error e;
	struct sdc *c = sdc_connect(sock, &e);

	if (c == NULL) {
		fprintf(stderr, "rawrpc: %s\n", e.message);
		exit(3);
	}
	int fd = dup(sdc_fd(c));
	sdc_close(c);
	if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		fprintf(stderr, "rawrpc: %s\n", strerror(errno));
		exit(3);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	double timeout = 10;
	long want = -2, passes = 1;
	int pace_ms = 0, delay_ms = 0, ch;
	bool no_read = false, hang_up = false, expect_close = false, half_close = false;
	struct raw r = { .fd = -1 };

	while ((ch = getopt(argc, argv, "s:t:n:p:d:N:RHEWl:e:z:Z:f:h")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 'n': want = atol(optarg); break;
		case 'p': pace_ms = atoi(optarg); break;
		case 'd': delay_ms = atoi(optarg); break;
		case 'N': passes = atol(optarg); break;
		case 'R': no_read = true; break;
		case 'H': hang_up = true; break;
		case 'E': expect_close = true; break;
		case 'W': half_close = true; break;
		case 'l': add_line(&r, optarg); break;
		case 'e': add_escaped(&r, optarg); break;
		case 'z': add_sized(&r, optarg, true); break;
		case 'Z': add_sized(&r, optarg, false); break;
		case 'f': add_file(&r, optarg); break;
		default: usage();
		}
	}
	if (optind != argc || r.nin == 0 || r.total == 0 || passes < 0)
		usage();
	signal(SIGPIPE, SIG_IGN);           /* a closed connection is a result here */
	r.fd = connect_to(sock);

	double deadline = now_s() + timeout;
	struct cursor cur = { 0, 0, 0, 0 };
	enum end end = END_NONE;
	bool sending = true;
	while (end == END_NONE) {
		if (sending) {
			int w = write_some(&r, &cur, passes, pace_ms, delay_ms);
			if (w < 0) {
				end = END_CLOSED;
				break;
			}
			if (w == 1) {
				sending = false;
				if (hang_up) {
					end = END_HUNGUP;
					break;
				}
				if (half_close)
					shutdown(r.fd, SHUT_WR);
			}
		}
		long target = want == -2 ? r.frames_sent : want;
		if (!sending && !no_read && !expect_close && target >= 0 && r.replies >= target) {
			end = END_REPLIES;
			break;
		}
		if (now_s() >= deadline) {
			end = END_TIMEOUT;
			break;
		}
		struct pollfd pfd = { r.fd, (short)((no_read ? 0 : POLLIN) |
					(sending && cur.next <= now_s() ? POLLOUT : 0)), 0 };
		int n = poll(&pfd, 1, poll_ms(deadline, &cur, sending));
		if (n < 0 && errno != EINTR) {
			end = END_CLOSED;
			break;
		}
		if (n > 0 && (pfd.revents & POLLIN) && read_some(&r) < 0)
			end = END_CLOSED;
		else if (n > 0 && (pfd.revents & (POLLHUP | POLLERR)) && (no_read || !(pfd.revents & POLLIN)))
			end = END_CLOSED;
	}
	/* What the daemon sent before it closed is still there to read. */
	if (end == END_CLOSED && !no_read)
		read_some(&r);

	long target = want == -2 ? r.frames_sent : want;
	bool ok;
	if (hang_up)
		ok = end == END_HUNGUP;
	else if (no_read)
		ok = end == END_CLOSED;
	else if (expect_close)
		ok = end == END_CLOSED && (target < 0 || r.replies >= target);
	else if (target < 0)
		ok = end == END_CLOSED || end == END_TIMEOUT;
	else
		ok = r.replies >= target;
	fprintf(stderr, "rawrpc: end=%s sent=%zu/%zu replies=%ld\n", end_names[end], r.sent,
		passes == 0 ? (size_t)0 : r.total * (size_t)passes, r.replies);
	close(r.fd);
	for (size_t i = 0; i < r.nin; i++)
		free(r.in[i].data);
	free(r.in);
	free(r.rbuf);
	return ok ? 0 : 1;
}
