/*
 * domxml.c — libvirt XML (see virt.h, part 2).  Every string that goes in
 * is checked to be text XML can carry (utf8_xml_safe) before the document
 * is built: settings refuse such values already; this is the last line.
 */
#include "virt.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/utf8.h"
#include "../common/xalloc.h"

#define X(s) ((const xmlChar *)(s))

/* Text children are escaped by the serializer (xmlNewTextChild, unlike
 * xmlNewChild, does not parse entity references in the content). */
static xmlNodePtr text_child(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, X(name), X(text));
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	return xmlNewChild(parent, NULL, X(name), NULL);
}

static void prop(xmlNodePtr n, const char *name, const char *value)
{
	xmlNewProp(n, X(name), X(value));
}

/* The first element called name among n and its next siblings. */
static xmlNodePtr sibling_named(xmlNodePtr n, const char *name)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, X(name)))
			return n;
	return NULL;
}

static char *serialize(xmlDocPtr doc, struct cause *c)
{
	xmlChar *buf = NULL;
	int len = 0;
	char *out;

	xmlDocDumpFormatMemory(doc, &buf, &len, 1);
	xmlFreeDoc(doc);
	if (buf == NULL) {
		cause_set(c, CAUSE_INTERNAL, "cannot serialize XML");
		return NULL;
	}
	out = strndup((const char *)buf, (size_t)len);
	xmlFree(buf);
	if (out == NULL)
		cause_set(c, CAUSE_INTERNAL, "out of memory");
	return out;
}

static void add_volume_disk(xmlNodePtr devices, const char *pool, const char *vol,
			    const char *path, const char *dev)
{
	xmlNodePtr disk = child(devices, "disk");
	xmlNodePtr n;

	prop(disk, "type", vol ? "volume" : "file");
	prop(disk, "device", "disk");
	n = child(disk, "driver");
	prop(n, "name", "qemu");
	prop(n, "type", "qcow2");
	n = child(disk, "source");
	if (vol != NULL) {
		prop(n, "pool", pool);
		prop(n, "volume", vol);
	} else {
		prop(n, "file", path);
	}
	n = child(disk, "target");
	prop(n, "dev", dev);
	prop(n, "bus", "virtio");
}

static void add_os(xmlNodePtr dom, const struct vm_spec *s)
{
	xmlNodePtr os = child(dom, "os");
	xmlNodePtr type = text_child(os, "type", "hvm");

	if (!s->test_driver)
		prop(type, "arch", "x86_64");
	if (s->kernel != NULL) {
		text_child(os, "kernel", s->kernel);
		if (s->initrd != NULL)
			text_child(os, "initrd", s->initrd);
		if (s->cmdline != NULL)
			text_child(os, "cmdline", s->cmdline);
	} else if (!s->test_driver) {
		prop(child(os, "boot"), "dev", "hd");
	}
}

/* A virtio balloon with memory statistics; with free page reporting the
 * guest hands pages it frees back to the host while it runs (memory
 * tiers).  Only where QEMU has it (spec->free_page_reporting). */
static void add_balloon(xmlNodePtr devices, const struct vm_spec *s)
{
	xmlNodePtr b = child(devices, "memballoon");
	char period[16];

	prop(b, "model", "virtio");
	if (s->free_page_reporting)
		prop(b, "freePageReporting", "on");
	snprintf(period, sizeof period, "%d", DOMXML_BALLOON_STATS_S);
	prop(child(b, "stats"), "period", period);
}

static void add_devices(xmlNodePtr dom, const struct vm_spec *s)
{
	xmlNodePtr devices = child(dom, "devices");
	const char *next_dev[] = { "vda", "vdb", "vdc" };
	int k = 0;

	if (s->boot_vol != NULL)
		add_volume_disk(devices, s->pool, s->boot_vol, NULL, next_dev[k++]);
	if (s->disk_vol != NULL || s->disk_path != NULL)
		add_volume_disk(devices, s->pool, s->disk_vol, s->disk_path, next_dev[k++]);
	if (s->scratch_vol != NULL)
		add_volume_disk(devices, s->pool, s->scratch_vol, NULL, next_dev[k++]);
	if (s->test_driver)
		return;
	if (s->console_log != NULL) {
		xmlNodePtr serial = child(devices, "serial");
		prop(serial, "type", "file");
		xmlNodePtr src = child(serial, "source");
		prop(src, "path", s->console_log);
		/* A restored domain reopens the log: it must not lose what the
		 * guest wrote before its save. */
		prop(src, "append", "on");
		prop(child(serial, "target"), "port", "0");
	}
	add_balloon(devices, s);
}

