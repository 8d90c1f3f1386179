/*
 * The guest loop of one vCPU: apply INIT/SIPI, fire due timers, inject
 * pending interrupts (or ask for an interrupt window), enter the guest,
 * handle the exit; until the slice ends, the vCPU blocks or its VM ends.
 */
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/virt.h"
#include "core/exit.h"
#include "core/clock.h"
#include "core/sched.h"
#include "core/board.h"
#include "core/shadow.h"
#include "core/gpt.h"
#include "kernel/log.h"
#include "arch/x86/x86_defs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/x86_state.h"
#include "arch/x86/spec.h"

static uint64_t timer_armed[MAX_CPUS];  /* ns deadline programmed, 0 = none */

void host_timer_set(uint64_t ns)
{
	unsigned me = this_cpu_id();

	if (!ns) {
		if (timer_armed[me]) {
			lapic_timer_oneshot(0, VEC_TIMER);
			timer_armed[me] = 0;
		}
		return;
	}
	uint64_t at = clock_now_ns() + ns;
	/* Reprogramming costs an MMIO write: keep a timer that is armed a
	 * little earlier (the loop looks again when it fires), never a later one. */
	if (timer_armed[me] && timer_armed[me] <= at && timer_armed[me] + 50000 >= at)
		return;
	timer_armed[me] = at;
	lapic_timer_oneshot(ns, VEC_TIMER);
}

static void timer_irq(struct trap_frame *f)
{
	timer_armed[this_cpu_id()] = 0;
}

void vcpu_timer_init(void)
{
	trap_set_handler(VEC_TIMER, timer_irq);
}

uint64_t vcpu_service_timers(struct vcpu *v)
{
	/* An ended VM's vCPU is due now: its CPU must reap it (core/run.c).
	 * A paused VM's timers wait for its resume (core/sched.c). */
	if (v->vm->ended)
		return 0;
	if (v->vm->paused)
		return NO_DEADLINE;
	v->next_deadline = board_service_timers(v, clock_now_ns());
	/* A timer that fired posts an interrupt: make sure v looks at it. */
	if (board_pending_vector(v, false) >= 0) {
		v->events = true;
		if (v->state == VCPU_HALTED)
			sched_wake(v);
	}
	return v->next_deadline;
}

bool vcpu_intr_pending(struct vcpu *v)
{
	/* An NMI ends HLT unless NMIs are blocked (HLT in an NMI handler). */
	return board_wakeup_pending(v) || (v->hw.nmi_pending && !v->hw.nmi_blocked);
}

/*
 * Block v in 'state' (the scheduler does it under its queue lock), unless
 * an event that ends the wait is already there.  Returns whether v blocked.
 */
static bool vcpu_block(struct vcpu *v, enum vcpu_state state)
{
	if (state == VCPU_HALTED && vcpu_intr_pending(v))
		return false;
	return sched_block(v, state);
}

static void load_event(struct vcpu *v, const struct virt_event *ev)
{
	switch (ev->type) {
	case VIRT_EV_INTR:
		virt->inject_intr(&v->hw, ev->vector);
		break;
	case VIRT_EV_NMI:
		virt->inject_nmi(&v->hw);
		break;
	default:
		virt->inject_exception(&v->hw, ev->vector, ev->has_error, ev->error);
		break;
	}
}

static void set_intr_window(struct vcpu *v, bool on)
{
	if (v->window_open != on) {
		virt->request_intr_window(&v->hw, on);
		v->window_open = on;
	}
}

/*
 * Whether the guest's IDT has a present gate for vec, in protected or long
 * mode (SDM vol. 3A §6.10-6.14).  A posted interrupt is delivered by the
 * CPU with no exit, so a fault in its delivery (#NP through an absent
 * gate, #GP past the IDT's limit) reaches the guest while the interrupt is
 * still pending in IRR; QEMU 7.2 then delivers it again after the fault's
 * handler, where the local APIC would have lost it (acknowledged, in
 * service).  Such an interrupt takes the window instead.
 */
