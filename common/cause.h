/*
 * cause.h — the first tier of errors: a code and a sentence.
 *
 * Functions that can fail return -1 and fill a struct cause.  The kind says
 * what sort of failure it is, in the domain's words; the RPC boundary (and
 * only it) turns a kind into a wire error code (rpc/jsonrpc.c).  The
 * message is what the user will read, so it names the object and the
 * reason ("session 'dev': libvirt: ...").
 */
#ifndef SESSIOND_CAUSE_H
#define SESSIOND_CAUSE_H

#include <stddef.h>

enum cause_kind {
	CAUSE_INTERNAL = 0,     /* ours, or not classified yet: the caller decides */
	CAUSE_INVALID,          /* a parameter or setting is wrong */
	CAUSE_NOT_FOUND,        /* no such session, token, volume... */
	CAUSE_FORBIDDEN,        /* the caller may not do this */
	CAUSE_SESSION_FAILED,   /* the session is failed (or failed meanwhile) */
	CAUSE_START_FAILED,     /* the VM could not be brought up */
	CAUSE_CONFLICT,         /* the object is in a state that refuses it */
	CAUSE_LIMIT,            /* a configured limit is reached */
	CAUSE__COUNT
};

#define CAUSE_MSG_MAX 512

struct cause {
	enum cause_kind kind;
	char msg[CAUSE_MSG_MAX];
};

void cause_set(struct cause *c, enum cause_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cause_clear(struct cause *c);
/* Copies src into dst (len bytes, always terminated, truncating). */
void str_copy(char *dst, size_t len, const char *src);

/* Optional text a struct owns, allocated only while it says something
 * (most of a session's explanations are empty most of the time): NULL is
 * the empty text.  text_set with NULL or "" frees; the text is cut at
 * TEXT_MAX bytes like a cause's message. */
#define TEXT_MAX 511
void text_set(char **dst, const char *src);
void text_setf(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *text_str(const char *t)
{
	return t != NULL ? t : "";
}

#endif
