/*
 * test_domxml.c — domain, volume and pool XML (sessiond/domxml.c) keep
 * every string they are given a string: hostile session names, paths and
 * kernel command lines (quotes, <, &, ]]>, comments, a DOCTYPE, control
 * characters, invalid UTF-8, very long values) are parsed back with
 * libxml2 and must come out exactly as they went in, with no element,
 * attribute, entity, comment or DOCTYPE more or less than a benign value
 * gives.
 *
 * How: each document kind is built once with a placeholder in every string
 * field (the baseline), then once per (field, hostile value) with only that
 * field changed.  Both are parsed; the trees must have the same shape node
 * for node, and wherever the baseline has the placeholder the hostile tree
 * must have the hostile value.  So the test knows no schema: a field that
 * is added to a document is covered by adding it to the kind's field list.
 *
 * A value XML 1.0 cannot carry (control characters other than tab, newline
 * and carriage return, U+FFFE/U+FFFF, invalid UTF-8) cannot round-trip; it
 * must be refused with a cause (NULL), never written as something else.
 * Either way no structure may be injected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../virt/virt.h"
#include "harness/xfail.h"

/* ---- hostile values ---------------------------------------------------- */

enum repr { XML_OK, NOT_XML };

struct hostile {
	const char *label;
	const char *s;                      /* NULL: made at start (long ones) */
	enum repr repr;
	/* Known failure (tests/harness/xfail.h): domxml.c today writes such
	 * a value as an empty or different string instead of refusing it. */
	bool known;
};

static char *long_markup, *long_cmdline;

static struct hostile hostiles[] = {
	{ "quotes", "\"double\" 'single' `back`", XML_OK, false },
	{ "attr-breakout-dq", "x\" evil=\"1", XML_OK, false },
	{ "attr-breakout-sq", "x' evil='1", XML_OK, false },
	{ "element-close", "</name><evil>1</evil><name>", XML_OK, false },
	{ "element-open", "<evil attr='1'/>", XML_OK, false },
	{ "lt-gt", "a<b>c < > <<>>", XML_OK, false },
	{ "amp", "& &amp; &lt; &#60; &#x3c; &evil; &", XML_OK, false },
	{ "cdata-end", "]]> ]] > ]]]]><![CDATA[x]]>", XML_OK, false },
	{ "comment", "<!-- x --> --", XML_OK, false },
	{ "pi", "<?xml version='1.0'?><?evil x?>", XML_OK, false },
	{ "doctype", "<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/shadow\">]>&e;", XML_OK, false },
	{ "whitespace", "a\tb\nc\rd\r\ne", XML_OK, false },
	{ "spaces-around", "  x  ", XML_OK, false },
	{ "only-spaces", "   ", XML_OK, false },
	{ "only-newline", "\n", XML_OK, false },
	{ "empty", "", XML_OK, false },
	{ "del", "a\x7f" "b", XML_OK, false },
	{ "utf8", "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xef\xbf\xbd", XML_OK, false },
	{ "cmdline", "console=ttyS0 init=\"/bin/sh -c 'echo <ok> && x=1'\" a<b c>d \"e f\" -- &", XML_OK, false },
	{ "long-markup", NULL, XML_OK, false },
	{ "long-cmdline", NULL, XML_OK, false },
	{ "ctl-soh", "a\x01" "b", NOT_XML, false },
	{ "ctl-esc", "\x1b[31mred\x1b[0m", NOT_XML, false },
	{ "ctl-vt-ff", "a\x0b" "b\x0c", NOT_XML, false },
	{ "ctl-us", "\x1f", NOT_XML, false },
	{ "nonchar-fffe", "a\xef\xbf\xbe" "b", NOT_XML, false },
	{ "nonchar-ffff", "\xef\xbf\xbf", NOT_XML, false },
	{ "bad-utf8-lone", "a\xff" "b", NOT_XML, false },
	{ "bad-utf8-cut", "a\xc3(", NOT_XML, false },
	{ "bad-utf8-overlong", "\xc0\xaf", NOT_XML, false },
	{ "bad-utf8-surrogate", "\xed\xa0\x80", NOT_XML, false },
};

