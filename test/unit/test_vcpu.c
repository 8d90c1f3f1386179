/*
 * Host tests for core/vcpu.c, the vCPU run loop: a scripted guest on the
 * fake back end (test/unit/core_fake.h), with the real vLAPIC, board and
 * scheduler; each case checks the order of what the loop hands the back
 * end (injections, windows, states, CR8) against the entries.
 */
#include "test/unit/core_fake.h"

static void post_irq(struct vcpu *v, uint8_t vector)
{
	vlapic_set_irq(v->vlapic, vector, false);
	sched_wake(v);
}

static bool isr_has(struct vcpu *v, uint8_t vector)
{
	return v->vlapic->isr[vector / 32] & (1u << (vector % 32));
}

TEST(run_injects_a_pending_interrupt)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	post_irq(v, 0x30);
	push(EXIT_INTR, NULL);
	push_hc_exit();
	run_slice(v);
	int inj = ev_nth(EV_INTR, 0), ent = ev_nth(EV_ENTRY, 0);
	CHECK(inj >= 0 && inj < ent);
	CHECK_EQ(ev_get(EV_INTR, 0)->vector, 0x30);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(isr_has(v, 0x30));                /* acknowledged at the vLAPIC */
	CHECK_EQ(ev_count(EV_WINDOW_ON), 0);
	CHECK(vm->ended && vm->end_reason == VM_END_HYPERCALL);
	CHECK(!script_overrun);
	vm_free(vm);
}

static void guest_sti(struct vcpu *v)
{
	FAKE(v)->can_inject = true;
}

TEST(run_requests_a_window_when_blocked)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;            /* IF=0 or an STI shadow */
	post_irq(v, 0x30);
	push(EXIT_INTR_WINDOW, guest_sti);
	push_hc_exit();
	run_slice(v);
	int on = ev_nth(EV_WINDOW_ON, 0), e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1);
	int inj = ev_nth(EV_INTR, 0), off = ev_nth(EV_WINDOW_OFF, 0);
	CHECK(on >= 0 && on < e0);
	CHECK(inj > e0 && inj < e1);            /* injected once the window opened */
	CHECK(off > e0 && off < e1);            /* and the window closed */
	CHECK_EQ(ev_count(EV_WINDOW_ON), 1);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(!v->window_open);
	CHECK(!script_overrun);
	vm_free(vm);
}

static void guest_cr8_15(struct vcpu *v)
{
	FAKE(v)->cr8 = 15;
}

TEST(run_closes_the_window_when_nothing_is_pending)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;
	post_irq(v, 0x30);
	/* The guest raises CR8 to 15: vector 0x30 can no longer be taken. */
	push(EXIT_INTR, guest_cr8_15);
	push_hc_exit();
	run_slice(v);
	int e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1), off = ev_nth(EV_WINDOW_OFF, 0);
	CHECK(ev_nth(EV_WINDOW_ON, 0) < e0);
	CHECK(off > e0 && off < e1);
	CHECK_EQ(ev_count(EV_INTR), 0);
	CHECK(!v->window_open);
	CHECK(!FAKE(v)->window);
	vm_free(vm);
}

TEST(run_injects_nmi_before_interrupts)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct apic_msg nmi = { .delivery = APIC_DM_NMI, .shorthand = 1 };

	post_irq(v, 0x30);
	vlapic_deliver(v->vlapic, &nmi);
	sched_wake(v);
	push(EXIT_INTR, NULL);
	push_hc_exit();
	run_slice(v);
	int n = ev_nth(EV_NMI, 0), i = ev_nth(EV_INTR, 0);
	int e0 = ev_nth(EV_ENTRY, 0), e1 = ev_nth(EV_ENTRY, 1);
	CHECK(n >= 0 && n < e0);
	CHECK(i > e0 && i < e1);                /* the interrupt on the next entry */
	CHECK_EQ(ev_get(EV_INTR, 0)->vector, 0x30);
	CHECK(!vlapic_nmi_pending(v->vlapic));
	vm_free(vm);
}

