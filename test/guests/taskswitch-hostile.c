/*
 * taskswitch-hostile: a 32-bit guest that attacks the emulation of hardware
 * task switches (core/taskswitch.c on VT-x and under shadow paging).
 *
 * mode=faults (the default): JMP, IRET with NT and a task gate to TSSs that
 * are wrong in one way each.  Every case must raise the exception, with the
 * error code, of Intel SDM vol. 3A Table 7-1 and of the JMP/IRET pseudo-code
 * in vol. 2 (AMD APM vol. 2 §12.3): before the commit point in the old task,
 * after it in the new one.  #TS, #NP, #SS, #GP and #PF go through task gates
 * to handler tasks, as the SDM advises (§7.3: the new task's segment
 * registers may be unusable); a handler records what it got and returns to
 * the main task.  Last, an old TSS whose saved fields reach a read-only
 * page: the #PF comes before anything of the old task changed.
 *
 * quirk=tcg: QEMU 7.2's TCG (SVM guests there switch tasks without the
 * intercept) raises #NP, not #SS, for a new task's SS that is not present.
 * quirk=nocr2: Bochs 2.7's VMRUN does not load the VMCB's CR2, so a #PF
 * that the hypervisor raises reaches the guest with its CR2 unchanged.
 *
 * The other modes leave the guest no way on, and must end only this VM:
 *   mode=cr3      a new task whose CR3 lies outside RAM;
 *   mode=tss-ram  a TSS that straddles the end of RAM;
 *   mode=gdt-ram  a GDT whose end lies past the end of RAM, and a new task
 *                 whose DS selector indexes that part;
 *   mode=idt-ram  an IDT outside RAM, and an exception.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "taskswitch-hostile";

#define SEL_CODE        0x08
#define SEL_DATA        0x10
#define SEL_A           0x18            /* the main task */
#define SEL_T           0x20            /* the target of each case */
#define SEL_H           0x28            /* the handler tasks: #TS #NP #SS #GP #PF */
#define SEL_GATE        0x50            /* a task gate in the GDT */
#define SEL_CODE_NP     0x58            /* code, not present */
#define SEL_DATA_NP     0x60            /* data, not present */
#define SEL_CODE_XO     0x68            /* code, execute-only */
#define SEL_LDT_NP      0x70            /* an LDT, not present */
#define SEL_CODE3       0x78            /* code, DPL 3 */
#define SEL_CODE_SMALL  0x80            /* code, limit 0xfff */
#define SEL_DATA_RO     0x88            /* data, read-only */
#define SEL_BEYOND      0xf8            /* beyond the GDT's limit */
#define NR_GDT          18
#define NR_H            5
#define FL_NT           (1u << 14)
#define CR4_PSE         (1ul << 4)
#define EXC_TS          10
#define EXC_NP          11
#define EXC_SS          12
#define PF_LA           0x40000000u     /* a 4 MiB page left not present */

/* 32-bit TSS, SDM vol. 3A Figure 7-2. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
} __attribute__((packed));

static uint64_t gdt[NR_GDT] __attribute__((aligned(16)));
static struct tss32 tss_a, tss_t, tss_h[NR_H];
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint8_t stack_t[4096] __attribute__((aligned(16)));
static uint8_t stack_h[NR_H][4096] __attribute__((aligned(16)));
static uint32_t *idt, idt_saved[NR_H][2];
static uint32_t ram_end;
static bool quirk_tcg, quirk_nocr2;

/* What a handler task saw. */
static volatile uint32_t got_vec, got_err, got_link, got_cr2;

static uint64_t desc(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

/* An available 32-bit TSS (SDM vol. 3A §7.2.2). */
static uint64_t tss_desc(struct tss32 *t, uint32_t limit)
{
	return desc((uint32_t)(uintptr_t)t, limit, 0x89, 0);
}

static void lgdt(void *base, uint16_t limit)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } p = {
		limit, (uint32_t)(uintptr_t)base };
	asm volatile("lgdt %0" :: "m"(p) : "memory");
}

