/*
 * test_hostpaths.c — which host files a session owner may hand to its VM
 * (sessiond/hostpaths.c: check_owner_paths, caller_trusted).
 *
 * The rule (hostpaths.c): a non-root owner may name a file only if it
 * could use the file itself: after symlinks are resolved, every directory
 * on the way searchable, the file readable (a "disk" also writable), a
 * regular file (a "disk" may be a block device), with the owner's groups
 * from the user database.  The judge here is the kernel: for every case a
 * child process takes the owner's identity (setgroups, setgid, setuid) and
 * asks access(2) about the resolved path.  The table says what each case
 * should give; the test checks the table against the kernel first (so the
 * table cannot drift from the rule), then check_owner_paths against the
 * table.
 *
 * Needs root (files of other owners, identities to take).  The owner is a
 * test user with a supplementary group, added for this process only: the
 * test runs in a private mount namespace with copies of /etc/passwd and
 * /etc/group bind-mounted over the real ones, so nothing is changed on the
 * machine.  ACL cases use setfacl (Debian package acl).
 *
 * Known failures (tests/harness/xfail.h): the code reads mode bits and
 * does not see POSIX ACLs, so an ACL that denies the owner what the mode
 * bits would allow is not seen (a file the owner cannot read is let
 * through), nor one that grants what they deny.  Those rows are marked
 * known until the check asks the kernel as the owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../rpc/sessiond-protocol.h"
#include "../sessiond/session.h"
#include "harness/xfail.h"

/* The test identities (user database of this process only). */
#define OWNER_UID 64001                 /* user sdtest, primary group sdtest */
#define OWNER_GID 64001
#define EXTRA_GID 64002                 /* sdextra: sdtest is a member */
#define OTHER_GID 64003                 /* sdother: sdtest is not */
#define STRANGER_UID 64009              /* in no user database */

static char root_dir[256];              /* the test tree */

/* ---- the tree ------------------------------------------------------------- */

/* Owner and group as letters: r root, u the owner (sdtest), x sdextra,
 * o sdother.  ACL entries use numeric ids (setfacl -m). */
