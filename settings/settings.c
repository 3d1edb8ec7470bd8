/*
 * settings.c — a session's settings: the table, and the rules that span
 * several settings (see settings.h).
 *
 * session.create params and the state file use the same parser, so a
 * setting that cannot be created cannot be loaded either.
 */
#include "settings.h"

#include <regex.h>
#include <stddef.h>
#include <string.h>

#define SECONDS_MAX_YEAR 31536000.0     /* a year: grace and TTL bounds */
#define MEMORY_MIB_MAX 1048576.0
#define DISK_GIB_MAX 65536.0
#define PATH_TEXT_MAX 4096.0
#define PATTERN_MAX 1024.0

const char *const storage_kind_names[] = { "persistent", "ephemeral", NULL };
const char *const crash_policy_names[] = { "terminate", "restart", NULL };
const char *const domain_type_names[] = { "auto", "kvm", "qemu", NULL };
const char *const idle_action_names[] = { "stop", "save", NULL };

#define S(m) offsetof(struct settings, m)

/* key, sessiond.conf key, sessionctl option, metavar, type, member, lo, hi
 * (strings: maximum length), default, value names, flags, help. */
const struct field settings_table[] = {
	{ "grace_s", "grace", "grace", "D|never", FT_SECONDS_NEVER, S(grace), 0, SECONDS_MAX_YEAR,
	  300, NULL, FIELD_VIEW, "how long the VM stays up once nothing holds it" },
	{ "storage", "storage", "storage", "persistent|ephemeral", FT_ENUM, S(storage), 0, 0,
	  STORAGE_PERSISTENT, storage_kind_names, FIELD_VIEW | FIELD_IMAGE,
	  "with or without a persistent disk" },
	{ "crash_policy", "crash_policy", "crash-policy", "terminate|restart", FT_ENUM,
	  S(crash_policy), 0, 0, CRASH_TERMINATE, crash_policy_names, FIELD_VIEW,
	  "after an unexpected VM exit: fail the session, or start a new VM" },
	{ "memory_mib", "memory_mib", "memory", "MIB", FT_UINT, S(memory_mib), 16, MEMORY_MIB_MAX,
	  512, NULL, FIELD_VIEW | FIELD_IMAGE, "guest memory in MiB" },
	{ "vcpus", "vcpus", "vcpus", "N", FT_UINT, S(vcpus), 1, 256, 1, NULL,
	  FIELD_VIEW | FIELD_IMAGE, "virtual CPUs" },
	{ "domain_type", "domain_type", "domain-type", "auto|kvm|qemu", FT_ENUM, S(domain_type),
	  0, 0, DOMTYPE_AUTO, domain_type_names, FIELD_VIEW | FIELD_IMAGE,
	  "libvirt domain type: auto picks kvm only where KVM guests can run" },
	{ "kernel", "kernel", "kernel", "PATH", FT_STRING, S(kernel), 0, PATH_TEXT_MAX, 0, NULL,
	  FIELD_HOSTPATH | FIELD_IMAGE, "boot this kernel directly" },
	{ "initrd", "initrd", "initrd", "PATH", FT_STRING, S(initrd), 0, PATH_TEXT_MAX, 0, NULL,
	  FIELD_HOSTPATH | FIELD_IMAGE, "initial ramdisk for the kernel" },
	{ "cmdline", "cmdline", "cmdline", "TEXT", FT_STRING, S(cmdline), 0, PATH_TEXT_MAX, 0,
	  NULL, FIELD_IMAGE, "kernel command line" },
	{ "image", "image", "image", "PATH", FT_STRING, S(image), 0, PATH_TEXT_MAX, 0, NULL,
	  FIELD_HOSTPATH | FIELD_IMAGE, "boot from a qcow2 overlay over this image" },
	{ "disk", NULL, "disk", "VOLUME|PATH", FT_STRING, S(disk), 0, PATH_TEXT_MAX, 0, NULL,
	  FIELD_HOSTPATH | FIELD_IMAGE, "use this existing volume or file as the persistent disk" },
	{ "disk_gib", "disk_gib", "disk-gib", "N", FT_NUMBER, S(disk_gib), 0.001, DISK_GIB_MAX, 4,
	  NULL, 0, "size of a new persistent disk in GiB" },
	{ "ready_pattern", NULL, "ready-pattern", "REGEX", FT_STRING, S(ready_pattern), 0,
	  PATTERN_MAX, 0, NULL, 0, "running once a console line matches (POSIX extended regex)" },
	{ "ready_timeout_s", "ready_timeout", "ready-timeout", "D", FT_SECONDS, S(ready_timeout),
	  0.001, 86400, 120, NULL, 0, "how long to wait for the ready pattern" },
	{ "stop_timeout_s", "stop_timeout", "stop-timeout", "D", FT_SECONDS, S(stop_timeout), 0,
	  3600, 10, NULL, 0, "how long a guest may take to shut down before it is destroyed" },
	{ "idle_action", "idle_action", "idle-action", "stop|save", FT_ENUM, S(idle_action), 0, 0,
	  IDLE_STOP, idle_action_names, FIELD_VIEW,
	  "when the grace runs out: stop the VM, or save its memory and restore it on the next use" },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, NULL },
};

