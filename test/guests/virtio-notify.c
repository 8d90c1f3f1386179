/*
 * virtio-notify: a driver that honours virtio-blk's notification
 * suppression (virtio 1.2 §2.7.10) and would hang if the device never
 * turned notifications back on.  On the disk at 00:04.0, twice: with
 * VERSION_1 alone (used->flags NO_NOTIFY) and with EVENT_IDX (avail_event,
 * §2.7.10.2):
 *   1. a read of sector 0, kicked: served within the kick's exit;
 *   2. the device now asks for no kicks: a second read made available
 *      without one, then a spin with no exit (PAUSE and RDTSC) for up to
 *      2 s: served all the same (kasane's poll deadline);
 *   3. the guest idles (HLT until a LAPIC timer interrupt 20 ms later):
 *      the device has found its queue drained, so notifications are on
 *      again;
 *   4. a third read, kicked only if the device asks (flags, or
 *      vring_need_event on avail_event): served within 2 s, else "hung
 *      disk".
 */
#include "test/guests/lib/pc.h"

const char test_name[] = "virtio-notify";

#define ECAM_BASE   0xe0000000ul
#define SLOT        4
#define BAR0        0xc0000000ul
#define NOTIFY      (BAR0 + 0x3000)

#define DESC        0x400000ul
#define AVAIL       0x401000ul
#define USED        0x402000ul
#define HDR         0x403000ul
#define STATUS      0x403100ul
#define DATA        0x410000ul
#define QSIZE       8
#define AVAIL_EVENT (USED + 4 + 8 * QSIZE)
#define VEC_TIMER   0x40

static volatile uint8_t *reg8(unsigned off) { return (volatile uint8_t *)(BAR0 + off); }
static volatile uint16_t *reg16(unsigned off) { return (volatile uint16_t *)(BAR0 + off); }
static volatile uint32_t *reg32(unsigned off) { return (volatile uint32_t *)(BAR0 + off); }
static volatile uint32_t *ecam(unsigned reg) { return (volatile uint32_t *)(ECAM_BASE | SLOT << 15 | reg); }
static volatile uint16_t *used16(unsigned off) { return (volatile uint16_t *)(USED + off); }

static uint16_t avail_idx;
static volatile unsigned ticks;
static uint64_t timer_hz;       /* LAPIC timer ticks per second, divide by 16 */

/* Reset; VERSION_1 (+ EVENT_IDX, feature bit 29); queue 0 of QSIZE. */
static bool device_up(bool event_idx)
{
	*reg8(0x14) = 0;
	memset((void *)DESC, 0, 0x4000);
	avail_idx = 0;
	*reg8(0x14) = 1;
	*reg8(0x14) = 3;
	*reg32(0x08) = 0;
	*reg32(0x0c) = event_idx ? 1u << 29 : 0;
	*reg32(0x08) = 1;
	*reg32(0x0c) = 1;
	*reg8(0x14) = 0xb;
	*reg16(0x16) = 0;
	*reg16(0x18) = QSIZE;
	*reg32(0x20) = DESC;
	*reg32(0x28) = AVAIL;
	*reg32(0x30) = USED;
	*reg16(0x1c) = 1;
	*reg8(0x14) = 0xf;
	return *reg8(0x14) == 0xf;
}

/* A read of sector 0 made available; notify queue 0 if kick. */
static void submit(bool kick)
{
	volatile uint64_t *d = (volatile uint64_t *)DESC;
	*(volatile uint64_t *)HDR = 0;                  /* VIRTIO_BLK_T_IN, reserved */
	*(volatile uint64_t *)(HDR + 8) = 0;            /* sector 0 */
	*(volatile uint8_t *)STATUS = 0xee;
	d[0] = HDR; d[1] = 16 | 1ull << 32 | 1ull << 48;                /* NEXT -> 1 */
	d[2] = DATA; d[3] = 512 | 3ull << 32 | 2ull << 48;              /* NEXT|WRITE -> 2 */
	d[4] = STATUS; d[5] = 1 | 2ull << 32;                           /* WRITE */
	((volatile uint16_t *)(AVAIL + 4))[avail_idx % QSIZE] = 0;
	avail_idx++;
	asm volatile("mfence" ::: "memory");
	*(volatile uint16_t *)(AVAIL + 2) = avail_idx;
	asm volatile("mfence" ::: "memory");
	if (kick)
		*(volatile uint16_t *)NOTIFY = 0;
}

/* Whether the device asks to be notified of entry avail_idx - 1 (§2.7.10). */
static bool device_wants_kick(bool event_idx)
{
	if (!event_idx)
		return !(*used16(0) & 1);
	uint16_t ev = *(volatile uint16_t *)AVAIL_EVENT, now = avail_idx, old = avail_idx - 1;
	return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
}

/* Spin, without exits, until used->idx reaches want: false after 2 s. */
static bool served(uint16_t want)
{
	uint64_t end = rdtsc() + us_to_tsc(2000000);
	while (*used16(2) != want)
		if (rdtsc() > end)
			return false;
		else
			cpu_relax();
	return *(volatile uint8_t *)STATUS == 0;
}

static void on_timer(unsigned vector)
{
	(void)vector;
	ticks++;
	lapic_eoi();
}

/* HLT until the LAPIC timer fires once, 20 ms from now. */
static void idle(void)
{
	unsigned t = ticks;
	lapic_write(APIC_TIMER_DCR, APIC_DCR_DIV16);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | APIC_LVT_ONESHOT);
	lapic_write(APIC_TIMER_ICR, (uint32_t)(timer_hz / 50) + 1);
	while (ticks == t)
		irq_wait();
}

static void run(bool event_idx)
{
	const char *mode = event_idx ? "event-idx" : "flags";

	if (!device_up(event_idx)) {
		guest_fail("%s: the device did not come up", mode);
		return;
	}
	submit(true);
	if (*used16(2) != 1) {
		guest_fail("%s: a kicked read was not served in the kick's exit", mode);
		return;
	}
	/* As a driver does: the entry first, then whether to kick (no line
	 * printed in between: its port writes are exits the device polls at). */
	submit(false);
	if (device_wants_kick(event_idx)) {
		*(volatile uint16_t *)NOTIFY = 0;
		guest_printf("virtio-notify: %s: notifications still on after a kick\n", mode);
	}
	if (served(2))
		guest_printf("virtio-notify: %s: a read without a kick served\n", mode);
	else
		guest_fail("%s: a read made available without a kick (none asked) never served", mode);
	idle();
	submit(false);
	bool kick = device_wants_kick(event_idx);
	if (kick)
		*(volatile uint16_t *)NOTIFY = 0;
	guest_printf("virtio-notify: %s: after idling, notifications %s\n", mode, kick ? "on" : "off");
	if (served(3))
		guest_printf("virtio-notify: %s: the next read served\n", mode);
	else
		guest_fail("%s: hung disk: a read after idling never served (kicked: %s)", mode,
			   kick ? "yes" : "no");
}

void test_main(void)
{
	pt_init();
	if (!time_init())
		return;
	irq_init();
	if (!lapic_enable())
		return;
	irq_set_handler(VEC_TIMER, on_timer);
	timer_hz = lapic_timer_rate(APIC_DCR_DIV16);
	if (*ecam(0) != 0x10421af4) {
		guest_fail("no virtio-blk at 00:%02x.0 (ID 0x%x)", SLOT, *ecam(0));
		return;
	}
	*ecam(0x10) = BAR0;
	*ecam(0x04) = 0x6;                      /* memory decode, bus master */
	run(false);
	run(true);
}
