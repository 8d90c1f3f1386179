/*
 * Host tests for the emulated I/O APIC: the guest side goes through
 * vioapic_mmio() as the bus would call it, the device side through
 * vioapic_set_irq()/vioapic_eoi(), and a fake VM records the messages.
 */
#include "test/unit/check.h"
#include "devices/vioapic.h"
#include "devices/iobus.h"

#define MAX_MSGS 16

struct fake_vm {
	struct vioapic *io;
	unsigned n;
	struct apic_msg msg[MAX_MSGS];
	bool reenter;           /* read IOREGSEL from inside the callback */
	uint64_t reenter_val;
};

static void fake_deliver(void *vm, const struct apic_msg *m)
{
	struct fake_vm *f = vm;

	if (f->n < MAX_MSGS)
		f->msg[f->n] = *m;
	f->n++;
	if (f->reenter)         /* would deadlock if the lock were still held */
		vioapic_mmio(f->io, false, VIOAPIC_BASE + IOAPIC_IOREGSEL, 4, &f->reenter_val);
}

static const struct irq_ops fake_ops = { .apic_deliver = fake_deliver };

static void setup(struct vioapic *io, struct fake_vm *f)
{
	memset(f, 0, sizeof(*f));
	f->io = io;
	vioapic_init(io, 2, &fake_ops, f);
}

static uint32_t rd(struct vioapic *io, uint8_t reg)
{
	uint64_t v = reg;
	CHECK_EQ(vioapic_mmio(io, true, VIOAPIC_BASE + IOAPIC_IOREGSEL, 4, &v), 0);
	v = 0xdeadbeef;
	CHECK_EQ(vioapic_mmio(io, false, VIOAPIC_BASE + IOAPIC_IOWIN, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct vioapic *io, uint8_t reg, uint32_t val)
{
	uint64_t v = reg;
	CHECK_EQ(vioapic_mmio(io, true, VIOAPIC_BASE + IOAPIC_IOREGSEL, 4, &v), 0);
	v = val;
	CHECK_EQ(vioapic_mmio(io, true, VIOAPIC_BASE + IOAPIC_IOWIN, 4, &v), 0);
}

/* Program entry `pin`: low and high halves. */
static void set_rte(struct vioapic *io, unsigned pin, uint32_t lo, uint32_t hi)
{
	wr(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1), hi);
	wr(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin), lo);
}

static uint32_t rte_lo(struct vioapic *io, unsigned pin)
{
	return rd(io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin));
}

