/*
 * test_tiers.c — memory tiers on the real core and libvirt's embedded test
 * driver (which saves a domain to a file and restores it): save on idle,
 * restore with the same instance, every failure path (save fails, restore
 * fails, a crash during either, an image that no longer fits), discards
 * (stop, delete), a daemon restart while suspended, the sweep of images
 * nobody keeps.
 *
 * Teardowns and image deletions are counted outside the core, by the
 * fault seam's ledger (the calls the core made) and by the files and
 * domains the test itself sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/timeutil.h"
#include "../rpc/sessiond-protocol.h"
#include "harness/harness.h"

static int setup(void **state)
{
	struct harness_opts o = { .fault = true, .record_events = true };

	*state = harness_new(&o);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

#define SAVER "{\"grace_s\": 0.05, \"idle_action\": \"save\", \"stop_timeout_s\": 0.2}"

static struct session *make(struct harness *h, const char *name, const char *json)
{
	struct cause c;
	json_t *p = json_loads(json, 0, NULL);
	struct session *s = harness_create(h, name, p, &c);

	json_decref(p);
	if (s == NULL)
		fail_msg("create %s: %s", name, c.msg);
	return s;
}

struct want_state {
	struct session *s;
	enum session_state st;
};

static bool state_is(struct harness *h, void *arg)
{
	struct want_state *w = arg;

	(void)h;
	return w->s->state == w->st && w->s->phase == PHASE_IDLE;
}

static void wait_state(struct harness *h, struct session *s, enum session_state st)
{
	struct want_state w = { s, st };

	if (!harness_wait(h, 20, state_is, &w))
		fail_msg("session %s: still %s/%s, expected %s", s->name, state_name(s->state),
			 state_phase_name(s->phase), state_name(st));
}

static void hold(struct harness *h, struct session *s, struct session_lease *sl)
{
	struct cause c;

	if (harness_lease(h, s, sl, 20, &c) < 0)
		fail_msg("lease on %s: %s", s->name, c.msg);
}

/* Up, then idle until suspended; returns the instance id. */
static void run_until_suspended(struct harness *h, struct session *s, char id[UUID_STR_LEN])
{
	struct session_lease sl;

	hold(h, s, &sl);
	assert_int_equal(s->state, SESSION_RUNNING);
	str_copy(id, UUID_STR_LEN, s->inst->id);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);
}

static bool file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static json_int_t ledger(struct harness *h, enum fault_call k, const char *key)
{
	json_t *l = fault_driver_ledger(h->drv);
	json_int_t n = json_integer_value(json_object_get(json_object_get(l, fault_call_name(k)), key));

	json_decref(l);
	return n;
}

/* The last recorded event of kind ev for session name (borrowed). */
static json_t *last_event(struct harness *h, const char *name, const char *ev)
{
	json_t *v, *found = NULL;
	size_t i;

	json_array_foreach(h->events, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "event")), ev) == 0)
			found = v;
	}
	if (found == NULL)
		fail_msg("no '%s' event for %s", ev, name);
	return found;
}

/* Every instance torn down once, nothing of ours left: domains, instance
 * volumes, images, index entries; no double teardown anywhere. */
static void assert_clean(struct harness *h)
{
	char why[256] = "";

	assert_true(harness_wait(h, 20, harness_quiet, NULL));
	assert_int_equal(h->core->stats.teardowns,
			 h->core->stats.instances_started + h->core->stats.adopted);
	assert_int_equal(h->core->stats.double_teardowns, 0);
	assert_int_equal(harness_domains(h), 0);
	assert_int_equal(harness_volumes(h), 0);
	assert_int_equal(harness_images(h), 0);
	assert_int_equal(instance_index_count(), 0);
	if (fault_driver_repeats(h->drv, why, sizeof why) != 0)
		fail_msg("a teardown call ran twice: %s", why);
}

/* ---- save on idle, restore with the same instance ----------------------------- */

