/*
 * cause.h — the first tier of errors: a code and a sentence.
 *
 * Functions that can fail return -1 and fill a struct cause.  The code is
 * the JSON-RPC error code the failure becomes at the RPC boundary (0 when
 * the caller decides); the message is what the user will read, so it names
 * the object and the reason ("session 'dev': libvirt: ...").
 */
#ifndef SESSIOND_CAUSE_H
#define SESSIOND_CAUSE_H

#include <stddef.h>

struct cause {
	int code;
	char msg[512];
};

void cause_set(struct cause *c, int code, const char *fmt, ...)
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
