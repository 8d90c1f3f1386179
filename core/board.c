/*
 * The guest board: which devices a VM has and where, its RAM layout and
 * memory map, the interrupt wiring between the device models, the firmware
 * tables that describe it all, and the hooks the vCPU loop uses.
 *
 * Wiring: ISA IRQ n goes to PIC input n and IOAPIC pin n, except IRQ 0
 * (the PIT), which is IOAPIC pin 2, as the MADT's interrupt source override
 * says (ACPI 6.5 §5.2.12.5; QEMU and most PCs wire it so).  The PIC reaches
 * vCPU 0 through LINT0 (virtual wire).
 */
#include "core/board.h"
#include "core/vm.h"
#include "include/kasane/abi.h"
#include "core/clock.h"
#include "core/sched.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/smp.h"
#include "guest-loader/fwtables.h"
#include "guest-loader/smbios.h"
#include "core/cpuid.h"
#include "core/hv.h"
#include "drivers/cmos.h"
#include "mm/mm.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "kernel/log.h"

#define MSR_APIC_BASE       0x1b
#define MSR_TSC_DEADLINE    0x6e0
#define MSR_AMD_NB_CFG      0xc001001f
#define NB_CFG_CF8_EXT      (1ull << 46)        /* EnableCf8ExtCfg */

uint64_t vm_now_ns(const struct vm *vm)
{
	return clock_now_ns() - vm->start_ns;
}

/* ---- memory ----------------------------------------------------------------- */

/* The memory map the guest is told about (E820 types). */
int board_guest_mmap(const struct vm *vm, struct gl_mmap_entry *m)
{
	uint64_t low = vm->mem.region[0].size;
	int n = 0;

	m[n++] = (struct gl_mmap_entry){ 0, MIN(low, 0x9fc00), 1 };
	if (low > 1 * MiB) {
		m[n++] = (struct gl_mmap_entry){ 0x9fc00, 0x100000 - 0x9fc00, 2 };
		m[n++] = (struct gl_mmap_entry){ 1 * MiB, low - 1 * MiB, 1 };
	}
	/* The ECAM window, reserved as PCI Firmware 3.2 §4.1.2 asks of an MCFG range. */
	m[n++] = (struct gl_mmap_entry){ BOARD_ECAM_BASE, BOARD_ECAM_SIZE, 2 };
	if (vm->mem.nr > 1)
		m[n++] = (struct gl_mmap_entry){ BOARD_HIGH_RAM_BASE, vm->mem.region[1].size, 1 };
	return n;
}



static uint64_t now_cb(void *ctx)
{
	return vm_now_ns(ctx);
}

/* ---- routing (struct irq_ops) ------------------------------------------- */

static void deliver(void *ctx, const struct apic_msg *m)
{
	struct vm *vm = ctx;
	bool lowest = m->delivery == APIC_DM_LOWEST;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (!vlapic_match_dest(v->vlapic, m))
			continue;
		vlapic_deliver(v->vlapic, m);
		sched_wake(v);
		if (lowest)
			break;          /* lowest priority: to the first match */
	}
}

static void pic_intr(void *ctx, bool asserted)
{
	struct vm *vm = ctx;

	if (asserted && vm->nr_vcpus)
		sched_wake(&vm->vcpu[0]);
}

static void eoi(void *ctx, uint8_t vector)
{
	struct vm *vm = ctx;

	vioapic_eoi(&vm->ioapic, vector);
}

static const struct irq_ops board_irq_ops = { deliver, pic_intr, eoi };

void board_set_isa_irq(struct vm *vm, unsigned irq, bool level)
{
	if (irq > 15)
		return;
	vpic_set_irq(&vm->pic, irq, level);
	vioapic_set_irq(&vm->ioapic, irq == 0 ? 2 : irq, level);
}

/*
 * ISA IRQ 0 and 8 have two sources each: the PIT and the RTC, or the
 * HPET's timers 0 and 1 in legacy replacement mode, which disconnects the
 * PIT's and RTC's interrupts (IA-PC HPET 1.0a §2.3.3, Table 3).  Each
 * source's level is kept, so a switch of the mode hands the line over.
 */
static void isa_mux_drive(struct vm *vm, unsigned idx)
{
	bool level = vhpet_legacy(&vm->hpet) ? vm->isa_hpet_level[idx] : vm->isa_dev_level[idx];

	board_set_isa_irq(vm, idx ? 8 : 0, level);
}

static void isa_mux_set(struct vm *vm, unsigned irq, bool hpet, bool level)
{
	unsigned idx = irq == 8;
	uint64_t f = spin_lock_irqsave(&vm->isa_mux_lock);

	if (hpet)
		vm->isa_hpet_level[idx] = level;
	else
		vm->isa_dev_level[idx] = level;
	if (hpet == vhpet_legacy(&vm->hpet))
		isa_mux_drive(vm, idx);
	spin_unlock_irqrestore(&vm->isa_mux_lock, f);
}

static void isa_irq_cb(void *ctx, unsigned irq, bool level)
{
	if (irq == 0 || irq == 8)
		isa_mux_set(ctx, irq, false, level);
	else
		board_set_isa_irq(ctx, irq, level);
}

/* ---- device handlers: each gets its request, with the vCPU making it ------- */

/* The device models' own handler shapes (devices/v*.h). */
typedef int (*model_pio_fn)(void *dev, bool in, uint16_t port, unsigned bytes, uint32_t *val);
typedef int (*model_mmio_fn)(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val);

static int model_pio(model_pio_fn fn, void *dev, struct io_req *req)
{
	uint32_t val = (uint32_t)req->val;
	int r = fn(dev, !req->write, (uint16_t)req->addr, req->size, &val);

	req->val = val;
	return r;
}