/* The main task's switch, and where it resumes however the case ended. */
void try_switch(uint32_t how, uint32_t sel);
extern char try_resume[], t_entry[], h_entry[];
asm(".data\n"
    "far_ptr:\t.long 0\n\t.word 0\n"
    ".text\n"
    ".globl try_switch\n"
    "try_switch:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl 24(%esp), %edx\n\t"
    "movw %dx, far_ptr+4\n\t"
    "cmpl $1, 20(%esp)\n\t"
    "je 1f\n\t"
    "ljmp *far_ptr\n\t"
    "jmp try_resume\n"
    "1:\tpushfl\n\t"                    /* IRET with NT: a task return */
    "orl $0x4000, (%esp)\n\t"
    "popfl\n\t"
    "iret\n"
    ".globl try_resume\n"
    "try_resume:\n\t"
    "pushfl\n\t"
    "andl $~0x4000, (%esp)\n\t"
    "popfl\n\t"
    "clts\n\t"
    "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\t"
    "ret\n"
    /* The target task when it loads: straight back to the main task. */
    ".globl t_entry\n"
    "t_entry:\n\t"
    "ljmp $0x18, $0\n"
    /* A handler task: EAX holds its vector, the stack its error code. */
    ".globl h_entry\n"
    "h_entry:\n\t"
    "pushl (%esp)\n\t"
    "pushl %eax\n\t"
    "call h_main\n"
    "2:\tjmp 2b\n");

void h_main(uint32_t vec, uint32_t err);
void h_main(uint32_t vec, uint32_t err)
{
	struct tss32 *self = &tss_h[vec - EXC_TS];

	got_vec = vec;
	got_err = err;
	got_link = self->link;
	got_cr2 = (uint32_t)read_cr2();
	tss_a.eip = (uint32_t)(uintptr_t)try_resume;
	if (self->link == SEL_A)                /* a fault in the main task */
		asm volatile("iret" ::: "memory");
	/* A fault in the new task: it stays behind, not busy; back to A. */
	gdt[self->link >> 3] &= ~(1ull << 41);
	asm volatile("ljmp %0, $0" :: "i"(SEL_A) : "memory");
}

static void task_init(struct tss32 *t, void *entry, uint8_t *stack)
{
	memset(t, 0, sizeof(*t));
	t->eip = (uint32_t)(uintptr_t)entry;
	t->esp = (uint32_t)(uintptr_t)(stack + 4096 - 16);
	t->eflags = 0x2;
	t->cs = SEL_CODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_DATA;
	t->cr3 = (uint32_t)(uintptr_t)pd;
	t->iomap = sizeof(*t);
}

/* A fresh target and fresh handlers before each case. */
static void reset(void)
{
	task_init(&tss_t, t_entry, stack_t);
	gdt[SEL_T >> 3] = tss_desc(&tss_t, sizeof(tss_t) - 1);
	for (int i = 0; i < NR_H; i++) {
		task_init(&tss_h[i], h_entry, stack_h[i]);
		tss_h[i].eax = EXC_TS + i;
		gdt[(SEL_H >> 3) + i] = tss_desc(&tss_h[i], sizeof(tss_h[i]) - 1);
	}
	gdt[SEL_GATE >> 3] = (uint64_t)SEL_T << 16 | 0x85ull << 40;
	tss_a.link = 0;
	got_vec = got_err = got_link = got_cr2 = ~0u;
}

