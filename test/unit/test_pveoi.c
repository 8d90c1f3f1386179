/*
 * Host tests of paravirtual EOI (Linux Documentation/virt/kvm/x86/msr.rst,
 * MSR_KVM_PV_EOI_EN): the MSR's checks, and the run loop's decision to set
 * the guest's flag before an entry and its sync after the exit, with a
 * scripted guest on the fake back end (test/unit/core_fake.h) and the real
 * vLAPIC and board.
 */
#include "test/unit/core_fake.h"
#include "core/msr.h"
#include "devices/vlapic.h"

#define FLAG_GPA        0x3000ULL

static bool isr_has(struct vcpu *v, uint8_t vector)
{
	return v->vlapic->isr[vector / 32] & (1u << (vector % 32));
}

static bool v_isr_empty(struct vlapic *vl)
{
	for (int i = 0; i < 8; i++)
		if (vl->isr[i])
			return false;
	return true;
}

static uint32_t *flag(struct vcpu *v)
{
	return (uint32_t *)(TVM_RAM(v->vm) + FLAG_GPA);
}

/* A VM with paravirt = on and PV EOI enabled at FLAG_GPA. */
static struct vm *pv_vm(void)
{
	reset_records();
	struct vm *vm = vm_new(1, 1, 0, true);
	((struct tvm *)vm)->cfg.paravirt = true;
	CHECK(msr_guest_write(&vm->vcpu[0], MSR_KVM_PV_EOI_EN, FLAG_GPA | 1));
	return vm;
}

/* What the guest saw of the flag in its last run, and what it did. */
static uint32_t seen[4];
static unsigned nr_seen;

static void guest_looks(struct vcpu *v)
{
	if (nr_seen < 4)
		seen[nr_seen++] = *flag(v);
}

/* The guest's EOI as Linux's kvm_guest_apic_eoi_write() makes it: clear
 * the bit if it is set, else write the EOI register. */
static void guest_eoi(struct vcpu *v)
{
	guest_looks(v);
	if (*flag(v) & 1) {
		*flag(v) &= ~1u;
	} else {
		uint64_t zero = 0;
		vlapic_mmio(v->vlapic, true, VLAPIC_BASE_DEFAULT + APIC_REG_EOI, 4, &zero);
	}
}

static void zero_host(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	(void)leaf;
	(void)sub;
	out[0] = out[1] = out[2] = out[3] = 0;
}

static uint64_t zero_reg(void *arg)
{
	(void)arg;
	return 0;
}

TEST(cpuid_shows_kvm_leaves_only_with_paravirt)
{
	struct cpuid_ctx c = { .host = zero_host, .nr_vcpus = 1, .paravirt = true };
	struct cpuid_table t;
	uint32_t r[4];

	cpuid_guest(&c, 0x40000000, 0, r);
	CHECK_EQ(r[0], CPUID_HV_MAX_LEAF);              /* kasane's own leaves stay */
	cpuid_guest(&c, 0x40000100, 0, r);
	CHECK_EQ(r[0], 0x40000101);
	CHECK(!memcmp(&r[1], "KVMKVMKVM\0\0\0", 12));
	cpuid_guest(&c, 0x40000101, 0, r);
	CHECK_EQ(r[0], (1u << 6) | (1u << 3));          /* PV_EOI, CLOCKSOURCE2 */
	CHECK_EQ(r[1] | r[2] | r[3], 0);
	cpuid_guest(&c, 0x40000102, 0, r);
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	cpuid_table_init(&t, &c, zero_reg, zero_reg, NULL);
	struct cpuid_regs g = cpuid_table_get(&t, 0x40000101, 0);
	CHECK_EQ(g.eax, (1u << 6) | (1u << 3));
	c.tsc_invariant = true;                         /* and kvmclock's stable bit */
	cpuid_guest(&c, 0x40000101, 0, r);
	CHECK_EQ(r[0], (1u << 6) | (1u << 3) | (1u << 24));
	c.paravirt = false;
	for (uint32_t leaf = 0x40000100; leaf <= 0x40000101; leaf++) {
		cpuid_guest(&c, leaf, 0, r);
		CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);
	}
}

