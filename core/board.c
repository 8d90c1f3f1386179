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
#include "drivers/cmos.h"
#include "mm/mm.h"
#include "lib/string.h"
#include "lib/printf.h"

#define MSR_APIC_BASE       0x1b
#define MSR_TSC_DEADLINE    0x6e0

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

static void isa_irq_cb(void *ctx, unsigned irq, bool level)
{
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

/* PIC and IOAPIC writes (masks, EOIs) can release a held interrupt. */
static void poke_events(struct vcpu *me)
{
	if (me)
		me->events = true;
}

static int pic_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = model_pio(vpic_pio, &vm->pic, req);

	if (req->write)
		poke_events(req->vcpu);
	return r;
}

static int ioapic_mmio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = model_mmio(vioapic_mmio, &vm->ioapic, req);

	if (req->write)
		poke_events(req->vcpu);
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

/* COM1 with its interrupt line, ISA IRQ 4. */
static int uart_pio(void *dev, struct io_req *req)
{
	struct vm *vm = dev;
	int r = vuart_pio(&vm->uart, req);
	uint64_t reg = req->off;

	/* LCR and the scratch register cannot change the interrupt line
	 * (PC16550D data sheet, "Interrupt Identification Register"). */
	if (reg == UART_LCR || reg == UART_SCR)
		return r;
	/* Only a change of the line is news for the PIC and IOAPIC; the lock
	 * keeps two vCPUs from reporting changes out of order. */
	uint64_t f = spin_lock_irqsave(&vm->uart_irq_lock);
	bool irq = vuart_irq_pending(&vm->uart);
	if (irq != vm->uart_irq) {
		vm->uart_irq = irq;
		board_set_isa_irq(vm, 4, irq);
	}
	spin_unlock_irqrestore(&vm->uart_irq_lock, f);
	return r;
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
	    iobus_add(pio, 0x70, 2, rtc_pio, vm, NULL))
		return errf(err, errlen, "cannot register its devices");
	struct fwtables_in in = {
		.nr_vcpus = vm->nr_vcpus, .ioapic_id = ioapic_id,
		.ioapic_addr = BOARD_IOAPIC_BASE, .lapic_addr = BOARD_LAPIC_BASE,
		.pic = true,
	};
	return fwtables_build(&vm->mem, BOARD_FW_BASE, BOARD_FW_SIZE, &in, err, errlen) == 0 ? 0 : -1;
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
		next = MIN(next, vpit_next_deadline(&vm->pit));
		next = MIN(next, vrtc_next_deadline(&vm->rtc));
	}
	return next == NO_DEADLINE ? NO_DEADLINE : next + vm->start_ns;
}

int board_pending_vector(struct vcpu *v, bool ack)
{
	int vec = vlapic_pending_vector(v->vlapic);

	if (vec >= 0)
		return ack ? vlapic_accept(v->vlapic, (uint8_t)vec) : vec;
	/* The PIC reaches vCPU 0 through LINT0 in virtual-wire mode. */
	if (v->id == 0 && vlapic_accepts_pic(v->vlapic) && vpic_intr_asserted(&v->vm->pic))
		return ack ? vpic_ack(&v->vm->pic) : 0;
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
	if (msr >= 0x800 && msr <= 0x8ff) {
		*gp = !vlapic_msr_write(v->vlapic, msr, val);
		v->next_deadline = 0;
		v->events = true;
		return true;
	}
	return false;
}