static void setup(void)
{
	const uint32_t *mbi = (const uint32_t *)boot_info;

	ram_end = (mbi[0] & 1) ? (mbi[2] + 1024) * 1024 : 16u << 20;
	gdt[1] = desc(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = desc(0, 0xfffff, 0x92, 0xc);
	gdt[SEL_CODE_NP >> 3] = desc(0, 0xfffff, 0x1a, 0xc);
	gdt[SEL_DATA_NP >> 3] = desc(0, 0xfffff, 0x12, 0xc);
	gdt[SEL_CODE_XO >> 3] = desc(0, 0xfffff, 0x98, 0xc);
	gdt[SEL_LDT_NP >> 3] = desc(0, 0xff, 0x02, 0);
	gdt[SEL_CODE3 >> 3] = desc(0, 0xfffff, 0xfa, 0xc);
	gdt[SEL_CODE_SMALL >> 3] = desc(0, 0xfff, 0x9a, 0x4);
	gdt[SEL_DATA_RO >> 3] = desc(0, 0xfffff, 0x90, 0xc);
	memset(&tss_a, 0, sizeof(tss_a));
	tss_a.cr3 = (uint32_t)(uintptr_t)pd;
	tss_a.iomap = sizeof(tss_a);
	gdt[SEL_A >> 3] = tss_desc(&tss_a, sizeof(tss_a) - 1);
	reset();
	lgdt(gdt, sizeof(gdt) - 1);
	asm volatile("ljmp %0, $1f\n1:\t"
		     "movw %w1, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%ss\n\t"
		     "movw %%ax, %%fs\n\tmovw %%ax, %%gs\n\t"
		     "ltr %w2"
		     :: "i"(SEL_CODE), "r"(SEL_DATA), "r"(SEL_A) : "eax", "memory");

	/* 4 MiB identity pages for the first 64 MiB; PF_LA not present, the
	 * page before it on the last 4 MiB of RAM. */
	for (uint32_t i = 0; i < 16; i++)
		pd[i] = (i << 22) | 0x83;
	pd[(PF_LA >> 22) - 1] = (ram_end - (4u << 20)) | 0x83;
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uintptr_t)pd);
	write_cr0(read_cr0() | CR0_PG);

	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } ip;
	asm volatile("sidt %0" : "=m"(ip));
	idt = (uint32_t *)(uintptr_t)ip.base;
}

/* Task gates for #TS..#PF (SDM vol. 3A §7.11), or the library's gates back. */
static void handler_gates(bool on)
{
	for (int i = 0; i < NR_H; i++) {
		uint32_t *g = &idt[(EXC_TS + i) * 2];
		if (on) {
			idt_saved[i][0] = g[0];
			idt_saved[i][1] = g[1];
			g[0] = (uint32_t)(SEL_H + 8 * i) << 16;
			g[1] = 0x8500;
		} else {
			g[0] = idt_saved[i][0];
			g[1] = idt_saved[i][1];
		}
	}
}

enum { JMP = 0, IRET = 1 };
enum { NONE = ~0u };
enum { IN_OLD, IN_NEW };

struct tcase {
	const char *what;
	void (*mutate)(void);
	uint32_t how, sel;
	uint32_t vec, err;
	int where;              /* the task the exception belongs to */
};

static void m_none(void) {}
static void m_limit(void) { gdt[SEL_T >> 3] = tss_desc(&tss_t, 0x66); }
static void m_unmapped(void) { gdt[SEL_T >> 3] = tss_desc((void *)PF_LA, 0x67); }
static void m_straddle(void) { gdt[SEL_T >> 3] = tss_desc((void *)(PF_LA - 0x40), 0x67); }
static void m_busy(void) {}
static void m_np(void) { gdt[SEL_T >> 3] &= ~(1ull << 47); }
static void m_link_avail(void) { tss_a.link = SEL_T; }
static void m_link_beyond(void) { tss_a.link = SEL_BEYOND; }
static void m_gate_beyond(void) { gdt[SEL_GATE >> 3] = (uint64_t)SEL_BEYOND << 16 | 0x85ull << 40; }
static void m_gate_code(void) { gdt[SEL_GATE >> 3] = (uint64_t)SEL_CODE << 16 | 0x85ull << 40; }
static void m_ldt_ti(void) { tss_t.ldt = 0x0c; }
static void m_ldt_data(void) { tss_t.ldt = SEL_DATA; }
static void m_ldt_beyond(void) { tss_t.ldt = SEL_BEYOND; }
static void m_ldt_np(void) { tss_t.ldt = SEL_LDT_NP; }
static void m_cs_null(void) { tss_t.cs = 0; }
static void m_cs_data(void) { tss_t.cs = SEL_DATA; }
static void m_cs_np(void) { tss_t.cs = SEL_CODE_NP; }
static void m_cs_dpl(void) { tss_t.cs = SEL_CODE3; }
static void m_cs_beyond(void) { tss_t.cs = SEL_BEYOND; }
static void m_ss_null(void) { tss_t.ss = 0; }
static void m_ss_code(void) { tss_t.ss = SEL_CODE; }
static void m_ss_np(void) { tss_t.ss = SEL_DATA_NP; }
static void m_ss_ro(void) { tss_t.ss = SEL_DATA_RO; }
static void m_ss_rpl(void) { tss_t.ss = SEL_DATA | 3; }
static void m_ds_beyond(void) { tss_t.ds = SEL_BEYOND; }
static void m_ds_system(void) { tss_t.ds = SEL_H; }
static void m_ds_np(void) { tss_t.ds = SEL_DATA_NP; }
static void m_ds_xo(void) { tss_t.ds = SEL_CODE_XO; }
static void m_gs_code(void) { tss_t.gs = SEL_CODE3 | 3; }
static void m_eip(void) { tss_t.cs = SEL_CODE_SMALL; tss_t.eip = 0x2000; }

