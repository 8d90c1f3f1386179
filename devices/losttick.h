/*
 * Lost ticks of a periodic timer interrupt (the PIT's channel 0, an HPET
 * comparator on ISA IRQ 0): the periods that end while the guest's vCPU
 * is not running are owed to it, since a guest may count time in these
 * interrupts (Linux's jiffies before it has a clocksource, and its
 * check_timer(), which waits a fixed time for several ticks).  One pulse
 * is out at a time; the next goes once the guest acknowledged it (the
 * board sees the vector taken at an INTA).  The backlog is bounded: one
 * period counts per floor gap of time, at most LOST_TICKS_MAX are kept,
 * and a pulse unacknowledged for LOST_TICKS_ACK_WAIT_NS (the guest does
 * not take the interrupt at all) ends the wait and drops it.
 *
 * The timer model keeps a struct lost_ticks and calls these under its own
 * lock; `now` is VM time in ns.
 */
#ifndef KASANE_DEVICES_LOSTTICK_H
#define KASANE_DEVICES_LOSTTICK_H

#include "lib/types.h"

/* Lost ticks kept for the guest: 4 s of Linux's HZ=250 (Debian's). */
#define LOST_TICKS_MAX          1000u
/* A pulse not acknowledged within this (virtual ns) is given up on. */
#define LOST_TICKS_ACK_WAIT_NS  1000000000ULL

struct lost_ticks {
	uint32_t missed;        /* periods owed to the guest */
	bool unacked;           /* a pulse is out, not yet acknowledged */
	uint64_t sent_ns;       /* when that pulse was decided */
	uint64_t counted_ns;    /* when periods were last counted */
};

/* Forget the backlog and the wait; periods count again from now on.
 * Returns how many ticks were dropped. */
static inline uint64_t lost_ticks_drop(struct lost_ticks *l, uint64_t now)
{
	uint64_t dropped = l->missed;

	l->missed = 0;
	l->unacked = false;
	l->counted_ns = now;
	return dropped;
}

/* The wait for an acknowledge has lasted too long: drop it (returns the
 * ticks dropped, 0 if it had not). */
static inline uint64_t lost_ticks_expire(struct lost_ticks *l, uint64_t now)
{
	if (!l->unacked || now - l->sent_ns < LOST_TICKS_ACK_WAIT_NS)
		return 0;
	return lost_ticks_drop(l, now);
}

/* n periods ended by now, whose interrupts come no closer than gap_ns:
 * owe them.  Returns how many were merged away by the bounds. */
static inline uint64_t lost_ticks_count(struct lost_ticks *l, uint64_t n, uint64_t now,
					uint64_t gap_ns)
{
	uint64_t slots = (now - l->counted_ns) / gap_ns;
	uint64_t keep = MIN(MIN(n, MAX(slots, 1)), (uint64_t)(LOST_TICKS_MAX - l->missed));

	l->counted_ns = now;
	l->missed += (uint32_t)keep;
	return n - keep;
}

/* Whether an owed tick may go out now. */
static inline bool lost_ticks_due(const struct lost_ticks *l)
{
	return l->missed && !l->unacked;
}

/* Send one owed tick now, if one may go: true when the caller sends a pulse. */
static inline bool lost_ticks_take(struct lost_ticks *l, uint64_t now)
{
	if (!lost_ticks_due(l))
		return false;
	l->missed--;
	l->unacked = true;
	l->sent_ns = now;
	return true;
}

/* The guest acknowledged the pulse: true when another tick waits. */
static inline bool lost_ticks_ack(struct lost_ticks *l)
{
	bool more = l->unacked && l->missed;

	l->unacked = false;
	return more;
}

/* A snapshot record's values in range. */
static inline bool lost_ticks_ok(const struct lost_ticks *l)
{
	uint8_t u;

	__builtin_memcpy(&u, &l->unacked, 1);
	return l->missed <= LOST_TICKS_MAX && u <= 1;
}

#endif
