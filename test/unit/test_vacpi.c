/*
 * Host tests for the ACPI fixed-hardware model: the guest's port accesses
 * against a fake VM clock, with the SCI level, sleep and reset requests
 * recorded.
 */
#include "test/unit/check.h"
#include "devices/vacpi.h"
#include "devices/iobus.h"
#include "devices/irq.h"

#define EVT     0x600
#define CNT     0x604
#define TMR     0x608
#define RST     0xcf9

static uint64_t clk;                    /* VM virtual time, ns */
static int sci_calls, sleeps, resets;
static bool sci;
static unsigned last_typ;

static uint64_t fake_now(void *ctx) { return clk; }
static void fake_sci(void *ctx, bool level) { sci = level; sci_calls++; }
static void fake_sleep(void *ctx, unsigned typ) { sleeps++; last_typ = typ; }
static void fake_reset(void *ctx) { resets++; }

static const struct vacpi_ops ops = { fake_sci, fake_sleep, fake_reset, fake_now };
static const struct vacpi_ports ports = { EVT, CNT, TMR, RST };

static void setup(struct vacpi *a, uint64_t start)
{
	clk = start;
	sci = false;
	sci_calls = sleeps = resets = 0;
	last_typ = 99;
	vacpi_init(a, &ports, &ops, NULL);
}

static uint32_t in(struct vacpi *a, uint16_t port, unsigned bytes)
{
	uint32_t v = 0xdeadbeef;

	CHECK_EQ(vacpi_pio(a, true, port, bytes, &v), 0);
	return v;
}

static void out(struct vacpi *a, uint16_t port, unsigned bytes, uint32_t v)
{
	CHECK_EQ(vacpi_pio(a, false, port, bytes, &v), 0);
}

/* §4.8.3.3: 3.579545 MHz from the VM's clock, 32 bits, wrapping. */
TEST(timer_counts_at_3579545_hz)
{
	struct vacpi a;

	setup(&a, 0);
	CHECK_EQ(in(&a, TMR, 4), 0);
	clk = 1000000000ull;
	CHECK_EQ(in(&a, TMR, 4), 3579545);
	clk = 1000;                             /* 1 us: 3.58 ticks */
	CHECK_EQ(in(&a, TMR, 4), 3);
	/* 2^32 ticks take 1199.86 s: the count wraps. */
	clk = 1200ull * 1000000000ull;
	CHECK_EQ(in(&a, TMR, 4), (uint32_t)(1200ull * 3579545));
	/* Halves and bytes read the same count. */
	uint32_t t = in(&a, TMR, 4);
	CHECK_EQ(in(&a, TMR, 2), t & 0xffff);
	CHECK_EQ(in(&a, TMR + 2, 2), t >> 16);
	CHECK_EQ(in(&a, TMR + 3, 1), t >> 24);
	CHECK_EQ(vacpi_timer(&a), t);
	/* Read-only. */
	out(&a, TMR, 4, 0);
	CHECK_EQ(in(&a, TMR, 4), t);
}

