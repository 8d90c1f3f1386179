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
 *   cpu     = 1 2-3           ; per vCPU: a CPU (pinned), a range, or "any"
 *   affinity = 1-3,6          ; CPUs for "any" vCPUs (default: all CPUs)
 *   exclusive = yes           ; the pinned CPUs are this VM's alone (default no)
 *   weight  = 200             ; share of contended CPUs, 1..10000 (default 100)
 *   initrd  = /boot/initrd.img ; a Linux kernel's initial ramdisk module, by path
 *   on_reboot = restart       ; a guest reboot: restart (default) or end the VM
 *   watchdog = 60s            ; end a VM that took no interrupt this long: N s, ms or m; off (default)
 *   pci_testdev = on          ; a PCI test function at 00:03.0 (default off)
 *   net     = lan [mac=52:54:00:aa:00:01] ; a virtio-net NIC on switch 'lan' (up to
 *                             ; 4; MAC derived from the VM's name and the NIC's number
 *                             ; unless given; one MAC per switch)
 *   disk    = /boot/root.img [readonly] ; a virtio-blk disk from a GRUB module (up to 4;
 *                             ; a whole number of 512-byte sectors; never read-write
 *                             ; in two VMs)
 *   console = virtio          ; a virtio console (hvc0) beside COM1 (default com1 only)
 *   rng     = yes             ; a virtio-rng entropy device (default no)
 *   paging  = shadow          ; nested (default where the CPU has it) or shadow
 *   gdb = yes                 ; wait for gdb on COM2 before the first instruction (default no)
 *   paravirt = off            ; hide the KVM-compatible CPUID leaves, PV EOI and kvmclock (default on)
 * "mem" and "vcpus" are aliases.  ';' or '#' at the start of a line or
 * after a blank starts a comment, except inside double quotes.  CPU lists
 * and affinity take blanks or commas between items.
 *
 * Module command line (Multiboot2 spec §3.6.6; GRUB puts the path first):
 *   /guests/hello.elf name=hello mem=16M cpus=2 cpu=1,2 cmdline="console=ttyS0"
 * with the same keys as the file (name= instead of the section header).
 */
#ifndef KASANE_CORE_CONFIG_H
#define KASANE_CORE_CONFIG_H

#include "lib/types.h"

#define MAX_VMS             32
#define VM_MAX_VCPUS        16
#define VM_MAX_MODULES      8
#define VM_CPU_ANY          (-1)
#define VM_WEIGHT_DEFAULT   100
#define VM_WEIGHT_MAX       10000
#define CONFIG_LINE_MAX     1024    /* longest config-file line */
#define CONFIG_WATCHDOG_MAX_S 86400 /* the longest watchdog: one day */
#define CONFIG_MAX_CPUS     64      /* = MAX_CPUS (arch/x86/percpu.h): a CPU set is one uint64_t */
#define VM_MAX_NICS         4       /* net = lines per VM */
#define VM_MAX_DISKS        4       /* disk = lines per VM */
#define CPUSET_ALL          (~(uint64_t)0)
#define CPUSET_BIT(n)       ((uint64_t)1 << (n))   /* n < CONFIG_MAX_CPUS */

struct vm_config {
	char name[32];
	char kernel[128];               /* path of the image module */
	char cmdline[512];              /* guest kernel command line */
	char initrd[128];               /* path of the initrd module; "" for none */
	int nr_modules;
	struct vm_module_cfg {
		char path[128];
		char args[256];
	} module[VM_MAX_MODULES];
	uint64_t mem;                   /* bytes */
	int nr_vcpus;
	/*
	 * Per vCPU.  After parsing: cpu[] is the pinned CPU or VM_CPU_ANY, and
	 * affinity[] the CPUs asked for (bit n = CPU n).  After config_validate:
	 * affinity[] is where the vCPU may run (online, not exclusive to
	 * another VM, never empty) and cpu[] the CPU it starts on, in that set.
	 */
	int cpu[VM_MAX_VCPUS];
	uint64_t affinity[VM_MAX_VCPUS];
	bool exclusive;                 /* no other vCPU is ever placed on its CPUs */
	unsigned weight;                /* 1..VM_WEIGHT_MAX: share when CPUs are contended */
	int on_reboot;                  /* CONFIG_ON_REBOOT_*: what a guest's reset does */
	uint64_t watchdog_ns;           /* end the VM after this long without an interrupt; 0 = off */
	bool pci_testdev;               /* devices/pci_testdev.h on its PCI bus */
	int nr_nics;
	struct vm_nic_cfg {
		char sw[32];            /* switch name, [A-Za-z0-9_.-]{1,31} */
		uint8_t mac[6];         /* unicast; derived when not given */
		char src[160];          /* "file:line" of its net line */
	} nic[VM_MAX_NICS];
	int nr_disks;
	struct vm_disk_cfg {
		char path[128];         /* the GRUB module holding the image */
		bool readonly;
		char src[160];          /* "file:line" of its disk line */
	} disk[VM_MAX_DISKS];
	bool virtio_console;            /* console = virtio */
	bool virtio_rng;                /* rng = yes */
	int paging;                     /* CONFIG_PAGING_*: nested page tables or shadow paging */
	bool gdb;                       /* gdb = yes: wait for the debugger (core/gdbstub.c) */
	bool paravirt;                  /* paravirt = on (default): KVM's CPUID leaves, PV EOI, kvmclock */
	char src[160];                  /* "file:line" or "module PATH", for messages */
};

enum { CONFIG_ON_REBOOT_RESTART, CONFIG_ON_REBOOT_END };
enum { CONFIG_PAGING_DEFAULT, CONFIG_PAGING_NESTED, CONFIG_PAGING_SHADOW };

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
	unsigned nr_cpus;               /* CPUs online, numbered 0..nr_cpus-1; at most 64 count */
	uint64_t free_bytes;            /* memory available for all guests */
	bool (*module_exists)(void *ctx, const char *path);    /* NULL: skip the check */
	void *ctx;
};

/*
 * Check set against the machine (core/config_check.c), dropping each bad
 * VM with messages, and keeping the good ones in order:
 *  1. a missing image or extra module, or a pinned CPU that is not online;
 *  2. exclusive VMs, in order: a CPU already exclusive to an earlier one, or
 *     one that would leave no CPU non-exclusive;
 *  3. other VMs: a pinned CPU exclusive to another VM, or a vCPU whose set
 *     has no online CPU left that is not exclusive to another VM;
 *  4. in order, memory that does not fit in what the VMs before it left.
 * Then every vCPU gets its final set in affinity[] and, unless pinned, the
 * least-loaded CPU of that set in cpu[] (ties: lowest number, CPU 0 last).
 */
void config_validate(struct config_set *set, const struct machine_facts *m,
		     config_report_fn report, void *ctx);

#endif