static int model_mmio(model_mmio_fn fn, void *dev, struct io_req *req)
{
	return fn(dev, req->write, req->addr, req->size, &req->val);
}

/* The local APIC page belongs to the vCPU that touches it. */
static int lapic_mmio(void *dev, struct io_req *req)
{
	struct vcpu *v = req->vcpu;

	if (!v || v->vm != dev)
		return IOBUS_EINVAL;
	int r = model_mmio(vlapic_mmio, v->vlapic, req);
	if (req->write) {
		/* Timer, EOI, TPR or ICR may have changed: look again before entry. */
		v->next_deadline = 0;
		v->events = true;
	}
	return r;
}

/*
 * After a guest write to the PIT or RTC, the VM's timers (serviced by
 * vCPU 0's CPU) need a fresh deadline.
 */
static void poke_vm_timers(struct vm *vm, struct vcpu *me)
{
	struct vcpu *v0 = &vm->vcpu[0];

	v0->next_deadline = 0;
	if (me != v0)
		smp_kick(v0->pcpu);
}

static int pit_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = model_pio(vpit_pio, &vm->pit, req);

	if (req->write)
		poke_vm_timers(vm, req->vcpu);
	return r;
}

static int rtc_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = model_pio(vrtc_pio, &vm->rtc, req);

	poke_vm_timers(vm, req->vcpu);  /* reading register C re-arms the interrupt too */
	return r;
}

/*
 * The HPET's lines: the legacy ones through the ISA mux; a routed I/O APIC
 * input (20-23, VHPET_ROUTE_CAP) is active low, as the PCI lines beside it
 * are and as Linux registers HPET GSIs (level, active low), and idles high
 * (board_pci_create).
 */
static void hpet_irq(void *ctx, unsigned line, bool asserted)
{
	struct vm *vm = ctx;

	if (line == VHPET_LINE_ISA0 || line == VHPET_LINE_ISA8)
		isa_mux_set(vm, line == VHPET_LINE_ISA0 ? 0 : 8, true, asserted);
	else if (line < VIOAPIC_PINS)
		vioapic_set_irq(&vm->ioapic, line, !asserted);
}

static int hpet_mmio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	bool legacy = vhpet_legacy(&vm->hpet);
	int r = model_mmio(vhpet_mmio, &vm->hpet, req);

	if (req->write) {
		if (vhpet_legacy(&vm->hpet) != legacy) {
			uint64_t f = spin_lock_irqsave(&vm->isa_mux_lock);
			isa_mux_drive(vm, 0);
			isa_mux_drive(vm, 1);
			spin_unlock_irqrestore(&vm->isa_mux_lock, f);
		}
		poke_vm_timers(vm, req->vcpu);  /* a comparator may have moved */
	}
	return r;
}

/* PIC and IOAPIC writes (masks, EOIs) can release a held interrupt. */
static void poke_events(struct vcpu *me)
{
	if (me)
		me->events = true;
}

/*
 * Whether ISA IRQ irq can interrupt a vCPU: unmasked at the 8259A (and,
 * for the slave's lines, the cascade input too) while vCPU 0's LINT0
 * takes the PIC, or unmasked at its I/O APIC pin.  A timer whose line
 * reaches nothing needs no deadline: its model keeps counting by
 * arithmetic and catches up when the guest looks or unmasks the line.
 * The masks are read without the models' locks: a write that changes
 * them pokes the VM's timers afterwards (see pic_pio).
 */
static bool isa_irq_reaches_cpu(struct vm *vm, unsigned irq)
{
	unsigned pin = irq == 0 ? 2 : irq;
	uint64_t rte = __atomic_load_n(&vm->ioapic.redir[pin], __ATOMIC_RELAXED);

	if (!(rte & IOAPIC_RTE_MASKED))
		return true;
	uint8_t imr0 = __atomic_load_n(&vm->pic.chip[0].imr, __ATOMIC_RELAXED);
	uint8_t imr1 = __atomic_load_n(&vm->pic.chip[1].imr, __ATOMIC_RELAXED);
	bool pic_open = irq < 8 ? !(imr0 & (1u << irq))
				: !(imr1 & (1u << (irq - 8))) && !(imr0 & (1u << VPIC_CASCADE_IR));
	return pic_open && vlapic_accepts_pic(vm->vcpu[0].vlapic);
}

/* The HPET's lines (devices/vhpet.h) that reach a vCPU, as a mask: its
 * legacy ISA lines, and the I/O APIC inputs it may be routed to. */
static uint32_t hpet_lines_reaching(struct vm *vm)
{
	uint32_t lines = (isa_irq_reaches_cpu(vm, 0) ? 1u << VHPET_LINE_ISA0 : 0) |
			 (isa_irq_reaches_cpu(vm, 8) ? 1u << VHPET_LINE_ISA8 : 0);

	for (uint32_t caps = VHPET_ROUTE_CAP; caps; caps &= caps - 1) {
		unsigned pin = (unsigned)__builtin_ctz(caps);
		if (pin < VIOAPIC_PINS &&
		    !(__atomic_load_n(&vm->ioapic.redir[pin], __ATOMIC_RELAXED) & IOAPIC_RTE_MASKED))
			lines |= 1u << pin;
	}
	return lines;
}

/* The timer lines of the VM's own devices that reach a vCPU, as a mask. */
static unsigned timer_irqs_reaching(struct vm *vm)
{
	return (isa_irq_reaches_cpu(vm, 0) ? 1u : 0) |
	       (isa_irq_reaches_cpu(vm, VRTC_IRQ) ? 2u : 0) |
	       (hpet_lines_reaching(vm) & VHPET_ROUTE_CAP);
}

