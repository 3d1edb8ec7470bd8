/*
 * virt.c — the libvirt driver: the one place sessiond calls libvirt.
 *
 * Shape (measured on this platform, see DESIGN.md): libvirt's default
 * event implementation is registered before the first virConnectOpen, and
 * one thread loops virEventRunDefaultImpl().  The lifecycle callback runs
 * there; it copies uuid, name, event and detail and hands them to the core
 * (driver_events.lifecycle), which queues them for the loop.
 *
 * One connection per driver.  Worker threads use it concurrently (libvirt
 * connections are thread-safe); each call takes a reference under a small
 * mutex so a reconnect can swap the connection underneath them.  libvirt
 * errors become a cause string here and nowhere else.
 */
#include "driver.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"

struct virt {
	char *uri;
	char kind[32];
	pthread_mutex_t lock;               /* guards conn */
	virConnectPtr conn;
	int lifecycle_cb;                   /* callback id, -1 when none */
};

/* ---- the process-wide event thread ---------------------------------- */

static pthread_mutex_t evthread_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t evimpl_once = PTHREAD_ONCE_INIT;
static int evthread_users;
static pthread_t evthread;
static _Atomic int evthread_quit;

static void silent_error(void *user, virErrorPtr err)
{
	(void)user;
	(void)err;
}

static void evimpl_register(void)
{
	virSetErrorFunc(NULL, silent_error);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		fatal("libvirt: cannot register the default event implementation");
}

static void *evthread_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&evthread_quit))
		virEventRunDefaultImpl();
	return NULL;
}

static void evthread_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

/* Waits until the event thread has finished whatever callback it is in:
 * after a deregistration, no lifecycle callback of ours is running or can
 * run.  A 0 ms timeout runs on that thread after the current dispatch. */
struct barrier {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void barrier_cb(int timer, void *opaque)
{
	struct barrier *b = opaque;

	virEventRemoveTimeout(timer);
	pthread_mutex_lock(&b->lock);
	b->done = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void evthread_barrier(void)
{
	struct barrier b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };

