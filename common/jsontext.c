/*
 * jsontext.c — compact JSON text (see jsontext.h): a tree's, or written
 * member by member.
 */
#include "jsontext.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"

/*
 * A value's compact text, byte for byte what json_dumpb(JSON_COMPACT)
 * writes (tests/test_jsonrpc.c compares the two), for a fraction of its
 * cost: jansson's dump keeps a hash table of the containers it is inside
 * (each keyed by its address, printed with snprintf) to refuse a cycle, and
 * hands its output over a few bytes at a time.  Here a depth bound refuses
 * a cycle, and text goes out in runs.  Reals are left to jansson (rare in
 * messages, and its format for them differs between its versions).
 */

/* Deeper than anything a parse can make (jansson's own bound): a cycle. */
#define ENCODE_MAX_DEPTH JSON_PARSER_MAX_DEPTH

/* A growing text's room for n more bytes (its slow path). */
static __attribute__((noinline)) void grow(struct jtext *o, size_t n)
{
	size_t want = o->size ? o->size * 2 : 512;

	while (want < o->used + n)
		want *= 2;
	char *b = realloc(o->buf, want);
	if (b == NULL) {                    /* a library does not exit: unusable */
		o->bad = true;
		o->grow = false;
		return;
	}
	o->buf = b;
	o->size = want;
}

/* The encoder writes into a struct jtext: a buffer of fixed size that
 * counts what does not fit (a message), or a growing one (a text).  True
 * when n more bytes fit (counted either way by the caller). */
static inline bool room(struct jtext *o, size_t n)
{
	if (n <= o->size && o->used <= o->size - n)
		return true;
	if (!o->grow)
		return false;
	grow(o, n);
	return n <= o->size && o->used <= o->size - n;
}

static inline void put(struct jtext *o, const char *s, size_t n)
{
	if (n > 0 && room(o, n))            /* (no memcpy to a text not yet allocated) */
		memcpy(o->buf + o->used, s, n);
	o->used += n;
}

static inline void put_char(struct jtext *o, char c)
{
	if (room(o, 1))
		o->buf[o->used] = c;
	o->used++;
}

/* A character a JSON string cannot carry as it is (jansson's escapes). */
static void put_escape(struct jtext *o, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";
	char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
	const char *two = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\b' ? "\\b" :
			  ch == '\f' ? "\\f" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r" :
			  ch == '\t' ? "\\t" : NULL;

	if (two != NULL)
		put(o, two, 2);
	else
		put(o, u, sizeof u);
}

/* ASCII that goes out as it is: 0x20..0x7f but '"' (0x22) and '\\' (0x5c),
 * as jansson writes it. */
static const unsigned char plain_ascii[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

static inline bool plain(unsigned char ch)
{
	return plain_ascii[ch];
}

/* The bytes of w that are not plain, each as its high bit: below 0x20,
 * '"', '\\', or 0x80 and up.  The lowest flagged byte is exactly the first
 * such byte; above it a borrow may flag more ("Bit Twiddling Hacks":
 * haszero, hasless). */
static inline uint64_t odd_bytes(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w) & high;
}

/* Past the plain bytes at the start of [p, end): eight at a time, then
 * one at a time. */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t w, odd;

		memcpy(&w, p, 8);
		odd = odd_bytes(w);
		if (odd != 0)
			return p + __builtin_ctzll(odd) / 8;
		p += 8;
	}
#endif
	while (p < end && plain(*p))
		p++;
	return p;
}

const char *jtext_plain_run(const char *p, const char *end)
{
	return (const char *)plain_run((const unsigned char *)p, (const unsigned char *)end);
}

/* -1: not valid UTF-8 (as jansson refuses it).  Most strings are plain
 * ASCII: one copy between their quotes. */
static int put_string(struct jtext *o, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

	p = plain_run(p, end);
	if (p == end && room(o, len + 2)) {
		char *d = o->buf + o->used;
		d[0] = '"';
		memcpy(d + 1, s, len);
		d[len + 1] = '"';
		o->used += len + 2;
		return 0;
	}
	put_char(o, '"');
	for (;;) {
		p = plain_run(p, end);
		if (p == end)
			break;
		if (*p >= 0x80) {
			size_t n = utf8_seq_len(p, (size_t)(end - p));
			if (n == 0)
				return -1;
			p += n;
		} else {
			put(o, (const char *)run, (size_t)(p - run));
			put_escape(o, *p);
			run = ++p;
		}
	}
	put(o, (const char *)run, (size_t)(p - run));
	put_char(o, '"');
	return 0;
}

size_t jtext_decimal(char out[JTEXT_DECIMAL_MAX], long long v)
{
	char d[JTEXT_DECIMAL_MAX];
	size_t i = sizeof d - 1, n;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	d[i] = '\0';
	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--i] = '-';
	n = sizeof d - 1 - i;
	memcpy(out, d + i, n + 1);
	return n;
}

