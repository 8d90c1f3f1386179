/*
 * The MC146818A real-time clock and its CMOS RAM as a PC guest sees them
 * (Motorola MC146818A data sheet), at ports 0x70 (index; bit 7 is the
 * chipset's NMI mask, kept and readable) and 0x71 (data).
 *
 * The clock is a count of seconds since 1970-01-01 00:00:00 (proleptic
 * Gregorian, years 0000-9999), started from the wall-clock time given to
 * vrtc_init() and advanced by the VM's virtual time: one update cycle per
 * second, with UIP set for the 244 us before it.  Registers 0-9 and the
 * century byte (0x32) show it in the format register B selects (BCD or
 * binary, 12 or 24 hours); a format change applies at once (the data sheet
 * leaves the registers to be rewritten), day of week is derived from the
 * date, and daylight saving (DSE) is not applied.
 * Writing a time register, or clearing SET, sets the clock from registers
 * 0-9 and the century; out-of-range fields are clamped.  With SET, or with
 * the divider (register A bits 6:4) stopped, the registers hold still;
 * the first update comes 1 s after SET is cleared and 0.5 s after the
 * divider is restarted.
 *
 * Register C: UF once per update, AF at an update whose time matches the
 * alarm (bytes 0xc0-0xff match anything), PF at the rate register A
 * selects (only with the 32.768 kHz divider, 010).  IRQF, and ISA IRQ 8,
 * follow (PF & PIE) | (AF & AIE) | (UF & UIE); reading register C clears
 * the flags.  Flags are computed when the guest looks or at vrtc_update(),
 * so events missed while the VM did not run coalesce into one flag.
 *
 * CMOS bytes 0x15-0x18, 0x30-0x31, 0x34-0x35 and 0x5b-0x5d hold the memory
 * sizes a PC BIOS (and QEMU's PC machine) records there.
 *
 * Each vrtc has its own lock; all functions below take it, and call
 * set_irq only after dropping it.  None may be called from an interrupt
 * handler.
 */
#ifndef KASANE_DEVICES_VRTC_H
#define KASANE_DEVICES_VRTC_H

#include "lib/types.h"
#include "kernel/spinlock.h"

#define VRTC_CMOS_SIZE  128
#define VRTC_IRQ        8
#define VRTC_UIP_NS     244000ULL

#define RTC_PORT_INDEX  0x70
#define RTC_PORT_DATA   0x71
#define RTC_INDEX_NMI   0x80            /* port 0x70 bit 7: NMI disabled */

/* Registers (MC146818A, "Address Map"). */
#define RTC_SEC         0x00
#define RTC_SEC_ALARM   0x01
#define RTC_MIN         0x02
#define RTC_MIN_ALARM   0x03
#define RTC_HOUR        0x04
#define RTC_HOUR_ALARM  0x05
#define RTC_DOW         0x06            /* 1-7, Sunday = 1 */
#define RTC_DAY         0x07
#define RTC_MONTH       0x08
#define RTC_YEAR        0x09
#define RTC_REG_A       0x0a
#define RTC_REG_B       0x0b
#define RTC_REG_C       0x0c
#define RTC_REG_D       0x0d
#define RTC_CENTURY     0x32            /* PC convention (ACPI FADT CENTURY) */

#define RTC_A_UIP       0x80
#define RTC_A_DV        0x70            /* divider: 010 = 32.768 kHz time base */
#define RTC_A_DV_32K    0x20
#define RTC_A_RS        0x0f            /* periodic rate select */
#define RTC_B_SET       0x80
#define RTC_B_PIE       0x40
#define RTC_B_AIE       0x20
#define RTC_B_UIE       0x10
#define RTC_B_SQWE      0x08
#define RTC_B_DM        0x04            /* binary, not BCD */
#define RTC_B_24H       0x02
#define RTC_B_DSE       0x01
#define RTC_C_IRQF      0x80
#define RTC_C_PF        0x40
#define RTC_C_AF        0x20
#define RTC_C_UF        0x10
#define RTC_D_VRT       0x80
#define RTC_HOUR_PM     0x80            /* 12-hour mode */

struct vrtc {
	spinlock_t lock;
	spinlock_t irq_lock;    /* orders set_irq calls; taken before lock */
	uint8_t cmos[VRTC_CMOS_SIZE];   /* register C holds PF/AF/UF; A without UIP */
	uint8_t index;          /* port 0x70 as last written */
	int64_t secs;           /* the clock, while it runs: seconds since 1970 */
	uint64_t next_update;   /* ns of the next update cycle, while it runs */
	uint64_t div_base;      /* ns when the divider chain last started */
	uint64_t pf_done;       /* 32.768 kHz divider ticks accounted for PF */
	bool irq_want;          /* IRQF */
	bool irq_sent;          /* IRQ 8's level after the last set_irq */
	bool alarm_event;       /* an alarm asserted IRQF since vrtc_take_alarm */
	void (*set_irq)(void *vm, unsigned irq, bool level);
	void *vm;
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	uint64_t updates, pf_coalesced;         /* statistics */
};

/*
 * Power-on state as a BIOS leaves it: register A 0x26 (32.768 kHz, 1024 Hz
 * rate), B 0x02 (24-hour BCD, no interrupts), D VRT; the clock at
 * epoch_seconds (seconds since 1970, UTC or local as the VM layer
 * chooses), the memory-size bytes from the RAM below and above 4 GiB.
 * now() gives the VM's virtual time in ns; it is called with the lock held.
 */
void vrtc_init(struct vrtc *r, uint64_t epoch_seconds, uint64_t ram_below_4g, uint64_t ram_above_4g,
	       void (*set_irq)(void *vm, unsigned irq, bool level), void *vm,
	       uint64_t (*now)(void *ctx), void *now_ctx);

/*
 * Port handler (iobus) for 0x70-0x71.  A 2- or 4-byte access is taken as a
 * byte access at `port`.  Returns IOBUS_EINVAL for other ports.  An access
 * may move the next deadline: ask vrtc_next_deadline() again.
 */
int vrtc_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);

/*
 * Virtual time (ns) at which an enabled flag is next set while IRQ 8 is
 * low, or NO_DEADLINE (nothing enabled, or IRQ 8 already high).
 */
uint64_t vrtc_next_deadline(const struct vrtc *r);

/* Set the flags due by now() and raise IRQ 8 if IRQF became set. */
void vrtc_update(struct vrtc *r);

/*
 * Whether the alarm asserted the interrupt (AF newly set with AIE) since
 * the last call; clears it.  The board reports it as the chipset's RTC_STS
 * (ACPI 6.5 §4.8.3.1.1).
 */
bool vrtc_take_alarm(struct vrtc *r);

/* Whether the guest disabled NMIs through port 0x70 bit 7. */
bool vrtc_nmi_masked(const struct vrtc *r);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring. */
#define VRTC_SNAP_VERSION 1u
#define VRTC_SNAP_SIZE sizeof(struct vrtc)
size_t vrtc_save(const struct vrtc *d, void *buf, size_t len);
bool vrtc_load(struct vrtc *d, const void *buf, size_t len);

#endif
