/*
 * main.c — sessiond: flags, configuration, start-up, signals, shutdown.
 *
 * Start-up order matters: libvirt's event implementation is registered
 * (virt_driver_new, one driver per host) before the connections open
 * (core_new); sessions are loaded and reconciled with each connected host
 * (load_sessions) before the control socket accepts anyone, so the first
 * request already sees adopted VMs.  A host that cannot be reached yet is
 * retried in the background (one alone stops the start, as before).
 *
 * SIGTERM/SIGINT: stop accepting, answer what waits for a VM with an
 * error, let written replies drain (at most 2 s), flush state files, exit
 * 0.  Running VMs stay up; the next start adopts them.  SIGHUP: reload
 * sessiond.conf (reload.c).
 *
 * Under systemd (service.c) the socket may come from a socket unit, the
 * daemon tells systemd when it is ready, and it never detaches; when
 * stderr is the journal, lines go to it with their fields (journal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/journal.h"
#include "../common/log.h"
#include "../common/loop.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "daemon.h"

static const char usage_text[] =
	"Usage: sessiond [OPTIONS]\n"
	"Keeps per-user sessions whose VMs run only while something needs them.\n"
	"\n"
	"  -f, --foreground     stay in the foreground (default: detach once ready)\n"
	"  -s, --socket PATH    control socket (root: /run/sessiond/sessiond.sock,\n"
	"                       others: $XDG_RUNTIME_DIR/sessiond/sessiond.sock)\n"
	"  -d, --state-dir DIR  state directory (root: /var/lib/sessiond,\n"
	"                       others: $XDG_STATE_HOME/sessiond or ~/.local/state/sessiond)\n"
	"  -u, --uri URI        libvirt connection URI of the one host (default:\n"
	"                       test:///default; overrides [host] sections)\n"
	"  -c, --config FILE    configuration file (root: /etc/sessiond/sessiond.conf,\n"
	"                       others: $XDG_CONFIG_HOME/sessiond/sessiond.conf)\n"
	"  -v, --verbose        log debug messages\n"
	"  -h, --help           print this help and exit\n"
	"  -V, --version        print the version and exit\n"
	"\n"
	"Flags override the configuration file, which overrides built-in defaults.\n"
	"See sessiond(8) and sessiond.conf(5).\n";

struct flags {
	const char *socket, *state_dir, *uri, *config;
	bool foreground;
	int verbose;
};

static int parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "uri", required_argument, NULL, 'u' },
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(f, 0, sizeof *f);
	while ((ch = getopt_long(argc, argv, "fs:d:u:c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': f->foreground = true; break;
		case 's': f->socket = optarg; break;
		case 'd': f->state_dir = optarg; break;
		case 'u': f->uri = optarg; break;
		case 'c': f->config = optarg; break;
		case 'v': f->verbose++; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': printf("sessiond %s (protocol %d)\n", SESSIOND_VERSION,
				 SESSIOND_PROTOCOL_VERSION); exit(0);
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sessiond: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return -1;
	}
	return 0;
}

/* A reload reads the file again after a detach changed the working
 * directory: its path is kept absolute. */
static char *absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static int configure(struct config *cfg, const struct flags *f, struct cause *c)
{
	config_init(cfg);
	if (f->config != NULL) {
		free(cfg->config_path);
		cfg->config_path = absolute(f->config);
		cfg->config_required = true;
	}
	if (config_load_file(cfg, cfg->config_path, cfg->config_required, c) < 0)
		return -1;
	if ((f->socket && config_override(cfg, "socket", f->socket, c) < 0) ||
	    (f->state_dir && config_override(cfg, "state_dir", f->state_dir, c) < 0) ||
	    (f->uri && config_override(cfg, "uri", f->uri, c) < 0) ||
	    (f->verbose && config_override(cfg, "log_level", "debug", c) < 0) ||
	    config_finish(cfg, f->uri != NULL, c) < 0)
		return -1;
	if (config_check(cfg, c) < 0)
		return -1;
	cfg->foreground = f->foreground;
	log_set_level((enum log_level)config_log_level(cfg));
	return 0;
}

/* ---- detach: the parent exits 0 once the socket accepts ------------- */

static int ready_fd = -1;

static void detach(void)
{
	int p[2];

	if (pipe(p) < 0)
		fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		char b;
		close(p[1]);
		exit(read(p[0], &b, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
}

static void tell_ready(void)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, "1", 1) < 0)
		log_warn("cannot tell the parent we are ready: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/* ---- running ---------------------------------------------------------- */

static struct daemon D;
static struct event *drain_ev;
static double drain_deadline;
static int listen_fd = -1;              /* the socket systemd passed, or -1 */

/* The socket systemd passed: served as it is (its unit owns path and mode). */
static void serve_passed(struct daemon *d)
{
	struct sockaddr_un sun = { 0 };
	socklen_t len = sizeof sun;
	struct cause c;

	if (getsockname(listen_fd, (struct sockaddr *)&sun, &len) < 0 || len <= sizeof(sa_family_t))
		str_copy(sun.sun_path, sizeof sun.sun_path, "(unnamed)");
	d->srv = rpc_server_new_fd(d->base, listen_fd, &dispatch_server_ops, d,
				   d->cfg.max_connections, &c);
	if (d->srv == NULL)
		fatal("%s", c.msg);
	log_info("sessiond %s: listening on %s, the socket systemd passed (state %s)",
		 SESSIOND_VERSION, sun.sun_path, d->cfg.core.state_dir);
}

static void serve_own(struct daemon *d)
{
	struct cause c;
	char dir[4096];

	str_copy(dir, sizeof dir, d->cfg.socket_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755, &c) < 0)
			fatal("%s", c.msg);
	}
	d->srv = rpc_server_new(d->base, d->cfg.socket_path, &dispatch_server_ops, d,
				d->cfg.max_connections, &c);
	if (d->srv == NULL)
		fatal("%s", c.msg);
	if (exporter_apply(d, &c) < 0)
		fatal("%s", c.msg);
	log_info("sessiond %s: listening on %s (state %s)", SESSIOND_VERSION,
		 d->cfg.socket_path, d->cfg.core.state_dir);
}