static const struct node {
	const char *path;
	char type;                          /* d directory, f file, l symlink, b block device */
	char owner, group;
	mode_t mode;
	const char *target;                 /* symlink target; ACL spec for d and f */
} tree[] = {
	{ "pub", 'd', 'r', 'r', 0755, NULL },
	{ "pub/own-rw", 'f', 'u', 'u', 0600, NULL },
	{ "pub/own-r", 'f', 'u', 'u', 0400, NULL },
	{ "pub/own-group-only", 'f', 'u', 'x', 0060, NULL },
	{ "pub/root-0644", 'f', 'r', 'r', 0644, NULL },
	{ "pub/root-0600", 'f', 'r', 'r', 0600, NULL },
	{ "pub/root-0666", 'f', 'r', 'r', 0666, NULL },
	{ "pub/xgrp-0640", 'f', 'r', 'x', 0640, NULL },
	{ "pub/xgrp-0660", 'f', 'r', 'x', 0660, NULL },
	{ "pub/xgrp-0604", 'f', 'r', 'x', 0604, NULL },
	{ "pub/ugrp-0640", 'f', 'r', 'u', 0640, NULL },
	{ "pub/ogrp-0640", 'f', 'r', 'o', 0640, NULL },
	{ "pub/ogrp-0604", 'f', 'r', 'o', 0604, NULL },
	{ "pub/blk-xgrp-0660", 'b', 'r', 'x', 0660, NULL },
	{ "pub/blk-root-0600", 'b', 'r', 'r', 0600, NULL },
	{ "pub/closed", 'd', 'r', 'r', 0700, NULL },
	{ "pub/closed/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/closed/link-out", 'l', 'r', 'r', 0, "../root-0644" },
	{ "pub/x-only", 'd', 'r', 'r', 0711, NULL },
	{ "pub/x-only/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/r-only", 'd', 'r', 'r', 0744, NULL },
	{ "pub/r-only/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/xgrp-dir", 'd', 'r', 'x', 0710, NULL },
	{ "pub/xgrp-dir/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/xgrp-dir-no", 'd', 'r', 'x', 0701, NULL },
	{ "pub/xgrp-dir-no/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/ogrp-dir", 'd', 'r', 'o', 0710, NULL },
	{ "pub/ogrp-dir/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/own-dir", 'd', 'u', 'u', 0700, NULL },
	{ "pub/own-dir/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/nested", 'd', 'r', 'r', 0755, NULL },
	{ "pub/nested/closed", 'd', 'r', 'r', 0700, NULL },
	{ "pub/nested/closed/open", 'd', 'r', 'r', 0755, NULL },
	{ "pub/nested/closed/open/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/link-to-secret", 'l', 'u', 'u', 0, "root-0600" },
	{ "pub/link-to-ok", 'l', 'u', 'u', 0, "root-0644" },
	{ "pub/link-into-closed", 'l', 'u', 'u', 0, "closed/f" },
	{ "pub/link-abs-secret", 'l', 'u', 'u', 0, "@/pub/root-0600" },
	{ "pub/link-chain", 'l', 'u', 'u', 0, "link-to-secret" },
	{ "pub/dangling", 'l', 'u', 'u', 0, "nothing-here" },
	{ "pub/acl-grant-user", 'f', 'r', 'r', 0600, "u:64001:r" },
	{ "pub/acl-deny-user", 'f', 'r', 'r', 0644, "u:64001:-" },
	{ "pub/acl-deny-group", 'f', 'r', 'r', 0644, "g:64002:-" },
	{ "pub/acl-empty-mask", 'f', 'r', 'r', 0604, "u:64001:-" },
	{ "pub/acl-grant-group", 'f', 'r', 'r', 0600, "g:64002:rw" },
	{ "pub/acl-mask-r", 'f', 'r', 'r', 0600, "u:64001:rw,m::r" },
	{ "pub/acl-dir-deny", 'd', 'r', 'r', 0755, "u:64001:-" },
	{ "pub/acl-dir-deny/f", 'f', 'r', 'r', 0644, NULL },
	{ "pub/acl-dir-grant", 'd', 'r', 'r', 0700, "u:64001:x" },
	{ "pub/acl-dir-grant/f", 'f', 'r', 'r', 0644, NULL },
};

static uid_t uid_of(char who)
{
	return who == 'u' ? OWNER_UID : 0;
}

static gid_t gid_of(char who)
{
	switch (who) {
	case 'u': return OWNER_GID;
	case 'x': return EXTRA_GID;
	case 'o': return OTHER_GID;
	default: return 0;
	}
}

static void at(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root_dir, rel);
}

static void run_setfacl(const char *spec, const char *path)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("setfacl", "setfacl", "-m", spec, path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127)
		fail_msg("setfacl not found: install the Debian package acl (scripts/deps.sh check)");
	if (WEXITSTATUS(st) != 0)
		fail_msg("setfacl -m %s %s failed: ACLs unsupported here?", spec, path);
}

static void make_node(const struct node *n)
{
	char path[PATH_MAX];

	at(path, sizeof path, n->path);
	switch (n->type) {
	case 'd':
		assert_int_equal(mkdir(path, 0700), 0);
		break;
	case 'f': {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "data\n", 5), 5);
		close(fd);
		break;
	}
	case 'b':
		/* A block device node that is never opened (loop 200). */
		if (mknod(path, S_IFBLK | 0600, makedev(7, 200)) < 0)
			fail_msg("mknod %s: %s", path, strerror(errno));
		break;
	case 'l': {
		char target[PATH_MAX];
		if (n->target[0] == '@')
			at(target, sizeof target, n->target + 2);
		else
			snprintf(target, sizeof target, "%s", n->target);
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(lchown(path, uid_of(n->owner), gid_of(n->group)), 0);
		return;
	}
	}
	assert_int_equal(chown(path, uid_of(n->owner), gid_of(n->group)), 0);
	assert_int_equal(chmod(path, n->mode), 0);
	if (n->target != NULL)
		run_setfacl(n->target, path);
}

