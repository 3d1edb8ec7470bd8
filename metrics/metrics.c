/*
 * metrics.c — the metric families, their updates and the text format
 * (see metrics.h).
 *
 * A family is one row: name, help, type, up to two labels with fixed value
 * sets, and a static array of cells.  A cell of a counter or gauge is one
 * relaxed atomic; a histogram's is its buckets (each counting the values
 * that fall in it, not the cumulative count: an observation is one add),
 * the values above the last bucket, and the sum in nanoseconds.  The
 * cumulative counts, _count and _sum are computed when scraped.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../rpc/sessiond-protocol.h"

#ifndef SESSIOND_VERSION
#define SESSIOND_VERSION "unknown"
#endif

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

enum mtype { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct label {
	const char *name;
	const char *const *values;
	unsigned n;
};

struct family {
	const char *name;
	const char *help;
	enum mtype type;
	struct label l[2];                  /* l[k].name NULL: no such label */
	const double *buckets;              /* histograms: upper bounds, ascending */
	unsigned nbuckets;
	_Atomic uint64_t *cells;
	size_t ncap;                        /* of cells: metrics_table_ok() checks it */
};

/* ---- label values -------------------------------------------------------- */

static const char *const start_kinds[] = { "boot", "restore" };
static const char *const start_failures[] = { "host_paths", "volumes", "domain_xml",
					      "domain_start", "not_ready" };
static const char *const stop_reasons[] = { "idle", "requested", "deleted", "start_failed",
					    "other" };
static const char *const crash_details[] = { "shutdown", "destroyed", "crashed", "migrated",
					     "saved", "failed", "from_snapshot", "other" };
static const char *const limits[] = { "sessions", "running", "memory" };
static const char *const idle_actions[] = { "stop", "suspend" };
static const char *const unmeasured[] = { "unsupported", "error" };
/* rpc.h's enum rpc_method_id order (tests/test_metrics.c checks it). */
static const char *const methods[] = {
	RPC_DAEMON_INFO, RPC_SESSION_CREATE, RPC_SESSION_LIST, RPC_SESSION_GET,
	RPC_SESSION_START, RPC_SESSION_STOP, RPC_SESSION_RESET, RPC_SESSION_DELETE,
	RPC_SESSION_WATCH, RPC_TOKEN_ACQUIRE, RPC_TOKEN_RENEW, RPC_TOKEN_RELEASE,
	RPC_VM_INFO, RPC_VM_CONSOLE, RPC_SESSION_HOLDS, RPC_DAEMON_RELOAD, "other",
};
static const int code_values[] = {
	0, RPC_ERR_PARSE, RPC_ERR_INVALID_REQUEST, RPC_ERR_NO_METHOD, RPC_ERR_INVALID_PARAMS,
	RPC_ERR_INTERNAL, RPC_ERR_NOT_FOUND, RPC_ERR_FORBIDDEN, RPC_ERR_SESSION_FAILED,
	RPC_ERR_START_FAILED, RPC_ERR_CONFLICT, RPC_ERR_LIMIT,
};
static const char *const codes[] = { "0", "-32700", "-32600", "-32601", "-32602", "-32603",
				     "-32001", "-32002", "-32003", "-32004", "-32005", "-32006",
				     "other" };
static const char *const file_ops[] = { "write", "remove" };
static const char *const results[] = { "ok", "error" };
static const char *const states[] = { "stopped", "starting", "running", "stopping", "failed",
				      "suspended" };
static const char *const hold_kinds[] = { "lease", "token" };
static const char *const pools[] = { "libvirt", "writer" };
static const char *const versions[] = { SESSIOND_VERSION };

#define L(nm, v) { nm, v, LEN(v) }
#define NO_LABEL { NULL, NULL, 1 }