/* Sessions are loaded and adopted, the pool is there: serve, then say so
 * (to the parent of a detach, to systemd). */
static void loaded(struct core *core, void *arg)
{
	struct daemon *d = arg;

	(void)core;
	if (listen_fd >= 0)
		serve_passed(d);
	else
		serve_own(d);
	tell_ready();
	service_ready(d);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (rpc_server_pending_output(d->srv) == 0 || mono_now() > drain_deadline) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	struct timeval tv = { 0, 10000 };
	evtimer_add(drain_ev, &tv);
}

/* Reload; a refused file is logged by daemon_reload and changes nothing. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct cause c;

	(void)sig;
	(void)what;
	log_info("sessiond: SIGHUP: reloading %s", ((struct daemon *)arg)->cfg.config_path);
	daemon_reload(arg, NULL, &c);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct list_node *pos, *tmp;
	struct cause c;

	(void)what;
	if (d->core->shutting_down)
		return;
	log_info("sessiond: %s: shutting down (VMs keep running)", strsignal((int)sig));
	service_stopping(d);
	d->core->shutting_down = true;
	if (d->srv == NULL) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	rpc_server_stop_accepting(d->srv);
	cause_set(&c, CAUSE_INTERNAL, "sessiond is shutting down");
	list_foreach_safe(pos, tmp, &d->core->sessions) {
		struct session *s = list_entry(pos, struct session, node);
		lease_point_fail(&s->lp, &c);
		session_waiters_done(s, &s->host_waiters, &c);
	}
	drain_deadline = mono_now() + 2;
	drain_ev = evtimer_new(d->base, drain_cb, d);
	if (drain_ev == NULL)
		fatal("cannot create the drain timer");
	drain_cb(-1, 0, d);
}

/* A signal handled on the loop; a daemon that cannot watch its signals
 * would ignore SIGTERM, so failing here is fatal. */
static struct event *signal_on(int sig, event_callback_fn fn, void *arg)
{
	struct event *ev = evsignal_new(D.base, sig, fn, arg);

	if (ev == NULL || evsignal_add(ev, NULL) < 0)
		fatal("cannot watch signal %d", sig);
	return ev;
}

/* One libvirt driver per host, in the configuration's order. */
static void drivers_new(struct daemon *d)
{
	d->drvs = xcalloc(d->cfg.core.nhosts, sizeof *d->drvs);
	for (size_t i = 0; i < d->cfg.core.nhosts; i++) {
		d->drvs[i] = virt_driver_new(d->cfg.core.hosts[i].uri);
		virt_driver_set_keepalive(d->drvs[i], d->cfg.core.keepalive_s);
	}
}

static void drivers_free(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg.core.nhosts; i++)
		virt_driver_free(d->drvs[i]);
	free(d->drvs);
	d->drvs = NULL;
}

int main(int argc, char **argv)
{
	struct flags f;
	struct cause c;
	struct event *sigterm, *sigint, *sighup;

	if (parse_flags(argc, argv, &f) < 0)
		return 2;
	if (configure(&D.cfg, &f, &c) < 0) {
		fprintf(stderr, "sessiond: %s\n", c.msg);
		return 2;
	}
	if (journal_is_stderr())
		log_set_sink(journal_sink);
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	listen_fd = service_listen_fd();
	if (!D.cfg.foreground && service_managed(listen_fd)) {
		log_info("sessiond: started by systemd: staying in the foreground");
		D.cfg.foreground = true;
	}
	if (!D.cfg.foreground)
		detach();
	xmlInitParser();
	evthread_use_pthreads();
	D.base = loop_new();
	D.started = mono_now();
	service_start(&D);
	drivers_new(&D);
	D.core = core_new(D.base, &D.cfg.core, D.drvs, &c);
	if (D.core == NULL)
		fatal("cannot start: %s", c.msg);
	core_set_hooks(D.core, &dispatch_core_hooks, &D);
	sigterm = signal_on(SIGTERM, on_signal, &D);
	sigint = signal_on(SIGINT, on_signal, &D);
	sighup = signal_on(SIGHUP, on_hup, &D);
	load_sessions(D.core, loaded, &D);
	event_base_dispatch(D.base);

	exporter_free(&D);
	rpc_server_free(D.srv);
	D.srv = NULL;                       /* events during core_free go nowhere */
	core_free(D.core);
	service_free(&D);
	daemon_reload_hooks_free(&D);
	drivers_free(&D);
	if (drain_ev != NULL)
		event_free(drain_ev);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(D.base);
	config_free(&D.cfg);
	xmlCleanupParser();
	log_info("sessiond: exited cleanly");
	return 0;
}