/*
 * A mask write changed which timer lines reach a vCPU.  IRQ 0 reaching one
 * again after none: the PIT's and HPET's lost ticks from while it was shut
 * are not owed (a masked line loses its edges on a PC too).
 */
static void timer_irqs_changed(struct vm *vm, struct vcpu *me, unsigned before)
{
	unsigned now = timer_irqs_reaching(vm);

	if (now == before)
		return;
	if ((now & 1) && !(before & 1)) {
		vpit_irq_reset(&vm->pit);
		vhpet_irq0_reset(&vm->hpet);
	}
	poke_vm_timers(vm, me);
}

static int pic_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	unsigned before = timer_irqs_reaching(vm);
	int r = model_pio(vpic_pio, &vm->pic, req);

	if (req->write) {
		poke_events(req->vcpu);
		timer_irqs_changed(vm, req->vcpu, before);
	}
	return r;
}

static int ioapic_mmio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	unsigned before = timer_irqs_reaching(vm);
	int r = model_mmio(vioapic_mmio, &vm->ioapic, req);

	if (req->write) {
		poke_events(req->vcpu);
		timer_irqs_changed(vm, req->vcpu, before);
	}
	return r;
}

/* ---- COM1 and the exit port ------------------------------------------------ */

static void uart_line(void *ctx, const char *line, size_t len)
{
	vm_console_line(ctx, line, len);
}

static int exit_port_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;

	if (!req->write) {
		req->val = ~0u;
		return 0;
	}
	/* The bus has masked the value to the access width. */
	vm_end(vm, VM_END_EXIT_PORT, (int)req->val, "guest wrote %u to port 0x%x",
	       (unsigned)req->val, (unsigned)req->addr);
	return 0;
}

/* COM1's interrupt line, ISA IRQ 4, after its state may have changed. */
static void uart_irq_update(struct vm *vm)
{
	/* Only a change of the line is news for the PIC and IOAPIC; the lock
	 * keeps two CPUs from reporting changes out of order. */
	uint64_t f = spin_lock_irqsave(&vm->uart_irq_lock);
	bool irq = vuart_irq_pending(&vm->uart);
	if (irq != vm->uart_irq) {
		vm->uart_irq = irq;
		board_set_isa_irq(vm, 4, irq);
	}
	spin_unlock_irqrestore(&vm->uart_irq_lock, f);
}

static int uart_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = vuart_pio(&vm->uart, req);
	uint64_t reg = req->off;

	/* LCR and the scratch register cannot change the interrupt line
	 * (PC16550D data sheet, "Interrupt Identification Register"). */
	if (reg != UART_LCR && reg != UART_SCR)
		uart_irq_update(vm);
	return r;
}

bool board_console_rx(struct vm *vm, uint8_t c)
{
	if (!vuart_rx(&vm->uart, c))
		return false;
	uart_irq_update(vm);
	return true;
}

/* ---- ACPI fixed hardware and the reset register ----------------------------- */

void board_reboot(struct vm *vm)
{
	vm_end(vm, VM_END_REBOOT, 0, "guest wrote 0x%x to the reset register",
	       vm->acpi.reset_reg);
}

/* The SCI: level, active-high on its ISA line (the MADT's override). */
static void acpi_sci(void *ctx, bool level)
{
	board_set_isa_irq(ctx, BOARD_SCI_IRQ, level);
}

/*
 * SLP_EN with SLP_TYP (ACPI 6.5 §7.4.2): S5 ends the VM.  The DSDT names no
 * other sleeping state, so any other SLP_TYP leaves the machine in S0, as
 * a chipset does for a type it lacks.
 */
static void acpi_sleep(void *ctx, unsigned slp_typ)
{
	if (slp_typ == BOARD_S5_SLP_TYP)
		vm_end(ctx, VM_END_POWER_OFF, 0, "S5 through PM1a_CNT");
}

static void acpi_reset(void *ctx)
{
	board_reboot(ctx);
}

static const struct vacpi_ops board_acpi_ops = { acpi_sci, acpi_sleep, acpi_reset, now_cb };

static int acpi_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = model_pio(vacpi_pio, &vm->acpi, req);

	if (req->write)
		poke_vm_timers(vm, req->vcpu);  /* TMR_EN may set a deadline */
	return r;
}

void board_pci_mmio64(const struct vm *vm, uint64_t *base, uint64_t *size)
{
	uint64_t ram_end = vm->mem.nr > 1 ? BOARD_HIGH_RAM_BASE + vm->mem.region[1].size
					  : BOARD_HIGH_RAM_BASE;
	unsigned bits = cpuid(0x80000000, 0).eax >= 0x80000008 ?
			(uint8_t)cpuid(0x80000008, 0).eax : 36;
	uint64_t top = bits >= 64 ? UINT64_MAX : 1ull << bits;

	*base = ALIGN_UP(ram_end, BOARD_PCI_MMIO64_ALIGN);
	*size = *base >= top ? 0 : MIN(BOARD_PCI_MMIO64_SIZE, top - *base);
	if (!*size)
		*base = 0;
}