static const struct tcase cases[] = {
	{ "a good task", m_none, JMP, SEL_T, NONE, 0, IN_OLD },
	/* The new TSS descriptor and its limit: before the commit point. */
	{ "TSS limit 0x66", m_limit, JMP, SEL_T, EXC_TS, SEL_T, IN_OLD },
	{ "TSS not present", m_np, JMP, SEL_T, EXC_NP, SEL_T, IN_OLD },
	{ "JMP to a busy TSS", m_busy, JMP, SEL_A, EXC_GP, SEL_A, IN_OLD },
	{ "TSS selector beyond the GDT", m_none, JMP, SEL_BEYOND, EXC_GP, SEL_BEYOND, IN_OLD },
	{ "IRET to an available TSS", m_link_avail, IRET, 0, EXC_TS, SEL_T, IN_OLD },
	{ "IRET to a link beyond the GDT", m_link_beyond, IRET, 0, EXC_TS, SEL_BEYOND, IN_OLD },
	{ "task gate to a selector beyond the GDT", m_gate_beyond, JMP, SEL_GATE, EXC_GP,
	  SEL_BEYOND, IN_OLD },
	{ "task gate to a code segment", m_gate_code, JMP, SEL_GATE, EXC_GP, SEL_CODE, IN_OLD },
	{ "task gate to a good task", m_none, JMP, SEL_GATE, NONE, 0, IN_OLD },
	/* The new TSS itself not readable: #PF, before the commit point. */
	{ "TSS in a page not present", m_unmapped, JMP, SEL_T, EXC_PF, 0, IN_OLD },
	{ "TSS straddling into a page not present", m_straddle, JMP, SEL_T, EXC_PF, 0, IN_OLD },
	/* The new task's LDT and segments: after the commit point. */
	{ "LDT selector with TI", m_ldt_ti, JMP, SEL_T, EXC_TS, 0x0c, IN_NEW },
	{ "LDT selector of a data segment", m_ldt_data, JMP, SEL_T, EXC_TS, SEL_DATA, IN_NEW },
	{ "LDT selector beyond the GDT", m_ldt_beyond, JMP, SEL_T, EXC_TS, SEL_BEYOND, IN_NEW },
	{ "LDT not present", m_ldt_np, JMP, SEL_T, EXC_TS, SEL_LDT_NP, IN_NEW },
	{ "CS null", m_cs_null, JMP, SEL_T, EXC_TS, 0, IN_NEW },
	{ "CS a data segment", m_cs_data, JMP, SEL_T, EXC_TS, SEL_DATA, IN_NEW },
	{ "CS not present", m_cs_np, JMP, SEL_T, EXC_NP, SEL_CODE_NP, IN_NEW },
	{ "CS DPL 3 with RPL 0", m_cs_dpl, JMP, SEL_T, EXC_TS, SEL_CODE3, IN_NEW },
	{ "CS beyond the GDT", m_cs_beyond, JMP, SEL_T, EXC_TS, SEL_BEYOND, IN_NEW },
	{ "SS null", m_ss_null, JMP, SEL_T, EXC_TS, 0, IN_NEW },
	{ "SS a code segment", m_ss_code, JMP, SEL_T, EXC_TS, SEL_CODE, IN_NEW },
	{ "SS not present", m_ss_np, JMP, SEL_T, EXC_SS, SEL_DATA_NP, IN_NEW },
	{ "SS read-only", m_ss_ro, JMP, SEL_T, EXC_TS, SEL_DATA_RO, IN_NEW },
	{ "SS RPL 3 at CPL 0", m_ss_rpl, JMP, SEL_T, EXC_TS, SEL_DATA, IN_NEW },
	{ "DS beyond the GDT", m_ds_beyond, JMP, SEL_T, EXC_TS, SEL_BEYOND, IN_NEW },
	{ "DS a TSS descriptor", m_ds_system, JMP, SEL_T, EXC_TS, SEL_H, IN_NEW },
	{ "DS not present", m_ds_np, JMP, SEL_T, EXC_NP, SEL_DATA_NP, IN_NEW },
	{ "DS execute-only code", m_ds_xo, JMP, SEL_T, EXC_TS, SEL_CODE_XO, IN_NEW },
	{ "GS a readable DPL 3 code segment", m_gs_code, JMP, SEL_T, NONE, 0, IN_OLD },
	{ "EIP beyond CS's limit", m_eip, JMP, SEL_T, EXC_GP, 0, IN_NEW },
};