#define NHOSTILE (sizeof hostiles / sizeof hostiles[0])

static char *repeat(const char *unit, size_t total)
{
	size_t n = strlen(unit);
	char *s = malloc(total + 1);

	assert_non_null(s);
	for (size_t i = 0; i < total; i++)
		s[i] = unit[i % n];
	s[total] = '\0';
	return s;
}

/* ---- documents and their string fields -------------------------------- */

enum doc_type { DOC_DOMAIN, DOC_VOLUME, DOC_POOL };

struct doc_kind {
	const char *label;
	enum doc_type type;
	bool test_driver;                   /* domains: the TEST driver's shape */
	const char *const *fields;          /* NULL-terminated */
};

static const char *const domain_vol_fields[] = {
	"name", "uuid", "session_name", "session_id", "virt_type", "kernel", "initrd",
	"cmdline", "pool", "boot_vol", "disk_vol", "scratch_vol", "console_log", NULL
};
static const char *const domain_path_fields[] = {
	"name", "uuid", "session_name", "session_id", "virt_type", "kernel", "initrd",
	"cmdline", "pool", "disk_path", "scratch_vol", "console_log", NULL
};
static const char *const domain_test_fields[] = {
	"name", "uuid", "session_name", "session_id", "kernel", "initrd", "cmdline",
	"pool", "boot_vol", "disk_vol", "scratch_vol", NULL
};
static const char *const volume_fields[] = { "name", NULL };
static const char *const volume_backed_fields[] = { "name", "backing_path", NULL };
static const char *const pool_fields[] = { "name", "path", NULL };

static const struct doc_kind kinds[] = {
	{ "domain (qemu, pool disk)", DOC_DOMAIN, false, domain_vol_fields },
	{ "domain (qemu, host disk)", DOC_DOMAIN, false, domain_path_fields },
	{ "domain (test driver)", DOC_DOMAIN, true, domain_test_fields },
	{ "volume", DOC_VOLUME, false, volume_fields },
	{ "volume (overlay)", DOC_VOLUME, false, volume_backed_fields },
	{ "pool", DOC_POOL, false, pool_fields },
};

static const struct {
	const char *name;
	size_t off;
} spec_fields[] = {
	{ "name", offsetof(struct vm_spec, name) },
	{ "uuid", offsetof(struct vm_spec, uuid) },
	{ "session_name", offsetof(struct vm_spec, session_name) },
	{ "session_id", offsetof(struct vm_spec, session_id) },
	{ "virt_type", offsetof(struct vm_spec, virt_type) },
	{ "kernel", offsetof(struct vm_spec, kernel) },
	{ "initrd", offsetof(struct vm_spec, initrd) },
	{ "cmdline", offsetof(struct vm_spec, cmdline) },
	{ "pool", offsetof(struct vm_spec, pool) },
	{ "boot_vol", offsetof(struct vm_spec, boot_vol) },
	{ "disk_vol", offsetof(struct vm_spec, disk_vol) },
	{ "disk_path", offsetof(struct vm_spec, disk_path) },
	{ "scratch_vol", offsetof(struct vm_spec, scratch_vol) },
	{ "console_log", offsetof(struct vm_spec, console_log) },
};

static void spec_set(struct vm_spec *s, const char *field, const char *v)
{
	for (size_t i = 0; i < sizeof spec_fields / sizeof spec_fields[0]; i++) {
		if (strcmp(spec_fields[i].name, field) == 0) {
			*(const char **)((char *)s + spec_fields[i].off) = v;
			return;
		}
	}
	fail_msg("no vm_spec field '%s'", field);
}

/* v[i] is the value of k->fields[i]. */
static char *build(const struct doc_kind *k, const char *const *v, struct cause *c)
{
	struct vm_spec s = { .test_driver = k->test_driver, .owner = 1000,
			     .memory_mib = 256, .vcpus = 2 };

	cause_clear(c);
	switch (k->type) {
	case DOC_DOMAIN:
		for (int i = 0; k->fields[i] != NULL; i++)
			spec_set(&s, k->fields[i], v[i]);
		return domxml_domain(&s, c);
	case DOC_VOLUME:
		return domxml_volume(v[0], 1073741824.0, k->fields[1] ? v[1] : NULL, c);
	case DOC_POOL:
		return domxml_pool_dir(v[0], v[1], c);
	}
	return NULL;
}