TEST(run_init_sipi_loads_reset_then_startup_state)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *ap = &vm->vcpu[1];
	struct apic_msg init = { .delivery = APIC_DM_INIT, .shorthand = 1 };
	struct apic_msg sipi = { .delivery = APIC_DM_STARTUP, .shorthand = 1, .vector = 0x9a };

	/* The BSP halts (interrupts on: an interrupt could still wake it),
	 * so that only the AP is left to run. */
	CHECK(sched_pick(0) == &vm->vcpu[0]);
	vm->vcpu[0].hw.regs.rflags |= RFLAGS_IF;
	vm->vcpu[0].events = false;
	CHECK(sched_block(&vm->vcpu[0], VCPU_HALTED));
	sched_put(0, &vm->vcpu[0], 0);
	/* INIT alone: the AP loads the reset state and keeps waiting. */
	vlapic_deliver(ap->vlapic, &init);
	sched_wake(ap);
	CHECK_EQ(ap->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(ap), 0);
	CHECK_EQ(ap->state, VCPU_WAIT_SIPI);
	CHECK_EQ(ev_count(EV_SET_STATE), 1);
	vlapic_deliver(ap->vlapic, &sipi);
	sched_wake(ap);
	push_hc_exit();
	CHECK_EQ(run_slice(ap), 1);
	CHECK_EQ(ev_count(EV_SET_STATE), 2);
	const struct x86_vcpu_state *rst = &ev_get(EV_SET_STATE, 0)->state;
	const struct x86_vcpu_state *st = &ev_get(EV_SET_STATE, 1)->state;
	CHECK_EQ(rst->sregs.seg[SEG_CS].selector, 0xf000);
	CHECK_EQ(rst->regs.rip, 0xfff0);
	CHECK_EQ(st->sregs.seg[SEG_CS].selector, 0x9a00);
	CHECK_EQ(st->sregs.seg[SEG_CS].base, 0x9a000);
	CHECK_EQ(st->regs.rip, 0);
	CHECK_EQ(st->sregs.cr0 & CR0_PE, 0);    /* real mode */
	CHECK(ev_nth(EV_SET_STATE, 1) < ev_nth(EV_ENTRY, 0));
	CHECK_EQ(ev_get(EV_ENTRY, 0)->vcpu, 1);
	vm_free(vm);
}

/* INIT to the boot vCPU resets the VM (a reboot, as on_reboot says)
 * instead of leaving it waiting for a STARTUP nobody sends. */
TEST(run_init_to_the_boot_vcpu_reboots_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	struct apic_msg init = { .delivery = APIC_DM_INIT, .shorthand = 1 };

	vlapic_deliver(v->vlapic, &init);
	sched_wake(v);
	run_slice(v);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_REBOOT);
	CHECK_EQ(vm->status, 0);
	CHECK_EQ(ev_count(EV_ENTRY), 0);
	vm_free(vm);
}

/* The last vCPU to stop waits for a SIPI while the other is halted with
 * interrupts off: nothing can wake either, and the VM ends. */
TEST(run_wait_sipi_beside_a_stuck_bsp_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 2, 0, true);
	struct vcpu *ap = &vm->vcpu[1];
	struct apic_msg init = { .delivery = APIC_DM_INIT, .shorthand = 1 };

	CHECK(sched_pick(0) == &vm->vcpu[0]);
	vm->vcpu[0].hw.regs.rflags &= ~RFLAGS_IF;
	vm->vcpu[0].events = false;
	CHECK(sched_block(&vm->vcpu[0], VCPU_HALTED));
	sched_put(0, &vm->vcpu[0], 0);
	vlapic_deliver(ap->vlapic, &init);
	sched_wake(ap);
	run_slice(ap);
	CHECK_EQ(ap->state, VCPU_WAIT_SIPI);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_HALTED);
	vm_free(vm);
}

/* A PIT storm (mode 2, count 1) whose IRQ 0 reaches nothing, masked at
 * both the 8259A (the reset state) and the I/O APIC pin, gives vCPU 0's
 * CPU no deadline; unmasking the pin brings it back. */
static void pio_out(struct vm *vm, uint16_t port, uint8_t val)
{
	uint32_t v = val;
	CHECK_EQ(vpit_pio(&vm->pit, false, port, 1, &v), 0);
}

static void ioapic_write(struct vm *vm, unsigned reg, uint32_t val)
{
	uint64_t sel = reg, v = val;
	CHECK_EQ(vioapic_mmio(&vm->ioapic, true, BOARD_IOAPIC_BASE + IOAPIC_IOREGSEL, 4, &sel), 0);
	CHECK_EQ(vioapic_mmio(&vm->ioapic, true, BOARD_IOAPIC_BASE + IOAPIC_IOWIN, 4, &v), 0);
}

