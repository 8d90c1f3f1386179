/*
 * Host tests for the emulated 8259A pair: the guest programs it through
 * vpic_pio() as the bus would call it, devices drive vpic_set_irq(), the
 * "CPU" acknowledges with vpic_ack(), and a fake VM records INTR changes.
 */
#include "test/unit/check.h"
#include "devices/vpic.h"
#include "devices/iobus.h"

struct fake_vm {
	struct vpic *p;
	unsigned changes;
	bool last;
	char log[64];           /* '1'/'0' per INTR change */
	bool reenter;           /* read the master IMR from inside the callback */
	uint32_t reenter_val;
};

static void fake_intr(void *vm, bool asserted)
{
	struct fake_vm *f = vm;

	if (f->changes < sizeof(f->log) - 1)
		f->log[f->changes] = asserted ? '1' : '0';
	f->changes++;
	f->last = asserted;
	if (f->reenter)         /* would deadlock if the lock were still held */
		vpic_pio(f->p, true, 0x21, 1, &f->reenter_val);
}

static const struct irq_ops fake_ops = { .pic_intr = fake_intr };

static void pic_out(struct vpic *p, uint16_t port, uint8_t v)
{
	uint32_t val = v;
	CHECK_EQ(vpic_pio(p, false, port, 1, &val), 0);
}

static uint8_t pic_in(struct vpic *p, uint16_t port)
{
	uint32_t val = 0x5a5a5a5a;
	CHECK_EQ(vpic_pio(p, true, port, 1, &val), 0);
	return (uint8_t)val;
}

/* What Linux's init_8259A() writes (arch/x86/kernel/i8259.c), IMRs left open. */
static void linux_init(struct vpic *p, uint8_t icw4)
{
	pic_out(p, 0x21, 0xff);
	pic_out(p, 0xa1, 0xff);
	pic_out(p, 0x20, 0x11); /* ICW1: edge, cascade, ICW4 needed */
	pic_out(p, 0x21, 0x20); /* ICW2: vectors 0x20-0x27 */
	pic_out(p, 0x21, 0x04); /* ICW3: slave on IR2 */
	pic_out(p, 0x21, icw4); /* ICW4: 8086 mode (+ AEOI) */
	pic_out(p, 0xa0, 0x11);
	pic_out(p, 0xa1, 0x28);
	pic_out(p, 0xa1, 0x02); /* ICW3: slave ID 2 */
	pic_out(p, 0xa1, 0x01);
}

static void setup(struct vpic *p, struct fake_vm *f, uint8_t icw4)
{
	memset(f, 0, sizeof(*f));
	f->p = p;
	vpic_init(p, &fake_ops, f);
	linux_init(p, icw4);
}

static void eoi(struct vpic *p, uint16_t cmd)
{
	pic_out(p, cmd, 0x20);  /* OCW2: non-specific EOI */
}

static uint8_t read_isr(struct vpic *p, uint16_t cmd)
{
	pic_out(p, cmd, 0x0b);  /* OCW3: read ISR */
	return pic_in(p, cmd);
}

static uint8_t read_irr(struct vpic *p, uint16_t cmd)
{
	pic_out(p, cmd, 0x0a);  /* OCW3: read IRR */
	return pic_in(p, cmd);
}

TEST(reset_state)
{
	struct vpic p;
	struct fake_vm f = { 0 };

	vpic_init(&p, &fake_ops, &f);
	CHECK_EQ(pic_in(&p, 0x21), 0xff);
	CHECK_EQ(pic_in(&p, 0xa1), 0xff);
	vpic_set_irq(&p, 0, true);
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), -1);
	/* Unmasked without initialization: the BIOS layout. */
	pic_out(&p, 0x21, 0xfe);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x08);
}

