/*
 * test_load.c — loading many state files (issue 17) and the list cursor's seek
 * (issue 20):
 *
 *  - session/load.c loads every state file at start: 700 sessions come
 *    back after a restart with their names, ids, owners and settings.
 *    Among them, a file that is not JSON, one whose name is not the id
 *    inside it, and one that repeats a session are skipped (the others
 *    load, the core carries on); a ".tmp" left by a crash is removed and
 *    a file of another name is left alone.  The files are read on a
 *    thread of their own in batches (load.c): 700 files fill more than
 *    one; files of 300 KiB do not fit a batch already part full and go
 *    to the next, one larger than a whole batch is read again on the
 *    loop's thread, and a dangling link and a directory named like a
 *    state file are skipped.
 *  - core_after(seq) (session/core.c) is the first registered session
 *    above seq, whatever was deleted before it, through the holes and
 *    the compaction of its index: checked against the test's own record
 *    (a plain array of who is registered) after every deletion, for
 *    every seq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/xalloc.h"
#include "harness/harness.h"

#define NLOAD 700
#define NSEEK 300

static struct harness *live;

static int teardown(void **state)
{
	(void)state;
	harness_free(live);
	live = NULL;
	return 0;
}

static const char *const conf[] = { "max_sessions_per_user", "0", NULL };

static struct harness *new_harness(void)
{
	struct harness_opts o = { .tmp = "/dev/shm", .scratch_gib = -1, .conf = conf };

	if (access("/dev/shm", W_OK) != 0)
		o.tmp = NULL;
	live = harness_new(&o);
	assert_non_null(live);
	return live;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[4400];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[4400];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_many_files_load(void **state)
{
	struct harness *h = new_harness();
	json_t *params = json_pack("{s:s, s:i}", "storage", "ephemeral", "memory_mib", 321);
	char name[32], dir[4096], copy[4400], ids[NLOAD][UUID_STR_LEN];
	struct cause c;

	(void)state;
	for (int i = 0; i < NLOAD; i++) {
		snprintf(name, sizeof name, "s%d", i);
		struct session *s = harness_create_as(h, (uid_t)(1000 + i % 7), name, params, &c);
		if (s == NULL)
			fail_msg("create %s: %s", name, c.msg);
		snprintf(ids[i], sizeof ids[i], "%s", s->id);
	}
	json_decref(params);
	snprintf(dir, sizeof dir, "%s", h->core->sessions_dir);
	/* The daemon stops (its last writes done) before the files change. */
	core_free(h->core);
	h->core = NULL;
	put_file(dir, "bad.json", "{\"version\": 1, \"name\": ");
	/* s0's file under another id's name: not the id inside, and a session
	 * that exists already. */
	snprintf(copy, sizeof copy, "%s/%s.json", dir, ids[0]);
	char *text = file_read_all(copy, 1 << 20, NULL, &c);
	assert_non_null(text);
	put_file(dir, "00000000-0000-4000-8000-000000000000.json", text);
	free(text);
	/* Whitespace after the object is still a state file: s1 to s5,
	 * with 322 MiB of memory instead of 321. */
	for (int i = 1; i <= 5; i++) {
		snprintf(copy, sizeof copy, "%s/%s.json", dir, ids[i]);
		char *orig = file_read_all(copy, 1 << 20, NULL, &c);
		assert_non_null(orig);
		size_t pad = i == 1 ? 600 << 10 : 300 << 10, n = strlen(orig);
		char *big = xmalloc(n + pad + 1), file[64];
		memcpy(big, orig, n + 1);
		/* What the padded file says is what comes back. */
		char *mib = strstr(big, "\"memory_mib\":321");
		assert_non_null(mib);
		mib[strlen("\"memory_mib\":32")] = '2';
		memset(big + n, ' ', pad);
		big[n + pad] = '\0';
		snprintf(file, sizeof file, "%s.json", ids[i]);
		put_file(dir, file, big);
		free(big);
		free(orig);
	}
	snprintf(copy, sizeof copy, "%s/dangling.json", dir);
	assert_int_equal(symlink("/nonexistent-sessiond-state", copy), 0);
	snprintf(copy, sizeof copy, "%s/dir.json", dir);
	assert_int_equal(mkdir(copy, 0700), 0);
	put_file(dir, ".crashed.json.tmp", "{");
	put_file(dir, "notes.txt", "left alone");

	if (harness_start(h, &c) < 0)
		fail_msg("start: %s", c.msg);

	assert_int_equal(h->core->nsessions, NLOAD);
	for (int i = 0; i < NLOAD; i++) {
		snprintf(name, sizeof name, "s%d", i);
		struct session *s = core_find(h->core, (uid_t)(1000 + i % 7), name);
		assert_non_null(s);
		assert_string_equal(s->id, ids[i]);
		assert_int_equal(s->set.memory_mib, i >= 1 && i <= 5 ? 322 : 321);
		assert_int_equal(s->state, SESSION_STOPPED);
	}
	assert_false(exists(dir, ".crashed.json.tmp"));
	assert_true(exists(dir, "notes.txt"));
	assert_true(exists(dir, "bad.json"));   /* skipped, not removed */
}

/* The first registered session above seq by the test's own record. */
static struct session *expected_after(struct session **reg, int n, uint64_t seq)
{
	for (int i = 0; i < n; i++)
		if (reg[i] != NULL && reg[i]->seq > seq)
			return reg[i];
	return NULL;
}

static void test_seek_through_deletions(void **state)
{
	struct harness *h = new_harness();
	struct session *reg[NSEEK], *gone[NSEEK];
	char name[32];
	struct cause c;
	unsigned x = 12345;

	(void)state;
	for (int i = 0; i < NSEEK; i++) {
		snprintf(name, sizeof name, "k%d", i);
		assert_non_null(reg[i] = harness_create(h, name, NULL, &c));
		assert_true(i == 0 || reg[i]->seq > reg[i - 1]->seq);
	}
	uint64_t last = reg[NSEEK - 1]->seq;
	for (int left = NSEEK; left > 0; left--) {
		int k;
		do {
			x = x * 1103515245u + 12345u;
			k = (int)((x >> 8) % NSEEK);
		} while (reg[k] == NULL);
		core_unregister(reg[k]);
		gone[NSEEK - left] = reg[k];
		reg[k] = NULL;
		for (uint64_t seq = 0; seq <= last + 1; seq++)
			assert_ptr_equal(core_after(h->core, seq), expected_after(reg, NSEEK, seq));
	}
	assert_int_equal(h->core->nsessions, 0);
	for (int i = 0; i < NSEEK; i++)
		session_unref(gone[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_many_files_load, teardown),
		cmocka_unit_test_teardown(test_seek_through_deletions, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