TEST(msr_takes_zero_or_an_aligned_ram_address_with_bit_0)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];
	uint64_t val = 0;

	CHECK(msr_guest_read(v, MSR_KVM_PV_EOI_EN, &val));
	CHECK_EQ(val, FLAG_GPA | 1);
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, FLAG_GPA | 2 | 1));   /* not 4-aligned */
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, FLAG_GPA));           /* bit 0 clear */
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, RAM_SIZE | 1));        /* not RAM */
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, (RAM_SIZE - 2) | 1));  /* crosses the end */
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, ~0ULL));
	CHECK(msr_guest_read(v, MSR_KVM_PV_EOI_EN, &val));
	CHECK_EQ(val, FLAG_GPA | 1);                    /* a refused write changes nothing */
	CHECK(msr_guest_write(v, MSR_KVM_PV_EOI_EN, 0));
	CHECK(msr_guest_read(v, MSR_KVM_PV_EOI_EN, &val));
	CHECK_EQ(val, 0);
	/* paravirt = off: the MSR does not exist. */
	((struct tvm *)vm)->cfg.paravirt = false;
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, FLAG_GPA | 1));
	CHECK(!msr_guest_write(v, MSR_KVM_PV_EOI_EN, 0));
	CHECK(!msr_guest_read(v, MSR_KVM_PV_EOI_EN, &val));
	vm_free(vm);
}

TEST(msr_is_cleared_by_init)
{
	struct vm *vm = pv_vm();

	board_vcpu_reset(&vm->vcpu[0]);
	CHECK_EQ(vlapic_pv_eoi_msr(vm->vcpu[0].vlapic), 0);
	vm_free(vm);
}

TEST(msr_survives_a_snapshot_record)
{
	struct vm *vm = pv_vm();
	struct vlapic *vl = vm->vcpu[0].vlapic;
	static uint8_t rec[VLAPIC_SNAP_SIZE];

	CHECK_EQ(VLAPIC_SNAP_VERSION, 3);
	CHECK_EQ(vlapic_save(vl, rec, sizeof(rec)), VLAPIC_SNAP_SIZE);
	vlapic_set_pv_eoi_msr(vl, 0);
	CHECK(vlapic_load(vl, rec, sizeof(rec)));
	CHECK_EQ(vlapic_pv_eoi_msr(vl), FLAG_GPA | 1);
	vm_free(vm);
}

TEST(edge_interrupt_sets_the_flag_and_its_clearing_is_the_eoi)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];

	nr_seen = 0;
	vlapic_set_irq(v->vlapic, 0x30, false);
	sched_wake(v);
	push(EXIT_INTR, guest_eoi);     /* runs the handler: flag set, cleared */
	push(EXIT_INTR, guest_looks);
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(ev_count(EV_INTR), 1);
	CHECK_EQ(nr_seen, 2);
	CHECK_EQ(seen[0], 1);           /* set for the entry that injected 0x30 */
	CHECK_EQ(seen[1], 0);           /* nothing in service: not set */
	CHECK(!isr_has(v, 0x30));       /* the EOI happened at the exit */
	CHECK_EQ(v->vlapic->pv_eois, 1);
	CHECK_EQ(*flag(v), 0);
	vm_free(vm);
}

TEST(flag_left_set_is_cleared_and_no_eoi_happens)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];

	nr_seen = 0;
	*flag(v) = 0xf0;                /* the guest's other bits stay as they are */
	vlapic_set_irq(v->vlapic, 0x30, false);
	sched_wake(v);
	push(EXIT_INTR, guest_looks);   /* an exit before the handler's EOI */
	push(EXIT_INTR, guest_eoi);     /* set again for the next entry: deferred */
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(nr_seen, 2);
	CHECK_EQ(seen[0], 0xf1);
	CHECK_EQ(seen[1], 0xf1);
	CHECK(!isr_has(v, 0x30));
	CHECK_EQ(v->vlapic->pv_eois, 1);
	CHECK_EQ(*flag(v), 0xf0);
	vm_free(vm);
}

TEST(flag_is_not_set_while_another_interrupt_waits_in_irr)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];

	nr_seen = 0;
	vlapic_set_irq(v->vlapic, 0x30, false);
	vlapic_set_irq(v->vlapic, 0x20, false);         /* below 0x30's class: waits */
	sched_wake(v);
	push(EXIT_INTR, guest_eoi);     /* 0x30's handler: the EOI must exit */
	push(EXIT_INTR, guest_eoi);     /* 0x20's: nothing waits any more */
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(ev_count(EV_INTR), 2);
	CHECK_EQ(ev_get(EV_INTR, 0)->vector, 0x30);
	CHECK_EQ(ev_get(EV_INTR, 1)->vector, 0x20);
	CHECK_EQ(seen[0], 0);
	CHECK_EQ(seen[1], 1);
	CHECK(!isr_has(v, 0x30) && !isr_has(v, 0x20));
	CHECK_EQ(v->vlapic->pv_eois, 1);
	vm_free(vm);
}

TEST(flag_is_not_set_for_a_level_triggered_vector)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];

	nr_seen = 0;
	vlapic_set_irq(v->vlapic, 0x30, true);          /* TMR set */
	sched_wake(v);
	push(EXIT_INTR, guest_eoi);
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(seen[0], 0);
	CHECK(!isr_has(v, 0x30));       /* through the EOI register */
	CHECK_EQ(v->vlapic->pv_eois, 0);
	vm_free(vm);
}

