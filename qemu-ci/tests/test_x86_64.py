# SPDX-License-Identifier: GPL-2.0
"""Tests of the x86_64 pipeline's pieces: config fragments, paths, the q35 + VT-d command line."""

import re
import shutil
import subprocess
import unittest
import unittest.mock
from pathlib import Path

from qemuci import harness, vtd

CONFIG = Path(__file__).resolve().parents[1] / "config"


def section(path, title):
    """The CONFIG_ symbols set or unset in the "# --- title" section of a config fragment."""
    syms, inside = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("# --- "):
            inside = line.startswith(f"# --- {title}")
            continue
        m = re.match(r"^(?:# )?(CONFIG_\w+)(?:=| is not set)", line)
        if inside and m:
            syms.add(line.strip())
    return syms


class ArchTest(unittest.TestCase):
    def tearDown(self):
        harness.use_arch("arm64")

    def test_debug_options_as_arm64(self):
        """The x86_64 kernel has every debugging option of the arm64 one, set the same way."""
        arm = section(CONFIG / "base.config", "debugging")
        x86 = section(CONFIG / "x86_64/base.config", "debugging")
        self.assertIn("CONFIG_PROVE_LOCKING=y", arm)
        self.assertEqual(arm, x86)

    def test_paths_follow_arch(self):
        harness.use_arch("x86_64")
        self.assertEqual(harness.IMAGE, harness.CACHE / "build-x86_64/arch/x86/boot/bzImage")
        self.assertEqual(harness.GUEST, harness.CACHE / "guest-x86_64")
        self.assertEqual(harness.BUSYBOX, harness.CACHE / "busybox-x86_64/bin/busybox")
        self.assertEqual(harness.QEMU, "qemu-system-x86_64")
        self.assertIs(harness.DRIVERS, vtd.DRIVERS)
        harness.use_variant("kasan")
        self.assertEqual(harness.KOUT, harness.CACHE / "build-x86_64-kasan")
        harness.use_variant("")
        harness.use_arch("arm64")
        self.assertEqual(harness.IMAGE, harness.CACHE / "build/arch/arm64/boot/Image")
        self.assertEqual(harness.QEMU, "qemu-system-aarch64")
        self.assertIs(harness.DRIVERS, harness.SMMU_DRIVERS)

    def test_unknown_arch(self):
        with self.assertRaises(harness.HarnessError):
            harness.use_arch("riscv64")

    def test_lib_sh_agrees(self):
        """qemu-ci/lib.sh puts the x86_64 kernel where the Python harness looks for it."""
        out = subprocess.run(
            ["bash", "-c", '. qemu-ci/lib.sh && echo "$KOUT/$KIMAGE $GUEST $CONFIGS $KARCH"'],
            cwd=harness.REPO, env={"IOMMU_RS_ARCH": "x86_64", "PATH": "/usr/bin:/bin",
                                   "IOMMU_RS_CACHE": str(harness.CACHE)},
            capture_output=True, text=True, check=True).stdout.split()
        harness.use_arch("x86_64")
        self.assertEqual(out, [str(harness.IMAGE), str(harness.GUEST),
                               str(CONFIG / "x86_64"), "x86_64"])


class Q35CommandTest(unittest.TestCase):
    def setUp(self):
        harness.use_arch("x86_64")
        self.addCleanup(harness.use_arch, "arm64")

    def command(self, driver, built, **kw):
        with unittest.mock.patch.object(harness, "drivers_built", return_value=built), \
                unittest.mock.patch.object(harness, "disk_image", return_value=Path("/d.img")):
            return harness.qemu_command(Path("/i.cpio.gz"), "e2e", driver, ["x=1"], **kw)

    def test_vtd_first_and_devices_behind_it(self):
        cmd = self.command("c", ["c"])
        devices = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-device"]
        self.assertEqual(devices[0], "intel-iommu,intremap=on,x-scalable-mode=on,x-flts=on,"
                         "aw-bits=48,device-iotlb=on")
        self.assertIn("edu,addr=1,dma_mask=0xffffffffffffffff", devices)
        # virtio-blk has ATS, for the device-TLB invalidations.
        self.assertTrue(any(d.startswith("virtio-blk-pci,") and "iommu_platform=on" in d
                            and d.endswith(",ats=on") for d in devices))
        self.assertTrue(any(d.startswith("igb,") for d in devices))
        self.assertIn("q35", " ".join(cmd[cmd.index("-M") + 1:cmd.index("-M") + 2]))
        append = cmd[cmd.index("-append") + 1].split()
        self.assertIn("console=ttyS0", append)
        self.assertIn("x=1", append)
        self.assertNotIn("intremap=off", append)

    def test_rust_keeps_c_and_interrupt_remapping_out(self):
        append = self.command("rust", ["c", "rust"])[-1].split()
        for p in ("initcall_blacklist=pci_iommu_init", "intremap=off",
                  "iommufd.allow_unsafe_interrupts=1"):
            self.assertIn(p, append)
        append = self.command("c", ["c", "rust"])[-1].split()
        self.assertIn("initcall_blacklist=__intel_iommu_rs_init", append)
        self.assertNotIn("intremap=off", append)

    def test_both_drivers_get_the_first_stage_unit(self):
        """Both drivers boot on the x-flts=on unit unless the second-stage one is asked for
        (QEMU 10.0's scalable mode offers one stage or the other)."""
        for driver in ("c", "rust"):
            cmd = self.command(driver, ["c", "rust"])
            devices = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-device"]
            self.assertEqual(devices[0], "intel-iommu,intremap=on,x-scalable-mode=on,x-flts=on,"
                             "aw-bits=48,device-iotlb=on")
        cmd = self.command("rust", ["c", "rust"], vtd_unit="second")
        devices = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-device"]
        self.assertEqual(devices[0], "intel-iommu,intremap=on,x-scalable-mode=on,aw-bits=48,"
                         "device-iotlb=on")
        with self.assertRaises(harness.HarnessError):
            self.command("rust", ["c", "rust"], vtd_unit="nested")

    def test_driver_not_built(self):
        with self.assertRaisesRegex(harness.HarnessError, "CONFIG_INTEL_IOMMU_RUST"):
            self.command("rust", ["c"])

    def test_arm64_options_refused(self):
        with self.assertRaises(harness.HarnessError):
            harness.qemu_command(Path("/i"), "run", "c", acpi=True)

    @unittest.skipUnless(shutil.which("qemu-system-x86_64"), "qemu-system-x86_64 not installed")
    def test_qemu_knows_the_properties(self):
        """QEMU 11 renames x-scalable-mode and x-flts: the installed QEMU must take ours."""
        out = subprocess.run(["qemu-system-x86_64", "-M", "q35", "-device", "intel-iommu,help"],
                             capture_output=True, text=True, timeout=60).stdout
        for prop in vtd.VTD.split(",")[1:]:
            name = re.escape(prop.split("=")[0])
            self.assertRegex(out, re.compile(rf"^\s*{name}=", re.M), prop)