/* What the firmware tables describe: this board's layout. */
static int board_fwtables(struct vm *vm, uint8_t ioapic_id, char *err, size_t errlen)
{
	struct fwtables_in in = {
		.nr_vcpus = vm->nr_vcpus, .ioapic_id = ioapic_id,
		.ioapic_addr = BOARD_IOAPIC_BASE, .lapic_addr = BOARD_LAPIC_BASE,
		.pic = true,
		.ecam_base = BOARD_ECAM_BASE, .ecam_size = BOARD_ECAM_SIZE,
		.mmio32_base = BOARD_PCI_MMIO32_BASE, .mmio32_size = BOARD_PCI_MMIO32_SIZE,
		.intx_gsi = board_pci_intx_gsi,
		.pm1a_evt_port = BOARD_PM1A_EVT_PORT, .pm1a_cnt_port = BOARD_PM1A_CNT_PORT,
		.pm_tmr_port = BOARD_PM_TMR_PORT, .reset_port = BOARD_RESET_PORT,
		.reset_value = BOARD_RESET_VALUE, .sci_irq = BOARD_SCI_IRQ,
		.s5_slp_typ = BOARD_S5_SLP_TYP, .rtc_century = RTC_CENTURY,
		.com1_port = GUEST_COM1_PORT, .com1_irq = 4,
		.rtc_port = RTC_PORT_INDEX, .rtc_irq = VRTC_IRQ,
		.hpet_base = VHPET_BASE,
		.hpet_id = VHPET_BLOCK_ID,
		.hpet_min_tick = VHPET_MIN_IRQ_GAP_NS * VHPET_HZ / 1000000000ULL,
	};
	board_pci_mmio64(vm, &in.mmio64_base, &in.mmio64_size);
	return fwtables_build(&vm->mem, BOARD_FW_BASE, BOARD_FW_SIZE, &in, err, errlen) == 0 ? 0 : -1;
}

/* SMBIOS: who made the machine, its processor and memory (DSP0134). */
static int board_smbios(struct vm *vm, char *err, size_t errlen)
{
	struct cpuid_ctx c = { .host = cpuid_host, .nr_vcpus = vm->nr_vcpus };
	uint32_t l0[4], l1[4], e0[4], brand[13] = { 0 };
	char vendor[13];

	cpuid_guest(&c, 0, 0, l0);
	cpuid_guest(&c, 1, 0, l1);
	memcpy(vendor, &l0[1], 4);                      /* EBX, EDX, ECX */
	memcpy(vendor + 4, &l0[3], 4);
	memcpy(vendor + 8, &l0[2], 4);
	vendor[12] = 0;
	cpuid_guest(&c, 0x80000000, 0, e0);
	if (e0[0] >= 0x80000004)
		for (uint32_t i = 0; i < 3; i++)
			cpuid_guest(&c, 0x80000002 + i, 0, &brand[4 * i]);
	const char *b = (const char *)brand;
	while (*b == ' ')                               /* brand strings may be right-aligned */
		b++;
	struct smbios_in in = {
		.vm_name = vm->name, .version = KASANE_VERSION,
		.release_date = KASANE_RELEASE_DATE, .nr_vcpus = vm->nr_vcpus,
		.cpuid_1_eax = l1[0], .cpuid_1_edx = l1[3], .cpu_vendor = vendor,
		.cpu_brand = b, .cpu_mhz = (unsigned)(tsc_khz / 1000),
	};
	for (int i = 0; i < vm->mem.nr && in.nr_ranges < SMBIOS_MAX_RANGES; i++) {
		in.ram[in.nr_ranges].base = vm->mem.region[i].gpa;
		in.ram[in.nr_ranges++].size = vm->mem.region[i].size;
	}
	return smbios_build(&vm->mem, BOARD_SMBIOS_BASE, BOARD_SMBIOS_SIZE, &in, err, errlen);
}

/* ---- PCI: bus 0, its host bridge, the test function ---------------------- */

/* Where pci_testdev = on puts the test function: slot 3, so that its INTA
 * reaches GSI 19 by the swizzle, not the trivial 16. */
#define BOARD_PCI_TESTDEV_DEVFN  VPCI_DEVFN(3, 0)

static unsigned pci_intx_route(void *ctx, unsigned slot, unsigned pin)
{
	(void)ctx;
	return pin >= 1 && pin <= 4 ? board_pci_intx_gsi(slot, pin - 1) : VPCI_MAX_GSI;
}

/* PCI INTx lines are active low (PCI 3.0 §2.2.6): asserted = driven low. */
static void pci_intx(void *ctx, unsigned gsi, bool asserted)
{
	struct vm *vm = ctx;

	vioapic_set_irq(&vm->ioapic, gsi, !asserted);
}

/* A message the bus could not send: said for the VM's first four. */
static void pci_msi_dropped(void *ctx, uint8_t devfn, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;

	if (__atomic_fetch_add(&vm->pci_msi_drops, 1, __ATOMIC_RELAXED) < 4)
		pr_warn("kasane: VM '%s': PCI 00:%02x.%u message 0x%x to 0x%llx dropped "
			"(not an interrupt: no IOMMU, no DMA)\n", vm->name, devfn >> 3, devfn & 7,
			data, (unsigned long long)addr);
}

static const struct vpci_ops board_pci_ops = {
	.msi = deliver, .intx_route = pci_intx_route, .intx = pci_intx,
	.msi_dropped = pci_msi_dropped,
};

/* Bus 0 with the host bridge through 0xcf8/0xcfc and ECAM; the test
 * function if the config asks for it. */
