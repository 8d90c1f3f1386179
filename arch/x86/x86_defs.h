/*
 * Architectural constants of x86-64 (Intel SDM vol. 3A ch. 2 and 4; AMD APM
 * vol. 2 ch. 3), usable from C and assembly.
 */
#ifndef KASANE_ARCH_X86_X86_DEFS_H
#define KASANE_ARCH_X86_X86_DEFS_H

#define PTE_P                   0x001
#define PTE_W                   0x002
#define PTE_U                   0x004
#define PTE_PWT                 0x008
#define PTE_PCD                 0x010
#define PTE_A                   0x020
#define PTE_D                   0x040
#define PTE_PS                  0x080
#define PTE_G                   0x100

#define CR0_PE                  0x00000001
#define CR0_MP                  0x00000002
#define CR0_ET                  0x00000010
#define CR0_NE                  0x00000020
#define CR0_WP                  0x00010000
#define CR0_NW                  0x20000000
#define CR0_CD                  0x40000000
#define CR0_PG                  0x80000000
#define CR4_PSE                 0x00000010
#define CR4_PAE                 0x00000020
#define CR4_PGE                 0x00000080
#define CR4_OSFXSR              0x00000200
#define MSR_EFER                0xc0000080
#define EFER_SCE                0x00000001
#define EFER_LME                0x00000100
#define EFER_LMA                0x00000400
#define EFER_NXE                0x00000800
#define EFER_SVME               0x00001000
#define CR4_PKE                 0x00400000


/* Exception vectors (SDM vol. 3A §6.3.1, Table 6-1). */
#define X86_EXC_DE              0
#define X86_EXC_DB              1
#define X86_EXC_NMI             2
#define X86_EXC_BP              3
#define X86_EXC_OF              4
#define X86_EXC_BR              5
#define X86_EXC_UD              6
#define X86_EXC_NM              7
#define X86_EXC_DF              8
#define X86_EXC_TS              10
#define X86_EXC_NP              11
#define X86_EXC_SS              12
#define X86_EXC_GP              13
#define X86_EXC_PF              14
#define X86_EXC_MF              16
#define X86_EXC_AC              17
#define X86_EXC_MC              18
#define X86_EXC_XM              19

/*
 * Segment attributes in the architectural descriptor layout: bits 40-47
 * and 52-55 of a descriptor, shifted down by 40 (SDM vol. 3A §3.4.5).
 * VMX keeps them so (SDM vol. 3C §24.4.1); SVM packs bits 12-15 down to
 * 8-11 (APM vol. 2 §15.5.1), which its back end converts.
 */
#define SEG_ATTR_TYPE_MASK      0x000f
#define SEG_ATTR_S              0x0010  /* code or data (not system) */
#define SEG_ATTR_DPL_SHIFT      5
#define SEG_ATTR_DPL_MASK       0x0060
#define SEG_ATTR_P              0x0080
#define SEG_ATTR_AVL            0x1000
#define SEG_ATTR_L              0x2000  /* 64-bit code */
#define SEG_ATTR_DB             0x4000  /* 32-bit default size */
#define SEG_ATTR_G              0x8000  /* limit in 4 KiB units */
#define SEG_ATTR_UNUSABLE       0x10000 /* a null selector was loaded */

#endif
