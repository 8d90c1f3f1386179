/* Basic types shared by the hypervisor and its host unit tests. */
#ifndef KASANE_LIB_TYPES_H
#define KASANE_LIB_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef uint64_t gpa_t;   /* guest-physical address */
typedef uint64_t gva_t;   /* guest-virtual address */
typedef uint64_t hpa_t;   /* host-physical address */
typedef uintptr_t hva_t;  /* host-virtual address (hypervisor pointer as integer) */

#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)      (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)    ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)    (((x) & ((a) - 1)) == 0)
#define MIN(a, b)           ((a) < (b) ? (a) : (b))
#define MAX(a, b)           ((a) > (b) ? (a) : (b))
#define KiB                 (1024ULL)
#define MiB                 (1024ULL * KiB)
#define GiB                 (1024ULL * MiB)
#define PAGE_SIZE           4096ULL
#define PAGE_SHIFT          12
#define LARGE_PAGE_SIZE     (2 * MiB)

#define __packed            __attribute__((packed))
#define __aligned(n)        __attribute__((aligned(n)))
#define __noreturn          __attribute__((noreturn))
#define __unused            __attribute__((unused))
#define likely(x)           __builtin_expect(!!(x), 1)
#define unlikely(x)         __builtin_expect(!!(x), 0)

#endif
