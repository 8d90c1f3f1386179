/*
 * Per-CPU data.  GS base points at the CPU's struct percpu, whose first
 * field points at itself, so this_cpu() is a single gs-relative load.
 */
#ifndef KASANE_ARCH_X86_PERCPU_H
#define KASANE_ARCH_X86_PERCPU_H

#include "lib/types.h"
#include "arch/x86/desc.h"

struct vcpu;

#define MAX_CPUS 64

struct percpu {
	struct percpu *self;            /* must stay first: gs:0 */
	uint32_t id;                    /* logical CPU number, 0 = boot CPU */
	uint32_t apic_id;
	volatile bool online;
	volatile bool failed;           /* did not come up when started */
	uint64_t stack_top;             /* top of the main stack */
	uint64_t stack_bottom;          /* lowest mapped byte of the main stack */
	uint64_t ist_top[IST_COUNT];
	uint64_t lapic_khz;             /* LAPIC timer ticks per millisecond */
	/* Cross-CPU function call slot; see smp_call(). */
	void (*volatile call_fn)(void *);
	void *volatile call_arg;
	volatile uint32_t call_seq, call_done;
	/* Interrupts seen, for the console. */
	uint64_t nr_irqs;
	/* The vCPU this CPU is to run (core/vm.c), NULL when idle. */
	struct vcpu *volatile run_vcpu;
	struct tss64 tss __aligned(16);
	uint64_t gdt[GDT_ENTRIES] __aligned(16);
};

extern struct percpu percpu[MAX_CPUS];
extern unsigned nr_cpus_online;         /* CPUs that came up */
extern unsigned nr_cpus_present;        /* CPUs we know of (MADT or 1) */

#ifdef HOST_TEST
struct percpu *this_cpu(void);         /* the test program's */
#else
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}
#endif

static inline uint32_t this_cpu_id(void)
{
	return this_cpu()->id;
}

#endif
