/*
 * kasane-clock SECONDS: the Linux test guest's clock against the
 * hypervisor's (tools/linux-guest.sh puts it in the initramfs, built
 * static with the host's gcc).
 *
 * The reference is the ACPI PM timer (ACPI 6.5 §4.8.3.3: 3.579545 MHz,
 * 32 bits, at the FADT's PM_TMR_BLK, port 0x608 on kasane's board), which
 * kasane computes from its own clock whoever runs.  The guest's clock is
 * CLOCK_REALTIME, the wall clock.  Each look reads the PM timer, the wall
 * clock and the PM timer again, and is taken only if the two PM reads are
 * less than 1 ms apart (else a vCPU switch fell between them: look again).
 * Between the two looks, one busy process per online CPU keeps every vCPU
 * runnable, so they share the host's CPUs with each other and with
 * whatever else runs there.  Prints one line:
 *   guest N us host N us drift N ppm PASS|FAIL
 * PASS when the two clocks differ by less than 0.1 % (1000 ppm).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PM_TMR_PORT     0x608
#define PM_TMR_HZ       3579545ULL
#define MAX_PPM         1000
#define MAX_CPUS        64

struct look {
	uint32_t pm;            /* PM timer, midway between its two reads */
	uint64_t wall_ns;
};

static int take_look(struct look *l)
{
	for (int try = 0; try < 1000; try++) {
		struct timespec ts;
		uint32_t a = inl(PM_TMR_PORT);
		clock_gettime(CLOCK_REALTIME, &ts);
		uint32_t b = inl(PM_TMR_PORT);
		uint32_t d = b - a;
		if (d < PM_TMR_HZ / 1000) {
			l->pm = a + d / 2;
			l->wall_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
			return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	long secs = argc > 1 ? atol(argv[1]) : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pid_t busy[MAX_CPUS];
	struct look l0, l1;

	/* 32 bits of 3.579545 MHz wrap after 1199 s. */
	if (secs < 1 || secs > 600) {
		printf("usage: kasane-clock SECONDS (1-600)\n");
		return 2;
	}
	if (ioperm(PM_TMR_PORT, 4, 1)) {
		printf("FAIL: no access to the PM timer port\n");
		return 1;
	}
	if (ncpu < 1 || ncpu > MAX_CPUS)
		ncpu = 1;
	if (take_look(&l0)) {
		printf("FAIL: no PM timer reads 1 ms apart\n");
		return 1;
	}
	for (long i = 0; i < ncpu; i++) {
		busy[i] = fork();
		if (busy[i] == 0)
			for (;;)
				__asm__ volatile("" ::: "memory");
	}
	sleep((unsigned)secs);
	for (long i = 0; i < ncpu; i++)
		if (busy[i] > 0)
			kill(busy[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	if (take_look(&l1)) {
		printf("FAIL: no PM timer reads 1 ms apart\n");
		return 1;
	}
	uint64_t host_us = (uint64_t)(uint32_t)(l1.pm - l0.pm) * 1000000ULL / PM_TMR_HZ;
	int64_t guest_us = (int64_t)(l1.wall_ns - l0.wall_ns) / 1000;
	int64_t ppm = host_us ? (guest_us - (int64_t)host_us) * 1000000 / (int64_t)host_us : 0;
	printf("guest %lld us host %llu us drift %lld ppm %s\n", (long long)guest_us,
	       (unsigned long long)host_us, (long long)ppm,
	       host_us && ppm < MAX_PPM && ppm > -MAX_PPM ? "PASS" : "FAIL");
	return 0;
}