static bool idt_gate_present(struct vcpu *v, uint8_t vec)
{
	struct x86_sregs sr;
	uint8_t gate[8];

	virt->get_sregs(&v->hw, &sr);
	unsigned size = (sr.efer & EFER_LMA) ? 16 : 8;
	if (!(sr.cr0 & CR0_PE) || (uint64_t)vec * size + size - 1 > sr.idt.limit)
		return false;
	struct gpt_mode mode = { .cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer,
				 .rflags = v->hw.regs.rflags };
	if (gpt_copy_from(&v->vm->mem, &mode, sr.idt.base + (uint64_t)vec * size, gate,
			  sizeof(gate), GPT_READ, false, NULL) != 0)
		return false;
	/* Present (P = bit 7) and an interrupt or trap gate, S = 0 (Table 3-2):
	 * 64-bit ones in long mode, 16- or 32-bit ones otherwise; a task gate
	 * or a wrong type would fault in the delivery too. */
	unsigned type = gate[5] & 0x1f;
	bool lma = sr.efer & EFER_LMA;
	return (gate[5] & 0x80) && (type == 0xe || type == 0xf || (!lma && (type == 6 || type == 7)));
}

/*
 * An interrupt that waits only for the guest's IF (the common case: a
 * device interrupt raised while the guest runs with interrupts off) is
 * posted to the CPU where the back end can (virt_ops.h, post_intr): it is
 * delivered at the guest's STI, POPF or IRET with no interrupt-window exit
 * (APM vol. 2 §15.21.4).  Only the local APIC's own vectors: it is still
 * pending in IRR while the guest runs, and is accepted (IRR -> ISR) after
 * the exit if the guest took it (post_settle).  Nothing the guest can see
 * changes meanwhile without an exit, except CR8, which the CPU weighs.
 */
static bool post_intr(struct vcpu *v, int vec)
{
	if (!virt->post_intr || v->hw.shadow || vec != vlapic_pending_vector(v->vlapic) ||
	    !idt_gate_present(v, (uint8_t)vec) || !virt->post_intr(&v->hw, (uint8_t)vec))
		return false;
	/* Out of IRR while the CPU holds it: the same vector sent meanwhile
	 * must not merge into one the guest took already (vlapic.h). */
	vlapic_post_begin(v->vlapic, (uint8_t)vec);
	v->post_out = true;
	return true;
}

/* After an exit; returns whether an interrupt was posted for the entry,
 * which must then be decided again (not through v->events: a HLT with
 * IF=0 must not see a wake-up in it). */
static bool post_settle(struct vcpu *v)
{
	bool posted;

	/* Most exits: nothing posted, nothing to ask the back end. */
	if (!v->post_out)
		return false;
	v->post_out = false;
	int vec = virt->post_settle(&v->hw, &posted);
	/* Back to IRR unless taken, even if the back end dropped the post. */
	if (board_post_end(v, vec >= 0) >= 0)   /* IRQ 0's lost ticks too */
		v->intrs++;
	return true;
}

/*
 * Before entry, at most one event goes in: a queued exception or an event
 * cut short (core/event.c), else an NMI if NMIs are not blocked, else an
 * external interrupt if the guest can take one.  What must wait asks for
 * an exit when it can go in.
 */