TEST(linux_init_sequence)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	/* ICW1 cleared the IMRs; the ICWs did not land in them. */
	CHECK_EQ(pic_in(&p, 0x21), 0);
	CHECK_EQ(pic_in(&p, 0xa1), 0);
	CHECK_EQ(p.chip[0].base, 0x20);
	CHECK_EQ(p.chip[1].base, 0x28);
	CHECK_EQ(p.chip[0].icw3, 0x04);
	CHECK_EQ(p.chip[1].icw3, 0x02);
	CHECK(p.chip[0].mode8086 && !p.chip[0].aeoi);
	CHECK_EQ(p.chip[0].icw_next, 0);
	/* Now OCW1 goes to the IMR. */
	pic_out(&p, 0x21, 0xfb);
	CHECK_EQ(pic_in(&p, 0x21), 0xfb);
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), -1);
	/* A line already high at ICW1 must make a new low-to-high transition. */
	vpic_set_irq(&p, 4, true);
	pic_out(&p, 0x20, 0x11);
	pic_out(&p, 0x21, 0x20);
	pic_out(&p, 0x21, 0x04);
	pic_out(&p, 0x21, 0x01);
	CHECK(!vpic_intr_asserted(&p));
	vpic_set_irq(&p, 4, false);
	vpic_set_irq(&p, 4, true);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x24);
	/* Single mode without ICW4: ICW2 is the last, ICW4 functions cleared. */
	pic_out(&p, 0x20, 0x12);
	pic_out(&p, 0x21, 0x40);
	CHECK_EQ(p.chip[0].icw_next, 0);
	CHECK(!p.chip[0].mode8086);
	pic_out(&p, 0x21, 0x00);
	CHECK_EQ(pic_in(&p, 0x21), 0);
	vpic_set_irq(&p, 5, true);
	CHECK_EQ(vpic_ack(&p), 0x45);
}

TEST(imr_masking)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	pic_out(&p, 0x21, 0x02);
	vpic_set_irq(&p, 1, true);
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(read_irr(&p, 0x20), 0x02);     /* requested, but masked */
	pic_out(&p, 0x21, 0x00);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x21);
	CHECK_EQ(read_isr(&p, 0x20), 0x02);
	CHECK_EQ(read_irr(&p, 0x20), 0x00);
	/* Slave IRQs masked at the master's IR2. */
	eoi(&p, 0x20);
	pic_out(&p, 0x21, 0x04);
	vpic_set_irq(&p, 9, true);
	CHECK(!vpic_intr_asserted(&p));
	pic_out(&p, 0x21, 0x00);
	CHECK_EQ(vpic_ack(&p), 0x29);
}

TEST(priority_order)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	vpic_set_irq(&p, 5, true);
	vpic_set_irq(&p, 3, true);
	vpic_set_irq(&p, 14, true);
	/* The slave, on IR2, outranks IRQ 3. */
	CHECK_EQ(vpic_ack(&p), 0x2e);
	CHECK(!vpic_intr_asserted(&p));
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK_EQ(vpic_ack(&p), 0x23);
	/* IRQ 3 in service blocks the lower IRQ 5. */
	CHECK(!vpic_intr_asserted(&p));
	eoi(&p, 0x20);
	CHECK_EQ(vpic_ack(&p), 0x25);
	eoi(&p, 0x20);
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), -1);
}

TEST(nested_specific_and_nonspecific_eoi)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	vpic_set_irq(&p, 4, true);
	CHECK_EQ(vpic_ack(&p), 0x24);
	vpic_set_irq(&p, 6, true);              /* lower: waits */
	CHECK(!vpic_intr_asserted(&p));
	vpic_set_irq(&p, 1, true);              /* higher: nests */
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x21);
	CHECK_EQ(read_isr(&p, 0x20), 0x12);
	/* A non-specific EOI ends the highest level in service, IRQ 1. */
	eoi(&p, 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x10);
	CHECK(!vpic_intr_asserted(&p));
	/* Specific EOI for IRQ 4 (OCW2 0x64); then IRQ 6 comes. */
	pic_out(&p, 0x20, 0x64);
	CHECK_EQ(read_isr(&p, 0x20), 0x00);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x26);
	/* Specific EOI of a level not in service changes nothing. */
	pic_out(&p, 0x20, 0x63);
	CHECK_EQ(read_isr(&p, 0x20), 0x40);
	pic_out(&p, 0x20, 0x40);                /* OCW2 no-op */
	CHECK_EQ(read_isr(&p, 0x20), 0x40);
}