	pthread_mutex_lock(&evthread_lock);
	bool running = evthread_users > 0 && !pthread_equal(pthread_self(), evthread);
	pthread_mutex_unlock(&evthread_lock);
	if (!running || virEventAddTimeout(0, barrier_cb, &b, NULL) < 0)
		return;
	pthread_mutex_lock(&b.lock);
	while (!b.done)
		pthread_cond_wait(&b.cond, &b.lock);
	pthread_mutex_unlock(&b.lock);
}

static void evthread_get(void)
{
	pthread_once(&evimpl_once, evimpl_register);
	pthread_mutex_lock(&evthread_lock);
	if (evthread_users++ == 0) {
		atomic_store(&evthread_quit, 0);
		if (pthread_create(&evthread, NULL, evthread_main, NULL) != 0)
			fatal("libvirt: cannot start the event thread");
	}
	pthread_mutex_unlock(&evthread_lock);
}

/* Quit flag plus a 0 ms timeout wakes the thread out of its poll. */
static void evthread_put(void)
{
	pthread_mutex_lock(&evthread_lock);
	if (--evthread_users == 0) {
		atomic_store(&evthread_quit, 1);
		virEventAddTimeout(0, evthread_wake, NULL, NULL);
		pthread_join(evthread, NULL);
	}
	pthread_mutex_unlock(&evthread_lock);
}

/* ---- errors --------------------------------------------------------- */

static int virt_fail(struct cause *c, const char *what)
{
	const char *msg = virGetLastErrorMessage();

	cause_set(c, 0, "%s: %s", what, msg ? msg : "unknown libvirt error");
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
		cause_set(c, 0, "libvirt: not connected to %s", v->uri);
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
	/* Unsupported on the test driver: keepalive is best effort. */
	virConnectSetKeepAlive(conn, 5, 3);
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

/* ---- domains -------------------------------------------------------- */

/* Looks a domain up; NULL with *gone set when libvirt does not know it. */
static virDomainPtr dom_lookup(virConnectPtr conn, const char *uuid, bool *gone,
			       struct cause *c)
{
	virDomainPtr dom = virDomainLookupByUUIDString(conn, uuid);

	*gone = false;
	if (dom == NULL) {
		if (last_error_is(VIR_ERR_NO_DOMAIN))
			*gone = true;
		else
			virt_fail(c, "libvirt: domain lookup");
	}
	return dom;
}

static int virt_domain_start(struct driver *d, const char *xml, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virDomainPtr dom = virDomainCreateXML(conn, xml, 0);
	if (dom == NULL) {
		virt_fail(c, "libvirt");
	} else {
		virDomainFree(dom);
		rc = 0;
	}
	virConnectClose(conn);
	return rc;
}

static int virt_domain_shutdown(struct driver *d, const char *uuid, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	bool gone;
	int rc = -1;

	if (conn == NULL)
		return -1;
	virDomainPtr dom = dom_lookup(conn, uuid, &gone, c);
	if (dom == NULL) {
		rc = gone ? 1 : -1;
	} else if (virDomainShutdown(dom) < 0) {
		rc = last_error_is(VIR_ERR_OPERATION_INVALID) ? 1 : virt_fail(c, "libvirt: shutdown");
	} else {
		rc = 0;
	}
	if (dom != NULL)
		virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

static int virt_domain_destroy(struct driver *d, const char *uuid, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	bool gone;
	int rc = -1;

	if (conn == NULL)
		return -1;
	virDomainPtr dom = dom_lookup(conn, uuid, &gone, c);
	if (dom == NULL) {
		rc = gone ? 0 : -1;
	} else if (virDomainDestroy(dom) < 0 &&
		   !last_error_is(VIR_ERR_NO_DOMAIN) &&
		   !last_error_is(VIR_ERR_OPERATION_INVALID)) {
		rc = virt_fail(c, "libvirt: destroy");
	} else {
		rc = 0;
	}
	if (dom != NULL)
		virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

static int virt_domain_state(struct driver *d, const char *uuid, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	bool gone;
	int state = 0, reason = 0, rc = -1;

	if (conn == NULL)
		return -1;
	virDomainPtr dom = dom_lookup(conn, uuid, &gone, c);
	if (dom == NULL) {
		rc = gone ? VM_GONE : -1;
	} else if (virDomainGetState(dom, &state, &reason, 0) < 0) {
		rc = last_error_is(VIR_ERR_NO_DOMAIN) ? VM_GONE
						      : virt_fail(c, "libvirt: domain state");
	} else {
		rc = (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED ||
		      state == VIR_DOMAIN_NOSTATE) ? VM_GONE : VM_RUNNING;
	}
	if (dom != NULL)
		virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

static const char *domain_state_name(int state)
{
	static const char *const names[] = {
		"nostate", "running", "blocked", "paused", "shutdown", "shutoff",
		"crashed", "pmsuspended"
	};
	return state >= 0 && state < 8 ? names[state] : "unknown";
}

static int virt_domain_info(struct driver *d, const char *uuid, json_t **out,
			    struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	virDomainInfo info;
	bool gone;
	int rc = -1;

	if (conn == NULL)
		return -1;
	virDomainPtr dom = dom_lookup(conn, uuid, &gone, c);
	if (dom == NULL) {
		if (gone)
			cause_set(c, 0, "libvirt: domain %s is gone", uuid);
	} else if (virDomainGetInfo(dom, &info) < 0) {
		virt_fail(c, "libvirt: domain info");
	} else {
		const char *name = virDomainGetName(dom);
		*out = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:f}",
				 "name", name ? name : "",
				 "uuid", uuid,
				 "state", domain_state_name(info.state),
				 "memory_kib", (json_int_t)info.memory,
				 "max_memory_kib", (json_int_t)info.maxMem,
				 "vcpus", (int)info.nrVirtCpu,
				 "cpu_time_s", (double)info.cpuTime / 1e9);
		json_object_set_new(*out, "driver", json_string(V(d)->kind));
		rc = 0;
	}
	if (dom != NULL)
		virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

static int virt_domain_list(struct driver *d, const char *prefix, json_t **out,
			    struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	virDomainPtr *doms = NULL;
	int n;

	if (conn == NULL)
		return -1;
	n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		virt_fail(c, "libvirt: list domains");
		virConnectClose(conn);
		return -1;
	}
	*out = json_array();
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (name != NULL && strncmp(name, prefix, strlen(prefix)) == 0 &&
		    virDomainGetUUIDString(doms[i], uuid) == 0)
			json_array_append_new(*out, json_pack("{s:s, s:s}", "name", name,
							      "uuid", uuid));
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(conn);
	return 0;
}

/* ---- storage -------------------------------------------------------- */

static virStoragePoolPtr pool_lookup(virConnectPtr conn, const char *pool,
				     struct cause *c)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);

	if (p == NULL)
		virt_fail(c, "libvirt: storage pool");
	return p;
}

static int virt_pool_ensure(struct driver *d, const char *name, const char *xml,
			    struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, name);
	/* A refresh finds a pool whose directory is gone now, not at the
	 * first volume call: libvirt then drops a transient pool (and stops
	 * a persistent one), and it is made again below. */
	if (p != NULL && virStoragePoolIsActive(p) == 1 && virStoragePoolRefresh(p, 0) < 0) {
		virStoragePoolFree(p);
		p = virStoragePoolLookupByName(conn, name);
	}
	if (p != NULL) {
		if (virStoragePoolIsActive(p) == 0 && virStoragePoolCreate(p, 0) < 0)
			virt_fail(c, "libvirt: start storage pool");
		else
			rc = 0;
	} else if (xml == NULL) {
		cause_set(c, 0, "libvirt: storage pool '%s' does not exist", name);
	} else if ((p = virStoragePoolCreateXML(conn, xml, 0)) == NULL) {
		/* A transient pool over a directory sessiond made itself;
		 * it is ensured again at every start and reconnect. */
		virt_fail(c, "libvirt: create storage pool");
	} else {
		rc = 0;
	}
	if (p != NULL)
		virStoragePoolFree(p);
	virConnectClose(conn);
	return rc;
}

