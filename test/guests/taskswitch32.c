/*
 * taskswitch32: hardware task switches as a 32-bit OS uses them (Intel SDM
 * vol. 3A ch. 7), with paging on and each task on its own page directory:
 *  1. JMP to a TSS and JMP back: the registers saved and loaded, the busy
 *     flags moved, NT clear, CR0.TS set, the new task's CR3 in force;
 *  2. CALL to a TSS and IRET back: NT and the back link;
 *  3. a #DF through a task gate, as Linux i386 handles it: a #GP whose
 *     IDT gate is not present becomes #DF, which switches to the #DF task
 *     with error code 0 pushed on its stack; that task mends the IDT and
 *     returns to the faulted task with IRET.
 * Runs under nested paging (the CPU switches) and under shadow paging
 * (kasane switches, core/taskswitch.c).  With "pae" on its command line
 * the tasks run on PAE paging, TEST_LA under a PDPTE of their own: the new
 * task's PDPTEs must be loaded with its CR3 (SDM vol. 3A §4.4.1).
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

const char test_name[] = "taskswitch32";

#define SEL_CODE        0x08
#define SEL_DATA        0x10
#define SEL_A           0x18            /* the main task */
#define SEL_B           0x20            /* JMP target */
#define SEL_C           0x28            /* the #DF task */
#define SEL_D           0x30            /* CALL target */
#define CR0_TS          (1ul << 3)
#define CR4_PSE         (1ul << 4)
#define FL_NT           (1ul << 14)
#define TEST_LA         0x40000000u     /* a 4 MiB page, different per task */
#define FRAME_A         0x800000u
#define FRAME_B         0xc00000u
#define MAGIC_A         0xaaaa5555u
#define MAGIC_B         0xbbbb6666u

/* 32-bit TSS, SDM vol. 3A Figure 7-2. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
} __attribute__((packed));

static uint64_t gdt[8] __attribute__((aligned(16)));
static struct tss32 tss[4] __attribute__((aligned(128)));     /* A, B, C, D */
static uint32_t pd_a[1024] __attribute__((aligned(4096)));
static uint32_t pd_b[1024] __attribute__((aligned(4096)));
/* PAE: the first GiB shared, the second (TEST_LA's) per task. */
static uint64_t pdpt_a[4] __attribute__((aligned(32)));
static uint64_t pdpt_b[4] __attribute__((aligned(32)));
static uint64_t pae_pd0[512] __attribute__((aligned(4096)));
static uint64_t pae_pd1_a[512] __attribute__((aligned(4096)));
static uint64_t pae_pd1_b[512] __attribute__((aligned(4096)));
static uint32_t cr3_a, cr3_b;
static uint8_t stacks[3][4096] __attribute__((aligned(16)));

/* What the other tasks saw, for the main task to check. */
static volatile uint32_t b_tr, b_seen, b_flags, b_cr0, b_busy;
static volatile uint32_t d_tr, d_flags, d_link, d_busy;
static volatile uint32_t c_tr, c_err, c_flags, c_link, c_busy, c_cr0, c_ran;
static uint32_t idt_gp_hi, *idt;

static uint16_t str(void)
{
	uint16_t s;
	asm volatile("str %0" : "=r"(s));
	return s;
}

static uint32_t eflags(void)
{
	uint32_t f;
	asm volatile("pushf; pop %0" : "=r"(f));
	return f;
}

/* Busy flags of the four TSS descriptors, bit i for task i (type bit 1). */
static uint32_t busy(void)
{
	uint32_t b = 0;
	for (int i = 0; i < 4; i++)
		b |= (uint32_t)((gdt[3 + i] >> 41) & 1) << i;
	return b;
}

static uint32_t rd(uint32_t la)
{
	return *(volatile uint32_t *)la;
}

static void task_b(void)
{
	b_tr = str();
	b_seen = rd(TEST_LA);
	b_flags = eflags();
	b_cr0 = read_cr0();
	b_busy = busy();
	asm volatile("ljmp %0, $0" :: "i"(SEL_A) : "memory");
	for (;;)
		;
}

static void task_d(void)
{
	d_tr = str();
	d_flags = eflags();
	d_link = tss[3].link;
	d_busy = busy();
	asm volatile("iret" ::: "memory");
	for (;;)
		;
}

