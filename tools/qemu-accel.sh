# Sourced: sets QEMU_ACCEL.  KVM only if it can run a hypervisor inside,
# i.e. the host's kvm_amd or kvm_intel module has nesting on.
QEMU_ACCEL="-accel tcg,thread=multi -cpu max"
if [ -w /dev/kvm ]; then
	for f in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; do
		if [ -r "$f" ] && grep -qE '^(1|Y)' "$f"; then
			QEMU_ACCEL="-enable-kvm -cpu host"
		fi
	done
fi