static void run_case(const struct tcase *c)
{
	char what[96];

	/* QEMU 7.2's TCG raises #NP there (quirk=tcg). */
	uint32_t vec = quirk_tcg && c->mutate == m_ss_np ? EXC_NP : c->vec;

	reset();
	c->mutate();
	try_switch(c->how, c->sel);
	guest_snprintf(what, sizeof(what), "%s: vector", c->what);
	if (!guest_check_eq(what, got_vec, vec) || vec == NONE)
		return;
	guest_snprintf(what, sizeof(what), "%s: error code", c->what);
	guest_check_eq(what, got_err, c->err);
	guest_snprintf(what, sizeof(what), "%s: in the %s task", c->what,
		       c->where == IN_OLD ? "old" : "new");
	guest_check_eq(what, got_link, c->where == IN_OLD ? SEL_A : SEL_T);
	/* Which byte of the TSS faults first is the CPU's choice: CR2 is in
	 * the page not present, within the TSS's 0x68 bytes. */
	if (c->vec == EXC_PF && !quirk_nocr2 && (got_cr2 < PF_LA || got_cr2 > PF_LA + 0x67))
		guest_fail("%s: CR2 0x%x, not in the TSS's page not present", c->what,
			   (unsigned)got_cr2);
}

/*
 * An old TSS whose saved fields run into a read-only page (CR0.WP = 1):
 * the switch away from it raises #PF before it changes anything (SDM vol.
 * 3A §7.3 step 3), so the old task is still busy and its TSS as it was.
 * The #PF goes to the library's interrupt gate (a task gate would save the
 * old task again); the old task then makes the page writable and leaves.
 */
extern char t2_entry[], t2_jmp[], t2_fixup[];
static struct trap_info t2_trap;
static uint32_t t2_busy, t2_eip;

void t2_after(void);
void t2_after(void)
{
	const struct tss32 *t2 = (const struct tss32 *)(uintptr_t)(PF_LA - 0x30);

	exception_check("old TSS read-only: JMP away", EXC_PF, 3, &t2_trap);
	t2_busy = (uint32_t)(gdt[SEL_T >> 3] >> 41) & 1;
	t2_eip = t2->eip;
	pd[PF_LA >> 22] |= 2;
	invlpg(PF_LA);
	asm volatile("ljmp %0, $0" :: "i"(SEL_A) : "memory");
}

asm(".text\n"
    ".globl t2_entry\n"
    "t2_entry:\n"
    ".globl t2_jmp\n"
    "t2_jmp:\n\t"
    "ljmp $0x18, $0\n"
    ".globl t2_fixup\n"
    "t2_fixup:\n\t"
    "call t2_after\n"
    "3:\tjmp 3b\n\t"
    EXTABLE("t2_jmp", "t2_fixup"));

