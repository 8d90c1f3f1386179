/* Message formatting and the log level; see log.h. */
#include "kernel/log.h"
#include "lib/printf.h"

static int loglevel = LOG_INFO;
static log_sink_t log_sink;

void log_set_sink(log_sink_t sink) { log_sink = sink; }
void console_set_loglevel(int level) { loglevel = level; }
int console_loglevel(void) { return loglevel; }

void console_write(const char *s, size_t len)
{
	log_sink_t sink = log_sink;

	if (sink)
		sink(s, len);
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char buf[512];
	int n;

	if (level > loglevel)
		return;
	n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';   /* keep the line ending of a cut line */
	}
	console_write(buf, n);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}
