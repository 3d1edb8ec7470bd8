/*
 * fields.c — the engine behind every settings table (see settings.h).
 *
 * A member is reached by its row's offset; its C type follows from the
 * row's type (double, unsigned, int, bool or char *).  JSON is the one
 * inner form: text from sessiond.conf or the command line is first turned
 * into the JSON value a client would have sent, so both paths apply the
 * same bounds and say the same things.
 */
#include "settings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/timeutil.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"

#define MEMBER(base, f, type) ((type *)((char *)(base) + (f)->offset))
#define CMEMBER(base, f, type) ((const type *)((const char *)(base) + (f)->offset))

const struct field *fields_find(const struct field *tab, const char *key)
{
	for (; key != NULL && tab->key != NULL; tab++)
		if (strcmp(tab->key, key) == 0)
			return tab;
	return NULL;
}

const struct field *fields_find_conf(const struct field *tab, const char *name)
{
	for (; name != NULL && tab->key != NULL; tab++)
		if (tab->conf != NULL && (strcmp(tab->conf, name) == 0 || strcmp(tab->key, name) == 0))
			return tab;
	return NULL;
}

const struct field *fields_find_flag(const struct field *tab, const char *flag)
{
	for (; flag != NULL && tab->key != NULL; tab++)
		if (tab->flag != NULL && strcmp(tab->flag, flag) == 0)
			return tab;
	return NULL;
}

static int enum_index(const struct field *f, const char *name)
{
	for (int i = 0; name != NULL && f->names[i] != NULL; i++)
		if (strcmp(f->names[i], name) == 0)
			return i;
	return -1;
}

/* "\"a\", \"b\" or \"c\"" */
static void enum_choices(const struct field *f, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; f->names[i] != NULL && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"",
				      i == 0 ? "" : f->names[i + 1] ? ", " : " or ", f->names[i]);
}

/* ---- defaults, copies, frees ------------------------------------------ */

static void set_number(const struct field *f, void *base, double x)
{
	switch (f->type) {
	case FT_SECONDS:
	case FT_SECONDS_NEVER:
	case FT_NUMBER:
		*MEMBER(base, f, double) = x;
		break;
	case FT_UINT:
		*MEMBER(base, f, unsigned) = (unsigned)x;
		break;
	case FT_INT:
	case FT_ENUM:
		*MEMBER(base, f, int) = (int)x;
		break;
	case FT_BOOL:
		*MEMBER(base, f, bool) = x != 0;
		break;
	case FT_STRING:
		break;
	}
}

void fields_defaults(const struct field *tab, void *base)
{
	for (const struct field *f = tab; f->key != NULL; f++) {
		if (f->type == FT_STRING)
			*MEMBER(base, f, char *) = NULL;
		else
			set_number(f, base, f->def);
	}
}

void fields_copy(const struct field *tab, void *dst, const void *src)
{
	for (const struct field *f = tab; f->key != NULL; f++) {
		if (f->type == FT_STRING)
			*MEMBER(dst, f, char *) = xstrdup(*CMEMBER(src, f, char *));
	}
}

void fields_free(const struct field *tab, void *base)
{
	for (const struct field *f = tab; f->key != NULL; f++) {
		if (f->type != FT_STRING)
			continue;
		free(*MEMBER(base, f, char *));
		*MEMBER(base, f, char *) = NULL;
	}
}

/* ---- JSON in ------------------------------------------------------------ */

/* Each returns 0, or -1 with why ("must be between 16 and 1048576"). */
typedef char why_t[320];

static int set_json_number(const struct field *f, void *base, json_t *v, why_t why)
{
	bool integral = f->type == FT_UINT || f->type == FT_INT;

	if (f->type == FT_SECONDS_NEVER && json_is_string(v) &&
	    strcmp(json_string_value(v), "never") == 0) {
		set_number(f, base, FIELD_NEVER);
		return 0;
	}
	if (integral ? !json_is_integer(v) : !json_is_number(v)) {
		snprintf(why, sizeof(why_t), "%s", f->type == FT_SECONDS_NEVER
			 ? "expected seconds (a number) or \"never\""
			 : integral ? "expected an integer" : "expected a number");
		return -1;
	}
	double x = integral ? (double)json_integer_value(v) : json_number_value(v);
	if (!isfinite(x) || x < f->lo || x > f->hi) {
		snprintf(why, sizeof(why_t), "must be between %.15g and %.15g", f->lo, f->hi);
		return -1;
	}
	set_number(f, base, x);
	return 0;
}

