/*
 * virt.c — the libvirt driver: the one place sessiond calls libvirt.
 *
 * Shape (measured on this platform, see DESIGN.md): libvirt's default
 * event implementation is registered before the first virConnectOpen, and
 * one thread loops virEventRunDefaultImpl() (evthread.c).  The lifecycle
 * callback runs there; it copies uuid, name, event and detail and hands
 * them to the core (driver_events.lifecycle), which queues them for the
 * loop.
 *
 * One connection per driver.  Worker threads use it concurrently (libvirt
 * connections are thread-safe); each call takes a reference under a small
 * mutex so a reconnect can swap the connection underneath them.  libvirt
 * errors become a cause string here and nowhere else.
 */
#include "virt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/xalloc.h"

struct virt {
	char *uri;
	char kind[32];
	pthread_mutex_t lock;               /* guards conn */
	virConnectPtr conn;
	int lifecycle_cb;                   /* callback id, -1 when none */
	int balloon_reporting;              /* -1 not asked yet; under lock */
	int ka_interval, ka_count;          /* keepalive */
};

/* ---- errors --------------------------------------------------------- */

static int virt_fail(struct cause *c, const char *what)
{
	const char *msg = virGetLastErrorMessage();

	cause_set(c, CAUSE_INTERNAL, "%s: %s", what, msg ? msg : "unknown libvirt error");
	return -1;
}

static bool last_error_is(int code)
{
	virErrorPtr e = virGetLastError();

	return e != NULL && e->code == code;
}

/* ---- connection ----------------------------------------------------- */

static struct virt *V(struct driver *d)
{
	return d->priv;
}

static virConnectPtr virt_conn(struct driver *d, struct cause *c)
{
	struct virt *v = V(d);
	virConnectPtr conn;

	pthread_mutex_lock(&v->lock);
	conn = v->conn;
	if (conn != NULL)
		virConnectRef(conn);
	pthread_mutex_unlock(&v->lock);
	if (conn == NULL)
		cause_set(c, CAUSE_INTERNAL, "libvirt: not connected to %s", v->uri);
	return conn;
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct driver *d = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];
	const char *name = virDomainGetName(dom);

	(void)conn;
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return 0;
	if (d->events != NULL && d->events->lifecycle != NULL)
		d->events->lifecycle(d->events_arg, uuid, name ? name : "", event, detail);
	return 0;
}

static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct driver *d = opaque;
	static const char *const reasons[] = {
		"error", "end of file", "keepalive timeout", "client closed"
	};

	(void)conn;
	if (d->events != NULL && d->events->disconnected != NULL)
		d->events->disconnected(d->events_arg,
					reason >= 0 && reason < 4 ? reasons[reason] : "closed");
}

