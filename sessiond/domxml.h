/*
 * domxml.h — libvirt XML for domains, volumes and pools, built with
 * libxml2's tree API so every user-supplied string (session name, kernel
 * path, command line) is escaped by the serializer, never pasted.
 *
 * The domain fits the connection's driver: the test driver gets
 * <domain type='test'> and nothing hypervisor-specific; QEMU gets the
 * resolved virt type (kvm or qemu), direct kernel boot or a boot disk, the
 * serial console in a log file, and no graphics.
 */
#ifndef SESSIOND_DOMXML_H
#define SESSIOND_DOMXML_H

#include <stdbool.h>
#include <sys/types.h>

#include "../common/cause.h"

struct vm_spec {
	bool test_driver;                   /* virConnectGetType() == "TEST" */
	const char *virt_type;              /* "kvm" or "qemu" (QEMU only) */
	const char *name, *uuid;            /* domain name, instance id */
	const char *session_name, *session_id;
	uid_t owner;
	unsigned memory_mib, vcpus;
	const char *kernel, *initrd, *cmdline;
	const char *pool;
	const char *boot_vol;               /* overlay of the base image, or NULL */
	const char *disk_vol;               /* persistent disk volume, or NULL */
	const char *disk_path;              /* persistent disk outside the pool, or NULL */
	const char *scratch_vol;            /* per-instance scratch, or NULL */
	const char *console_log;            /* serial console file, or NULL */
};

/* Each returns a malloc'd NUL-terminated document, or NULL with a cause. */
char *domxml_domain(const struct vm_spec *s, struct cause *c);
/* A qcow2 v3 volume; backing_path NULL for a plain one. */
char *domxml_volume(const char *name, double capacity_bytes,
		    const char *backing_path, struct cause *c);
char *domxml_pool_dir(const char *name, const char *path, struct cause *c);

#endif
