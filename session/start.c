/*
 * start.c — bringing an instance up.
 *
 * start_instance() makes a new instance (new uuid, domain name, scratch
 * name), records it in the state file and submits the start job: disks
 * first (a scratch failure only warns), then the domain.  When the job
 * returns, the instance may have been claimed meanwhile (a stop, a delete,
 * a crash during boot): the claimer's teardown was deferred until now.
 * Otherwise the session is running, or waits for its ready line.
 *
 * tests/model/disposition.pml models this with teardown.c and
 * reconcile.c; its inlines carry these functions' names.
 */
#include "session.h"

#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../common/xalloc.h"
#include "../metrics/metrics.h"

struct start_job {
	struct job job;
	struct session *s;
	struct instance *inst;
	int rc;
	enum metrics_start_failure step;    /* the one that failed, when rc < 0 */
	struct cause err;
	struct cause warn;
};

static const char *virt_type_for(const struct session *s)
{
	if (s->set.domain_type == DOMTYPE_KVM)
		return "kvm";
	if (s->set.domain_type == DOMTYPE_QEMU)
		return "qemu";
	return s->host->kvm_usable ? "kvm" : "qemu";
}

/* Worker: the volumes an instance needs; the spec names them.  A scratch
 * disk that cannot be made only warns. */
static int make_volumes(struct start_job *sj, struct vm_spec *spec, char *boot, size_t len)
{
	struct session *s = sj->s;
	struct storage *st = session_storage(s);

	if (storage_scratch_enabled(st)) {
		if (storage_scratch_create(st, sj->inst->scratch, &sj->warn) == 0)
			spec->scratch_vol = sj->inst->scratch;
		else
			log_warn("session %s: starting without a scratch disk: %s", s->key,
				 sj->warn.msg);
	}
	if (s->set.image != NULL) {
		if (storage_boot_create(st, sj->inst->scratch, s->set.image, &sj->err) < 0)
			return -1;
		storage_boot_name(sj->inst->scratch, boot, len);
		spec->boot_vol = boot;
	}
	return 0;
}

/* The persistent disk: a path outside the pool, a named volume, or the
 * session's own volume. */
static void spec_disk(struct session *s, struct vm_spec *spec, char *disk, size_t len)
{
	if (s->set.storage != STORAGE_PERSISTENT)
		return;
	if (s->set.disk != NULL && s->set.disk[0] == '/') {
		spec->disk_path = s->set.disk;
		return;
	}
	if (s->set.disk != NULL)
		str_copy(disk, len, s->set.disk);
	else
		storage_disk_name(session_storage(s), s->id, disk, len);
	spec->disk_vol = disk;
}

static void spec_domain(struct session *s, struct instance *inst, struct vm_spec *spec)
{
	struct driver *drv = session_driver(s);

	spec->test_driver = strcmp(drv->ops->kind(drv), "TEST") == 0;
	spec->virt_type = virt_type_for(s);
	spec->name = inst->domain;
	spec->uuid = inst->id;
	spec->session_name = s->name;
	spec->session_id = s->id;
	spec->owner = s->owner;
	spec->memory_mib = s->set.memory_mib;
	spec->vcpus = s->set.vcpus;
	spec->kernel = s->set.kernel;
	spec->initrd = s->set.initrd;
	spec->cmdline = s->set.cmdline;
	spec->pool = storage_pool(session_storage(s));
	spec->free_page_reporting = !spec->test_driver && drv->ops->balloon_reporting(drv);
	spec->quick_cpu_probe = !spec->test_driver && s->core->cfg->cpu_probe == CPU_PROBE_QUICK;
}

/* Worker: the owner's files may have changed since session.create checked
 * them; then the volumes, then the domain. */
static void start_run(struct job *j)
{
	struct start_job *sj = (struct start_job *)j;
	struct session *s = sj->s;
	char boot[256], disk[256], log_path[4200];
	struct vm_spec spec;

	memset(&spec, 0, sizeof spec);
	sj->rc = -1;
	sj->step = MFAIL_HOST_PATHS;
	if (hostpaths_check(s->owner, &s->set, &sj->err) < 0)
		return;
	sj->step = MFAIL_VOLUMES;
	if (make_volumes(sj, &spec, boot, sizeof boot) < 0)
		return;
	spec_disk(s, &spec, disk, sizeof disk);
	spec_domain(s, sj->inst, &spec);
	console_path(s->core, sj->inst->id, log_path, sizeof log_path);
	spec.console_log = log_path;
	sj->step = MFAIL_DOMAIN_XML;
	char *xml = domxml_domain(&spec, &sj->err);
	if (xml == NULL)
		return;
	sj->step = MFAIL_DOMAIN_START;
	sj->rc = session_driver(s)->ops->domain_start(session_driver(s), xml, &sj->err);
	free(xml);
}