static int board_pci_create(struct vm *vm, char *err, size_t errlen)
{
	struct iobus_space *pio = &vm->bus.pio, *mmio = &vm->bus.mmio;

	vpci_init(&vm->pci, &vm->bus, &board_pci_ops, vm);
	/* The idle level of the active-low PCI pins, GSI 16-23, is high. */
	for (unsigned gsi = 16; gsi < VPCI_MAX_GSI; gsi++)
		vioapic_set_irq(&vm->ioapic, gsi, true);
	if (iobus_add(pio, VPCI_CFG_ADDR_PORT, 1, vpci_cfg_addr_pio, &vm->pci, NULL) ||
	    iobus_add(pio, VPCI_CFG_DATA_PORT, 4, vpci_cfg_data_pio, &vm->pci, NULL) ||
	    iobus_add(mmio, BOARD_ECAM_BASE, BOARD_ECAM_SIZE, vpci_ecam_mmio, &vm->pci, NULL))
		return errf(err, errlen, "cannot register its PCI configuration space");
	if (!vm->cfg || !vm->cfg->pci_testdev)
		return 0;
	vm->pci_testdev = kzalloc(sizeof(*vm->pci_testdev));
	if (!vm->pci_testdev)
		return errf(err, errlen, "out of memory for its PCI test device");
	pci_testdev_init(vm->pci_testdev, BOARD_PCI_TESTDEV_DEVFN);
	if (!vpci_add(&vm->pci, &vm->pci_testdev->fn))
		return errf(err, errlen, "cannot plug in its PCI test device");
	return 0;
}

/* ---- virtio: disks, console, entropy ---------------------------------------- */

/* Slots of the virtio functions: disks 00:04.0-00:07.0, console 00:08.0,
 * entropy 00:09.0. */
#define BOARD_VIRTIO_BLK_SLOT     4
#define BOARD_VIRTIO_CONSOLE_SLOT 8
#define BOARD_VIRTIO_RNG_SLOT     9
#define BOARD_VIRTIO_SAYS         16     /* NEEDS_RESET lines said per VM */

/* A device's one-line reason (DEVICE_NEEDS_RESET), the VM's first few. */
static void virtio_say(void *ctx, const char *line)
{
	struct vm *vm = ctx;
	uint32_t n = __atomic_fetch_add(&vm->virtio_says, 1, __ATOMIC_RELAXED);

	if (n < BOARD_VIRTIO_SAYS)
		pr_warn("kasane: VM '%s': %s\n", vm->name, line);
	else if (n == BOARD_VIRTIO_SAYS)
		pr_warn("kasane: VM '%s': further virtio errors not shown\n", vm->name);
}

/* CPUID.(EAX=7,ECX=0):EBX[18] RDSEED, CPUID.1:ECX[30] RDRAND (SDM vol. 2A,
 * CPUID); either may fail while its source is drained: retry a few times
 * (Intel DRNG Software Implementation Guide §5.2.1). */
static bool board_hw_random(uint64_t *v)
{
	static int has_rdseed = -1, has_rdrand = -1;

	if (has_rdseed < 0) {
		has_rdseed = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 18));
		has_rdrand = (cpuid(1, 0).ecx & (1u << 30)) != 0;
	}
	for (int i = 0; i < 16; i++) {
		bool ok = false;
		if (has_rdseed)
			__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
		else if (has_rdrand)
			__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
		else
			return false;
		if (ok)
			return true;
	}
	return false;
}

/* The ChaCha20 key of a VM's entropy device: the hardware's bytes where
 * there are any, mixed with the TSC, the VM's address and id. */
static void board_rng_seed(struct vm *vm, uint8_t seed[32])
{
	for (int i = 0; i < 4; i++) {
		uint64_t hw = 0, x;
		board_hw_random(&hw);
		x = hw ^ rdtsc() ^ (uint64_t)(uintptr_t)vm ^ ((uint64_t)vm->id << 32) ^ (uint64_t)i;
		/* splitmix64's finalizer spreads the TSC's changing low bits */
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		x ^= x >> 31;
		memcpy(seed + 8 * i, &x, 8);
	}
}

static void virtio_console_line(void *ctx, const char *line, size_t len)
{
	vm_console_line(ctx, line, len);
}

/* The virtio functions the config asks for, on bus 0. */
static int board_virtio_create(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	if (!cfg)
		return 0;
	for (int i = 0; i < cfg->nr_disks && i < VM_MAX_DISKS; i++) {
		char id[VIRTIO_BLK_ID_BYTES + 1];
		ksnprintf(id, sizeof(id), "kasane-%s-%d", vm->name, i);
		vm->vblk[i] = kzalloc(sizeof(*vm->vblk[i]));
		vm->nr_vblk = i + 1;
		if (!vm->vblk[i])
			return errf(err, errlen, "out of memory for disk %s", cfg->disk[i].path);
		if (!virtio_blk_init(vm->vblk[i], VPCI_DEVFN(BOARD_VIRTIO_BLK_SLOT + i, 0), &vm->mem,
				     vm->disk_img[i].data, vm->disk_img[i].size, cfg->disk[i].readonly,
				     id, virtio_say, vm) ||
		    !vpci_add(&vm->pci, &vm->vblk[i]->vp.fn))
			return errf(err, errlen, "cannot plug in disk %s", cfg->disk[i].path);
	}
	if (cfg->virtio_console) {
		vm->vcon = kzalloc(sizeof(*vm->vcon));
		if (!vm->vcon ||
		    !virtio_console_init(vm->vcon, VPCI_DEVFN(BOARD_VIRTIO_CONSOLE_SLOT, 0), &vm->mem,
					 virtio_console_line, vm, virtio_say, vm) ||
		    !vpci_add(&vm->pci, &vm->vcon->vp.fn))
			return errf(err, errlen, "cannot plug in its virtio console");
	}
	if (cfg->virtio_rng) {
		uint8_t seed[32];
		board_rng_seed(vm, seed);
		vm->vrng = kzalloc(sizeof(*vm->vrng));
		if (!vm->vrng ||
		    !virtio_rng_init(vm->vrng, VPCI_DEVFN(BOARD_VIRTIO_RNG_SLOT, 0), &vm->mem,
				     board_hw_random, seed, virtio_say, vm) ||
		    !vpci_add(&vm->pci, &vm->vrng->vp.fn))
			return errf(err, errlen, "cannot plug in its virtio entropy device");
		memset(seed, 0, sizeof(seed));
	}
	return 0;
}