static void test_save_on_idle_then_restore(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "tier", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];
	struct stat sb;

	run_until_suspended(h, s, id);
	/* Suspended: no domain, the same instance, its scratch disk kept,
	 * the image on disk, only the owner may read it. */
	assert_non_null(s->inst);
	assert_string_equal(s->inst->id, id);
	assert_int_equal(instance_disposition(s->inst), DISP_SUSPENDED);
	assert_int_equal(harness_domains(h), 0);
	assert_int_equal(harness_volumes(h), 1);
	assert_non_null(s->saved);
	str_copy(path, sizeof path, s->saved->path);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 0 && s->saved->bytes == (double)sb.st_size);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(h->core->save_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_non_null(strstr(path, id));
	assert_string_equal(s->last_stop_reason, "idle");
	json_t *ev = last_event(h, "tier", RPC_EV_STOPPING);
	assert_string_equal(json_string_value(json_object_get(ev, "reason")), "idle");
	assert_string_equal(json_string_value(json_object_get(ev, "action")), "save");
	ev = last_event(h, "tier", RPC_EV_SUSPENDED);
	assert_string_equal(json_string_value(json_object_get(ev, "instance")), id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "saved_state"),
							      "path")), path);
	assert_int_equal(harness_events(h, "tier", RPC_EV_STOPPED), 0);
	json_t *view = view_session(s);
	assert_string_equal(json_string_value(json_object_get(view, "state")), "suspended");
	assert_string_equal(json_string_value(json_object_get(view, "idle_action")), "save");
	assert_true(json_is_object(json_object_get(view, "saved_state")));
	assert_true(json_is_object(json_object_get(view, "instance")));
	json_decref(view);

	/* The next lease restores the same instance, without a boot. */
	hold(h, s, &sl);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_string_equal(s->inst->id, id);
	assert_int_equal(s->start_count, 1);
	assert_int_equal(s->restore_count, 1);
	assert_null(s->saved);
	assert_false(file_exists(path));
	assert_int_equal(harness_domains(h), 1);
	assert_int_equal(ledger(h, FC_DOMAIN_RESTORED, path), 1);
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	assert_true(json_is_true(json_object_get(last_event(h, "tier", RPC_EV_STARTING), "restore")));
	assert_true(json_is_true(json_object_get(last_event(h, "tier", RPC_EV_RUNNING), "restore")));
	/* ... and it is saved again, under a new name, when idle again. */
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);
	assert_string_not_equal(s->saved->path, path);
	assert_int_equal(harness_images(h), 1);
	assert_int_equal(h->core->stats.saves, 2);
	assert_int_equal(h->core->stats.restores, 1);
	assert_int_equal(harness_delete(h, s, NULL), 0);
	assert_clean(h);
}

/* An idle stop measures what the VM gave back (teardown.c: the flag
 * measure_rss, taken by the stop's first job).  A save measures it itself,
 * so the flag goes with the save: a later end of the restored instance
 * that claims no stop (a crash) must not count as given back by
 * idleness. */
static void test_save_clears_idle_measure(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "tier", SAVER);
	char id[UUID_STR_LEN];

	run_until_suspended(h, s, id);
	assert_false(s->measure_rss);
	assert_int_equal(harness_delete(h, s, NULL), 0);
	assert_clean(h);
}

/* ---- failure paths ------------------------------------------------------------------- */

/* libvirt refuses the save: the guest is stopped as an idle stop stops
 * it, and the stop says why. */
static void test_save_fails_stops(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "sf", SAVER);
	struct session_lease sl;

	fault_driver_fail_saves(h->drv, 1);
	hold(h, s, &sl);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_STOPPED);
	assert_null(s->inst);
	assert_null(s->saved);
	assert_string_equal(s->last_stop_reason, "idle");
	assert_non_null(strstr(text_str(s->last_stop_detail), "save failed"));
	json_t *ev = last_event(h, "sf", RPC_EV_STOPPED);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "detail")), "save failed"));
	assert_int_equal(h->core->stats.save_failures, 1);
	assert_int_equal(harness_images(h), 0);
	assert_clean(h);
	/* The next use is a cold boot. */
	hold(h, s, &sl);
	assert_int_equal(s->start_count, 2);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);
	assert_int_equal(harness_delete(h, s, NULL), 0);
	assert_clean(h);
}

