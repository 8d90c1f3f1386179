/*
 * VMCS field encodings, control bits, exit reasons and capability MSRs of
 * Intel VT-x (Intel SDM vol. 3C: ch. 25 "Virtual Machine Control
 * Structures", Appendix A "VMX Capability Reporting Facility", Appendix B
 * "Field Encoding in VMCS", Appendix C "VMX Basic Exit Reasons").
 */
#ifndef KASANE_ARCH_X86_VMX_VMCS_H
#define KASANE_ARCH_X86_VMX_VMCS_H

/* Capability and control MSRs (SDM vol. 3C App. A; vol. 4 Table 2-2). */
#define MSR_FEATURE_CONTROL         0x3a
#define FEATURE_CONTROL_LOCK        (1ULL << 0)
#define FEATURE_CONTROL_VMX         (1ULL << 2)     /* VMXON outside SMX */
#define MSR_VMX_BASIC               0x480
#define VMX_BASIC_INS_OUTS_INFO     (1ULL << 54)
#define VMX_BASIC_TRUE_CTLS         (1ULL << 55)
#define MSR_VMX_PINBASED_CTLS       0x481
#define MSR_VMX_PROCBASED_CTLS      0x482
#define MSR_VMX_EXIT_CTLS           0x483
#define MSR_VMX_ENTRY_CTLS          0x484
#define MSR_VMX_MISC                0x485
#define VMX_MISC_LMA_SAVED          (1ULL << 5)   /* exits store EFER.LMA in "IA-32e mode guest" (§A.6) */
#define VMX_MISC_PREEMPT_RATE       0x1fULL       /* the preemption timer counts TSC >> this (§A.6) */
#define MSR_VMX_CR0_FIXED0          0x486
#define MSR_VMX_CR0_FIXED1          0x487
#define MSR_VMX_CR4_FIXED0          0x488
#define MSR_VMX_CR4_FIXED1          0x489
#define MSR_VMX_PROCBASED_CTLS2     0x48b
#define MSR_VMX_EPT_VPID_CAP        0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS  0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS      0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS     0x490

/* IA32_VMX_EPT_VPID_CAP (SDM vol. 3C §A.10). */
#define EPT_CAP_WALK4               (1ULL << 6)
#define EPT_CAP_WB                  (1ULL << 14)
#define EPT_CAP_INVEPT              (1ULL << 20)
#define EPT_CAP_AD                  (1ULL << 21)    /* accessed and dirty flags */
#define EPT_CAP_INVEPT_SINGLE       (1ULL << 25)
#define EPT_CAP_INVEPT_ALL          (1ULL << 26)
#define VPID_CAP_INVVPID            (1ULL << 32)
#define VPID_CAP_INVVPID_SINGLE     (1ULL << 41)
#define VPID_CAP_INVVPID_ALL        (1ULL << 42)

/* EPTP: memory type WB, 4-level walk (length - 1 in bits 5:3); §25.6.11. */
#define EPTP_WB_WALK4               (6ULL | (3ULL << 3))
#define EPTP_AD                     (1ULL << 6)     /* A/D flags on, if EPT_CAP_AD */

/* Pin-based VM-execution controls (§25.6.1). */
#define PIN_EXT_INTR                (1u << 0)
#define PIN_NMI                     (1u << 3)
#define PIN_VIRTUAL_NMI             (1u << 5)
#define PIN_PREEMPT_TIMER           (1u << 6)

/* Primary processor-based VM-execution controls (§25.6.2). */
#define PROC_INTR_WINDOW            (1u << 2)
#define PROC_TSC_OFFSET             (1u << 3)
#define PROC_HLT                    (1u << 7)
#define PROC_INVLPG                 (1u << 9)
#define PROC_MWAIT                  (1u << 10)
#define PROC_RDTSC                  (1u << 12)
#define PROC_CR3_LOAD               (1u << 15)
#define PROC_CR3_STORE              (1u << 16)
#define PROC_CR8_LOAD               (1u << 19)
#define PROC_CR8_STORE              (1u << 20)
#define PROC_TPR_SHADOW             (1u << 21)
#define PROC_NMI_WINDOW             (1u << 22)
#define PROC_MOV_DR                 (1u << 23)
#define PROC_UNCOND_IO              (1u << 24)
#define PROC_IO_BITMAPS             (1u << 25)
#define PROC_MSR_BITMAPS            (1u << 28)
#define PROC_MONITOR                (1u << 29)
#define PROC_SECONDARY              (1u << 31)

/* Secondary processor-based VM-execution controls (§25.6.2). */
#define PROC2_EPT                   (1u << 1)
#define PROC2_RDTSCP                (1u << 3)
#define PROC2_VPID                  (1u << 5)
#define PROC2_UNRESTRICTED          (1u << 7)
#define PROC2_INVPCID               (1u << 12)

