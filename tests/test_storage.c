/*
 * test_storage.c — whose storage pool is whose, on the real core and
 * libvirt's embedded test driver (test:///default, shared by every
 * connection of this process, so each harness's "outside" connection sees
 * what the daemon did, the way virsh would).
 *
 *  - the default pool is named after the daemon id ("sd-<8 hex>"), over
 *    STATE/pool; two daemons on one libvirt get two pools, each volume
 *    lies in its own daemon's directory, and removing one daemon's state
 *    leaves the other's sessions and disks alone;
 *  - a transient pool of the daemon's name over another or a vanished
 *    directory is replaced at start; a defined one over another directory
 *    makes the start fail, naming both directories, and is left alone;
 *  - a reset state directory (new daemon id, same directory) replaces the
 *    pool the earlier daemon left over it; a pool of somebody else over
 *    the directory is an error;
 *  - an installation from before, whose disks are in a pool "sessiond"
 *    over its directory, keeps that pool (recorded in STATE/pool-name);
 *    a "sessiond" pool without its disks is not inherited;
 *  - a configured pool is used as given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../virt/virt.h"
#include "harness/harness.h"

static int setup(void **state)
{
	*state = harness_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* ---- what libvirt has (the outside view) ------------------------------ */

/* The target path of pool name; "" when libvirt has no such pool. */
static void pool_target(struct harness *h, const char *name, char *buf, size_t len)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(h->outside, name);
	char *xml = p != NULL ? virStoragePoolGetXMLDesc(p, 0) : NULL;
	const char *a = xml != NULL ? strstr(xml, "<path>") : NULL;
	const char *b = a != NULL ? strstr(a, "</path>") : NULL;

	buf[0] = '\0';
	if (b != NULL)
		snprintf(buf, len, "%.*s", (int)(b - a - 6), a + 6);
	free(xml);
	if (p != NULL)
		virStoragePoolFree(p);
}

static bool pool_exists(struct harness *h, const char *name)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(h->outside, name);

	if (p != NULL)
		virStoragePoolFree(p);
	return p != NULL;
}

static void pool_make(struct harness *h, const char *name, const char *path, bool define)
{
	char xml[1024];
	virStoragePoolPtr p;

	snprintf(xml, sizeof xml, "<pool type='dir'><name>%s</name><target><path>%s</path>"
		 "</target></pool>", name, path);
	p = define ? virStoragePoolDefineXML(h->outside, xml, 0)
		   : virStoragePoolCreateXML(h->outside, xml, 0);
	if (p == NULL)
		fail_msg("cannot %s pool %s at %s", define ? "define" : "create", name, path);
	virStoragePoolFree(p);
}

static void pool_remove(struct harness *h, const char *name)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(h->outside, name);

	if (p == NULL)
		return;
	if (virStoragePoolIsActive(p) == 1)
		virStoragePoolDestroy(p);
	if (virStoragePoolIsPersistent(p) == 1)
		virStoragePoolUndefine(p);
	virStoragePoolFree(p);
}

/* Volume paths of pool name, as one "\n"-separated string. */
static char *pool_volume_paths(struct harness *h, const char *name)
{
	virStoragePoolPtr p = virStoragePoolLookupByName(h->outside, name);
	virStorageVolPtr *vols = NULL;
	char *all = calloc(1, 1);
	int n;

	if (p == NULL || all == NULL)
		fail_msg("no pool %s", name);
	n = virStoragePoolListAllVolumes(p, &vols, 0);
	for (int i = 0; i < n; i++) {
		char *path = virStorageVolGetPath(vols[i]), *next;
		if (asprintf(&next, "%s%s\n", all, path ? path : "?") < 0)
			fail_msg("out of memory");
		free(all);
		all = next;
		free(path);
		virStorageVolFree(vols[i]);
	}
	free(vols);
	virStoragePoolFree(p);
	return all;
}

/* ---- the daemon's side ------------------------------------------------ */

static const char *pool_of(struct harness *h)
{
	return storage_pool(h->core->hosts[0].storage);
}