static void inject_events(struct vcpu *v)
{
	struct virt_event ev;
	bool loaded = false;

	/* A post made for an entry that did not happen is withdrawn: this
	 * decides afresh (nothing ran since, so it cannot have been taken). */
	post_settle(v);
	/* NMIs from every source merge into one pending NMI (SDM vol. 3A
	 * §6.7.1): the local APIC's latch (ICR, LINT1, I/O APIC messages)
	 * moves into the vCPU's state here. */
	if (board_take_nmi(v))
		v->hw.nmi_pending = true;
	if (evq_next(&v->evq, &ev)) {
		load_event(v, &ev);
		loaded = true;
	} else if (v->hw.nmi_pending && virt->can_inject_nmi(&v->hw)) {
		virt->inject_nmi(&v->hw);
		v->hw.nmi_pending = false;
		loaded = true;
	}
	if (v->nmi_window_open != v->hw.nmi_pending) {
		virt->request_nmi_window(&v->hw, v->hw.nmi_pending);
		v->nmi_window_open = v->hw.nmi_pending;
	}
	if (loaded)
		v->events = true;       /* look again at the next entry */

	/* A debugger's single step runs one instruction of the guest's own,
	 * not the first of an interrupt handler. */
	if (unlikely(v->dbg.step)) {
		set_intr_window(v, false);
		return;
	}
	int vec = board_pending_vector(v, false);
	if (vec < 0) {
		set_intr_window(v, false);
		return;
	}
	if (!loaded && virt->can_inject_intr(&v->hw)) {
		vec = board_pending_vector(v, true);     /* acknowledge it */
		if (vec >= 0) {
			virt->inject_intr(&v->hw, (uint8_t)vec);
			v->intrs++;
		}
		set_intr_window(v, false);
		v->events = true;       /* more may be pending behind this one */
	} else if (!loaded && post_intr(v, vec)) {
		set_intr_window(v, false);
	} else {
		set_intr_window(v, true);
	}
}

/*
 * Paravirtual EOI (devices/vlapic.h; Linux Documentation/virt/kvm/x86/
 * msr.rst, MSR_KVM_PV_EOI_EN).  Vendor neutral: the flag is set before an
 * entry and looked at after the exit, before anything reads the local
 * APIC.  The flag is guest memory, reached through gmem at each use: an
 * address that is no longer RAM ends nothing, PV EOI is then skipped.
 */
static uint32_t *pv_eoi_flag(struct vcpu *v, uint64_t msr)
{
	return gmem_ptr(&v->vm->mem, msr & ~PV_EOI_ENABLED, sizeof(uint32_t));
}

/* Before an entry: set bit 0 of the flag if the guest's next EOI may skip
 * the APIC (vlapic_pv_eoi_may_defer()).  Returns the MSR's value if it did,
 * for pv_eoi_sync(), else 0. */
static uint64_t pv_eoi_arm(struct vcpu *v)
{
	uint64_t msr = vlapic_pv_eoi_msr(v->vlapic);

	if (likely(!(msr & PV_EOI_ENABLED)) || !vlapic_pv_eoi_may_defer(v->vlapic))
		return 0;
	uint32_t *flag = pv_eoi_flag(v, msr);
	if (!flag)
		return 0;
	__atomic_fetch_or(flag, (uint32_t)PV_EOI_ENABLED, __ATOMIC_RELAXED);
	return msr;
}

/* After the exit of an entry pv_eoi_arm() returned msr for: the guest
 * cleared the bit, so its EOI is done now, as an EOI write would do it;
 * else the bit is cleared, as the next entry decides afresh. */
static void pv_eoi_sync(struct vcpu *v, uint64_t msr)
{
	uint32_t *flag = pv_eoi_flag(v, msr);

	if (!flag || (__atomic_fetch_and(flag, ~(uint32_t)PV_EOI_ENABLED, __ATOMIC_RELAXED) &
		      PV_EOI_ENABLED))
		return;
	vlapic_pv_eoi(v->vlapic);
	if (v->vlapic->pv_eois == 1)
		pr_info("kasane: VM '%s' vCPU %u: paravirtual EOI in use (flag at 0x%llx)\n",
			v->vm->name, v->id, (unsigned long long)(msr & ~PV_EOI_ENABLED));
	/* A lower PPR may release an interrupt.  Only then: v->events would
	 * also end the guest's next HLT at once (vcpu_block), a wake-up for
	 * nothing, and the disk's idle look would miss that HLT. */
	if (vlapic_pending_vector(v->vlapic) >= 0)
		v->events = true;
}

static const char *event_name(const struct virt_event *ev)
{
	switch (ev->type) {
	case VIRT_EV_INTR: return "interrupt";
	case VIRT_EV_NMI: return "NMI";
	case VIRT_EV_SOFT_INT: return "software interrupt";
	default: return "exception";
	}
}

