/*
 * freshstack: events whose delivery is the first touch of a RAM chunk.
 *
 * kasane zeroes a VM's RAM on demand, 2 MiB at a time (mm/guest_mem.h):
 * a chunk is mapped in the nested page tables only after the guest's
 * first touch of it exits.  When that first touch is the delivery of an
 * event (pushing its frame on a stack nothing has used yet, as the first
 * NMI on a Linux CPU's own NMI stack does), the nested fault comes in the
 * middle of the delivery and the CPU reports the event in EXITINTINFO
 * (APM vol. 2 §15.7.2; IDT-vectoring information on VT-x, SDM vol. 3C
 * §27.2.4).  kasane must map the chunk and deliver the event again, as
 * what it was: an NMI as an NMI (with NMI blocking), an interrupt as an
 * interrupt.  QEMU 7.2 reports both as exceptions and refuses them as
 * such at VMRUN.
 *
 * For each of a self IPI, a self NMI and a #UD: RSP is moved to the top
 * of a 2 MiB chunk this guest never touched, the event is raised by one
 * instruction that touches no stack (an xAPIC ICR write, or UD2), and the
 * handler (this file's own stubs) records where its frame went.  A fourth
 * case sends the IPI with interrupts off and then moves RSP and runs STI:
 * the interrupt waits only for IF, which kasane may hand to the CPU to
 * deliver on its own (a posted interrupt, V_IRQ on SVM), so the cut
 * delivery is one the CPU started, not one kasane injected.  Each
 * event must arrive exactly once, its frame in the fresh chunk, and the
 * rest of the chunk must read as zeros.
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "freshstack";

#define VEC_FRESH       0x66
#define CHUNK           (2ul << 20)
#define ICR_LATE_STI    (1u << 31)      /* not an ICR bit: this file's own flag */
/* Chunks far above this image, its page tables and anything the loader
 * wrote (the VM has 64 MiB): 32, 36 and 40 MiB. */
#define FRESH(i)        ((32ul << 20) + (i) * 2 * CHUNK)

extern char fs_nmi_entry[], fs_ud_entry[], fs_irq_entry[];
volatile unsigned fs_count[4];
volatile unsigned long fs_rsp[4];
volatile unsigned fs_irq_slot;     /* which case the interrupt counts for */

asm(".text\n"
    "fs_nmi_entry:\n"
    " lock incl fs_count+4(%rip)\n"
    " movq %rsp, fs_rsp+8(%rip)\n"
    " iretq\n"
    "fs_ud_entry:\n"
    " lock incl fs_count+8(%rip)\n"
    " movq %rsp, fs_rsp+16(%rip)\n"
    " addq $2, (%rsp)\n"            /* past the UD2 */
    " iretq\n"
    "fs_irq_entry:\n"
    " pushq %rax\n"
    " movl fs_irq_slot(%rip), %eax\n"
    " lock incl fs_count(,%rax,4)\n"
    " leaq 8(%rsp), %rax\n"
    " pushq %rcx\n"
    " movl fs_irq_slot(%rip), %ecx\n"
    " movq %rax, fs_rsp(,%rcx,8)\n"
    " popq %rcx\n"
    " popq %rax\n"
    " pushq %rax\n"
    " movabsq $0xfee000b0, %rax\n"
    " movl $0, (%rax)\n"            /* EOI */
    " popq %rax\n"
    " iretq\n");

static void set_gate(unsigned vector, void *entry)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
	uint16_t cs;
	uint64_t a = (uint64_t)entry;

	asm volatile("sidt %0" : "=m"(idtr));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	volatile uint64_t *g = (volatile uint64_t *)(idtr.base + vector * 16);
	/* A 64-bit interrupt gate, present, DPL 0, no IST (SDM vol. 3A §6.14.1). */
	g[0] = (a & 0xffff) | (uint64_t)cs << 16 | 0x8eull << 40 | (a >> 16 & 0xffff) << 48;
	g[1] = a >> 32;
}

/* Runs "insn" (one instruction, ICR write or UD2, with %eax = icr_lo and
 * %rdx = the ICR's address) with RSP at top, IF as if_on says. */
static void on_stack(unsigned long top, uint32_t icr_lo, bool ud, bool if_on)
{
	volatile uint32_t *icr = (volatile uint32_t *)(LAPIC_BASE + APIC_ICR_LO);

	if (ud)
		asm volatile("movq %%rsp, %%rbx\n movq %0, %%rsp\n"
			     "ud2\n"
			     "movq %%rbx, %%rsp"
			     :: "r"(top) : "rbx", "memory");
	else if (icr_lo & ICR_LATE_STI) {
		asm volatile("cli\n movl %1, (%2)\n"
			     "movq %%rsp, %%rbx\n movq %0, %%rsp\n"
			     "sti\n nop\n cli\n"
			     "movq %%rbx, %%rsp"
			     :: "r"(top), "r"(icr_lo & ~ICR_LATE_STI), "r"(icr) : "rbx", "memory");
	} else if (if_on)
		asm volatile("movq %%rsp, %%rbx\n movq %0, %%rsp\n"
			     "sti\n movl %1, (%2)\n nop\n cli\n"
			     "movq %%rbx, %%rsp"
			     :: "r"(top), "r"(icr_lo), "r"(icr) : "rbx", "memory");
	else
		asm volatile("movq %%rsp, %%rbx\n movq %0, %%rsp\n"
			     "movl %1, (%2)\n nop\n"
			     "movq %%rbx, %%rsp"
			     :: "r"(top), "r"(icr_lo), "r"(icr) : "rbx", "memory");
}

static void one(unsigned i, const char *what, uint32_t icr_lo, bool ud, bool if_on)
{
	unsigned long base = FRESH(i), top = base + CHUNK;

	on_stack(top, icr_lo, ud, if_on);
	/* The CPU aligns RSP down to 16 and pushes SS, RSP, RFLAGS, CS, RIP
	 * (SDM vol. 3A §6.14.2): the frame is the chunk's last 40 bytes. */
	guest_printf("freshstack: %s on a fresh stack: %u delivered, frame at top-%lu\n",
		     what, fs_count[i], top - fs_rsp[i]);
	guest_check_eq(what, fs_count[i], 1);
	guest_check_eq("its frame's place below the chunk's top", top - fs_rsp[i], 40);
	/* The rest of the chunk came zeroed. */
	const volatile uint64_t *p = (const volatile uint64_t *)base;
	unsigned long bad = 0;
	for (unsigned long k = 0; k < (CHUNK - 64) / 8; k++)
		bad += p[k] != 0;
	guest_check_eq("non-zero quadwords in the fresh chunk", bad, 0);
}

void test_main(void)
{
	irq_init();
	time_init();
	if (!lapic_enable())
		return;
	set_gate(VEC_FRESH, fs_irq_entry);
	set_gate(2, fs_nmi_entry);
	set_gate(6, fs_ud_entry);
	/* Self: physical destination, this CPU's APIC id (SDM vol. 3A §11.6.1). */
	*(volatile uint32_t *)(LAPIC_BASE + APIC_ICR_HI) = lapic_id() << 24;
	one(0, "interrupt", VEC_FRESH, false, true);
	one(1, "NMI", 0x400 | 2, false, false);         /* delivery mode 100b: NMI */
	one(2, "#UD", 0, true, false);
	fs_irq_slot = 3;
	one(3, "interrupt at STI", VEC_FRESH | ICR_LATE_STI, false, false);
}
