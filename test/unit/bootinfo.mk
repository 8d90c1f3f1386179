UNIT_TESTS += bootinfo
UNIT_SRCS_bootinfo := boot/bootinfo.c