static void virt_drop_conn(struct virt *v)
{
	virConnectPtr conn;

	pthread_mutex_lock(&v->lock);
	conn = v->conn;
	v->conn = NULL;
	pthread_mutex_unlock(&v->lock);
	if (conn == NULL)
		return;
	if (v->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(conn, v->lifecycle_cb);
	v->lifecycle_cb = -1;
	virConnectUnregisterCloseCallback(conn, close_cb);
	virConnectClose(conn);
	evthread_barrier();
}

static int virt_open(struct driver *d, struct cause *c)
{
	struct virt *v = V(d);
	virConnectPtr conn;

	virt_drop_conn(v);
	conn = virConnectOpen(v->uri);
	if (conn == NULL)
		return virt_fail(c, v->uri);
	const char *type = virConnectGetType(conn);
	snprintf(v->kind, sizeof v->kind, "%s", type ? type : "unknown");
	/* Unsupported on the embedded test driver: keepalive is best effort. */
	virConnectSetKeepAlive(conn, v->ka_interval, v->ka_count);
	virConnectRegisterCloseCallback(conn, close_cb, d, NULL);
	v->lifecycle_cb = virConnectDomainEventRegisterAny(
		conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), d, NULL);
	if (v->lifecycle_cb < 0) {
		virt_fail(c, "libvirt: cannot register lifecycle events");
		virConnectUnregisterCloseCallback(conn, close_cb);
		virConnectClose(conn);
		return -1;
	}
	pthread_mutex_lock(&v->lock);
	v->conn = conn;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static void virt_close(struct driver *d)
{
	virt_drop_conn(V(d));
}

static const char *virt_kind(struct driver *d)
{
	return V(d)->kind;
}

static const char *virt_uri(struct driver *d)
{
	return V(d)->uri;
}


/* ---- the call pattern ------------------------------------------------- */

/*
 * Every operation: take the connection, look the object up, do the one
 * libvirt call, release both.  The helpers below are that skeleton once;
 * each operation is only its call.  A domain that libvirt does not know
 * is "gone", which most operations treat as success.
 */
typedef int (*conn_fn)(struct driver *d, virConnectPtr conn, void *arg, struct cause *c);
typedef int (*dom_fn)(struct driver *d, virDomainPtr dom, void *arg, struct cause *c);
typedef int (*pool_fn)(virStoragePoolPtr p, void *arg, struct cause *c);

static int with_conn(struct driver *d, conn_fn fn, void *arg, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);

	if (conn == NULL)
		return -1;
	int rc = fn(d, conn, arg, c);
	virConnectClose(conn);
	return rc;
}

struct dom_call {
	const char *uuid;
	int gone_rc;                        /* returned when the domain is gone */
	dom_fn fn;
	void *arg;
};

static int dom_call_run(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	struct dom_call *dc = arg;
	virDomainPtr dom = virDomainLookupByUUIDString(conn, dc->uuid);

	if (dom == NULL) {
		if (!last_error_is(VIR_ERR_NO_DOMAIN))
			return virt_fail(c, "libvirt: domain lookup");
		if (dc->gone_rc < 0)
			cause_set(c, CAUSE_NOT_FOUND, "libvirt: domain %s is gone", dc->uuid);
		return dc->gone_rc;
	}
	int rc = dc->fn(d, dom, dc->arg, c);
	virDomainFree(dom);
	return rc;
}

static int with_domain(struct driver *d, const char *uuid, int gone_rc, dom_fn fn, void *arg,
		       struct cause *c)
{
	struct dom_call dc = { uuid, gone_rc, fn, arg };

	return with_conn(d, dom_call_run, &dc, c);
}

struct pool_call {
	const char *pool;
	pool_fn fn;
	void *arg;
};

static int pool_call_run(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	struct pool_call *pc = arg;
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, pc->pool);

	(void)d;
	if (p == NULL)
		return virt_fail(c, "libvirt: storage pool");
	int rc = pc->fn(p, pc->arg, c);
	virStoragePoolFree(p);
	return rc;
}

static int with_pool(struct driver *d, const char *pool, pool_fn fn, void *arg, struct cause *c)
{
	struct pool_call pc = { pool, fn, arg };

	return with_conn(d, pool_call_run, &pc, c);
}

/* /dev/kvm can open on a CPU without vmx/svm, where a KVM guest never
 * boots: libvirt's domain capabilities for "kvm" ask QEMU whether the
 * accelerator answers (the test driver has none: false), and the host
 * CPU must list vmx or svm.  A kernel's software KVM (kvm-pvm, on a guest
 * without nested virtualization) passes the first and not the second:
 * only a guest kernel built for it boots there. */
static int kvm_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	(void)d;
	(void)arg;
	(void)c;
	char *dom = virConnectGetDomainCapabilities(conn, NULL, NULL, NULL, "kvm", 0);
	char *host = dom != NULL ? virConnectGetCapabilities(conn) : NULL;
	int usable = host != NULL && domxml_caps_hw_virt(host);

	free(dom);
	free(host);
	return usable;
}

static bool virt_kvm_usable(struct driver *d)
{
	struct cause c;

	return with_conn(d, kvm_call, NULL, &c) == 1;
}

