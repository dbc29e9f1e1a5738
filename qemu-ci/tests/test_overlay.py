# SPDX-License-Identifier: GPL-2.0
"""qemu-ci/apply and qemu-ci/export-patches on a throwaway repo and kernel tree."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

QEMU_CI = Path(__file__).resolve().parents[1]
KCONFIG = 'mainmenu "Linux"\n\nsource "io_uring/Kconfig"\n'
KBUILD = "obj-y\t\t\t+= drivers/\n"


def sh(*cmd, cwd=None, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise AssertionError(f"{cmd} failed: {r.stdout}{r.stderr}")
    return r


class OverlayTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.env = dict(os.environ, IOMMU_RS_CACHE=str(self.tmp / "cache"),
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@invalid",
                        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@invalid")
        # A kernel tree: just enough for apply (kernelversion, root files).
        self.k = self.tmp / "linux"
        (self.k / "rust/kernel/iommu").mkdir(parents=True)
        (self.k / "Makefile").write_text("kernelversion:\n\t@echo 7.3.4\n")
        (self.k / "Kconfig").write_text(KCONFIG)
        (self.k / "Kbuild").write_text(KBUILD)
        (self.k / "rust/kernel/iommu/mod.rs").write_text("pub mod pgtable;\n")
        # A project repo with its own copy of the qemu-ci scripts.
        self.r = self.tmp / "repo"
        (self.r / "qemu-ci").mkdir(parents=True)
        for f in ("lib.sh", "apply", "export-patches"):
            shutil.copy2(QEMU_CI / f, self.r / "qemu-ci" / f)
        (self.r / "Kconfig").write_text('menu "x"\nendmenu\n')
        (self.r / "Kbuild").write_text("obj-y += drivers/x/\n")
        (self.r / "drivers/x").mkdir(parents=True)
        (self.r / "drivers/x/x.rs").write_text("// x\n")
        (self.r / "rust/kernel/iommu").mkdir(parents=True)
        (self.r / "rust/kernel/iommu/mod.rs").write_text("pub mod pgtable;\npub mod ops;\n")
        sh("git", "init", "-q", cwd=self.r)
        sh("git", "add", "-A", cwd=self.r)
        sh("git", "commit", "-qm", "overlay: first", cwd=self.r, env=self.env)

    def apply(self):
        return sh("bash", str(self.r / "qemu-ci/apply"), str(self.k), env=self.env).stderr

    def test_apply_is_idempotent_and_keeps_mtimes(self):
        first = self.apply()
        self.assertIn("hooked", first)
        self.assertEqual((self.k / "drivers/x/x.rs").read_text(), "// x\n")
        self.assertEqual((self.k / "iommu-rs/Kbuild").read_text(), "obj-y += drivers/x/\n")
        self.assertIn('source "iommu-rs/Kconfig"', (self.k / "Kconfig").read_text())
        mtimes = {p: p.stat().st_mtime_ns for p in self.k.rglob("*") if p.is_file()}
        second = self.apply()
        self.assertEqual(second, "")
        self.assertEqual(mtimes, {p: p.stat().st_mtime_ns for p in self.k.rglob("*")
                                  if p.is_file()})
        self.assertEqual((self.k / "Kconfig").read_text().count("iommu-rs/Kconfig"), 1)

    def test_dropped_file_restores_the_kernel_original(self):
        self.apply()
        mod_rs = self.k / "rust/kernel/iommu/mod.rs"
        self.assertIn("pub mod ops;", mod_rs.read_text())
        laid = mod_rs.stat().st_mtime_ns
        sh("git", "rm", "-q", "rust/kernel/iommu/mod.rs", "drivers/x/x.rs", cwd=self.r)
        self.apply()
        self.assertEqual(mod_rs.read_text(), "pub mod pgtable;\n")
        # Objects built from the overlay's version are newer than the saved
        # original: the restored file must look new to make.
        self.assertGreaterEqual(mod_rs.stat().st_mtime_ns, laid)
        self.assertFalse((self.k / "drivers/x/x.rs").exists())

    def test_export_patches_apply_with_git_am(self):
        self.apply()
        (self.r / "drivers/x/x.rs").write_text("// x, second version\n")
        sh("git", "commit", "-qam", "overlay: second", cwd=self.r, env=self.env)
        out = self.tmp / "series"
        sh("bash", str(self.r / "qemu-ci/export-patches"), str(out), str(self.k), env=self.env)
        patches = sorted(out.glob("*.patch"))
        self.assertEqual(len(patches), 3, [p.name for p in patches])
        # A pristine kernel: the files as they were before apply.
        pk = self.tmp / "pristine"
        (pk / "rust/kernel/iommu").mkdir(parents=True)
        (pk / "Kconfig").write_text(KCONFIG)
        (pk / "Kbuild").write_text(KBUILD)
        (pk / "rust/kernel/iommu/mod.rs").write_text("pub mod pgtable;\n")
        sh("git", "init", "-q", cwd=pk)
        sh("git", "add", "-A", cwd=pk)
        sh("git", "commit", "-qm", "base", cwd=pk, env=self.env)
        sh("git", "am", "-q", *map(str, patches), cwd=pk, env=self.env)
        self.assertEqual((pk / "drivers/x/x.rs").read_text(), "// x, second version\n")
        self.assertEqual((pk / "Kconfig").read_text(), KCONFIG +
                         '\n# Rust IOMMU drivers overlay (iommu-rs, qemu-ci/apply)\n'
                         'source "iommu-rs/Kconfig"\n')
        log = sh("git", "log", "--format=%s", cwd=pk).stdout.split("\n")
        self.assertEqual(log[:3], ["overlay: second", "overlay: first",
                                   "iommu-rs: hook the Rust IOMMU driver overlay into Kconfig "
                                   "and Kbuild"])


if __name__ == "__main__":
    unittest.main()
