/*
 * hostile-ipi: a 2-vCPU guest that floods its own local APICs with
 * interrupts for secs=N seconds of its own clock (default 8), while the
 * manifest pins well-behaved neighbours beside each of its vCPUs; they
 * must finish long before it does.  storm= picks the flood:
 *  - self: vCPU 0 sends itself fixed IPIs as fast as the ICR takes them;
 *  - nmi: vCPU 0 sends NMIs to vCPU 1, by destination and by the
 *    all-excluding-self shorthand, while vCPU 1 sits in HLT;
 *  - bcast: vCPU 0 broadcasts fixed IPIs to all including itself;
 *  - nmiwin: NMIs one at a time to vCPU 1, which spins without exiting
 *    and holds each NMI's handler until the next NMI was sent, so every
 *    NMI after the first arrives while NMIs are blocked and may be
 *    delivered only at the IRET that ends the blocking (SDM vol. 3A
 *    §6.7.1; the NMI window: APM vol. 2 §15.21.4 IRET intercept, SDM
 *    vol. 3C §26.7.6 NMI-window exiting).  Each must be taken within
 *    2 s of the guest's clock; the count is the NMIs sent (nmis=N).
 * Every IPI is counted where it lands; the guest ends SUCCESS with
 *     hostile-ipi: storm S: N sent, M taken
 * once at least one was taken (SDM vol. 3A §11.6.1, ICR; §6.7 NMI).
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "hostile-ipi";

#define VEC_STORM       0x50

enum storm { STORM_SELF, STORM_NMI, STORM_BCAST, STORM_NMIWIN };

static volatile uint64_t taken, nmis, nmi_sent;
static volatile bool ap_ready, done, spin;

static void storm_irq(unsigned vector)
{
	(void)vector;
	__atomic_add_fetch(&taken, 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

/* The NMI gate: count and IRET (which ends NMI blocking, §6.7.1).  For
 * nmiwin it first waits, bounded, until the next NMI was sent. */
extern char nmi_entry[];
__asm__(".text\n"
	"nmi_entry:\n"
	"	push %rax\n"
	"	push %rcx\n"
	"	lock incq nmis(%rip)\n"
	"	cmpb $0, spin(%rip)\n"
	"	je 2f\n"
	"	mov $100000000, %ecx\n"
	"1:	mov nmi_sent(%rip), %rax\n"
	"	cmp nmis(%rip), %rax\n"
	"	ja 2f\n"
	"	pause\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"2:	pop %rcx\n"
	"	pop %rax\n"
	"	iretq\n");

struct idt_ptr { uint16_t limit; uint64_t base; } __attribute__((packed));

static void set_nmi_gate(void)
{
	struct idt_ptr p;
	uint16_t cs;

	asm volatile("sidt %0" : "=m"(p));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	uint32_t *g = (uint32_t *)(uintptr_t)(p.base + 2 * 16);
	uint64_t a = (uint64_t)(uintptr_t)nmi_entry;
	g[0] = (uint32_t)(a & 0xffff) | ((uint32_t)cs << 16);
	g[1] = (uint32_t)(a & 0xffff0000) | 0x8e00;     /* present, DPL 0, interrupt gate */
	g[2] = (uint32_t)(a >> 32);
	g[3] = 0;
}

static void ap_main(unsigned cpu)
{
	(void)cpu;
	irq_load_idt();
	lapic_enable();
	ap_ready = true;
	while (!done)
		if (spin)
			asm volatile("pause");          /* no exit of its own */
		else
			irq_wait();
	for (;;)
		asm volatile("cli; hlt");
}

/* nmiwin: NMI n+1 is sent while vCPU 1 is in the handler of NMI n. */
static void nmi_window(uint64_t count)
{
	uint64_t n;

	spin = true;
	for (n = 1; n <= count; n++) {
		lapic_send_ipi(smp_apic_ids[1], APIC_DM_NMI);
		nmi_sent = n;
		uint64_t end = rdtsc() + us_to_tsc(2000000);
		while (nmis < n && rdtsc() < end)
			asm volatile("pause");
		if (nmis < n) {
			guest_fail("NMI %lu not taken within 2 s (%lu taken)", n, nmis);
			break;
		}
	}
	nmi_sent = count + 1;                   /* lets the last handler return */
	done = true;
	guest_printf("hostile-ipi: storm nmiwin: %lu sent, %lu taken\n", n > count ? count : n, nmis);
}

void test_main(void)
{
	struct madt_info m;
	uint64_t secs = cmdline_u64("secs", 8), sent = 0;
	char name[16] = "self";
	cmdline_get(mb2_cmdline(boot_info), "storm", name, sizeof(name));
	enum storm s = !strcmp(name, "nmi") ? STORM_NMI : !strcmp(name, "bcast") ? STORM_BCAST :
		       !strcmp(name, "nmiwin") ? STORM_NMIWIN : STORM_SELF;

	irq_init();
	irq_set_handler(VEC_STORM, storm_irq);
	set_nmi_gate();
	if (!time_init() || !lapic_enable() || !madt_read(&m))
		return;
	if (s != STORM_SELF) {
		if (smp_start_aps(&m, ap_main) < 2) {
			guest_fail("storm needs a second vCPU");
			return;
		}
		while (!ap_ready)
			asm volatile("pause");
	}
	if (s == STORM_NMIWIN) {
		nmi_window(cmdline_u64("nmis", 2000));
		return;
	}
	guest_printf("hostile-ipi: storm %s for %lu s\n", name, secs);
	uint64_t end = rdtsc() + us_to_tsc(secs * 1000000);
	irq_enable();
	while (rdtsc() < end) {
		for (unsigned i = 0; i < 64; i++, sent++) {
			if (s == STORM_SELF)
				lapic_send_ipi(0, ICR_SELF | ICR_FIXED | VEC_STORM);
			else if (s == STORM_BCAST)
				lapic_send_ipi(0, ICR_ALL_INCL | ICR_FIXED | VEC_STORM);
			else if (i & 1)
				lapic_send_ipi(smp_apic_ids[1], APIC_DM_NMI);
			else
				lapic_send_ipi(0, ICR_ALL_EXCL | APIC_DM_NMI);
		}
	}
	irq_disable();
	done = true;
	if (s != STORM_SELF)
		lapic_send_ipi(smp_apic_ids[1], ICR_FIXED | VEC_STORM);        /* wake it */
	uint64_t got = s == STORM_NMI ? nmis : taken;
	guest_printf("hostile-ipi: storm %s: %lu sent, %lu taken\n", name,
		     sent, got);
	if (!got)
		guest_fail("no IPI of the storm arrived");
}