/* ---- the user database of this process ------------------------------------ */

/* dst (a copy of /etc/NAME plus lines) bind-mounted over /etc/NAME. */
static void extend_db(const char *name, const char *lines)
{
	char src[64], dst[300], cmd[800];

	snprintf(src, sizeof src, "/etc/%s", name);
	snprintf(dst, sizeof dst, "%s/%s", root_dir, name);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 0644 '%s'", src, dst, dst);
	if (system(cmd) != 0)
		fail_msg("cannot copy %s", src);
	FILE *f = fopen(dst, "a");
	assert_non_null(f);
	fputs(lines, f);
	assert_int_equal(fclose(f), 0);
	if (mount(dst, src, "none", MS_BIND, NULL) < 0)
		fail_msg("bind %s over %s: %s", dst, src, strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;                   /* each test skips */
	if (getpwuid(OWNER_UID) != NULL || getgrgid(EXTRA_GID) != NULL ||
	    getpwuid(STRANGER_UID) != NULL || getgrgid(OTHER_GID) != NULL) {
		fprintf(stderr, "test_hostpaths: uid/gid 64001-64009 exist on this machine\n");
		return -1;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "test_hostpaths: private mount namespace: %s\n", strerror(errno));
		return -1;
	}
	snprintf(root_dir, sizeof root_dir, "/tmp/sessiond-hostpaths.XXXXXX");
	if (mkdtemp(root_dir) == NULL || chmod(root_dir, 0755) < 0)
		return -1;
	extend_db("passwd", "sdtest:x:64001:64001::/nonexistent:/usr/sbin/nologin\n");
	extend_db("group", "sdtest:x:64001:\nsdextra:x:64002:sdtest\nsdother:x:64003:\n");
	if (getpwuid(OWNER_UID) == NULL) {
		fprintf(stderr, "test_hostpaths: the test user is not visible\n");
		return -1;
	}
	for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++)
		make_node(&tree[i]);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (root_dir[0] == '\0')
		return 0;
	umount2("/etc/passwd", MNT_DETACH);
	umount2("/etc/group", MNT_DETACH);
	nftw(root_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

/* ---- the cases -------------------------------------------------------------- */

enum verdict { ALLOW, DENY, INVALID };

static const char *const verdict_name[] = { "allowed", "forbidden", "invalid" };

static const struct hp_case {
	const char *path;                   /* relative to the tree, or absolute */
	const char *key;                    /* disk (read and write), image, kernel, initrd */
	enum verdict want;
	bool known;                         /* known failure of the current code */
} cases[] = {
	/* Owner bits, group bits (primary and supplementary), other bits. */
	{ "pub/own-rw", "disk", ALLOW, false },
	{ "pub/own-rw", "kernel", ALLOW, false },
	{ "pub/own-r", "image", ALLOW, false },
	{ "pub/own-r", "disk", DENY, false },
	{ "pub/own-group-only", "initrd", DENY, false },     /* owner class, not group */
	{ "pub/root-0644", "kernel", ALLOW, false },
	{ "pub/root-0644", "disk", DENY, false },
	{ "pub/root-0600", "kernel", DENY, false },
	{ "pub/root-0600", "disk", DENY, false },
	{ "pub/root-0666", "disk", ALLOW, false },
	{ "pub/xgrp-0640", "kernel", ALLOW, false },
	{ "pub/xgrp-0640", "disk", DENY, false },
	{ "pub/xgrp-0660", "disk", ALLOW, false },
	{ "pub/xgrp-0604", "image", DENY, false },           /* a member gets the group bits */
	{ "pub/ugrp-0640", "initrd", ALLOW, false },
	{ "pub/ogrp-0640", "kernel", DENY, false },
	{ "pub/ogrp-0604", "kernel", ALLOW, false },
	/* Not a regular file; a block device only as a disk. */
	{ "pub/blk-xgrp-0660", "disk", ALLOW, false },
	{ "pub/blk-xgrp-0660", "kernel", DENY, false },
	{ "pub/blk-root-0600", "disk", DENY, false },
	{ "pub/x-only", "kernel", DENY, false },
	{ "/dev/null", "disk", DENY, false },
	{ "/dev/null", "kernel", DENY, false },
	/* Directories on the way. */
	{ "pub/closed/f", "kernel", DENY, false },
	{ "pub/x-only/f", "kernel", ALLOW, false },
	{ "pub/r-only/f", "kernel", DENY, false },
	{ "pub/xgrp-dir/f", "kernel", ALLOW, false },
	{ "pub/xgrp-dir-no/f", "kernel", DENY, false },
	{ "pub/ogrp-dir/f", "kernel", DENY, false },
	{ "pub/own-dir/f", "kernel", ALLOW, false },
	{ "pub/nested/closed/open/f", "kernel", DENY, false },
	/* Symlinks count by what they resolve to. */
	{ "pub/link-to-secret", "kernel", DENY, false },
	{ "pub/link-to-secret", "disk", DENY, false },
	{ "pub/link-to-ok", "kernel", ALLOW, false },
	{ "pub/link-into-closed", "kernel", DENY, false },
	{ "pub/link-abs-secret", "image", DENY, false },
	{ "pub/link-chain", "initrd", DENY, false },
	{ "pub/closed/link-out", "kernel", ALLOW, false },  /* resolved: pub/root-0644 */
	{ "pub/x-only/../root-0600", "kernel", DENY, false },
	{ "pub/dangling", "kernel", INVALID, false },
	{ "pub/missing", "kernel", INVALID, false },
	/* ACLs: what the kernel says, which the mode bits do not show. */
	{ "pub/acl-grant-user", "kernel", ALLOW, true },
	{ "pub/acl-deny-user", "kernel", DENY, true },
	{ "pub/acl-deny-group", "kernel", DENY, true },
	/* With an empty mask the group class bits are 0 and Linux does not
	 * consult the ACL at all: the "other" bits apply, also to a named user. */
	{ "pub/acl-empty-mask", "kernel", ALLOW, false },
	{ "pub/acl-grant-group", "disk", ALLOW, true },
	{ "pub/acl-mask-r", "kernel", ALLOW, true },
	{ "pub/acl-mask-r", "disk", DENY, false },
	{ "pub/acl-dir-deny/f", "kernel", DENY, true },
	{ "pub/acl-dir-grant/f", "kernel", ALLOW, true },
};

#define NCASES (sizeof cases / sizeof cases[0])

static void case_path(const struct hp_case *k, char *buf, size_t len)
{
	if (k->path[0] == '/')
		snprintf(buf, len, "%s", k->path);
	else
		at(buf, len, k->path);
}

static bool is_disk(const struct hp_case *k)
{
	return strcmp(k->key, "disk") == 0;
}

/* The kernel's answer for uid (with its database groups): the resolved
 * path is accessible as the key needs, and of a kind the key takes. */
static enum verdict kernel_verdict(uid_t uid, const struct hp_case *k)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct passwd *pw = getpwuid(uid);
	gid_t groups[64];
	int ngroups = 64;
	struct stat st;
	int status;

	case_path(k, path, sizeof path);
	if (realpath(path, real) == NULL)
		return INVALID;
	assert_int_equal(stat(real, &st), 0);
	if (!(S_ISREG(st.st_mode) || (is_disk(k) && S_ISBLK(st.st_mode))))
		return DENY;
	if (pw != NULL)
		assert_true(getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) >= 0);
	else
		ngroups = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gid_t gid = pw ? pw->pw_gid : 64099;
		if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(3);
		_exit(access(real, is_disk(k) ? R_OK | W_OK : R_OK) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		fail_msg("the oracle for %s failed: wait status 0x%x", k->path, (unsigned)status);
	return WEXITSTATUS(status) == 0 ? ALLOW : DENY;
}

