/*
 * Host tests for core/exit.c, the exit dispatcher, with core/msr.c,
 * core/cpuid.c, core/emul.c and the real board behind it: each case hands
 * one exit to vcpu_handle_exit() and checks the registers, the events
 * injected through the fake back end (test/unit/core_fake.h) and the VM's end.
 */
#include "test/unit/core_fake.h"

/*
 * Exceptions a handler raises are queued (core/event.c) and loaded just
 * before the next entry; hand them to the fake back end as that entry
 * would, so that its log shows them.
 */
static void deliver_queued(struct vcpu *v)
{
	struct virt_event ev;

	while (evq_next(&v->evq, &ev))
		virt->inject_exception(&v->hw, ev.vector, ev.has_error, ev.error);
}

static void handle_exit_and_deliver(struct vcpu *v, struct vm_exit *e)
{
	vcpu_handle_exit(v, e);
	deliver_queued(v);
}

/* One exit handled outside the run loop. */
static void handle(struct vcpu *v, enum vm_exit_kind kind, uint64_t next_rip)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.next_rip = next_rip;
	if (kind == EXIT_HYPERCALL)     /* the back ends report the caller's CPL */
		e.hypercall.cpl = (uint8_t)virt->get_reg(&v->hw, VIRT_CPL);
	handle_exit_and_deliver(v, &e);
}

static void handle_msr(struct vcpu *v, bool write, uint32_t msr)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = write ? EXIT_MSR_WRITE : EXIT_MSR_READ;
	e.msr.msr = msr;
	e.next_rip = v->hw.regs.rip + 2;
	handle_exit_and_deliver(v, &e);
}

static void set_edx_eax(struct vcpu *v, uint64_t val)
{
	v->hw.regs.gpr[REG_RAX] = (uint32_t)val;
	v->hw.regs.gpr[REG_RDX] = val >> 32;
}

static bool has_text(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

TEST(cpuid_fills_rax_to_rdx_and_skips)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.gpr[REG_RAX] = 0x40000000;
	v->hw.regs.gpr[REG_RBX] = 0x1111;
	v->hw.regs.gpr[REG_RDX] = 0x2222;
	handle(v, EXIT_CPUID, 0x1002);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x40000010);
	CHECK_EQ(v->hw.regs.gpr[REG_RBX], 0x6173616b);  /* "kasa" */
	CHECK_EQ(v->hw.regs.gpr[REG_RCX], 0x0000656e);  /* "ne" */
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	/* Leaf 1 on vCPU 1: its initial APIC ID in EBX[31:24]. */
	struct vcpu *v1 = &vm->vcpu[1];
	v1->hw.regs.gpr[REG_RAX] = 1;
	v1->hw.regs.gpr[REG_RCX] = 0;
	handle(v1, EXIT_CPUID, 0x1002);
	CHECK_EQ(v1->hw.regs.gpr[REG_RBX] >> 24, 1);
	CHECK_EQ(ev_count(EV_EXC), 0);
	vm_free(vm);
}

TEST(rdmsr_unknown_injects_gp_and_keeps_rip)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	set_edx_eax(v, 0x123456789abcdefULL);
	handle_msr(v, false, 0x12345);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK(evlog[0].has_error);
	CHECK_EQ(evlog[0].error, 0);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x89abcdef);
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0x01234567);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(rdmsr_wrmsr_split_edx_eax)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	/* WRMSR LSTAR takes EDX:EAX; the back end keeps it. */
	set_edx_eax(v, 0xffffffff81000000ULL);
	handle_msr(v, true, 0xc0000082);
	CHECK_EQ(FAKE(v)->msr[1], 0xffffffff81000000ULL);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	/* RDMSR gives it back split, upper halves of RAX and RDX clear. */
	v->hw.regs.gpr[REG_RAX] = v->hw.regs.gpr[REG_RDX] = ~0ULL;
	handle_msr(v, false, 0xc0000082);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0x81000000);
	CHECK_EQ(v->hw.regs.gpr[REG_RDX], 0xffffffff);
	CHECK_EQ(v->hw.regs.rip, 0x1004);
	/* A non-canonical LSTAR is #GP and changes nothing. */
	set_edx_eax(v, 0x0000800000000000ULL);
	handle_msr(v, true, 0xc0000082);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(FAKE(v)->msr[1], 0xffffffff81000000ULL);
	CHECK_EQ(v->hw.regs.rip, 0x1004);
	vm_free(vm);
}