extern char df_resume[];

/* The #DF task: entered with the error code on its stack. */
void task_c_main(uint32_t err);
void task_c_main(uint32_t err)
{
	c_ran = 1;
	c_err = err;
	c_tr = str();
	c_flags = eflags();
	c_link = tss[2].link;
	c_busy = busy();
	c_cr0 = read_cr0();
	idt[13 * 2 + 1] = idt_gp_hi;            /* the #GP gate present again */
	tss[0].eip = (uint32_t)(uintptr_t)df_resume;
	asm volatile("iret" ::: "memory");
	for (;;)
		;
}

asm(".text\n"
    "task_c_entry:\n\t"
    "movl (%esp), %eax\n\t"
    "pushl %eax\n\t"
    "call task_c_main\n"
    "1:\tjmp 1b\n");
extern char task_c_entry[];

static uint64_t tss_desc(struct tss32 *t)
{
	uint32_t base = (uint32_t)(uintptr_t)t, limit = sizeof(*t) - 1;

	/* Available 32-bit TSS, present, DPL 0 (SDM vol. 3A §7.2.2). */
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       0x89ull << 40 | (uint64_t)(limit & 0xf0000) << 32 | (uint64_t)(base >> 24) << 56;
}

static void task_init(struct tss32 *t, void *entry, uint8_t *stack, uint32_t cr3)
{
	memset(t, 0, sizeof(*t));
	t->eip = (uint32_t)(uintptr_t)entry;
	t->esp = (uint32_t)(uintptr_t)(stack + 4096 - 16);
	t->eflags = 0x2;
	t->cs = SEL_CODE;
	t->ss = t->ds = t->es = SEL_DATA;
	t->cr3 = cr3;
	t->iomap = sizeof(*t);
}

static void setup(bool pae)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } p;

	cr3_a = (uint32_t)(uintptr_t)(pae ? (void *)pdpt_a : (void *)pd_a);
	cr3_b = (uint32_t)(uintptr_t)(pae ? (void *)pdpt_b : (void *)pd_b);

	gdt[1] = 0x00cf9a000000ffffull;
	gdt[2] = 0x00cf92000000ffffull;
	memset(&tss[0], 0, sizeof(tss[0]));
	tss[0].cr3 = cr3_a;
	tss[0].iomap = sizeof(tss[0]);
	task_init(&tss[1], (void *)task_b, stacks[0], cr3_b);
	task_init(&tss[2], task_c_entry, stacks[1], cr3_a);
	task_init(&tss[3], (void *)task_d, stacks[2], cr3_a);
	for (int i = 0; i < 4; i++)
		gdt[3 + i] = tss_desc(&tss[i]);
	p.limit = sizeof(gdt) - 1;
	p.base = (uint32_t)(uintptr_t)gdt;
	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n1:\t"
		     "movw %w2, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%es\n\tmovw %%ax, %%ss\n\t"
		     "ltr %w3"
		     :: "m"(p), "i"(SEL_CODE), "r"(SEL_DATA), "r"(SEL_A) : "eax", "memory");

	/* 4 MiB identity pages for the first 64 MiB; TEST_LA differs per task. */
	for (uint32_t i = 0; i < 16; i++)
		pd_a[i] = pd_b[i] = (i << 22) | 0x83;   /* P, R/W, PS */
	pd_a[TEST_LA >> 22] = FRAME_A | 0x83;
	pd_b[TEST_LA >> 22] = FRAME_B | 0x83;
	/* PAE: 2 MiB pages; a PDPTE has only P of the access bits. */
	for (uint32_t i = 0; i < 32; i++)
		pae_pd0[i] = ((uint64_t)i << 21) | 0x83;
	pae_pd1_a[0] = FRAME_A | 0x83;
	pae_pd1_b[0] = FRAME_B | 0x83;
	pdpt_a[0] = pdpt_b[0] = (uint32_t)(uintptr_t)pae_pd0 | 1;
	pdpt_a[1] = (uint32_t)(uintptr_t)pae_pd1_a | 1;
	pdpt_b[1] = (uint32_t)(uintptr_t)pae_pd1_b | 1;
	*(volatile uint32_t *)FRAME_A = MAGIC_A;
	*(volatile uint32_t *)FRAME_B = MAGIC_B;
	write_cr4(read_cr4() | (pae ? CR4_PAE : CR4_PSE));
	write_cr3(cr3_a);
	write_cr0(read_cr0() | CR0_PG);

	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } ip;
	asm volatile("sidt %0" : "=m"(ip));
	idt = (uint32_t *)(uintptr_t)ip.base;
}

