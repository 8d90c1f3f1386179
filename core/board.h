/*
 * A VM's board: its RAM layout and memory map; a local APIC per vCPU, an
 * IOAPIC, the 8259 PIC pair, the 8254 PIT, the CMOS RTC, COM1, fw_cfg, the
 * exit port and the test MMIO page; the firmware tables (ACPI and MP)
 * describing them; and the interrupt wiring between them (devices/irq.h).
 * A new guest device is added here: its state in struct vm, its range in
 * board_create() (iobus_add; a device that moves, as a PCI BAR does, keeps
 * the region's handle for iobus_move), its interrupt line through
 * board_set_isa_irq().  Its handler gets the accessing vCPU in the request.
 */
#ifndef KASANE_CORE_BOARD_H
#define KASANE_CORE_BOARD_H

#include "lib/types.h"
#include "guest-loader/loader.h"

struct vm;
struct vcpu;

#define BOARD_LAPIC_BASE   0xfee00000ULL
#define BOARD_IOAPIC_BASE  0xfec00000ULL
#define BOARD_FW_BASE      0xe0000ULL      /* firmware tables: 0xe0000-0xfffff */
#define BOARD_FW_SIZE      0x20000ULL

/* Guest-physical RAM: from 0 up to 3 GiB, the rest from 4 GiB; the gap
 * holds device MMIO. */
#define BOARD_LOW_RAM_MAX     (3 * GiB)
#define BOARD_HIGH_RAM_BASE   (4 * GiB)
#define BOARD_MAX_MMAP        8

/*
 * The PC layout a Linux guest expects, shared by the PCI host bridge, the
 * ACPI tables that describe it (DSDT _CRS, MCFG) and the e820 map:
 *  - 32-bit PCI memory window for BARs: 0xc0000000-0xdfffffff;
 *  - ECAM (PCI Express enhanced configuration, PCI Firmware 3.2 §4.1.2,
 *    MCFG) for bus 0 only: 0xe0000000, 1 MiB; reserved in e820;
 *  - 64-bit PCI memory window: sized at PCI set-up from the guest's
 *    physical address width, above high RAM;
 *  - ACPI fixed hardware (ACPI 6.5 §4.8): PM1a event block at 0x600
 *    (4 ports), PM1a control at 0x604 (2), PM timer at 0x608 (4); the
 *    reset register is port 0xcf9 (value 6); the SCI is ISA IRQ 9.
 */
#define BOARD_PCI_MMIO32_BASE 0xc0000000ULL
#define BOARD_PCI_MMIO32_SIZE 0x20000000ULL
#define BOARD_ECAM_BASE       0xe0000000ULL
#define BOARD_ECAM_SIZE       0x00100000ULL
#define BOARD_PM1A_EVT_PORT   0x600
#define BOARD_PM1A_CNT_PORT   0x604
#define BOARD_PM_TMR_PORT     0x608
#define BOARD_RESET_PORT      0xcf9
#define BOARD_RESET_VALUE     0x06
#define BOARD_SCI_IRQ         9

/*
 * PCI INTx routing (PCI-to-PCI Bridge Architecture 1.2 §9.1 swizzle, as
 * QEMU's q35 and most PCs wire bus 0): pin 0-3 (INTA-INTD) of slot `slot`
 * reaches IOAPIC pin (GSI) 16 + (slot + pin) % 4, level-triggered, active
 * low.  The DSDT's _PRT says the same; the PCI bus (devices/vpci.c, through
 * board.c) drives these pins.
 */
static inline unsigned board_pci_intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + (slot + pin) % 4;
}

/*
 * Region tables of a VM's I/O bus: the legacy devices take a dozen port
 * ranges and four MMIO pages; the rest is room for a PCI board of about a
 * dozen devices with six BARs each, its configuration ports and bridges.
 */
#define BOARD_PIO_REGIONS     64
#define BOARD_MMIO_REGIONS    96

#define BOARD_EV_INIT      1u
#define BOARD_EV_SIPI      2u

/* Create the VM's devices (after its RAM and vCPU count are known). */
int board_create(struct vm *vm, char *err, size_t errlen);
/* The memory map the guest is told about (E820 types); returns the count. */
int board_guest_mmap(const struct vm *vm, struct gl_mmap_entry *m);
bool board_vcpu_init(struct vcpu *v);
void board_free(struct vm *vm);
/* INIT: the vCPU's local APIC back to its reset state. */
void board_vcpu_reset(struct vcpu *v);

/* VM virtual time in ns (starts at 0 when the VM is created). */
uint64_t vm_now_ns(const struct vm *vm);

/* Fire v's due timers (vCPU 0 also the VM's PIT and RTC); next deadline. */
uint64_t board_service_timers(struct vcpu *v, uint64_t host_now_ns);
/* The vector to inject next, or -1; with ack, it is taken (IRR->ISR, PIC INTA). */
int board_pending_vector(struct vcpu *v, bool ack);
bool board_take_nmi(struct vcpu *v);
/* The board's NMI line, as a server's NMI button drives it: an edge on
 * LINT1 of every vCPU (the MADT and MP table say NMI is on LINT1). */
void board_nmi_button(struct vm *vm);
unsigned board_take_init_sipi(struct vcpu *v, uint8_t *sipi_vector);
/* Would an event end HLT now (NMI, INIT/SIPI, or an interrupt with IF=1)? */
bool board_wakeup_pending(struct vcpu *v);
/* Local APIC MSRs: IA32_APIC_BASE, x2APIC, TSC_DEADLINE.  False: not ours. */
bool board_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *gp);
bool board_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *gp);
/* An ISA interrupt line (0-15) of the VM: to the PIC and the IOAPIC. */
void board_set_isa_irq(struct vm *vm, unsigned irq, bool level);

#endif