TEST(window_and_ids)
{
	struct vioapic io;
	struct fake_vm f;
	uint64_t v;

	setup(&io, &f);
	CHECK_EQ(rd(&io, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ(rd(&io, IOAPIC_REG_ID), 0x02000000);
	CHECK_EQ(rd(&io, IOAPIC_REG_ARB), 0x02000000);
	/* IOREGSEL reads back. */
	v = 0;
	vioapic_mmio(&io, false, VIOAPIC_BASE + IOAPIC_IOREGSEL, 4, &v);
	CHECK_EQ(v, IOAPIC_REG_ARB);
	/* ID bits 27:24 are writable, the rest not; version is read-only. */
	wr(&io, IOAPIC_REG_ID, 0xffffffff);
	CHECK_EQ(rd(&io, IOAPIC_REG_ID), 0x0f000000);
	wr(&io, IOAPIC_REG_VER, 0);
	CHECK_EQ(rd(&io, IOAPIC_REG_VER), 0x00170011);
	/* Registers that do not exist: past the table, between ARB and the table. */
	wr(&io, 0x40, 0x1234);
	CHECK_EQ(rd(&io, 0x40), 0);
	CHECK_EQ(rd(&io, 0x05), 0);
	/* Other offsets and widths read 0 and ignore writes. */
	v = 0x55;
	CHECK_EQ(vioapic_mmio(&io, true, VIOAPIC_BASE + 0x04, 4, &v), 0);
	v = 0x11;
	CHECK_EQ(vioapic_mmio(&io, true, VIOAPIC_BASE + IOAPIC_IOREGSEL, 1, &v), 0);
	v = 0xff;
	CHECK_EQ(vioapic_mmio(&io, false, VIOAPIC_BASE + 0x20, 4, &v), 0);
	CHECK_EQ(v, 0);
	v = 0xff;
	CHECK_EQ(vioapic_mmio(&io, false, VIOAPIC_BASE + IOAPIC_IOWIN, 8, &v), 0);
	CHECK_EQ(v, 0);
	vioapic_mmio(&io, false, VIOAPIC_BASE + IOAPIC_IOREGSEL, 4, &v);
	CHECK_EQ(v, 0x05);              /* the byte write of 0x11 was ignored */
	/* Outside the range. */
	CHECK_EQ(vioapic_mmio(&io, false, VIOAPIC_BASE + VIOAPIC_SIZE, 4, &v), IOBUS_EINVAL);
	CHECK_EQ(vioapic_mmio(&io, false, VIOAPIC_BASE - 4, 4, &v), IOBUS_EINVAL);
	CHECK_EQ(f.n, 0);
}

TEST(reset_masked_and_rte_bits)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		CHECK_EQ(rte_lo(&io, pin), IOAPIC_RTE_MASKED);
		CHECK_EQ(rd(&io, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1)), 0);
	}
	/* Delivery status and Remote IRR are read-only; high half keeps only 63:56. */
	set_rte(&io, 5, 0xffffffff, 0xffffffff);
	CHECK_EQ(rte_lo(&io, 5), 0x1afff);
	CHECK_EQ(rd(&io, IOAPIC_REG_REDTBL + 11), 0xff000000);
	/* A masked pin sends nothing, whatever the line does. */
	vioapic_set_irq(&io, 0, true);
	vioapic_pulse_irq(&io, 1);
	CHECK_EQ(f.n, 0);
	/* Pins past 23 are ignored. */
	vioapic_set_irq(&io, 24, true);
	vioapic_set_irq(&io, 1000, true);
	CHECK_EQ(io.lines, 1);
}

TEST(edge_once_per_rising_edge)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	set_rte(&io, 4, 0x31, 0x01000000);
	vioapic_set_irq(&io, 4, true);
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.msg[0].vector, 0x31);
	CHECK_EQ(f.msg[0].dest, 1);
	CHECK(!f.msg[0].logical);
	CHECK_EQ(f.msg[0].delivery, APIC_DM_FIXED);
	CHECK(!f.msg[0].level);
	vioapic_set_irq(&io, 4, true);          /* still high: no edge */
	CHECK_EQ(f.n, 1);
	vioapic_set_irq(&io, 4, false);
	CHECK_EQ(f.n, 1);
	vioapic_set_irq(&io, 4, true);
	CHECK_EQ(f.n, 2);
	vioapic_set_irq(&io, 4, false);
	vioapic_pulse_irq(&io, 4);
	CHECK_EQ(f.n, 3);
	CHECK_EQ(io.lines & (1u << 4), 0);
	/* No Remote IRR for edge entries, and EOI changes nothing. */
	CHECK_EQ(rte_lo(&io, 4) & IOAPIC_RTE_REMOTE_IRR, 0);
	vioapic_eoi(&io, 0x31);
	CHECK_EQ(f.n, 3);
	/* An edge on a masked pin is lost, not held. */
	set_rte(&io, 4, 0x31 | IOAPIC_RTE_MASKED, 0x01000000);
	vioapic_pulse_irq(&io, 4);
	set_rte(&io, 4, 0x31, 0x01000000);
	CHECK_EQ(f.n, 3);
}