/* <dir>/state/pool with symlinks resolved, as the daemon names it. */
static void pool_dir(struct harness *h, char *buf)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/state/pool", h->dir);
	if (realpath(p, buf) == NULL)
		fail_msg("%s: missing", p);
}

static void sub_dir(struct harness *h, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", h->dir, name);
	if (mkdir(buf, 0700) < 0)
		fail_msg("mkdir %s", buf);
}

static struct session *make(struct harness *h, const char *name)
{
	struct cause c;
	struct session *s = harness_create(h, name, NULL, &c);

	if (s == NULL)
		fail_msg("create %s: %s", name, c.msg);
	return s;
}

/* The session's persistent disk is a volume of the daemon's pool. */
static bool has_disk(struct harness *h, struct session *s)
{
	char name[256], path[4096];
	struct cause c;

	storage_disk_name(h->core->hosts[0].storage, s->id, name, sizeof name);
	return h->drv->ops->vol_lookup(h->drv, pool_of(h), name, path, sizeof path, &c) == 1;
}

static void stop_core(struct harness *h)
{
	core_free(h->core);
	h->core = NULL;
}

static void start_core(struct harness *h)
{
	struct cause c;

	if (harness_start(h, &c) < 0)
		fail_msg("the daemon refused to start: %s", c.msg);
}

