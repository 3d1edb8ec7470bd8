/* cause.c — see cause.h. */
#include "cause.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void cause_set(struct cause *c, enum cause_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (c == NULL)
		return;
	c->kind = kind;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
}

void cause_clear(struct cause *c)
{
	if (c == NULL)
		return;
	c->kind = CAUSE_INTERNAL;
	c->msg[0] = '\0';
}

void text_set(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	if (src == NULL || src[0] == '\0')
		return;
	*dst = xstrndup(src, TEXT_MAX);
}

void text_setf(char **dst, const char *fmt, ...)
{
	char buf[TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	text_set(dst, buf);
}

void str_copy(char *dst, size_t len, const char *src)
{
	size_t n;

	if (len == 0)
		return;
	n = src ? strlen(src) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}
