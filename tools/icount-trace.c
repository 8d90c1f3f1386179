/*
 * A QEMU TCG plugin for tools/icount-trace.sh (not part of kasane): keeps
 * the addresses of the last `depth` executed instructions, host and
 * nested guest alike, and when the instruction at `trigger` (whose first
 * byte is `byte`, to tell it from other code at the same address) runs
 * for the `hit`-th time, writes them to `out`, oldest first, one hex
 * address a line.  Arguments: trigger=ADDR,byte=B,hit=N,depth=K,out=FILE.
 *
 * QEMU's plugin API version 1 (QEMU 4.2 to 8.x, docs/devel/tcg-plugins):
 * only the few calls below, declared here because Debian ships no
 * qemu-plugin.h.  Plugin callbacks are not guest instructions: under
 * -icount the guest's TSC is the same with or without the plugin.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef void (*insn_cb_t)(unsigned int vcpu, void *udata);
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
enum { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, insn_cb_t cb,
					    int flags, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t i);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

EXPORT int qemu_plugin_version = 1;

#define RING    (1u << 20)      /* depth is capped to this */

static uint64_t ring[RING], pos;
static uint64_t trigger, hit = 1, depth = 8192, hits;
static int byte = -1;
static FILE *out;

static void on_insn(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	ring[pos++ % RING] = (uintptr_t)udata;
}

static void on_trigger(unsigned int vcpu, void *udata)
{
	on_insn(vcpu, udata);
	if (++hits != hit)
		return;
	uint64_t n = depth < pos ? depth : pos;
	for (uint64_t i = pos - n; i < pos; i++)
		fprintf(out, "%lx\n", (unsigned long)ring[i % RING]);
	fflush(out);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	for (size_t i = 0, n = qemu_plugin_tb_n_insns(tb); i < n; i++) {
		struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);
		uint64_t va = qemu_plugin_insn_vaddr(in);
		const uint8_t *op = qemu_plugin_insn_data(in);
		bool t = va == trigger && (byte < 0 || op[0] == byte);

		qemu_plugin_register_vcpu_insn_exec_cb(in, t ? on_trigger : on_insn,
						       QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)va);
	}
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	const char *file = "icount-trace.out";

	(void)info;
	for (int i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		if (!v)
			return 1;
		*v++ = 0;
		if (!strcmp(argv[i], "trigger"))
			trigger = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "byte"))
			byte = (int)strtol(v, NULL, 0);
		else if (!strcmp(argv[i], "hit"))
			hit = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "depth"))
			depth = strtoull(v, NULL, 0) < RING ? strtoull(v, NULL, 0) : RING;
		else if (!strcmp(argv[i], "out"))
			file = v;
		else
			return 1;
	}
	out = fopen(file, "w");
	if (!out)
		return 1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
