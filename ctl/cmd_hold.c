/*
 * cmd_hold.c — the commands that hold a VM up: hold, release, run (see
 * ctl.h).
 *
 * A hold is an activity token.  The daemon drops a connection's tokens
 * when the connection closes, so a killed sessionctl never pins a VM; only
 * "hold --detach" (which needs a TTL) outlives the process.  While run's
 * command runs, sessionctl keeps reading the connection so that a revoked
 * token is reported, and passes SIGINT, SIGTERM and SIGHUP on.
 */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/timeutil.h"

#define TOKEN_LEN 64                    /* what sdc_token_acquire() writes */
#define HOLD_POLL_MS 200
#define RUN_POLL_MS 1000

/* Acquires a token on session name, showing progress while the VM comes
 * up; *r is the token.acquire result.  0 or an exit status. */
static int acquire(struct ctx *x, const char *name, const char *reason, double ttl, bool detach,
		   char *token, json_t **r)
{
	struct sdc_error e;
	int rc = progress_begin(x, name, &e);

	if (rc == 0)
		rc = sdc_token_acquire(x->c, name, reason, ttl, detach, token, r, &e);
	progress_end(x);
	return rc < 0 ? ctl_refused(&e) : 0;
}

/* ---- hold / release ------------------------------------------------------------ */

struct hold_opts {
	const char *reason;
	double ttl;                         /* 0: none */
	bool detach;
};