TEST(wrmsr_efer_reserved_bits_gp)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->sregs.efer = 0;
	set_edx_eax(v, EFER_SCE | (1u << 1));           /* bit 1 is reserved */
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK_EQ(FAKE(v)->sregs.efer, 0);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	/* SVME is not the guest's to set either. */
	set_edx_eax(v, EFER_SVME);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 2);
	CHECK_EQ(FAKE(v)->sregs.efer, 0);
	/* The allowed bits are taken. */
	set_edx_eax(v, EFER_SCE | EFER_NXE);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 2);
	CHECK_EQ(FAKE(v)->sregs.efer, EFER_SCE | EFER_NXE);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	vm_free(vm);
}

TEST(wrmsr_efer_lme_change_with_paging_gp)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct fake_hw *f = FAKE(v);

	/* Long mode active, paging on: clearing LME is #GP. */
	f->sregs.cr0 |= CR0_PG;
	f->sregs.efer = EFER_LME | EFER_LMA;
	set_edx_eax(v, EFER_LMA);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_GP);
	CHECK_EQ(f->sregs.efer, EFER_LME | EFER_LMA);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	/* Same LME, another bit: fine; LMA is read-only and stays. */
	set_edx_eax(v, EFER_LME | EFER_NXE);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(f->sregs.efer, EFER_LME | EFER_LMA | EFER_NXE);
	/* Paging off: LME may change. */
	f->sregs.cr0 &= ~(uint64_t)CR0_PG;
	f->sregs.efer = 0;
	set_edx_eax(v, EFER_LME);
	handle_msr(v, true, MSR_EFER);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(f->sregs.efer, EFER_LME);
	vm_free(vm);
}

TEST(wrmsr_tsc_aux_reaches_the_cpu)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	/* TSC_AUX exists when the model shows RDTSCP or RDPID, which this
	 * test's host may not have: show it here. */
	struct msr_cpu m = *msr_guest_cpu();
	m.has[MSRF_TSC_AUX] = true;
	msr_guest_cpu_set(&m);

	set_edx_eax(v, 7);
	handle_msr(v, true, 0xc0000103);
	CHECK_EQ(v->msr.tsc_aux, 7);
	CHECK_EQ(v->fpu.tsc_aux, 7);
	CHECK_EQ(last_wrmsr[0], 0xc0000103);
	CHECK_EQ(last_wrmsr[1], 7);
	/* The upper half is reserved. */
	set_edx_eax(v, 1ULL << 32);
	handle_msr(v, true, 0xc0000103);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(v->msr.tsc_aux, 7);
	vm_free(vm);
}

TEST(hlt_sets_halt_and_skips)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_HLT, 0x1001);
	CHECK(v->halt_requested);
	CHECK_EQ(v->hw.regs.rip, 0x1001);
	vm_free(vm);
}

TEST(hypercall_from_cpl3_is_ud)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->sregs.seg[SEG_SS].attr |= 3 << SEG_ATTR_DPL_SHIFT;
	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK_EQ(ev_count(EV_EXC), 1);
	CHECK_EQ(evlog[0].vector, X86_EXC_UD);
	CHECK(!evlog[0].has_error);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], HC_EXIT);
	CHECK(!vm->ended);
	vm_free(vm);
}

static void hc_console(struct vcpu *v, gpa_t gpa, uint64_t len)
{
	v->hw.regs.rip = 0x1000;
	v->hw.regs.gpr[REG_RAX] = HC_CONSOLE_WRITE;
	v->hw.regs.gpr[REG_RBX] = gpa;
	v->hw.regs.gpr[REG_RCX] = len;
	handle(v, EXIT_HYPERCALL, 0x1003);
}