/* A corrupt image: the old instance goes (scratch and image, once), a new
 * one boots, and the caller gets it with a warning. */
static void test_restore_fails_cold_boot(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "rf", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096], scratch[INSTANCE_NAME_MAX];

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	str_copy(scratch, sizeof scratch, s->inst->scratch);
	assert_int_equal(truncate(path, 7), 0);
	hold(h, s, &sl);
	assert_int_equal(s->state, SESSION_RUNNING);
	assert_string_not_equal(s->inst->id, id);
	assert_int_equal(s->start_count, 2);
	assert_int_equal(s->restore_count, 0);
	assert_non_null(strstr(text_str(s->warning), "restore"));
	assert_false(file_exists(path));
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	assert_int_equal(ledger(h, FC_VOL_DELETED, scratch), 1);
	assert_int_equal(ledger(h, FC_DOMAIN_DESTROYED, id), 1);
	json_t *ev = last_event(h, "rf", RPC_EV_STOPPED);
	assert_string_equal(json_string_value(json_object_get(ev, "reason")), "restore-failed");
	assert_string_equal(json_string_value(json_object_get(ev, "instance")), id);
	ev = last_event(h, "rf", RPC_EV_RUNNING);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "warning")), "restore"));
	assert_null(json_object_get(ev, "restore"));
	json_t *obj = view_session(s);
	assert_non_null(strstr(json_string_value(json_object_get(obj, "warning")), "restore"));
	json_decref(obj);
	assert_int_equal(h->core->stats.restore_failures, 1);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);
	/* The warning belonged to that instance: the next restore has none. */
	hold(h, s, &sl);
	assert_null(s->warning);
	holds_lease_release(&sl);
	assert_int_equal(harness_stop(h, s, true, NULL), 0);
	assert_clean(h);
}

/* libvirt refuses the restore (the seam): the same path. */
static void test_restore_refused_cold_boot(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "rr", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	fault_driver_fail_restores(h->drv, 1);
	hold(h, s, &sl);
	assert_string_not_equal(s->inst->id, id);
	assert_non_null(strstr(text_str(s->warning), "injected restore failure"));
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	holds_lease_release(&sl);
	assert_int_equal(harness_stop(h, s, true, NULL), 0);
	assert_clean(h);
}

/* The domain dies as the restore brings it back: the exit claim owns it,
 * the crash policy applies, the image (deleted by the restore) and the
 * scratch disk go once. */
static void test_crash_during_restore(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "cr", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];
	struct cause c;

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	struct fault_cfg f = { .seed = 3, .p_crash_in_restore = 1 };
	fault_driver_set(h->drv, &f);
	/* The crash's STOPPED event may come before the restore job's end
	 * (the lease fails) or after it (the lease was granted on the
	 * restored VM, which then dies): either way one crash, torn down
	 * once, the session failed (terminate policy). */
	int rc = harness_lease(h, s, &sl, 20, &c);
	assert_true(rc == 0 || strstr(c.msg, "failed") != NULL || strstr(c.msg, "exit") != NULL);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_FAILED);
	assert_int_equal(atomic_load(&fault_driver_stats(h->drv)->crashes_in_restore), 1);
	assert_int_equal(harness_events(h, "cr", RPC_EV_CRASHED), 1);
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	assert_int_equal(ledger(h, FC_DOMAIN_DESTROYED, id), 1);
	assert_null(s->saved);
	struct fault_cfg off = { 0 };
	fault_driver_set(h->drv, &off);
	assert_clean(h);
}

/* The domain dies just as the save begins: the save fails, the stop goes
 * on as a normal stop; torn down once. */
