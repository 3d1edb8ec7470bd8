/*
 * settings.h — tables that describe settings, one engine that reads and
 * writes them, and the table of a session's settings.
 *
 * A struct field row describes one member of a C struct: its JSON name,
 * its sessiond.conf name, its sessionctl option, type, bounds, default,
 * value names and help.  One engine (fields.c) does everything with such a
 * table: JSON params into the struct, text (sessiond.conf values and
 * command-line options) into the struct or into JSON, the struct back into
 * JSON, defaults, deep copies, frees, help.  Two tables use it:
 *
 *   settings_table  a session's settings (settings.c): session.create
 *                   params, the state file, the session object, the
 *                   defaults in sessiond.conf and sessionctl create's
 *                   options and --help;
 *   config_table    the daemon's own keys (daemon/config.c).
 *
 * Adding a setting is one row in one table plus the code that uses it.
 * tests/test_settings.c checks every row against the man pages.
 *
 * Pure functions over memory and jansson values: the daemon, the fuzz
 * harness and sessionctl all link this folder.
 */
#ifndef SESSIOND_SETTINGS_H
#define SESSIOND_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../common/cause.h"

/* ---- the engine (fields.c) ------------------------------------------ */

enum field_type {
	FT_SECONDS,             /* double; JSON number, text "90s", "5m", "1.5" */
	FT_SECONDS_NEVER,       /* ... or "never", stored as FIELD_NEVER */
	FT_UINT,                /* unsigned; JSON integer */
	FT_INT,                 /* int; JSON integer */
	FT_NUMBER,              /* double; JSON number */
	FT_ENUM,                /* int: an index into names */
	FT_STRING,              /* char *, owned; JSON string, or null for none */
	FT_BOOL,                /* bool; JSON true/false, text yes/no/true/false/1/0 */
};

#define FIELD_NEVER (-1.0)

/* Row flags: where a field shows and what it means. */
#define FIELD_VIEW      0x1u    /* in the session object (session.get) */
#define FIELD_HOSTPATH  0x2u    /* names a host file: the owner must be able to use it */
#define FIELD_LIVE      0x4u    /* daemon key that a reload may change */
#define FIELD_IMAGE     0x8u    /* a saved memory image is valid only while this stays */

struct field {
	const char *key;                /* JSON name; also accepted in sessiond.conf */
	const char *conf;               /* sessiond.conf name; NULL: not a config key */
	const char *flag;               /* command-line option without "--"; NULL: none */
	const char *metavar;            /* the option's argument in --help */
	enum field_type type;
	size_t offset;                  /* of the member in its struct */
	double lo, hi;                  /* bounds of numbers; maximum length of strings */
	double def;                     /* default of numbers, bools and enums */
	const char *const *names;       /* FT_ENUM: value names, NULL-terminated */
	unsigned flags;
	const char *help;               /* one line, for --help and the man page check */
};

/* Rows end with a row whose key is NULL. */
const struct field *fields_find(const struct field *tab, const char *key);
/* By sessiond.conf name (the JSON name counts too). */
const struct field *fields_find_conf(const struct field *tab, const char *name);
const struct field *fields_find_flag(const struct field *tab, const char *flag);

/* Every field to its default (strings NULL). */
void fields_defaults(const struct field *tab, void *base);
/* dst = src, strings duplicated; dst's old strings are not freed. */
void fields_copy(const struct field *tab, void *dst, const void *src);
void fields_free(const struct field *tab, void *base);

/* One JSON value into its member.  Wrong type or out of range: -1 and a
 * CAUSE_INVALID "invalid params: KEY: why". */
int fields_set_json(const struct field *f, void *base, json_t *v, struct cause *c);
/* Every key of params (an object) into base.  A key that is no field and
 * not in skip (NULL-terminated, may be NULL) is an unknown parameter. */
int fields_from_json(const struct field *tab, void *base, json_t *params,
		     const char *const *skip, struct cause *c);
/* The fields with all of the flags in mask (0: every field) as an object;
 * strings that are NULL are left out. */
json_t *fields_to_json(const struct field *tab, const void *base, unsigned mask);
json_t *fields_value_json(const struct field *f, const void *base);

/* Text (a sessiond.conf value, a command-line argument) into the JSON value
 * fields_set_json() takes.  -1 with "KEY = TEXT: expected ..." otherwise. */
int fields_text_json(const struct field *f, const char *text, json_t **out, struct cause *c);
/* Text into the member: fields_text_json() then fields_set_json(). */
int fields_set_text(const struct field *f, void *base, const char *text, struct cause *c);

/* "Guest memory in MiB (16 to 1048576; default 512)": the help line with
 * the range and default the row says. */
void fields_describe(const struct field *f, char *buf, size_t len);
/* One line per row with a flag: "  --memory MIB   Guest memory in ...". */
void fields_print_options(const struct field *tab, FILE *out);

/* ---- a session's settings (settings.c) -------------------------------- */

enum storage_kind { STORAGE_PERSISTENT, STORAGE_EPHEMERAL, STORAGE__COUNT };
enum crash_policy { CRASH_TERMINATE, CRASH_RESTART, CRASH__COUNT };
enum domain_type { DOMTYPE_AUTO, DOMTYPE_KVM, DOMTYPE_QEMU, DOMTYPE__COUNT };
/* What the end of the grace does: stop the VM, or save its memory and
 * restore it on the next use (memory tiers). */
enum idle_action { IDLE_STOP, IDLE_SAVE, IDLE__COUNT };

const char *storage_kind_name(enum storage_kind k);
const char *crash_policy_name(enum crash_policy p);
const char *domain_type_name(enum domain_type t);
const char *idle_action_name(enum idle_action a);
/* The name tables, NULL-terminated (settings_table uses them). */
extern const char *const storage_kind_names[];
extern const char *const crash_policy_names[];
extern const char *const domain_type_names[];
extern const char *const idle_action_names[];

#define GRACE_NEVER FIELD_NEVER

struct settings {
	double grace;                   /* seconds; GRACE_NEVER */
	bool grace_given;               /* said explicitly at create */
	enum storage_kind storage;
	enum crash_policy crash_policy;
	unsigned memory_mib;
	unsigned vcpus;
	enum domain_type domain_type;
	char *kernel, *initrd, *cmdline; /* direct kernel boot */
	char *image;                    /* base disk image (qcow2) */
	double disk_gib;                /* persistent disk size */
	char *disk;                     /* existing volume name or path */
	char *ready_pattern;            /* regex on the serial console */
	double ready_timeout;
	double stop_timeout;
	enum idle_action idle_action;
};

extern const struct field settings_table[];

/* The built-in defaults (the table's). */
void settings_builtin(struct settings *s);
/* Parses params (session.create minus skip, or a state file's settings)
 * over a copy of defaults.  Fails with CAUSE_INVALID naming the key. */
int settings_parse(json_t *params, const struct settings *defaults,
		   const char *const *skip, struct settings *out, struct cause *c);
/* Every setting, in the form settings_parse() reads back. */
json_t *settings_to_json(const struct settings *s);
void settings_copy(struct settings *dst, const struct settings *src);
void settings_free(struct settings *s);
/* Idle stop applies: grace is not "never", and an ephemeral session only
 * when grace was given explicitly (its state would be lost). */
bool settings_idle_stop(const struct settings *s);
double settings_effective_grace(const struct settings *s);
/* The settings a saved memory image depends on (FIELD_IMAGE rows). */
json_t *settings_image_json(const struct settings *s);

#endif