def q35_like_dmar():
    """A DMAR table shaped as QEMU's for q35: one DRHD without INCLUDE_PCI_ALL listing an I/O
    APIC, 00:01.0 and the bridge 00:03.0."""
    scopes = vtd.scope(3, 0xff, [(0, 0)]) + vtd.scope(1, 0, [(1, 0)]) + vtd.scope(2, 0, [(3, 0)])
    drhd = ((0).to_bytes(2, "little") + (16 + len(scopes)).to_bytes(2, "little") + bytes(4)
            + (0xfed90000).to_bytes(8, "little") + scopes)
    head = bytearray(b"DMAR" + bytes(44))
    head[36] = 47
    t = bytearray(head + drhd)
    t[4:8] = len(t).to_bytes(4, "little")
    return bytes(t)


class DmarEditTest(unittest.TestCase):
    def scopes(self, table):
        return [(k, b, p) for k, b, p, _ in vtd.drhd_scopes(table)[2]]

    def test_drop_and_add(self):
        t = vtd.dmar_rescoped(q35_like_dmar(), drop=[(1, 0, [(1, 0)])],
                              add=[vtd.scope(1, 0, [(3, 0), (0, 0)])])
        self.assertEqual(self.scopes(t), [(3, 0xff, [(0, 0)]), (2, 0, [(3, 0)]),
                                          (1, 0, [(3, 0), (0, 0)])])
        off, length, _ = vtd.drhd_scopes(t)
        self.assertEqual(off + length, len(t))
        self.assertEqual(int.from_bytes(t[4:8], "little"), len(t))
        self.assertEqual(sum(t) & 0xff, 0)
        self.assertEqual(int.from_bytes(t[24:28], "little"), 1)
        self.assertEqual(t[52] & 1, 0)

    def test_include_all_keeps_only_non_pci_scopes(self):
        t = vtd.dmar_rescoped(q35_like_dmar(), include_all=True)
        self.assertEqual(self.scopes(t), [(3, 0xff, [(0, 0)])])
        self.assertEqual(t[52] & 1, 1)

    def test_missing_scope_refused(self):
        with self.assertRaisesRegex(harness.HarnessError, "no scope"):
            vtd.dmar_rescoped(q35_like_dmar(), drop=[(1, 0, [(2, 0)])])


if __name__ == "__main__":
    unittest.main()


class InvalidationTraceTest(unittest.TestCase):
    def test_page_selective(self):
        """vtd_inv_desc lines: the page-selective ones of a type, with their ranges."""
        log = ("vtd_inv_desc invalidate desc type p-iotlb high 0x200000009 low 0x30036\n"
               "vtd_inv_desc invalidate desc type p-iotlb high 0x0 low 0x30026\n"
               "vtd_inv_desc invalidate desc type iotlb high 0x5000 low 0x30032\n"
               "vtd_inv_desc invalidate desc type iotlb high 0x0 low 0xd2\n"
               "vtd_inv_desc invalidate desc type wait high 0x1 low 0x71\n")
        self.assertEqual(vtd.page_selective(log, "p-iotlb"), [(0x200000000, 0x2001fffff)])
        self.assertEqual(vtd.page_selective(log, "iotlb"), [(0x5000, 0x5fff)])

    def test_translation_turned_off(self):
        on = "vtd_reg_write_gcmd status 0x4000000 value 0x84000000\n"
        off = "vtd_reg_write_gcmd status 0xc4000000 value 0x4000000\n"
        self.assertTrue(vtd.translation_turned_off(on + off))
        self.assertFalse(vtd.translation_turned_off(on))
        self.assertFalse(vtd.translation_turned_off(off))
        self.assertFalse(vtd.translation_turned_off(on + off + on))
