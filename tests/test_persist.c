/*
 * test_persist.c — coalesced state-file writes (session/persist.c):
 *
 *  - many writes asked while one is in flight become one follow-up write;
 *  - every caller's done runs only after a write that began after it asked
 *    is on disk (its text holds what the caller changed before asking);
 *  - a barrier waits for what was asked before it, no more;
 *  - a removal is never overtaken: no write lands after it, its done runs
 *    once the file is gone, and a write asked after it writes nothing.
 *
 * The writer (one thread, FIFO) is held by a gate job the test queues
 * ahead, so "in flight" is a state the test controls.  What reached the
 * disk is seen from outside: inotify on the sessions directory counts the
 * renames that land the file and its removal, and each done reads the
 * file itself.  Each ask changes the session's start count first (a
 * marker no other path changes here), so the text on disk says which ask
 * it already holds.  The random rounds vary how many writes and barriers
 * are asked, and whether the writer is held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "harness/harness.h"

struct world {
	struct harness *h;
	struct session *s;
	char file[64];                      /* "<id>.json" */
	char path[4200];
	int ino;                            /* inotify on the sessions directory */
	int gate[2];                        /* a pipe: a byte opens the gate */
	bool gated;
};

static struct world *live;

static int teardown(void **state)
{
	(void)state;
	if (live == NULL)
		return 0;
	if (live->gated)
		assert_int_equal(write(live->gate[1], "x", 1), 1);
	close(live->gate[0]);
	close(live->gate[1]);
	close(live->ino);
	harness_free(live->h);
	free(live);
	live = NULL;
	return 0;
}

static struct world *world_new(void)
{
	/* Order is what is tested, not durability: a memory file system
	 * where there is one. */
	struct harness_opts o = { .scratch_gib = -1,
				  .tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL };
	struct world *w = calloc(1, sizeof *w);
	struct cause c;

	assert_non_null(w);
	live = w;
	assert_int_equal(pipe(w->gate), 0);
	w->h = harness_new(&o);
	json_t *p = json_pack("{s:s}", "storage", "ephemeral");
	w->s = harness_create(w->h, "p", p, &c);
	json_decref(p);
	if (w->s == NULL)
		fail_msg("create: %s", c.msg);
	assert_true(harness_wait(w->h, 10, harness_quiet, NULL));
	snprintf(w->file, sizeof w->file, "%s.json", w->s->id);
	snprintf(w->path, sizeof w->path, "%s/%s", w->h->core->sessions_dir, w->file);
	w->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(w->ino >= 0);
	/* The temporary file's creation too: inotify merges an event into an
	 * identical one still unread, so two renames in a row would count as
	 * one; with the creation between them they never are in a row. */
	assert_true(inotify_add_watch(w->ino, w->h->core->sessions_dir,
				      IN_CREATE | IN_MOVED_TO | IN_DELETE) >= 0);
	return w;
}

/* What landed on the file since the last call: 'W' a write (a rename
 * onto it), 'D' its removal, in order. */
static void landed(struct world *w, char *out, size_t len)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t n = 0;
	ssize_t r;

	while ((r = read(w->ino, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			if (ev->len > 0 && strcmp(ev->name, w->file) == 0 && n + 1 < len &&
			    (ev->mask & (IN_MOVED_TO | IN_DELETE)))
				out[n++] = ev->mask & IN_DELETE ? 'D' : 'W';
			p += sizeof *ev + ev->len;
		}
	}
	out[n] = '\0';
}

/* ---- the gate ---------------------------------------------------------------- */

static volatile int gate_running;

static void gate_run(struct job *j)
{
	char c;

	(void)j;
	__atomic_store_n(&gate_running, 1, __ATOMIC_SEQ_CST);
	while (read(live->gate[0], &c, 1) < 0 && errno == EINTR)
		;
	__atomic_store_n(&gate_running, 0, __ATOMIC_SEQ_CST);
}

static void gate_done(struct job *j)
{
	free(j);
}

static bool gate_holds(struct harness *h, void *arg)
{
	(void)h;
	(void)arg;
	return __atomic_load_n(&gate_running, __ATOMIC_SEQ_CST) == 1;
}