_Static_assert(LEN(start_kinds) == MSTART__COUNT, "start kinds");
_Static_assert(LEN(start_failures) == MFAIL__COUNT, "start failures");
_Static_assert(LEN(limits) == MLIMIT__COUNT, "limits");
_Static_assert(LEN(idle_actions) == MIDLE__COUNT, "idle actions");
_Static_assert(LEN(unmeasured) == MUNM__COUNT, "unmeasured");
_Static_assert(LEN(methods) == METRICS_RPC_METHODS + 1, "methods");
_Static_assert(LEN(codes) == LEN(code_values) + 1, "codes");
_Static_assert(LEN(states) == METRICS_STATES, "states");
_Static_assert(LEN(file_ops) == MFILE__COUNT, "file ops");
_Static_assert(LEN(hold_kinds) == MHOLD__COUNT, "hold kinds");
_Static_assert(LEN(pools) == MPOOL__COUNT, "pools");

/* ---- buckets (seconds) ---------------------------------------------------- */

static const double b_running[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300 };
static const double b_rpc[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
static const double b_fsync[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				  0.05, 0.1, 0.25, 0.5, 1, 2.5 };
static const double b_lag[] = { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				0.25, 0.5, 1 };

/* A histogram cell: each bucket, the rest (+Inf), the sum in ns. */
#define HSTRIDE(b) (LEN(b) + 2)

/* ---- cells ------------------------------------------------------------------ */

static _Atomic uint64_t c_starts[MSTART__COUNT];
static _Atomic uint64_t c_start_failures[MFAIL__COUNT];
static _Atomic uint64_t c_stops[LEN(stop_reasons)];
static _Atomic uint64_t c_crashes[LEN(crash_details)];
static _Atomic uint64_t c_limits[MLIMIT__COUNT];
static _Atomic uint64_t c_idle_bytes[MIDLE__COUNT];
static _Atomic uint64_t c_unmeasured[MUNM__COUNT];
static _Atomic uint64_t c_rpc[LEN(methods) * LEN(codes)];
static _Atomic uint64_t c_conns[1];
static _Atomic uint64_t c_files[MFILE__COUNT * LEN(results)];
static _Atomic uint64_t h_running[MSTART__COUNT * HSTRIDE(b_running)];
static _Atomic uint64_t h_rpc[LEN(methods) * HSTRIDE(b_rpc)];
static _Atomic uint64_t h_fsync[HSTRIDE(b_fsync)];
static _Atomic uint64_t h_lag[HSTRIDE(b_lag)];
static _Atomic uint64_t g_sessions[METRICS_STATES];
static _Atomic uint64_t g_holds[MHOLD__COUNT];
static _Atomic uint64_t g_waiting[1];
static _Atomic uint64_t g_vm_memory[1];
static _Atomic uint64_t g_open_conns[1];
static _Atomic uint64_t g_jobs[MPOOL__COUNT];
static _Atomic uint64_t g_connected[1];
static _Atomic uint64_t g_build[1];

#define CELLS(a) a, LEN(a)
#define BUCKETS(b) b, LEN(b)

static const struct family families[MX__COUNT] = {
	[MX_VM_STARTS] = { "sessiond_vm_starts_total",
		"VM starts begun: cold boots, and restores of a saved memory image.",
		MT_COUNTER, { L("kind", start_kinds), NO_LABEL }, NULL, 0, CELLS(c_starts) },
	[MX_VM_START_FAILURES] = { "sessiond_vm_start_failures_total",
		"VM starts that failed, by the step that failed.",
		MT_COUNTER, { L("reason", start_failures), NO_LABEL }, NULL, 0,
		CELLS(c_start_failures) },
	[MX_VM_STOPS] = { "sessiond_vm_stops_total",
		"VM stops sessiond decided, by reason (idle: the grace period ran out).",
		MT_COUNTER, { L("reason", stop_reasons), NO_LABEL }, NULL, 0, CELLS(c_stops) },
	[MX_VM_CRASHES] = { "sessiond_vm_crashes_total",
		"VM exits nobody asked for, by libvirt's stop detail.",
		MT_COUNTER, { L("detail", crash_details), NO_LABEL }, NULL, 0, CELLS(c_crashes) },
	[MX_LIMIT_REFUSALS] = { "sessiond_limit_refusals_total",
		"Creates and starts refused by a per-user limit.",
		MT_COUNTER, { L("limit", limits), NO_LABEL }, NULL, 0, CELLS(c_limits) },
	[MX_IDLE_RETURNED_BYTES] = { "sessiond_idle_returned_bytes_total",
		"Memory returned to the host by idle actions: the QEMU process's resident set before it.",
		MT_COUNTER, { L("action", idle_actions), NO_LABEL }, NULL, 0, CELLS(c_idle_bytes) },
	[MX_IDLE_UNMEASURED] = { "sessiond_idle_unmeasured_total",
		"Idle actions whose returned memory is not counted, and why.",
		MT_COUNTER, { L("reason", unmeasured), NO_LABEL }, NULL, 0, CELLS(c_unmeasured) },
	[MX_RPC_REQUESTS] = { "sessiond_rpc_requests_total",
		"RPC requests answered, by method and JSON-RPC error code (0: a result).",
		MT_COUNTER, { L("method", methods), L("code", codes) }, NULL, 0, CELLS(c_rpc) },
	[MX_RPC_CONNECTIONS] = { "sessiond_rpc_connections_total",
		"Connections accepted on the control socket.",
		MT_COUNTER, { NO_LABEL, NO_LABEL }, NULL, 0, CELLS(c_conns) },
	[MX_STATE_FILE_WRITES] = { "sessiond_state_file_writes_total",
		"State file writes and removals (each fsynced), by result.",
		MT_COUNTER, { L("op", file_ops), L("result", results) }, NULL, 0, CELLS(c_files) },
	[MX_VM_TIME_TO_RUNNING] = { "sessiond_vm_time_to_running_seconds",
		"From a VM start begun to the session running (ready line included).",
		MT_HISTOGRAM, { L("kind", start_kinds), NO_LABEL }, BUCKETS(b_running),
		CELLS(h_running) },
	[MX_RPC_DURATION] = { "sessiond_rpc_request_duration_seconds",
		"From a request read to its answer (waits for a VM included).",
		MT_HISTOGRAM, { L("method", methods), NO_LABEL }, BUCKETS(b_rpc), CELLS(h_rpc) },
	[MX_STATE_FILE_FSYNC] = { "sessiond_state_file_fsync_seconds",
		"Time in fsync (file and directory) per state file write or removal.",
		MT_HISTOGRAM, { NO_LABEL, NO_LABEL }, BUCKETS(b_fsync), CELLS(h_fsync) },
	[MX_LOOP_LAG] = { "sessiond_loop_lag_seconds",
		"How late a periodic timer of the event loop fires.",
		MT_HISTOGRAM, { NO_LABEL, NO_LABEL }, BUCKETS(b_lag), CELLS(h_lag) },
	[MX_SESSIONS] = { "sessiond_sessions",
		"Sessions by state.",
		MT_GAUGE, { L("state", states), NO_LABEL }, NULL, 0, CELLS(g_sessions) },
	[MX_HOLDS] = { "sessiond_holds",
		"What holds VMs up: leases (one per operation) and tokens.",
		MT_GAUGE, { L("kind", hold_kinds), NO_LABEL }, NULL, 0, CELLS(g_holds) },
	[MX_WAITING_CALLERS] = { "sessiond_waiting_callers",
		"Callers waiting for a VM to come up.",
		MT_GAUGE, { NO_LABEL, NO_LABEL }, NULL, 0, CELLS(g_waiting) },
	[MX_VM_MEMORY_BYTES] = { "sessiond_vm_memory_bytes",
		"Guest memory of the VMs starting or running (what max_memory_mib_per_user counts).",
		MT_GAUGE, { NO_LABEL, NO_LABEL }, NULL, 0, CELLS(g_vm_memory) },
	[MX_RPC_OPEN_CONNECTIONS] = { "sessiond_rpc_connections",
		"Connections open on the control socket.",
		MT_GAUGE, { NO_LABEL, NO_LABEL }, NULL, 0, CELLS(g_open_conns) },
	[MX_WORKER_JOBS] = { "sessiond_worker_jobs",
		"Blocking jobs queued or running, by thread pool.",
		MT_GAUGE, { L("pool", pools), NO_LABEL }, NULL, 0, CELLS(g_jobs) },
	[MX_LIBVIRT_CONNECTED] = { "sessiond_libvirt_connected",
		"1 while the libvirt connection is up.",
		MT_GAUGE, { NO_LABEL, NO_LABEL }, NULL, 0, CELLS(g_connected) },
	[MX_BUILD_INFO] = { "sessiond_build_info",
		"Always 1; the version is a label.",
		MT_GAUGE, { L("version", versions), NO_LABEL }, NULL, 0, CELLS(g_build) },
};

/* ---- shape ----------------------------------------------------------------- */

static unsigned ncells(const struct family *f)
{
	return f->l[0].n * f->l[1].n;
}

static unsigned stride(const struct family *f)
{
	return f->type == MT_HISTOGRAM ? f->nbuckets + 2 : 1;
}

const char *metrics_name(enum metrics_id id)
{
	return (unsigned)id < MX__COUNT ? families[id].name : NULL;
}

unsigned metrics_cells(enum metrics_id id)
{
	return (unsigned)id < MX__COUNT ? ncells(&families[id]) : 0;
}

const char *metrics_label_value(enum metrics_id id, unsigned cell, unsigned k)
{
	const struct family *f;

	if ((unsigned)id >= MX__COUNT || k > 1)
		return NULL;
	f = &families[id];
	if (f->l[k].name == NULL || cell >= ncells(f))
		return NULL;
	return k == 0 ? f->l[0].values[cell / f->l[1].n] : f->l[1].values[cell % f->l[1].n];
}

bool metrics_table_ok(char *why, size_t len)
{
	for (unsigned i = 0; i < MX__COUNT; i++) {
		const struct family *f = &families[i];
		if (f->name == NULL || f->ncap != (size_t)ncells(f) * stride(f)) {
			snprintf(why, len, "family %u (%s): %zu cells for %u x %u", i,
				 f->name ? f->name : "?", f->ncap, ncells(f), stride(f));
			return false;
		}
	}
	return true;
}

/* ---- updates ---------------------------------------------------------------- */

static _Atomic uint64_t *cell_of(enum metrics_id id, unsigned cell)
{
	const struct family *f = &families[id];

	if (cell >= ncells(f))
		cell = ncells(f) - 1;           /* a caller's bug: count it somewhere */
	return &f->cells[(size_t)cell * stride(f)];
}

void metrics_add(enum metrics_id id, unsigned cell, uint64_t n)
{
	atomic_fetch_add_explicit(cell_of(id, cell), n, memory_order_relaxed);
}

void metrics_inc(enum metrics_id id, unsigned cell)
{
	metrics_add(id, cell, 1);
}

void metrics_set(enum metrics_id id, unsigned cell, int64_t value)
{
	atomic_store_explicit(cell_of(id, cell), (uint64_t)value, memory_order_relaxed);
}

void metrics_observe(enum metrics_id id, unsigned cell, double value)
{
	const struct family *f = &families[id];
	_Atomic uint64_t *h = cell_of(id, cell);
	unsigned b = 0;

	if (!(value > 0))
		value = 0;                      /* NaN and early timers alike */
	while (b < f->nbuckets && value > f->buckets[b])
		b++;
	atomic_fetch_add_explicit(&h[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h[f->nbuckets + 1], (uint64_t)llround(value * 1e9),
				  memory_order_relaxed);
}

static unsigned code_cell(int code)
{
	for (unsigned i = 0; i < LEN(code_values); i++)
		if (code_values[i] == code)
			return i;
	return LEN(code_values);            /* "other" */
}

void metrics_rpc_done(unsigned method, int code, double seconds)
{
	if (method > METRICS_RPC_OTHER)
		method = METRICS_RPC_OTHER;
	metrics_inc(MX_RPC_REQUESTS, method * (unsigned)LEN(codes) + code_cell(code));
	metrics_observe(MX_RPC_DURATION, method, seconds);
}

unsigned metrics_stop_reason(const char *reason)
{
	static const char *const wire[] = { "idle", "requested", "deleted", "start-failed" };

	for (unsigned i = 0; i < LEN(wire); i++)
		if (reason != NULL && strcmp(reason, wire[i]) == 0)
			return i;
	return LEN(stop_reasons) - 1;
}

unsigned metrics_crash_detail(int detail)
{
	return detail >= 0 && (unsigned)detail < LEN(crash_details) - 1 ? (unsigned)detail
	       : (unsigned)LEN(crash_details) - 1;
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

uint64_t metrics_value(enum metrics_id id, unsigned cell)
{
	const struct family *f = &families[id];
	const _Atomic uint64_t *p = cell_of(id, cell);
	uint64_t n = 0;

	if (f->type != MT_HISTOGRAM)
		return load(p);
	for (unsigned b = 0; b <= f->nbuckets; b++)
		n += load(&p[b]);
	return n;
}

/* ---- the text format ------------------------------------------------------------ */

/* {a="x",b="y"} with an extra le="..." for buckets; "" without labels. */
static void labels(char *buf, size_t len, const struct family *f, unsigned cell, const char *le)
{
	size_t n = 0;
	const char *sep = "{";

	buf[0] = '\0';
	for (unsigned k = 0; k < 2; k++) {
		const char *v = metrics_label_value((enum metrics_id)(f - families), cell, k);
		if (v == NULL)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s=\"%s\"", sep, f->l[k].name, v);
		sep = ",";
	}
	if (le != NULL)
		n += (size_t)snprintf(buf + n, len - n, "%sle=\"%s\"", sep, le);
	if (n > 0 && n < len)
		snprintf(buf + n, len - n, "}");
}

static void write_histogram(struct evbuffer *out, const struct family *f, unsigned cell)
{
	const _Atomic uint64_t *h = &f->cells[(size_t)cell * stride(f)];
	char lb[256], le[32];
	uint64_t cum = 0;

	for (unsigned b = 0; b <= f->nbuckets; b++) {
		cum += load(&h[b]);
		if (b < f->nbuckets)
			snprintf(le, sizeof le, "%g", f->buckets[b]);
		else
			snprintf(le, sizeof le, "+Inf");
		labels(lb, sizeof lb, f, cell, le);
		evbuffer_add_printf(out, "%s_bucket%s %" PRIu64 "\n", f->name, lb, cum);
	}
	labels(lb, sizeof lb, f, cell, NULL);
	evbuffer_add_printf(out, "%s_sum%s %.9f\n", f->name, lb,
			    (double)load(&h[f->nbuckets + 1]) / 1e9);
	evbuffer_add_printf(out, "%s_count%s %" PRIu64 "\n", f->name, lb, cum);
}

static void write_family(struct evbuffer *out, const struct family *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	char lb[256];

	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			    types[f->type]);
	for (unsigned c = 0; c < ncells(f); c++) {
		if (f->type == MT_HISTOGRAM) {
			write_histogram(out, f, c);
			continue;
		}
		labels(lb, sizeof lb, f, c, NULL);
		uint64_t v = load(&f->cells[c]);
		if (f->type == MT_GAUGE)
			evbuffer_add_printf(out, "%s%s %" PRId64 "\n", f->name, lb, (int64_t)v);
		else
			evbuffer_add_printf(out, "%s%s %" PRIu64 "\n", f->name, lb, v);
	}
}

void metrics_write(struct evbuffer *out)
{
	for (unsigned i = 0; i < MX__COUNT; i++)
		write_family(out, &families[i]);
}