/* ---- parsing back ------------------------------------------------------ */

/* libxml2's serializer complains on stderr about characters it drops;
 * what the test checks is the document, so keep stderr for failures. */
static void xml_quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static char xml_msg[512];               /* the parser's last error */

/* Parses without network, entity substitution or DTD loading: what is in
 * the document is what the tree shows. */
static xmlDocPtr parse(const char *xml)
{
	xmlResetLastError();
	xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "domxml.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	const xmlError *e = xmlGetLastError();
	snprintf(xml_msg, sizeof xml_msg, "%s", e && e->message ? e->message : "");
	return d;
}

/* ---- comparing trees --------------------------------------------------- */

struct cmp {
	const char *ph;                     /* the placeholder of the changed field */
	const char *val;                    /* what it was changed to */
	bool any_value;                     /* where ph was, any text will do */
	int hits;                           /* places the placeholder was seen */
	char path[512];
	char why[1024];
};

/* s with every ph replaced by val (malloc'd); counts the hits. */
static char *substitute(const char *s, struct cmp *c)
{
	size_t pl = strlen(c->ph), vl = strlen(c->val), n = 0;
	const char *p;

	for (p = s; (p = strstr(p, c->ph)) != NULL; p += pl)
		n++;
	char *out = malloc(strlen(s) + n * vl + 1), *o = out;
	assert_non_null(out);
	for (p = s; *p != '\0';) {
		if (strncmp(p, c->ph, pl) == 0) {
			memcpy(o, c->val, vl);
			o += vl;
			p += pl;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	c->hits += (int)n;
	return out;
}

/* The description is a sentence in a fixed buffer: a value too long for it
 * may be cut, never changed. */
#define DESCRIPTION_MAX 255

static bool text_same(const char *base, const char *got, bool may_cut, struct cmp *c,
		      const char *where)
{
	int hits = c->hits;
	char *want = substitute(base, c);
	bool ok = strcmp(want, got) == 0 || (c->any_value && c->hits > hits);

	if (!ok && may_cut && strlen(want) > DESCRIPTION_MAX &&
	    strncmp(want, got, strlen(got)) == 0 && strlen(got) + 8 >= DESCRIPTION_MAX)
		ok = true;
	if (!ok)
		snprintf(c->why, sizeof c->why, "%s %s: got \"%.200s\" (%zu bytes), want \"%.200s\" (%zu bytes)",
			 c->path, where, got, strlen(got), want, strlen(want));
	free(want);
	return ok;
}

static bool leaf(xmlNodePtr n)
{
	for (xmlNodePtr ch = n->children; ch != NULL; ch = ch->next)
		if (ch->type != XML_TEXT_NODE)
			return false;
	return true;
}

static bool same_element(xmlNodePtr b, xmlNodePtr g, struct cmp *c);

static bool same_attrs(xmlNodePtr b, xmlNodePtr g, struct cmp *c)
{
	xmlAttrPtr ba = b->properties, ga = g->properties;

	for (; ba != NULL && ga != NULL; ba = ba->next, ga = ga->next) {
		if (strcmp((const char *)ba->name, (const char *)ga->name) != 0) {
			snprintf(c->why, sizeof c->why, "%s: attribute %s where %s was", c->path,
				 ga->name, ba->name);
			return false;
		}
		xmlChar *bv = xmlNodeListGetString(b->doc, ba->children, 1);
		xmlChar *gv = xmlNodeListGetString(g->doc, ga->children, 1);
		char where[160];
		snprintf(where, sizeof where, "@%s", ba->name);
		bool ok = text_same(bv ? (char *)bv : "", gv ? (char *)gv : "", false, c, where);
		xmlFree(bv);
		xmlFree(gv);
		if (!ok)
			return false;
	}
	if (ba != NULL || ga != NULL) {
		snprintf(c->why, sizeof c->why, "%s: attribute %s %s", c->path,
			 ba ? (const char *)ba->name : (const char *)ga->name,
			 ba ? "missing" : "injected");
		return false;
	}
	return true;
}

static bool same_children(xmlNodePtr b, xmlNodePtr g, struct cmp *c)
{
	xmlNodePtr bc = b->children, gc = g->children;

	for (; bc != NULL && gc != NULL; bc = bc->next, gc = gc->next) {
		if (bc->type != gc->type) {
			snprintf(c->why, sizeof c->why, "%s: node of type %d where type %d was",
				 c->path, (int)gc->type, (int)bc->type);
			return false;
		}
		if (bc->type == XML_ELEMENT_NODE && !same_element(bc, gc, c))
			return false;
		if (bc->type == XML_TEXT_NODE &&
		    !text_same((char *)bc->content, (char *)gc->content, false, c, "text"))
			return false;
	}
	if (bc != NULL || gc != NULL) {
		snprintf(c->why, sizeof c->why, "%s: child <%s> %s", c->path,
			 bc ? (const char *)bc->name : (const char *)gc->name,
			 bc ? "missing" : "injected");
		return false;
	}
	return true;
}

/* Same name, same attributes in the same order, same children; a leaf
 * (text only, or empty) compares by its whole text, since an empty value
 * has no text node at all. */
static bool same_element(xmlNodePtr b, xmlNodePtr g, struct cmp *c)
{
	size_t plen = strlen(c->path);
	bool ok;

	if (strcmp((const char *)b->name, (const char *)g->name) != 0 || g->ns != NULL) {
		snprintf(c->why, sizeof c->why, "%s: <%s> where <%s> was", c->path, g->name, b->name);
		return false;
	}
	snprintf(c->path + plen, sizeof c->path - plen, "/%s", b->name);
	ok = same_attrs(b, g, c);
	if (ok && leaf(b) && b->children != NULL) {
		if (!leaf(g)) {
			snprintf(c->why, sizeof c->why, "%s: elements injected into a text", c->path);
			ok = false;
		} else {
			xmlChar *bt = xmlNodeGetContent(b), *gt = xmlNodeGetContent(g);
			ok = text_same((char *)bt, gt ? (char *)gt : "",
				       strcmp((const char *)b->name, "description") == 0, c, "text");
			xmlFree(bt);
			xmlFree(gt);
		}
	} else if (ok) {
		ok = same_children(b, g, c);
	}
	c->path[plen] = '\0';
	return ok;
}

/* Nothing but the root element at the top: no DOCTYPE, comment or PI. */
static bool same_doc(xmlDocPtr b, xmlDocPtr g, struct cmp *c)
{
	xmlNodePtr root = xmlDocGetRootElement(g);

	if (g->intSubset != NULL || g->extSubset != NULL || root == NULL ||
	    g->children != root || root->next != NULL || root->prev != NULL) {
		snprintf(c->why, sizeof c->why, "a DOCTYPE, comment or PI at the top level");
		return false;
	}
	c->path[0] = '\0';
	return same_element(xmlDocGetRootElement(b), root, c);
}

/* ---- the test ---------------------------------------------------------- */

#define NFIELDS 16

static char placeholders[NFIELDS][16];

static const char **baseline_values(const struct doc_kind *k, const char **v)
{
	for (int i = 0; k->fields[i] != NULL; i++) {
		assert_true(i < NFIELDS - 1);
		v[i] = placeholders[i];
	}
	return v;
}

enum outcome { REFUSED, WRITTEN, NOT_WELL_FORMED };

/* One field of one kind set to one hostile value: the value round-trips
 * (or, one XML cannot carry, is refused) and nothing else changes. */
static enum outcome check_value(const struct doc_kind *k, xmlDocPtr base, int f,
				const struct hostile *h)
{
	const char *v[NFIELDS];
	struct cause c;
	struct cmp cm = { .ph = placeholders[f], .val = h->s, .any_value = h->repr == NOT_XML };

	baseline_values(k, v);
	v[f] = h->s;
	char *xml = build(k, v, &c);
	if (xml == NULL) {
		if (h->repr == XML_OK)
			fail_msg("%s: %s=<%s>: refused: %s", k->label, k->fields[f], h->label, c.msg);
		if (c.msg[0] == '\0')
			fail_msg("%s: %s=<%s>: refused without a cause", k->label, k->fields[f], h->label);
		return REFUSED;
	}
	xmlDocPtr got = parse(xml);
	if (got == NULL && h->repr == NOT_XML) {
		free(xml);
		return NOT_WELL_FORMED;
	}
	if (got == NULL)
		fail_msg("%s: %s=<%s>: the XML does not parse (%s):\n%.2000s", k->label,
			 k->fields[f], h->label, xml_msg, xml);
	/* A value that cannot round-trip still may not bring structure in. */
	if (!same_doc(base, got, &cm))
		fail_msg("%s: %s=<%s>: %s", k->label, k->fields[f], h->label, cm.why);
	if (cm.hits == 0)
		fail_msg("%s: field %s does not appear in the document", k->label, k->fields[f]);
	xmlFreeDoc(got);
	free(xml);
	return WRITTEN;
}

/* Every field of every kind with every hostile value.  Values XML cannot
 * carry must be refused everywhere; one line sums up those that are not. */
static void test_hostile_values_round_trip(void **state)
{
	char written[1024] = "";
	int checked = 0;

	(void)state;
	for (size_t i = 0; i < NHOSTILE; i++) {
		const struct hostile *h = &hostiles[i];
		int places = 0, n[3] = { 0, 0, 0 };

		for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
			const struct doc_kind *k = &kinds[ki];
			const char *v[NFIELDS];
			struct cause c;
			char *xml = build(k, baseline_values(k, v), &c);

			assert_non_null(xml);
			xmlDocPtr base = parse(xml);
			if (base == NULL)
				fail_msg("%s: the baseline does not parse (%s)", k->label, xml_msg);
			for (int f = 0; k->fields[f] != NULL; f++, places++, checked++)
				n[check_value(k, base, f, h)]++;
			xmlFreeDoc(base);
			free(xml);
		}
		if (h->repr != NOT_XML)
			continue;
		if (h->known && n[REFUSED] == places)
			check_or_xfail(true, true, "domxml refuses <%s>", h->label);
		else if (!h->known && n[REFUSED] < places)
			fail_msg("domxml writes <%s>, a value XML 1.0 cannot carry, in %d of %d "
				 "fields instead of refusing it (%d not well-formed)", h->label,
				 places - n[REFUSED], places, n[NOT_WELL_FORMED]);
		else if (n[REFUSED] < places)
			snprintf(written + strlen(written), sizeof written - strlen(written),
				 " %s %d/%d%s", h->label, places - n[REFUSED], places,
				 n[NOT_WELL_FORMED] ? " (some not well-formed)" : "");
	}
	if (written[0] != '\0')
		check_or_xfail(false, true, "domxml writes values XML 1.0 cannot carry (control "
			       "characters, U+FFFE/U+FFFF, invalid UTF-8) as an empty or other string, "
			       "or as XML that does not parse, instead of refusing them; fields "
			       "written of all:%s", written);
	assert_true(checked > 0);
}

/* The comparison finds what it is meant to find: a document with an
 * element or attribute more, or a value changed, is told apart from its
 * baseline.  (Guards the guard: same_doc() must be able to fail.) */
static void test_comparison_sees_injection(void **state)
{
	static const struct {
		const char *base, *got;
	} differ[] = {
		{ "<d><n>@@00@@</n></d>", "<d><n>x</n><evil/></d>" },
		{ "<d><n>@@00@@</n></d>", "<d><n>x<evil/></n></d>" },
		{ "<d><n a=\"@@00@@\"/></d>", "<d><n a=\"x\" evil=\"1\"/></d>" },
		{ "<d><n>@@00@@</n></d>", "<d><n>y</n></d>" },
		{ "<d><n>@@00@@</n></d>", "<!DOCTYPE d><d><n>x</n></d>" },
		{ "<d><n>@@00@@</n></d>", "<d><n>x<!--c--></n></d>" },
		{ "<d><n>@@00@@</n></d>", "<d><n><![CDATA[x]]></n></d>" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
		struct cmp cm = { .ph = "@@00@@", .val = "x" };
		xmlDocPtr b = parse(differ[i].base), g = parse(differ[i].got);
		assert_non_null(b);
		assert_non_null(g);
		if (same_doc(b, g, &cm))
			fail_msg("not told apart: %s vs %s", differ[i].base, differ[i].got);
		xmlFreeDoc(b);
		xmlFreeDoc(g);
	}
	struct cmp cm = { .ph = "@@00@@", .val = "x" };
	xmlDocPtr b = parse("<d><n a=\"@@00@@\">@@00@@</n></d>");
	xmlDocPtr g = parse("<d><n a=\"x\">x</n></d>");
	assert_true(same_doc(b, g, &cm));
	assert_int_equal(cm.hits, 2);
	xmlFreeDoc(b);
	xmlFreeDoc(g);
}

/* The values of a benign domain land where libvirt reads them. */
static void test_domain_fields_in_place(void **state)
{
	struct vm_spec s = {
		.virt_type = "qemu", .name = "sd-1-2-3", .uuid = "6f1c0a52-6b0e-4c4e-9d57-3c7f1d8f0a11",
		.session_name = "dev", .session_id = "id-1", .owner = 1000, .memory_mib = 512,
		.vcpus = 2, .kernel = "/k", .initrd = "/i", .cmdline = "a<b & \"c\"", .pool = "p",
		.disk_path = "/d.qcow2", .scratch_vol = "scr", .console_log = "/log'x",
	};
	struct cause c;
	char *xml = domxml_domain(&s, &c);

	(void)state;
	assert_non_null(xml);
	xmlDocPtr d = parse(xml);
	assert_non_null(d);
	static const struct {
		const char *xpath_like, *want;
	} want[] = {
		{ "name", "sd-1-2-3" }, { "os/cmdline", "a<b & \"c\"" }, { "os/kernel", "/k" },
		{ "os/initrd", "/i" }, { "memory", "512" }, { "vcpu", "2" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		xmlNodePtr n = xmlDocGetRootElement(d);
		char path[64];
		snprintf(path, sizeof path, "%s", want[i].xpath_like);
		for (char *tok = strtok(path, "/"); tok != NULL && n != NULL; tok = strtok(NULL, "/")) {
			xmlNodePtr ch = n->children;
			while (ch != NULL && !(ch->type == XML_ELEMENT_NODE &&
					       strcmp((const char *)ch->name, tok) == 0))
				ch = ch->next;
			n = ch;
		}
		if (n == NULL)
			fail_msg("no <%s> in:\n%s", want[i].xpath_like, xml);
		xmlChar *t = xmlNodeGetContent(n);
		assert_string_equal((char *)t, want[i].want);
		xmlFree(t);
	}
	xmlFreeDoc(d);
	free(xml);
}

/* cpu_probe = quick: the domain removes QEMU's cpu-unavailable-features
 * capability for itself, in libvirt's QEMU namespace; without it, no
 * such element and no namespace. */
static void test_quick_cpu_probe(void **state)
{
	struct vm_spec s = {
		.virt_type = "qemu", .name = "sd-1-2-3", .uuid = "6f1c0a52-6b0e-4c4e-9d57-3c7f1d8f0a11",
		.session_name = "dev", .session_id = "id-1", .owner = 1000, .memory_mib = 512,
		.vcpus = 1, .kernel = "/k", .pool = "p",
	};
	struct cause c;

	(void)state;
	for (int quick = 0; quick < 2; quick++) {
		s.quick_cpu_probe = quick;
		char *xml = domxml_domain(&s, &c);
		assert_non_null(xml);
		xmlDocPtr d = parse(xml);
		assert_non_null(d);
		xmlNodePtr caps = NULL, del = NULL;
		for (xmlNodePtr n = xmlDocGetRootElement(d)->children; n != NULL; n = n->next)
			if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "capabilities") == 0)
				caps = n;
		if (!quick) {
			assert_null(caps);
			assert_null(strstr(xml, "libvirt.org/schemas/domain/qemu"));
		} else {
			assert_non_null(caps);
			assert_non_null(caps->ns);
			assert_string_equal((const char *)caps->ns->href,
					    "http://libvirt.org/schemas/domain/qemu/1.0");
			for (xmlNodePtr n = caps->children; n != NULL; n = n->next)
				if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "del") == 0)
					del = n;
			assert_non_null(del);
			assert_ptr_equal(del->ns, caps->ns);
			xmlChar *cap = xmlGetProp(del, (const xmlChar *)"capability");
			assert_string_equal((char *)cap, "cpu-unavailable-features");
			xmlFree(cap);
		}
		xmlFreeDoc(d);
		free(xml);
	}
}

