/*
 * The interface kasane offers its guests, shared with the test guests.
 * Documented for users in README.md ("Guest interface").
 */
#ifndef KASANE_INCLUDE_ABI_H
#define KASANE_INCLUDE_ABI_H

/*
 * Hypercalls: VMMCALL (AMD) or VMCALL (Intel) with the function number in
 * RAX and arguments in RBX, RCX, RDX.  The result comes back in RAX;
 * negative values are errors.  RIP moves past the instruction.
 */
#define HC_CONSOLE_WRITE   0   /* RBX = GPA of bytes, RCX = length (<= 4096): write to the VM's console */
#define HC_GET_VM_ID       1   /* returns the VM's id (0, 1, ...); RBX gets the vCPU id */
#define HC_YIELD           2   /* give up the CPU for now; returns 0 */
#define HC_EXIT            3   /* RBX = status: end the VM with that status; does not return */
#define HC_NMI_BUTTON      4   /* press the VM's NMI button: an edge on LINT1 of every vCPU; returns 0 */

#define HC_OK              0
#define HC_EINVAL        (-22) /* bad argument, e.g. a buffer outside the VM's RAM */
#define HC_ENOSYS        (-38) /* no such hypercall */

/* Port 0xf4: writing v ends the VM with status v (like QEMU's isa-debug-exit). */
#define GUEST_EXIT_PORT    0xf4

/* Guest COM1. */
#define GUEST_COM1_PORT    0x3f8

/* QEMU fw_cfg, I/O interface (QEMU docs/specs/fw_cfg.rst). */
#define FW_CFG_PORT_SEL    0x510
#define FW_CFG_PORT_DATA   0x511
#define FW_CFG_SIGNATURE   0x0000  /* "QEMU" */
#define FW_CFG_ID          0x0001  /* 32-bit LE feature bitmap: bit 0 traditional interface */
#define FW_CFG_RAM_SIZE    0x0003  /* 64-bit LE bytes of RAM */
#define FW_CFG_NB_CPUS     0x0005  /* 16-bit LE vCPUs */
#define FW_CFG_MAX_CPUS    0x000f  /* 16-bit LE */
#define FW_CFG_FILE_DIR    0x0019  /* 32-bit BE count, then entries */

/*
 * A scratch MMIO page every VM has, for testing instruction emulation:
 * reads return what was last written (initially zero); it is not RAM, so
 * every access traps and is emulated.
 */
#define GUEST_TEST_MMIO_BASE 0xfebf0000ULL
#define GUEST_TEST_MMIO_SIZE 0x1000

/* Where an ELF64 guest's boot page tables and GDT are put: see README. */

#endif
