/*
 * settings.h — what a session is made of: its settings, their names, their
 * validation, their JSON form.
 *
 * session.create params and the state file use the same parser, so a
 * setting that cannot be created cannot be loaded either.  Every enum has
 * a name table; tests/test_settings.c round-trips each value.
 */
#ifndef SESSIOND_SETTINGS_H
#define SESSIOND_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>

#include "../common/cause.h"

enum storage_kind { STORAGE_PERSISTENT, STORAGE_EPHEMERAL, STORAGE__COUNT };
enum crash_policy { CRASH_TERMINATE, CRASH_RESTART, CRASH__COUNT };
enum domain_type { DOMTYPE_AUTO, DOMTYPE_KVM, DOMTYPE_QEMU, DOMTYPE__COUNT };

const char *storage_kind_name(enum storage_kind k);
int storage_kind_from_name(const char *s);
const char *crash_policy_name(enum crash_policy p);
int crash_policy_from_name(const char *s);
const char *domain_type_name(enum domain_type t);
int domain_type_from_name(const char *s);

#define GRACE_NEVER (-1.0)
#define SESSION_NAME_MAX 64

struct settings {
	double grace;                       /* seconds; GRACE_NEVER */
	bool grace_given;                   /* said explicitly at create */
	enum storage_kind storage;
	enum crash_policy crash_policy;
	unsigned memory_mib;
	unsigned vcpus;
	enum domain_type domain_type;
	char *kernel, *initrd, *cmdline;    /* direct kernel boot */
	char *image;                        /* base disk image (qcow2) */
	double disk_gib;                    /* persistent disk size */
	char *disk;                         /* existing volume name or path */
	char *ready_pattern;                /* regex on the serial console */
	double ready_timeout;
	double stop_timeout;
};

/* Built-in and configured defaults for what a create leaves out. */
struct settings_defaults {
	double grace;
	enum storage_kind storage;
	enum crash_policy crash_policy;
	unsigned memory_mib, vcpus;
	enum domain_type domain_type;
	const char *kernel, *initrd, *cmdline, *image;
	double disk_gib;
	double ready_timeout, stop_timeout;
};

void settings_defaults_builtin(struct settings_defaults *d);
/* Parses params (session.create, minus name/owner_uid) into out.  Unknown
 * keys, wrong types and out-of-range values fail with code -32602 and a
 * message naming the parameter.  ignore: keys to skip (NULL-terminated). */
int settings_parse(json_t *params, const struct settings_defaults *d,
		   const char *const *ignore, struct settings *out, struct cause *c);
/* Every setting, in the form settings_parse() reads back. */
json_t *settings_to_json(const struct settings *s);
void settings_free(struct settings *s);
/* Idle stop applies: grace is not "never", and an ephemeral session only
 * when grace was given explicitly (its state would be lost). */
bool settings_idle_stop(const struct settings *s);
double settings_effective_grace(const struct settings *s);

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
bool session_name_valid(const char *name);

#endif