/* ---- domains -------------------------------------------------------- */

static int start_call(struct driver *d, virConnectPtr conn, void *xml, struct cause *c)
{
	(void)d;
	virDomainPtr dom = virDomainCreateXML(conn, xml, 0);

	if (dom == NULL)
		return virt_fail(c, "libvirt");
	virDomainFree(dom);
	return 0;
}

static int virt_domain_start(struct driver *d, const char *xml, struct cause *c)
{
	return with_conn(d, start_call, (void *)xml, c);
}

/* A domain that is already shutting off cannot be asked again: gone. */
static int shutdown_call(struct driver *d, virDomainPtr dom, void *arg, struct cause *c)
{
	(void)d;
	(void)arg;
	if (virDomainShutdown(dom) == 0)
		return 0;
	return last_error_is(VIR_ERR_OPERATION_INVALID) ? 1 : virt_fail(c, "libvirt: shutdown");
}

static int virt_domain_shutdown(struct driver *d, const char *uuid, struct cause *c)
{
	return with_domain(d, uuid, 1, shutdown_call, NULL, c);
}

static int destroy_call(struct driver *d, virDomainPtr dom, void *arg, struct cause *c)
{
	(void)d;
	(void)arg;
	if (virDomainDestroy(dom) == 0 || last_error_is(VIR_ERR_NO_DOMAIN) ||
	    last_error_is(VIR_ERR_OPERATION_INVALID))
		return 0;
	return virt_fail(c, "libvirt: destroy");
}

static int virt_domain_destroy(struct driver *d, const char *uuid, struct cause *c)
{
	return with_domain(d, uuid, 0, destroy_call, NULL, c);
}

static int state_call(struct driver *d, virDomainPtr dom, void *arg, struct cause *c)
{
	int state = 0, reason = 0;

	(void)d;
	(void)arg;
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return last_error_is(VIR_ERR_NO_DOMAIN) ? VM_GONE
							 : virt_fail(c, "libvirt: domain state");
	return (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED ||
		state == VIR_DOMAIN_NOSTATE) ? VM_GONE : VM_RUNNING;
}

static int virt_domain_state(struct driver *d, const char *uuid, struct cause *c)
{
	return with_domain(d, uuid, VM_GONE, state_call, NULL, c);
}

static const char *domain_state_name(int state)
{
	static const char *const names[] = {
		"nostate", "running", "blocked", "paused", "shutdown", "shutoff",
		"crashed", "pmsuspended"
	};
	return state >= 0 && state < 8 ? names[state] : "unknown";
}

/* The balloon as the domain's XML declares it and as its memory
 * statistics report it (the guest's view and QEMU's resident set);
 * *rss_kib is QEMU's resident memory, -1 when libvirt does not say. */
static json_t *balloon_json(virDomainPtr dom, long long *rss_kib)
{
	static const struct { int tag; const char *key; } stat_keys[] = {
		{ VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON, "actual_kib" },
		{ VIR_DOMAIN_MEMORY_STAT_UNUSED, "unused_kib" },
		{ VIR_DOMAIN_MEMORY_STAT_AVAILABLE, "available_kib" },
		{ VIR_DOMAIN_MEMORY_STAT_USABLE, "usable_kib" },
		{ VIR_DOMAIN_MEMORY_STAT_DISK_CACHES, "disk_caches_kib" },
		{ VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE, "last_update" },
	};
	virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
	char *xml = virDomainGetXMLDesc(dom, 0);
	json_t *b = xml != NULL ? domxml_balloon(xml) : NULL;
	int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);

	free(xml);
	*rss_kib = -1;
	for (int i = 0; i < n; i++) {
		if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS)
			*rss_kib = (long long)st[i].val;
		for (size_t k = 0; b != NULL && k < sizeof stat_keys / sizeof stat_keys[0]; k++)
			if (st[i].tag == stat_keys[k].tag)
				json_object_set_new(b, stat_keys[k].key, json_integer((json_int_t)st[i].val));
	}
	return b != NULL ? b : json_null();
}

