UNIT_TESTS += smbios
UNIT_SRCS_smbios := guest-loader/smbios.c mm/guest_mem.c lib/printf.c
