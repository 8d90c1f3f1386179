UNIT_TESTS += vacpi
UNIT_SRCS_vacpi := devices/vacpi.c