TEST(flag_is_not_set_with_the_msr_off)
{
	struct vm *vm = pv_vm();
	struct vcpu *v = &vm->vcpu[0];

	nr_seen = 0;
	CHECK(msr_guest_write(v, MSR_KVM_PV_EOI_EN, 0));
	vlapic_set_irq(v->vlapic, 0x30, false);
	sched_wake(v);
	push(EXIT_INTR, guest_eoi);
	push_hc_exit();
	run_slice(v);
	CHECK_EQ(seen[0], 0);
	CHECK(!isr_has(v, 0x30));
	CHECK_EQ(v->vlapic->pv_eois, 0);
	vm_free(vm);
}

/* The decision alone (devices/vlapic.c), case by case. */
TEST(may_defer_cases)
{
	struct vm *vm = pv_vm();
	struct vlapic *vl = vm->vcpu[0].vlapic;

	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* nothing at all */
	vlapic_set_irq(vl, 0x30, false);
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* one waits in IRR, none in service */
	vlapic_post_begin(vl, 0x30);
	CHECK(vlapic_pv_eoi_may_defer(vl));             /* posted, nothing else anywhere */
	vlapic_set_irq(vl, 0x40, false);
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* posted, and another waits */
	CHECK_EQ(vlapic_post_end(vl, false), -1);       /* not taken: back in IRR */
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* two wait */
	CHECK_EQ(vlapic_accept(vl, 0x40), 0x40);
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* 0x40 in service, 0x30 waits */
	CHECK_EQ(vlapic_accept(vl, 0x30), 0xff);        /* below PPR: stays in IRR */
	vlapic_pv_eoi(vl);                              /* 0x40's EOI */
	CHECK_EQ(vlapic_accept(vl, 0x30), 0x30);
	CHECK(vlapic_pv_eoi_may_defer(vl));             /* 0x30 in service, IRR empty */
	vlapic_pv_eoi(vl);
	vlapic_set_irq(vl, 0x50, true);
	vlapic_post_begin(vl, 0x50);
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* a level vector posted */
	CHECK_EQ(vlapic_post_end(vl, true), 0x50);      /* taken: in service */
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* a level vector in service */
	vlapic_pv_eoi(vl);
	vlapic_pv_eoi(vl);                              /* nothing in service: nothing happens */
	CHECK_EQ(v_isr_empty(vl), true);
	vlapic_set_irq(vl, 0x30, false);
	vlapic_set_pv_eoi_msr(vl, 0);
	CHECK(!vlapic_pv_eoi_may_defer(vl));            /* MSR off */
	vm_free(vm);
}

/* Linux enables x2APIC when it finds KVM: its disconnect_bsp_APIC() (at
 * shutdown) writes LVT0 with delivery status and remote IRR set, which
 * are read-only bits, ignored, not reserved ones (SDM vol. 3A §11.5.1). */
TEST(x2apic_lvt_read_only_bits_are_ignored)
{
	struct vm *vm = pv_vm();
	struct vlapic *vl = vm->vcpu[0].vlapic;
	uint64_t val = 0;

	CHECK(vlapic_set_apic_base(vl, VLAPIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP |
				   APIC_BASE_EXTD));
	CHECK(vlapic_msr_write(vl, 0x80f, 0x1ff));              /* SVR: enabled */
	CHECK(vlapic_msr_write(vl, 0x835, 0x5700));             /* LVT0 */
	CHECK(vlapic_msr_read(vl, 0x835, &val));
	CHECK_EQ(val, 0x700);
	CHECK(vlapic_msr_write(vl, 0x836, 0x5400));             /* LVT1 */
	CHECK(!vlapic_msr_write(vl, 0x832, 0x4040));            /* timer: bit 14 reserved */
	CHECK(vlapic_msr_write(vl, 0x832, 0x1040));             /* its delivery status */
	CHECK(!vlapic_msr_write(vl, 0x835, 0x80700));           /* bit 19 reserved */
	vm_free(vm);
}

int main(void)
{
	core_fake_init();
	RUN(cpuid_shows_kvm_leaves_only_with_paravirt);
	RUN(msr_takes_zero_or_an_aligned_ram_address_with_bit_0);
	RUN(msr_is_cleared_by_init);
	RUN(msr_survives_a_snapshot_record);
	RUN(edge_interrupt_sets_the_flag_and_its_clearing_is_the_eoi);
	RUN(flag_left_set_is_cleared_and_no_eoi_happens);
	RUN(flag_is_not_set_while_another_interrupt_waits_in_irr);
	RUN(flag_is_not_set_for_a_level_triggered_vector);
	RUN(flag_is_not_set_with_the_msr_off);
	RUN(may_defer_cases);
	RUN(x2apic_lvt_read_only_bits_are_ignored);
	return check_finish();
}