/* The writer thread is busy with the gate until gate_open(). */
static void gate_close(struct world *w)
{
	struct job *j = calloc(1, sizeof *j);

	j->run = gate_run;
	j->done = gate_done;
	j->what = "gate";
	workers_submit(w->h->core->writer, j);
	assert_true(harness_wait(w->h, 10, gate_holds, NULL));
	w->gated = true;
}

static void gate_open(struct world *w)
{
	assert_int_equal(write(w->gate[1], "x", 1), 1);
	w->gated = false;
}

/* ---- asks and what their done saw -------------------------------------------------- */

struct ask {
	unsigned marker;                    /* the start count when it asked */
	int calls;
	bool failed;
	long seen;                          /* the start count on disk when done ran; -1: no file */
};

static long on_disk(struct world *w)
{
	char *text = file_read_all(w->path, 1 << 20, NULL, NULL);

	if (text == NULL)
		return -1;
	json_t *doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	long v = (long)json_integer_value(json_object_get(doc, "start_count"));
	json_decref(doc);
	return v;
}

static void ask_done(struct session *s, const struct cause *err, void *arg)
{
	struct ask *a = arg;

	(void)s;
	a->calls++;
	a->failed = err != NULL;
	a->seen = on_disk(live);
}

/* Changes the marker, then asks for a write. */
static void ask_write(struct world *w, struct ask *a)
{
	w->s->start_count++;
	*a = (struct ask){ .marker = w->s->start_count, .seen = -2 };
	persist_write(w->s, ask_done, a);
}

static void ask_barrier(struct world *w, struct ask *a)
{
	*a = (struct ask){ .marker = w->s->start_count, .seen = -2 };
	persist_barrier(w->s, ask_done, a);
}

struct all_done {
	struct ask *asks;
	int n;
};

static bool every_done(struct harness *h, void *arg)
{
	struct all_done *ad = arg;

	for (int i = 0; i < ad->n; i++)
		if (ad->asks[i].calls == 0)
			return false;
	return core_quiescent(h->core);
}

static void check_asks(struct ask *asks, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		if (asks[i].calls != 1)
			fail_msg("%s: ask %d: done ran %d times", what, i, asks[i].calls);
		if (asks[i].failed)
			fail_msg("%s: ask %d failed", what, i);
		if (asks[i].seen < (long)asks[i].marker)
			fail_msg("%s: ask %d (start count %u) was answered while the file said %ld: "
				 "before a write that began after it asked", what, i, asks[i].marker,
				 asks[i].seen);
	}
}

/* ---- tests ---------------------------------------------------------------------------- */

/* 50 writes asked while the first is in flight: that one and one more. */
static void test_writes_in_flight_coalesce(void **state)
{
	struct world *w = world_new();
	struct ask asks[52];
	char got[64];

	(void)state;
	landed(w, got, sizeof got);
	gate_close(w);
	for (int i = 0; i < 51; i++)
		ask_write(w, &asks[i]);
	ask_barrier(w, &asks[51]);
	harness_spin(w->h, 0.1);            /* nothing can be answered yet */
	for (int i = 0; i < 52; i++)
		if (asks[i].calls != 0)
			fail_msg("ask %d answered while the writer was held", i);
	gate_open(w);
	struct all_done ad = { asks, 52 };
	assert_true(harness_wait(w->h, 30, every_done, &ad));
	check_asks(asks, 52, "in flight");
	landed(w, got, sizeof got);
	if (strcmp(got, "WW") != 0)
		fail_msg("51 writes asked while one was in flight landed as \"%s\", not one write "
			 "and one follow-up (\"WW\")", got);
	/* The first write's text was taken when it began: its caller saw 1
	 * ask's worth; everyone after it the follow-up's. */
	assert_int_equal(asks[0].seen, (long)asks[0].marker);
	assert_int_equal(asks[50].seen, (long)asks[50].marker);
	assert_int_equal(on_disk(w), (long)w->s->start_count);
	/* Nothing asked: a barrier is answered at once, nothing is written. */
	struct ask b;
	ask_barrier(w, &b);
	assert_int_equal(b.calls, 1);
	landed(w, got, sizeof got);
	assert_string_equal(got, "");
}