static int info_call(struct driver *d, virDomainPtr dom, void *arg, struct cause *c)
{
	json_t **out = arg;
	virDomainInfo info;
	char uuid[VIR_UUID_STRING_BUFLEN];
	long long rss;

	if (virDomainGetInfo(dom, &info) < 0 || virDomainGetUUIDString(dom, uuid) < 0)
		return virt_fail(c, "libvirt: domain info");
	const char *name = virDomainGetName(dom);
	*out = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:f, s:s}",
			 "name", name ? name : "", "uuid", uuid,
			 "state", domain_state_name(info.state),
			 "memory_kib", (json_int_t)info.memory,
			 "max_memory_kib", (json_int_t)info.maxMem,
			 "vcpus", (int)info.nrVirtCpu,
			 "cpu_time_s", (double)info.cpuTime / 1e9, "driver", V(d)->kind);
	json_object_set_new(*out, "balloon", balloon_json(dom, &rss));
	json_object_set_new(*out, "rss_kib", rss >= 0 ? json_integer((json_int_t)rss) : json_null());
	return 0;
}

static int virt_domain_info(struct driver *d, const char *uuid, json_t **out,
			    struct cause *c)
{
	return with_domain(d, uuid, -1, info_call, out, c);
}

/* libvirt's "rss" memory statistic: for QEMU the resident set of the
 * QEMU process (libvirt reads /proc/<pid>/stat; its pid is not in the
 * public API), through any URI, remote ones included. */
static int rss_call(struct driver *d, virDomainPtr dom, void *arg, struct cause *c)
{
	virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];
	uint64_t *bytes = arg;

	int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
	if (n < 0) {
		if (!last_error_is(VIR_ERR_NO_SUPPORT))
			return virt_fail(c, "libvirt: memory statistics");
		cause_set(c, CAUSE_INTERNAL, "the %s driver has no memory statistics", V(d)->kind);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (st[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS) {
			*bytes = (uint64_t)st[i].val * 1024;
			return 1;
		}
	}
	cause_set(c, CAUSE_INTERNAL, "the %s driver reports no resident set", V(d)->kind);
	return 0;
}

static int virt_domain_rss(struct driver *d, const char *uuid, uint64_t *bytes, struct cause *c)
{
	return with_domain(d, uuid, -1, rss_call, bytes, c);
}

struct list_call {
	const char *prefix;
	json_t **out;
};

static int list_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	struct list_call *lc = arg;
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	(void)d;
	if (n < 0)
		return virt_fail(c, "libvirt: list domains");
	*lc->out = json_array();
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (name != NULL && strncmp(name, lc->prefix, strlen(lc->prefix)) == 0 &&
		    virDomainGetUUIDString(doms[i], uuid) == 0)
			json_array_append_new(*lc->out, json_pack("{s:s, s:s}", "name", name,
								  "uuid", uuid));
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

static int virt_domain_list(struct driver *d, const char *prefix, json_t **out,
			    struct cause *c)
{
	struct list_call lc = { prefix, out };

	return with_conn(d, list_call, &lc, c);
}

/* ---- memory tiers: save and restore ------------------------------------ */

/*
 * A saved domain is a file we name (virDomainSaveFlags), not libvirt's
 * managed save: managed save needs a persistent (defined) domain, and
 * sessiond's domains are transient, so nothing of an instance outlives it
 * in libvirt's configuration; the file lies where the daemon says (beside
 * the session's disks, with the modes it sets), and a restore that fails
 * is the daemon's to handle (a cold boot), not a start that libvirt turns
 * into a boot or an error on its own.  No flags: the test driver accepts
 * none, and the defaults (the domain comes back running, through the page
 * cache) are what is wanted.
 */
