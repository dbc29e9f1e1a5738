# SPDX-License-Identifier: GPL-2.0
"""The harness's side of the guest's VFIO tests: the kernel's VFIO selftests read as KTAP."""

import unittest

from qemuci import ktap

# What qemu-ci/guest/e2e/16-vfio-selftests prints: each program's kselftest output, indented,
# then its result (from its exit status).
SELFTESTS = """\
KTAP version 1
1..3
# igb at 0000:00:02.0, driver vfio-pci
    # Subtest: vfio_dma_mapping_test
    TAP version 13
    1..3
    # Starting 3 tests from 3 test cases.
    #  RUN           vfio_dma_mapping_test.iommufd_anonymous.dma_map_unmap ...
    Mapped HVA 0xffff9a000000 (size 0x1000) at IOVA 0x0
[   20.100000] arm_smmu_v3_rs 9050000.smmuv3: something unrelated
    #            OK  vfio_dma_mapping_test.iommufd_anonymous.dma_map_unmap
    ok 1 vfio_dma_mapping_test.iommufd_anonymous.dma_map_unmap
    ok 2 vfio_dma_mapping_test.iommufd_anonymous_hugetlb_1gb.dma_map_unmap # SKIP mmap() failed
    # vfio_dma_mapping_test.c:150:dma_map_unmap:Expected 0 (0) == rc (-22)
    not ok 3 vfio_dma_mapping_test.iommufd_anonymous_hugetlb_2mb.dma_map_unmap
    # FAILED: 1 / 3 tests passed.
    # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
not ok 1 vfio_dma_mapping_test # exit 1 after 2.0 s
    # Subtest: vfio_pci_sriov_uapi_test
    No driver found for device 0000:00:02.0
ok 2 vfio_pci_sriov_uapi_test # SKIP No driver found for device 0000:00:02.0
    # Subtest: vfio_pci_driver_test
    TAP version 13
    1..1
    # vfio_pci_driver_test.iommufd.init_remove: Test terminated by timeout
    not ok 1 vfio_pci_driver_test.iommufd.init_remove
"""

class SelftestsKtapTest(unittest.TestCase):
    """16-vfio-selftests' output parses into the selftests' own cases: a pass, a skip with its
    reason and a failure each count as such, and a program cut short is an error."""

    def test_cases_are_the_leaves(self):
        p = ktap.parse(SELFTESTS + "not ok 3 vfio_pci_driver_test # exit 1 after 30.0 s\n")
        self.assertEqual(p.errors, [])
        got = {path: (r.ok, r.skipped) for path, r in p.leaves()}
        self.assertEqual(got, {
            "vfio_dma_mapping_test.vfio_dma_mapping_test.iommufd_anonymous.dma_map_unmap":
                (True, False),
            "vfio_dma_mapping_test.vfio_dma_mapping_test.iommufd_anonymous_hugetlb_1gb."
            "dma_map_unmap": (True, True),
            "vfio_dma_mapping_test.vfio_dma_mapping_test.iommufd_anonymous_hugetlb_2mb."
            "dma_map_unmap": (False, False),
            "vfio_pci_sriov_uapi_test": (True, True),
            "vfio_pci_driver_test.vfio_pci_driver_test.iommufd.init_remove": (False, False),
        })

    def test_a_program_cut_short_is_an_error(self):
        p = ktap.parse(SELFTESTS)
        self.assertTrue(any("planned 3 tests but reported 2" in e for e in p.errors), p.errors)


if __name__ == "__main__":
    unittest.main()