TEST(hc_console_write_prints_a_line)
{
	reset_records();
	struct vm *vm = vm_new(3, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	memcpy(TVM_RAM(vm) + 0x5000, "hi\tthere\n", 9);
	log_set_sink(console_sink);
	hc_console(v, 0x5000, 9);
	log_set_sink(NULL);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 9);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	CHECK_STR(console, "[tvm3] hi\tthere\n");
	vm_free(vm);
}

TEST(hc_console_write_outside_ram_prints_nothing)
{
	reset_records();
	struct vm *vm = vm_new(3, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	uint8_t *ram = TVM_RAM(vm);

	memset(ram + RAM_SIZE - 4096, 'A', 4096);
	log_set_sink(console_sink);
	/* 400 bytes from 300 before the end of RAM: the first 256 are RAM. */
	hc_console(v, RAM_SIZE - 300, 400);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	/* Longer than 4096, all in RAM. */
	hc_console(v, 0x1000, 4097);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	/* Wrapping around the address space. */
	hc_console(v, ~0ULL - 10, 100);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_EINVAL);
	CHECK_EQ(console_len, 0);
	CHECK_EQ(vm->hc_len, 0);        /* nothing held back for later either */
	log_set_sink(NULL);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(hc_get_vm_id_and_unknown)
{
	reset_records();
	struct vm *vm = vm_new(7, 2, 0, true);
	struct vcpu *v = &vm->vcpu[1];

	v->hw.regs.gpr[REG_RAX] = HC_GET_VM_ID;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 7);
	CHECK_EQ(v->hw.regs.gpr[REG_RBX], 1);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	v->hw.regs.gpr[REG_RAX] = 0x1234;
	handle(v, EXIT_HYPERCALL, 0x1006);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], (uint64_t)HC_ENOSYS);
	CHECK_EQ(v->hw.regs.rip, 0x1006);
	CHECK_EQ(ev_count(EV_EXC), 0);
	vm_free(vm);
}

TEST(hc_exit_ends_the_vm_with_status)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.gpr[REG_RAX] = HC_EXIT;
	v->hw.regs.gpr[REG_RBX] = 42;
	handle(v, EXIT_HYPERCALL, 0x1003);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_HYPERCALL);
	CHECK_EQ(vm->status, 42);
	vm_free(vm);
}

TEST(invd_skips_the_instruction)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_INVD, 0x1002);
	CHECK_EQ(v->hw.regs.rip, 0x1002);
	CHECK_EQ(nr_ev, 0);
	CHECK(!vm->ended);
	vm_free(vm);
}

TEST(triple_fault_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *v = &vm->vcpu[1];

	v->hw.regs.rip = 0xdead;
	handle(v, EXIT_TRIPLE_FAULT, 0);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_TRIPLE_FAULT);
	CHECK_EQ(vm->status, -1);
	CHECK_STR(vm->end_detail, "triple fault on vCPU 1 at RIP 0xdead");
	/* The first reason wins. */
	handle(v, EXIT_INVALID, 0);
	CHECK_EQ(vm->end_reason, VM_END_TRIPLE_FAULT);
	vm_free(vm);
}

TEST(invalid_state_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_INVALID, .code = 0xffffffff };

	handle_exit_and_deliver(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_BAD_STATE);
	CHECK(has_text(vm->end_detail, "exit code 0xffffffff"));
	/* The report names the reason. */
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		vm->exits[k] += v->exits[k];
	log_set_sink(console_sink);
	vm_report(vm);
	log_set_sink(NULL);
	CHECK(has_text(console, "ended: invalid guest state ("));
	CHECK(has_text(console, "invalid 1"));
	vm_free(vm);
}

TEST(unhandled_exit_is_named)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_UNHANDLED, .code = 0x7d, .info1 = 0x18, .info2 = 0x2 };

	handle_exit_and_deliver(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_UNHANDLED);
	CHECK_STR(vm->end_detail, "unhandled exit 0x7d (info 0x18 0x2) on vCPU 0 at RIP 0x1000");
	/* A kind out of range is counted and handled as unhandled. */
	struct vm *vm2 = vm_new(2, 1, 0, true);
	struct vm_exit odd = { .kind = (enum vm_exit_kind)(NR_EXIT_KINDS + 5), .code = 0x99 };
	vcpu_handle_exit(&vm2->vcpu[0], &odd);
	CHECK(vm2->ended);
	CHECK(has_text(vm2->end_detail, "unhandled exit 0x99"));
	CHECK_EQ(vm2->vcpu[0].exits[EXIT_UNHANDLED], 1);
	vm_free(vm);
	vm_free(vm2);
}

