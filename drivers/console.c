/* The serial console; see console.h. */
#include "drivers/console.h"
#include "drivers/uart.h"
#include "kernel/log.h"
#include "kernel/spinlock.h"
#include "lib/printf.h"
#include "lib/string.h"

static uint16_t console_port = COM1_PORT;
static bool console_on = true;
static spinlock_t console_lock = SPINLOCK_INIT;
static volatile bool panic_mode;

/*
 * The operator's unfinished command line (core/conin.c echoes it).  Output
 * that arrives while it stands on the screen would be glued to it, and
 * the typed line broken in two: "stat[web] hello" then "s web".  Like a
 * line editor with asynchronous output, the sink first ends the typed
 * line, writes the output, and then writes the typed part again, so each
 * line on the console, and in a log of it, stays whole.
 */
#define INPUT_MAX 96
static char input[INPUT_MAX];
static size_t input_len;
static bool input_shown;        /* the cursor stands after the typed part */

static void emit(const char *s, size_t len)
{
	if (!console_on)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc(console_port, '\r');
		uart_putc(console_port, s[i]);
	}
}

static void console_sink(const char *s, size_t len)
{
	uint64_t f = irq_save();

	if (panic_mode) {
		/* Only the panicking CPU prints now; do not wait on a lock
		 * another (stopped) CPU may hold forever. */
		emit(s, len);
		irq_restore(f);
		return;
	}
	spin_lock(&console_lock);
	if (input_shown)
		emit("\n", 1);
	emit(s, len);
	/* Output that ends mid-line leaves the typed part off the screen
	 * until the next whole line is written. */
	input_shown = input_len && len && s[len - 1] == '\n';
	if (input_shown)
		emit(input, input_len);
	spin_unlock(&console_lock);
	irq_restore(f);
}

void console_echo(const char *s, size_t len, const char *line, size_t line_len)
{
	uint64_t f = irq_save();

	spin_lock(&console_lock);
	if (!input_shown && input_len && line_len) {
		/* Output ending mid-line came in between: the typed part
		 * starts a line of its own again, before this echo. */
		emit("\n", 1);
		emit(input, input_len);
	}
	emit(s, len);
	input_len = MIN(line_len, sizeof(input));
	memcpy(input, line, input_len);
	input_shown = input_len != 0;
	spin_unlock(&console_lock);
	irq_restore(f);
}

bool console_init(enum console_dev dev)
{
	switch (dev) {
	case CONSOLE_NONE:
		console_on = false;
		return false;
	case CONSOLE_COM2:
		console_port = COM2_PORT;
		break;
	case CONSOLE_COM1:
		console_port = COM1_PORT;
		break;
	}
	console_on = uart_init(console_port);
	log_set_sink(console_sink);
	return console_on;
}

void console_say_missing(enum console_dev dev)
{
	uint16_t port = dev == CONSOLE_COM2 ? COM2_PORT : COM1_PORT;
	uint16_t other = dev == CONSOLE_COM2 ? COM1_PORT : COM2_PORT;
	char msg[96];
	int n;

	if (dev == CONSOLE_NONE || !uart_init(other))
		return;
	n = ksnprintf(msg, sizeof(msg), "kasane: no UART at COM%d (port 0x%x); the console is off\r\n",
		      dev == CONSOLE_COM2 ? 2 : 1, port);
	for (int i = 0; i < n && i < (int)sizeof(msg) - 1; i++)
		uart_putc(other, msg[i]);
}

void console_panic_mode(void)
{
	/* Give a CPU in the middle of a line a moment to finish it. */
	for (int i = 0; i < 1000000 && console_lock.owner != console_lock.next; i++)
		cpu_relax();
	panic_mode = true;
}

int console_getc(void)
{
	return console_on ? uart_getc(console_port) : -1;
}