/* §4.8.2.1.1: no SMI_CMD, so SCI_EN reads 1 whatever is written. */
TEST(sci_en_always_set)
{
	struct vacpi a;

	setup(&a, 0);
	CHECK_EQ(in(&a, CNT, 2), ACPI_PM1_SCI_EN);
	out(&a, CNT, 2, 0);
	CHECK_EQ(in(&a, CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
	/* BM_RLD is kept; GBL_RLS reads 0. */
	out(&a, CNT, 2, ACPI_PM1_BM_RLD | ACPI_PM1_GBL_RLS);
	CHECK_EQ(in(&a, CNT, 2), ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD);
	/* A dword read at the 2-port block: the two bytes past it float. */
	CHECK_EQ(in(&a, CNT, 4), 0xffff0000u | ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD);
}

/* SLP_TYP then SLP_EN, as ACPICA's acpi_hw_legacy_sleep writes them. */
TEST(sleep_on_slp_en)
{
	struct vacpi a;

	setup(&a, 0);
	out(&a, CNT, 2, 5u << ACPI_PM1_SLP_TYP_SHIFT);
	CHECK_EQ(sleeps, 0);
	CHECK_EQ(in(&a, CNT, 2), ACPI_PM1_SCI_EN | 5u << ACPI_PM1_SLP_TYP_SHIFT);
	out(&a, CNT, 2, 5u << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	CHECK_EQ(sleeps, 1);
	CHECK_EQ(last_typ, 5);
	CHECK_EQ(in(&a, CNT, 2) & ACPI_PM1_SLP_EN, 0);  /* write-only */
	/* A byte write of the high half alone. */
	out(&a, CNT + 1, 1, (3u << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN) >> 8);
	CHECK_EQ(sleeps, 2);
	CHECK_EQ(last_typ, 3);
	CHECK_EQ(resets, 0);
}

/* §4.8.3.1: status bits are write-1-to-clear; SCI = STS & EN. */
TEST(power_button_and_sci)
{
	struct vacpi a;

	setup(&a, 0);
	vacpi_power_button(&a);
	CHECK_EQ(in(&a, EVT, 2), ACPI_PM1_PWRBTN);
	CHECK(!sci);                            /* not enabled */
	out(&a, EVT + 2, 2, ACPI_PM1_PWRBTN);
	CHECK_EQ(in(&a, EVT + 2, 2), ACPI_PM1_PWRBTN);
	CHECK(sci);
	CHECK_EQ(in(&a, EVT, 4), ACPI_PM1_PWRBTN | ACPI_PM1_PWRBTN << 16);
	out(&a, EVT, 2, 0);                     /* writing 0 clears nothing */
	CHECK(sci);
	out(&a, EVT, 2, ACPI_PM1_TMR);          /* another bit: nothing */
	CHECK(sci);
	out(&a, EVT, 2, ACPI_PM1_PWRBTN);
	CHECK(!sci);
	CHECK_EQ(in(&a, EVT, 2), 0);
	CHECK_EQ(sci_calls, 2);
	/* Enables of events this chipset lacks stay 0. */
	out(&a, EVT + 2, 2, 0xffff);
	CHECK_EQ(in(&a, EVT + 2, 2), VACPI_PM1_EVENTS);
}

/* RTC_STS from the RTC's alarm; with RTC_EN the SCI follows (§4.8.3.1). */
TEST(rtc_alarm_status)
{
	struct vacpi a;

	setup(&a, 0);
	out(&a, EVT + 2, 2, ACPI_PM1_RTC);
	CHECK_EQ(in(&a, EVT + 2, 2), ACPI_PM1_RTC);    /* RTC_EN is kept */
	CHECK(vacpi_rtc_enabled(&a));
	CHECK(!sci);
	vacpi_rtc_alarm(&a);
	CHECK_EQ(in(&a, EVT, 2), ACPI_PM1_RTC);
	CHECK(sci);
	out(&a, EVT, 2, ACPI_PM1_RTC);                  /* write 1 to clear */
	CHECK(!sci);
	out(&a, EVT + 2, 2, 0);
	CHECK(!vacpi_rtc_enabled(&a));
	vacpi_rtc_alarm(&a);                            /* status without enable: no SCI */
	CHECK_EQ(in(&a, EVT, 2), ACPI_PM1_RTC);
	CHECK(!sci);
}

/* TMR_STS when bit 31 toggles; with TMR_EN the SCI follows (§4.8.3.3). */
TEST(timer_overflow_status)
{
	struct vacpi a;
	uint64_t half_ns = ((1ull << 31) * 1000000000ull + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;

	setup(&a, 0);
	CHECK_EQ(vacpi_next_deadline(&a), NO_DEADLINE);
	out(&a, EVT + 2, 2, ACPI_PM1_TMR);
	CHECK_EQ(vacpi_next_deadline(&a), half_ns);
	clk = half_ns - 1;
	vacpi_update(&a);
	CHECK(!sci);
	CHECK_EQ(in(&a, EVT, 2) & ACPI_PM1_TMR, 0);
	clk = half_ns;
	CHECK_EQ(in(&a, TMR, 4), 1u << 31);
	vacpi_update(&a);
	CHECK(sci);
	CHECK_EQ(in(&a, EVT, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR);
	CHECK_EQ(vacpi_next_deadline(&a), NO_DEADLINE);         /* already set */
	out(&a, EVT, 2, ACPI_PM1_TMR);
	CHECK(!sci);
	/* The next toggle: the first ns of tick 2^32. */
	CHECK_EQ(vacpi_next_deadline(&a),
		 ((1ull << 32) * 1000000000ull + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ);
}

/* RST_CNT: the last value reads back; RST_CPU (bit 2) resets. */
TEST(reset_register)
{
	struct vacpi a;

	setup(&a, 0);
	CHECK_EQ(in(&a, RST, 1), 0);
	out(&a, RST, 1, 2);                     /* Linux reboot=pci: SYS_RST first */
	CHECK_EQ(resets, 0);
	CHECK_EQ(in(&a, RST, 1), 2);
	out(&a, RST, 1, 6);
	CHECK_EQ(resets, 1);
	CHECK_EQ(in(&a, RST, 1), 6);
	out(&a, RST, 1, 0xe);
	CHECK_EQ(resets, 2);
	CHECK_EQ(sleeps, 0);
}

TEST(bad_accesses)
{
	struct vacpi a;
	uint32_t v = 0;

	setup(&a, 0);
	CHECK_EQ(vacpi_pio(&a, true, 0x606, 2, &v), IOBUS_EINVAL);  /* between blocks */
	CHECK_EQ(vacpi_pio(&a, true, 0xcf8, 1, &v), IOBUS_EINVAL);
	CHECK_EQ(vacpi_pio(&a, true, TMR, 3, &v), IOBUS_EINVAL);
	CHECK_EQ(vacpi_pio(&a, false, EVT, 8, &v), IOBUS_EINVAL);
}

int main(void)
{
	check_start("vacpi");
	RUN(timer_counts_at_3579545_hz);
	RUN(sci_en_always_set);
	RUN(sleep_on_slp_en);
	RUN(power_button_and_sci);
	RUN(rtc_alarm_status);
	RUN(timer_overflow_status);
	RUN(reset_register);
	RUN(bad_accesses);
	return check_finish();
}
