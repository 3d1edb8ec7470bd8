/*
 * readiness.h — when is a started VM "running"?
 *
 * Without ready_pattern: as soon as libvirt has started the domain.  With
 * it: when a line matching the pattern (POSIX extended regex) appears on
 * the instance's serial console log, within ready_timeout_s; otherwise the
 * start fails with a message saying so and is cleaned up like any failed
 * start.  Leases and tokens wait for readiness.  Loop thread only.
 */
#ifndef SESSIOND_READINESS_H
#define SESSIOND_READINESS_H

struct session;
struct readiness;

void readiness_begin(struct session *s);
void readiness_cancel(struct session *s);

#endif