static void put_integer(struct jtext *o, json_int_t v)
{
	char d[JTEXT_DECIMAL_MAX];

	put(o, d, jtext_decimal(d, (long long)v));
}

static int put_real(struct jtext *o, const json_t *v)
{
	char d[100];
	size_t n = json_dumpb(v, d, sizeof d, JSON_ENCODE_ANY | JSON_COMPACT);

	if (n == 0 || n > sizeof d)
		return -1;
	put(o, d, n);
	return 0;
}

static int put_value(struct jtext *o, const json_t *v, int depth);

static int put_object(struct jtext *o, const json_t *v, int depth)
{
	json_t *obj = (json_t *)v;          /* iterating does not change it */
	size_t comma = 0;

	put_char(o, '{');
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		put(o, ",", comma);
		comma = 1;
		if (put_string(o, json_object_iter_key(it), json_object_iter_key_len(it)) < 0)
			return -1;
		put_char(o, ':');
		if (put_value(o, json_object_iter_value(it), depth + 1) < 0)
			return -1;
	}
	put_char(o, '}');
	return 0;
}

static int put_array(struct jtext *o, const json_t *v, int depth)
{
	put_char(o, '[');
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (i > 0)
			put_char(o, ',');
		if (put_value(o, json_array_get(v, i), depth + 1) < 0)
			return -1;
	}
	put_char(o, ']');
	return 0;
}

static int put_value(struct jtext *o, const json_t *v, int depth)
{
	if (v == NULL || depth > ENCODE_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(o, v, depth);
	case JSON_ARRAY:
		return put_array(o, v, depth);
	case JSON_STRING:
		return put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		put_integer(o, json_integer_value(v));
		return 0;
	case JSON_REAL:
		return put_real(o, v);
	case JSON_TRUE:
		put(o, "true", 4);
		return 0;
	case JSON_FALSE:
		put(o, "false", 5);
		return 0;
	case JSON_NULL:
		put(o, "null", 4);
		return 0;
	}
	return -1;
}

void jtext_init(struct jtext *t)
{
	*t = (struct jtext){ .grow = true };
}

void jtext_free(struct jtext *t)
{
	free(t->buf);
	jtext_init(t);
}

/* Before a member: its comma (unless it is the first of its container),
 * and its key.  A key is nearly always a short name of plain ASCII: it is
 * copied as it is scanned, into room for the longest such name, and only
 * another key takes the escaping path. */
#define KEY_QUICK 32

static void member(struct jtext *t, const char *key)
{
	char last = t->used > 0 && t->used <= t->size ? t->buf[t->used - 1] : '{';
	size_t comma = last != '{' && last != '[';

	if (key != NULL && room(t, comma + KEY_QUICK + 3)) {
		char *d = t->buf + t->used, *q = d + comma + 1;
		const char *k = key;
		d[0] = ',';
		d[comma] = '"';
		while (*k != '\0' && plain((unsigned char)*k) && k - key < KEY_QUICK)
			*q++ = *k++;
		if (*k == '\0') {
			q[0] = '"';
			q[1] = ':';
			t->used = (size_t)(q + 2 - t->buf);
			return;
		}
	}
	if (comma)
		put_char(t, ',');
	if (key != NULL) {
		if (put_string(t, key, strlen(key)) < 0)
			t->bad = true;
		put_char(t, ':');
	}
}

void jtext_open(struct jtext *t, const char *key)
{
	member(t, key);
	put_char(t, '{');
}

void jtext_close(struct jtext *t)
{
	put_char(t, '}');
}

void jtext_open_array(struct jtext *t, const char *key)
{
	member(t, key);
	put_char(t, '[');
}

void jtext_close_array(struct jtext *t)
{
	put_char(t, ']');
}

void jtext_string(struct jtext *t, const char *key, const char *s)
{
	member(t, key);
	if (s == NULL)
		put(t, "null", 4);
	else if (put_string(t, s, strlen(s)) < 0)
		t->bad = true;
}

void jtext_int(struct jtext *t, const char *key, long long v)
{
	member(t, key);
	put_integer(t, (json_int_t)v);
}

void jtext_bool(struct jtext *t, const char *key, bool v)
{
	member(t, key);
	put(t, v ? "true" : "false", v ? 4 : 5);
}

void jtext_null(struct jtext *t, const char *key)
{
	member(t, key);
	put(t, "null", 4);
}

void jtext_json(struct jtext *t, const char *key, const json_t *v)
{
	member(t, key);
	if (put_value(t, v, 0) < 0)
		t->bad = true;
}

void jtext_fixed(struct jtext *t, char *buf, size_t size)
{
	*t = (struct jtext){ .buf = buf, .size = size };
}

void jtext_raw(struct jtext *t, const char *s, size_t n)
{
	put(t, s, n);
}

int jtext_value(struct jtext *t, const json_t *v)
{
	return put_value(t, v, 0);
}
