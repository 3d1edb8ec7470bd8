/*
 * console.c — the serial console logs of a session's instances.
 *
 * QEMU writes each instance's ttyS0 to <state>/console/<instance id>.log
 * (console_path(), which start.c puts in the domain XML).  A session keeps the log of its current (or last) instance
 * and of the one before, so a crash that the restart policy answers at
 * once still leaves the crashed instance's log to read; older logs go
 * when a new instance starts, all of them when the session is deleted.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/utf8.h"
#include "../common/xalloc.h"


void console_path(const struct core *core, const char *instance_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.log", core->console_dir, instance_id);
}

static void console_unlink(struct session *s, const char *id)
{
	char path[4200];

	if (id == NULL || id[0] == '\0')
		return;
	console_path(s->core, id, path, sizeof path);
	unlink(path);
}

void console_rotate(struct session *s, const char *new_id)
{
	console_unlink(s, s->prev_instance);
	str_copy(s->prev_instance, sizeof s->prev_instance, s->last_instance);
	str_copy(s->last_instance, sizeof s->last_instance, new_id);
}

void console_remove(struct session *s)
{
	console_unlink(s, s->prev_instance);
	console_unlink(s, s->last_instance);
}

/* Console output is bytes, JSON strings are UTF-8 (utf8_sanitize). */
static json_t *utf8_text(const unsigned char *p, size_t n)
{
	char *out = xmalloc(n * 3 + 1);
	size_t k = utf8_sanitize(p, n, out);
	json_t *j = json_stringn(out, k);

	free(out);
	return j ? j : json_string("");
}

int console_read(struct session *s, size_t max, json_t **out, struct cause *c)
{
	const char *id = s->inst ? s->inst->id : s->last_instance;
	char path[4200];
	struct stat sb;

	if (id[0] == '\0') {
		cause_set(c, CAUSE_NOT_FOUND, "session '%s' has not run a VM yet", s->name);
		return -1;
	}
	console_path(s->core, id, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*out = json_pack("{s:s, s:s, s:b, s:I}", "instance", id, "text", "",
				 "truncated", 0, "size", (json_int_t)0);
		return 0;
	}
	if (fd < 0 || fstat(fd, &sb) < 0) {
		cause_set(c, CAUSE_INTERNAL, "console log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	off_t from = sb.st_size > (off_t)max ? sb.st_size - (off_t)max : 0;
	size_t want = (size_t)(sb.st_size - from);
	unsigned char *buf = malloc(want + 1);
	ssize_t got = buf ? pread(fd, buf, want, from) : -1;
	close(fd);
	if (got < 0) {
		free(buf);
		cause_set(c, CAUSE_INTERNAL, "console log %s: %s", path, strerror(errno));
		return -1;
	}
	*out = json_pack("{s:s, s:o, s:b, s:I}", "instance", id,
			 "text", utf8_text(buf, (size_t)got), "truncated", from > 0,
			 "size", (json_int_t)sb.st_size);
	free(buf);
	return 0;
}