/* The <target><path> of a pool's XML, or NULL. */
static char *pool_target_path(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	char *path = NULL;

	for (xmlNodePtr t = root != NULL ? root->children : NULL; t != NULL; t = t->next) {
		if (t->type != XML_ELEMENT_NODE || !xmlStrEqual(t->name, BAD_CAST "target"))
			continue;
		for (xmlNodePtr n = t->children; n != NULL && path == NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, BAD_CAST "path"))
				continue;
			xmlChar *text = xmlNodeGetContent(n);
			path = strdup(text != NULL ? (const char *)text : "");
			xmlFree(text);
		}
		break;
	}
	xmlFreeDoc(doc);
	return path;
}

static int virt_pool_list(struct driver *d, json_t **out, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	virStoragePoolPtr *pools = NULL;
	int n;

	if (conn == NULL)
		return -1;
	n = virConnectListAllStoragePools(conn, &pools, 0);
	if (n < 0) {
		virt_fail(c, "libvirt: list storage pools");
		virConnectClose(conn);
		return -1;
	}
	*out = json_array();
	for (int i = 0; i < n; i++) {
		const char *name = virStoragePoolGetName(pools[i]);
		/* No XML: the pool went away since the listing. */
		char *xml = virStoragePoolGetXMLDesc(pools[i], 0);
		char *path = xml != NULL ? pool_target_path(xml) : NULL;
		if (name != NULL && xml != NULL)
			json_array_append_new(*out, json_pack("{s:s, s:s, s:b, s:b}", "name", name,
				"path", path != NULL ? path : "",
				"persistent", virStoragePoolIsPersistent(pools[i]) == 1,
				"active", virStoragePoolIsActive(pools[i]) == 1));
		free(path);
		free(xml);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	virConnectClose(conn);
	return 0;
}

static int virt_pool_destroy(struct driver *d, const char *name, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = virStoragePoolLookupByName(conn, name);
	if (p == NULL) {
		rc = last_error_is(VIR_ERR_NO_STORAGE_POOL) ? 0
			: virt_fail(c, "libvirt: storage pool");
	} else {
		if (virStoragePoolIsActive(p) == 1 && virStoragePoolDestroy(p) < 0 &&
		    !last_error_is(VIR_ERR_NO_STORAGE_POOL))
			virt_fail(c, "libvirt: destroy storage pool");
		else
			rc = 0;
		virStoragePoolFree(p);
	}
	virConnectClose(conn);
	return rc;
}

static int virt_vol_create(struct driver *d, const char *pool, const char *xml,
			   struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = pool_lookup(conn, pool, c);
	if (p != NULL) {
		virStorageVolPtr vol = virStorageVolCreateXML(p, xml, 0);
		if (vol == NULL) {
			virt_fail(c, "libvirt: create volume");
		} else {
			virStorageVolFree(vol);
			rc = 0;
		}
		virStoragePoolFree(p);
	}
	virConnectClose(conn);
	return rc;
}

static int virt_vol_delete(struct driver *d, const char *pool, const char *name,
			   struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = pool_lookup(conn, pool, c);
	if (p != NULL) {
		virStorageVolPtr vol = virStorageVolLookupByName(p, name);
		if (vol == NULL) {
			rc = last_error_is(VIR_ERR_NO_STORAGE_VOL) ? 0
				: virt_fail(c, "libvirt: volume lookup");
		} else {
			if (virStorageVolDelete(vol, 0) < 0 &&
			    !last_error_is(VIR_ERR_NO_STORAGE_VOL))
				virt_fail(c, "libvirt: delete volume");
			else
				rc = 0;
			virStorageVolFree(vol);
		}
		virStoragePoolFree(p);
	}
	virConnectClose(conn);
	return rc;
}

static int virt_vol_lookup(struct driver *d, const char *pool, const char *name,
			   char *path, size_t pathlen, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = pool_lookup(conn, pool, c);
	if (p != NULL) {
		virStorageVolPtr vol = virStorageVolLookupByName(p, name);
		/* A file renamed into a dir pool appears after a refresh. */
		if (vol == NULL && last_error_is(VIR_ERR_NO_STORAGE_VOL) &&
		    virStoragePoolRefresh(p, 0) == 0)
			vol = virStorageVolLookupByName(p, name);
		if (vol == NULL) {
			rc = last_error_is(VIR_ERR_NO_STORAGE_VOL) ? 0
				: virt_fail(c, "libvirt: volume lookup");
		} else {
			char *vp = virStorageVolGetPath(vol);
			if (path != NULL && pathlen > 0)
				snprintf(path, pathlen, "%s", vp ? vp : "");
			free(vp);
			virStorageVolFree(vol);
			rc = 1;
		}
		virStoragePoolFree(p);
	}
	virConnectClose(conn);
	return rc;
}

static int virt_vol_list(struct driver *d, const char *pool, const char *prefix,
			 json_t **out, struct cause *c)
{
	virConnectPtr conn = virt_conn(d, c);
	virStorageVolPtr *vols = NULL;
	int rc = -1;

	if (conn == NULL)
		return -1;
	virStoragePoolPtr p = pool_lookup(conn, pool, c);
	if (p == NULL)
		goto out;
	virStoragePoolRefresh(p, 0);
	int n = virStoragePoolListAllVolumes(p, &vols, 0);
	if (n < 0) {
		virt_fail(c, "libvirt: list volumes");
		virStoragePoolFree(p);
		goto out;
	}
	*out = json_array();
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (name != NULL && strncmp(name, prefix, strlen(prefix)) == 0)
			json_array_append_new(*out, json_string(name));
		virStorageVolFree(vols[i]);
	}
	free(vols);
	virStoragePoolFree(p);
	rc = 0;
out:
	virConnectClose(conn);
	return rc;
}