TEST(cascade)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	vpic_set_irq(&p, 8, true);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(read_irr(&p, 0x20), 0x04);     /* the slave's INT on IR2 */
	CHECK_EQ(vpic_ack(&p), 0x28);
	CHECK_EQ(read_isr(&p, 0x20), 0x04);
	CHECK_EQ(read_isr(&p, 0xa0), 0x01);
	/* Two more slave requests queue behind IRQ 8 and come one by one. */
	vpic_set_irq(&p, 12, true);
	vpic_set_irq(&p, 10, true);
	CHECK(!vpic_intr_asserted(&p));
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK_EQ(vpic_ack(&p), 0x2a);
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK_EQ(vpic_ack(&p), 0x2c);
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(read_isr(&p, 0x20), 0);
	CHECK_EQ(read_isr(&p, 0xa0), 0);
	/* IRQ 2 has no outside input. */
	vpic_set_irq(&p, 2, true);
	vpic_set_irq(&p, 16, true);
	CHECK(!vpic_intr_asserted(&p));
}

TEST(special_fully_nested)
{
	struct vpic p;
	struct fake_vm f;

	/* Master ICW4 = 0x11 (SFNM): a higher slave request nests under IR2. */
	setup(&p, &f, 0x11);
	vpic_set_irq(&p, 12, true);
	CHECK_EQ(vpic_ack(&p), 0x2c);
	vpic_set_irq(&p, 9, true);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x29);
	CHECK_EQ(read_isr(&p, 0xa0), 0x12);
	/* Without SFNM the same request waits for the master's EOI. */
	setup(&p, &f, 0x01);
	vpic_set_irq(&p, 12, true);
	CHECK_EQ(vpic_ack(&p), 0x2c);
	vpic_set_irq(&p, 9, true);
	CHECK(!vpic_intr_asserted(&p));
}

TEST(auto_eoi)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x03);
	vpic_set_irq(&p, 3, true);
	vpic_set_irq(&p, 6, true);
	CHECK_EQ(vpic_ack(&p), 0x23);
	CHECK_EQ(read_isr(&p, 0x20), 0);
	/* Nothing in service: the lower request follows without an EOI. */
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x26);
	CHECK_EQ(read_isr(&p, 0x20), 0);
	CHECK(!vpic_intr_asserted(&p));
	/* Rotate in AEOI mode (OCW2 0x80): the acknowledged IRQ becomes lowest. */
	pic_out(&p, 0x20, 0x80);
	vpic_set_irq(&p, 1, true);
	CHECK_EQ(vpic_ack(&p), 0x21);
	CHECK_EQ(p.chip[0].lowest, 1);
	vpic_set_irq(&p, 0, true);
	vpic_set_irq(&p, 1, false);
	vpic_set_irq(&p, 1, true);
	vpic_set_irq(&p, 3, false);
	vpic_set_irq(&p, 3, true);
	CHECK_EQ(vpic_ack(&p), 0x23);           /* order now 2..7, 0, 1 */
	CHECK_EQ(vpic_ack(&p), 0x20);
	CHECK_EQ(vpic_ack(&p), 0x21);
	/* OCW2 0x00 clears it. */
	pic_out(&p, 0x20, 0x00);
	vpic_set_irq(&p, 5, false);
	vpic_set_irq(&p, 5, true);
	CHECK_EQ(vpic_ack(&p), 0x25);
	CHECK_EQ(p.chip[0].lowest, 1);
}

