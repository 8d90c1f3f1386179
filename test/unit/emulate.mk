UNIT_TESTS += emulate
UNIT_SRCS_emulate := arch/x86/decode.c arch/x86/emulate.c