/* Every volume of the daemon's pool lies in its directory. */
static void assert_volumes_in_own_dir(struct harness *h, int at_least)
{
	char dir[PATH_MAX], want[PATH_MAX + 2];
	char *paths = pool_volume_paths(h, pool_of(h)), *line, *save = NULL;
	int n = 0;

	pool_dir(h, dir);
	snprintf(want, sizeof want, "%s/", dir);
	for (line = strtok_r(paths, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("volume %s of pool %s is not in %s", line, pool_of(h), dir);
		n++;
	}
	free(paths);
	if (n < at_least)
		fail_msg("pool %s has %d volumes, expected at least %d", pool_of(h), n, at_least);
}

/* ---- tests ------------------------------------------------------------ */

static void test_pool_named_after_daemon(void **state)
{
	struct harness *h = *state;
	char want[32], dir[PATH_MAX], target[PATH_MAX];

	snprintf(want, sizeof want, "sd-%.8s", h->core->daemon_id);
	assert_string_equal(pool_of(h), want);
	assert_string_equal(pool_of(h), h->core->prefix);
	pool_dir(h, dir);
	pool_target(h, want, target, sizeof target);
	assert_string_equal(target, dir);
	struct session *s = make(h, "p");
	assert_true(has_disk(h, s));
	assert_volumes_in_own_dir(h, 1);
}

static void test_two_daemons_apart(void **state)
{
	struct harness *a = *state, *b = harness_new(NULL);
	struct session_lease la, lb;
	struct cause c;
	char dir_b[PATH_MAX], tb[PATH_MAX];

	struct session *sa = make(a, "a");
	struct session *sb = make(b, "b");
	assert_int_equal(harness_lease(a, sa, &la, 20, &c), 0);
	assert_int_equal(harness_lease(b, sb, &lb, 20, &c), 0);
	/* disk, template, scratch: each in its own daemon's directory */
	assert_volumes_in_own_dir(a, 3);
	assert_volumes_in_own_dir(b, 3);
	assert_string_not_equal(pool_of(a), pool_of(b));
	holds_lease_release(&la);
	holds_lease_release(&lb);

	/* Daemon a's state goes (harness_free removes its directory).  Its
	 * VM is left running, as a daemon that exits leaves it: two cores in
	 * one process share the instance index, so a stop event of a's VM
	 * would also reach b's mailbox and outlive a's session there (only
	 * tests put two cores in one process). */
	char pool_b[32];
	snprintf(pool_b, sizeof pool_b, "%s", pool_of(b));
	harness_free(a);
	*state = b;
	pool_dir(b, dir_b);
	pool_target(b, pool_b, tb, sizeof tb);
	assert_string_equal(tb, dir_b);
	assert_true(has_disk(b, sb));
	harness_restart(b);
	sb = core_find(b->core, 0, "b");
	assert_non_null(sb);
	assert_true(has_disk(b, sb));
	assert_int_equal(harness_lease(b, sb, &lb, 20, &c), 0);
	holds_lease_release(&lb);
	assert_volumes_in_own_dir(b, 3);
}

static void test_transient_pool_elsewhere_replaced(void **state)
{
	struct harness *h = *state;
	char name[32], other[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];

	snprintf(name, sizeof name, "%s", pool_of(h));
	stop_core(h);
	pool_remove(h, name);
	sub_dir(h, "elsewhere", other, sizeof other);
	pool_make(h, name, other, false);
	start_core(h);
	pool_dir(h, dir);
	pool_target(h, name, target, sizeof target);
	assert_string_equal(target, dir);
	make(h, "p");
	assert_volumes_in_own_dir(h, 1);
}

static void test_transient_pool_vanished_dir_replaced(void **state)
{
	struct harness *h = *state;
	char name[32], gone[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];

	snprintf(name, sizeof name, "%s", pool_of(h));
	stop_core(h);
	pool_remove(h, name);
	sub_dir(h, "gone", gone, sizeof gone);
	pool_make(h, name, gone, false);
	assert_int_equal(rmdir(gone), 0);
	start_core(h);
	pool_dir(h, dir);
	pool_target(h, name, target, sizeof target);
	assert_string_equal(target, dir);
	make(h, "p");
	assert_volumes_in_own_dir(h, 1);
}

static void test_defined_pool_elsewhere_refused(void **state)
{
	struct harness *h = *state;
	char name[32], other[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
	struct cause c;

	snprintf(name, sizeof name, "%s", pool_of(h));
	pool_dir(h, dir);
	stop_core(h);
	pool_remove(h, name);
	sub_dir(h, "other", other, sizeof other);
	pool_make(h, name, other, true);
	assert_int_equal(harness_start(h, &c), -1);
	if (strstr(c.msg, other) == NULL || strstr(c.msg, dir) == NULL || strstr(c.msg, name) == NULL)
		fail_msg("the refusal does not name %s, %s and %s: %s", name, other, dir, c.msg);
	/* Left as it was: defined, over the other directory. */
	pool_target(h, name, target, sizeof target);
	assert_string_equal(target, other);
	pool_remove(h, name);
	start_core(h);
	pool_target(h, name, target, sizeof target);
	assert_string_equal(target, dir);
}

/* A reset state directory: a new daemon id over the same directory. */
static void test_reset_state_replaces_leftover_pool(void **state)
{
	struct harness *h = *state;
	char old[32], dir[PATH_MAX], target[PATH_MAX], cmd[400];

	make(h, "p");
	snprintf(old, sizeof old, "%s", pool_of(h));
	for (int round = 0; round < 3; round++) {
		stop_core(h);
		snprintf(cmd, sizeof cmd, "rm -rf '%s/state'", h->dir);
		assert_int_equal(system(cmd), 0);
		start_core(h);
		assert_string_not_equal(pool_of(h), old);
		assert_false(pool_exists(h, old));
		pool_dir(h, dir);
		pool_target(h, pool_of(h), target, sizeof target);
		assert_string_equal(target, dir);
		/* at once, and it works */
		make(h, "p");
		assert_volumes_in_own_dir(h, 1);
		snprintf(old, sizeof old, "%s", pool_of(h));
	}
}

static void test_foreign_pool_over_dir_refused(void **state)
{
	struct harness *h = *state;
	static const struct { const char *name; bool define; } foreign[] = {
		{ "someones-pool", false },     /* not a name sessiond gives */
		{ "sd-0123abcd", true },        /* defined: somebody's configuration */
	};
	char name[32], dir[PATH_MAX];
	struct cause c;

	snprintf(name, sizeof name, "%s", pool_of(h));
	pool_dir(h, dir);
	for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
		stop_core(h);
		pool_remove(h, name);
		pool_make(h, foreign[i].name, dir, foreign[i].define);
		assert_int_equal(harness_start(h, &c), -1);
		if (strstr(c.msg, foreign[i].name) == NULL || strstr(c.msg, dir) == NULL)
			fail_msg("the refusal does not name %s and %s: %s", foreign[i].name, dir, c.msg);
		assert_true(pool_exists(h, foreign[i].name));
		pool_remove(h, foreign[i].name);
		start_core(h);
	}
}

static void read_pool_name(struct harness *h, char *buf, size_t len)
{
	char path[400];
	char *text;

	snprintf(path, sizeof path, "%s/state/pool-name", h->dir);
	text = file_read_all(path, 256, NULL, NULL);
	snprintf(buf, len, "%s", text != NULL ? text : "");
	free(text);
}

/* An earlier sessiond named every pool "sessiond": simulated by the
 * configuration it had implicitly, pool = sessiond. */
static void test_legacy_pool_kept(void **state)
{
	struct harness *h = *state;
	char dir[PATH_MAX], target[PATH_MAX], recorded[300];
	struct session_lease sl;
	struct cause c;

	stop_core(h);
	assert_int_equal(config_set(&h->cfg, "pool", STORAGE_LEGACY_POOL, &c), 0);
	start_core(h);
	struct session *s = make(h, "old");
	assert_string_equal(pool_of(h), STORAGE_LEGACY_POOL);
	assert_true(has_disk(h, s));

	/* The new default: the installation keeps its pool and records it. */
	stop_core(h);
	free(h->cfg.core.pool);
	h->cfg.core.pool = NULL;
	start_core(h);
	assert_string_equal(pool_of(h), STORAGE_LEGACY_POOL);
	read_pool_name(h, recorded, sizeof recorded);
	assert_string_equal(recorded, STORAGE_LEGACY_POOL "\n");
	s = core_find(h->core, 0, "old");
	assert_non_null(s);
	assert_true(has_disk(h, s));
	assert_int_equal(harness_lease(h, s, &sl, 20, &c), 0);
	holds_lease_release(&sl);
	struct session *t = make(h, "new");
	assert_true(has_disk(h, t));
	assert_volumes_in_own_dir(h, 2);

	/* libvirt lost the transient pool (a libvirtd restart): made again
	 * under the recorded name. */
	stop_core(h);
	pool_remove(h, STORAGE_LEGACY_POOL);
	start_core(h);
	assert_string_equal(pool_of(h), STORAGE_LEGACY_POOL);
	pool_dir(h, dir);
	pool_target(h, STORAGE_LEGACY_POOL, target, sizeof target);
	assert_string_equal(target, dir);
}

/* A "sessiond" pool over the directory without this daemon's disks (a
 * state directory reset under an earlier sessiond) is not inherited. */
static void test_legacy_pool_without_disks_not_inherited(void **state)
{
	struct harness *h = *state;
	char name[32], dir[PATH_MAX], target[PATH_MAX], recorded[300];

	snprintf(name, sizeof name, "%s", pool_of(h));
	pool_dir(h, dir);
	stop_core(h);
	pool_remove(h, name);
	pool_make(h, STORAGE_LEGACY_POOL, dir, false);
	start_core(h);
	assert_string_equal(pool_of(h), name);
	assert_false(pool_exists(h, STORAGE_LEGACY_POOL));
	pool_target(h, name, target, sizeof target);
	assert_string_equal(target, dir);
	read_pool_name(h, recorded, sizeof recorded);
	assert_string_equal(recorded, "");
}

/* pool = NAME without pool_path: an existing pool is used where it is
 * (the test driver's "default-pool" at /default-pool). */
static void test_configured_pool_used_as_given(void **state)
{
	struct harness *h = *state;
	char target[PATH_MAX];
	struct cause c;

	stop_core(h);
	assert_int_equal(config_set(&h->cfg, "pool", "default-pool", &c), 0);
	start_core(h);
	assert_string_equal(pool_of(h), "default-pool");
	pool_target(h, "default-pool", target, sizeof target);
	assert_string_equal(target, "/default-pool");
	struct session *s = make(h, "p");
	assert_true(has_disk(h, s));
	assert_int_equal(harness_delete(h, s, &c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pool_named_after_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_daemons_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transient_pool_elsewhere_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transient_pool_vanished_dir_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_defined_pool_elsewhere_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_state_replaces_leftover_pool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_pool_over_dir_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_pool_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_pool_without_disks_not_inherited, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_configured_pool_used_as_given, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