static void test_jmp(void)
{
	uint32_t ebx;

	guest_check_eq("busy after LTR", busy(), 1);
	asm volatile("movl $0x12345678, %%ebx\n\t"
		     "ljmp %1, $0\n\t"
		     "movl %%ebx, %0" : "=r"(ebx) : "i"(SEL_B) : "ebx", "memory");
	guest_check_eq("JMP: task B's TR", b_tr, SEL_B);
	guest_check_eq("JMP: task B runs on its own CR3", b_seen, MAGIC_B);
	guest_check_eq("JMP: NT clear in task B", b_flags & FL_NT, 0);
	guest_check_eq("JMP: CR0.TS set in task B", b_cr0 & CR0_TS, CR0_TS);
	guest_check_eq("JMP: busy in task B (B only)", b_busy, 2);
	guest_check_eq("JMP back: EBX saved and loaded", ebx, 0x12345678);
	guest_check_eq("JMP back: TR", str(), SEL_A);
	guest_check_eq("JMP back: busy (A only)", busy(), 1);
	guest_check_eq("JMP back: task A's CR3", rd(TEST_LA), MAGIC_A);
	asm volatile("clts");
}

static void test_call(void)
{
	asm volatile("lcall %0, $0" :: "i"(SEL_D) : "memory");
	guest_check_eq("CALL: task D's TR", d_tr, SEL_D);
	guest_check_eq("CALL: NT set in task D", d_flags & FL_NT, FL_NT);
	guest_check_eq("CALL: back link", d_link, SEL_A);
	guest_check_eq("CALL: busy in task D (A and D)", d_busy, 9);
	guest_check_eq("IRET: TR", str(), SEL_A);
	guest_check_eq("IRET: busy (A only)", busy(), 1);
	guest_check_eq("IRET: NT clear", eflags() & FL_NT, 0);
	asm volatile("clts");
}

static void test_double_fault(void)
{
	/* #DF: a task gate (SDM vol. 3A §7.11), as Linux i386 has it. */
	idt[8 * 2] = (uint32_t)SEL_C << 16;
	idt[8 * 2 + 1] = 0x8500;                 /* present, DPL 0, task gate */
	idt_gp_hi = idt[13 * 2 + 1];
	idt[13 * 2 + 1] &= ~0x8000u;            /* #GP's gate not present */
	/* A selector beyond the GDT's limit: #GP, whose gate raises #NP,
	 * which makes a #DF (SDM vol. 3A Table 6-5). */
	asm volatile("movw $0xfff8, %%ax\n\t"
		     "movw %%ax, %%fs\n"
		     "df_resume:\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "movw %%ax, %%fs" ::: "eax", "memory");
	guest_check_eq("#DF: the task ran", c_ran, 1);
	guest_check_eq("#DF: error code 0 on its stack", c_err, 0);
	guest_check_eq("#DF: its TR", c_tr, SEL_C);
	guest_check_eq("#DF: NT set in it", c_flags & FL_NT, FL_NT);
	guest_check_eq("#DF: back link", c_link, SEL_A);
	guest_check_eq("#DF: busy in it (A and C)", c_busy, 5);
	guest_check_eq("#DF: CR0.TS set in it", c_cr0 & CR0_TS, CR0_TS);
	guest_check_eq("#DF: IRET back: TR", str(), SEL_A);
	guest_check_eq("#DF: IRET back: busy (A only)", busy(), 1);
	asm volatile("clts");
}

void test_main(void)
{
	const uint32_t *mbi = (const uint32_t *)boot_info;
	const char *cmdline = (mbi[0] & 4) ? (const char *)(uintptr_t)mbi[4] : "";
	char v[4];

	setup(cmdline_get(cmdline, "pae", v, sizeof(v)));
	test_jmp();
	test_call();
	test_double_fault();
}