static void old_tss_readonly(void)
{
	struct tss32 img;
	uint32_t frame = ram_end - (8u << 20);

	/* The TSS at PF_LA - 0x30: 0x30 bytes at the end of the page before
	 * PF_LA, the rest on a read-only page there. */
	task_init(&img, t2_entry, stack_t);
	memcpy((void *)(uintptr_t)(ram_end - 0x30), &img, 0x30);
	memcpy((void *)(uintptr_t)frame, (uint8_t *)&img + 0x30, sizeof(img) - 0x30);
	pd[PF_LA >> 22] = frame | 0x81;
	invlpg(PF_LA);
	write_cr0(read_cr0() | CR0_WP);
	reset();
	gdt[SEL_T >> 3] = tss_desc((struct tss32 *)(uintptr_t)(PF_LA - 0x30), 0x67);
	expect_exception(EXC_PF);
	try_switch(JMP, SEL_T);
	write_cr0(read_cr0() & ~CR0_WP);
	pd[PF_LA >> 22] = 0;
	invlpg(PF_LA);
	if (!quirk_nocr2 && (t2_trap.cr2 < PF_LA || t2_trap.cr2 > PF_LA + 0x37))
		guest_fail("old TSS read-only: CR2 0x%lx, not in its read-only page", t2_trap.cr2);
	guest_check_eq("old TSS read-only: still busy after the #PF", t2_busy, 1);
	guest_check_eq("old TSS read-only: its EIP not yet saved", t2_eip,
		       (uint32_t)(uintptr_t)t2_entry);
}

static void faults(void)
{
	handler_gates(true);
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	handler_gates(false);
	old_tss_readonly();
	guest_check_eq("TR after the cases", ({ uint16_t s; asm volatile("str %0" : "=r"(s)); s; }),
		       SEL_A);
	guest_printf("%s: %u cases, each with the exception and error code of SDM Table 7-1\n",
		     test_name, (unsigned)ARRAY_SIZE(cases));
}

/* The modes that end the VM: the switch must not come back. */
static void fatal(const char *mode)
{
	if (!strcmp(mode, "cr3")) {
		guest_printf("%s: a new task with CR3 0x%x, outside RAM\n", test_name, ram_end + 0x100000);
		tss_t.cr3 = ram_end + 0x100000;
		try_switch(JMP, SEL_T);
	} else if (!strcmp(mode, "tss-ram")) {
		struct tss32 *t = (struct tss32 *)(uintptr_t)(ram_end - 0x40);
		guest_printf("%s: a TSS at 0x%x, across the end of RAM\n", test_name, ram_end - 0x40);
		memset(t, 0, 0x40);
		gdt[SEL_T >> 3] = tss_desc(t, 0x67);
		try_switch(JMP, SEL_T);
	} else if (!strcmp(mode, "gdt-ram")) {
		/* The first five descriptors in RAM, the rest past its end. */
		uint64_t *g = (uint64_t *)(uintptr_t)(ram_end - 5 * 8);
		guest_printf("%s: a GDT at 0x%x, across the end of RAM\n", test_name, ram_end - 5 * 8);
		tss_t.ds = 5 * 8;
		memcpy(g, gdt, 5 * 8);
		lgdt(g, 0xff);
		try_switch(JMP, SEL_T);
	} else if (!strcmp(mode, "idt-ram")) {
		struct __attribute__((packed)) { uint16_t limit; uint32_t base; } p = { 0x7ff, ram_end };
		guest_printf("%s: an IDT at 0x%x, outside RAM\n", test_name, ram_end);
		asm volatile("lidt %0\n\tud2" :: "m"(p) : "memory");
	} else {
		guest_fail("unknown mode=%s", mode);
		return;
	}
	guest_fail("mode=%s came back", mode);
}

void test_main(void)
{
	const uint32_t *mbi = (const uint32_t *)boot_info;
	const char *cmdline = (mbi[0] & 4) ? (const char *)(uintptr_t)mbi[4] : "";
	char mode[16] = "faults";

	char quirk[8] = "";

	cmdline_get(cmdline, "mode", mode, sizeof(mode));
	if (cmdline_get(cmdline, "quirk", quirk, sizeof(quirk))) {
		quirk_tcg = !strcmp(quirk, "tcg");
		quirk_nocr2 = !strcmp(quirk, "nocr2");
	}
	setup();
	if (!strcmp(mode, "faults"))
		faults();
	else
		fatal(mode);
}
