/*
 * client-demo.c — a small program of a libsessiond-client user.  It is
 * not part of the build: tests/behave/installed-client-library.sh builds
 * it against an installed copy of the library, with nothing but
 * "pkg-config --cflags --libs sessiond-client", and runs it against a
 * daemon.  It checks every answer and exits 0, or 1 with the first
 * mismatch on stderr.
 *
 *   client-demo SOCKET NAME VERSION
 *
 * daemon.info (VERSION and the protocol of the header), session.create of
 * NAME (stopped, never started), token.acquire (a token, the VM running,
 * the token among the holds), token.release (no holds left), and the
 * errors for a session and a token that do not exist.
 */
#include <sessiond-client.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sdc *conn;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("client-demo: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	sdc_close(conn);
	exit(1);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(none)";
}

/* The session's holds, as the daemon reports them now. */
static json_t *holds_of(const char *name)
{
	struct sdc_error err;
	json_t *s;

	if (sdc_session_get(conn, name, &s, &err) < 0)
		die("session.get %s: %s", name, err.message);
	json_t *h = json_incref(json_object_get(s, "holds"));
	json_decref(s);
	if (!json_is_array(h))
		die("session.get %s: no holds array", name);
	return h;
}

static void check_info(const char *version)
{
	struct sdc_error err;
	json_t *info;

	if (sdc_daemon_info(conn, &info, &err) < 0)
		die("daemon.info: %s", err.message);
	if (strcmp(str(info, "version"), version) != 0)
		die("daemon.info: version %s, not %s", str(info, "version"), version);
	if (json_integer_value(json_object_get(info, "protocol")) != SESSIOND_PROTOCOL_VERSION)
		die("daemon.info: protocol %lld, the header says %d",
		    (long long)json_integer_value(json_object_get(info, "protocol")),
		    SESSIOND_PROTOCOL_VERSION);
	json_decref(info);
}

static void check_create(const char *name)
{
	struct sdc_error err;
	json_t *settings = json_pack("{s:f}", "grace_s", 60.0), *s;
	int rc = sdc_session_create(conn, name, settings, &s, &err);

	json_decref(settings);                  /* copied by the call */
	if (rc < 0)
		die("session.create %s: %s", name, err.message);
	if (strcmp(str(s, "name"), name) != 0 || strcmp(str(s, "state"), "stopped") != 0 ||
	    json_integer_value(json_object_get(s, "start_count")) != 0)
		die("session.create %s: unexpected session %s", name, str(s, "state"));
	json_decref(s);
}

static void check_token(const char *name)
{
	struct sdc_error err;
	char token[64];
	json_t *r, *h;

	if (sdc_token_acquire(conn, name, "client-demo", 0, false, token, &r, &err) < 0)
		die("token.acquire %s: %s", name, err.message);
	if (strlen(token) != 36 || strcmp(str(r, "token"), token) != 0)
		die("token.acquire: token '%s'", token);
	if (strcmp(str(json_object_get(r, "session"), "state"), "running") != 0)
		die("token.acquire: the session is %s, not running",
		    str(json_object_get(r, "session"), "state"));
	json_decref(r);
	h = holds_of(name);
	if (json_array_size(h) != 1 || strcmp(str(json_array_get(h, 0), "id"), token) != 0 ||
	    strcmp(str(json_array_get(h, 0), "reason"), "client-demo") != 0)
		die("the holds are not just the token %s", token);
	json_decref(h);
	if (sdc_token_release(conn, token, &err) < 0)
		die("token.release %s: %s", token, err.message);
	h = holds_of(name);
	if (json_array_size(h) != 0)
		die("holds left after token.release");
	json_decref(h);
	if (sdc_token_release(conn, token, &err) == 0 || err.code != RPC_ERR_NOT_FOUND)
		die("a second token.release: code %d, not %d", err.code, RPC_ERR_NOT_FOUND);
	printf("client-demo: token %s acquired and released\n", token);
}

static void check_not_found(void)
{
	struct sdc_error err;
	json_t *s = NULL;

	if (sdc_session_get(conn, "no-such-session", &s, &err) == 0 || err.code != RPC_ERR_NOT_FOUND)
		die("session.get of no session: code %d, not %d", err.code, RPC_ERR_NOT_FOUND);
	json_decref(s);
}

int main(int argc, char **argv)
{
	struct sdc_error err;

	if (argc != 4) {
		fputs("usage: client-demo SOCKET NAME VERSION\n", stderr);
		return 2;
	}
	conn = sdc_connect(argv[1], &err);
	if (conn == NULL)
		die("%s", err.message);
	check_info(argv[3]);
	check_create(argv[2]);
	check_token(argv[2]);
	check_not_found();
	sdc_close(conn);
	printf("client-demo: ok\n");
	return 0;
}