static int save_call(struct driver *d, virDomainPtr dom, void *path, struct cause *c)
{
	(void)d;
	if (virDomainSaveFlags(dom, path, NULL, 0) < 0)
		return virt_fail(c, "libvirt: save");
	/* libvirt makes it 0600 already; a file somebody else (root) owns
	 * is not ours to change. */
	if (chmod(path, 0600) < 0)
		log_debug("%s: chmod: %s", (const char *)path, strerror(errno));
	return 0;
}

static int virt_domain_save(struct driver *d, const char *uuid, const char *path,
			    struct cause *c)
{
	return with_domain(d, uuid, -1, save_call, (void *)path, c);
}

static int restore_call(struct driver *d, virConnectPtr conn, void *path, struct cause *c)
{
	(void)d;
	if (virDomainRestoreFlags(conn, path, NULL, 0) < 0)
		return virt_fail(c, "libvirt: restore");
	return 0;
}

static int virt_domain_restore(struct driver *d, const char *path, struct cause *c)
{
	return with_conn(d, restore_call, (void *)path, c);
}

/* The image files live on the hypervisor host; this driver's host is
 * this one (a remote URI has no balloon probe either, see below). */
static int virt_image_stat(struct driver *d, const char *path, double *bytes, double *mtime,
			   struct cause *c)
{
	struct stat sb;

	(void)d;
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		cause_set(c, CAUSE_INTERNAL, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		cause_set(c, CAUSE_INTERNAL, "%s: not a file", path);
		return -1;
	}
	*bytes = (double)sb.st_size;
	*mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9;
	return 1;
}

static int virt_image_delete(struct driver *d, const char *path, struct cause *c)
{
	(void)d;
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	cause_set(c, CAUSE_INTERNAL, "%s: %s", path, strerror(errno));
	return -1;
}

