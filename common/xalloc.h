/*
 * xalloc.h — allocation that cannot fail.
 *
 * The daemon has no useful way on when the heap is gone: every caller
 * would log and exit.  These do it in one place, naming what was being
 * allocated where the caller says so.  Free functions elsewhere accept
 * NULL; so do these duplicates (xstrdup(NULL) is NULL).
 */
#ifndef SESSIOND_XALLOC_H
#define SESSIOND_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);                   /* NULL stays NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A zeroed object of the pointer's type: struct job *j = XNEW(j); */
#define XNEW(ptr) ((__typeof__(ptr))xcalloc(1, sizeof *(ptr)))

#endif