static void test_crash_during_save(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "cs", SAVER);
	struct session_lease sl;

	struct fault_cfg f = { .seed = 5, .p_crash_in_save = 1 };
	fault_driver_set(h->drv, &f);
	hold(h, s, &sl);
	char id[UUID_STR_LEN];
	str_copy(id, sizeof id, s->inst->id);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_STOPPED);
	assert_int_equal(atomic_load(&fault_driver_stats(h->drv)->crashes_in_save), 1);
	assert_non_null(strstr(text_str(s->last_stop_detail), "save failed"));
	assert_int_equal(harness_events(h, "cs", RPC_EV_STOPPED), 1);
	assert_int_equal(harness_events(h, "cs", RPC_EV_CRASHED), 0);
	assert_int_equal(ledger(h, FC_DOMAIN_DESTROYED, id), 1);
	struct fault_cfg off = { 0 };
	fault_driver_set(h->drv, &off);
	assert_clean(h);
}

/* Our own save's STOPPED event, delivered only after the restore (a slow
 * event thread): it must not claim the restored instance. */
static void test_late_save_event_not_a_crash(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "late", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN];

	struct fault_cfg f = { .seed = 9, .max_event_delay_us = 150000 };
	fault_driver_set(h->drv, &f);
	for (int round = 0; round < 3; round++) {
		run_until_suspended(h, s, id);
		hold(h, s, &sl);
		assert_string_equal(s->inst->id, id);
		holds_lease_release(&sl);
	}
	wait_state(h, s, SESSION_SUSPENDED);
	harness_spin(h, 0.5);                   /* every delayed event is in */
	assert_int_equal(s->state, SESSION_SUSPENDED);
	assert_int_equal(harness_events(h, "late", RPC_EV_CRASHED), 0);
	assert_int_equal(h->core->stats.spontaneous_exits, 0);
	struct fault_cfg off = { 0 };
	fault_driver_set(h->drv, &off);
	assert_int_equal(harness_stop(h, s, false, NULL), 0);
	assert_clean(h);
}

/* ---- discards ------------------------------------------------------------------------- */

static void test_stop_and_delete_discard(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "disc", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	assert_int_equal(harness_stop(h, s, false, NULL), 0);
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_string_equal(s->last_stop_reason, "requested");
	assert_null(s->inst);
	assert_false(file_exists(path));
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	assert_int_equal(harness_events(h, "disc", RPC_EV_STOPPED), 1);
	assert_clean(h);
	/* A cold boot next. */
	hold(h, s, &sl);
	assert_int_equal(s->start_count, 2);
	assert_int_equal(s->restore_count, 0);
	assert_string_not_equal(s->inst->id, id);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);
	str_copy(path, sizeof path, s->saved->path);
	assert_int_equal(harness_delete(h, s, NULL), 0);
	assert_false(file_exists(path));
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, path), 1);
	assert_clean(h);
}

/* Settings an image depends on changed while suspended (as a future
 * session.set or a hand-edited state file would): the image is discarded
 * and the next use boots afresh, without a warning. */
static void test_settings_change_discards(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "chg", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	s->set.grace = 0.06;                    /* not an image setting */
	assert_true(tiers_image_fits(s));
	s->set.memory_mib = 1024;
	assert_false(tiers_image_fits(s));
	hold(h, s, &sl);
	assert_string_not_equal(s->inst->id, id);
	assert_int_equal(s->start_count, 2);
	assert_null(s->warning);
	assert_false(file_exists(path));
	json_t *ev = last_event(h, "chg", RPC_EV_STOPPED);
	assert_string_equal(json_string_value(json_object_get(ev, "reason")), "settings-changed");
	holds_lease_release(&sl);
	assert_int_equal(harness_stop(h, s, true, NULL), 0);
	assert_clean(h);
}

/* ---- restarts ------------------------------------------------------------------------- */

static struct session *find(struct harness *h, const char *name)
{
	struct session *s = core_find(h->core, 0, name);

	if (s == NULL)
		fail_msg("session %s is gone after the restart", name);
	return s;
}