/* VM-exit controls (§25.7.1). */
#define EXIT_SAVE_DEBUG             (1u << 2)
#define EXIT_HOST_64                (1u << 9)
#define EXIT_SAVE_PAT               (1u << 18)
#define EXIT_LOAD_PAT               (1u << 19)
#define EXIT_SAVE_EFER              (1u << 20)
#define EXIT_LOAD_EFER              (1u << 21)

/* VM-entry controls (§25.8.1). */
#define ENTRY_LOAD_DEBUG            (1u << 2)
#define ENTRY_IA32E                 (1u << 9)
#define ENTRY_LOAD_PAT              (1u << 14)
#define ENTRY_LOAD_EFER             (1u << 15)

/* Interruption information (entry §25.8.3, exit §25.9.2, IDT vectoring §25.9.3). */
#define INTR_INFO_VALID             (1u << 31)
#define INTR_INFO_ERROR             (1u << 11)
#define INTR_INFO_NMI_UNBLOCK       (1u << 12)
#define INTR_TYPE_SHIFT             8
#define INTR_TYPE_EXT               (0u << 8)
#define INTR_TYPE_NMI               (2u << 8)
#define INTR_TYPE_HW_EXC            (3u << 8)
#define INTR_TYPE_SW_INT            (4u << 8)
#define INTR_TYPE_PRIV_SW_EXC       (5u << 8)
#define INTR_TYPE_SW_EXC            (6u << 8)
#define INTR_TYPE_MASK              (7u << 8)

/* Guest interruptibility state (§25.4.2, Table 25-3). */
#define INTERRUPTIBILITY_STI        (1u << 0)
#define INTERRUPTIBILITY_MOV_SS     (1u << 1)
#define INTERRUPTIBILITY_NMI        (1u << 3)

/* Field encodings (App. B). */
enum vmcs_field {
	VPID                    = 0x0000,
	GUEST_ES_SEL            = 0x0800,       /* + 2 * segment number */
	GUEST_LDTR_SEL          = 0x080c,
	GUEST_TR_SEL            = 0x080e,
	HOST_ES_SEL             = 0x0c00,
	HOST_CS_SEL             = 0x0c02,
	HOST_SS_SEL             = 0x0c04,
	HOST_DS_SEL             = 0x0c06,
	HOST_FS_SEL             = 0x0c08,
	HOST_GS_SEL             = 0x0c0a,
	HOST_TR_SEL             = 0x0c0c,
	IO_BITMAP_A             = 0x2000,
	IO_BITMAP_B             = 0x2002,
	MSR_BITMAP              = 0x2004,
	EXIT_MSR_STORE_ADDR     = 0x2006,
	ENTRY_MSR_LOAD_ADDR     = 0x200a,
	TSC_OFFSET              = 0x2010,
	VIRTUAL_APIC_ADDR       = 0x2012,
	EPT_POINTER             = 0x201a,
	GUEST_PHYSICAL_ADDR     = 0x2400,
	VMCS_LINK_POINTER       = 0x2800,
	GUEST_DEBUGCTL          = 0x2802,
	GUEST_PAT               = 0x2804,
	GUEST_EFER              = 0x2806,
	GUEST_PDPTE0            = 0x280a,       /* PDPTE1-3 follow, 2 apart (App. B.2.3) */
	HOST_PAT                = 0x2c00,
	HOST_EFER               = 0x2c02,
	PIN_CONTROLS            = 0x4000,
	PROC_CONTROLS           = 0x4002,
	EXCEPTION_BITMAP        = 0x4004,
	CR3_TARGET_COUNT        = 0x400a,
	EXIT_CONTROLS           = 0x400c,
	EXIT_MSR_STORE_COUNT    = 0x400e,
	EXIT_MSR_LOAD_COUNT     = 0x4010,
	ENTRY_CONTROLS          = 0x4012,
	ENTRY_MSR_LOAD_COUNT    = 0x4014,
	ENTRY_INTR_INFO         = 0x4016,
	ENTRY_EXC_ERROR         = 0x4018,
	ENTRY_INSN_LEN          = 0x401a,
	TPR_THRESHOLD           = 0x401c,
	PROC2_CONTROLS          = 0x401e,
	VM_INSN_ERROR           = 0x4400,
	EXIT_REASON             = 0x4402,
	EXIT_INTR_INFO          = 0x4404,
	EXIT_INTR_ERROR         = 0x4406,
	IDT_VECTORING_INFO      = 0x4408,
	IDT_VECTORING_ERROR     = 0x440a,
	EXIT_INSN_LEN           = 0x440c,
	EXIT_INSN_INFO          = 0x440e,
	GUEST_ES_LIMIT          = 0x4800,       /* + 2 * segment number */
	GUEST_LDTR_LIMIT        = 0x480c,
	GUEST_TR_LIMIT          = 0x480e,
	GUEST_GDTR_LIMIT        = 0x4810,
	GUEST_IDTR_LIMIT        = 0x4812,
	GUEST_ES_AR             = 0x4814,       /* + 2 * segment number */
	GUEST_LDTR_AR           = 0x4820,
	GUEST_TR_AR             = 0x4822,
	GUEST_INTERRUPTIBILITY  = 0x4824,
	GUEST_ACTIVITY          = 0x4826,
	GUEST_SYSENTER_CS       = 0x482a,
	GUEST_PREEMPT_TIMER     = 0x482e,
	HOST_SYSENTER_CS        = 0x4c00,
	CR0_MASK                = 0x6000,
	CR4_MASK                = 0x6002,
	CR0_SHADOW              = 0x6004,
	CR4_SHADOW              = 0x6006,
	EXIT_QUALIFICATION      = 0x6400,
	GUEST_CR0               = 0x6800,
	GUEST_CR3               = 0x6802,
	GUEST_CR4               = 0x6804,
	GUEST_ES_BASE           = 0x6806,       /* + 2 * segment number */
	GUEST_FS_BASE           = 0x680e,
	GUEST_GS_BASE           = 0x6810,
	GUEST_LDTR_BASE         = 0x6812,
	GUEST_TR_BASE           = 0x6814,
	GUEST_GDTR_BASE         = 0x6816,
	GUEST_IDTR_BASE         = 0x6818,
	GUEST_DR7               = 0x681a,
	GUEST_RSP               = 0x681c,
	GUEST_RIP               = 0x681e,
	GUEST_RFLAGS            = 0x6820,
	GUEST_PENDING_DBG       = 0x6822,
	GUEST_SYSENTER_ESP      = 0x6824,
	GUEST_SYSENTER_EIP      = 0x6826,
	HOST_CR0                = 0x6c00,
	HOST_CR3                = 0x6c02,
	HOST_CR4                = 0x6c04,
	HOST_FS_BASE            = 0x6c06,
	HOST_GS_BASE            = 0x6c08,
	HOST_TR_BASE            = 0x6c0a,
	HOST_GDTR_BASE          = 0x6c0c,
	HOST_IDTR_BASE          = 0x6c0e,
	HOST_SYSENTER_ESP       = 0x6c10,
	HOST_SYSENTER_EIP       = 0x6c12,
	HOST_RSP                = 0x6c14,
	HOST_RIP                = 0x6c16,
};

