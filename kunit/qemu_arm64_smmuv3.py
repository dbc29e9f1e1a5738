# SPDX-License-Identifier: GPL-2.0
#
# kunit.py --qemu_config for the project's suites: QEMU's arm64 virt machine
# with an emulated SMMUv3 (stage 1 and stage 2, as qemu-ci's default machine)
# and an edu PCI device behind it, so that the SMMU has a client and the Rust
# driver's live suite a stream table span to work in. The SMMU is bound to the
# Rust driver: the C driver's initcall, if built, is kept out.
#
#   tools/testing/kunit/kunit.py run --kunitconfig=kunit \
#       --qemu_config=kunit/qemu_arm64_smmuv3.py ...      (README.md)
#
# kunit.py loads this file as a module of its qemu_configs package.

from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='arm64',
			   kconfig='''
CONFIG_SERIAL_AMBA_PL011=y
CONFIG_SERIAL_AMBA_PL011_CONSOLE=y
CONFIG_PCI=y
CONFIG_PCI_HOST_GENERIC=y
CONFIG_PCI_MSI=y
CONFIG_KALLSYMS=y''',
			   qemu_arch='aarch64',
			   kernel_path='arch/arm64/boot/Image.gz',
			   kernel_command_line='console=ttyAMA0 initcall_blacklist=arm_smmu_driver_init',
			   extra_qemu_params=['-machine', 'virt,iommu=smmuv3,gic-version=3',
					      '-cpu', 'max', '-smp', '2', '-m', '3G',
					      '-device', 'edu,dma_mask=0xffffffffffffffff'])
