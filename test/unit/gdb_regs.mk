# The debugger's register reads and checked writes (core/gdb_regs.c), and
# the register check a snapshot's restore shares with it (core/ctlreg.c).
UNIT_TESTS += gdb_regs
UNIT_SRCS_gdb_regs := core/gdb_regs.c core/ctlreg.c core/cpuid.c