static const struct driver_ops virt_ops = {
	.open = virt_open,
	.close = virt_close,
	.kind = virt_kind,
	.uri = virt_uri,
	.domain_start = virt_domain_start,
	.domain_shutdown = virt_domain_shutdown,
	.domain_destroy = virt_domain_destroy,
	.domain_state = virt_domain_state,
	.domain_info = virt_domain_info,
	.domain_list = virt_domain_list,
	.pool_ensure = virt_pool_ensure,
	.pool_list = virt_pool_list,
	.pool_destroy = virt_pool_destroy,
	.vol_create = virt_vol_create,
	.vol_delete = virt_vol_delete,
	.vol_lookup = virt_vol_lookup,
	.vol_list = virt_vol_list,
};

struct driver *virt_driver_new(const char *uri)
{
	struct driver *d = calloc(1, sizeof *d);
	struct virt *v = calloc(1, sizeof *v);

	if (d == NULL || v == NULL || (v->uri = strdup(uri)) == NULL)
		fatal("out of memory creating the libvirt driver");
	pthread_mutex_init(&v->lock, NULL);
	v->lifecycle_cb = -1;
	snprintf(v->kind, sizeof v->kind, "unknown");
	d->ops = &virt_ops;
	d->priv = v;
	/* The event implementation must exist before any virConnectOpen. */
	evthread_get();
	return d;
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

const char *vm_event_name(int event)
{
	static const char *const names[] = {
		"defined", "undefined", "started", "suspended", "resumed",
		"stopped", "shutdown", "pmsuspended", "crashed"
	};
	return event >= 0 && event < 9 ? names[event] : "unknown";
}

const char *vm_stop_detail_name(int detail)
{
	static const char *const names[] = {
		"guest shut down", "destroyed outside sessiond", "guest crashed",
		"migrated", "saved", "hypervisor failed", "restored from snapshot"
	};
	return detail >= 0 && detail < 7 ? names[detail] : "unknown";
}
