/* A small printf: %d %i %u %x %X %o %p %s %c %% with flags '-', '0', '+',
 * ' ', width, precision, '*', and length modifiers hh h l ll z j t. */
#ifndef KASANE_LIB_PRINTF_H
#define KASANE_LIB_PRINTF_H

#include "lib/types.h"

/* Like C's vsnprintf: always NUL-terminates when n > 0, returns the length
 * the full output would have had. */
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The one error idiom of kasane: a function that can fail takes a caller's
 * buffer (err, errlen) for a one-line reason.  errf() writes the reason
 * (when err is non-NULL and errlen > 0) and returns -1, so a failure reads
 * "return errf(err, errlen, "...", ...);".
 */
int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Turn every control character but tab in s into '?', so a message that
 * quotes user text (a config line, a command-line word) stays one line.
 */
void kstr_oneline(char *s);

#endif