/*
 * cpu_probe = quick: libvirt 9.x reads the CPU of every QEMU guest it
 * starts or restores with one qom-get per CPU feature, ~400 QMP round
 * trips (0.6-1.1 s here, as much as the rest of a restore), because QEMU
 * has the capability "cpu-unavailable-features"; without it, libvirt
 * takes its older x86 path: qom-list and two qom-gets.  What it reads only
 * updates libvirt's record of the CPU (the live XML: without MSR-based
 * features then), not the guest, which has no <cpu> element.  The override is per domain (libvirt's QEMU namespace) and libvirt marks
 * the domain tainted ("custom-hypervisor-feature"); a saved image keeps
 * the XML it was saved with, so its restore is as quick as its start.
 */
#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

static void add_quick_cpu_probe(xmlNodePtr dom)
{
	xmlNsPtr ns = xmlNewNs(dom, X(QEMU_NS), X("qemu"));
	xmlNodePtr caps = xmlNewChild(dom, ns, X("capabilities"), NULL);
	xmlNodePtr del = xmlNewChild(caps, ns, X("del"), NULL);

	prop(del, "capability", "cpu-unavailable-features");
}

/* -1 naming the first of the NULL-terminated what/value pairs that XML
 * cannot carry; NULL values are skipped. */
static int check_text(struct cause *c, const char *const *pairs, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (pairs[i + 1] != NULL && !utf8_xml_safe(pairs[i + 1])) {
			cause_set(c, CAUSE_INVALID, "%s: contains a character XML cannot carry",
				  pairs[i]);
			return -1;
		}
	}
	return 0;
}

#define CHECK_TEXT(c, ...) check_text(c, (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

char *domxml_domain(const struct vm_spec *s, struct cause *c)
{
	if (CHECK_TEXT(c, "name", s->name, "uuid", s->uuid, "session", s->session_name,
		       "session id", s->session_id, "virt type", s->virt_type,
		       "kernel", s->kernel, "initrd", s->initrd, "cmdline", s->cmdline,
		       "pool", s->pool, "boot volume", s->boot_vol, "disk volume", s->disk_vol,
		       "disk", s->disk_path, "scratch volume", s->scratch_vol,
		       "console log", s->console_log) < 0)
		return NULL;

	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr dom = xmlNewNode(NULL, X("domain"));
	char buf[256];

	xmlDocSetRootElement(doc, dom);
	prop(dom, "type", s->test_driver ? "test" : s->virt_type);
	text_child(dom, "name", s->name);
	text_child(dom, "uuid", s->uuid);
	snprintf(buf, sizeof buf, "sessiond session %s (id %s, uid %u)",
		 s->session_name, s->session_id, (unsigned)s->owner);
	text_child(dom, "description", buf);
	snprintf(buf, sizeof buf, "%u", s->memory_mib);
	prop(text_child(dom, "memory", buf), "unit", "MiB");
	snprintf(buf, sizeof buf, "%u", s->vcpus);
	text_child(dom, "vcpu", buf);
	add_os(dom, s);
	if (!s->test_driver) {
		child(child(dom, "features"), "acpi");
		text_child(dom, "on_poweroff", "destroy");
		text_child(dom, "on_reboot", "destroy");
		text_child(dom, "on_crash", "destroy");
	}
	add_devices(dom, s);
	if (s->quick_cpu_probe)
		add_quick_cpu_probe(dom);
	return serialize(doc, c);
}