TEST(masked_pit_storm_makes_no_deadline)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	pio_out(vm, PIT_PORT_CTRL, 0x34);       /* channel 0, LSB then MSB, mode 2 */
	pio_out(vm, PIT_PORT_CH0, 1);
	pio_out(vm, PIT_PORT_CH0, 0);
	CHECK_EQ(board_service_timers(v, clock_now_ns()), NO_DEADLINE);
	ioapic_write(vm, IOAPIC_REG_REDTBL + 2 * 2, 0x30);     /* pin 2 unmasked */
	uint64_t now = clock_now_ns();
	uint64_t d = board_service_timers(v, now);
	CHECK(d != NO_DEADLINE && d <= now + VPIT_MIN_IRQ_GAP_NS);
	vm_free(vm);
}

static void guest_cr8_5(struct vcpu *v)
{
	FAKE(v)->cr8 = 5;
}

TEST(run_guest_cr8_reaches_the_tpr)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_INTR, guest_cr8_5);
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(v->vlapic->tpr, 0x50);
	CHECK_EQ(ev_count(EV_SET_CR8), 0);      /* nothing to write back */
	vm_free(vm);
}

static uint64_t cr8_at_entry;

static void guest_look_at_cr8(struct vcpu *v)
{
	cr8_at_entry = FAKE(v)->cr8;
	guest_hc_exit(v);
}

TEST(run_tpr_write_reaches_cr8)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	/* mov [0xfee00080], eax: the guest writes the TPR through the APIC page. */
	static const uint8_t insn[] = { 0x89, 0x05, 0x80, 0x00, 0xe0, 0xfe };

	memcpy(TVM_RAM(vm) + 0x1000, insn, sizeof(insn));
	v->hw.regs.gpr[REG_RAX] = 0x70;
	struct vm_exit *e = push(EXIT_MMIO, NULL);
	e->mmio.gpa = BOARD_LAPIC_BASE + APIC_REG_TPR;
	e->mmio.write = true;
	push(EXIT_HYPERCALL, guest_look_at_cr8)->next_rip = 0x1009;
	cr8_at_entry = 0;
	run_slice(v);
	CHECK_EQ(v->vlapic->tpr, 0x70);
	CHECK_EQ(ev_count(EV_SET_CR8), 1);
	CHECK_EQ(cr8_at_entry, 7);
	CHECK(vm->end_reason == VM_END_HYPERCALL);
	vm_free(vm);
}

static void guest_yield(struct vcpu *v)
{
	v->hw.regs.gpr[REG_RAX] = HC_YIELD;
}

TEST(run_yield_ends_the_slice)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_HYPERCALL, guest_yield)->next_rip = 0x1003;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 1);
	CHECK(!vm->ended);
	CHECK_EQ(v->hw.regs.gpr[REG_RAX], 0);
	CHECK_EQ(v->hw.regs.rip, 0x1003);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(v), 1);              /* the next slice goes on */
	CHECK(vm->ended);
	vm_free(vm);
}

TEST(run_hlt_blocks_until_an_interrupt)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	push(EXIT_HLT, NULL)->next_rip = 0x1001;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 1);
	CHECK_EQ(v->state, VCPU_HALTED);
	CHECK_EQ(v->hw.regs.rip, 0x1001);
	CHECK(!vm->ended);
	CHECK(sched_pick(0) == NULL);
	post_irq(v, 0x40);
	CHECK_EQ(v->state, VCPU_RUNNABLE);
	CHECK_EQ(run_slice(v), 1);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(ev_nth(EV_INTR, 0) < ev_nth(EV_ENTRY, 1));
	vm_free(vm);
}

TEST(run_hlt_with_interrupt_pending_does_not_block)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	FAKE(v)->can_inject = false;            /* e.g. STI; HLT */
	post_irq(v, 0x40);
	push(EXIT_HLT, guest_sti)->next_rip = 0x1001;
	push_hc_exit();
	CHECK_EQ(run_slice(v), 2);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK(ev_nth(EV_INTR, 0) < ev_nth(EV_ENTRY, 1));
	vm_free(vm);
}

TEST(run_hlt_with_interrupts_off_ends_the_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	v->hw.regs.rflags &= ~RFLAGS_IF;
	push(EXIT_HLT, NULL)->next_rip = 0x1001;
	CHECK_EQ(run_slice(v), 1);
	CHECK(vm->ended);
	CHECK_EQ(vm->end_reason, VM_END_HALTED);
	CHECK_EQ(vm->status, 0);
	vm_free(vm);
}

TEST(run_does_not_enter_an_ended_vm)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];

	vm_end(vm, VM_END_EXIT_PORT, 0, "ended before it ran");
	push_hc_exit();
	CHECK_EQ(run_slice(v), 0);
	vm_free(vm);
}

/* The watchdog: an injected interrupt is a sign of life; a whole period
 * without one ends the VM; no period, no watchdog. */