/* Basic exit reasons (App. C). */
enum vmx_exit_reason {
	VMX_EXIT_EXCEPTION_NMI  = 0,
	VMX_EXIT_EXT_INTR       = 1,
	VMX_EXIT_TRIPLE_FAULT   = 2,
	VMX_EXIT_INIT           = 3,
	VMX_EXIT_SIPI           = 4,
	VMX_EXIT_INTR_WINDOW    = 7,
	VMX_EXIT_NMI_WINDOW     = 8,
	VMX_EXIT_TASK_SWITCH    = 9,
	VMX_EXIT_CPUID          = 10,
	VMX_EXIT_GETSEC         = 11,
	VMX_EXIT_HLT            = 12,
	VMX_EXIT_INVD           = 13,
	VMX_EXIT_VMCALL         = 18,
	VMX_EXIT_VMCLEAR        = 19,   /* 19-27: VMX instructions */
	VMX_EXIT_VMXON          = 27,
	VMX_EXIT_CR_ACCESS      = 28,
	VMX_EXIT_IO             = 30,
	VMX_EXIT_RDMSR          = 31,
	VMX_EXIT_WRMSR          = 32,
	VMX_EXIT_BAD_GUEST      = 33,
	VMX_EXIT_BAD_MSR_LOAD   = 34,
	VMX_EXIT_MWAIT          = 36,
	VMX_EXIT_MONITOR        = 39,
	VMX_EXIT_MACHINE_CHECK  = 41,
	VMX_EXIT_EPT_VIOLATION  = 48,
	VMX_EXIT_EPT_MISCONFIG  = 49,
	VMX_EXIT_INVEPT         = 50,
	VMX_EXIT_PREEMPT_TIMER  = 52,
	VMX_EXIT_INVVPID        = 53,
	VMX_EXIT_XSETBV         = 55,
	VMX_EXIT_VMFUNC         = 59,
};
#define VMX_EXIT_ENTRY_FAILED       (1u << 31)

#endif
