# SPDX-License-Identifier: GPL-2.0
"""qemu-ci/setup on made-up apt configurations (--mirror-uri: no root, nothing installed)."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

SETUP = Path(__file__).resolve().parents[1] / "setup"

DEB822 = """\
Types: deb
URIs: http://deb822.invalid/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb822.invalid/debian-security
Suites: bookworm-security
Components: main
"""
ONE_LINE = "deb http://sources-list.invalid/debian bookworm main\n"


class SetupTest(unittest.TestCase):
    def setUp(self):
        self.etc = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.etc)
        (self.etc / "apt/sources.list.d").mkdir(parents=True)

    def setup(self, path=None, arg="--mirror-uri"):
        env = dict(os.environ, IOMMU_RS_SETUP_ETC=str(self.etc))
        if path:
            env["PATH"] = f"{path}:{env['PATH']}"
        return subprocess.run(["bash", str(SETUP), arg], env=env,
                              capture_output=True, text=True, timeout=60)

    def test_mixed_sources_take_the_deb822_file(self):
        # Debian 12 cloud images: a deb822 file and a sources.list, both bookworm. setup used to
        # die there with 141 (SIGPIPE under pipefail) and an empty log.
        (self.etc / "apt/sources.list.d/debian.sources").write_text(DEB822)
        (self.etc / "apt/sources.list").write_text(ONE_LINE)
        r = self.setup()
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "http://deb822.invalid/debian\n", ""))

    def test_sources_list_alone(self):
        (self.etc / "apt/sources.list").write_text("# comment\n" + ONE_LINE)
        r = self.setup()
        self.assertEqual((r.returncode, r.stdout), (0, "http://sources-list.invalid/debian\n"))

    def test_deb822_alone(self):
        (self.etc / "apt/sources.list.d/debian.sources").write_text(DEB822)
        r = self.setup()
        self.assertEqual((r.returncode, r.stdout), (0, "http://deb822.invalid/debian\n"))

    def test_qemu_source_entry_is_bookworm_backports_on_the_mirror(self):
        # The QEMU source (qemu-ci/build-qemu) comes from bookworm-backports, through the
        # machine's own mirror, as source only: never plain trixie or sid.
        (self.etc / "apt/sources.list.d/debian.sources").write_text(DEB822)
        r = self.setup(arg="--qemu-src-entry")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = dict(line.split(": ", 1) for line in r.stdout.splitlines())
        self.assertEqual(fields, {
            "Types": "deb-src", "URIs": "http://deb822.invalid/debian",
            "Suites": "bookworm-backports", "Components": "main",
            "Signed-By": "/usr/share/keyrings/debian-archive-keyring.gpg"})

    def test_no_bookworm_source_says_so(self):
        (self.etc / "apt/sources.list").write_text("deb http://x.invalid/debian trixie main\n")
        r = self.setup()
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot find the Debian mirror URI", r.stderr)

    def test_an_unexpected_failure_names_the_command(self):
        # Any command that fails stops setup with its line and exit status, never silently.
        (self.etc / "apt/sources.list.d/debian.sources").write_text(DEB822)
        fake = self.etc / "bin"
        fake.mkdir()
        (fake / "awk").write_text("#!/bin/sh\nexit 2\n")
        (fake / "awk").chmod(0o755)
        r = self.setup(path=fake)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"\[qemu-ci\] error: setup failed \(exit 2\) at line \d+: "
                         r".*awk")


if __name__ == "__main__":
    unittest.main()