static const char *name_of(const char *const *names, int n, int i)
{
	return i >= 0 && i < n ? names[i] : "invalid";
}

const char *storage_kind_name(enum storage_kind k)
{
	return name_of(storage_kind_names, STORAGE__COUNT, (int)k);
}

const char *crash_policy_name(enum crash_policy p)
{
	return name_of(crash_policy_names, CRASH__COUNT, (int)p);
}

const char *domain_type_name(enum domain_type t)
{
	return name_of(domain_type_names, DOMTYPE__COUNT, (int)t);
}

const char *idle_action_name(enum idle_action a)
{
	return name_of(idle_action_names, IDLE__COUNT, (int)a);
}

void settings_builtin(struct settings *s)
{
	memset(s, 0, sizeof *s);
	fields_defaults(settings_table, s);
}

void settings_copy(struct settings *dst, const struct settings *src)
{
	*dst = *src;
	fields_copy(settings_table, dst, src);
}

void settings_free(struct settings *s)
{
	fields_free(settings_table, s);
}

static int check_pattern(const struct settings *s, struct cause *c)
{
	regex_t re;
	char err[160];

	if (s->ready_pattern == NULL)
		return 0;
	int rc = regcomp(&re, s->ready_pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &re, err, sizeof err);
		cause_set(c, CAUSE_INVALID, "invalid params: ready_pattern: not a regular expression: %s",
			  err);
		return -1;
	}
	regfree(&re);
	return 0;
}

int settings_parse(json_t *params, const struct settings *defaults,
		   const char *const *skip, struct settings *out, struct cause *c)
{
	settings_copy(out, defaults);
	out->grace_given = false;
	if (fields_from_json(settings_table, out, params, skip, c) < 0)
		goto fail;
	out->grace_given = json_object_get(params, "grace_s") != NULL;
	/* An ephemeral session keeps its VM unless told otherwise. */
	if (out->storage == STORAGE_EPHEMERAL && !out->grace_given)
		out->grace = GRACE_NEVER;
	if ((out->initrd != NULL || out->cmdline != NULL) && out->kernel == NULL) {
		cause_set(c, CAUSE_INVALID, "invalid params: kernel: initrd and cmdline need a kernel");
		goto fail;
	}
	if (check_pattern(out, c) < 0)
		goto fail;
	return 0;
fail:
	settings_free(out);
	return -1;
}

json_t *settings_to_json(const struct settings *s)
{
	return fields_to_json(settings_table, s, 0);
}

bool settings_idle_stop(const struct settings *s)
{
	return s->grace >= 0;
}

double settings_effective_grace(const struct settings *s)
{
	return settings_idle_stop(s) ? s->grace : GRACE_NEVER;
}

json_t *settings_image_json(const struct settings *s)
{
	return fields_to_json(settings_table, s, FIELD_IMAGE);
}