TEST(watchdog_ends_a_vm_without_interrupts)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct tvm *t = (struct tvm *)vm;
	const uint64_t s = 1000000000ULL, t0 = 5 * s;

	CHECK_EQ(vm_watchdog(vm, t0), NO_DEADLINE);     /* off by default */
	t->cfg.watchdog_ns = 2 * s;
	CHECK_EQ(vm_watchdog(vm, t0), t0 + 2 * s);      /* first look: starts the period */
	CHECK_EQ(vm_watchdog(vm, t0 + s), t0 + 2 * s);
	vm->vcpu[0].intrs++;                            /* alive: the period starts again */
	CHECK_EQ(vm_watchdog(vm, t0 + s + s / 2), t0 + 3 * s + s / 2);
	CHECK(!vm->ended);
	CHECK_EQ(vm_watchdog(vm, t0 + 3 * s + s / 2), NO_DEADLINE);
	CHECK(vm->ended && vm->end_reason == VM_END_WATCHDOG && vm->status == -1);
	CHECK_STR(vm->end_detail, "no interrupt taken for 2 s");
	vm_free(vm);
}

/* The host timer armed a little early (host_timer_set keeps an earlier
 * one) fires while another exit is handled: its interrupt is taken at
 * STGI and the exit is a CPUID.  The loop must arm it again before the
 * next entry, though the deadline it was for is still ahead: else the
 * guest, spinning without exits, never gets its timer interrupt. */
static unsigned arms_at_entry[2];
static unsigned entry_no;

static void guest_timer_fires_early(struct vcpu *v)
{
	arms_at_entry[entry_no++] = host_timer_arms;
	fake_tsc_advance(1000000 - 30000);      /* 30 us before the deadline */
	fake_trap[VEC_TIMER](NULL);             /* taken at STGI */
}

static void guest_looks_at_timer(struct vcpu *v)
{
	arms_at_entry[entry_no++] = host_timer_arms;
}

TEST(run_rearms_a_host_timer_taken_during_another_exit)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	struct vcpu *v = &vm->vcpu[0];
	uint64_t val;

	vcpu_timer_init();
	/* A one-shot vLAPIC timer 1 ms ahead: divide by 1, VLAPIC_BUS_HZ / 1000. */
	val = 0xb;
	vlapic_mmio(v->vlapic, true, VLAPIC_BASE_DEFAULT + APIC_REG_TIMER_DCR, 4, &val);
	val = 0x40;
	vlapic_mmio(v->vlapic, true, VLAPIC_BASE_DEFAULT + APIC_REG_LVT_TIMER, 4, &val);
	val = (uint64_t)(VLAPIC_BUS_HZ / 1000);         /* 1 ms */
	vlapic_mmio(v->vlapic, true, VLAPIC_BASE_DEFAULT + APIC_REG_TIMER_ICR, 4, &val);
	v->next_deadline = 0;
	entry_no = 0;
	push(EXIT_CPUID, guest_timer_fires_early)->next_rip = 0x1002;
	push(EXIT_CPUID, guest_looks_at_timer)->next_rip = 0x1004;
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(entry_no, 2);
	CHECK(arms_at_entry[0] > 0);                    /* armed for the first entry */
	CHECK(arms_at_entry[1] > arms_at_entry[0]);     /* and again after it fired */
	vm_free(vm);
}

int main(void)
{
	check_start("vcpu");
	core_fake_init();
	RUN(run_injects_a_pending_interrupt);
	RUN(run_rearms_a_host_timer_taken_during_another_exit);
	RUN(run_requests_a_window_when_blocked);
	RUN(run_closes_the_window_when_nothing_is_pending);
	RUN(run_injects_nmi_before_interrupts);
	RUN(run_init_sipi_loads_reset_then_startup_state);
	RUN(run_init_to_the_boot_vcpu_reboots_the_vm);
	RUN(run_wait_sipi_beside_a_stuck_bsp_ends_the_vm);
	RUN(masked_pit_storm_makes_no_deadline);
	RUN(run_guest_cr8_reaches_the_tpr);
	RUN(run_tpr_write_reaches_cr8);
	RUN(run_yield_ends_the_slice);
	RUN(run_hlt_blocks_until_an_interrupt);
	RUN(run_hlt_with_interrupt_pending_does_not_block);
	RUN(run_hlt_with_interrupts_off_ends_the_vm);
	RUN(run_does_not_enter_an_ended_vm);
	RUN(watchdog_ends_a_vm_without_interrupts);
	return check_finish();
}

