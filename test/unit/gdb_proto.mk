# The GDB remote protocol layer of the guest debugger (core/gdb_proto.c).
UNIT_TESTS += gdb_proto
UNIT_SRCS_gdb_proto := core/gdb_proto.c
