/*
 * loop.h — the daemon's event loop, made one way everywhere (the daemon,
 * the test harness, the benchmarks).
 *
 * Two priorities.  Deadlines (the idle timers: a stop must not begin late)
 * run at LOOP_PRIO_TIMELY; everything else (worker results, lifecycle
 * events, client I/O) at LOOP_PRIO_WORK, the default.  The loop runs at
 * most LOOP_WORK_BURST callbacks of work before it looks again for due
 * deadlines and new events, so a burst of work (a storm of job results)
 * never holds up a timer for longer than a few callbacks.
 *
 * Each look is an epoll_wait that hands back every ready connection
 * again: with 64 busy clients, 4 callbacks per look cost the daemon
 * 1.42x the echo server's time per request, 16 cost 1.14x and 64 1.07x
 * (rpc_bench, 64 clients split, side by side; bench/README).  16 keeps a
 * due timer behind at most 16 callbacks (about 0.2 ms of requests here),
 * and scale_bench's idle-stop lateness was the same with 4 and 16.
 */
#ifndef SESSIOND_LOOP_H
#define SESSIOND_LOOP_H

struct event_base;

#define LOOP_PRIO_TIMELY 0
#define LOOP_PRIO_WORK 1
#define LOOP_PRIOS 2
#define LOOP_WORK_BURST 16

/* A new event base set up as above; fatal if libevent refuses. */
struct event_base *loop_new(void);

#endif