static void removed_done(struct session *s, const struct cause *err, void *arg)
{
	struct ask *a = arg;

	a->calls++;
	a->failed = err != NULL;
	a->seen = on_disk(live);
	core_unregister(s);
	session_unref(s);                   /* the registry's reference, as a delete drops it */
}

/* A removal asked behind a write in flight and writes asked after that:
 * the file goes last and stays gone. */
static void test_remove_never_overtaken(void **state)
{
	struct world *w = world_new();
	struct ask asks[4], rm, after;
	char got[64];

	(void)state;
	landed(w, got, sizeof got);
	gate_close(w);
	ask_write(w, &asks[0]);             /* in flight */
	ask_write(w, &asks[1]);             /* follows */
	session_set_life(w->s, LIFE_DELETING);
	ask_write(w, &asks[2]);
	struct session *s = w->s;
	session_ref(s);                     /* ours, to look at it after */
	rm = (struct ask){ .seen = -2 };
	persist_remove(s, removed_done, &rm);
	ask_write(w, &after);               /* after the removal: nothing to write */
	assert_int_equal(after.calls, 1);
	ask_barrier(w, &asks[3]);
	gate_open(w);
	struct ask *all[] = { &asks[0], &asks[1], &asks[2], &asks[3], &rm };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		struct all_done ad = { all[i], 1 };
		assert_true(harness_wait(w->h, 30, every_done, &ad));
	}
	/* The write in flight landed before the removal; what was asked
	 * after it went with the removal (nothing is written once a session
	 * is gone): answered once, without error. */
	check_asks(asks, 1, "before the removal");
	for (int i = 1; i < 4; i++)
		if (asks[i].calls != 1 || asks[i].failed || asks[i].seen != -1)
			fail_msg("ask %d after the write in flight: done ran %d times%s, the file %s",
				 i, asks[i].calls, asks[i].failed ? " with an error" : "",
				 asks[i].seen == -1 ? "gone" : "still there");
	assert_int_equal(rm.calls, 1);
	assert_false(rm.failed);
	if (rm.seen != -1)
		fail_msg("the removal's done ran while the file was there (start count %ld)", rm.seen);
	harness_spin(w->h, 0.1);
	landed(w, got, sizeof got);
	if (strcmp(got, "WD") != 0)
		fail_msg("a write in flight, writes and a removal landed as \"%s\", not \"WD\"", got);
	assert_int_equal(access(w->path, F_OK), -1);
	session_unref(s);
}

/* Rounds of random asks, the writer held or not: each round with a write
 * asked lands one write, two when more than one was asked, none without;
 * every done after a write that holds its ask. */
static void test_random_rounds(void **state)
{
	struct world *w = world_new();
	unsigned seed = 17;
	int expected = 0, asked = 0, held = 0;
	char got[4096];

	(void)state;
	landed(w, got, sizeof got);
	for (int round = 0; round < 300; round++) {
		struct ask asks[24];
		int n = 1 + rand_r(&seed) % 24, writes = 0;
		bool gate = rand_r(&seed) % 2;
		if (gate) {
			gate_close(w);
			held++;
		}
		for (int i = 0; i < n; i++) {
			if (rand_r(&seed) % 3 == 0) {
				ask_barrier(w, &asks[i]);
			} else {
				ask_write(w, &asks[i]);
				writes++;
			}
		}
		if (gate)
			gate_open(w);
		struct all_done ad = { asks, n };
		assert_true(harness_wait(w->h, 30, every_done, &ad));
		check_asks(asks, n, "random round");
		expected += writes == 0 ? 0 : writes == 1 ? 1 : 2;
		asked += writes;
	}
	landed(w, got, sizeof got);
	if (strspn(got, "W") != strlen(got) || (int)strlen(got) != expected)
		fail_msg("%d writes asked in 300 rounds landed %zu times (\"%.40s...\"), want %d",
			 asked, strlen(got), got, expected);
	assert_true(held > 100);
	print_message("300 rounds (%d with the writer held): %d writes asked, %d landed\n", held,
		      asked, expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_writes_in_flight_coalesce, teardown),
		cmocka_unit_test_teardown(test_remove_never_overtaken, teardown),
		cmocka_unit_test_teardown(test_random_rounds, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