static int set_json_string(const struct field *f, void *base, json_t *v, why_t why)
{
	char **slot = MEMBER(base, f, char *);

	if (json_is_null(v)) {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	if (!json_is_string(v))
		snprintf(why, sizeof(why_t), "expected a string");
	else if ((double)json_string_length(v) > f->hi)
		snprintf(why, sizeof(why_t), "too long (at most %g bytes)", f->hi);
	else if (strlen(json_string_value(v)) != json_string_length(v))
		snprintf(why, sizeof(why_t), "contains a NUL character");
	else if (!utf8_xml_safe(json_string_value(v)))
		snprintf(why, sizeof(why_t), "contains a control character (or one XML cannot carry)");
	else {
		free(*slot);
		*slot = xstrdup(json_string_value(v));
		return 0;
	}
	return -1;
}

static int set_json(const struct field *f, void *base, json_t *v, why_t why)
{
	char choices[256];
	int i;

	switch (f->type) {
	case FT_STRING:
		return set_json_string(f, base, v, why);
	case FT_BOOL:
		if (!json_is_boolean(v)) {
			snprintf(why, sizeof(why_t), "expected true or false");
			return -1;
		}
		*MEMBER(base, f, bool) = json_is_true(v);
		return 0;
	case FT_ENUM:
		i = json_is_string(v) ? enum_index(f, json_string_value(v)) : -1;
		if (i < 0) {
			enum_choices(f, choices, sizeof choices);
			snprintf(why, sizeof(why_t), "expected one of %s", choices);
			return -1;
		}
		*MEMBER(base, f, int) = i;
		return 0;
	default:
		return set_json_number(f, base, v, why);
	}
}

static int bad(struct cause *c, const char *key, const char *why)
{
	cause_set(c, CAUSE_INVALID, "invalid params: %s: %s", key, why);
	return -1;
}

int fields_set_json(const struct field *f, void *base, json_t *v, struct cause *c)
{
	why_t why;

	return set_json(f, base, v, why) < 0 ? bad(c, f->key, why) : 0;
}

static bool skipped(const char *key, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++)
		if (strcmp(*skip, key) == 0)
			return true;
	return false;
}

int fields_from_json(const struct field *tab, void *base, json_t *params,
		     const char *const *skip, struct cause *c)
{
	const char *key;
	json_t *v;

	if (params == NULL)
		return 0;
	if (!json_is_object(params)) {
		cause_set(c, CAUSE_INVALID, "invalid params: expected an object");
		return -1;
	}
	json_object_foreach(params, key, v) {
		if (skipped(key, skip))
			continue;
		const struct field *f = fields_find(tab, key);
		if (f == NULL)
			return bad(c, key, "unknown parameter");
		if (fields_set_json(f, base, v, c) < 0)
			return -1;
	}
	return 0;
}

/* ---- JSON out ------------------------------------------------------------ */

json_t *fields_value_json(const struct field *f, const void *base)
{
	const char *s;
	double x;

	switch (f->type) {
	case FT_STRING:
		s = *CMEMBER(base, f, char *);
		return s != NULL ? json_string(s) : json_null();
	case FT_BOOL:
		return json_boolean(*CMEMBER(base, f, bool));
	case FT_ENUM:
		return json_string(f->names[*CMEMBER(base, f, int)]);
	case FT_UINT:
		return json_integer(*CMEMBER(base, f, unsigned));
	case FT_INT:
		return json_integer(*CMEMBER(base, f, int));
	default:
		x = *CMEMBER(base, f, double);
		if (f->type == FT_SECONDS_NEVER && x < 0)
			return json_string("never");
		return json_real(x);
	}
}

json_t *fields_to_json(const struct field *tab, const void *base, unsigned mask)
{
	json_t *o = json_object();

	for (const struct field *f = tab; f->key != NULL; f++) {
		if ((f->flags & mask) != mask)
			continue;
		if (f->type == FT_STRING && *CMEMBER(base, f, char *) == NULL)
			continue;
		json_object_set_new(o, f->key, fields_value_json(f, base));
	}
	return o;
}

/* ---- text in ------------------------------------------------------------- */

/* "memory_mib = 8: must be between 16 and 1048576" */
static int bad_text(struct cause *c, const struct field *f, const char *text, const char *why)
{
	cause_set(c, CAUSE_INVALID, "%s = %s: %s", f->conf ? f->conf : f->key, text, why);
	return -1;
}