static int virt_image_list(struct driver *d, const char *dir, const char *prefix,
			   json_t **out, struct cause *c)
{
	DIR *dh = opendir(dir);
	struct dirent *de;

	(void)d;
	*out = json_array();
	if (dh == NULL) {
		if (errno == ENOENT)
			return 0;
		cause_set(c, CAUSE_INTERNAL, "%s: %s", dir, strerror(errno));
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	while ((de = readdir(dh)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			json_array_append_new(*out, json_string(de->d_name));
	closedir(dh);
	return 0;
}

/* ---- free page reporting: asked of QEMU ------------------------------------ */

/* "qemu:///system" is this host; "qemu+ssh://h/system" or "qemu://h/" is not. */
static bool uri_is_local(const char *uri)
{
	const char *sep = strstr(uri, "://");
	const char *plus = strchr(uri, '+');

	if (sep == NULL || sep[3] != '/')
		return false;
	return plus == NULL || plus > sep || strncmp(plus, "+unix:", 6) == 0;
}

/* The emulator libvirt would run for a "qemu" domain (its domain
 * capabilities' <path>), into buf. */
static int emulator_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	char *caps = virConnectGetDomainCapabilities(conn, NULL, NULL, NULL, "qemu", 0);
	char *path = caps != NULL ? domxml_caps_emulator(caps) : NULL;

	(void)d;
	free(caps);
	if (path == NULL)
		return virt_fail(c, "libvirt: domain capabilities: no emulator");
	snprintf(arg, 4096, "%s", path);
	free(path);
	return 0;
}

/* Runs argv with stdout (and stderr) into a pipe; true when a line of its
 * output contains needle. */
static bool output_has(char *const argv[], const char *needle)
{
	posix_spawn_file_actions_t fa;
	int fds[2];
	pid_t pid;
	char buf[65536];
	size_t n = 0;
	ssize_t k;
	int status;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while (rc == 0 && (k = read(fds[0], buf + n, sizeof buf - 1 - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || (n += (size_t)k) == sizeof buf - 1)
			break;
	}
	close(fds[0]);
	buf[n] = '\0';
	while (rc == 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return rc == 0 && strstr(buf, needle) != NULL;
}

/* A feature check, not a version guess: QEMU lists the properties of its
 * virtio-balloon device, and free-page-reporting is one of them or not.
 * (libvirt that does not know the XML attribute ignores it.) */
static bool probe_balloon_reporting(struct driver *d)
{
	char emulator[4096];
	struct cause c;

	if (strcmp(V(d)->kind, "QEMU") != 0 || !uri_is_local(V(d)->uri))
		return false;
	if (with_conn(d, emulator_call, emulator, &c) < 0) {
		log_warn("balloon: %s", c.msg);
		return false;
	}
	char *argv[] = { emulator, "-machine", "none", "-nodefaults", "-nographic",
			 "-device", "virtio-balloon-pci,help", NULL };
	bool yes = output_has(argv, "free-page-reporting");
	log_info("balloon: %s %s free page reporting", emulator, yes ? "supports" : "lacks");
	return yes;
}

static bool virt_balloon_reporting(struct driver *d)
{
	struct virt *v = V(d);

	pthread_mutex_lock(&v->lock);
	int known = v->balloon_reporting;
	pthread_mutex_unlock(&v->lock);
	if (known >= 0)
		return known == 1;
	bool yes = probe_balloon_reporting(d);
	pthread_mutex_lock(&v->lock);
	v->balloon_reporting = yes;
	pthread_mutex_unlock(&v->lock);
	return yes;
}

/* ---- storage -------------------------------------------------------- */

struct ensure_call {
	const char *name, *xml;
};

static int ensure_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	struct ensure_call *ec = arg;
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, ec->name);
	int rc = 0;

	(void)d;
	/* A refresh finds a pool whose directory is gone now, not at the
	 * first volume call: libvirt then drops a transient pool (and stops
	 * a persistent one), and it is made again below. */
	if (p != NULL && virStoragePoolIsActive(p) == 1 && virStoragePoolRefresh(p, 0) < 0) {
		virStoragePoolFree(p);
		p = virStoragePoolLookupByName(conn, ec->name);
	}
	if (p != NULL) {
		if (virStoragePoolIsActive(p) == 0 && virStoragePoolCreate(p, 0) < 0)
			rc = virt_fail(c, "libvirt: start storage pool");
	} else if (ec->xml == NULL) {
		cause_set(c, CAUSE_INTERNAL, "libvirt: storage pool '%s' does not exist", ec->name);
		rc = -1;
	} else if ((p = virStoragePoolCreateXML(conn, ec->xml, 0)) == NULL) {
		/* A transient pool over a directory sessiond made itself;
		 * it is ensured again at every start and reconnect. */
		rc = virt_fail(c, "libvirt: create storage pool");
	}
	if (p != NULL)
		virStoragePoolFree(p);
	return rc;
}

static int virt_pool_ensure(struct driver *d, const char *name, const char *xml,
			    struct cause *c)
{
	struct ensure_call ec = { name, xml };

	return with_conn(d, ensure_call, &ec, c);
}

static json_t *pool_json(virStoragePoolPtr p)
{
	const char *name = virStoragePoolGetName(p);
	/* No XML: the pool went away since the listing. */
	char *xml = virStoragePoolGetXMLDesc(p, 0);
	char *path = xml != NULL ? domxml_pool_target_path(xml) : NULL;
	json_t *o = NULL;

	if (name != NULL && xml != NULL)
		o = json_pack("{s:s, s:s, s:b, s:b}", "name", name, "path", path != NULL ? path : "",
			      "persistent", virStoragePoolIsPersistent(p) == 1,
			      "active", virStoragePoolIsActive(p) == 1);
	free(path);
	free(xml);
	return o;
}

static int pool_list_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	json_t **out = arg;
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(conn, &pools, 0);

	(void)d;
	if (n < 0)
		return virt_fail(c, "libvirt: list storage pools");
	*out = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = pool_json(pools[i]);
		if (o != NULL)
			json_array_append_new(*out, o);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return 0;
}

static int virt_pool_list(struct driver *d, json_t **out, struct cause *c)
{
	return with_conn(d, pool_list_call, out, c);
}

static int pool_destroy_call(struct driver *d, virConnectPtr conn, void *name, struct cause *c)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, name);
	int rc = 0;

	(void)d;
	if (p == NULL)
		return last_error_is(VIR_ERR_NO_STORAGE_POOL) ? 0 : virt_fail(c, "libvirt: storage pool");
	if (virStoragePoolIsActive(p) == 1 && virStoragePoolDestroy(p) < 0 &&
	    !last_error_is(VIR_ERR_NO_STORAGE_POOL))
		rc = virt_fail(c, "libvirt: destroy storage pool");
	virStoragePoolFree(p);
	return rc;
}

