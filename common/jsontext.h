/*
 * jsontext.h — compact JSON text, written from a jansson tree or member by
 * member.
 *
 * The encoder writes a value byte for byte as json_dumpb(JSON_COMPACT)
 * does (tests/test_jsonrpc.c compares the two) for a fraction of its cost.
 * The writer builds a text member by member, for the replies on hot paths
 * (token.acquire, summaries): no tree to build, encode and free.  Keys and
 * strings go through the same escaping, so a text written member by member
 * is what the encoder writes for the tree of the same members in the same
 * order.  A member with a NULL key is an array's element, or the outermost
 * value.
 */
#ifndef SESSIOND_JSONTEXT_H
#define SESSIOND_JSONTEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct jtext {
	char *buf;
	size_t size;
	size_t used;                        /* may pass size: what it takes */
	bool grow;                          /* buf is its own (malloc), grown as
					     * needed; else fixed: it counts */
	bool bad;                           /* unusable: a string was not valid
					     * UTF-8, a value not encodable, or
					     * memory ran out */
};

/* A growing text (jtext_free releases it). */
void jtext_init(struct jtext *t);
void jtext_free(struct jtext *t);
/* A fixed buffer: what does not fit is counted, not written. */
void jtext_fixed(struct jtext *t, char *buf, size_t size);

void jtext_open(struct jtext *t, const char *key);          /* { */
void jtext_close(struct jtext *t);                          /* } */
void jtext_open_array(struct jtext *t, const char *key);    /* [ */
void jtext_close_array(struct jtext *t);                    /* ] */
void jtext_string(struct jtext *t, const char *key, const char *s);   /* NULL: null */
void jtext_int(struct jtext *t, const char *key, long long v);
void jtext_bool(struct jtext *t, const char *key, bool v);
void jtext_null(struct jtext *t, const char *key);
void jtext_json(struct jtext *t, const char *key, const json_t *v);   /* a tree */

/* Bytes as they are (already JSON, or punctuation). */
void jtext_raw(struct jtext *t, const char *s, size_t n);
/* Past the bytes at the start of [p, end) that a JSON string carries as
 * they are, escaped neither by jansson nor by this writer: ASCII from 0x20
 * but '"' and '\\'. */
const char *jtext_plain_run(const char *p, const char *end);
/* v's decimal digits (and sign) into out, terminated: their length. */
#define JTEXT_DECIMAL_MAX 24
size_t jtext_decimal(char out[JTEXT_DECIMAL_MAX], long long v);
/* A tree's text; -1: not encodable (invalid UTF-8, a cycle, NULL). */
int jtext_value(struct jtext *t, const json_t *v);

#endif