TEST(poll_mode)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	pic_out(&p, 0x20, 0x0c);                /* OCW3: poll */
	CHECK_EQ(pic_in(&p, 0x20), 0x00);       /* nothing requested */
	vpic_set_irq(&p, 3, true);
	vpic_set_irq(&p, 7, true);
	pic_out(&p, 0x20, 0x0c);
	CHECK_EQ(pic_in(&p, 0x20), 0x83);       /* acts as INTA */
	CHECK_EQ(read_isr(&p, 0x20), 0x08);
	CHECK_EQ(read_irr(&p, 0x20), 0x80);
	/* The poll is used up: the next read is the register again. */
	CHECK_EQ(pic_in(&p, 0x20), 0x80);
	eoi(&p, 0x20);
	/* Polling the slave through its own command port. */
	vpic_set_irq(&p, 13, true);
	pic_out(&p, 0x20, 0x0c);
	CHECK_EQ(pic_in(&p, 0x20), 0x82);
	pic_out(&p, 0xa0, 0x0c);
	CHECK_EQ(pic_in(&p, 0xa0), 0x85);
	CHECK_EQ(read_isr(&p, 0xa0), 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x04);
}

TEST(read_irr_isr)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	pic_out(&p, 0x21, 0xff);
	vpic_set_irq(&p, 0, true);
	vpic_set_irq(&p, 5, true);
	vpic_set_irq(&p, 11, true);
	/* IRR is the default after ICW1 and the selection sticks. */
	CHECK_EQ(pic_in(&p, 0x20), 0x25);    /* bit 2: the slave's request */
	CHECK_EQ(pic_in(&p, 0x20), 0x25);
	CHECK_EQ(pic_in(&p, 0xa0), 0x08);
	pic_out(&p, 0x21, 0x00);
	CHECK_EQ(vpic_ack(&p), 0x20);
	pic_out(&p, 0x20, 0x0b);
	CHECK_EQ(pic_in(&p, 0x20), 0x01);
	pic_out(&p, 0x20, 0x08);                /* OCW3 without RR: selection kept */
	CHECK_EQ(pic_in(&p, 0x20), 0x01);
	pic_out(&p, 0x20, 0x0a);
	CHECK_EQ(pic_in(&p, 0x20), 0x24);
}

TEST(elcr_level)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	/* IRQ 0, 1, 2, 8 and 13 stay edge-triggered. */
	pic_out(&p, 0x4d0, 0xff);
	pic_out(&p, 0x4d1, 0xff);
	CHECK_EQ(pic_in(&p, 0x4d0), 0xf8);
	CHECK_EQ(pic_in(&p, 0x4d1), 0xde);
	pic_out(&p, 0x4d0, 0x00);
	pic_out(&p, 0x4d1, 0x04);               /* IRQ 10 level */
	vpic_set_irq(&p, 10, true);
	CHECK_EQ(vpic_ack(&p), 0x2a);
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	/* Still asserted: requested again. */
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x2a);
	vpic_set_irq(&p, 10, false);
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK(!vpic_intr_asserted(&p));
	/* The same on an edge pin requests once. */
	vpic_set_irq(&p, 11, true);
	CHECK_EQ(vpic_ack(&p), 0x2b);
	eoi(&p, 0xa0);
	eoi(&p, 0x20);
	CHECK(!vpic_intr_asserted(&p));
	/* ICW1 LTIM makes every input of the chip level-triggered. */
	pic_out(&p, 0x20, 0x19);
	pic_out(&p, 0x21, 0x20);
	pic_out(&p, 0x21, 0x04);
	pic_out(&p, 0x21, 0x01);
	vpic_set_irq(&p, 1, true);
	CHECK_EQ(vpic_ack(&p), 0x21);
	eoi(&p, 0x20);
	CHECK_EQ(vpic_ack(&p), 0x21);
	vpic_set_irq(&p, 1, false);
	eoi(&p, 0x20);
	CHECK(!vpic_intr_asserted(&p));
	/* Word access covers both ELCR bytes. */
	uint32_t v = 0x2020;
	CHECK_EQ(vpic_pio(&p, false, 0x4d0, 2, &v), 0);
	v = 0;
	CHECK_EQ(vpic_pio(&p, true, 0x4d0, 2, &v), 0);
	CHECK_EQ(v, 0x0020);                    /* IRQ 13's bit stays clear */
}

