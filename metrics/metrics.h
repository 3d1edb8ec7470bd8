/*
 * metrics.h — sessiond's Prometheus metrics: the contract of metrics/.
 *
 * One table (metrics.c) names every metric family: its name, help, type,
 * labels and their values, a histogram's buckets.  Label values are fixed
 * sets known when the daemon is built (states, methods, error codes,
 * reasons): never a session name, a uid or anything else a user can make
 * grow, so a scrape stays the same size however many sessions there are.
 * sessiond.8 lists every family (tests/test_metrics.c checks it does).
 *
 *   metrics.c  metrics_*       the families, updates, the text format
 *   http.c     metrics_http_*  the endpoint: evhttp on the loop, loopback
 *                              only unless told otherwise
 *
 * Updates: a family's cells are relaxed atomics, so any thread may update
 * any of them (the loop does most; the writer thread times its fsyncs)
 * and a scrape on the loop reads them without a lock.  Counting is always
 * on, whether or not an endpoint serves it: each update is an uncontended
 * atomic add (bench/README.md, "cost of metrics").  Counters are
 * process-wide: two cores in one process (tests) count together.
 *
 * Gauges are set by whoever collects them right before a scrape
 * (daemon/exporter.c): the number of sessions by state is the core's, not
 * a second copy kept here.
 */
#ifndef SESSIOND_METRICS_H
#define SESSIOND_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/cause.h"

struct evbuffer;
struct event_base;

/* ---- the families (metrics.c has their rows, in this order) ---------- */

enum metrics_id {
	/* counters */
	MX_VM_STARTS,                   /* {kind}: boot, restore */
	MX_VM_START_FAILURES,           /* {reason}: enum metrics_start_failure */
	MX_VM_STOPS,                    /* {reason}: expected stops, by stop reason */
	MX_VM_CRASHES,                  /* {detail}: exits nobody asked for */
	MX_LIMIT_REFUSALS,              /* {limit}: enum metrics_limit */
	MX_IDLE_RETURNED_BYTES,         /* {action}: QEMU RSS before an idle action */
	MX_IDLE_UNMEASURED,             /* {reason}: idle actions whose RSS is unknown */
	MX_RPC_REQUESTS,                /* {method, code} */
	MX_RPC_CONNECTIONS,             /* accepted connections */
	MX_STATE_FILE_WRITES,           /* {op, result} */
	/* histograms */
	MX_VM_TIME_TO_RUNNING,          /* {kind} */
	MX_RPC_DURATION,                /* {method} */
	MX_STATE_FILE_FSYNC,            /* seconds in fsync per write or removal */
	MX_LOOP_LAG,                    /* how late the loop's timers fire */
	/* gauges, set when scraped */
	MX_SESSIONS,                    /* {state} */
	MX_HOLDS,                       /* {kind}: lease, token */
	MX_WAITING_CALLERS,             /* callers parked for a VM */
	MX_VM_MEMORY_BYTES,             /* memory of the starting and running VMs */
	MX_RPC_OPEN_CONNECTIONS,
	MX_WORKER_JOBS,                 /* {pool}: queued or running */
	MX_LIBVIRT_CONNECTED,
	MX_BUILD_INFO,                  /* {version} */
	MX__COUNT
};

/* Label values: each enum is its family's cell index. */
enum metrics_start_kind { MSTART_BOOT, MSTART_RESTORE, MSTART__COUNT };

enum metrics_start_failure {
	MFAIL_HOST_PATHS,               /* the owner may no longer use a file it names */
	MFAIL_VOLUMES,                  /* the boot volume could not be made */
	MFAIL_DOMAIN_XML,
	MFAIL_DOMAIN_START,             /* libvirt refused or failed the start */
	MFAIL_NOT_READY,                /* the ready line never came */
	MFAIL__COUNT
};

enum metrics_limit { MLIMIT_SESSIONS, MLIMIT_RUNNING, MLIMIT_MEMORY, MLIMIT__COUNT };

