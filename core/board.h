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
/* Firmware tables, in the BIOS area that e820 reserves: SMBIOS at the
 * start of the 0xf0000 segment (its entry points must lie in 0xf0000-
 * 0xfffff), ACPI and MP tables above it. */
#define BOARD_SMBIOS_BASE  0xf0000ULL
#define BOARD_SMBIOS_SIZE  0x1000ULL
#define BOARD_FW_BASE      0xf1000ULL      /* ACPI and MP tables: 0xf1000-0xfffff */
#define BOARD_FW_SIZE      0xf000ULL

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
 * ACPI (devices/vacpi.h, guest-loader/fwtables.h).  SLP_TYP of S5, as the
 * DSDT's \_S5 says; it is the only sleeping state the board offers.  The
 * reset register 0xcf9 lies inside the PCI CONFIG_ADDRESS dword
 * 0xcf8-0xcfb: the bus routes an access by its first port, so the PCI host
 * bridge registers port 0xcf8 alone (its dword accesses reach it whole)
 * and the reset register port 0xcf9 (byte accesses; PCI Local Bus 3.0
 * §3.2.2.3.2 latches only dword accesses to CONFIG_ADDRESS).
 */
#define BOARD_S5_SLP_TYP      5

/*
 * The 64-bit PCI memory window: from the first 1 GiB boundary at or above
 * the end of high RAM (4 GiB if there is none), BOARD_PCI_MMIO64_SIZE
 * bytes, cut to the guest's physical address width (CPUID 0x80000008
 * EAX[7:0]); size 0 if nothing is left.  The DSDT's _CRS gives it.
 */
#define BOARD_PCI_MMIO64_SIZE  (32 * GiB)
#define BOARD_PCI_MMIO64_ALIGN (1 * GiB)
void board_pci_mmio64(const struct vm *vm, uint64_t *base, uint64_t *size);

/*
 * PCI INTx routing, in ONE place for the DSDT's _PRT (ACPI 6.5 §6.2.13)
 * and the host bridge's INTx delivery: pin INTA-INTD (0-3) of device
 * `slot` (0-31) on bus 0 drives IOAPIC GSI 16 + (slot + pin) % 4, the
 * usual swizzle.  GSI-form _PRT entries are level-triggered, active-low
 * and shareable: a device asserting INTx drives the GSI's line LOW (see
 * devices/vioapic.h on idle levels), and the line is high while no device
 * on it asserts.
 */
#define BOARD_PCI_INTX_GSI_BASE 16
static inline unsigned board_pci_intx_gsi(unsigned slot, unsigned pin)
{
	return BOARD_PCI_INTX_GSI_BASE + ((slot + pin) & 3);
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
/* After every exit: serve the VM's devices that wait for one (disks). */
void board_exit_poll(struct vcpu *v);
/* The vector to inject next, or -1; with ack, it is taken (IRR->ISR, PIC INTA). */
int board_pending_vector(struct vcpu *v, bool ack);
/* A posted interrupt's end (devices/vlapic.h, vlapic_post_end): in
 * service if the guest took it, else back in IRR.  Returns the vector put
 * in service, or -1. */
int board_post_end(struct vcpu *v, bool taken);
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
/* A byte typed on the VM's COM1 line; false if its receiver cannot take it yet. */
bool board_console_rx(struct vm *vm, uint8_t c);
/* An ISA interrupt line (0-15) of the VM: to the PIC and the IOAPIC. */
void board_set_isa_irq(struct vm *vm, unsigned irq, bool level);

/*
 * The guest asked for a system reset (the ACPI reset register).  Today:
 * the VM ends with status 0 and reason "reboot"; the place for restarting
 * it instead.
 */
void board_reboot(struct vm *vm);

#endif
