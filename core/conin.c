/*
 * Console input: the operator's keyboard on the hypervisor's serial
 * console goes either to kasane itself (its one-key commands) or to one
 * VM's COM1, as if typed on that VM's serial line.  The switch key,
 * Ctrl-A by default (hypervisor command line conswitch=LETTER), pressed
 * three times in a row moves the input on: kasane, then each VM that has
 * not ended, in order, then kasane again.  This is Xen's convention.  One
 * or two switch keys followed by another key are typed through to the VM.
 *
 * Only the housekeeping CPU calls conin_poll().  A byte the VM's receiver
 * FIFO cannot take yet is held, and nothing more is read from the console
 * until it is taken: the host UART's own FIFO and flow control then hold
 * the rest, and the order of keys is kept.
 */
#include "core/conin.h"
#include "core/vm.h"
#include "core/vm_create.h"
#include "core/cmdline.h"
#include "core/sched.h"
#include "arch/x86/percpu.h"
#include "arch/x86/cpu.h"
#include "kernel/log.h"
#include "drivers/console.h"

extern struct hv_options hv_opts;

#define SWITCH_PRESSES 3

static unsigned focus;                  /* 0 = kasane, n = VM n-1 of the registry */
static unsigned switch_seen;            /* switch keys in a row, not yet typed */
static uint8_t held[SWITCH_PRESSES];    /* bytes to type into the focused VM, in order */
static unsigned held_n;

static struct vm *focused_vm(void)
{
	return focus ? vm_at(focus - 1) : NULL;
}

static void announce(void)
{
	struct vm *vm = focused_vm();
	char key = (char)('A' + hv_opts.conswitch - 1);

	if (vm)
		pr_info("kasane: console input goes to VM '%s' (COM1); Ctrl-%c three times moves it on\n",
			vm->name, key);
	else
		pr_info("kasane: console input goes to kasane ('s': scheduler view); "
			"Ctrl-%c three times moves it on\n", key);
}

/* The next VM that is still running after the focused one, else kasane. */
static void switch_focus(void)
{
	unsigned n = vm_count();

	held_n = 0;
	for (focus++; focus <= n; focus++) {
		struct vm *vm = vm_at(focus - 1);
		if (vm && !vm->ended)
			break;
	}
	if (focus > n)
		focus = 0;
	announce();
}

static void hypervisor_key(int c, const char *const state_name[])
{
	if (c == 's' || c == 'S') {
		pr_info("kasane: scheduler (%u CPUs, housekeeping on CPU %u)\n",
			nr_cpus_online, sched_housekeeping_cpu());
		sched_dump_cpus();
		vm_dump_vcpus(state_name);
	}
}

/* Type the held bytes into the focused VM; false while its FIFO is full. */
static bool type_held(void)
{
	struct vm *vm = focused_vm();
	unsigned i = 0;

	if (!vm) {
		held_n = 0;
		return true;
	}
	while (i < held_n && vm_console_rx(vm, held[i]))
		i++;
	for (unsigned j = i; j < held_n; j++)
		held[j - i] = held[j];
	held_n -= i;
	return held_n == 0;
}

void conin_poll(const char *const state_name[])
{
	struct vm *vm = focused_vm();

	/* The focused VM ended (or is restarting: it keeps its place). */
	if (vm && vm->ended && vm->end_reason != VM_END_REBOOT) {
		focus = 0;
		switch_seen = held_n = 0;
		announce();
	}
	/* A bounded number of keys per call: the housekeeping CPU has other work. */
	for (int budget = 64; budget > 0; budget--) {
		if (!type_held())
			return;
		int c = console_getc();
		if (c < 0)
			return;
		if (c == hv_opts.conswitch) {
			if (++switch_seen == SWITCH_PRESSES) {
				switch_seen = 0;
				switch_focus();
			}
			continue;
		}
		if (!focus) {
			switch_seen = 0;
			hypervisor_key(c, state_name);
			continue;
		}
		/* Switch keys that turned out not to be a switch are typed too. */
		while (switch_seen) {
			held[held_n++] = (uint8_t)hv_opts.conswitch;
			switch_seen--;
		}
		held[held_n++] = (uint8_t)c;
	}
}