enum metrics_idle_action { MIDLE_STOP, MIDLE_SUSPEND, MIDLE__COUNT };

enum metrics_unmeasured {
	MUNM_UNSUPPORTED,               /* the driver cannot tell the QEMU process's RSS */
	MUNM_ERROR,                     /* it can, but asking failed */
	MUNM__COUNT
};

enum metrics_file_op { MFILE_WRITE, MFILE_REMOVE, MFILE__COUNT };
enum metrics_hold_kind { MHOLD_LEASE, MHOLD_TOKEN, MHOLD__COUNT };
enum metrics_pool { MPOOL_LIBVIRT, MPOOL_WRITER, MPOOL__COUNT };

/* Session states as labels: stopped .. failed (session.h's order from
 * SESSION_STOPPED; tests/test_metrics.c checks the names). */
#define METRICS_STATES 6
/* RPC methods as labels: rpc_methods[] in order, then "other" (no such
 * method, or a request too broken to name one). */
#define METRICS_RPC_METHODS 16
#define METRICS_RPC_OTHER METRICS_RPC_METHODS

/* ---- updates (any thread) --------------------------------------------- */

void metrics_inc(enum metrics_id id, unsigned cell);
void metrics_add(enum metrics_id id, unsigned cell, uint64_t n);
/* A histogram observation (seconds). */
void metrics_observe(enum metrics_id id, unsigned cell, double value);
/* A gauge's value. */
void metrics_set(enum metrics_id id, unsigned cell, int64_t value);

/* One answered request: method is its rpc_method_id or METRICS_RPC_OTHER,
 * code 0 for a result or the JSON-RPC error code. */
void metrics_rpc_done(unsigned method, int code, double seconds);
/* The cell of an expected stop's reason ("idle", "requested", ...). */
unsigned metrics_stop_reason(const char *reason);
/* The cell of a spontaneous exit's detail (virt.h enum vm_stop_detail). */
unsigned metrics_crash_detail(int detail);

/* ---- reading ------------------------------------------------------------ */

/* The text exposition format (version 0.0.4) of every family. */
void metrics_write(struct evbuffer *out);
/* A counter's or gauge's cell; a histogram cell's observation count. */
uint64_t metrics_value(enum metrics_id id, unsigned cell);
/* A family's name and the number of its cells (tests, man page check). */
const char *metrics_name(enum metrics_id id);
unsigned metrics_cells(enum metrics_id id);
/* The value of label k (0 or 1) in a cell; NULL when there is no such label. */
const char *metrics_label_value(enum metrics_id id, unsigned cell, unsigned k);
/* Every family's cells fit its labels and buckets; else false and why. */
bool metrics_table_ok(char *why, size_t len);

/* ---- the endpoint (http.c) --------------------------------------------- */

/*
 * Where: "HOST:PORT" with a numeric IPv4 address or a bracketed IPv6 one
 * ("127.0.0.1:9464", "[::1]:9464"; port 0 picks a free one), or an
 * absolute path for a Unix socket (mode 0660).  A non-loopback address is
 * refused unless allow_remote: the counts are the whole machine's.
 */
int metrics_http_check(const char *listen, bool allow_remote, struct cause *c);

struct metrics_http;
/* Serves GET /metrics on the loop; collect(arg) runs before each scrape to
 * set the gauges.  NULL with a cause when the address is refused or
 * cannot be bound. */
struct metrics_http *metrics_http_new(struct event_base *base, const char *listen,
				      bool allow_remote, void (*collect)(void *arg), void *arg,
				      struct cause *c);
/* Stops serving (a Unix socket's file is removed); NULL is fine. */
void metrics_http_free(struct metrics_http *h);
/* What it serves on: "127.0.0.1:41234" (the port it got) or the path. */
const char *metrics_http_address(const struct metrics_http *h);

#endif