/*
 * An exit, handled: an event it cut short is queued again; an instruction
 * kasane completed (RIP moved) ends the interrupt shadow it ran in, as the
 * CPU would.
 */
static void handle_exit(struct vcpu *v, struct vm_exit *e)
{
	uint64_t rip = v->hw.regs.rip;

	if (unlikely(e->cut.valid)) {
		v->events = true;
		/* The delivery itself touched guest-physical memory that is not
		 * RAM (the IDT, GDT or stack in device memory): there is nothing
		 * to emulate, and the instruction at RIP did not do it.  A first
		 * touch of a demand-zero RAM chunk (an interrupt's stack, often
		 * an NMI's own IST stack) is mapped here instead; the event goes
		 * in again, and handle_mmio finds the chunk mapped. */
		if (e->kind == EXIT_MMIO && !vm_ram_fault(v->vm, e->mmio.gpa)) {
			v->nr_exits++;
			v->exits[e->kind]++;
			vm_end(v->vm, VM_END_UNHANDLED, -1,
			       "vCPU %u: delivering %s vector %u touched guest-physical 0x%llx, "
			       "which is not RAM (RIP 0x%llx)", v->id, event_name(&e->cut),
			       e->cut.vector, (unsigned long long)e->mmio.gpa,
			       (unsigned long long)rip);
			return;
		}
		evq_cut(&v->evq, &e->cut);
	}
	vcpu_handle_exit(v, e);
	if (unlikely(e->intr_shadow) && v->hw.regs.rip != rip)
		virt->set_intr_shadow(&v->hw, 0);
	if (v->hw.nmi_pending)
		v->events = true;       /* NMI blocking or a shadow may have ended */
}

void vcpu_load_reset_state(struct vcpu *v)
{
	struct x86_vcpu_state st;

	x86_state_reset(&st);
	virt->set_state(&v->hw, &st);
	v->window_open = false;
	v->nmi_window_open = false;
	v->evq = (struct event_queue){ 0 };
	v->hw.nmi_pending = false;
	v->cr8 = 0;
}

/*
 * The guest's CR8 and its local APIC's TPR are one register (SDM vol. 3A
 * §10.8.6.1): CR8 = TPR[7:4].  The back end lets the guest write CR8 without
 * an exit, and the APIC page's TPR is written through the device model, so
 * each side's change is carried to the other.
 */
static void sync_cr8_from_guest(struct vcpu *v)
{
	uint8_t cr8 = (uint8_t)virt->get_reg(&v->hw, VIRT_CR8);

	if (unlikely(cr8 != v->cr8)) {
		vlapic_set_cr8(v->vlapic, cr8);
		v->cr8 = cr8;
		v->events = true;       /* a lower TPR may release an interrupt */
	}
}

static void sync_cr8_to_guest(struct vcpu *v)
{
	uint8_t cr8 = vlapic_get_cr8(v->vlapic);

	if (cr8 != v->cr8) {
		virt->set_reg(&v->hw, VIRT_CR8, cr8);
		v->cr8 = cr8;
	}
}

/*
 * INIT and STARTUP (SDM vol. 3A §8.4.4, §9.1.1).  Returns false if v waits
 * for a SIPI, or its VM ended, and it must not run.
 */
static bool apply_init_sipi(struct vcpu *v)
{
	uint8_t sipi;
	unsigned ev = board_take_init_sipi(v, &sipi);

	if ((ev & BOARD_EV_INIT) && v->id == 0) {
		/* INIT makes the boot processor start again from the reset
		 * vector (SDM vol. 3A §9.1, Table 9-1: only the BSP flag tells
		 * it apart), into firmware a VM does not have: the VM is reset
		 * instead, as on_reboot says.  Nothing could ever send the boot
		 * vCPU the STARTUP an AP would wait for. */
		vm_end(v->vm, VM_END_REBOOT, 0, "INIT to the boot vCPU");
		return false;
	}
	if (ev & BOARD_EV_INIT) {
		vcpu_load_reset_state(v);
		board_vcpu_reset(v);
		v->wait_sipi = true;
	}
	if (v->wait_sipi && (ev & BOARD_EV_SIPI)) {
		/* Nothing ran since INIT: the state is still the reset state. */
		struct x86_vcpu_state st;
		x86_state_reset(&st);
		x86_state_sipi(&st, sipi);
		virt->set_state(&v->hw, &st);
		v->wait_sipi = false;
	}
	return !v->wait_sipi;
}