void start_running(struct session *s, bool restored)
{
	/* An exit claimed since the start job returned: its mail is queued
	 * and tears the instance down; granting now would hand out leases on
	 * a dead VM. */
	if (instance_disposition(s->inst) != DISP_ACTIVE) {
		if (s->phase == PHASE_BOOTING || s->phase == PHASE_RESTORING)
			state_phase(s, PHASE_BOOTED);
		return;
	}
	json_t *extra = s->warning ? json_pack("{s:s}", "warning", s->warning) : NULL;

	if (restored) {
		extra = extra != NULL ? extra : json_object();
		json_object_set_new(extra, "restore", json_true());
	}

	s->running_since = mono_now();
	metrics_observe(MX_VM_TIME_TO_RUNNING, restored ? MSTART_RESTORE : MSTART_BOOT,
			s->running_since - s->start_began);
	state_set(s, SESSION_RUNNING, PHASE_IDLE, EV_RUNNING, extra);
	/* Enabled before the grant, so a caller answered by it (session.start
	 * releases at once) already finds the grace timer running. */
	idle_set_grace(&s->idle, settings_effective_grace(&s->set));
	idle_enable(&s->idle, settings_idle_stop(&s->set));
	lease_point_grant(&s->lp);
	idle_recheck(&s->idle);
	persist_write(s, NULL, NULL);
}

static void start_done(struct job *j)
{
	struct start_job *sj = (struct start_job *)j;
	struct session *s = sj->s;

	s->no_scratch = sj->warn.msg[0] != '\0';
	if (s->no_scratch)
		text_setf(&s->warning, "%s%sno scratch disk: %s", text_str(s->warning),
			  s->warning != NULL ? "; " : "", sj->warn.msg);
	if (instance_disposition(sj->inst) != DISP_ACTIVE) {
		/* Claimed while booting: the claimer's teardown waited for this;
		 * an exit whose mail is still queued tears down when it comes. */
		if (s->state == SESSION_STOPPING)
			teardown_after_start(s);
		else
			state_phase(s, PHASE_BOOTED);
	} else if (sj->rc < 0) {
		s->core->stats.start_failures++;
		metrics_inc(MX_VM_START_FAILURES, sj->step);
		state_phase(s, PHASE_BOOTED);
		teardown_start_failed(s, sj->err.msg);
	} else if (s->set.ready_pattern != NULL) {
		state_phase(s, PHASE_READY_WAIT);
		readiness_begin(s);
	} else {
		start_running(s, false);
	}
	instance_unref(sj->inst, "start_job");
	session_unref(s);
	free(sj);
}

void start_instance(struct session *s)
{
	struct core *core = s->core;

	if (!hosts_claim(s))                /* placed and committed, or not now */
		return;
	struct instance *inst = instance_new(s->prefix, NULL);
	struct start_job *sj = XNEW(sj);

	inst->owner = s;
	s->inst = inst;
	/* A restore that failed before this boot says so here. */
	text_set(&s->warning, s->next_warning);
	text_set(&s->next_warning, NULL);
	text_set(&s->exit_detail, NULL);
	free(s->start_err);
	s->start_err = NULL;
	instance_index_add(inst);
	console_rotate(s, inst->id);
	s->start_count++;
	core->stats.instances_started++;
	s->start_began = mono_now();
	metrics_inc(MX_VM_STARTS, MSTART_BOOT);
	state_set(s, SESSION_STARTING, PHASE_BOOTING, EV_STARTING, NULL);
	persist_write(s, NULL, NULL);
	sj->s = s;
	sj->inst = instance_ref(inst, "start_job");
	session_submit(s, &sj->job, start_run, start_done, "start");
}

/* Readiness (readiness.c) reports back. */
void start_ready(struct session *s)
{
	if (s->state == SESSION_STARTING && s->inst != NULL &&
	    instance_disposition(s->inst) == DISP_ACTIVE)
		start_running(s, false);
}

void start_not_ready(struct session *s, const char *why)
{
	if (s->state != SESSION_STARTING || s->inst == NULL)
		return;
	s->core->stats.start_failures++;
	metrics_inc(MX_VM_START_FAILURES, MFAIL_NOT_READY);
	teardown_start_failed(s, why);
}
