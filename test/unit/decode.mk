UNIT_TESTS += decode
UNIT_SRCS_decode := arch/x86/decode.c