/* A host timer may fire this much before the deadline it was armed for
 * (the LAPIC timer counts in its own ticks). */
#define INTERFERENCE_SLACK_NS   50000

void vcpu_run(struct vcpu *v, uint64_t slice_end, uint64_t others_due)
{
	struct vm *vm = v->vm;
	struct vm_exit e;
	volatile unsigned *waiting = sched_nr_waiting(v->pcpu);
	volatile bool *resched = sched_resched_flag(v->pcpu);
	uint64_t slice_end_tsc = clock_ns_to_tsc(slice_end);
	uint64_t check_tsc = 0;         /* when the slow path must look again */
	unsigned seen_waiting = ~0u;
	/* Time in kasane per exit reason: from the exit to the next entry's
	 * checks, with the loop's own RDTSC; 0 = accounted. */
	uint64_t exit_at = 0;
	unsigned exit_kind = 0;
	bool repost = false;            /* the last entry posted an interrupt */

	unsigned cpu = this_cpu_id();
	this_cpu()->run_vcpu = v;
	/* gdb = yes: the VM stops before its first instruction (core/gdbstub.c). */
	if (unlikely(vm->cfg->gdb) && !vm->gdb_waited && debug_hooks)
		debug_hooks->first_run(v);
	v->ran_on |= 1ULL << cpu;
	spec_switch_vm(cpu, vm->id);
	if (unlikely(!v->hw.cr4_allowed))
		v->hw.cr4_allowed = vcpu_cr4_allowed(v);
	v->events = true;
	v->fpu.tsc_aux = v->msr.tsc_aux;
	uint64_t f = irq_save();
	fpu_load(&v->fpu);
	irq_restore(f);
	for (;;) {
		/*
		 * Interrupts stay off from these checks to VMRUN (the back end
		 * enters with GIF=0 and IF=1), so a timer or kick arriving after
		 * the checks is not taken by the host here but exits the guest
		 * at once.
		 */
		irq_disable();
		if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE) || vm->paused)
			break;
		/*
		 * The common case costs a few loads and an RDTSC: the slow path
		 * runs only for new events, a pending interrupt window, a due
		 * deadline, or a change in who waits for this CPU.
		 */
		uint64_t t = rdtsc();
		v->exit_tsc[exit_kind] += exit_at ? t - exit_at : 0;
		exit_at = 0;
		unsigned w = *waiting;
		/* The host timer fired, so the slow path arms it again: not
		 * only after an exit for it.  A timer armed a little early
		 * (host_timer_set) that fires while another exit is handled
		 * is taken at STGI or later, and the exit is that other one;
		 * check_tsc, the deadline, may still be ahead, and the guest
		 * would run on with no host timer at all. */
		bool timer_gone = check_tsc != ~0ULL && !timer_armed[cpu];
		if (unlikely(v->events || v->wait_sipi || v->window_open || v->nmi_window_open ||
			     repost || t >= check_tsc || timer_gone ||
			     w != seen_waiting || *resched)) {
			bool ev = __atomic_exchange_n(&v->events, false, __ATOMIC_ACQ_REL);
			if ((ev || v->wait_sipi) && !apply_init_sipi(v)) {
				if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE))
					break;
				if (vcpu_block(v, VCPU_WAIT_SIPI)) {
					/* Perhaps the last vCPU that could have sent a SIPI. */
					vm_check_all_halted(vm);
					break;
				}
				continue;       /* an event came in meanwhile */
			}
			uint64_t now = clock_now_ns();
			if (now >= v->next_deadline)
				vcpu_service_timers(v);
			/* Its timers may have ended the VM (the watchdog): leave
			 * now.  Nothing else would: vm_end()'s kick skips this
			 * CPU, and no deadline is left to arm, so a guest that
			 * spins with interrupts off would never exit again. */
			if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE))
				break;
			if (v->events)
				ev |= __atomic_exchange_n(&v->events, false, __ATOMIC_ACQ_REL);
			if (ev) {
				sync_cr8_to_guest(v);
				inject_events(v);
			} else if (v->window_open || v->nmi_window_open || repost) {
				inject_events(v);
			}
			/* Give the CPU up at the slice end only if another vCPU waits,
			 * and when a timer of another vCPU here is due. */
			if (*resched || (w && now >= slice_end) || now >= others_due)
				break;
			uint64_t until = MIN(v->next_deadline, others_due);
			if (w)
				until = MIN(until, slice_end);
			host_timer_set(until == NO_DEADLINE ? 0 : (until > now ? until - now : 1000));
			check_tsc = until == NO_DEADLINE ? ~0ULL : clock_ns_to_tsc(until);
			if (w)
				check_tsc = MIN(check_tsc, slice_end_tsc);
			seen_waiting = w;
		}
		if (v->hw.shadow) {
			shadow_sync(v);
			if (unlikely(vm->ended))
				break;
		}
		/* A debugger's single step: one instruction with TF set (the
		 * #DB exits, core/gdbstub.c); the guest's TF comes back after. */
		uint64_t step_rip = v->hw.regs.rip;
		if (unlikely(v->dbg.step))
			v->hw.regs.rflags |= RFLAGS_TF;
		uint64_t pv_eoi = pv_eoi_arm(v);
		spec_guest_enter(v->msr.spec_ctrl);
		virt->vcpu_run(&v->hw, &e);
		spec_guest_exit(v->msr.spec_ctrl);
		exit_at = rdtsc();
		exit_kind = e.kind < NR_EXIT_KINDS ? e.kind : EXIT_UNHANDLED;
		/* Before the exit looks at the APIC or CR8: a posted interrupt
		 * the guest took is accepted first, so that a flag the guest
		 * cleared is its EOI (see vlapic_pv_eoi_may_defer). */
		repost = post_settle(v);
		if (pv_eoi)
			pv_eoi_sync(v, pv_eoi);
		sync_cr8_from_guest(v);
		handle_exit(v, &e);
		board_exit_poll(v);
		/* kasane completed the stepped instruction itself: no #DB came. */
		if (unlikely(v->dbg.step) && v->hw.regs.rip != step_rip && debug_hooks)
			debug_hooks->step_done(v);
		/* A host interrupt (the timer, a kick) may have consumed the armed
		 * deadline: the slow path re-arms it before the next entry. */
		if (e.kind == EXIT_INTR) {
			check_tsc = 0;
			if (!v->events && !v->window_open && !v->nmi_window_open &&
			    clock_now_ns() + INTERFERENCE_SLACK_NS < v->next_deadline)
				v->interference++;
		}
		if (unlikely(v->yield_requested)) {
			v->yield_requested = false;
			sched_end_slice(v);
		}
		if (v->halt_requested) {
			v->halt_requested = false;
			if (vcpu_block(v, VCPU_HALTED)) {
				vm_check_all_halted(vm);
				break;
			}
			v->events = true;       /* HLT ends at once: an interrupt waits */
		}
		/* A device write may have moved a deadline (next_deadline = 0). */
		if (unlikely(v->next_deadline == 0))
			check_tsc = 0;
	}
	/* A post made for an entry that did not happen goes back to IRR,
	 * where the local APIC's other readers see it. */
	post_settle(v);
	if (exit_at)
		v->exit_tsc[exit_kind] += rdtsc() - exit_at;
	fpu_save(&v->fpu);
	irq_enable();
	this_cpu()->run_vcpu = NULL;
}
