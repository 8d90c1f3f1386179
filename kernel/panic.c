/* panic(); see panic.h. */
#include "kernel/panic.h"
#include "kernel/log.h"
#include "lib/printf.h"

static const struct panic_ops *ops;
static volatile uint32_t panic_owner = ~0u;

void panic_set_ops(const struct panic_ops *o) { ops = o; }

void panic_begin(void)
{
	uint32_t none = ~0u;
	uint32_t me = ops ? ops->cpu_id() : 0;

	if (!ops)
		__builtin_trap();       /* before boot set up the ops: nothing to report with */
	if (!__atomic_compare_exchange_n(&panic_owner, &none, me, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		ops->halt();
	ops->stop_world();
}

void panic_end(void)
{
	printk(LOG_ERROR, "kasane: all CPUs stopped\n");
	ops->shutdown(HV_EXIT_PANIC);
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	panic_begin();
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(LOG_ERROR, "kasane: PANIC on CPU %u: %s\n", ops->cpu_id(), msg);
	ops->backtrace((uint64_t)__builtin_frame_address(0),
		       (uint64_t)__builtin_return_address(0));
	panic_end();
}