/* check_owner_paths with the path in the case's key only. */
static enum verdict code_verdict(uid_t uid, const struct hp_case *k, struct cause *c)
{
	char path[PATH_MAX];
	const char *disk = NULL, *image = NULL, *kernel = NULL, *initrd = NULL;

	case_path(k, path, sizeof path);
	if (is_disk(k))
		disk = path;
	else if (strcmp(k->key, "image") == 0)
		image = path;
	else if (strcmp(k->key, "kernel") == 0)
		kernel = path;
	else
		initrd = path;
	cause_clear(c);
	if (check_owner_paths(uid, disk, image, kernel, initrd, c) == 0)
		return ALLOW;
	if (c->code == RPC_ERR_FORBIDDEN)
		return DENY;
	if (c->code == RPC_ERR_INVALID_PARAMS)
		return INVALID;
	fail_msg("%s %s: error code %d: %s", k->key, k->path, c->code, c->msg);
	return INVALID;
}

/* ---- tests -------------------------------------------------------------------- */

/* The table says what the kernel says: the oracle and the rows agree, and
 * both outcomes occur (the cases test something). */
static void test_table_is_the_kernels(void **state)
{
	int n[3] = { 0, 0, 0 };

	(void)state;
	need_root();
	for (size_t i = 0; i < NCASES; i++) {
		enum verdict v = kernel_verdict(OWNER_UID, &cases[i]);
		if (v != cases[i].want)
			fail_msg("table row %s as %s says %s; the kernel says %s", cases[i].path,
				 cases[i].key, verdict_name[cases[i].want], verdict_name[v]);
		n[v]++;
	}
	assert_true(n[ALLOW] > 0 && n[DENY] > 0 && n[INVALID] > 0);
}

