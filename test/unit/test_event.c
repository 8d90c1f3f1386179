/*
 * Host tests for core/event.c: how an exception kasane raises combines with
 * one being delivered (SDM vol. 3A §6.15 Table 6-5), and in which order a
 * raised exception, an event cut short by an exit, and nothing else reach
 * the guest.
 */
#include "test/unit/check.h"
#include "core/event.h"
#include "arch/x86/x86_defs.h"

static struct virt_event ev(uint8_t type, uint8_t vector, bool has_error, uint32_t error)
{
	return (struct virt_event){ .valid = true, .type = type, .vector = vector,
				    .has_error = has_error, .error = error };
}

TEST(combine_table)
{
	/* Benign first: serial, whatever comes second. */
	CHECK_EQ(exc_combine(X86_EXC_DB, X86_EXC_GP), EXC_SERIAL);
	CHECK_EQ(exc_combine(X86_EXC_UD, X86_EXC_PF), EXC_SERIAL);
	/* Contributory first. */
	CHECK_EQ(exc_combine(X86_EXC_GP, X86_EXC_UD), EXC_SERIAL);
	CHECK_EQ(exc_combine(X86_EXC_NP, X86_EXC_GP), EXC_DOUBLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_DE, X86_EXC_TS), EXC_DOUBLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_SS, X86_EXC_PF), EXC_SERIAL);
	/* #PF first. */
	CHECK_EQ(exc_combine(X86_EXC_PF, X86_EXC_PF), EXC_DOUBLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_PF, X86_EXC_NP), EXC_DOUBLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_PF, X86_EXC_DB), EXC_SERIAL);
	/* #DF first. */
	CHECK_EQ(exc_combine(X86_EXC_DF, X86_EXC_GP), EXC_TRIPLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_DF, X86_EXC_PF), EXC_TRIPLE_FAULT);
	CHECK_EQ(exc_combine(X86_EXC_DF, X86_EXC_UD), EXC_SERIAL);
}

TEST(raise_alone)
{
	struct event_queue q = { 0 };
	struct virt_event out;

	CHECK(evq_empty(&q));
	CHECK(!evq_next(&q, &out));
	CHECK(evq_raise(&q, X86_EXC_GP, true, 0x10));
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.type, VIRT_EV_EXCEPTION);
	CHECK_EQ(out.vector, X86_EXC_GP);
	CHECK(out.has_error);
	CHECK_EQ(out.error, 0x10);
	CHECK(evq_empty(&q));
}

/* An exception cut short comes back with its error code. */
TEST(cut_exception_redelivered)
{
	struct event_queue q = { 0 };
	struct virt_event cut = ev(VIRT_EV_EXCEPTION, X86_EXC_PF, true, 0x6), out;

	evq_cut(&q, &cut);
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.vector, X86_EXC_PF);
	CHECK(out.has_error);
	CHECK_EQ(out.error, 0x6);
	CHECK(!evq_next(&q, &out));
}

/* INT n, INT3 and INTO run again instead. */
TEST(cut_soft_not_redelivered)
{
	struct event_queue q = { 0 };
	struct virt_event a = ev(VIRT_EV_SOFT_INT, 0x80, false, 0);
	struct virt_event b = ev(VIRT_EV_EXCEPTION, X86_EXC_BP, false, 0);
	struct virt_event c = ev(VIRT_EV_EXCEPTION, X86_EXC_OF, false, 0);
	struct virt_event none = { 0 };

	evq_cut(&q, &a);
	evq_cut(&q, &b);
	evq_cut(&q, &c);
	evq_cut(&q, &none);
	CHECK(evq_empty(&q));
}

/* A #PF being delivered and a #GP raised meanwhile: #DF(0) alone. */
TEST(raise_during_pf_is_double_fault)
{
	struct event_queue q = { 0 };
	struct virt_event cut = ev(VIRT_EV_EXCEPTION, X86_EXC_PF, true, 0x2), out;

	evq_cut(&q, &cut);
	CHECK(evq_raise(&q, X86_EXC_GP, true, 0));
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.vector, X86_EXC_DF);
	CHECK(out.has_error);
	CHECK_EQ(out.error, 0);
	CHECK(evq_empty(&q));
}

/* A fault while a #DF is delivered: triple fault, nothing left. */
TEST(raise_during_df_is_triple_fault)
{
	struct event_queue q = { 0 };
	struct virt_event cut = ev(VIRT_EV_EXCEPTION, X86_EXC_DF, true, 0);

	evq_cut(&q, &cut);
	CHECK(!evq_raise(&q, X86_EXC_NP, true, 0x42));
	CHECK(evq_empty(&q));
	/* Two raised by kasane itself combine the same way. */
	CHECK(evq_raise(&q, X86_EXC_GP, true, 0));
	CHECK(evq_raise(&q, X86_EXC_GP, true, 0));
	CHECK_EQ(q.exception.vector, X86_EXC_DF);
	CHECK(!evq_raise(&q, X86_EXC_PF, true, 0));
}

/* A benign pair: the second replaces the first. */
TEST(raise_serial_replaces)
{
	struct event_queue q = { 0 };
	struct virt_event cut = ev(VIRT_EV_EXCEPTION, X86_EXC_DB, false, 0), out;

	evq_cut(&q, &cut);
	CHECK(evq_raise(&q, X86_EXC_UD, false, 0));
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.vector, X86_EXC_UD);
	CHECK(evq_empty(&q));
}

/* An interrupt or NMI cut short is not lost or merged: the exception goes
 * first, the cut event at the next entry. */
TEST(raise_during_interrupt_keeps_it)
{
	struct event_queue q = { 0 };
	struct virt_event cut = ev(VIRT_EV_INTR, 0x30, false, 0), out;

	evq_cut(&q, &cut);
	CHECK(evq_raise(&q, X86_EXC_GP, true, 0));
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.type, VIRT_EV_EXCEPTION);
	CHECK_EQ(out.vector, X86_EXC_GP);
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.type, VIRT_EV_INTR);
	CHECK_EQ(out.vector, 0x30);
	CHECK(evq_empty(&q));

	cut = ev(VIRT_EV_NMI, 2, false, 0);
	evq_cut(&q, &cut);
	CHECK(evq_raise(&q, X86_EXC_DB, false, 0));
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.vector, X86_EXC_DB);
	CHECK(evq_next(&q, &out));
	CHECK_EQ(out.type, VIRT_EV_NMI);
}

int main(void)
{
	check_start("event");
	RUN(combine_table);
	RUN(raise_alone);
	RUN(cut_exception_redelivered);
	RUN(cut_soft_not_redelivered);
	RUN(raise_during_pf_is_double_fault);
	RUN(raise_during_df_is_triple_fault);
	RUN(raise_serial_replaces);
	RUN(raise_during_interrupt_keeps_it);
	return check_finish();
}