/*
 * Disks whose queue polls (notification suppression, devices/virtio_pci.h)
 * are served after every exit of the VM's vCPUs (HLT: the guest idles)
 * and at their timer looks;
 * a guest that makes no exit still has them served within
 * BOARD_DISK_POLL_NS (longer than a ticking guest's tick, so that its own
 * timer exits do it).  Whether one still polls.
 */
#define BOARD_DISK_POLL_NS  10000000ULL

static bool board_disk_poll(struct vm *vm, bool idle)
{
	bool polling = false;

	for (unsigned i = 0; i < vm->nr_vblk; i++) {
		struct virtio_blk *b = vm->vblk[i];
		if (b && virtio_pci_polling(&b->vp)) {
			virtio_blk_poll(b, idle);
			polling |= virtio_pci_polling(&b->vp);
		}
	}
	return polling;
}

void board_exit_poll(struct vcpu *v)
{
	/* Every exit comes here: one compare for a VM without disks. */
	if (!v->vm->nr_vblk)
		return;
	/* HLT with an interrupt waiting does not idle: the guest goes on at once. */
	bool idle = v->halt_requested && !board_wakeup_pending(v);

	if (board_disk_poll(v->vm, idle) &&
	    v->next_deadline > clock_now_ns() + BOARD_DISK_POLL_NS)
		v->next_deadline = 0;   /* the slow path takes the poll's deadline */
}

/* ---- virtio-net NICs on the inter-VM switches ----------------------------- */

/* NIC n is PCI function 00:(16+n).0. */
#define BOARD_NIC_DEVFN(n)  VPCI_DEVFN(16 + (n), 0)

static uint64_t host_now_cb(void *ctx)
{
	(void)ctx;
	return clock_now_ns();
}

/*
 * Frames wait for the VM (the switch's notify, any CPU, switch lock held):
 * vCPU 0 takes them at its next timer look (board_service_timers).  Not
 * before the VM has started, nor after it ended.
 */
static void nic_kick(void *ctx)
{
	struct vm *vm = ctx;
	struct vcpu *v0 = &vm->vcpu[0];

	if (!__atomic_load_n(&vm->vcpus_running, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE))
		return;
	v0->next_deadline = 0;
	sched_wake(v0);
}

static void nic_say(void *ctx, const char *line)
{
	struct vm *vm = ctx;

	pr_warn("kasane: VM '%s': %s\n", vm->name, line);
}

static int board_net_create(struct vm *vm, char *err, size_t errlen)
{
	char owner[40], why[120];

	if (!vm->cfg)
		return 0;
	for (int i = 0; i < vm->cfg->nr_nics && i < VM_MAX_NICS; i++) {
		const struct vm_nic_cfg *c = &vm->cfg->nic[i];
		struct virtio_net *net = kzalloc(sizeof(*net));

		if (!net)
			return errf(err, errlen, "out of memory for its NIC net%d", i);
		ksnprintf(owner, sizeof(owner), "%s net%d", vm->name, i);
		if (virtio_net_init(net, BOARD_NIC_DEVFN(i), c->mac, c->sw, owner, &vm->mem,
				    nic_say, host_now_cb, nic_kick, vm, why, sizeof(why)) < 0) {
			kfree(net);
			return errf(err, errlen, "%s: net%d: %s", c->src, i, why);
		}
		vm->nic[vm->nr_nics++] = net;
		if (!vpci_add(&vm->pci, &net->vp.fn))
			return errf(err, errlen, "cannot plug in its NIC net%d", i);
	}
	return 0;
}

static void board_virtio_free(struct vm *vm)
{
	for (int i = 0; i < VM_MAX_DISKS; i++) {
		kfree(vm->vblk[i]);
		vm->vblk[i] = NULL;
	}
	vm->nr_vblk = 0;
	kfree(vm->vcon);
	kfree(vm->vrng);
	vm->vcon = NULL;
	vm->vrng = NULL;
}

void board_net_free(struct vm *vm)
{
	char mac[18];

	for (unsigned i = 0; i < vm->nr_nics; i++) {
		struct virtio_net *net = vm->nic[i];
		struct vswitch_stats st = vswitch_port_stats(&net->port);

		vswitch_format_mac(mac, net->mac);
		pr_info("kasane: VM '%s': net%u %s on switch '%s': tx %llu frames %llu bytes "
			"%llu drops, rx %llu frames %llu bytes %llu drops\n", vm->name, i, mac,
			vm->cfg->nic[i].sw, (unsigned long long)st.tx_frames,
			(unsigned long long)st.tx_bytes, (unsigned long long)st.tx_drops,
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
			(unsigned long long)st.rx_drops);
		virtio_net_fini(net);
		kfree(net);
		vm->nic[i] = NULL;
	}
	vm->nr_nics = 0;
}

/* ---- set-up ------------------------------------------------------------- */