static int virt_pool_destroy(struct driver *d, const char *name, struct cause *c)
{
	return with_conn(d, pool_destroy_call, (void *)name, c);
}

static int vol_create_call(virStoragePoolPtr p, void *xml, struct cause *c)
{
	virStorageVolPtr vol = virStorageVolCreateXML(p, xml, 0);

	if (vol == NULL)
		return virt_fail(c, "libvirt: create volume");
	virStorageVolFree(vol);
	return 0;
}

static int virt_vol_create(struct driver *d, const char *pool, const char *xml,
			   struct cause *c)
{
	return with_pool(d, pool, vol_create_call, (void *)xml, c);
}

/* The volume by name; NULL with *rc set (0: no such volume, -1: error).
 * A file renamed into a dir pool appears after a refresh. */
static virStorageVolPtr vol_find(virStoragePoolPtr p, const char *name, bool refresh,
				 int *rc, struct cause *c)
{
	virStorageVolPtr vol = virStorageVolLookupByName(p, name);

	if (vol == NULL && refresh && last_error_is(VIR_ERR_NO_STORAGE_VOL) &&
	    virStoragePoolRefresh(p, 0) == 0)
		vol = virStorageVolLookupByName(p, name);
	if (vol == NULL)
		*rc = last_error_is(VIR_ERR_NO_STORAGE_VOL) ? 0 : virt_fail(c, "libvirt: volume lookup");
	return vol;
}

static int vol_delete_call(virStoragePoolPtr p, void *name, struct cause *c)
{
	int rc = 0;
	virStorageVolPtr vol = vol_find(p, name, false, &rc, c);

	if (vol == NULL)
		return rc;
	if (virStorageVolDelete(vol, 0) < 0 && !last_error_is(VIR_ERR_NO_STORAGE_VOL))
		rc = virt_fail(c, "libvirt: delete volume");
	virStorageVolFree(vol);
	return rc;
}

static int virt_vol_delete(struct driver *d, const char *pool, const char *name,
			   struct cause *c)
{
	return with_pool(d, pool, vol_delete_call, (void *)name, c);
}

struct lookup_call {
	const char *name;
	char *path;
	size_t pathlen;
};

static int vol_lookup_call(virStoragePoolPtr p, void *arg, struct cause *c)
{
	struct lookup_call *lc = arg;
	int rc = 0;
	virStorageVolPtr vol = vol_find(p, lc->name, true, &rc, c);

	if (vol == NULL)
		return rc;
	char *vp = virStorageVolGetPath(vol);
	if (lc->path != NULL && lc->pathlen > 0)
		snprintf(lc->path, lc->pathlen, "%s", vp ? vp : "");
	free(vp);
	virStorageVolFree(vol);
	return 1;
}

static int virt_vol_lookup(struct driver *d, const char *pool, const char *name,
			   char *path, size_t pathlen, struct cause *c)
{
	struct lookup_call lc = { name, path, pathlen };

	return with_pool(d, pool, vol_lookup_call, &lc, c);
}

static int vol_list_call(virStoragePoolPtr p, void *arg, struct cause *c)
{
	struct list_call *lc = arg;
	virStorageVolPtr *vols = NULL;

	virStoragePoolRefresh(p, 0);
	int n = virStoragePoolListAllVolumes(p, &vols, 0);
	if (n < 0)
		return virt_fail(c, "libvirt: list volumes");
	*lc->out = json_array();
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (name != NULL && strncmp(name, lc->prefix, strlen(lc->prefix)) == 0)
			json_array_append_new(*lc->out, json_string(name));
		virStorageVolFree(vols[i]);
	}
	free(vols);
	return 0;
}

