/*
 * ACPI fixed hardware as a PC chipset provides it (ACPI 6.5 §4.8), at the
 * I/O ports the FADT names, plus the PC's reset control register:
 *   - PM1a event block (4 ports): PM1_STS (16 bits, write 1 to clear),
 *     then PM1_EN (16 bits), §4.8.3.1;
 *   - PM1a control block (2 ports): PM1_CNT, §4.8.3.2.1.  SCI_EN reads 1
 *     (no SMI command port: always in ACPI mode, §4.8.2.1.1); SLP_TYP is
 *     kept; writing SLP_EN = 1 calls sleep(ctx, SLP_TYP) (§4.8.3.2.1,
 *     §7.4.2: the board decides what each sleeping state does); GBL_RLS
 *     (a request to firmware that owns no global lock) and SLP_EN read 0;
 *   - PM timer (4 ports, read-only): a 32-bit count of the 3.579545 MHz
 *     clock (§4.8.3.3), computed from the VM's virtual time now();
 *     TMR_STS is set whenever bit 31 of the count toggles;
 *   - reset register (1 port, the Intel ICH "Reset Control Register"
 *     0xcf9): reads give the last value written; a write with RST_CPU
 *     (bit 2) set, as 6 (hard reset) or 0xe (full reset) are, calls
 *     reset(ctx).  The FADT's RESET_REG names it with value 6.
 * Status bits that can be set: TMR_STS, PWRBTN_STS (vacpi_power_button,
 * the fixed power button), RTC_STS (vacpi_rtc_alarm, the RTC's alarm) and
 * WAK_STS (never: no sleeping state resumes).  The SCI (set_sci) is a
 * level: asserted while PM1_STS & PM1_EN has one of TMR, GBL, PWRBTN or
 * RTC set.
 *
 * Accesses of any width 1, 2 or 4 at any port of a block act on the bytes
 * they cover, little-endian; bytes past the block read as 0xff and are
 * ignored on writes.
 *
 * Each vacpi has its own lock; all functions below take it, and make
 * their callbacks after dropping it.  None may be called from an
 * interrupt handler.
 */
#ifndef KASANE_DEVICES_VACPI_H
#define KASANE_DEVICES_VACPI_H

#include "lib/types.h"
#include "kernel/spinlock.h"

#define ACPI_PM_TIMER_HZ        3579545ULL      /* §4.8.3.3 */

#define VACPI_EVT_LEN           4
#define VACPI_CNT_LEN           2
#define VACPI_TMR_LEN           4

/* PM1_STS and PM1_EN bits (§4.8.3.1.1, §4.8.3.1.2). */
#define ACPI_PM1_TMR            (1u << 0)
#define ACPI_PM1_BM             (1u << 4)       /* status only */
#define ACPI_PM1_GBL            (1u << 5)
#define ACPI_PM1_PWRBTN         (1u << 8)
#define ACPI_PM1_SLPBTN         (1u << 9)
#define ACPI_PM1_RTC            (1u << 10)
#define ACPI_PM1_WAK            (1u << 15)      /* status only */
#define VACPI_PM1_EVENTS        (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_RTC)

/* PM1_CNT bits (§4.8.3.2.1). */
#define ACPI_PM1_SCI_EN         (1u << 0)
#define ACPI_PM1_BM_RLD         (1u << 1)
#define ACPI_PM1_GBL_RLS        (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT  10
#define ACPI_PM1_SLP_TYP        (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN         (1u << 13)

/* Reset control register 0xcf9 (Intel ICH data sheets, "RST_CNT"). */
#define VACPI_RST_SYS_RST       (1u << 1)
#define VACPI_RST_CPU           (1u << 2)
#define VACPI_RST_FULL          (1u << 3)

struct vacpi_ports {
	uint16_t pm1a_evt, pm1a_cnt, pm_tmr, reset;
};

struct vacpi_ops {
	void (*set_sci)(void *ctx, bool level);
	void (*sleep)(void *ctx, unsigned slp_typ);     /* SLP_EN written */
	void (*reset)(void *ctx);                       /* RST_CPU written */
	uint64_t (*now)(void *ctx);                     /* VM virtual time, ns */
};

struct vacpi {
	spinlock_t lock;
	spinlock_t irq_lock;    /* orders set_sci calls; taken before lock */
	struct vacpi_ports port;
	uint16_t sts, en, cnt;  /* cnt without SCI_EN, SLP_EN, GBL_RLS */
	uint8_t reset_reg;
	uint64_t tmr_half;      /* half-periods of bit 31 accounted for TMR_STS */
	bool sci_sent;          /* the SCI's level after the last set_sci */
	const struct vacpi_ops *ops;
	void *ctx;
};

/* Power-on state: status and enables clear, SLP_TYP 0, reset register 0. */
void vacpi_init(struct vacpi *a, const struct vacpi_ports *ports,
		const struct vacpi_ops *ops, void *ctx);

/*
 * Port handler for the four blocks.  Returns IOBUS_EINVAL for a port in
 * none of them or a width other than 1, 2 or 4.
 */
int vacpi_pio(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);

/* The PM timer's count now (32 bits). */
uint32_t vacpi_timer(struct vacpi *a);

/* Press the fixed power button: PWRBTN_STS (§4.8.2.2.1.1). */
void vacpi_power_button(struct vacpi *a);

/* The RTC asserted its alarm: RTC_STS (§4.8.3.1.1). */
void vacpi_rtc_alarm(struct vacpi *a);
/* Whether RTC_EN is set: the RTC's alarm then matters to the SCI. */
bool vacpi_rtc_enabled(struct vacpi *a);

/* Virtual time (ns) when TMR_STS would next be set with TMR_EN, or NO_DEADLINE. */
uint64_t vacpi_next_deadline(struct vacpi *a);
/* Account TMR_STS up to now() and bring the SCI to its level. */
void vacpi_update(struct vacpi *a);

/* Snapshot records (devices/devsnap.h): the whole model but its wiring (the ports are the board's). */
#define VACPI_SNAP_VERSION 1u
#define VACPI_SNAP_SIZE sizeof(struct vacpi)
size_t vacpi_save(const struct vacpi *d, void *buf, size_t len);
bool vacpi_load(struct vacpi *d, const void *buf, size_t len);

#endif
