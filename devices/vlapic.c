/*
 * Virtual local APIC; see vlapic.h.  Section numbers are those of the
 * Intel SDM vol. 3A, chapter 11 ("Advanced Programmable Interrupt
 * Controller").
 *
 * Functions named reg_*, timer_* and accept_* below run with vl->lock
 * held.  Work that calls out of the model (IPIs, EOI broadcasts) is
 * collected in a struct vlapic_call and done after the lock is dropped.
 */
#include "devices/vlapic.h"
#include "devices/devsnap.h"
#include "lib/string.h"

/* The timer's clock in ns per tick (before the divider). */
_Static_assert(1000000000ULL % VLAPIC_BUS_HZ == 0, "VLAPIC_BUS_HZ must divide 1 GHz");
#define NS_PER_TICK (1000000000ULL / VLAPIC_BUS_HZ)

#define XAPIC_BROADCAST    0xffu
#define X2APIC_BROADCAST   0xffffffffu

/* Writable bits of each LVT entry (§11.5.1 Figure 11-8); the others are
 * reserved or read-only (delivery status, remote IRR). */
static const uint32_t lvt_writable[VLAPIC_NR_LVT] = {
	[VLAPIC_LVT_TIMER]   = APIC_LVT_VECTOR | APIC_LVT_MASKED | APIC_LVT_TIMER_MODE,
	[VLAPIC_LVT_THERMAL] = APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_MASKED,
	[VLAPIC_LVT_PERF]    = APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_MASKED,
	[VLAPIC_LVT_LINT0]   = APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_POLARITY |
			       APIC_LVT_LEVEL | APIC_LVT_MASKED,
	[VLAPIC_LVT_LINT1]   = APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_POLARITY |
			       APIC_LVT_LEVEL | APIC_LVT_MASKED,
	[VLAPIC_LVT_ERROR]   = APIC_LVT_VECTOR | APIC_LVT_MASKED,
	[VLAPIC_LVT_CMCI]    = APIC_LVT_VECTOR | APIC_LVT_DM | APIC_LVT_MASKED,
};

/* ICR low bits software may write (§11.6.1; reserved set in §11.12.9).
 * The delivery-status bit is accepted and ignored. */
#define ICR_WRITABLE  (APIC_ICR_VECTOR | (7u << APIC_ICR_DM_SHIFT) | APIC_ICR_LOGICAL | \
		       APIC_ICR_PENDING | APIC_ICR_ASSERT | APIC_ICR_LEVEL | \
		       (3u << APIC_ICR_SH_SHIFT))

/* SVR (§11.9 Figure 11-23): bit 9, focus processor checking, is kept but
 * has no effect (no lowest-priority arbitration here); EOI-broadcast
 * suppression exists only if the version register says so. */
#define SVR_WRITABLE  (0x3ffu | \
		       ((VLAPIC_VERSION & (1u << 24)) ? APIC_SVR_EOI_SUPPRESS : 0))

/* Outcome of a register write. */
enum reg_status { REG_OK, REG_RESERVED, REG_READONLY, REG_BADBITS };

/* Calls to make once the lock is dropped. */
struct vlapic_call {
	bool send;
	struct apic_msg msg;
	int eoi_vector;                 /* -1: none */
};

/* For functions that read state through a const pointer: the lock is not
 * part of the state they promise not to change. */
static spinlock_t *lock_of(const struct vlapic *vl)
{
	return (spinlock_t *)&vl->lock;
}

static bool hw_enabled(const struct vlapic *vl)
{
	return vl->apic_base & APIC_BASE_EN;
}

static bool x2apic_mode(const struct vlapic *vl)
{
	return vl->apic_base & APIC_BASE_EXTD;
}

static bool sw_enabled(const struct vlapic *vl)
{
	return hw_enabled(vl) && (vl->svr & APIC_SVR_ENABLE);
}

/* §11.12.10.2: cluster = id[19:4] in bits 31:16, one bit for id[3:0]. */
static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* ---- 256-bit vector registers (IRR, ISR, TMR) ---------------------------- */

static void vec_set(uint32_t *r, unsigned v)   { r[v / 32] |= 1u << (v % 32); }
static void vec_clear(uint32_t *r, unsigned v) { r[v / 32] &= ~(1u << (v % 32)); }
static bool vec_test(const uint32_t *r, unsigned v) { return r[v / 32] & (1u << (v % 32)); }

static int vec_highest(const uint32_t *r)
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

