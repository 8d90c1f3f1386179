/* Memory and string routines for the freestanding hypervisor. */
#include "lib/string.h"

/*
 * Bulk copies move eight bytes per iteration (REP MOVSQ) and fills 64
 * bytes per loop of plain stores, each finishing its tail bytewise.  On
 * hardware with fast strings (Intel SDM vol. 1 §7.3.9.3, "Fast-String
 * Operation"; AMD's equivalent) these run at memory bandwidth like the byte
 * forms; where string instructions are emulated one iteration at a time
 * (QEMU TCG, Bochs) they take an eighth of the iterations or fewer, which
 * matters for the 2 MiB chunks of guest RAM zeroed on a guest's first touch
 * (mm/guest_mem.h).
 */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;
	size_t q = n / 8, r = n % 8;

	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;
	uint64_t pattern = 0x0101010101010101ull * (unsigned char)c;
	size_t blocks = n / 64, r = n % 64;

	/* 64 bytes per iteration in eight plain stores: see above. */
	if (blocks)
		__asm__ volatile("1:\n\t"
				 "movq %2, 0(%0)\n\tmovq %2, 8(%0)\n\t"
				 "movq %2, 16(%0)\n\tmovq %2, 24(%0)\n\t"
				 "movq %2, 32(%0)\n\tmovq %2, 40(%0)\n\t"
				 "movq %2, 48(%0)\n\tmovq %2, 56(%0)\n\t"
				 "addq $64, %0\n\tdecq %1\n\tjnz 1b"
				 : "+r"(dst), "+r"(blocks) : "r"(pattern) : "memory");
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(r) : "a"(pattern) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || !a[i])
			return (unsigned char)a[i] - (unsigned char)b[i];
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
