UNIT_TESTS += vrtc
UNIT_SRCS_vrtc := devices/vrtc.c
