# SPDX-License-Identifier: GPL-2.0
"""The project's QEMU (qemu-ci/build-qemu, qemu-ci/qemu): which boots use it, and that a
missing source or a series that does not apply is reported as a skip with its reason."""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from qemuci import harness
from qemuci.harness import HarnessError

QEMU_CI = Path(__file__).resolve().parents[1]
BUILD_QEMU = QEMU_CI / "build-qemu"


class PatchedQemuTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        for name in ("GUEST", "PATCHED_QEMU_DIR", "PATCHED_QEMU", "drivers_built"):
            self.addCleanup(setattr, harness, name, getattr(harness, name))
        harness.GUEST = self.tmp / "guest"
        harness.PATCHED_QEMU_DIR = self.tmp / "qemu"
        harness.PATCHED_QEMU = self.tmp / "qemu/bin/qemu-system-aarch64"
        harness.drivers_built = lambda: ["c", "rust"]

    def built(self, status="ok 300"):
        harness.PATCHED_QEMU.parent.mkdir(parents=True)
        harness.PATCHED_QEMU.write_text("#!/bin/sh\n")
        harness.PATCHED_QEMU.chmod(0o755)
        (harness.PATCHED_QEMU_DIR / "status").write_text(status + "\n")

    def test_boots_without_features_use_debians_qemu(self):
        self.built()
        c = harness.qemu_command("initrd", "run", "c")
        self.assertEqual(c[0], "qemu-system-aarch64")
        self.assertEqual(c[c.index(harness.NETDEV_USER) - 1], "-netdev")
        self.assertNotIn("iommu-pcie-testdev,addr=0x8", c)
        self.assertFalse([a for a in c if a.startswith("arm-smmuv3.ssidsize")])

    def test_features_use_the_patched_qemu_and_the_endpoint(self):
        self.built()
        c = harness.qemu_command("initrd", "payload", "c", features=["ssid"])
        self.assertEqual(c[0], str(harness.PATCHED_QEMU))
        self.assertIn("arm-smmuv3.ssidsize=8", c)
        self.assertEqual(c[c.index("iommu-pcie-testdev,addr=0x8") - 1], "-device")
        # built without slirp: igb on a hub port instead of a user-mode network
        self.assertNotIn(harness.NETDEV_USER, c)
        self.assertEqual(c[c.index(harness.NETDEV_NO_SLIRP) - 1], "-netdev")

    def test_httu_turns_on_access_and_dirty_updates(self):
        self.built()
        c = harness.qemu_command("initrd", "payload", "c", features=["httu"])
        self.assertEqual(c[c.index("arm-smmuv3.httu=2") - 1], "-global")
        self.assertNotIn("arm-smmuv3.ssidsize=8", c)

    def test_ats_turns_on_ats(self):
        self.built()
        c = harness.qemu_command("initrd", "payload", "c", features=["ats"])
        self.assertEqual(c[c.index("arm-smmuv3.ats=on") - 1], "-global")
        self.assertEqual(c[c.index("iommu-pcie-testdev,addr=0x8") - 1], "-device")

    def test_pri_turns_on_ats_and_pri(self):
        self.built()
        c = harness.qemu_command("initrd", "payload", "c", features=["pri"])
        self.assertIn("arm-smmuv3.ats=on", c)
        self.assertEqual(c[c.index("arm-smmuv3.pri=on") - 1], "-global")

    def test_no_patched_qemu_is_an_error_with_the_reason(self):
        (self.tmp / "qemu").mkdir()
        (self.tmp / "qemu/status").write_text("skip the series does not apply to qemu 1:10.0.9\n")
        with self.assertRaisesRegex(HarnessError, "series does not apply"):
            harness.qemu_command("initrd", "payload", "c", features=["ssid"])

    def test_status(self):
        self.assertEqual(harness.patched_qemu_status()[0], "skip")
        self.built("fail the patched QEMU does not build")
        self.assertEqual(harness.patched_qemu_status(),
                         ("fail", "the patched QEMU does not build"))
        (harness.PATCHED_QEMU_DIR / "status").write_text("ok 12\n")
        self.assertEqual(harness.patched_qemu_status(), ("ok", str(harness.PATCHED_QEMU)))
        harness.PATCHED_QEMU.unlink()
        self.assertEqual(harness.patched_qemu_status()[0], "fail")
        (harness.PATCHED_QEMU_DIR / "status").write_text("garbage\n")
        self.assertEqual(harness.patched_qemu_status()[0], "fail")

    def test_feature_list(self):
        self.assertEqual(harness.smmu_features(""), [])
        self.assertEqual(harness.smmu_features("ssid,ssid"), ["ssid"])
        self.assertEqual(harness.smmu_features("httu,ssid"), ["httu", "ssid"])
        self.assertEqual(harness.smmu_features("ats,ssid,pri"), ["ats", "ssid", "pri"])
        with self.assertRaisesRegex(HarnessError, "unknown SMMUv3 model feature"):
            harness.smmu_features("stall")

    def test_ssid_width(self):
        self.assertEqual(harness.smmu_features("ssid=16,httu"), ["ssid=16", "httu"])
        self.assertEqual(harness.smmu_feature_args("ssid"), ["-global", "arm-smmuv3.ssidsize=8"])
        self.assertEqual(harness.smmu_feature_args("ssid=20"),
                         ["-global", "arm-smmuv3.ssidsize=20",
                          "-global", "iommu-pcie-testdev.pasid-width=20"])
        for bad in ("ssid=0", "ssid=21", "ssid=x", "ssid=", "httu=2"):
            with self.assertRaisesRegex(HarnessError, "unknown SMMUv3 model feature"):
                harness.smmu_features(bad)
        with self.assertRaisesRegex(HarnessError, "more than once"):
            harness.smmu_features("ssid,ssid=16")
        self.built()
        cmd = harness.qemu_command("initrd", "payload", "c", features=["ssid=12"])
        self.assertIn("arm-smmuv3.ssidsize=12", cmd)
        self.assertIn("iommu-pcie-testdev.pasid-width=12", cmd)


