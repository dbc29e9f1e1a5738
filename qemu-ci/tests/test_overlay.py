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


MOD_RS = "// SPDX-License-Identifier: GPL-2.0\n\n//! IOMMU.\n\nuse a;\nuse b;\nuse c;\n\npub mod pgtable;\n"
# The project's version of that kernel file: one line more at the end.
MOD_RS_OURS = MOD_RS + "pub mod ops;\n"
HELPERS_C = "#include \"a.c\"\n"


class OverlayTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.env = dict(os.environ, IOMMU_RS_CACHE=str(self.tmp / "cache"),
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@invalid",
                        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@invalid")
        self.k = self.kernel(self.tmp / "linux")
        # A project repo with its own copy of the qemu-ci scripts.
        self.r = self.tmp / "repo"
        (self.r / "qemu-ci").mkdir(parents=True)
        for f in ("lib.sh", "apply", "export-patches", "refresh-patches"):
            shutil.copy2(QEMU_CI / f, self.r / "qemu-ci" / f)
        (self.r / "Kconfig").write_text('menu "x"\nendmenu\n')
        (self.r / "Kbuild").write_text("obj-y += drivers/x/\n")
        (self.r / "drivers/x").mkdir(parents=True)
        (self.r / "drivers/x/x.rs").write_text("// x\n")
        sh("git", "init", "-q", cwd=self.r)
        # The change to the kernel's mod.rs, made a patch the way developers do.
        (self.r / "rust/kernel/iommu").mkdir(parents=True)
        (self.r / "rust/kernel/iommu/mod.rs").write_text(MOD_RS_OURS)
        self.refresh()
        self.assertFalse((self.r / "rust/kernel/iommu/mod.rs").exists())
        self.patch = self.r / "patches/0001-rust-kernel-iommu-mod-rs.patch"
        self.assertTrue(self.patch.exists(), list((self.r / "patches").iterdir()))
        sh("git", "add", "-A", cwd=self.r)
        sh("git", "commit", "-qm", "overlay: first", cwd=self.r, env=self.env)

    def kernel(self, k, mod_rs=MOD_RS):
        """A kernel tree: just enough for apply (kernelversion, root files)."""
        (k / "rust/kernel/iommu").mkdir(parents=True)
        (k / "rust/helpers").mkdir(parents=True)
        (k / "Makefile").write_text("kernelversion:\n\t@echo 7.3.4\n")
        (k / "Kconfig").write_text(KCONFIG)
        (k / "Kbuild").write_text(KBUILD)
        (k / "rust/kernel/iommu/mod.rs").write_text(mod_rs)
        (k / "rust/helpers/helpers.c").write_text(HELPERS_C)
        return k

    def run_script(self, name, *args, ok=True):
        r = subprocess.run(["bash", str(self.r / "qemu-ci" / name), *map(str, args)],
                           env=self.env, capture_output=True, text=True)
        if ok and r.returncode:
            raise AssertionError(f"{name} {args} failed: {r.stdout}{r.stderr}")
        return r

    def apply(self, k=None, ok=True):
        r = self.run_script("apply", k or self.k, ok=ok)
        return r.stderr if ok else r

    def refresh(self, *args):
        return self.run_script("refresh-patches", "--kernel", self.k, *args).stderr

    def mtimes(self):
        return {p: p.stat().st_mtime_ns for p in self.k.rglob("*") if p.is_file()}

    def test_apply_is_idempotent_and_keeps_mtimes(self):
        first = self.apply()
        self.assertIn("hooked", first)
        self.assertEqual((self.k / "drivers/x/x.rs").read_text(), "// x\n")
        self.assertEqual((self.k / "rust/kernel/iommu/mod.rs").read_text(), MOD_RS_OURS)
        self.assertEqual((self.k / "iommu-rs/.orig/rust/kernel/iommu/mod.rs").read_text(), MOD_RS)
        self.assertEqual((self.k / "iommu-rs/Kbuild").read_text(), "obj-y += drivers/x/\n")
        self.assertIn('source "iommu-rs/Kconfig"', (self.k / "Kconfig").read_text())
        mtimes = self.mtimes()
        second = self.apply()
        self.assertEqual(second, "")
        self.maxDiff = None
        self.assertEqual(mtimes, self.mtimes())
        self.assertEqual((self.k / "Kconfig").read_text().count("iommu-rs/Kconfig"), 1)

    def test_patch_files_are_git_am_mails(self):
        text = self.patch.read_text()
        self.assertRegex(text, r"^From 0{40} ")
        self.assertIn("\nSubject: [PATCH] ", text)
        self.assertIn("\n---\n rust/kernel/iommu/mod.rs | 1 +\n", text)
        self.assertRegex(text, r"\nindex [0-9a-f]{40}\.\.[0-9a-f]{40} 100644\n")

    def test_overlay_file_replacing_a_kernel_file_is_refused(self):
        (self.r / "rust/helpers").mkdir(parents=True)
        (self.r / "rust/helpers/helpers.c").write_text(HELPERS_C + "#include \"iommu.c\"\n")
        r = self.apply(ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("rust/helpers/helpers.c would replace the kernel's own file", r.stderr)
        self.assertIn("qemu-ci/refresh-patches", r.stderr)
        self.assertEqual((self.k / "rust/helpers/helpers.c").read_text(), HELPERS_C)
        # ... and refresh-patches makes it a second patch.
        self.refresh()
        self.assertFalse((self.r / "rust/helpers/helpers.c").exists())
        self.assertTrue((self.r / "patches/0002-rust-helpers-helpers-c.patch").exists())
        self.apply()
        self.assertIn('#include "iommu.c"', (self.k / "rust/helpers/helpers.c").read_text())

    def test_tree_that_does_not_take_a_patch_is_refused(self):
        k = self.kernel(self.tmp / "vendor", MOD_RS.replace("use c;", "use c_vendor;"))
        r = self.apply(k, ok=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("does not take patches/0001-rust-kernel-iommu-mod-rs.patch "
                      "(it changes rust/kernel/iommu/mod.rs)", r.stderr)
        self.assertNotIn("pub mod ops;", (k / "rust/kernel/iommu/mod.rs").read_text())

    def test_three_way_merge_with_the_trees_git_history(self):
        # A vendor tree in git: Linux 7.3's file, then the vendor's change to it. The patch's
        # context no longer matches, but its preimage is in the tree's history.
        k = self.kernel(self.tmp / "vendor")
        sh("git", "init", "-q", cwd=k)
        sh("git", "add", "-A", cwd=k)
        sh("git", "commit", "-qm", "v7.3", cwd=k, env=self.env)
        vendor = MOD_RS.replace("use c;", "use c_vendor;")
        (k / "rust/kernel/iommu/mod.rs").write_text(vendor)
        sh("git", "commit", "-qam", "vendor", cwd=k, env=self.env)
        self.apply(k)
        self.assertEqual((k / "rust/kernel/iommu/mod.rs").read_text(), vendor + "pub mod ops;\n")

    def test_edit_in_the_tree_is_kept_by_refresh_tree(self):
        self.apply()
        mod_rs = self.k / "rust/kernel/iommu/mod.rs"
        mod_rs.write_text(MOD_RS_OURS + "pub mod nested;\n")
        r = self.apply(ok=False)
        self.assertIn("mod.rs was changed since qemu-ci/apply wrote it", r.stderr)
        self.assertIn("qemu-ci/refresh-patches --tree", r.stderr)
        self.assertTrue(mod_rs.read_text().endswith("pub mod nested;\n"))
        self.refresh("--tree")
        self.assertIn("+pub mod nested;", self.patch.read_text())
        self.assertTrue(self.patch.read_text().startswith(
            "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"))
        self.assertEqual(self.apply(), "")
        self.assertTrue(mod_rs.read_text().endswith("pub mod ops;\npub mod nested;\n"))

    def test_expand_and_fold_back(self):
        self.apply()
        header = self.patch.read_text().split("\n---\n")[0]
        self.refresh("--expand", "rust/kernel/iommu/mod.rs")
        whole = self.r / "rust/kernel/iommu/mod.rs"
        self.assertEqual(whole.read_text(), MOD_RS_OURS)
        whole.write_text(MOD_RS_OURS.replace("use b;\n", ""))
        self.refresh()
        self.assertFalse(whole.exists())
        self.assertEqual(self.patch.read_text().split("\n---\n")[0], header)
        self.apply()
        self.assertNotIn("use b;", (self.k / "rust/kernel/iommu/mod.rs").read_text())
        # Back to the kernel's own content: the patch goes.
        self.refresh("--expand", "rust/kernel/iommu/mod.rs")
        whole.write_text(MOD_RS)
        self.refresh()
        self.assertFalse(self.patch.exists())

    def test_dropped_file_or_patch_restores_the_kernel_original(self):
        self.apply()
        mod_rs = self.k / "rust/kernel/iommu/mod.rs"
        laid = mod_rs.stat().st_mtime_ns
        sh("git", "rm", "-q", str(self.patch), "drivers/x/x.rs", cwd=self.r)
        self.apply()
        self.assertEqual(mod_rs.read_text(), MOD_RS)
        # Objects built from the patched version are newer than the saved
        # original: the restored file must look new to make.
        self.assertGreaterEqual(mod_rs.stat().st_mtime_ns, laid)
        self.assertFalse((self.k / "drivers/x/x.rs").exists())

    def test_export_patches_apply_with_git_am(self):
        self.apply()
        (self.r / "drivers/x/x.rs").write_text("// x, second version\n")
        sh("git", "commit", "-qam", "overlay: second", cwd=self.r, env=self.env)
        out = self.tmp / "series"
        self.run_script("export-patches", out, self.k)
        patches = sorted(out.glob("*.patch"))
        self.assertEqual(len(patches), 3, [p.name for p in patches])
        # A pristine kernel: the files as they were before apply.
        pk = self.kernel(self.tmp / "pristine")
        sh("git", "init", "-q", cwd=pk)
        sh("git", "add", "-A", cwd=pk)
        sh("git", "commit", "-qm", "base", cwd=pk, env=self.env)
        sh("git", "am", "-q", *map(str, patches), cwd=pk, env=self.env)
        self.assertEqual((pk / "drivers/x/x.rs").read_text(), "// x, second version\n")
        self.assertEqual((pk / "rust/kernel/iommu/mod.rs").read_text(), MOD_RS_OURS)
        self.assertEqual((pk / "Kconfig").read_text(), KCONFIG +
                         '\n# Rust IOMMU drivers overlay (iommu-rs, qemu-ci/apply)\n'
                         'source "iommu-rs/Kconfig"\n')
        log = sh("git", "log", "--format=%s", cwd=pk).stdout.split("\n")
        self.assertEqual(log[:3], ["overlay: second", "overlay: first",
                                   "iommu-rs: hook the Rust IOMMU driver overlay into Kconfig "
                                   "and Kbuild"])


if __name__ == "__main__":
    unittest.main()
