/*
 * jsonplain.c — JSON in the plain subset most texts here are in, loaded
 * without jansson's parser (see jsonplain.h).
 *
 * The frames clients send are small and plain: objects of short strings,
 * numbers and literals, and so are the state files.  jansson takes some
 * 20,000 instructions to load a frame of 100 bytes (a character at a time
 * through its stream, its string buffer, its error bookkeeping), seven
 * times what building the same values costs; at start-up with 100,000
 * state files its parser was a fifth of the time.  This loads the plain
 * subset itself and gives up on anything else: a string with an escape or
 * a control character, an integer too long for json_int_t's 18 sure
 * digits, a real too long or that strtod reads otherwise, a duplicate key,
 * deep nesting, any byte out of place.  jansson then loads the text as
 * before, so what it accepts and how it words an error stay its own
 * (tests/test_jsonrpc.c checks that whatever this returns, jansson returns
 * the same).
 */
#include "jsonplain.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "utf8.h"

#define DECODE_MAX_DEPTH 32
#define DECODE_MAX_DIGITS 18                /* always within json_int_t */
#define DECODE_MAX_REAL 40                  /* a real's characters ("512.0", times) */

struct src {
	const char *p, *end;
	int depth;
};

static json_t *dec_value(struct src *s);

static int peek(struct src *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

/* A string's bytes, at s->p's quote: valid UTF-8, no escape, no control
 * character (false: not plain). */
static bool dec_span(struct src *s, const char **str, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s->p + 1, *start = p;
	const unsigned char *end = (const unsigned char *)s->end;

	for (;;) {
		p = (const unsigned char *)jtext_plain_run((const char *)p, (const char *)end);
		if (p == end || *p < 0x80)      /* '"' ends it; an escape or control: jansson's */
			break;
		size_t n = utf8_seq_len(p, (size_t)(end - p));
		if (n == 0)
			return false;
		p += n;
	}
	if (p == end || *p != '"')
		return false;
	*str = (const char *)start;
	*len = (size_t)(p - start);
	s->p = (const char *)p + 1;
	return true;
}

static json_t *dec_string(struct src *s)
{
	const char *str;
	size_t len;

	return dec_span(s, &str, &len) ? json_stringn_nocheck(str, len) : NULL;
}

static const char *digits_end(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

const char *json_plain_number(const char *p, const char *end, struct json_plain_num *out)
{
	const char *start = p, *digits = p + (p < end && *p == '-'), *q;
	size_t nd;

	p = digits_end(digits, end);
	nd = (size_t)(p - digits);
	out->real = false;
	if (nd == 0 || (nd > 1 && *digits == '0'))
		return NULL;
	if (p < end && *p == '.') {
		if ((q = digits_end(p + 1, end)) == p + 1)
			return NULL;
		p = q;
		out->real = true;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		q = p + 1 + (p + 1 < end && (p[1] == '+' || p[1] == '-'));
		if ((p = digits_end(q, end)) == q)
			return NULL;
		out->real = true;
	}
	if (!out->real) {
		if (nd > DECODE_MAX_DIGITS)
			return NULL;
		json_int_t v = 0;
		for (q = digits; q < p; q++)
			v = v * 10 + (*q - '0');
		out->i = *start == '-' ? -v : v;
		return p;
	}
	char text[DECODE_MAX_REAL + 1], *stop;
	size_t n = (size_t)(p - start);
	if (n > DECODE_MAX_REAL)
		return NULL;
	memcpy(text, start, n);
	text[n] = '\0';
	out->d = strtod(text, &stop);
	return stop == text + n && isfinite(out->d) ? p : NULL;    /* an overflow: jansson's error */
}

static json_t *dec_number(struct src *s)
{
	struct json_plain_num n;
	const char *p = json_plain_number(s->p, s->end, &n);
	json_t *v;

	if (p == NULL)
		return NULL;
	v = n.real ? json_real(n.d) : json_integer(n.i);
	if (v != NULL)
		s->p = p;
	return v;
}

static json_t *dec_word(struct src *s, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return NULL;
	s->p += n;
	return v;
}

/* Members in order, as jansson inserts them; a duplicate key is its error. */
static json_t *dec_object(struct src *s)
{
	json_t *o = json_object(), *v;
	const char *key;
	size_t klen;
	int c;

	s->p++;
	if (peek(s) == '}') {
		s->p++;
		return o;
	}
	do {
		if (peek(s) != '"' || !dec_span(s, &key, &klen) || json_object_getn(o, key, klen) != NULL ||
		    peek(s) != ':')
			goto give_up;
		s->p++;
		if ((v = dec_value(s)) == NULL || json_object_setn_new_nocheck(o, key, klen, v) < 0)
			goto give_up;
		if ((c = peek(s)) == ',' || c == '}')
			s->p++;
	} while (c == ',');
	if (c == '}')
		return o;
give_up:
	json_decref(o);
	return NULL;
}

static json_t *dec_array(struct src *s)
{
	json_t *a = json_array(), *v;
	int c;

	s->p++;
	if (peek(s) == ']') {
		s->p++;
		return a;
	}
	do {
		if ((v = dec_value(s)) == NULL || json_array_append_new(a, v) < 0)
			goto give_up;
		if ((c = peek(s)) == ',' || c == ']')
			s->p++;
	} while (c == ',');
	if (c == ']')
		return a;
give_up:
	json_decref(a);
	return NULL;
}

static json_t *dec_value(struct src *s)
{
	json_t *v = NULL;

	switch (peek(s)) {
	case '{':
	case '[':
		if (s->depth >= DECODE_MAX_DEPTH)
			return NULL;
		s->depth++;
		v = *s->p == '{' ? dec_object(s) : dec_array(s);
		s->depth--;
		return v;
	case '"':
		return dec_string(s);
	case 't':
		return dec_word(s, "true", json_true());
	case 'f':
		return dec_word(s, "false", json_false());
	case 'n':
		return dec_word(s, "null", json_null());
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return dec_number(s);
	}
	return NULL;
}

json_t *json_plain_decode(const char *buf, size_t len)
{
	struct src s = { buf, buf + len, 0 };
	json_t *v = dec_value(&s);

	if (v != NULL && peek(&s) != -1) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *json_plain_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *v = json_plain_decode(buf, len);

	/* Without JSON_DECODE_ANY jansson refuses a bare scalar: its error. */
	if (v != NULL && !(flags & JSON_DECODE_ANY) && !json_is_object(v) && !json_is_array(v)) {
		json_decref(v);
		v = NULL;
	}
	return v != NULL ? v : json_loadb(buf, len, flags, err);
}