class BuildQemuTest(unittest.TestCase):
    """qemu-ci/build-qemu against fake apt tools: no download, no build."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.bin = self.tmp / "bin"
        self.bin.mkdir()

    def tool(self, name, body):
        (self.bin / name).write_text("#!/bin/sh\n" + body)
        (self.bin / name).chmod(0o755)

    def run_build(self):
        env = dict(os.environ, IOMMU_RS_CACHE=str(self.tmp / "cache"),
                   PATH=f"{self.bin}:{os.environ['PATH']}")
        r = subprocess.run(["bash", str(BUILD_QEMU)], env=env, capture_output=True, text=True,
                           timeout=120)
        status = (self.tmp / "cache/qemu/status").read_text().strip()
        return r, status

    def test_no_source_is_a_skip_with_the_reason(self):
        self.tool("apt-cache", "exit 0\n")
        r, status = self.run_build()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(status, r"^skip apt offers no qemu 10\.0\.x source")
        self.assertIn("will be SKIPPED", r.stderr)

    def test_undownloadable_source_is_a_skip(self):
        self.tool("apt-cache", "echo 'Version: 1:10.0.2+ds-2+deb13u1~bpo12+1'\n")
        self.tool("apt-get", "echo 'E: 404  Not Found' >&2; exit 100\n")
        r, status = self.run_build()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(status, r"^skip the qemu 1:10\.0\.2\+ds-2\+deb13u1~bpo12\+1 source "
                         r"tarball cannot be downloaded: E: 404")

    def test_a_series_that_does_not_apply_is_a_skip(self):
        # A "source" without the files the series changes: git am refuses the first patch.
        src = self.tmp / "qemu-10.0.9"
        src.mkdir()
        (src / "README").write_text("not QEMU\n")
        tarball = self.tmp / "qemu_10.0.9+ds.orig.tar.xz"
        subprocess.run(["tar", "-cJf", str(tarball), "-C", str(self.tmp), "qemu-10.0.9"],
                       check=True)
        self.tool("apt-cache", "echo 'Version: 1:10.0.9+ds-1~bpo12+1'\n")
        self.tool("apt-get", f"cp {tarball} .\n")
        r, status = self.run_build()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(status, r"^skip the series does not apply to qemu 1:10\.0\.9\+ds-1~bpo12"
                         r"\+1: qemu-ci/qemu/\S+\.patch: ")
        self.assertFalse((self.tmp / "cache/qemu/bin").exists())


class SeriesTest(unittest.TestCase):
    """The series is a git am-able mail series, one feature per patch, each signed off."""

    def test_patches_are_mails_with_a_sign_off(self):
        patches = sorted((QEMU_CI / "qemu/patches").glob("*.patch"))
        self.assertTrue(patches)
        for p in patches:
            text = p.read_text()
            self.assertRegex(text, r"^From [0-9a-f]{40} ", p.name)
            self.assertRegex(text, r"\nSubject: \[PATCH[^\]]*\] \S", p.name)
            self.assertRegex(text, r"\nSigned-off-by: .+ <.+@.+>\n", p.name)


if __name__ == "__main__":
    unittest.main()