static bool text_bool(const char *t, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(t, yes[i]) == 0 || strcasecmp(t, no[i]) == 0) {
			*out = strcasecmp(t, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static int text_number(const struct field *f, const char *text, json_t **out, struct cause *c)
{
	char *end;
	double x;

	if (f->type == FT_SECONDS || f->type == FT_SECONDS_NEVER) {
		if (f->type == FT_SECONDS_NEVER && strcmp(text, "never") == 0) {
			*out = json_string("never");
			return 0;
		}
		if (!duration_parse(text, &x))
			return bad_text(c, f, text, f->type == FT_SECONDS_NEVER
					? "expected a duration or \"never\"" : "expected a duration");
		*out = json_real(x);
		return 0;
	}
	x = strtod(text, &end);
	if (*text == '\0' || *end != '\0' || !isfinite(x))
		return bad_text(c, f, text, f->type == FT_NUMBER ? "expected a number" : "expected an integer");
	if (f->type == FT_NUMBER)
		*out = json_real(x);
	else if (x != floor(x) || fabs(x) > 9007199254740992.0)
		return bad_text(c, f, text, "expected an integer");
	else
		*out = json_integer((json_int_t)x);
	return 0;
}

int fields_text_json(const struct field *f, const char *text, json_t **out, struct cause *c)
{
	char choices[256], want[300];
	bool b;

	switch (f->type) {
	case FT_STRING:
		*out = json_string(text);
		return *out != NULL ? 0 : bad_text(c, f, text, "expected UTF-8 text");
	case FT_BOOL:
		if (!text_bool(text, &b))
			return bad_text(c, f, text, "expected yes or no");
		*out = json_boolean(b);
		return 0;
	case FT_ENUM:
		if (enum_index(f, text) < 0) {
			enum_choices(f, choices, sizeof choices);
			snprintf(want, sizeof want, "expected one of %s", choices);
			return bad_text(c, f, text, want);
		}
		*out = json_string(text);
		return 0;
	default:
		return text_number(f, text, out, c);
	}
}

int fields_set_text(const struct field *f, void *base, const char *text, struct cause *c)
{
	json_t *v = NULL;
	why_t why;

	if (fields_text_json(f, text, &v, c) < 0)
		return -1;
	int rc = set_json(f, base, v, why);
	json_decref(v);
	return rc < 0 ? bad_text(c, f, text, why) : 0;
}

/* ---- help ------------------------------------------------------------------ */

static void describe_default(const struct field *f, char *buf, size_t len)
{
	char d[32];

	buf[0] = '\0';
	switch (f->type) {
	case FT_STRING:
		return;
	case FT_ENUM:
		snprintf(buf, len, "; default %s", f->names[(int)f->def]);
		return;
	case FT_BOOL:
		snprintf(buf, len, "; default %s", f->def != 0 ? "yes" : "no");
		return;
	case FT_SECONDS:
	case FT_SECONDS_NEVER:
		if (f->def < 0)
			snprintf(d, sizeof d, "never");
		else
			duration_format(f->def, d, sizeof d);
		snprintf(buf, len, "; default %s", d);
		return;
	default:
		snprintf(buf, len, "; default %g", f->def);
	}
}

void fields_describe(const struct field *f, char *buf, size_t len)
{
	char range[96] = "", dflt[64];

	describe_default(f, dflt, sizeof dflt);
	if (f->type == FT_ENUM || f->type == FT_STRING || f->type == FT_BOOL) {
		snprintf(buf, len, "%s%s%s%s", f->help, dflt[0] ? " (" : "", dflt[0] ? dflt + 2 : "",
			 dflt[0] ? ")" : "");
		return;
	}
	snprintf(range, sizeof range, "%.15g to %.15g", f->lo, f->hi);
	snprintf(buf, len, "%s (%s%s)", f->help, range, dflt);
}

void fields_print_options(const struct field *tab, FILE *out)
{
	char opt[64], line[512];

	for (const struct field *f = tab; f->key != NULL; f++) {
		if (f->flag == NULL)
			continue;
		snprintf(opt, sizeof opt, "--%s %s", f->flag, f->metavar ? f->metavar : "VALUE");
		fields_describe(f, line, sizeof line);
		if (strlen(opt) < 26)
			fprintf(out, "  %-26s %s\n", opt, line);
		else
			fprintf(out, "  %s\n  %-26s %s\n", opt, "", line);
	}
}
