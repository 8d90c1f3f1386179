/*
 * Exceptions and interrupts in the hypervisor.  An exception here is a
 * hypervisor bug: print everything needed to find it, stop every CPU and
 * end the run.  Interrupts go to handlers registered per vector.
 */
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/lapic.h"
#include "kernel/log.h"
#include "kernel/panic.h"

static irq_handler_t handlers[256];
volatile bool cpus_stopping;

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27",
	"#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved 31",
};

void trap_set_handler(int vector, irq_handler_t fn)
{
	handlers[vector] = fn;
}

extern const uint64_t ksym_count;
extern const struct { uint64_t addr, name; } ksym_table[];
extern const char ksym_names[];
extern char __text_start[], __text_end[];

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	uint64_t lo = 0, hi = ksym_count;

	if (addr < (uintptr_t)__text_start || addr >= (uintptr_t)__text_end || !hi)
		return NULL;
	/* Last symbol whose address is <= addr. */
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (ksym_table[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksym_table[lo].addr > addr)
		return NULL;
	*offset = addr - ksym_table[lo].addr;
	return ksym_names + ksym_table[lo].name;
}

static void print_addr(const char *tag, uint64_t addr)
{
	uint64_t off = 0;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		printk(LOG_ERROR, "  %s %016llx %s+%#llx\n", tag,
		       (unsigned long long)addr, name, (unsigned long long)off);
	else
		printk(LOG_ERROR, "  %s %016llx ?\n", tag, (unsigned long long)addr);
}

/* Is [p, p+16) inside one of this CPU's stacks (or the boot stack)? */
static bool frame_ok(uint64_t p)
{
	extern char boot_stack_bottom[], boot_stack_top[];
	struct percpu *c = this_cpu();

	if (p & 7)
		return false;
	if (p >= (uintptr_t)boot_stack_bottom && p + 16 <= (uintptr_t)boot_stack_top)
		return true;
	if (c && c->stack_top && p >= c->stack_bottom && p + 16 <= c->stack_top)
		return true;
	for (int i = 0; c && i < IST_COUNT; i++)
		if (c->ist_top[i] && p >= c->ist_top[i] - 4 * PAGE_SIZE && p + 16 <= c->ist_top[i])
			return true;
	return false;
}

void backtrace_from(uint64_t rbp, uint64_t rip)
{
	printk(LOG_ERROR, "Backtrace:\n");
	print_addr("at", rip);
	/* Frame-pointer chain: [rbp] = caller's rbp, [rbp+8] = return address. */
	for (int depth = 0; depth < 32 && frame_ok(rbp); depth++) {
		const uint64_t *fp = (const uint64_t *)rbp;
		if (!fp[1])
			break;
		print_addr("by", fp[1]);
		if (fp[0] <= rbp)
			break;   /* stacks grow down: callers' frames are above */
		rbp = fp[0];
	}
}

void trap_dump(const struct trap_frame *f)
{
	const char *name = f->vector < 32 ? exc_names[f->vector] : "interrupt";

	printk(LOG_ERROR,
	       "kasane: EXCEPTION %s (vector %llu) error %#llx on CPU %u\n",
	       name, (unsigned long long)f->vector, (unsigned long long)f->error,
	       this_cpu()->id);
	/* One line per call keeps each within the console's line buffer. */
	printk(LOG_ERROR, "  RIP %016llx  CS %04llx  RFLAGS %016llx\n",
	       (unsigned long long)f->rip, (unsigned long long)f->cs,
	       (unsigned long long)f->rflags);
	printk(LOG_ERROR, "  RSP %016llx  SS %04llx\n",
	       (unsigned long long)f->rsp, (unsigned long long)f->ss);
	printk(LOG_ERROR, "  RAX %016llx  RBX %016llx  RCX %016llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx,
	       (unsigned long long)f->rcx);
	printk(LOG_ERROR, "  RDX %016llx  RSI %016llx  RDI %016llx\n",
	       (unsigned long long)f->rdx, (unsigned long long)f->rsi,
	       (unsigned long long)f->rdi);
	printk(LOG_ERROR, "  RBP %016llx  R8  %016llx  R9  %016llx\n",
	       (unsigned long long)f->rbp, (unsigned long long)f->r8,
	       (unsigned long long)f->r9);
	printk(LOG_ERROR, "  R10 %016llx  R11 %016llx  R12 %016llx\n",
	       (unsigned long long)f->r10, (unsigned long long)f->r11,
	       (unsigned long long)f->r12);
	printk(LOG_ERROR, "  R13 %016llx  R14 %016llx  R15 %016llx\n",
	       (unsigned long long)f->r13, (unsigned long long)f->r14,
	       (unsigned long long)f->r15);
	printk(LOG_ERROR, "  CR0 %016llx  CR2 %016llx\n  CR3 %016llx  CR4 %016llx\n",
	       (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
	       (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	backtrace_from(f->rbp, f->rip);
}

static void fatal_exception(struct trap_frame *f)
{
	/* One CPU reports; any other CPU faulting meanwhile just stops. */
	panic_begin();
	trap_dump(f);
	printk(LOG_ERROR, "kasane: fatal exception\n");
	panic_end();
}

void trap_entry(struct trap_frame *f)
{
	uint64_t v = f->vector;

	if (v == 2 && cpus_stopping)
		cpu_halt_forever();     /* asked to stop by stop_other_cpus() */
	if (v < 32) {
		fatal_exception(f);
		return;
	}
	this_cpu()->nr_irqs++;
	if (v == VEC_SPURIOUS)
		return;                 /* no EOI for spurious (SDM vol. 3A §11.9) */
	if (handlers[v])
		handlers[v](f);
	lapic_eoi();
}