static void test_owner_paths_as_the_kernel(void **state)
{
	char let_through[1024] = "", refused[1024] = "";
	int nknown = 0;

	(void)state;
	need_root();
	for (size_t i = 0; i < NCASES; i++) {
		const struct hp_case *k = &cases[i];
		struct cause c;
		enum verdict v = code_verdict(OWNER_UID, k, &c);

		if (v != k->want && !k->known)
			fail_msg("uid %d naming %s as %s: %s, want %s (%s)", OWNER_UID, k->path, k->key,
				 verdict_name[v], verdict_name[k->want], c.msg);
		if (v == k->want && k->known)
			check_or_xfail(true, true, "hostpaths: %s as %s", k->path, k->key);
		if (v != k->want) {
			char *list = v == ALLOW ? let_through : refused;
			size_t size = sizeof let_through;
			nknown++;
			snprintf(list + strlen(list), size - strlen(list), " %s(%s)", k->path + 4, k->key);
		}
		if (v == DENY && strstr(c.msg, k->key) == NULL)
			fail_msg("the refusal of %s does not name the setting %s: %s", k->path, k->key,
				 c.msg);
	}
	if (nknown > 0)
		check_or_xfail(false, true, "hostpaths: %d ACL case(s) judged from mode bits, not as "
			       "the kernel judges the owner; let through although the owner may not "
			       "use them:%s; refused although it may:%s", nknown,
			       let_through[0] ? let_through : " none", refused[0] ? refused : " none");
}

/* Each of the four settings is checked, and one bad file among good ones
 * refuses the lot, naming the bad one. */
