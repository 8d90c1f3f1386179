/* The physical local APIC, in xAPIC or x2APIC mode (SDM vol. 3A ch. 11). */
#ifndef KASANE_ARCH_X86_LAPIC_H
#define KASANE_ARCH_X86_LAPIC_H

#include "lib/types.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ULL

/* ICR delivery modes and shorthands (SDM vol. 3A §11.6.1). */
#define ICR_FIXED        (0u << 8)
#define ICR_NMI          (4u << 8)
#define ICR_INIT         (5u << 8)
#define ICR_STARTUP      (6u << 8)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_LEVEL_TRIG   (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)

/* Boot CPU: choose the mode (x2APIC if the CPU has it and an APIC id
 * needs it) and map the registers. */
void lapic_init_bsp(uint64_t base, bool need_x2apic);
/* Every CPU: enable the APIC, spurious vector, mask LINT/timer. */
void lapic_init_cpu(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Send an IPI; dest is an APIC id (ignored with a shorthand). */
void lapic_send_ipi(uint32_t dest, uint32_t icr_low);
/* Calibrate this CPU's timer against the TSC; returns ticks per ms. */
uint64_t lapic_timer_calibrate(void);
/* One-shot timer in microseconds on the given vector (0 us stops it). */
/* Fire vector once, ns from now (0: stop), never before ns have passed. */
void lapic_timer_oneshot(uint64_t ns, uint8_t vector);
bool lapic_x2apic(void);

/* TSC frequency in kHz, measured on the boot CPU with the PIT. */
extern uint64_t tsc_khz;
void tsc_calibrate(void (*wait_us)(uint32_t us));
void udelay(uint64_t us);

#endif
