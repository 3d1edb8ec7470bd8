/*
 * utf8.h — text that must stay text: what XML can carry, and bytes made
 * into valid UTF-8.
 */
#ifndef SESSIOND_UTF8_H
#define SESSIOND_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Valid UTF-8 made only of characters XML 1.0 can carry: no control
 * character but tab, newline and carriage return, no surrogate, no U+FFFE
 * or U+FFFF. */
bool utf8_xml_safe(const char *s);
/* Bytes (a console log) as text: valid UTF-8 kept, anything else and
 * control characters other than tab, newline and carriage return become
 * U+FFFD.  out must hold 3 * n bytes; returns the length written.  The
 * result, JSON-encoded, is at most 3 * n bytes. */
size_t utf8_sanitize(const unsigned char *in, size_t n, char *out);
/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0 when
 * it is not one (overlong, surrogate, truncated, a NUL). */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