static void test_every_setting_checked(void **state)
{
	char ok[PATH_MAX], ok_rw[PATH_MAX], bad[PATH_MAX];
	static const char *const keys[] = { "disk", "image", "kernel", "initrd" };
	struct cause c;

	(void)state;
	need_root();
	at(ok, sizeof ok, "pub/root-0644");
	at(ok_rw, sizeof ok_rw, "pub/own-rw");
	at(bad, sizeof bad, "pub/root-0600");
	assert_int_equal(check_owner_paths(OWNER_UID, ok_rw, ok, ok, ok, &c), 0);
	for (int i = 0; i < 4; i++) {
		const char *v[4] = { ok_rw, ok, ok, ok };
		v[i] = bad;
		cause_clear(&c);
		if (check_owner_paths(OWNER_UID, v[0], v[1], v[2], v[3], &c) != -1)
			fail_msg("%s = %s (owner cannot read it) was let through", keys[i], bad);
		assert_int_equal(c.code, RPC_ERR_FORBIDDEN);
		if (strncmp(c.msg, "forbidden: ", 11) != 0 || strstr(c.msg, keys[i]) == NULL)
			fail_msg("the cause does not say forbidden and %s: %s", keys[i], c.msg);
	}
	/* A name without a slash is a pool volume: only trusted callers. */
	assert_int_equal(check_owner_paths(OWNER_UID, "other-users-disk", NULL, NULL, NULL, &c), -1);
	assert_int_equal(c.code, RPC_ERR_FORBIDDEN);
	assert_non_null(strstr(c.msg, "pool volume"));
	assert_int_equal(check_owner_paths(OWNER_UID, NULL, "relative/img", NULL, NULL, &c), -1);
	assert_int_equal(c.code, RPC_ERR_FORBIDDEN);
	assert_int_equal(check_owner_paths(OWNER_UID, NULL, NULL, NULL, NULL, &c), 0);
}

/* Root and the daemon's own uid may name anything; nobody else is. */
static void test_trusted_callers(void **state)
{
	char secret[PATH_MAX];
	struct cause c;

	(void)state;
	need_root();
	at(secret, sizeof secret, "pub/root-0600");
	assert_true(caller_trusted(0));
	assert_true(caller_trusted(geteuid()));
	assert_false(caller_trusted(OWNER_UID));
	assert_false(caller_trusted(STRANGER_UID));
	assert_false(caller_trusted(65534));
	assert_int_equal(check_owner_paths(0, secret, secret, secret, secret, &c), 0);
	assert_int_equal(check_owner_paths(0, "pool-volume", NULL, NULL, NULL, &c), 0);
	assert_int_equal(check_owner_paths(OWNER_UID, secret, NULL, NULL, NULL, &c), -1);
}

/* A uid in no user database has no groups: its own files by the owner
 * bits, others' by the other bits, never by group bits. */
static void test_unknown_uid(void **state)
{
	static const struct {
		char group;                 /* of a root-owned file */
		mode_t mode;
		bool own;                   /* owned by the stranger instead */
		enum verdict want;
	} rows[] = {
		{ 'r', 0600, true, ALLOW }, { 'r', 0060, true, DENY }, { 'r', 0644, false, ALLOW },
		{ 'r', 0640, false, DENY }, { 'x', 0640, false, DENY }, { 'x', 0604, false, ALLOW },
	};
	struct cause c;

	(void)state;
	need_root();
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char rel[64], path[PATH_MAX];
		snprintf(rel, sizeof rel, "pub/stranger-%zu", i);
		at(path, sizeof path, rel);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(chown(path, rows[i].own ? STRANGER_UID : 0, gid_of(rows[i].group)), 0);
		assert_int_equal(chmod(path, rows[i].mode), 0);
		struct hp_case k = { rel, "kernel", rows[i].want, false };
		assert_int_equal(kernel_verdict(STRANGER_UID, &k), rows[i].want);
		enum verdict v = code_verdict(STRANGER_UID, &k, &c);
		if (v != rows[i].want)
			fail_msg("stranger uid, %s mode %04o: %s, want %s", rel, (unsigned)rows[i].mode,
				 verdict_name[v], verdict_name[rows[i].want]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_the_kernels),
		cmocka_unit_test(test_owner_paths_as_the_kernel),
		cmocka_unit_test(test_every_setting_checked),
		cmocka_unit_test(test_trusted_callers),
		cmocka_unit_test(test_unknown_uid),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