TEST(level_remote_irr_and_eoi)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	set_rte(&io, 9, 0x41 | IOAPIC_RTE_LEVEL, 0);
	vioapic_set_irq(&io, 9, true);
	CHECK_EQ(f.n, 1);
	CHECK(f.msg[0].level);
	CHECK_EQ(f.msg[0].vector, 0x41);
	CHECK(rte_lo(&io, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Asserted again, or another pulse: Remote IRR holds it back. */
	vioapic_set_irq(&io, 9, true);
	CHECK_EQ(f.n, 1);
	/* EOI while still asserted: sent again. */
	vioapic_eoi(&io, 0x41);
	CHECK_EQ(f.n, 2);
	CHECK(rte_lo(&io, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Deasserted, then EOI: Remote IRR clears, nothing sent. */
	vioapic_set_irq(&io, 9, false);
	vioapic_eoi(&io, 0x41);
	CHECK_EQ(f.n, 2);
	CHECK_EQ(rte_lo(&io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	vioapic_set_irq(&io, 9, true);
	CHECK_EQ(f.n, 3);
	/* Switching the entry to edge clears a stuck Remote IRR (Linux's unstick). */
	set_rte(&io, 9, 0x41 | IOAPIC_RTE_MASKED, 0);
	CHECK_EQ(rte_lo(&io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Back to level, unmasked, line still high: sent at once. */
	set_rte(&io, 9, 0x41 | IOAPIC_RTE_LEVEL, 0);
	CHECK_EQ(f.n, 4);
}

TEST(eoi_shared_vector_and_unrelated)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	set_rte(&io, 16, 0x50 | IOAPIC_RTE_LEVEL, 0);
	set_rte(&io, 17, 0x50 | IOAPIC_RTE_LEVEL, 0);
	vioapic_set_irq(&io, 16, true);
	vioapic_set_irq(&io, 17, true);
	CHECK_EQ(f.n, 2);
	/* An unrelated vector: nothing changes. */
	vioapic_eoi(&io, 0x51);
	CHECK_EQ(f.n, 2);
	CHECK(rte_lo(&io, 16) & IOAPIC_RTE_REMOTE_IRR);
	CHECK(rte_lo(&io, 17) & IOAPIC_RTE_REMOTE_IRR);
	/* The shared vector: both pins clear, the still-asserted one resends. */
	vioapic_set_irq(&io, 16, false);
	vioapic_eoi(&io, 0x50);
	CHECK_EQ(f.n, 3);
	CHECK_EQ(rte_lo(&io, 16) & IOAPIC_RTE_REMOTE_IRR, 0);
	CHECK(rte_lo(&io, 17) & IOAPIC_RTE_REMOTE_IRR);
}

TEST(masked_level_delivers_on_unmask)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	set_rte(&io, 11, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED, 0);
	vioapic_set_irq(&io, 11, true);
	CHECK_EQ(f.n, 0);
	CHECK_EQ(rte_lo(&io, 11) & IOAPIC_RTE_REMOTE_IRR, 0);
	set_rte(&io, 11, 0x60 | IOAPIC_RTE_LEVEL, 0);
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.msg[0].vector, 0x60);
	/* Unmasking a level pin that went low meanwhile sends nothing. */
	set_rte(&io, 12, 0x61 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED, 0);
	vioapic_set_irq(&io, 12, true);
	vioapic_set_irq(&io, 12, false);
	set_rte(&io, 12, 0x61 | IOAPIC_RTE_LEVEL, 0);
	CHECK_EQ(f.n, 1);
}

TEST(polarity)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	/* Active-low edge: the line idles high, the falling edge is the event. */
	vioapic_set_irq(&io, 3, true);
	set_rte(&io, 3, 0x33 | IOAPIC_RTE_ACTLOW, 0);
	CHECK_EQ(f.n, 0);
	vioapic_set_irq(&io, 3, false);
	CHECK_EQ(f.n, 1);
	vioapic_set_irq(&io, 3, true);
	CHECK_EQ(f.n, 1);
	vioapic_pulse_irq(&io, 3);              /* high then low: one falling edge */
	CHECK_EQ(f.n, 2);
	/* Active-low level: asserted while low. */
	vioapic_set_irq(&io, 20, true);
	set_rte(&io, 20, 0x70 | IOAPIC_RTE_ACTLOW | IOAPIC_RTE_LEVEL, 0);
	CHECK_EQ(f.n, 2);
	vioapic_set_irq(&io, 20, false);
	CHECK_EQ(f.n, 3);
	CHECK_EQ(f.msg[2].vector, 0x70);
	vioapic_set_irq(&io, 20, true);
	vioapic_eoi(&io, 0x70);
	CHECK_EQ(f.n, 3);
	/* An active-low level pin left low is asserted when unmasked. */
	set_rte(&io, 21, 0x71 | IOAPIC_RTE_ACTLOW | IOAPIC_RTE_LEVEL, 0);
	CHECK_EQ(f.n, 4);
	CHECK_EQ(f.msg[3].vector, 0x71);
}

TEST(message_fields)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	/* Logical destination 0x0f, lowest priority, level. */
	set_rte(&io, 6, 0x45 | (APIC_DM_LOWEST << 8) | IOAPIC_RTE_DESTLOG | IOAPIC_RTE_LEVEL,
		0x0f000000);
	vioapic_set_irq(&io, 6, true);
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.msg[0].dest, 0x0f);
	CHECK(f.msg[0].logical);
	CHECK_EQ(f.msg[0].delivery, APIC_DM_LOWEST);
	CHECK_EQ(f.msg[0].vector, 0x45);
	CHECK(f.msg[0].level);
	CHECK_EQ(f.msg[0].shorthand, 0);
	/* Physical destination 0xfe (all 8 bits pass through). */
	set_rte(&io, 7, 0x46, 0xfe000000);
	vioapic_pulse_irq(&io, 7);
	CHECK_EQ(f.n, 2);
	CHECK_EQ(f.msg[1].dest, 0xfe);
	CHECK(!f.msg[1].logical);
	CHECK_EQ(f.msg[1].delivery, APIC_DM_FIXED);
}

TEST(delivery_modes)
{
	struct vioapic io;
	struct fake_vm f;
	static const uint8_t modes[] = { APIC_DM_SMI, APIC_DM_NMI, APIC_DM_INIT, APIC_DM_EXTINT };

	setup(&io, &f);
	for (unsigned i = 0; i < 4; i++) {
		/* Programmed level-triggered: these modes are edge whatever the bit says. */
		set_rte(&io, i, (uint32_t)(modes[i] << 8) | IOAPIC_RTE_LEVEL, 0x03000000);
		vioapic_set_irq(&io, i, true);
		CHECK_EQ(f.n, i + 1);
		CHECK_EQ(f.msg[i].delivery, modes[i]);
		CHECK_EQ(f.msg[i].dest, 3);
		CHECK(!f.msg[i].level);
		CHECK_EQ(rte_lo(&io, i) & IOAPIC_RTE_REMOTE_IRR, 0);
		vioapic_set_irq(&io, i, true);  /* no level re-send */
		CHECK_EQ(f.n, i + 1);
	}
	/* Reserved modes 3 and 6 send nothing. */
	set_rte(&io, 8, 3u << 8, 0);
	set_rte(&io, 10, 6u << 8, 0);
	vioapic_pulse_irq(&io, 8);
	vioapic_pulse_irq(&io, 10);
	CHECK_EQ(f.n, 4);
}

TEST(callback_outside_lock)
{
	struct vioapic io;
	struct fake_vm f;

	setup(&io, &f);
	f.reenter = true;
	set_rte(&io, 2, 0x22, 0);       /* leaves IOREGSEL at 0x14 */
	vioapic_pulse_irq(&io, 2);
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.reenter_val, IOAPIC_REG_REDTBL + 4);
	set_rte(&io, 2, 0x22 | IOAPIC_RTE_LEVEL, 0);
	vioapic_set_irq(&io, 2, true);
	vioapic_eoi(&io, 0x22);
	CHECK_EQ(f.n, 3);
}

int main(void)
{
	check_start("vioapic");
	RUN(window_and_ids);
	RUN(reset_masked_and_rte_bits);
	RUN(edge_once_per_rising_edge);
	RUN(level_remote_irr_and_eoi);
	RUN(eoi_shared_vector_and_unrelated);
	RUN(masked_level_delivers_on_unmask);
	RUN(polarity);
	RUN(message_fields);
	RUN(delivery_modes);
	RUN(callback_outside_lock);
	return check_finish();
}