static void test_restart_keeps_suspended(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "rs", SAVER);
	struct session_lease sl;
	char id[UUID_STR_LEN], path[4096];

	run_until_suspended(h, s, id);
	str_copy(path, sizeof path, s->saved->path);
	harness_restart(h);
	s = find(h, "rs");
	assert_int_equal(s->state, SESSION_SUSPENDED);
	assert_string_equal(s->inst->id, id);
	assert_string_equal(s->saved->path, path);
	assert_true(file_exists(path));
	assert_int_equal(harness_volumes(h), 1);        /* its scratch is not swept */
	hold(h, s, &sl);
	assert_string_equal(s->inst->id, id);
	assert_int_equal(s->restore_count, 1);
	holds_lease_release(&sl);
	wait_state(h, s, SESSION_SUSPENDED);

	/* The image gone while the daemon was down: stopped, reason lost;
	 * the scratch disk is cleaned up. */
	str_copy(path, sizeof path, s->saved->path);
	core_free(h->core);
	h->core = NULL;
	assert_int_equal(unlink(path), 0);
	struct cause c;
	assert_int_equal(harness_start(h, &c), 0);
	s = find(h, "rs");
	assert_int_equal(s->state, SESSION_STOPPED);
	assert_null(s->inst);
	assert_null(s->saved);
	assert_string_equal(s->last_stop_reason, "lost");
	assert_true(harness_wait(h, 20, harness_quiet, NULL));
	assert_int_equal(harness_volumes(h), 0);
	assert_int_equal(harness_images(h), 0);
}

/* An empty file at path. */
static void touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
}

/* An image left by an earlier run: written an hour ago. */
static void touch_old(const char *path)
{
	struct timespec t[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };

	touch(path);
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Images of this daemon that no session records are swept at start;
 * another daemon's, and the suspended session's own, stay. */
static void test_orphan_images_swept(void **state)
{
	struct harness *h = *state;
	struct session *s = make(h, "keep", SAVER);
	char id[UUID_STR_LEN], kept[4096], orphan[4400], foreign[4400];
	struct cause c;

	run_until_suspended(h, s, id);
	str_copy(kept, sizeof kept, s->saved->path);
	snprintf(orphan, sizeof orphan, "%s/%s-00000000-0000-4000-8000-000000000001-0.save",
		 h->core->save_dir, h->core->prefix);
	snprintf(foreign, sizeof foreign, "%s/sd-ffffffff-00000000-0000-4000-8000-000000000002-0.save",
		 h->core->save_dir);
	core_free(h->core);
	h->core = NULL;
	touch_old(orphan);
	touch_old(foreign);
	assert_int_equal(harness_start(h, &c), 0);
	assert_false(file_exists(orphan));
	assert_true(file_exists(foreign));
	assert_true(file_exists(kept));
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, orphan), 1);
	assert_int_equal(ledger(h, FC_IMAGE_DELETED, kept), 0);
	s = find(h, "keep");
	assert_int_equal(s->state, SESSION_SUSPENDED);
	assert_int_equal(harness_delete(h, s, NULL), 0);
	assert_int_equal(unlink(foreign), 0);
	assert_clean(h);
}

/* The sweep runs as a job after the listing that decided what to keep: an
 * image written since (another host's session saved meanwhile; the image
 * directory is the daemon's) is kept, an older one nobody keeps goes. */
static void test_sweep_keeps_images_newer_than_listing(void **state)
{
	struct harness *h = *state;
	char img[4400];
	struct cause c;
	json_t *none = json_array();

	snprintf(img, sizeof img, "%s/%s-00000000-0000-4000-8000-000000000003-0.save",
		 h->core->save_dir, h->core->prefix);
	touch(img);
	assert_int_equal(tiers_sweep(&h->core->hosts[0], none, wall_now() - 60, &c), 0);
	assert_true(file_exists(img));
	assert_int_equal(tiers_sweep(&h->core->hosts[0], none, wall_now() + 60, &c), 1);
	assert_false(file_exists(img));
	json_decref(none);
	assert_clean(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_save_on_idle_then_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_clears_idle_measure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_fails_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_fails_cold_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_refused_cold_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_during_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_during_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_save_event_not_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_and_delete_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings_change_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_suspended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_images_swept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_keeps_images_newer_than_listing, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
