/*
 * evthread.c — libvirt's one event thread, shared by every driver of the
 * process (virt.c): started by the first driver, stopped by the last.
 *
 * libvirt's default event implementation must be registered before the
 * first virConnectOpen (otherwise a remote connection's socket is not
 * watched and keepalive is refused); one thread then loops
 * virEventRunDefaultImpl().  It is stopped with a quit flag and a 0 ms
 * timeout that wakes it out of its poll.
 */
#include "virt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../common/log.h"

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

/* Held while a barrier's timeout is added, taken by its callback before
 * it touches the barrier: the barrier (on the waiter's stack, initialised
 * just before) is handed over through a lock of ours.  libvirt's own
 * hand-over goes through GLib's main loop, whose futex-based mutexes
 * ThreadSanitizer does not see, so without this it reported the callback's
 * first lock as racing with the initialisation (tsan-unit, test_prng). */
static pthread_mutex_t barrier_handoff = PTHREAD_MUTEX_INITIALIZER;

static void barrier_cb(int timer, void *opaque)
{
	struct barrier *b = opaque;

	pthread_mutex_lock(&barrier_handoff);
	pthread_mutex_unlock(&barrier_handoff);
	virEventRemoveTimeout(timer);
	pthread_mutex_lock(&b->lock);
	b->done = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void evthread_barrier(void)
{
	struct barrier b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };

	pthread_mutex_lock(&evthread_lock);
	bool running = evthread_users > 0 && !pthread_equal(pthread_self(), evthread);
	pthread_mutex_unlock(&evthread_lock);
	if (!running)
		return;
	pthread_mutex_lock(&barrier_handoff);
	int added = virEventAddTimeout(0, barrier_cb, &b, NULL);
	pthread_mutex_unlock(&barrier_handoff);
	if (added < 0)
		return;
	pthread_mutex_lock(&b.lock);
	while (!b.done)
		pthread_cond_wait(&b.cond, &b.lock);
	pthread_mutex_unlock(&b.lock);
}

void evthread_get(void)
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
void evthread_put(void)
{
	pthread_mutex_lock(&evthread_lock);
	if (--evthread_users == 0) {
		atomic_store(&evthread_quit, 1);
		virEventAddTimeout(0, evthread_wake, NULL, NULL);
		pthread_join(evthread, NULL);
	}
	pthread_mutex_unlock(&evthread_lock);
}

