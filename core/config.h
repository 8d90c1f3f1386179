/*
 * VM configuration: which VMs to build, from an INI-style config file (a
 * GRUB module) or from the command lines of the guest image modules
 * themselves, then checked against the machine.  Pure logic: also built
 * into the host unit tests.
 *
 * Config file:
 *   [vm web]                  ; one section per VM, name [A-Za-z0-9_.-]{1,31}
 *   kernel  = /guests/web.elf ; GRUB module holding the image (required)
 *   cmdline = console=ttyS0   ; rest of the line, may be quoted
 *   module  = /guests/initrd.img rootfs   ; path, then its own args (max 8)
 *   memory  = 64M             ; K/M/G suffix, >= 1M, multiple of 4K (required)
 *   cpus    = 2               ; vCPUs 1..16; default 1, or the cpu list length
 *   cpu     = 1 2             ; physical CPU per vCPU, or "any"
 * "mem" and "vcpus" are aliases.  ';' or '#' at the start of a line or
 * after a blank starts a comment, except inside double quotes.
 *
 * Module command line (Multiboot2 spec §3.6.6; GRUB puts the path first):
 *   /guests/hello.elf name=hello mem=16M cpus=2 cpu=1,2 cmdline="console=ttyS0"
 */
#ifndef KASANE_CORE_CONFIG_H
#define KASANE_CORE_CONFIG_H

#include "lib/types.h"

#define MAX_VMS             32
#define VM_MAX_VCPUS        16
#define VM_MAX_MODULES      8
#define VM_CPU_ANY          (-1)
#define CONFIG_LINE_MAX     1024    /* longest config-file line */
#define CONFIG_CPU_MAX      65535   /* largest CPU number accepted in a cpu list */

struct vm_config {
	char name[32];
	char kernel[128];               /* path of the image module */
	char cmdline[512];              /* guest kernel command line */
	int nr_modules;
	struct vm_module_cfg {
		char path[128];
		char args[256];
	} module[VM_MAX_MODULES];
	uint64_t mem;                   /* bytes */
	int nr_vcpus;
	int cpu[VM_MAX_VCPUS];          /* physical CPU per vCPU; VM_CPU_ANY until validated */
	char src[160];                  /* "file:line" or "module PATH", for messages */
};

struct config_set {
	struct vm_config vm[MAX_VMS];
	int nr;
};

typedef void (*config_report_fn)(void *ctx, const char *msg);

/*
 * Add the VMs of one config file, text[0..len) (need not be NUL-terminated),
 * to set.  Each error goes to report(ctx, "FILE:LINE: what is wrong (what
 * was expected)"); a VM section with any error is dropped with one more
 * line saying so, and the other VMs are kept.  report may be NULL.
 * Returns the number of errors.
 */
int config_parse_file(struct config_set *set, const char *file, const char *text, size_t len,
		      config_report_fn report, void *ctx);

/*
 * Look at one module's command line.  Returns 0 if it has no name= word
 * (not a VM declaration; nothing is reported), 1 if a VM was added, -1 if
 * it declares a VM with errors (reported as "module PATH: ...").
 */
int config_parse_module_line(struct config_set *set, const char *modline,
			     config_report_fn report, void *ctx);

struct machine_facts {
	unsigned nr_cpus;               /* CPUs online, numbered 0..nr_cpus-1 */
	uint64_t free_bytes;            /* memory available for all guests */
	bool (*module_exists)(void *ctx, const char *path);    /* NULL: skip the check */
	void *ctx;
};

/*
 * Check set against the machine, in order, dropping (with messages) each VM
 * whose image or extra module is missing, whose memory does not fit in what
 * the VMs before it left, or whose CPUs do not exist or are already claimed.
 * Then give each VM_CPU_ANY vCPU the lowest free CPU, trying CPU 0 last;
 * a VM left without a CPU is dropped.  CPUs are never shared.
 */
void config_validate(struct config_set *set, const struct machine_facts *m,
		     config_report_fn report, void *ctx);

#endif
