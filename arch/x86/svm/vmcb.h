/* The VMCB layout and SVM constants: AMD APM vol. 2, Appendix B and §15. */
#ifndef KASANE_ARCH_X86_SVM_VMCB_H
#define KASANE_ARCH_X86_SVM_VMCB_H

#include "lib/types.h"

/* Intercept vector 3 (offset 0x0c), APM vol. 2 Table B-1. */
#define INTERCEPT_INTR          (1u << 0)
#define INTERCEPT_NMI           (1u << 1)
#define INTERCEPT_SMI           (1u << 2)
#define INTERCEPT_INIT          (1u << 3)
#define INTERCEPT_VINTR         (1u << 4)
#define INTERCEPT_CPUID         (1u << 18)
#define INTERCEPT_IRET          (1u << 20)
#define INTERCEPT_INTN          (1u << 21)
#define INTERCEPT_INVD          (1u << 22)
#define INTERCEPT_HLT           (1u << 24)
#define INTERCEPT_INVLPG        (1u << 25)
#define INTERCEPT_INVLPGA       (1u << 26)
#define INTERCEPT_IOIO_PROT     (1u << 27)
#define INTERCEPT_MSR_PROT      (1u << 28)
#define INTERCEPT_TASK_SWITCH   (1u << 29)
#define INTERCEPT_SHUTDOWN      (1u << 31)
/* Intercept vector 4 (offset 0x10). */
#define INTERCEPT_VMRUN         (1u << 0)
#define INTERCEPT_VMMCALL       (1u << 1)
#define INTERCEPT_VMLOAD        (1u << 2)
#define INTERCEPT_VMSAVE        (1u << 3)
#define INTERCEPT_STGI          (1u << 4)
#define INTERCEPT_CLGI          (1u << 5)
#define INTERCEPT_SKINIT        (1u << 6)
#define INTERCEPT_MONITOR       (1u << 10)
#define INTERCEPT_MWAIT         (1u << 11)
#define INTERCEPT_MWAIT_COND    (1u << 12)
#define INTERCEPT_XSETBV        (1u << 13)

/* Exit codes, APM vol. 2 Appendix C. */
#define VMEXIT_CR_READ_BASE     0x00    /* + n: read of CRn */
#define VMEXIT_CR_WRITE_BASE    0x10    /* + n: write of CRn */
#define VMEXIT_EXCP_BASE        0x40
#define VMEXIT_INTR             0x60
#define VMEXIT_NMI              0x61
#define VMEXIT_SMI              0x62
#define VMEXIT_INIT             0x63
#define VMEXIT_VINTR            0x64
#define VMEXIT_CPUID            0x72
#define VMEXIT_IRET             0x74
#define VMEXIT_SWINT            0x75
#define VMEXIT_INVD             0x76
#define VMEXIT_PAUSE            0x77
#define VMEXIT_HLT              0x78
#define VMEXIT_INVLPG           0x79
#define VMEXIT_INVLPGA          0x7a
#define VMEXIT_IOIO             0x7b
#define VMEXIT_MSR              0x7c
#define VMEXIT_TASK_SWITCH      0x7d
#define VMEXIT_SHUTDOWN         0x7f
#define VMEXIT_VMRUN            0x80
#define VMEXIT_VMMCALL          0x81
#define VMEXIT_VMLOAD           0x82
#define VMEXIT_VMSAVE           0x83
#define VMEXIT_STGI             0x84
#define VMEXIT_CLGI             0x85
#define VMEXIT_SKINIT           0x86
#define VMEXIT_MONITOR          0x8a
#define VMEXIT_MWAIT            0x8b
#define VMEXIT_MWAIT_COND       0x8c
#define VMEXIT_XSETBV           0x8d
#define VMEXIT_NPF              0x400
#define VMEXIT_INVALID          0xffffffffu     /* compare the low 32 bits */

/* EXITINFO1 of IOIO (APM vol. 2 §15.10.2, Figure 15-2). */
#define IOIO_TYPE_IN            (1u << 0)
#define IOIO_STR                (1u << 2)
#define IOIO_REP                (1u << 3)
#define IOIO_SZ8                (1u << 4)
#define IOIO_SZ16               (1u << 5)
#define IOIO_SZ32               (1u << 6)
#define IOIO_A16                (1u << 7)
#define IOIO_A32                (1u << 8)
#define IOIO_A64                (1u << 9)
#define IOIO_SEG_SHIFT          10

/* EXITINFO1 of NPF: a #PF-style error code (APM vol. 2 §15.25.6). */
#define NPF_WRITE               (1ULL << 1)
#define NPF_FETCH               (1ULL << 4)
#define NPF_IN_WALK             (1ULL << 33)    /* during the guest's table walk */

/* EVENTINJ (APM vol. 2 §15.20); EXITINTINFO has the same layout (§15.7.2). */
#define EVENTINJ_VECTOR         0xffu
#define EVENTINJ_TYPE_MASK      (7u << 8)
#define EVENTINJ_TYPE_INTR      (0u << 8)
#define EVENTINJ_TYPE_NMI       (2u << 8)
#define EVENTINJ_TYPE_EXCEPTION (3u << 8)
#define EVENTINJ_TYPE_SOFT      (4u << 8)
#define EVENTINJ_EV             (1u << 11)
#define EVENTINJ_VALID          (1u << 31)

