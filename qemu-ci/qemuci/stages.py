# SPDX-License-Identifier: GPL-2.0
"""Stages shared by qemu-ci/run and qemu-ci/test."""

import subprocess

from . import harness
from .harness import HarnessError, LOGS, REPO, log


def setup():
    """Install what is missing (incremental), the kernel tree among it."""
    LOGS.mkdir(parents=True, exist_ok=True)
    out = LOGS / "setup.log"
    with open(out, "w") as f:
        r = subprocess.run(["bash", str(REPO / "qemu-ci/setup")], stdout=f,
                           stderr=subprocess.STDOUT)
    if r.returncode:
        print(out.read_text()[-4000:])
        raise HarnessError(f"qemu-ci/setup failed (log: {out})")


def prepare(setup=True, build=True):
    """Install what is missing, then build the kernel (both incremental)."""
    if setup:
        globals()["setup"]()
    harness.need(harness.QEMU, "clang-19", "cpio")
    if build:
        harness.run_script("build")
    if not harness.IMAGE.exists():
        raise HarnessError(f"no kernel image at {harness.IMAGE} (run qemu-ci/build)")
    log(f"drivers in this kernel: {', '.join(harness.drivers_built()) or 'none'}")
