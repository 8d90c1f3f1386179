/*
 * Exception handling for the test guests: an IDT for vectors 0-31 whose
 * stubs (trap32.S, trap64.S) call trap_handle() with the frame below, and
 * the expected-exception mechanism described in guest.h.  Gate formats:
 * Intel SDM vol. 3A §6.11 (32-bit) and §6.14.1 (64-bit); AMD APM vol. 2
 * §8.2 lists which vectors push an error code.
 */
#include "test/guests/lib/guest.h"
#include "test/guests/lib/x86.h"

#define NR_VECTORS      32
#define STUB_SIZE       16      /* trap_stubs[] entries are 16 bytes apart */
#define CODE_SEL        0x08    /* crt32.S / crt64.S GDT */
#define GATE_INTR       0x8e    /* present, DPL 0, interrupt gate */

/* Pushed by the stub (vector, error code or 0) and by the CPU (the rest). */
struct trap_frame {
	unsigned long vector, error_code, ip, cs, flags;
};

struct extable_entry {
	unsigned long fault, fixup;
};

#ifdef __x86_64__
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
};
#else
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
};
#endif

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uintptr_t base;
};

extern const char trap_stubs[];
extern const struct extable_entry __extable_start[], __extable_end[];
void trap_handle(struct trap_frame *f);

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));
static volatile int expected = -1;      /* armed vector, -1 for none */
static volatile bool taken;
static struct trap_info last;

static const char *const exc_names[NR_VECTORS] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9",
	"#TS", "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP", "vector 22", "vector 23", "vector 24", "vector 25",
	"vector 26", "vector 27", "#HV", "#VC", "#SX", "vector 31",
};

static const char *exc_name(unsigned v)
{
	return v < NR_VECTORS ? exc_names[v] : "vector >= 32";
}

void trap_init(void)
{
	for (unsigned v = 0; v < NR_VECTORS; v++) {
		uintptr_t a = (uintptr_t)trap_stubs + v * STUB_SIZE;
		struct idt_gate *g = &idt[v];
		g->off_lo = (uint16_t)a;
		g->sel = CODE_SEL;
		g->type = GATE_INTR;
#ifdef __x86_64__
		g->off_mid = (uint16_t)(a >> 16);
		g->off_hi = (uint32_t)(a >> 32);
#else
		g->off_hi = (uint16_t)(a >> 16);
#endif
	}
	struct idt_ptr p = { sizeof(idt) - 1, (uintptr_t)idt };
	asm volatile("lidt %0" :: "m"(p));
}

void trap_handle(struct trap_frame *f)
{
	static bool fatal;
	unsigned long cr2 = f->vector == EXC_PF ? read_cr2() : 0;

	if (expected == (int)f->vector && !taken) {
		for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
			if (e->fault != f->ip)
				continue;
			last.vector = (unsigned)f->vector;
			last.error_code = f->error_code;
			last.ip = f->ip;
			last.cr2 = cr2;
			taken = true;
			f->ip = e->fixup;
			return;
		}
		guest_fail("expected %s at ip 0x%lx has no fixup entry",
			   exc_name((unsigned)f->vector), f->ip);
		guest_finish();
	}
	if (fatal)              /* faulted again while reporting: just stop */
		guest_exit(1);
	fatal = true;
	if (f->vector == EXC_PF)
		guest_fail("unexpected #PF error code 0x%lx at ip 0x%lx, cr2 0x%lx",
			   f->error_code, f->ip, cr2);
	else
		guest_fail("unexpected exception %lu (%s) error code 0x%lx at ip 0x%lx",
			   f->vector, exc_name((unsigned)f->vector), f->error_code, f->ip);
	guest_finish();
}

void expect_exception(unsigned vector)
{
	taken = false;
	expected = (int)vector;
}

bool exception_check(const char *what, unsigned vector, long err, struct trap_info *out)
{
	bool was_taken = taken;
	struct trap_info ti = was_taken ? last : (struct trap_info){ 0 };

	expected = -1;
	taken = false;
	if (out)
		*out = ti;
	if (!was_taken) {
		guest_fail("%s: expected %s, none raised", what, exc_name(vector));
		return false;
	}
	if (ti.vector != vector) {
		guest_fail("%s: raised %s, expected %s", what, exc_name(ti.vector),
			   exc_name(vector));
		return false;
	}
	if (err >= 0 && ti.error_code != (unsigned long)err) {
		guest_fail("%s: %s error code 0x%lx, expected 0x%lx", what,
			   exc_name(vector), ti.error_code, (unsigned long)err);
		return false;
	}
	guest_printf("%s: %s: %s raised as expected (error code 0x%lx, ip 0x%lx)\n",
		     test_name, what, exc_name(vector), ti.error_code, ti.ip);
	return true;
}
