# core/: the exit dispatcher, the vCPU run loop and the scheduler, on a fake
# back end and machine (test/unit/core_fake.c) with the real board and devices.
UNIT_TESTS += exit vcpu sched
UNIT_SRCS_exit := test/unit/core_fake.c test/unit/shadow_fake.c core/shadow.c core/taskswitch.c core/shadow_walk.c mm/spt.c mm/npt.c core/exit.c core/ctlreg.c arch/x86/spec.c core/event.c core/vcpu.c core/vcpu_raise.c core/sched.c core/msr.c core/pvclock.c core/cpuid.c core/vm.c core/board.c core/emul.c core/gpt.c core/clock.c devices/vlapic.c devices/vioapic.c devices/vpic.c devices/vpit.c devices/vrtc.c devices/iobus.c devices/vuart.c devices/fwcfg.c devices/testmmio.c devices/vacpi.c devices/vpci.c devices/pci_testdev.c devices/virtio_pci.c devices/virtio_blk.c devices/virtio_console.c devices/virtio_rng.c virtio/virtq.c guest-loader/fwtables.c guest-loader/aml.c drivers/acpi.c mm/guest_mem.c arch/x86/decode.c arch/x86/emulate.c arch/x86/x86_state.c kernel/log.c lib/printf.c devices/vhpet.c
# The board's NICs (core/board.c), each source once whatever the line above names.
UNIT_SRCS_exit += $(filter-out $(UNIT_SRCS_exit),devices/virtio_net.c devices/vswitch.c \
	devices/virtio_pci.c virtio/virtq.c guest-loader/smbios.c)
UNIT_SRCS_vcpu := $(UNIT_SRCS_exit)
UNIT_SRCS_sched := $(UNIT_SRCS_exit)
