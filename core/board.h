/*
 * A VM's emulated platform: a local APIC per vCPU, an IOAPIC, the 8259
 * PIC pair, the 8254 PIT, the CMOS RTC, and the firmware tables (ACPI MADT
 * and MP table) describing them, wired together (devices/irq.h).
 */
#ifndef KASANE_CORE_PLATFORM_H
#define KASANE_CORE_PLATFORM_H

#include "lib/types.h"

struct vm;
struct vcpu;

#define PLATFORM_LAPIC_BASE   0xfee00000ULL
#define PLATFORM_IOAPIC_BASE  0xfec00000ULL
#define PLATFORM_FW_BASE      0xe0000ULL      /* firmware tables: 0xe0000-0xfffff */
#define PLATFORM_FW_SIZE      0x20000ULL

#define PLATFORM_EV_INIT      1u
#define PLATFORM_EV_SIPI      2u

/* Create the VM's devices (after its RAM and vCPU count are known). */
bool platform_init(struct vm *vm, char *err, size_t errlen);
bool platform_vcpu_init(struct vcpu *v);
void platform_free(struct vm *vm);
/* INIT: the vCPU's local APIC back to its reset state. */
void platform_vcpu_reset(struct vcpu *v);

/* VM virtual time in ns (starts at 0 when the VM is created). */
uint64_t vm_now_ns(const struct vm *vm);

/* Fire v's due timers (vCPU 0 also the VM's PIT and RTC); next deadline. */
uint64_t platform_service_timers(struct vcpu *v, uint64_t host_now_ns);
/* The vector to inject next, or -1; with ack, it is taken (IRR->ISR, PIC INTA). */
int platform_pending_vector(struct vcpu *v, bool ack);
bool platform_take_nmi(struct vcpu *v);
unsigned platform_take_init_sipi(struct vcpu *v, uint8_t *sipi_vector);
/* Would an event end HLT now (NMI, INIT/SIPI, or an interrupt with IF=1)? */
bool platform_wakeup_pending(struct vcpu *v);
/* Local APIC MSRs: IA32_APIC_BASE, x2APIC, TSC_DEADLINE.  False: not ours. */
bool platform_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *gp);
bool platform_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *gp);
/* An ISA interrupt line (0-15) of the VM: to the PIC and the IOAPIC. */
void platform_set_isa_irq(struct vm *vm, unsigned irq, bool level);

#endif