static int virt_vol_list(struct driver *d, const char *pool, const char *prefix,
			 json_t **out, struct cause *c)
{
	struct list_call lc = { prefix, out };

	return with_pool(d, pool, vol_list_call, &lc, c);
}

/* ---- the host ----------------------------------------------------------- */

static int node_call(struct driver *d, virConnectPtr conn, void *arg, struct cause *c)
{
	virNodeInfo info;

	(void)d;
	if (virNodeGetInfo(conn, &info) < 0)
		return virt_fail(c, "libvirt: node info");
	*(double *)arg = (double)info.memory / 1024.0;
	return 0;
}

static int virt_node_memory(struct driver *d, double *mib, struct cause *c)
{
	return with_conn(d, node_call, mib, c);
}

static const struct driver_ops virt_ops = {
	.open = virt_open,
	.close = virt_close,
	.kind = virt_kind,
	.uri = virt_uri,
	.kvm_usable = virt_kvm_usable,
	.domain_start = virt_domain_start,
	.domain_shutdown = virt_domain_shutdown,
	.domain_destroy = virt_domain_destroy,
	.domain_state = virt_domain_state,
	.domain_info = virt_domain_info,
	.domain_rss = virt_domain_rss,
	.domain_list = virt_domain_list,
	.pool_ensure = virt_pool_ensure,
	.pool_list = virt_pool_list,
	.pool_destroy = virt_pool_destroy,
	.vol_create = virt_vol_create,
	.vol_delete = virt_vol_delete,
	.vol_lookup = virt_vol_lookup,
	.vol_list = virt_vol_list,
	.domain_save = virt_domain_save,
	.domain_restore = virt_domain_restore,
	.image_stat = virt_image_stat,
	.image_delete = virt_image_delete,
	.image_list = virt_image_list,
	.balloon_reporting = virt_balloon_reporting,
	.node_memory = virt_node_memory,
};

struct driver *virt_driver_new(const char *uri)
{
	struct driver *d = XNEW(d);
	struct virt *v = XNEW(v);

	v->uri = xstrdup(uri);
	pthread_mutex_init(&v->lock, NULL);
	v->lifecycle_cb = -1;
	v->balloon_reporting = -1;
	v->ka_interval = 5;
	v->ka_count = 3;
	snprintf(v->kind, sizeof v->kind, "unknown");
	d->ops = &virt_ops;
	d->priv = v;
	/* The event implementation must exist before any virConnectOpen. */
	evthread_get();
	return d;
}

/* libvirt closes a connection after count unanswered pings, one every
 * interval seconds of silence: about interval * (count + 1) in all. */
void virt_driver_set_keepalive(struct driver *d, double seconds)
{
	struct virt *v = V(d);
	int interval = (int)(seconds / 3);

	v->ka_interval = interval < 1 ? 1 : interval;
	v->ka_count = 2;
}

void virt_driver_free(struct driver *d)
{
	if (d == NULL)
		return;
	struct virt *v = V(d);
	virt_drop_conn(v);
	evthread_put();
	pthread_mutex_destroy(&v->lock);
	free(v->uri);
	free(v);
	free(d);
}

const char *virt_event_name(int event)
{
	static const char *const names[] = {
		"defined", "undefined", "started", "suspended", "resumed",
		"stopped", "shutdown", "pmsuspended", "crashed"
	};
	return event >= 0 && event < 9 ? names[event] : "unknown";
}

const char *virt_stop_detail_name(int detail)
{
	static const char *const names[] = {
		"guest shut down", "destroyed outside sessiond", "guest crashed",
		"migrated", "saved", "hypervisor failed", "restored from snapshot"
	};
	return detail >= 0 && detail < 7 ? names[detail] : "unknown";
}