static int hold_options(struct ctx *x, int argc, char **argv, struct hold_opts *o)
{
	static const struct option opts[] = { CTL_COMMON_OPTS,
		{ "ttl", required_argument, NULL, 't' }, { "reason", required_argument, NULL, 'r' },
		{ "detach", no_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, "hd", opts, NULL)) != -1) {
		if (ch == 't' && !ctl_duration_arg("--ttl", optarg, &o->ttl))
			return EXIT_USAGE;
		else if (ch == 'r')
			o->reason = optarg;
		else if (ch == 'd')
			o->detach = true;
		else if (ch != 't' && ctl_common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return ctl_usage_error("hold: expected one session name");
	if (o->detach && o->ttl <= 0)
		return ctl_usage_error("hold: --detach needs --ttl (a detached hold must expire)");
	return 0;
}

/* Keeps the token until a signal, its TTL or its revocation, then
 * releases it. */
static int hold_until_done(struct ctx *x, const char *name, const char *token, double ttl)
{
	double end = ttl > 0 ? mono_now() + ttl : 0;
	struct sdc_error e;

	while (!ctl_interrupted() && !x->revoked && (end == 0 || mono_now() < end)) {
		if (sdc_poll(x->c, HOLD_POLL_MS, &e) < 0)
			return ctl_refused(&e);
	}
	if (x->revoked)
		return EXIT_REFUSED;
	if (sdc_token_release(x->c, token, &e) < 0 && e.code != RPC_ERR_NOT_FOUND)
		return ctl_refused(&e);
	if (!x->json)
		printf("released '%s'\n", name);
	return 0;
}

int cmd_hold(struct ctx *x, int argc, char **argv)
{
	struct hold_opts o = { .reason = "sessionctl hold" };
	char token[TOKEN_LEN], d[32];
	json_t *r = NULL;
	int rc = hold_options(x, argc, argv, &o);

	if (rc == 0)
		rc = ctl_connect(x);
	if (rc != 0)
		return rc;
	const char *name = argv[optind];
	ctl_catch_signals(true);
	if ((rc = acquire(x, name, o.reason, o.ttl, o.detach, token, &r)) != 0)
		return rc;
	if (x->json)
		out_json(r);
	json_decref(r);
	if (o.detach) {
		if (!x->json)
			puts(token);
		return 0;
	}
	if (!x->json) {
		duration_format(o.ttl, d, sizeof d);
		printf("holding '%s' (token %s)%s%s; interrupt to release\n", name, token,
		       o.ttl > 0 ? " for at most " : "", o.ttl > 0 ? d : "");
		fflush(stdout);
	}
	return hold_until_done(x, name, token, o.ttl);
}

int cmd_release(struct ctx *x, int argc, char **argv)
{
	struct sdc_error e;
	int rc = ctl_begin(x, argc, argv, 1, 1);

	if (rc != 0)
		return rc;
	rc = sdc_token_release(x->c, argv[optind], &e);
	/* The result of token.release is {} (sessiond-protocol(7)). */
	return ctl_result(x, rc, &e, json_object(), NULL);
}

/* ---- run: the child ------------------------------------------------------------- */

static volatile pid_t child_pid;
static int sigchld_pipe[2] = { -1, -1 };

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(sigchld_pipe[1], "c", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static pid_t spawn(char **cmd, const char *name, const char *domain, const char *uri)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	setenv("SESSIOND_SESSION", name, 1);
	setenv("SESSIOND_DOMAIN", domain, 1);
	setenv("SESSIOND_URI", uri, 1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	execvp(cmd[0], cmd);
	fprintf(stderr, "sessionctl: run: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the child while keeping the connection (and so the token)
 * alive and reporting a revocation. */
static int wait_child(struct ctx *x, pid_t pid)
{
	bool connected = true;
	int status;

	for (;;) {
		struct pollfd pfd[2] = { { sigchld_pipe[0], POLLIN, 0 }, { sdc_fd(x->c), POLLIN, 0 } };
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (poll(pfd, connected ? 2 : 1, RUN_POLL_MS) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			char buf[64];
			if (read(sigchld_pipe[0], buf, sizeof buf) < 0)
				continue;
		}
		if (connected && (pfd[1].revents & (POLLIN | POLLHUP))) {
			struct sdc_error e;
			if (sdc_poll(x->c, 0, &e) < 0) {
				fprintf(stderr, "sessionctl: run: %s; the VM is no longer held\n", e.message);
				connected = false;
			}
		}
	}
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Runs cmd with the session's environment and passes signals on; its
 * exit status, or EXIT_REFUSED if it could not be started. */
static int run_child(struct ctx *x, char **cmd, const char *name, const char *domain,
		     const char *uri)
{
	if (pipe(sigchld_pipe) < 0)
		return fprintf(stderr, "sessionctl: pipe: %s\n", strerror(errno)), EXIT_REFUSED;
	install(SIGCHLD, on_sigchld);
	install(SIGINT, forward_signal);
	install(SIGTERM, forward_signal);
	install(SIGHUP, forward_signal);
	child_pid = spawn(cmd, name, domain, uri);
	if (child_pid < 0) {
		fprintf(stderr, "sessionctl: run: fork: %s\n", strerror(errno));
		return EXIT_REFUSED;
	}
	return wait_child(x, child_pid);
}

/* ---- run ---------------------------------------------------------------------------- */

static int run_options(struct ctx *x, int argc, char **argv, char *reason, size_t len)
{
	static const struct option opts[] = { CTL_COMMON_OPTS,
		{ "reason", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'r')
			snprintf(reason, len, "%s", optarg);
		else if (ctl_common_opt(x, ch, argv[0]) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind < 2)
		return ctl_usage_error("run: expected NAME -- CMD [ARG...]");
	if (reason[0] == '\0')
		snprintf(reason, len, "sessionctl run: %s", argv[optind + 1]);
	return 0;
}

/* The libvirt URI of host (the session's: its VM runs there), for the
 * child's SESSIOND_URI; the daemon's first host's without one. */
static int host_uri(struct ctx *x, const char *host, char *uri, size_t len)
{
	struct sdc_error e;
	json_t *info = NULL, *h;
	size_t i;

	if (sdc_daemon_info(x->c, &info, &e) < 0)
		return ctl_refused(&e);
	snprintf(uri, len, "%s", out_str(info, "uri", ""));
	json_array_foreach(json_object_get(info, "hosts"), i, h) {
		if (host != NULL && strcmp(out_str(h, "name", ""), host) == 0)
			snprintf(uri, len, "%s", out_str(h, "uri", ""));
	}
	json_decref(info);
	return 0;
}

int cmd_run(struct ctx *x, int argc, char **argv)
{
	char reason[256] = "", token[TOKEN_LEN], uri[512] = "", domain[256];
	json_t *r = NULL;
	struct sdc_error e;
	int rc = run_options(x, argc, argv, reason, sizeof reason);

	if (rc == 0)
		rc = ctl_connect(x);
	if (rc != 0)
		return rc;
	const char *name = argv[optind];
	if ((rc = acquire(x, name, reason, 0, false, token, &r)) != 0)
		return rc;
	json_t *s = json_object_get(r, "session");
	snprintf(domain, sizeof domain, "%s",
		 out_str(json_object_get(s, "instance"), "domain", ""));
	rc = host_uri(x, out_str(s, "host", NULL), uri, sizeof uri);
	json_decref(r);
	if (rc == 0)
		rc = run_child(x, argv + optind + 1, name, domain, uri);
	if (sdc_token_release(x->c, token, &e) < 0 && e.code != RPC_ERR_NOT_FOUND &&
	    e.code != SDC_ERR_IO)
		fprintf(stderr, "sessionctl: run: releasing the hold: %s\n", e.message);
	return rc;
}
