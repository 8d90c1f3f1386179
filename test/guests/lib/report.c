/*
 * XTF-style result reporting: the result only ever rises, SUCCESS < SKIP <
 * ERROR < FAILURE, and the reason kept is the first one given at the final
 * level.  The harness greps the single "TEST <name>: ..." line.
 */
#include "test/guests/lib/guest.h"

static const char *const result_names[] = {
	[RESULT_SUCCESS] = "SUCCESS", [RESULT_SKIP] = "SKIP",
	[RESULT_ERROR] = "ERROR", [RESULT_FAILURE] = "FAILURE",
};

static enum guest_result result;
static char reason[160];

static void result_raise(enum guest_result level, const char *fmt, va_list ap)
{
	char msg[sizeof(reason)];

	guest_vsnprintf(msg, sizeof(msg), fmt, ap);
	guest_printf("%s: %s: %s\n", test_name, result_names[level], msg);
	if (level > result) {
		result = level;
		memcpy(reason, msg, sizeof(reason));
	}
}

#define DEFINE_RAISE(fn, level) \
	void fn(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		result_raise(level, fmt, ap); \
		va_end(ap); \
	}
DEFINE_RAISE(guest_skip, RESULT_SKIP)
DEFINE_RAISE(guest_error, RESULT_ERROR)
DEFINE_RAISE(guest_fail, RESULT_FAILURE)

enum guest_result guest_result(void)
{
	return result;
}

bool guest_check_eq(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return true;
	guest_fail("%s returned 0x%llx, expected 0x%llx", what,
		   (unsigned long long)got, (unsigned long long)want);
	return false;
}

noreturn void guest_exit(unsigned status)
{
	asm volatile("outb %0, %1" :: "a"((uint8_t)status), "i"(GUEST_EXIT_PORT));
	for (;;)
		asm volatile("cli; hlt");
}

noreturn void guest_finish(void)
{
	if (result == RESULT_SUCCESS)
		guest_printf("TEST %s: SUCCESS\n", test_name);
	else
		guest_printf("TEST %s: %s: %s\n", test_name, result_names[result], reason);
	guest_exit(result <= RESULT_SKIP ? 0 : 1);
}