/* §11.8.3.1: PPR is TPR, or ISRV's class if that is higher. */
static uint32_t reg_ppr(const struct vlapic *vl)
{
	int isrv = vec_highest(vl->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	if ((vl->tpr & 0xf0) >= isr_class)
		return vl->tpr & 0xff;
	return isr_class;
}

/* ---- interrupt acceptance ------------------------------------------------ */

static void accept_error(struct vlapic *vl, uint32_t esr_bit);

/* A fixed interrupt arrives (§11.8.4); vectors 0-15 are illegal (§11.5.2). */
static void accept_fixed(struct vlapic *vl, uint8_t vector, bool level)
{
	if (!hw_enabled(vl))
		return;
	if (vector < 16) {
		accept_error(vl, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	if (!sw_enabled(vl))
		return;         /* §11.4.7.2: fixed interrupts are not accepted */
	vec_set(vl->irr, vector);
	if (level)
		vec_set(vl->tmr, vector);
	else
		vec_clear(vl->tmr, vector);
}

/* §11.5.3: log the error and raise the LVT error interrupt.  An illegal
 * vector in the error LVT is itself logged, without another interrupt. */
static void accept_error(struct vlapic *vl, uint32_t esr_bit)
{
	uint32_t lvt = vl->lvt[VLAPIC_LVT_ERROR];

	vl->esr_pending |= esr_bit;
	if (lvt & APIC_LVT_MASKED)
		return;
	if ((lvt & APIC_LVT_VECTOR) < 16) {
		vl->esr_pending |= APIC_ESR_RECV_ILLEGAL;
		return;
	}
	accept_fixed(vl, lvt & APIC_LVT_VECTOR, false);
}

/* ---- timer (§11.5.4) ----------------------------------------------------- */

/* The mode field of an LVT timer value; 11b is reserved and counts as one-shot. */
static unsigned timer_mode_of(uint32_t lvt)
{
	unsigned m = (lvt & APIC_LVT_TIMER_MODE) >> APIC_LVT_TIMER_SHIFT;
	return m == 3 ? APIC_TIMER_ONESHOT : m;
}

static unsigned timer_mode(const struct vlapic *vl)
{
	return timer_mode_of(vl->lvt[VLAPIC_LVT_TIMER]);
}

/* Figure 11-10: DCR bits 3,1:0 select 2, 4, ... 128, and 111b divides by 1. */
static uint64_t timer_tick_ns(const struct vlapic *vl)
{
	unsigned d = ((vl->timer_dcr >> 1) & 4) | (vl->timer_dcr & 3);
	return (d == 7 ? 1 : 2u << d) * NS_PER_TICK;
}

/*
 * A periodic timer never fires faster than VLAPIC_MIN_PERIOD_NS, however
 * small its count: the floor Linux KVM applies (min_timer_period_us, 200 us,
 * arch/x86/kvm/lapic.c), so a guest cannot turn its timer into an
 * interrupt storm that keeps its CPU busy.  One-shot and TSC-deadline
 * timers need a guest write per expiry and get no floor.
 */
static uint64_t timer_period(const struct vlapic *vl)
{
	uint64_t p = vl->timer_icr * timer_tick_ns(vl);

	if (timer_mode(vl) == APIC_TIMER_PERIODIC && p && p < VLAPIC_MIN_PERIOD_NS)
		p = VLAPIC_MIN_PERIOD_NS;
	return p;
}

/* The current-count register.  The count drops by one every tick, so it
 * is the time left rounded up to whole ticks. */
static uint32_t timer_ccr(const struct vlapic *vl, uint64_t now)
{
	if (timer_mode(vl) == APIC_TIMER_TSC_DEADLINE || vl->timer_deadline == NO_DEADLINE)
		return 0;
	if (now >= vl->timer_deadline)
		return 0;
	uint64_t tick = timer_tick_ns(vl);
	uint64_t left = (vl->timer_deadline - now + tick - 1) / tick;
	return left < vl->timer_icr ? (uint32_t)left : vl->timer_icr;
}

/* Expire the timer if it is due. */
static void timer_catch_up(struct vlapic *vl, uint64_t now)
{
	if (vl->timer_deadline == NO_DEADLINE || now < vl->timer_deadline)
		return;
	uint32_t lvt = vl->lvt[VLAPIC_LVT_TIMER];
	vl->timer_fired++;
	if (!(lvt & APIC_LVT_MASKED))
		accept_fixed(vl, lvt & APIC_LVT_VECTOR, false);

	switch (timer_mode(vl)) {
	case APIC_TIMER_PERIODIC: {
		/* Re-arm from the deadline, not from now, so periods do not drift. */
		uint64_t period = timer_period(vl);
		if (!period) {          /* not reachable: a zero count disarms */
			vl->timer_deadline = NO_DEADLINE;
			break;
		}
		uint64_t missed = (now - vl->timer_deadline) / period;
		vl->timer_missed += missed;
		vl->timer_deadline += (missed + 1) * period;
		break;
	}
	case APIC_TIMER_TSC_DEADLINE:
		vl->tsc_deadline = 0;   /* §11.5.4.1: the MSR reads 0 once it fired */
		vl->timer_deadline = NO_DEADLINE;
		break;
	default:
		vl->timer_deadline = NO_DEADLINE;
		break;
	}
}

/* Writing the initial count (re)starts the count; 0 stops it.  Ignored
 * in TSC-deadline mode (§11.5.4.1). */
static void timer_write_icr(struct vlapic *vl, uint32_t val, uint64_t now)
{
	if (timer_mode(vl) == APIC_TIMER_TSC_DEADLINE)
		return;
	vl->timer_icr = val;
	vl->timer_deadline = val ? now + timer_period(vl) : NO_DEADLINE;
}

/* A new divider applies to the rest of the count. */
static void timer_write_dcr(struct vlapic *vl, uint32_t val, uint64_t now)
{
	bool counting = timer_mode(vl) != APIC_TIMER_TSC_DEADLINE &&
			vl->timer_deadline != NO_DEADLINE;
	uint32_t left = counting ? timer_ccr(vl, now) : 0;

	vl->timer_dcr = val;
	if (counting)
		vl->timer_deadline = now + left * timer_tick_ns(vl);
}

/* ceil(ticks * 10^6 / khz): TSC ticks to ns without 128-bit arithmetic,
 * rounded up so the interrupt never comes before the guest's TSC reaches
 * the deadline.  Saturates at NO_DEADLINE. */
static uint64_t tsc_ticks_to_ns(uint32_t khz, uint64_t ticks)
{
	uint64_t q = ticks / khz, r = ticks % khz;

	if (q > (NO_DEADLINE - 1000000) / 1000000)
		return NO_DEADLINE;
	return q * 1000000 + (r * 1000000 + khz - 1) / khz;
}

/* ---- registers ------------------------------------------------------------ */

static void reg_write_lvt(struct vlapic *vl, unsigned i, uint32_t val)
{
	if (!sw_enabled(vl))
		val |= APIC_LVT_MASKED; /* §11.4.7.2 */
	if (i == VLAPIC_LVT_TIMER) {
		bool was_tsc = timer_mode(vl) == APIC_TIMER_TSC_DEADLINE;
		bool is_tsc = timer_mode_of(val) == APIC_TIMER_TSC_DEADLINE;
		if (was_tsc != is_tsc) {
			/* §11.5.4.1: switching to or from TSC-deadline disarms. */
			vl->timer_deadline = NO_DEADLINE;
			vl->tsc_deadline = 0;
		}
	}
	vl->lvt[i] = val;
}

static void reg_write_svr(struct vlapic *vl, uint32_t val)
{
	bool was = vl->svr & APIC_SVR_ENABLE;

	vl->svr = val;
	if (was && !(val & APIC_SVR_ENABLE))
		for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
			vl->lvt[i] |= APIC_LVT_MASKED;  /* §11.4.7.2 */
}

/* §11.8.5: EOI retires the highest in-service vector; a level-triggered
 * one is broadcast to the IOAPICs unless SVR bit 12 suppresses that. */
static void reg_eoi(struct vlapic *vl, struct vlapic_call *call)
{
	int v = vec_highest(vl->isr);

	if (v < 0)
		return;
	vec_clear(vl->isr, v);
	if (vec_test(vl->tmr, v) && !(vl->svr & APIC_SVR_EOI_SUPPRESS))
		call->eoi_vector = v;
}

/* §11.6.1: a write to the low half of the ICR sends the IPI. */
static void reg_send_ipi(struct vlapic *vl, struct vlapic_call *call)
{
	uint32_t lo = vl->icr_lo;
	struct apic_msg *m = &call->msg;

	m->vector = lo & APIC_ICR_VECTOR;
	m->delivery = (lo >> APIC_ICR_DM_SHIFT) & 7;
	m->logical = lo & APIC_ICR_LOGICAL;
	m->level = lo & APIC_ICR_LEVEL;
	m->shorthand = (lo >> APIC_ICR_SH_SHIFT) & 3;
	m->dest = x2apic_mode(vl) ? vl->icr_hi : vl->icr_hi >> 24;
	m->src = vl->id;

	/* INIT level de-assert only syncs arbitration ids on old APICs. */
	if (m->delivery == APIC_DM_INIT && m->level && !(lo & APIC_ICR_ASSERT))
		return;
	if ((m->delivery == APIC_DM_FIXED || m->delivery == APIC_DM_LOWEST) && m->vector < 16) {
		accept_error(vl, APIC_ESR_SEND_ILLEGAL);
		return;
	}
	vl->ipis_sent++;
	call->send = true;
}

/*
 * Read the register at xAPIC offset `off` (16-byte aligned).  x2 selects
 * x2APIC semantics (Table 11-6).  Returns false for a register that does
 * not exist or cannot be read in this mode.
 */
static bool reg_read(struct vlapic *vl, unsigned off, bool x2, uint64_t now, uint32_t *out)
{
	uint32_t v;

	if (off >= APIC_REG_ISR && off < APIC_REG_ISR + 0x80)
		v = vl->isr[(off - APIC_REG_ISR) >> 4];
	else if (off >= APIC_REG_TMR && off < APIC_REG_TMR + 0x80)
		v = vl->tmr[(off - APIC_REG_TMR) >> 4];
	else if (off >= APIC_REG_IRR && off < APIC_REG_IRR + 0x80)
		v = vl->irr[(off - APIC_REG_IRR) >> 4];
	else if (off >= APIC_REG_LVT_TIMER && off <= APIC_REG_LVT_ERROR)
		v = vl->lvt[VLAPIC_LVT_TIMER + ((off - APIC_REG_LVT_TIMER) >> 4)];
	else switch (off) {
	case APIC_REG_ID:       v = x2 ? vl->id : (vl->id & 0xff) << 24; break;
	case APIC_REG_VERSION:  v = VLAPIC_VERSION; break;
	case APIC_REG_TPR:      v = vl->tpr; break;
	case APIC_REG_PPR:      v = reg_ppr(vl); break;
	case APIC_REG_LDR:      v = vl->ldr; break;
	case APIC_REG_SVR:      v = vl->svr; break;
	case APIC_REG_ESR:      v = vl->esr; break;
	case APIC_REG_LVT_CMCI: v = vl->lvt[VLAPIC_LVT_CMCI]; break;
	case APIC_REG_ICR_LO:   v = vl->icr_lo; break;  /* delivery status: idle */
	case APIC_REG_TIMER_ICR: v = vl->timer_icr; break;
	case APIC_REG_TIMER_CCR: v = timer_ccr(vl, now); break;
	case APIC_REG_TIMER_DCR: v = vl->timer_dcr; break;
	case APIC_REG_APR:
	case APIC_REG_RRD:
	case APIC_REG_EOI:      /* write-only: xAPIC reads 0, x2APIC #GP */
		if (x2)
			return false;
		v = 0;
		break;
	case APIC_REG_DFR:
		if (x2)
			return false;
		v = vl->dfr;
		break;
	case APIC_REG_ICR_HI:
		if (x2)
			return false;
		v = vl->icr_hi;
		break;
	default:                /* includes SELF IPI: write-only or absent */
		return false;
	}
	*out = v;
	return true;
}

/* Keep the writable bits; in x2APIC mode a set reserved bit is #GP (§11.12.1.3). */
#define WRITABLE(mask) do {                                             \
	if (x2 && (val & ~(uint32_t)(mask)))                            \
		return REG_BADBITS;                                     \
	val &= (mask);                                                  \
} while (0)

/* Write the register at xAPIC offset `off`; see reg_read for x2. */
static enum reg_status reg_write(struct vlapic *vl, unsigned off, bool x2, uint32_t val,
				 uint64_t now, struct vlapic_call *call)
{
	if (off >= APIC_REG_LVT_TIMER && off <= APIC_REG_LVT_ERROR) {
		unsigned i = VLAPIC_LVT_TIMER + ((off - APIC_REG_LVT_TIMER) >> 4);
		/* Delivery status, and LINT0/1's remote IRR, are read-only bits,
		 * not reserved ones: written, they are ignored (§11.5.1 Figure
		 * 11-8); only reserved bits raise #GP in x2APIC mode
		 * (§11.12.1.3).  Linux's disconnect_bsp_APIC() writes both. */
		uint32_t ro = APIC_LVT_PENDING |
			      (i == VLAPIC_LVT_LINT0 || i == VLAPIC_LVT_LINT1 ? APIC_LVT_REMOTE_IRR : 0);
		WRITABLE(lvt_writable[i] | ro);
		val &= lvt_writable[i];
		reg_write_lvt(vl, i, val);
		return REG_OK;
	}
	if (off >= APIC_REG_ISR && off < APIC_REG_IRR + 0x80)
		return REG_READONLY;    /* ISR, TMR, IRR */
	switch (off) {
	case APIC_REG_ID:
	case APIC_REG_VERSION:
	case APIC_REG_PPR:
	case APIC_REG_TIMER_CCR:
		return REG_READONLY;
	case APIC_REG_APR:
	case APIC_REG_RRD:
		return x2 ? REG_RESERVED : REG_READONLY;
	case APIC_REG_TPR:
		WRITABLE(0xff);
		vl->tpr = val;
		return REG_OK;
	case APIC_REG_EOI:
		if (x2 && val)
			return REG_BADBITS;
		reg_eoi(vl, call);
		return REG_OK;
	case APIC_REG_LDR:
		if (x2)
			return REG_READONLY;    /* derived from the ID */
		vl->ldr = val & 0xff000000u;
		return REG_OK;
	case APIC_REG_DFR:
		if (x2)
			return REG_RESERVED;
		vl->dfr = (val & 0xf0000000u) | 0x0fffffffu;
		return REG_OK;
	case APIC_REG_SVR:
		WRITABLE(SVR_WRITABLE);
		reg_write_svr(vl, val);
		return REG_OK;
	case APIC_REG_ESR:
		/* §11.5.3: a write latches the errors seen since the last one. */
		if (x2 && val)
			return REG_BADBITS;
		vl->esr = vl->esr_pending;
		vl->esr_pending = 0;
		return REG_OK;
	case APIC_REG_LVT_CMCI:
		WRITABLE(lvt_writable[VLAPIC_LVT_CMCI]);
		reg_write_lvt(vl, VLAPIC_LVT_CMCI, val);
		return REG_OK;
	case APIC_REG_ICR_LO:
		WRITABLE(ICR_WRITABLE);
		vl->icr_lo = val & ~APIC_ICR_PENDING;
		reg_send_ipi(vl, call);
		return REG_OK;
	case APIC_REG_ICR_HI:
		if (x2)
			return REG_RESERVED;
		vl->icr_hi = val & 0xff000000u;
		return REG_OK;
	case APIC_REG_TIMER_ICR:
		timer_write_icr(vl, val, now);
		return REG_OK;
	case APIC_REG_TIMER_DCR:
		WRITABLE(0xbu);
		timer_write_dcr(vl, val, now);
		return REG_OK;
	case APIC_REG_SELF_IPI:
		if (!x2)
			return REG_RESERVED;
		WRITABLE(0xffu);
		accept_fixed(vl, (uint8_t)val, false);  /* §11.12.11: edge, fixed */
		return REG_OK;
	default:
		return REG_RESERVED;
	}
}

#undef WRITABLE

static void do_call(struct vlapic *vl, const struct vlapic_call *call)
{
	if (!vl->ops)
		return;
	if (call->send && vl->ops->apic_deliver)
		vl->ops->apic_deliver(vl->vm, &call->msg);
	if (call->eoi_vector >= 0 && vl->ops->eoi)
		vl->ops->eoi(vl->vm, (uint8_t)call->eoi_vector);
}

/* ---- state ----------------------------------------------------------------- */

/* §11.4.7.1 reset values for everything but the ID and IA32_APIC_BASE. */
static void reset_regs(struct vlapic *vl)
{
	vl->tpr = 0;
	vl->ldr = x2apic_mode(vl) ? x2apic_ldr(vl->id) : 0;
	vl->dfr = 0xffffffffu;
	vl->svr = 0xff;
	vl->esr = vl->esr_pending = 0;
	memset(vl->irr, 0, sizeof(vl->irr));
	memset(vl->isr, 0, sizeof(vl->isr));
	memset(vl->tmr, 0, sizeof(vl->tmr));
	for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
		vl->lvt[i] = APIC_LVT_MASKED;
	if (vl->apic_base & APIC_BASE_BSP)      /* virtual wire, see vlapic.h */
		vl->lvt[VLAPIC_LVT_LINT0] = APIC_DM_EXTINT << APIC_LVT_DM_SHIFT;
	vl->icr_lo = vl->icr_hi = 0;
	vl->timer_icr = vl->timer_dcr = 0;
	vl->timer_deadline = NO_DEADLINE;
	vl->tsc_deadline = 0;
	vl->posted = -1;
}

void vlapic_init(struct vlapic *vl, uint32_t apic_id, bool bsp, uint32_t tsc_khz,
		 const struct irq_ops *ops, void *vm_ctx,
		 uint64_t (*now)(void *ctx), void *now_ctx)
{
	memset(vl, 0, sizeof(*vl));
	vl->id = apic_id;
	vl->tsc_khz = tsc_khz ? tsc_khz : 1000000;
	vl->apic_base = VLAPIC_BASE_DEFAULT | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	vl->ops = ops;
	vl->vm = vm_ctx;
	vl->now = now;
	vl->now_ctx = now_ctx;
	reset_regs(vl);
}

void vlapic_reset(struct vlapic *vl)
{
	spin_lock(&vl->lock);
	reset_regs(vl);
	vl->pv_eoi_msr = 0;     /* INIT ends PV EOI too: the guest starts afresh */
	spin_unlock(&vl->lock);
}

bool vlapic_set_apic_base(struct vlapic *vl, uint64_t val)
{
	const uint64_t flags = APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP;
	bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
	bool ok = true;

	if ((val & ~flags) != VLAPIC_BASE_DEFAULT || (extd && !en))
		return false;
	spin_lock(&vl->lock);
	bool was_en = hw_enabled(vl), was_x2 = x2apic_mode(vl);
	if ((was_x2 && !extd && en) || (!was_en && extd)) {
		ok = false;     /* x2APIC -> xAPIC, disabled -> x2APIC */
	} else {
		vl->apic_base = (vl->apic_base & APIC_BASE_BSP) | VLAPIC_BASE_DEFAULT |
				(val & (APIC_BASE_EN | APIC_BASE_EXTD));
		if (was_en && !en)
			reset_regs(vl);         /* only the ID survives */
		else if (!was_x2 && extd)
			vl->ldr = x2apic_ldr(vl->id);
	}
	spin_unlock(&vl->lock);
	return ok;
}

uint64_t vlapic_get_apic_base(struct vlapic *vl)
{
	spin_lock(&vl->lock);
	uint64_t v = vl->apic_base;
	spin_unlock(&vl->lock);
	return v;
}

/* ---- guest accesses ------------------------------------------------------ */

int vlapic_mmio(void *dev, bool write, uint64_t gpa, unsigned bytes, uint64_t *val)
{
	struct vlapic *vl = dev;
	struct vlapic_call call = { .eoi_vector = -1 };
	unsigned off = gpa & (VLAPIC_MMIO_SIZE - 1);

	spin_lock(&vl->lock);
	if (!hw_enabled(vl) || x2apic_mode(vl)) {
		if (!write)
			*val = ~0ULL;
	} else if (bytes != 4 || (off & 0xf)) {
		if (!write)
			*val = 0;
	} else {
		uint64_t now = vl->now(vl->now_ctx);
		timer_catch_up(vl, now);
		if (write) {
			if (reg_write(vl, off, false, (uint32_t)*val, now, &call) == REG_RESERVED)
				accept_error(vl, APIC_ESR_ILLEGAL_REG);
		} else {
			uint32_t v = 0;
			if (!reg_read(vl, off, false, now, &v))
				accept_error(vl, APIC_ESR_ILLEGAL_REG);
			*val = v;
		}
	}
	spin_unlock(&vl->lock);
	do_call(vl, &call);
	return 0;
}

bool vlapic_msr_read(struct vlapic *vl, uint32_t msr, uint64_t *val)
{
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return false;
	unsigned off = (msr - MSR_X2APIC_FIRST) << 4;
	bool ok = false;

	spin_lock(&vl->lock);
	if (x2apic_mode(vl)) {
		uint64_t now = vl->now(vl->now_ctx);
		uint32_t v = 0;
		timer_catch_up(vl, now);
		if (off == APIC_REG_ICR_LO) {   /* one 64-bit MSR (§11.12.9) */
			*val = (uint64_t)vl->icr_hi << 32 | vl->icr_lo;
			ok = true;
		} else if (reg_read(vl, off, true, now, &v)) {
			*val = v;
			ok = true;
		}
	}
	spin_unlock(&vl->lock);
	return ok;
}

bool vlapic_msr_write(struct vlapic *vl, uint32_t msr, uint64_t val)
{
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return false;
	unsigned off = (msr - MSR_X2APIC_FIRST) << 4;
	struct vlapic_call call = { .eoi_vector = -1 };
	bool ok = false;

	spin_lock(&vl->lock);
	if (x2apic_mode(vl)) {
		uint64_t now = vl->now(vl->now_ctx);
		timer_catch_up(vl, now);
		if (off == APIC_REG_ICR_LO) {
			if (!((uint32_t)val & ~ICR_WRITABLE)) {
				vl->icr_hi = val >> 32;
				ok = reg_write(vl, off, true, (uint32_t)val, now, &call) == REG_OK;
			}
		} else if (!(val >> 32)) {      /* upper halves are reserved (§11.12.1.2) */
			ok = reg_write(vl, off, true, (uint32_t)val, now, &call) == REG_OK;
		}
	}
	spin_unlock(&vl->lock);
	do_call(vl, &call);
	return ok;
}

uint64_t vlapic_read_tsc_deadline(struct vlapic *vl)
{
	uint64_t v = 0;

	spin_lock(&vl->lock);
	if (hw_enabled(vl)) {
		timer_catch_up(vl, vl->now(vl->now_ctx));
		if (timer_mode(vl) == APIC_TIMER_TSC_DEADLINE)
			v = vl->tsc_deadline;
	}
	spin_unlock(&vl->lock);
	return v;
}

void vlapic_write_tsc_deadline(struct vlapic *vl, uint64_t tsc, uint64_t now_ns,
			       uint64_t now_tsc)
{
	spin_lock(&vl->lock);
	if (hw_enabled(vl) && timer_mode(vl) == APIC_TIMER_TSC_DEADLINE) {
		/* A deadline that passed before this write has fired already
		 * (§11.5.4.1), even if nothing noticed it yet: a new value,
		 * 0 included, does not take that interrupt back. */
		timer_catch_up(vl, now_ns);
		vl->tsc_deadline = tsc;
		if (!tsc) {
			vl->timer_deadline = NO_DEADLINE;
		} else if (tsc <= now_tsc) {
			vl->timer_deadline = now_ns;
		} else {
			uint64_t d = tsc_ticks_to_ns(vl->tsc_khz, tsc - now_tsc);
			vl->timer_deadline = d > NO_DEADLINE - now_ns ? NO_DEADLINE : now_ns + d;
		}
		timer_catch_up(vl, now_ns);
	}
	spin_unlock(&vl->lock);
}

uint8_t vlapic_get_cr8(struct vlapic *vl)
{
	spin_lock(&vl->lock);
	uint8_t v = (vl->tpr >> 4) & 0xf;
	spin_unlock(&vl->lock);
	return v;
}

void vlapic_set_cr8(struct vlapic *vl, uint8_t cr8)
{
	spin_lock(&vl->lock);
	vl->tpr = (uint32_t)(cr8 & 0xf) << 4;
	spin_unlock(&vl->lock);
}

/* ---- the VM layer's side ------------------------------------------------ */

void vlapic_set_irq(struct vlapic *vl, uint8_t vector, bool level)
{
	spin_lock(&vl->lock);
	accept_fixed(vl, vector, level);
	spin_unlock(&vl->lock);
}

void vlapic_deliver(struct vlapic *vl, const struct apic_msg *m)
{
	spin_lock(&vl->lock);
	switch (m->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		accept_fixed(vl, m->vector, m->level);
		break;
	case APIC_DM_NMI:
		vl->nmi = true;
		break;
	case APIC_DM_INIT:
		vl->events |= VLAPIC_EV_INIT;
		break;
	case APIC_DM_STARTUP:
		vl->events |= VLAPIC_EV_SIPI;
		vl->sipi_vector = m->vector;
		break;
	default:
		break;
	}
	spin_unlock(&vl->lock);
}

int vlapic_pending_vector(struct vlapic *vl)
{
	int v = -1;

	spin_lock(&vl->lock);
	if (sw_enabled(vl)) {
		int irrv = vec_highest(vl->irr);
		if (irrv >= 0 && ((uint32_t)irrv & 0xf0) > (reg_ppr(vl) & 0xf0))
			v = irrv;
	}
	spin_unlock(&vl->lock);
	return v;
}

uint8_t vlapic_accept(struct vlapic *vl, uint8_t vector)
{
	uint8_t got;

	spin_lock(&vl->lock);
	if (sw_enabled(vl) && vec_test(vl->irr, vector) &&
	    (vector & 0xf0u) > (reg_ppr(vl) & 0xf0)) {
		vec_clear(vl->irr, vector);
		vec_set(vl->isr, vector);
		got = vector;
	} else {
		got = vl->svr & 0xff;   /* spurious (§11.9): ISR untouched */
	}
	spin_unlock(&vl->lock);
	return got;
}

void vlapic_post_begin(struct vlapic *vl, uint8_t vector)
{
	spin_lock(&vl->lock);
	if (vl->posted < 0 && vec_test(vl->irr, vector)) {
		vec_clear(vl->irr, vector);
		vl->posted = vector;
	}
	spin_unlock(&vl->lock);
}

int vlapic_post_end(struct vlapic *vl, bool taken)
{
	int vec = -1;

	spin_lock(&vl->lock);
	if (vl->posted >= 0) {
		/* Taken: in service whatever came since (the CPU acknowledged it
		 * with the priority it had then); else pending again, merged with
		 * the same vector if it was sent meanwhile. */
		if (taken) {
			vec_set(vl->isr, (unsigned)vl->posted);
			vec = vl->posted;
		} else {
			vec_set(vl->irr, (unsigned)vl->posted);
		}
		vl->posted = -1;
	}
	spin_unlock(&vl->lock);
	return vec;
}

/* ---- paravirtual EOI (vlapic.h) -------------------------------------------- */

uint64_t vlapic_pv_eoi_msr(struct vlapic *vl)
{
	return __atomic_load_n(&vl->pv_eoi_msr, __ATOMIC_RELAXED);
}

void vlapic_set_pv_eoi_msr(struct vlapic *vl, uint64_t val)
{
	__atomic_store_n(&vl->pv_eoi_msr, val, __ATOMIC_RELAXED);
}

bool vlapic_pv_eoi_may_defer(struct vlapic *vl)
{
	bool ok = false;

	spin_lock(&vl->lock);
	if ((vl->pv_eoi_msr & PV_EOI_ENABLED) && hw_enabled(vl)) {
		int irrv = vec_highest(vl->irr), isrv = vec_highest(vl->isr);
		if (irrv >= 0)
			ok = false;
		else if (vl->posted >= 0)
			ok = isrv < 0 && !vec_test(vl->tmr, (unsigned)vl->posted);
		else
			ok = isrv >= 0 && !vec_test(vl->tmr, (unsigned)isrv);
	}
	spin_unlock(&vl->lock);
	return ok;
}

void vlapic_pv_eoi(struct vlapic *vl)
{
	struct vlapic_call call = { .eoi_vector = -1 };

	spin_lock(&vl->lock);
	reg_eoi(vl, &call);
	vl->pv_eois++;
	spin_unlock(&vl->lock);
	do_call(vl, &call);
}

void vlapic_lint_edge(struct vlapic *vl, unsigned pin)
{
	if (pin > 1)
		return;
	spin_lock(&vl->lock);
	uint32_t lvt = vl->lvt[pin ? VLAPIC_LVT_LINT1 : VLAPIC_LVT_LINT0];
	if (!hw_enabled(vl)) {
		if (pin == 1)
			vl->nmi = true;
	} else if (!(lvt & APIC_LVT_MASKED)) {
		switch ((lvt & APIC_LVT_DM) >> APIC_LVT_DM_SHIFT) {
		case APIC_DM_NMI:
			vl->nmi = true;         /* NMI is edge-triggered whatever bit 15 says */
			break;
		case APIC_DM_FIXED:
			accept_fixed(vl, lvt & APIC_LVT_VECTOR, false);
			break;
		default:
			break;
		}
	}
	spin_unlock(&vl->lock);
}

bool vlapic_nmi_pending(struct vlapic *vl)
{
	spin_lock(&vl->lock);
	bool v = vl->nmi;
	spin_unlock(&vl->lock);
	return v;
}

bool vlapic_nmi_ack(struct vlapic *vl)
{
	spin_lock(&vl->lock);
	bool v = vl->nmi;
	vl->nmi = false;
	spin_unlock(&vl->lock);
	return v;
}

unsigned vlapic_take_events(struct vlapic *vl, uint8_t *sipi_vector)
{
	spin_lock(&vl->lock);
	unsigned ev = vl->events;
	vl->events = 0;
	if (ev & VLAPIC_EV_SIPI)
		*sipi_vector = vl->sipi_vector;
	spin_unlock(&vl->lock);
	return ev;
}

static bool lint0_extint(const struct vlapic *vl)
{
	uint32_t lvt = vl->lvt[VLAPIC_LVT_LINT0];

	return hw_enabled(vl) && !(lvt & APIC_LVT_MASKED) &&
	       ((lvt & APIC_LVT_DM) >> APIC_LVT_DM_SHIFT) == APIC_DM_EXTINT;
}

bool vlapic_extint_ready(const struct vlapic *vl)
{
	spin_lock(lock_of(vl));
	bool v = lint0_extint(vl);
	spin_unlock(lock_of(vl));
	return v;
}

bool vlapic_accepts_pic(const struct vlapic *vl)
{
	spin_lock(lock_of(vl));
	bool v = !hw_enabled(vl) || lint0_extint(vl);
	spin_unlock(lock_of(vl));
	return v;
}

bool vlapic_match_dest(const struct vlapic *vl, const struct apic_msg *m)
{
	spin_lock(lock_of(vl));
	bool x2 = x2apic_mode(vl);
	uint32_t ldr = vl->ldr, model = vl->dfr >> 28;
	spin_unlock(lock_of(vl));

	switch (m->shorthand) {                 /* §11.6.1 Destination Shorthand */
	case 1: return m->src == vl->id;
	case 2: return true;
	case 3: return m->src != vl->id;
	}
	if (!m->logical) {                      /* §11.6.2.1, §11.6.2.3 */
		if (m->dest == XAPIC_BROADCAST || m->dest == X2APIC_BROADCAST)
			return true;
		return m->dest == (x2 ? vl->id : vl->id & 0xff);
	}
	if (x2) {                               /* §11.12.10.1 */
		if (m->dest == X2APIC_BROADCAST)
			return true;
		return (m->dest >> 16) == (ldr >> 16) && (m->dest & ldr & 0xffff);
	}
	if (m->dest == XAPIC_BROADCAST || m->dest == X2APIC_BROADCAST)
		return true;
	if (m->dest > 0xff)
		return false;
	uint32_t lid = ldr >> 24;               /* §11.6.2.2 */
	if (model == 0xf)                       /* flat */
		return (m->dest & lid) != 0;
	if (model == 0x0)                       /* cluster */
		return (m->dest >> 4) == (lid >> 4) && (m->dest & lid & 0xf);
	return false;
}

uint64_t vlapic_timer_deadline(const struct vlapic *vl)
{
	spin_lock(lock_of(vl));
	/* A masked timer keeps counting (the current count and a periodic
	 * re-arm are arithmetic, caught up at the next access) but has nothing
	 * to deliver, so nobody need wake for it. */
	uint64_t d = vl->lvt[VLAPIC_LVT_TIMER] & APIC_LVT_MASKED ? NO_DEADLINE : vl->timer_deadline;
	spin_unlock(lock_of(vl));
	return d;
}

void vlapic_timer_update(struct vlapic *vl, uint64_t now_ns)
{
	spin_lock(&vl->lock);
	timer_catch_up(vl, now_ns);
	spin_unlock(&vl->lock);
}

/* ---- snapshot records (devices/devsnap.h) ----------------------------------- */

size_t vlapic_save(const struct vlapic *d, void *buf, size_t len)
{
	struct vlapic s;

	memcpy(&s, d, sizeof(s));
	s.lock = (spinlock_t)SPINLOCK_INIT;
	s.ops = NULL;
	s.vm = NULL;
	s.now = NULL;
	s.now_ctx = NULL;
	return devsnap_put(buf, len, &s, sizeof(s));
}

bool vlapic_load(struct vlapic *d, const void *buf, size_t len)
{
	struct vlapic s;

	if (!devsnap_get(&s, sizeof(s), buf, len))
		return false;
	s.lock = d->lock;
	s.ops = d->ops;
	s.vm = d->vm;
	s.now = d->now;
	s.now_ctx = d->now_ctx;
	s.tsc_khz = d->tsc_khz;         /* this host's guest TSC rate, a divisor */
	/* A post is never out between entries; a record that says so has it
	 * pending again, and no vector outside 0-255. */
	if (s.posted >= 0)
		vec_set(s.irr, (unsigned)s.posted & 0xff);
	s.posted = -1;
	memcpy(d, &s, sizeof(s));
	return true;
}
