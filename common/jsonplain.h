/*
 * jsonplain.h — a fast loader for plain JSON, jansson's parser for the rest.
 */
#ifndef SESSIOND_JSONPLAIN_H
#define SESSIOND_JSONPLAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A text in the plain subset of JSON most frames and state files are in
 * (no escapes, no long integers or reals, no duplicate keys, shallow), as
 * jansson would load it; NULL for anything else: then jansson decides
 * (json_loadb), and words the error if there is one. */
json_t *json_plain_decode(const char *buf, size_t len);
/* json_loadb(buf, len, flags, err), through json_plain_decode when the
 * text is plain: the same value, or jansson's error in err. */
json_t *json_plain_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

/* A number in JSON's grammar at p, as jansson reads it: an integer of at
 * most 18 digits, or with a fraction or an exponent a real
 * read by strtod.  Its end, or NULL for anything else (not a number, a
 * long integer, an overflow, a real strtod reads otherwise as under a
 * locale with a decimal comma): then jansson decides. */
struct json_plain_num {
	bool real;
	long long i;
	double d;
};
const char *json_plain_number(const char *p, const char *end, struct json_plain_num *out);

#endif