TEST(reflected_exceptions_keep_their_error_code)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit ac = { .kind = EXIT_REFLECT,
			      .reflect = { .vector = X86_EXC_AC, .has_error = true, .error = 0x5a } };
	struct vm_exit db = { .kind = EXIT_REFLECT, .reflect = { .vector = X86_EXC_DB } };

	handle_exit_and_deliver(v, &ac);
	handle_exit_and_deliver(v, &db);
	CHECK_EQ(nr_ev, 2);
	CHECK_EQ(evlog[0].vector, X86_EXC_AC);
	CHECK(evlog[0].has_error);
	CHECK_EQ(evlog[0].error, 0x5a);
	CHECK_EQ(evlog[1].vector, X86_EXC_DB);
	CHECK(!evlog[1].has_error);
	CHECK_EQ(v->hw.regs.rip, 0x1000);       /* faults: RIP stays */
	/* An instruction the guest must see fail. */
	handle(v, EXIT_UD, 0x1003);
	CHECK_EQ(nr_ev, 3);
	CHECK_EQ(evlog[2].vector, X86_EXC_UD);
	CHECK_EQ(v->hw.regs.rip, 0x1000);
	vm_free(vm);
}

TEST(exit_counters_per_kind)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	handle(v, EXIT_CPUID, 0x1002);
	handle(v, EXIT_CPUID, 0x1004);
	handle(v, EXIT_INTR, 0);
	handle(v, EXIT_HLT, 0x1005);
	handle(v, EXIT_INTR_WINDOW, 0);
	CHECK_EQ(v->nr_exits, 5);
	CHECK_EQ(v->exits[EXIT_CPUID], 2);
	CHECK_EQ(v->exits[EXIT_INTR], 1);
	CHECK_EQ(v->exits[EXIT_HLT], 1);
	CHECK_EQ(v->exits[EXIT_INTR_WINDOW], 1);
	uint64_t sum = 0;
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		sum += v->exits[k];
	CHECK_EQ(sum, 5);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		CHECK(exit_kind_name[k] != NULL);
	vm_free(vm);
}

TEST(out_to_the_exit_port_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct vm_exit e = { .kind = EXIT_IO, .next_rip = 0x1002,
			     .io = { .size = 1, .port = GUEST_EXIT_PORT } };

	v->hw.regs.gpr[REG_RAX] = 0x305;        /* a byte: 5 */
	handle_exit_and_deliver(v, &e);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_EXIT_PORT);
	CHECK_EQ(vm->status, 5);
	vm_free(vm);
}

int main(void)
{
	check_start("exit");
	core_fake_init();
	RUN(cpuid_fills_rax_to_rdx_and_skips);
	RUN(rdmsr_unknown_injects_gp_and_keeps_rip);
	RUN(rdmsr_wrmsr_split_edx_eax);
	RUN(wrmsr_efer_reserved_bits_gp);
	RUN(wrmsr_efer_lme_change_with_paging_gp);
	RUN(wrmsr_tsc_aux_reaches_the_cpu);
	RUN(hlt_sets_halt_and_skips);
	RUN(hypercall_from_cpl3_is_ud);
	RUN(hc_console_write_prints_a_line);
	RUN(hc_console_write_outside_ram_prints_nothing);
	RUN(hc_get_vm_id_and_unknown);
	RUN(hc_exit_ends_the_vm_with_status);
	RUN(invd_skips_the_instruction);
	RUN(triple_fault_ends_the_vm);
	RUN(invalid_state_ends_the_vm);
	RUN(unhandled_exit_is_named);
	RUN(reflected_exceptions_keep_their_error_code);
	RUN(exit_counters_per_kind);
	RUN(out_to_the_exit_port_ends_the_vm);
	return check_finish();
}