int board_create(struct vm *vm, char *err, size_t errlen)
{
	uint64_t below = vm->mem.region[0].size;
	uint64_t above = vm->mem.nr > 1 ? vm->mem.region[1].size : 0;
	/* IOAPIC ID: after the vCPUs' APIC IDs while that fits in 4 bits. */
	uint8_t ioapic_id = (uint8_t)(vm->nr_vcpus & 0xf);

	iobus_init(&vm->bus, vm->pio_regions, BOARD_PIO_REGIONS,
		   vm->mmio_regions, BOARD_MMIO_REGIONS);
	vuart_init(&vm->uart, uart_line, vm);
	fwcfg_init(&vm->fwcfg, vm->mem.total, (uint16_t)vm->nr_vcpus);
	testmmio_init(&vm->testmmio);
	vioapic_init(&vm->ioapic, ioapic_id, &board_irq_ops, vm);
	vpic_init(&vm->pic, &board_irq_ops, vm);
	vpit_init(&vm->pit, isa_irq_cb, vm, now_cb, vm);
	vrtc_init(&vm->rtc, boot_epoch_seconds, below, above, isa_irq_cb, vm, now_cb, vm);
	const struct vacpi_ports acpi_ports = {
		BOARD_PM1A_EVT_PORT, BOARD_PM1A_CNT_PORT, BOARD_PM_TMR_PORT, BOARD_RESET_PORT,
	};
	vacpi_init(&vm->acpi, &acpi_ports, &board_acpi_ops, vm);
	vhpet_init(&vm->hpet, hpet_irq, vm, now_cb, vm);

	/* The board's address map: every device and where it answers. */
	struct iobus_space *pio = &vm->bus.pio, *mmio = &vm->bus.mmio;
	if (iobus_add(pio, GUEST_COM1_PORT, VUART_NR_PORTS, uart_pio, vm, NULL) ||
	    iobus_add(pio, GUEST_EXIT_PORT, 1, exit_port_pio, vm, NULL) ||
	    iobus_add(pio, FW_CFG_PORT_SEL, 2, fwcfg_pio, &vm->fwcfg, NULL) ||
	    iobus_add(mmio, GUEST_TEST_MMIO_BASE, GUEST_TEST_MMIO_SIZE, testmmio_access,
		      &vm->testmmio, NULL) ||
	    iobus_add(mmio, BOARD_LAPIC_BASE, PAGE_SIZE, lapic_mmio, vm, NULL) ||
	    iobus_add(mmio, BOARD_IOAPIC_BASE, PAGE_SIZE, ioapic_mmio, vm, NULL) ||
	    iobus_add(pio, 0x20, 2, pic_pio, vm, NULL) ||
	    iobus_add(pio, 0xa0, 2, pic_pio, vm, NULL) ||
	    iobus_add(pio, 0x4d0, 2, pic_pio, vm, NULL) ||
	    iobus_add(pio, 0x40, 4, pit_pio, vm, NULL) ||
	    iobus_add(pio, 0x61, 1, pit_pio, vm, NULL) ||
	    iobus_add(pio, 0x70, 2, rtc_pio, vm, NULL) ||
	    iobus_add(pio, BOARD_PM1A_EVT_PORT, VACPI_EVT_LEN, acpi_pio, vm, NULL) ||
	    iobus_add(pio, BOARD_PM1A_CNT_PORT, VACPI_CNT_LEN, acpi_pio, vm, NULL) ||
	    iobus_add(pio, BOARD_PM_TMR_PORT, VACPI_TMR_LEN, acpi_pio, vm, NULL) ||
	    iobus_add(pio, BOARD_RESET_PORT, 1, acpi_pio, vm, NULL) ||
	    iobus_add(mmio, VHPET_BASE, VHPET_SIZE, hpet_mmio, vm, NULL))
		return errf(err, errlen, "cannot register its devices");
	if (board_pci_create(vm, err, errlen) < 0 || board_virtio_create(vm, err, errlen) < 0)
		return -1;
	if (board_net_create(vm, err, errlen) < 0)
		return -1;
	if (board_smbios(vm, err, errlen) < 0)
		return -1;
	return board_fwtables(vm, ioapic_id, err, errlen);
}

bool board_vcpu_init(struct vcpu *v)
{
	v->vlapic = kzalloc(sizeof(*v->vlapic));
	if (!v->vlapic)
		return false;
	vlapic_init(v->vlapic, v->id, v->id == 0, (uint32_t)tsc_khz, &board_irq_ops, v->vm,
		    now_cb, v->vm);
	return true;
}

void board_free(struct vm *vm)
{
	board_net_free(vm);
	kfree(vm->pci_testdev);
	vm->pci_testdev = NULL;
	board_virtio_free(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		kfree(vm->vcpu[i].vlapic);
		vm->vcpu[i].vlapic = NULL;
	}
}

void board_vcpu_reset(struct vcpu *v)
{
	vlapic_reset(v->vlapic);
}

/* ---- the vCPU loop's hooks ----------------------------------------------- */

uint64_t board_service_timers(struct vcpu *v, uint64_t host_now_ns)
{
	struct vm *vm = v->vm;
	uint64_t now = host_now_ns - vm->start_ns;
	uint64_t next;

	vlapic_timer_update(v->vlapic, now);
	next = vlapic_timer_deadline(v->vlapic);
	if (v->id == 0) {
		/* The VM's own timers are serviced by its vCPU 0's CPU. */
		vpit_update(&vm->pit);
		vrtc_update(&vm->rtc);
		if (vrtc_take_alarm(&vm->rtc))
			vacpi_rtc_alarm(&vm->acpi);
		vacpi_update(&vm->acpi);
		vhpet_update(&vm->hpet);
		/* Only a line that reaches a vCPU makes a deadline: a guest that
		 * masks its timer's pins does not keep this CPU busy. */
		if (isa_irq_reaches_cpu(vm, 0))
			next = MIN(next, vpit_next_deadline(&vm->pit));
		/* The RTC's alarm also reaches the SCI through RTC_EN. */
		if (isa_irq_reaches_cpu(vm, VRTC_IRQ) || vacpi_rtc_enabled(&vm->acpi))
			next = MIN(next, vrtc_next_deadline(&vm->rtc));
		next = MIN(next, vacpi_next_deadline(&vm->acpi));
		for (unsigned i = 0; i < vm->nr_nics; i++)
			virtio_net_poll(vm->nic[i]);
		if (vhpet_enabled(&vm->hpet))
			next = MIN(next, vhpet_next_deadline(&vm->hpet, hpet_lines_reaching(vm)));
	}
	next = next == NO_DEADLINE ? NO_DEADLINE : next + vm->start_ns;
	if (board_disk_poll(vm, false))
		next = MIN(next, host_now_ns + BOARD_DISK_POLL_NS);
	if (v->id == 0)
		next = MIN(next, vm_watchdog(vm, host_now_ns));
	return next;
}

