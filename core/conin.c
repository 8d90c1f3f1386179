/*
 * Console input: the operator's keyboard on the hypervisor's serial
 * console goes either to kasane itself (a line editor whose lines are
 * commands, core/console_cmd.c) or to one VM's COM1, as if typed on that
 * VM's serial line, or to a VM's virtio console (hvc0).  The switch key,
 * Ctrl-A by default (hypervisor command line conswitch=LETTER), pressed
 * three times in a row moves the input on: kasane, then each VM that has
 * not ended, in order (its COM1, then its hvc0 if it has `console =
 * virtio`), then kasane again.  This is Xen's convention.  One or two
 * switch keys followed by another key are typed through to the VM.
 *
 * Only the housekeeping CPU calls conin_poll().  A byte the VM's receiver
 * FIFO (or its virtio console's buffer, devices/virtio_console.h) cannot
 * take yet is held, and nothing more is read from the console until it is
 * taken: the host UART's own FIFO and flow control then hold the rest,
 * and the order of keys is kept.
 */
#include "core/conin.h"
#include "core/console_cmd.h"
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
static bool focus_hvc;                  /* on that VM's virtio console, not its COM1 */
static unsigned switch_seen;            /* switch keys in a row, not yet typed */
static uint8_t held[SWITCH_PRESSES];    /* bytes to type into the focused VM, in order */
static unsigned held_n;

/*
 * kasane's line editor: printable ASCII is echoed and kept, up to
 * LINE_MAX_LEN (more rings the bell); backspace or DEL takes one back,
 * Ctrl-U the whole line; Enter (CR, LF or CR LF) runs it.  Other control
 * keys and a terminal's escape sequences (ESC [ ... final byte, ESC O x:
 * cursor keys) are dropped.  There is no prompt: the VMs' lines go on
 * the same console, and a prompt would stand in front of the next one.
 */
#define LINE_MAX_LEN 80
#define KEY_CTRL_U 0x15
#define KEY_ESC 0x1b

static char line[LINE_MAX_LEN + 1];
static unsigned line_len;
static bool after_cr;                   /* a LF right after CR ends no second line */
static enum { ESC_NONE, ESC_SEEN, ESC_SEQ } esc;

/*
 * The echo of one poll's keys is written as one piece, before a command's
 * answer and at the end of the poll: a line a script (or a paste) sends at
 * once then stays whole even when a VM prints meanwhile on another CPU.
 */
static char echo_buf[LINE_MAX_LEN * 3 + 8];
static size_t echo_n;
static unsigned told_len;               /* the unfinished line the console knows of */

/*
 * The console is told, with the echo, what stands unfinished on the screen
 * after it (drivers/console.h), so that a VM's line written meanwhile does
 * not break it.  Hence every key's echo is queued before the line changes:
 * a flush for a full buffer then describes the screen as it is.
 */
static void flush_echo(void)
{
	if (echo_n || told_len != line_len)
		console_echo(echo_buf, echo_n, line, line_len);
	told_len = line_len;
	echo_n = 0;
}

static void echo(const char *s, size_t n)
{
	if (echo_n + n > sizeof(echo_buf))
		flush_echo();
	for (size_t i = 0; i < n; i++)
		echo_buf[echo_n++] = s[i];
}

static void erase(unsigned n)
{
	while (n--) {
		echo("\b \b", 3);
		line_len--;
	}
}

static struct vm *focused_vm(void)
{
	return focus ? vm_at(focus - 1) : NULL;
}

static void announce(void)
{
	struct vm *vm = focused_vm();
	char key = (char)('A' + hv_opts.conswitch - 1);

	if (vm)
		pr_info("kasane: console input goes to VM '%s' (%s); Ctrl-%c three times moves it on\n",
			vm->name, focus_hvc ? "hvc0" : "COM1", key);
	else
		pr_info("kasane: console input goes to kasane (%s); "
			"Ctrl-%c three times moves it on\n", console_cmd_hint, key);
}

/* The focused VM's virtio console next, else the next VM that is still
 * running after the focused one, else kasane. */
static void switch_focus(void)
{
	unsigned n = vm_count();
	struct vm *vm = focused_vm();

	held_n = 0;
	line_len = 0;
	esc = ESC_NONE;
	flush_echo();
	if (vm && !focus_hvc && !vm->ended && vm->vcon) {
		focus_hvc = true;
		announce();
		return;
	}
	focus_hvc = false;
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
	bool cr = after_cr;

	after_cr = false;
	if (esc != ESC_NONE) {
		if (esc == ESC_SEEN)
			esc = (c == '[' || c == 'O') ? ESC_SEQ : ESC_NONE;
		else if (c >= 0x40 && c <= 0x7e)
			esc = ESC_NONE;
		return;
	}
	switch (c) {
	case '\n':
		if (cr)
			return;
		/* fall through */
	case '\r':
		after_cr = c == '\r';
		echo("\n", 1);
		line[line_len] = '\0';
		line_len = 0;
		flush_echo();
		console_cmd_run(line, state_name);
		return;
	case '\b':
	case 0x7f:
		if (line_len)
			erase(1);
		return;
	case KEY_CTRL_U:
		erase(line_len);
		return;
	case KEY_ESC:
		esc = ESC_SEEN;
		return;
	}
	if (c < 0x20 || c > 0x7e)
		return;
	if (line_len == LINE_MAX_LEN) {
		echo("\a", 1);
		return;
	}
	char ch = (char)c;
	echo(&ch, 1);
	line[line_len++] = ch;
}

/* A byte into the VM's virtio console (safe against a restart, which
 * rebuilds it); false while its buffer is full. */
static bool hvc_rx(struct vm *vm, uint8_t c)
{
	uint64_t f = vm_rebuild_lock();
	bool taken = vm->ended || !vm->vcon || virtio_console_input(vm->vcon, c);

	vm_rebuild_unlock(f);
	return taken;
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
	while (i < held_n && (focus_hvc ? hvc_rx(vm, held[i]) : vm_console_rx(vm, held[i])))
		i++;
	for (unsigned j = i; j < held_n; j++)
		held[j - i] = held[j];
	held_n -= i;
	return held_n == 0;
}

static void read_keys(const char *const state_name[]);

void conin_poll(const char *const state_name[])
{
	read_keys(state_name);
	flush_echo();
}

static void read_keys(const char *const state_name[])
{
	struct vm *vm = focused_vm();

	/* The focused VM ended (or is restarting: it keeps its place). */
	if (vm && vm->ended && vm->end_reason != VM_END_REBOOT && vm->end_reason != VM_END_RESTART) {
		focus = 0;
		focus_hvc = false;
		held_n = 0;             /* a switch key half typed still counts */
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