TEST(spurious_irq7_and_15)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	pic_out(&p, 0x4d0, 0x08);               /* IRQ 3 level */
	vpic_set_irq(&p, 3, true);
	CHECK(vpic_intr_asserted(&p));
	vpic_set_irq(&p, 3, false);             /* gone before INTA */
	CHECK(!vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x27);
	CHECK_EQ(read_isr(&p, 0x20), 0);
	CHECK_EQ(p.spurious, 1);
	CHECK_EQ(vpic_ack(&p), -1);             /* no INTR since that INTA */
	/* Through the slave: IRQ 15's vector, the master's IR2 left in service. */
	pic_out(&p, 0x4d1, 0x08);               /* IRQ 11 level */
	vpic_set_irq(&p, 11, true);
	vpic_set_irq(&p, 11, false);
	CHECK_EQ(vpic_ack(&p), 0x2f);
	CHECK_EQ(read_isr(&p, 0xa0), 0);
	CHECK_EQ(read_isr(&p, 0x20), 0x04);
	CHECK_EQ(p.spurious, 2);
	/* Masking after INTR went up: also spurious. */
	eoi(&p, 0x20);
	vpic_set_irq(&p, 4, true);
	pic_out(&p, 0x21, 0x10);
	CHECK_EQ(vpic_ack(&p), 0x27);
	pic_out(&p, 0x21, 0x00);
	CHECK_EQ(vpic_ack(&p), 0x24);
}

TEST(rotation)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	/* Rotate on non-specific EOI (OCW2 0xa0): IRQ 0 becomes lowest. */
	vpic_set_irq(&p, 0, true);
	CHECK_EQ(vpic_ack(&p), 0x20);
	vpic_set_irq(&p, 0, false);
	vpic_set_irq(&p, 0, true);
	vpic_set_irq(&p, 7, true);
	pic_out(&p, 0x20, 0xa0);
	CHECK_EQ(p.chip[0].lowest, 0);
	CHECK_EQ(vpic_ack(&p), 0x27);           /* 7 now outranks 0 */
	pic_out(&p, 0x20, 0xa0);
	CHECK_EQ(p.chip[0].lowest, 7);
	CHECK_EQ(vpic_ack(&p), 0x20);
	pic_out(&p, 0x20, 0xa0);
	/* Set priority (OCW2 0xc4): IRQ 4 lowest, so 5 highest. */
	pic_out(&p, 0x20, 0xc4);
	vpic_set_irq(&p, 3, true);
	vpic_set_irq(&p, 6, true);
	CHECK_EQ(vpic_ack(&p), 0x26);
	/* In service at the top priority, IRQ 6 blocks 3 (lower after rotation). */
	CHECK(!vpic_intr_asserted(&p));
	/* Rotate on specific EOI (OCW2 0xe6): IRQ 6 ends and becomes lowest. */
	pic_out(&p, 0x20, 0xe6);
	CHECK_EQ(read_isr(&p, 0x20), 0);
	CHECK_EQ(p.chip[0].lowest, 6);
	vpic_set_irq(&p, 6, false);
	vpic_set_irq(&p, 6, true);
	vpic_set_irq(&p, 7, false);
	vpic_set_irq(&p, 7, true);
	CHECK_EQ(vpic_ack(&p), 0x27);           /* order 7, 0, 1, ..., 6 */
	CHECK(!vpic_intr_asserted(&p));         /* 3 and 6 wait behind 7 */
	/* Set priority with 7 in service (OCW2 0xc2): order 3, 4, ..., 7, 0, 1, 2. */
	pic_out(&p, 0x20, 0xc2);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x23);
	CHECK_EQ(read_isr(&p, 0x20), 0x88);
	/* A non-specific EOI ends the highest in the current order: 3, not 7. */
	eoi(&p, 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x80);
	CHECK_EQ(vpic_ack(&p), 0x26);           /* 6 outranks 7 now */
	eoi(&p, 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x80);
}