/* A KVM guest needs vmx or svm in the host CPU of libvirt's capabilities:
 * a software KVM (kvm-pvm) answers libvirt's kvm probe without them. */
static void test_caps_hw_virt(void **state)
{
	static const char head[] = "<capabilities><host><uuid>u</uuid><cpu><arch>x86_64</arch>"
				   "<model>kvm64</model><vendor>AMD</vendor>";
	static const char tail[] = "</cpu></host><guest><os_type>hvm</os_type></guest></capabilities>";
	char xml[1024];

	(void)state;
	snprintf(xml, sizeof xml, "%s<feature name='vme'/><feature name='svm'/>%s", head, tail);
	assert_true(domxml_caps_hw_virt(xml));
	snprintf(xml, sizeof xml, "%s<feature name='vmx'/>%s", head, tail);
	assert_true(domxml_caps_hw_virt(xml));
	/* This machine's: kvm64 with the hypervisor bit, no vmx/svm. */
	snprintf(xml, sizeof xml, "%s<feature name='vme'/><feature name='hypervisor'/>%s", head, tail);
	assert_false(domxml_caps_hw_virt(xml));
	/* Elsewhere than the host CPU does not count. */
	snprintf(xml, sizeof xml, "%s</cpu></host><guest><cpu><feature name='svm'/></cpu></guest>"
		 "</capabilities>", head);
	assert_false(domxml_caps_hw_virt(xml));
	assert_false(domxml_caps_hw_virt("<capabilities><host><cpu>"));
	assert_false(domxml_caps_hw_virt("not xml"));
}

