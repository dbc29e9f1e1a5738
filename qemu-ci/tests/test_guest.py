# SPDX-License-Identifier: GPL-2.0
"""The harness's side of the guest's VFIO tests: the kernel's VFIO selftests read as KTAP, the
hugepage block walks read from QEMU's trace, the hugepages the guest kernel reserves."""

import contextlib
import io
import tempfile
import unittest
from pathlib import Path

from qemuci import harness, ktap

from .test_harness import fake_qemu, load_script

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

# QEMU's log with the trace event smmu_ptw_block_pte (log back end: pid@seconds:event ...).
QEMU_LOG = """\
1234@1700000000.000001:smmu_ptw_block_pte stage=1 level=2 base@=0x41000000 pte@=0x41000040 \
pte=0x40000060200711 iova=0x200001000 block address = 0x60200000 block size = 2 MiB
1234@1700000000.000002:smmu_ptw_block_pte stage=2 level=1 base@=0x42000000 pte@=0x42000080 \
pte=0x400000800007fd iova=0x400000000 block address = 0x80000000 block size = 1024 MiB
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


class BlockWalkTest(unittest.TestCase):
    """The hugepage checks need QEMU's SMMU to have walked to a block of each size, in the
    hugepage's IOVA range, at either stage; nothing else stands in for it."""

    def checks(self, qemu_log):
        test = load_script("test")
        tally = test.Tally()
        b = harness.Boot("e2e-x", Path("/logs/e2e-x.log"), "", 0, False, 1.0, qemu_log=qemu_log)
        with contextlib.redirect_stdout(io.StringIO()):
            test.hugepage_blocks(tally, "x", b)
        return tally

    def test_parse(self):
        self.assertEqual(harness.block_walks(QEMU_LOG),
                         [(1, 2, 0x200001000, 2 << 20), (2, 1, 0x400000000, 1 << 30)])

    def test_both_blocks_walked(self):
        t = self.checks(QEMU_LOG)
        self.assertEqual((t.passed, t.failed), (2, 0))

    def test_no_trace_fails_both(self):
        t = self.checks("")
        self.assertEqual((t.passed, t.failed), (0, 2))

    def test_pages_instead_of_a_block_fail(self):
        # The 1 GiB hugepage mapped by 2 MiB blocks (or pages) is not a 1 GiB block.
        t = self.checks(QEMU_LOG.replace("block size = 1024 MiB", "block size = 2 MiB"))
        self.assertEqual((t.passed, t.failed), (1, 1))
        self.assertIn("no 1024 MiB block", t.failures[0])

    def test_a_block_elsewhere_does_not_count(self):
        t = self.checks(QEMU_LOG.replace("iova=0x200001000", "iova=0x100000"))
        self.assertEqual((t.passed, t.failed), (1, 1))


class QemuLogTest(unittest.TestCase):
    """boot() gives QEMU a log file of its own (-D) and returns what QEMU wrote there."""

    def test_qemu_log_read_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.addCleanup(setattr, harness, "LOGS", harness.LOGS)
            harness.LOGS = Path(tmp) / "logs"
            q = fake_qemu(tmp, 'while [ "$1" != -D ]; do shift; done\n'
                               'echo "1@1.0:smmu_ptw_block_pte x" > "$2"\n'
                               "echo 'IOMMU-RS-EXIT: 0'")
            b = harness.boot("logged", [q], timeout=10)
            self.assertEqual(b.failures, [])
            self.assertEqual(b.qemu_log, "1@1.0:smmu_ptw_block_pte x\n")
            self.assertTrue((harness.LOGS / "logged.qemu.log").exists())


class HugepagesTest(unittest.TestCase):
    """Every guest kernel reserves the 2 MiB hugepages the VFIO tests map, its init allocates
    a 1 GiB one (not from memblock, which kmemleak would scan), and QEMU traces the SMMU's
    block walks."""

    def test_command_line(self):
        self.addCleanup(setattr, harness, "drivers_built", harness.drivers_built)
        harness.drivers_built = lambda: ["c", "rust"]
        with tempfile.TemporaryDirectory() as tmp:
            self.addCleanup(setattr, harness, "GUEST", harness.GUEST)
            harness.GUEST = Path(tmp)
            for mode in ("run", "e2e", "kunit", "payload"):
                c = harness.qemu_command("initrd", mode, "rust")
                append = " ".join(c[c.index("-append") + 1].split())
                self.assertIn("hugepagesz=2M hugepages=", append, mode)
                self.assertIn("iommu_rs.huge_1g=1", append, mode)
                self.assertNotIn("hugepagesz=1G", append, mode)
                self.assertEqual(c[c.index("-trace") + 1], "smmu_ptw_block_pte")


if __name__ == "__main__":
    unittest.main()
