/* The hypervisor's own small libc: memory and string routines. */
#ifndef KASANE_LIB_STRING_H
#define KASANE_LIB_STRING_H

#include "lib/types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);

/*
 * Parse an unsigned integer (decimal, or hex with 0x) at s.  Stores the end
 * in *end.  Returns false on no digits or overflow.
 */
bool parse_u64(const char *s, const char **end, uint64_t *out);
/*
 * Parse a size with an optional K/M/G/T suffix (binary units), e.g. "16M".
 * The whole string [s, s+len) must be consumed.  Returns false otherwise or
 * on overflow.
 */
bool parse_size(const char *s, size_t len, uint64_t *out);

#endif