/* A pool's target path: the <path> of its first <target>, text and
 * comments between elements skipped; none without either. */
static void test_pool_target_path(void **state)
{
	static const struct {
		const char *xml, *want;         /* want NULL: none */
	} cases[] = {
		{ "<pool type='dir'><name>p</name><target><path>/var/p</path></target></pool>", "/var/p" },
		{ "<pool>\n  <!-- c -->\n  <source/>\n  <target>\n    <perms/>\n    "
		  "<path>/a&amp;b</path>\n  </target>\n</pool>", "/a&b" },
		{ "<pool><target><path>/first</path></target><target><path>/second</path></target></pool>",
		  "/first" },
		{ "<pool><target><perms/></target><target><path>/second</path></target></pool>", NULL },
		{ "<pool><source><path>/src</path></source></pool>", NULL },
		{ "<pool><target><path></path></target></pool>", "" },
		{ "not xml", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = domxml_pool_target_path(cases[i].xml);
		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comparison_sees_injection),
		cmocka_unit_test(test_domain_fields_in_place),
		cmocka_unit_test(test_hostile_values_round_trip),
		cmocka_unit_test(test_quick_cpu_probe),
		cmocka_unit_test(test_caps_hw_virt),
		cmocka_unit_test(test_pool_target_path),
	};

	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	for (int i = 0; i < NFIELDS; i++)
		snprintf(placeholders[i], sizeof placeholders[i], "@@%02d@@", i);
	long_markup = repeat("<a b=\"c\">&amp;]]>'\"</a>\t", 100000);
	long_cmdline = repeat("console=ttyS0 x=\"<y>\" ", 4096);
	for (size_t i = 0; i < NHOSTILE; i++) {
		if (strcmp(hostiles[i].label, "long-markup") == 0)
			hostiles[i].s = long_markup;
		else if (strcmp(hostiles[i].label, "long-cmdline") == 0)
			hostiles[i].s = long_cmdline;
	}
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(long_markup);
	free(long_cmdline);
	xmlCleanupParser();
	return rc;
}