TEST(special_mask_mode)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	vpic_set_irq(&p, 3, true);
	CHECK_EQ(vpic_ack(&p), 0x23);
	vpic_set_irq(&p, 5, true);
	CHECK(!vpic_intr_asserted(&p));
	/* Mask IRQ 3 and enter special mask mode: IRQ 5 gets through. */
	pic_out(&p, 0x21, 0x08);
	pic_out(&p, 0x20, 0x68);
	CHECK(vpic_intr_asserted(&p));
	CHECK_EQ(vpic_ack(&p), 0x25);
	CHECK_EQ(read_isr(&p, 0x20), 0x28);
	/* A non-specific EOI skips the masked IRQ 3. */
	eoi(&p, 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x08);
	eoi(&p, 0x20);
	CHECK_EQ(read_isr(&p, 0x20), 0x08);
	/* Leave special mask mode: IRQ 3 in service blocks again. */
	pic_out(&p, 0x20, 0x48);
	vpic_set_irq(&p, 5, false);
	vpic_set_irq(&p, 5, true);
	CHECK(!vpic_intr_asserted(&p));
	pic_out(&p, 0x20, 0x63);
	CHECK_EQ(vpic_ack(&p), 0x25);
}

TEST(intr_callback)
{
	struct vpic p;
	struct fake_vm f;

	setup(&p, &f, 0x01);
	CHECK_EQ(f.changes, 0);
	vpic_set_irq(&p, 0, true);
	CHECK_STR(f.log, "1");
	vpic_set_irq(&p, 1, true);              /* already up: no callback */
	CHECK_STR(f.log, "1");
	CHECK_EQ(vpic_ack(&p), 0x20);           /* IRQ 0 in service blocks IRQ 1 */
	CHECK_STR(f.log, "10");
	eoi(&p, 0x20);
	CHECK_STR(f.log, "101");
	pic_out(&p, 0x21, 0x02);                /* masking drops INTR */
	CHECK_STR(f.log, "1010");
	CHECK(!f.last);
	/* The callback runs with the lock dropped: it may call back in. */
	f.reenter = true;
	pic_out(&p, 0x21, 0x00);
	CHECK_STR(f.log, "10101");
	CHECK_EQ(f.reenter_val, 0x00);
	CHECK_EQ(vpic_ack(&p), 0x21);
	CHECK_STR(f.log, "101010");
	CHECK_EQ(f.changes, 6);
}

TEST(port_handler)
{
	struct vpic p;
	struct fake_vm f;
	uint32_t v = 0;

	setup(&p, &f, 0x01);
	CHECK_EQ(vpic_pio(&p, true, 0x22, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(vpic_pio(&p, true, 0x4d2, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(vpic_pio(&p, true, 0x1f, 1, &v), IOBUS_EINVAL);
	/* A word write at 0x20 writes OCW3 at 0x20 and the IMR at 0x21. */
	v = 0x550b;
	CHECK_EQ(vpic_pio(&p, false, 0x20, 2, &v), 0);
	CHECK_EQ(pic_in(&p, 0x21), 0x55);
	CHECK(p.chip[0].read_isr);
	/* A dword read at 0x20: ISR, IMR, then two ports not ours. */
	CHECK_EQ(vpic_pio(&p, true, 0x20, 4, &v), 0);
	CHECK_EQ(v, 0xffff5500);
	CHECK_EQ(vpic_pio(&p, true, 0x21, 4, &v), 0);
	CHECK_EQ(v, 0xffffff55);
}

int main(void)
{
	check_start("vpic");
	RUN(reset_state);
	RUN(linux_init_sequence);
	RUN(imr_masking);
	RUN(priority_order);
	RUN(nested_specific_and_nonspecific_eoi);
	RUN(cascade);
	RUN(special_fully_nested);
	RUN(auto_eoi);
	RUN(poll_mode);
	RUN(read_irr_isr);
	RUN(elcr_level);
	RUN(spurious_irq7_and_15);
	RUN(rotation);
	RUN(special_mask_mode);
	RUN(intr_callback);
	RUN(port_handler);
	return check_finish();
}