char *domxml_volume(const char *name, double capacity_bytes,
		    const char *backing_path, struct cause *c)
{
	if (CHECK_TEXT(c, "volume", name, "backing store", backing_path) < 0)
		return NULL;

	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr vol = xmlNewNode(NULL, X("volume"));
	char buf[64];

	xmlDocSetRootElement(doc, vol);
	text_child(vol, "name", name);
	snprintf(buf, sizeof buf, "%.0f", capacity_bytes);
	prop(text_child(vol, "capacity", buf), "unit", "bytes");
	text_child(vol, "allocation", "0");
	xmlNodePtr target = child(vol, "target");
	prop(child(target, "format"), "type", "qcow2");
	/* libvirt defaults to qcow2 v2 (compat 0.10); v3 is what we want. */
	text_child(target, "compat", "1.1");
	if (backing_path != NULL) {
		xmlNodePtr bs = child(vol, "backingStore");
		text_child(bs, "path", backing_path);
		prop(child(bs, "format"), "type", "qcow2");
	}
	return serialize(doc, c);
}

char *domxml_pool_dir(const char *name, const char *path, struct cause *c)
{
	if (CHECK_TEXT(c, "pool", name, "pool path", path) < 0)
		return NULL;

	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr pool = xmlNewNode(NULL, X("pool"));

	xmlDocSetRootElement(doc, pool);
	prop(pool, "type", "dir");
	text_child(pool, "name", name);
	text_child(child(pool, "target"), "path", path);
	return serialize(doc, c);
}

char *domxml_pool_target_path(const char *xml)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	xmlNodePtr target = sibling_named(root != NULL ? root->children : NULL, "target");
	xmlNodePtr n = target != NULL ? sibling_named(target->children, "path") : NULL;
	char *path = NULL;

	if (n != NULL) {
		xmlChar *text = xmlNodeGetContent(n);
		path = xstrdup(text != NULL ? (const char *)text : "");
		xmlFree(text);
	}
	xmlFreeDoc(doc);
	return path;
}

/* ---- reading what libvirt says ------------------------------------------ */

static xmlDocPtr parse(const char *xml)
{
	return xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The first element called name below n, depth first. */
static xmlNodePtr find(xmlNodePtr n, const char *name)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, BAD_CAST name))
			return n;
		xmlNodePtr in = find(n->children, name);
		if (in != NULL)
			return in;
	}
	return NULL;
}

static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = n != NULL ? xmlGetProp(n, BAD_CAST name) : NULL;
	char *out = v != NULL ? xstrdup((const char *)v) : NULL;

	xmlFree(v);
	return out;
}

char *domxml_caps_emulator(const char *xml)
{
	xmlDocPtr doc = parse(xml);
	xmlNodePtr n = doc != NULL ? find(xmlDocGetRootElement(doc), "path") : NULL;
	xmlChar *text = n != NULL ? xmlNodeGetContent(n) : NULL;
	char *path = text != NULL && text[0] == '/' ? xstrdup((const char *)text) : NULL;

	xmlFree(text);
	xmlFreeDoc(doc);
	return path;
}

bool domxml_caps_hw_virt(const char *xml)
{
	xmlDocPtr doc = parse(xml);
	xmlNodePtr host = doc != NULL ? find(xmlDocGetRootElement(doc), "host") : NULL;
	xmlNodePtr cpu = host != NULL ? find(host->children, "cpu") : NULL;
	bool found = false;

	for (xmlNodePtr n = sibling_named(cpu != NULL ? cpu->children : NULL, "feature");
	     n != NULL && !found; n = sibling_named(n->next, "feature")) {
		char *name = attr(n, "name");
		found = name != NULL && (strcmp(name, "vmx") == 0 || strcmp(name, "svm") == 0);
		free(name);
	}
	xmlFreeDoc(doc);
	return found;
}

json_t *domxml_balloon(const char *xml)
{
	xmlDocPtr doc = parse(xml);
	xmlNodePtr b = doc != NULL ? find(xmlDocGetRootElement(doc), "memballoon") : NULL;
	json_t *o = NULL;

	if (b != NULL) {
		char *model = attr(b, "model"), *fpr = attr(b, "freePageReporting");
		char *period = attr(find(b->children, "stats"), "period");
		o = json_pack("{s:s, s:b}", "model", model != NULL ? model : "",
			      "free_page_reporting", fpr != NULL && strcmp(fpr, "on") == 0);
		json_object_set_new(o, "stats_period_s",
				    period != NULL ? json_integer(atoi(period)) : json_null());
		free(model);
		free(fpr);
		free(period);
	}
	xmlFreeDoc(doc);
	return o;
}