/*
 * The guest took vector vec at an INTA, from the PIC or from a local APIC.
 * If it is ISA IRQ 0's (the master 8259A's IR0, or the vector of I/O APIC
 * pin 2, where the MADT's override puts IRQ 0), the PIT or the HPET,
 * whichever drives the line, may send the next of its lost ticks
 * (devices/losttick.h).
 */
static void isa_irq0_taken(struct vcpu *v, int vec, bool from_pic)
{
	struct vm *vm = v->vm;

	if (vec < 0)
		return;
	int irq0_vec = from_pic ? __atomic_load_n(&vm->pic.chip[0].base, __ATOMIC_RELAXED)
				: (int)(__atomic_load_n(&vm->ioapic.redir[2], __ATOMIC_RELAXED) &
					IOAPIC_RTE_VECTOR);
	if (vec != irq0_vec)
		return;
	/* The HPET's legacy replacement mode drives the line instead of the PIT. */
	if (vhpet_legacy(&vm->hpet) ? vhpet_irq0_ack(&vm->hpet) : vpit_irq_ack(&vm->pit))
		poke_vm_timers(vm, v);
}

int board_post_end(struct vcpu *v, bool taken)
{
	int vec = vlapic_post_end(v->vlapic, taken);

	isa_irq0_taken(v, vec, false);
	return vec;
}

int board_pending_vector(struct vcpu *v, bool ack)
{
	int vec = vlapic_pending_vector(v->vlapic);

	if (vec >= 0 && !ack)
		return vec;
	if (vec >= 0) {
		vec = vlapic_accept(v->vlapic, (uint8_t)vec);
		isa_irq0_taken(v, vec, false);
		return vec;
	}
	/* The PIC reaches vCPU 0 through LINT0 in virtual-wire mode. */
	if (v->id == 0 && vlapic_accepts_pic(v->vlapic) && vpic_intr_asserted(&v->vm->pic)) {
		if (!ack)
			return 0;
		vec = vpic_ack(&v->vm->pic);
		isa_irq0_taken(v, vec, true);
		return vec;
	}
	return -1;
}

bool board_take_nmi(struct vcpu *v)
{
	return vlapic_nmi_ack(v->vlapic);
}

void board_nmi_button(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vlapic_lint_edge(vm->vcpu[i].vlapic, 1);
		sched_wake(&vm->vcpu[i]);
	}
}

unsigned board_take_init_sipi(struct vcpu *v, uint8_t *sipi)
{
	unsigned ev = vlapic_take_events(v->vlapic, sipi);

	return ((ev & VLAPIC_EV_INIT) ? BOARD_EV_INIT : 0) |
	       ((ev & VLAPIC_EV_SIPI) ? BOARD_EV_SIPI : 0);
}

bool board_wakeup_pending(struct vcpu *v)
{
	if (v->events || vlapic_nmi_pending(v->vlapic))
		return true;
	return (v->hw.regs.rflags & RFLAGS_IF) && board_pending_vector(v, false) >= 0;
}

bool board_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *gp)
{
	*gp = false;
	if (msr == MSR_APIC_BASE) {
		*val = vlapic_get_apic_base(v->vlapic);
		return true;
	}
	if (msr == MSR_TSC_DEADLINE) {
		*val = vlapic_read_tsc_deadline(v->vlapic);
		return true;
	}
	if (msr == MSR_AMD_NB_CFG) {
		/* One per node, as on hardware: the VM's PCI bus keeps it. */
		*val = vpci_io_ecs(&v->vm->pci) ? NB_CFG_CF8_EXT : 0;
		return true;
	}
	if (msr >= 0x800 && msr <= 0x8ff) {
		*gp = !vlapic_msr_read(v->vlapic, msr, val);
		return true;
	}
	return false;
}

bool board_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *gp)
{
	*gp = false;
	if (msr == MSR_APIC_BASE) {
		*gp = !vlapic_set_apic_base(v->vlapic, val);
		return true;
	}
	if (msr == MSR_TSC_DEADLINE) {
		vlapic_write_tsc_deadline(v->vlapic, val, vm_now_ns(v->vm),
					  rdtsc() + (uint64_t)v->vm->tsc_offset);
		v->next_deadline = 0;   /* recompute before the next entry */
		return true;
	}
	if (msr == MSR_AMD_NB_CFG) {
		/* Only EnableCf8ExtCfg has a meaning on this board; the other
		 * fields are about northbridge hardware it does not have, and
		 * read as 0. */
		vpci_set_io_ecs(&v->vm->pci, val & NB_CFG_CF8_EXT);
		return true;
	}
	if (msr >= 0x800 && msr <= 0x8ff) {
		*gp = !vlapic_msr_write(v->vlapic, msr, val);
		v->next_deadline = 0;
		v->events = true;
		return true;
	}
	return false;
}