/* VINTR (offset 0x60) and the interrupt shadow (0x68): §15.21, §15.21.5. */
#define V_IRQ                   (1ULL << 8)
#define V_NMI_PENDING           (1ULL << 11)    /* vNMI: CPUID 8000_000A EDX[25] */
#define V_NMI_BLOCKING          (1ULL << 12)
#define V_INTR_PRIO_MASK        (0xfULL << 16)
#define V_IGN_TPR               (1ULL << 20)
#define V_INTR_VECTOR_MASK      (0xffULL << 32)
#define V_INTR_MASKING          (1ULL << 24)
#define V_NMI_ENABLE            (1ULL << 26)
#define INTERRUPT_SHADOW        (1ULL << 0)
#define TLB_CONTROL_FLUSH_ALL   1
#define TLB_CONTROL_FLUSH_ASID  3       /* with FlushByAsid, CPUID Fn8000_000A EDX[6] */
/* intercept_cr: reads of CRn at bit n, writes at bit 16 + n (APM vol. 2 §15.9). */
#define INTERCEPT_CR_READ(n)    (1u << (n))
#define INTERCEPT_CR_WRITE(n)   (1u << (16 + (n)))

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;        /* packed: access byte | (AVL, L, D/B, G) << 8 */
	uint32_t limit;
	uint64_t base;
};

struct vmcb_control {
	uint32_t intercept_cr;          /* 0x000 */
	uint32_t intercept_dr;          /* 0x004 */
	uint32_t intercept_exceptions;  /* 0x008 */
	uint32_t intercept3;            /* 0x00c */
	uint32_t intercept4;            /* 0x010 */
	uint32_t intercept5;            /* 0x014 */
	uint8_t reserved0[0x3c - 0x18];
	uint16_t pause_filter_thresh;   /* 0x03c */
	uint16_t pause_filter_count;    /* 0x03e */
	uint64_t iopm_base_pa;          /* 0x040 */
	uint64_t msrpm_base_pa;         /* 0x048 */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t asid;                  /* 0x058 */
	uint8_t tlb_control;            /* 0x05c */
	uint8_t reserved1[3];
	uint64_t vintr;                 /* 0x060 */
	uint64_t interrupt_shadow;      /* 0x068 */
	uint64_t exitcode;              /* 0x070 */
	uint64_t exitinfo1;             /* 0x078 */
	uint64_t exitinfo2;             /* 0x080 */
	uint64_t exitintinfo;           /* 0x088 */
	uint64_t np_enable;             /* 0x090 */
	uint64_t avic_apic_bar;         /* 0x098 */
	uint64_t ghcb_pa;               /* 0x0a0 */
	uint64_t eventinj;              /* 0x0a8 */
	uint64_t n_cr3;                 /* 0x0b0 */
	uint64_t lbr_virt;              /* 0x0b8 */
	uint32_t clean;                 /* 0x0c0 */
	uint32_t reserved2;
	uint64_t nrip;                  /* 0x0c8 */
	uint8_t insn_len;               /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved3[0x400 - 0xe0];
};

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs;  /* 0x400.. */
	struct vmcb_seg gdtr, ldtr, idtr, tr;    /* 0x460.. */
	uint8_t reserved0[0x4cb - 0x4a0];
	uint8_t cpl;                    /* 0x4cb */
	uint32_t reserved1;
	uint64_t efer;                  /* 0x4d0 */
	uint8_t reserved2[0x548 - 0x4d8];
	uint64_t cr4;                   /* 0x548 */
	uint64_t cr3;                   /* 0x550 */
	uint64_t cr0;                   /* 0x558 */
	uint64_t dr7;                   /* 0x560 */
	uint64_t dr6;                   /* 0x568 */
	uint64_t rflags;                /* 0x570 */
	uint64_t rip;                   /* 0x578 */
	uint8_t reserved3[0x5d8 - 0x580];
	uint64_t rsp;                   /* 0x5d8 */
	uint8_t reserved4[0x5f8 - 0x5e0];
	uint64_t rax;                   /* 0x5f8 */
	uint64_t star;                  /* 0x600 */
	uint64_t lstar;                 /* 0x608 */
	uint64_t cstar;                 /* 0x610 */
	uint64_t sfmask;                /* 0x618 */
	uint64_t kernel_gs_base;        /* 0x620 */
	uint64_t sysenter_cs;           /* 0x628 */
	uint64_t sysenter_esp;          /* 0x630 */
	uint64_t sysenter_eip;          /* 0x638 */
	uint64_t cr2;                   /* 0x640 */
	uint8_t reserved5[0x668 - 0x648];
	uint64_t g_pat;                 /* 0x668 */
	uint64_t dbgctl;                /* 0x670 */
	uint8_t reserved6[0x1000 - 0x678];
};

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB G_PAT");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB size");

#endif
