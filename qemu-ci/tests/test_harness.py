# SPDX-License-Identifier: GPL-2.0
"""Tests of the harness itself: every way a run can go wrong must turn it red."""

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
import unittest.mock
from pathlib import Path

from qemuci import bench as qbench
from qemuci import console, harness, ktap

QEMU_CI = Path(__file__).resolve().parents[1]

KUNIT_PASS = """\
[    1.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
[    2.100000] KTAP version 1
[    2.100001] 1..2
[    2.100002]     KTAP version 1
[    2.100003]     # Subtest: arm-smmu-v3-kunit-test
[    2.100004]     # module: arm_smmu_v3
[    2.100005]     1..2
[    2.100006]     ok 1 write_ste_test_bypass_to_abort
[    2.100007] arm-smmu-v3 9050000.smmuv3: event 0x10 received:
[    2.100008]     ok 2 write_ste_test_abort_to_bypass
[    2.100009] # arm-smmu-v3-kunit-test: pass:2 fail:0 skip:0 total:2
[    2.100010] ok 1 arm-smmu-v3-kunit-test
[    2.100011]     KTAP version 1
[    2.100012]     # Subtest: io-pgtable-arm-test
[    2.100013]     1..1
[    2.100014]         KTAP version 1
[    2.100015]         # Subtest: arm_lpae_do_selftests
[    2.100016]         ok 1 4K
[    2.100017]         ok 2 16K # SKIP not supported
[    2.100018]     ok 1 arm_lpae_do_selftests
[    2.100019] ok 2 io-pgtable-arm-test
IOMMU-RS-EXIT: 0
"""


def boot_of(text, rc=0, timed_out=False):
    b = harness.Boot("t", Path("/dev/null"), text, rc, timed_out, 1.0)
    harness.judge(b, 5)
    return b


class KtapTest(unittest.TestCase):
    def test_kunit_log_passes(self):
        p = ktap.parse(KUNIT_PASS)
        self.assertEqual(p.errors, [])
        names = [n for n, _ in p.leaves()]
        self.assertEqual(names, [
            "arm-smmu-v3-kunit-test.write_ste_test_bypass_to_abort",
            "arm-smmu-v3-kunit-test.write_ste_test_abort_to_bypass",
            "io-pgtable-arm-test.arm_lpae_do_selftests.4K",
            "io-pgtable-arm-test.arm_lpae_do_selftests.16K"])
        self.assertTrue(all(r.ok for _, r in p.leaves()))
        self.assertTrue(dict(p.leaves())["io-pgtable-arm-test.arm_lpae_do_selftests.16K"].skipped)
        self.assertIsNotNone(p.find("io-pgtable-arm-test"))

    def test_failing_case_is_a_failure(self):
        text = KUNIT_PASS.replace("    ok 2 write_ste_test_abort_to_bypass",
                                  "    not ok 2 write_ste_test_abort_to_bypass")
        text = text.replace("ok 1 arm-smmu-v3-kunit-test", "not ok 1 arm-smmu-v3-kunit-test")
        p = ktap.parse(text)
        bad = [n for n, r in p.leaves() if not r.ok]
        self.assertEqual(bad, ["arm-smmu-v3-kunit-test.write_ste_test_abort_to_bypass"])
        self.assertFalse(p.find("arm-smmu-v3-kunit-test").passed())

    def test_suite_ok_over_failing_case_is_an_error(self):
        text = KUNIT_PASS.replace("    ok 2 write_ste_test_abort_to_bypass",
                                  "    not ok 2 write_ste_test_abort_to_bypass")
        self.assertTrue(any("reported ok but a subtest failed" in e
                            for e in ktap.parse(text).errors))

    def test_crash_mid_suite_is_an_error(self):
        cut = KUNIT_PASS.index("[    2.100008]")
        text = KUNIT_PASS[:cut] + "[    2.2] Internal error: Oops: 0000000096000004 [#1] SMP\n"
        p = ktap.parse(text)
        self.assertTrue(p.errors)
        self.assertTrue(any("planned 2 tests but reported 0" in e or "ended without" in e
                            for e in p.errors), p.errors)

    def test_plan_mismatch_is_an_error(self):
        text = KUNIT_PASS.replace("[    2.100005]     1..2", "[    2.100005]     1..3")
        self.assertTrue(any("planned 3" in e for e in ktap.parse(text).errors))

    def test_misnumbered_result_is_an_error(self):
        text = KUNIT_PASS.replace("    ok 2 write_ste", "    ok 3 write_ste")
        self.assertTrue(any("numbered 3" in e for e in ktap.parse(text).errors))

    def test_no_plan_is_an_error(self):
        p = ktap.parse("KTAP version 1\nok 1 a\n")
        self.assertTrue(any("without a plan" in e for e in p.errors))

    def test_several_documents(self):
        text = "KTAP version 1\n1..1\nok 1 a\nnoise\nKTAP version 1\n1..2\nok 1 b\nnot ok 2 c\n"
        p = ktap.parse(text)
        self.assertEqual(p.errors, [])
        self.assertEqual([(n, r.ok) for n, r in p.leaves()],
                         [("a", True), ("b", True), ("c", False)])

    def test_guest_program_output(self):
        text = textwrap.dedent("""\
            KTAP version 1
            1..2
            ok 1 hw_info
                # Subtest: iommufd
                1..2
                ok 1 dma_roundtrip
                # dma_to_unmapped_blocked: device wrote an unmapped IOVA
                not ok 2 dma_to_unmapped_blocked
            not ok 2 iommufd
            """)
        p = ktap.parse(text)
        self.assertEqual(p.errors, [])
        self.assertEqual([(n, r.ok) for n, r in p.leaves()],
                         [("hw_info", True), ("iommufd.dma_roundtrip", True),
                          ("iommufd.dma_to_unmapped_blocked", False)])


class ConsoleTest(unittest.TestCase):
    def test_clean_boot(self):
        self.assertEqual(boot_of(KUNIT_PASS).failures, [])

    def test_panic(self):
        b = boot_of("[ 1.0] Kernel panic - not syncing: Attempted to kill init!\n")
        self.assertTrue(any("kernel panic" in f for f in b.failures), b.failures)
        self.assertTrue(any("never reached the end" in f for f in b.failures))

    def test_warn(self):
        text = KUNIT_PASS.replace(
            "IOMMU-RS-EXIT: 0",
            "[ 3.0] ------------[ cut here ]------------\n"
            "[ 3.0] WARNING: CPU: 1 PID: 1 at drivers/iommu/iommu.c:100 f+0x1/0x2\n"
            "IOMMU-RS-EXIT: 0")
        self.assertTrue(any(f.startswith("guest WARN") for f in boot_of(text).failures))

    def test_bug_lockdep_kasan_oops(self):
        for line, label in [
            ("BUG: sleeping function called from invalid context at mm/slub.c:1", "BUG"),
            ("WARNING: possible circular locking dependency detected", "lockdep"),
            ("BUG: KASAN: slab-use-after-free in foo+0x1/0x2", "BUG"),
            ("Unable to handle kernel NULL pointer dereference at virtual address 0", "oops"),
            ("rust_kernel: panicked at drivers/iommu/x.rs:10:5:", "Rust panic"),
            ("arm-smmu-v3 9050000.smmuv3: unexpected global error reported (0x00000004), "
             "this could be serious", "SMMU global error"),
            ("arm_smmu_v3_rs 9050000.smmuv3: global error reported (0x00000001), this could be "
             "serious", "SMMU global error"),
        ]:
            b = boot_of(f"[ 1.0] {line}\nIOMMU-RS-EXIT: 0\n")
            self.assertTrue(any(f.startswith(f"guest {label}") for f in b.failures),
                            (line, b.failures))

    def test_refused_smmu_commands(self):
        bad = [
            "arm_smmu_v3_rs 9050000.smmuv3: command error Some(Ill) at cons 0x5: "
            "0x0000000000010012 0x0000000040000801; skipped (1 so far)",
            "arm_smmu_v3_rs 9050000.smmuv3: command fetch aborted at cons 0x7; retrying",
            "arm_smmu_v3_rs 9050000.smmuv3: CMD_SYNC timeout: prod 0x9 cons 0x3",
            "arm-smmu-v3 9050000.smmuv3: CMD_SYNC timeout at 0x00000009 [hwprod 0x00000009, "
            "hwcons 0x00000003]",
        ]
        for line in bad:
            b = boot_of(f"[ 1.0] {line}\nIOMMU-RS-EXIT: 0\n")
            self.assertTrue(any(f.startswith("guest SMMU command error") for f in b.failures),
                            (line, b.failures))
        # The illegal opcode 0x7f is 30-cmdq-error's own injection.
        injected = ("arm_smmu_v3_rs 9050000.smmuv3: command error Some(Ill) at cons 0x5: "
                    "0x000000000000007f 0x0000000000000000; skipped (1 so far)")
        self.assertEqual(boot_of(f"[ 1.0] {injected}\nIOMMU-RS-EXIT: 0\n").failures, [])

    def test_cmd_sync_timeouts_only_after_a_kexec_jump(self):
        timeout = ("arm_smmu_v3_rs 9050000.smmuv3: CMD_SYNC timeout: prod 0x62 cons 0x60")
        # On the way out of a kernel that kexecs, after its SMMU shut down: expected.
        text = (f"[ 8.9] kexec_core: Starting new kernel\n[ 12.6] {timeout}\n"
                f"[ 0.0] Booting Linux on physical CPU 0x0\nIOMMU-RS-EXIT: 0\n")
        self.assertEqual(boot_of(text).failures, [])
        # Anywhere else, and in the next kernel: a failure.
        for text in (f"[ 1.0] {timeout}\nIOMMU-RS-EXIT: 0\n",
                     f"[ 8.9] kexec_core: Starting new kernel\n"
                     f"[ 0.0] Booting Linux on physical CPU 0x0\n[ 3.0] {timeout}\n"
                     f"IOMMU-RS-EXIT: 0\n"):
            self.assertTrue(any(f.startswith("guest SMMU command error")
                                for f in boot_of(text).failures), text)

    def test_exit_status(self):
        self.assertEqual(console.exit_status("a\nIOMMU-RS-EXIT: 3\n"), 3)
        self.assertIsNone(console.exit_status("IOMMU-RS-EXIT: \n"))


def fake_qemu(dirname, body):
    path = Path(dirname) / "qemu-system-aarch64"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


SMMU_DTS = """\
/dts-v1/;

/ {
\tsmmuv3@9050000 {
\t\tphandle = <0x8005>;
\t\tdma-coherent;
\t\tinterrupt-names = "eventq\\0priq\\0cmdq-sync\\0gerror";
\t\tinterrupts = <0x00 0x4a 0x01 0x00 0x4b 0x01 0x00 0x4c 0x01 0x00 0x4d 0x01>;
\t\tcompatible = "arm,smmu-v3";
\t};

\tpcie@10000000 {
\t\tinterrupts = <0x00 0x03 0x04>;
\t};
};
"""


class DeviceTreeTest(unittest.TestCase):
    def test_combined_irq_is_the_event_queue_line(self):
        dts = harness.combined_irq_dts(SMMU_DTS)
        self.assertIn('\t\tinterrupt-names = "combined";\n'
                      '\t\tinterrupts = <0x00 0x4a 0x01>;\n', dts)
        self.assertIn("\t\tinterrupts = <0x00 0x03 0x04>;", dts)
        self.assertEqual(dts.replace('"combined"', '"eventq\\0priq\\0cmdq-sync\\0gerror"')
                         .replace("<0x00 0x4a 0x01>;\n\t\tcompatible",
                                  "<0x00 0x4a 0x01 0x00 0x4b 0x01 0x00 0x4c 0x01 0x00 0x4d "
                                  "0x01>;\n\t\tcompatible"), SMMU_DTS)

    def test_string_list_with_commas(self):
        dts = SMMU_DTS.replace('"eventq\\0priq\\0cmdq-sync\\0gerror"',
                               '"gerror", "priq", "cmdq-sync", "eventq"')
        self.assertIn("interrupts = <0x00 0x4d 0x01>;", harness.combined_irq_dts(dts))

    def test_fw_resv_region(self):
        dts = harness.resv_region_dts(SMMU_DTS)
        host = dts[dts.index("pcie@10000000 {"):]
        # The edu node is the host's last child: properties first, as dtc requires.
        self.assertRegex(host, r"interrupts = <0x00 0x03 0x04>;\n\n\t\tedu@1,0 \{\n"
                         r"\t\t\treg = <0x800 0x00 0x00 0x00 0x00>;\n"
                         r"\t\t\tmemory-region = <0x9100>;\n\t\t\tphandle = <0x9101>;\n\t\t\};\n\t\};")
        self.assertIn("iommu-addresses = <0x9101 0x00 0x10 0x0 0x00 0x100000>;", dts)
        self.assertTrue(dts.rstrip().endswith("\t};\n};"))
        with self.assertRaises(harness.HarnessError):
            harness.resv_region_dts(dts)

    def test_non_coherent(self):
        dts = harness.non_coherent_dts(SMMU_DTS)
        self.assertEqual(dts, SMMU_DTS.replace("\t\tdma-coherent;\n", ""))
        with self.assertRaises(harness.HarnessError):
            harness.non_coherent_dts(dts)

    def test_no_smmu_node(self):
        with self.assertRaises(harness.HarnessError):
            harness.combined_irq_dts("/ {\n};\n")

    def test_smmu_irqs(self):
        text = ("IOMMU-RS-IRQ: 17:         12          3    GICv3 106 Edge      arm-smmu-v3-rs-evtq\n"
                "IOMMU-RS-IRQ: 18:          0          0    GICv3 109 Edge      arm-smmu-v3-rs-gerror\n"
                "[    1.0] IOMMU-RS-IRQ: 19: 5 GICv3 1 Edge x\n")
        self.assertEqual(console.smmu_irqs(text),
                         {"arm-smmu-v3-rs-evtq": 15, "arm-smmu-v3-rs-gerror": 0})


class UntangleTest(unittest.TestCase):
    """Kernel records that cut into a user-space line on the console."""

    EVENT = "[   11.230804] arm_smmu_v3_rs 9050000.smmuv3: event: F_TRANSLATION sid 0x8"

    def test_record_before_the_newline(self):
        text = f"    ok 4 dma_after_unmap_blocked{self.EVENT}\r\n\r\n    ok 5 msi\r\n"
        self.assertEqual(console.untangle(text).splitlines(),
                         [self.EVENT, "    ok 4 dma_after_unmap_blocked", "    ok 5 msi"])

    def test_records_mid_word(self):
        text = (f"IOMMU-RS-E2E-E{self.EVENT}\n[   11.3] second record\nND: 10-vfio-edu 0\n"
                "IOMMU-RS-EXIT: 0\n")
        self.assertEqual(console.untangle(text).splitlines(),
                         [self.EVENT, "[   11.3] second record", "IOMMU-RS-E2E-END: 10-vfio-edu 0",
                          "IOMMU-RS-EXIT: 0"])

    def test_whole_lines_untouched(self):
        self.assertEqual(console.untangle(KUNIT_PASS), KUNIT_PASS)

    def test_ktap_across_a_cut(self):
        text = ("KTAP version 1\n1..2\nok 1 a\nok 2 b_" + self.EVENT + "\nfinal\n")
        p = ktap.parse(console.untangle(text))
        self.assertEqual(p.errors, [])
        self.assertEqual([n for n, _ in p.leaves()], ["a", "b_final"])


class BootTest(unittest.TestCase):
    """Runs the real boot() against stand-in QEMU binaries."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.old_logs = harness.LOGS
        harness.LOGS = Path(self.tmp.name) / "logs"
        self.addCleanup(setattr, harness, "LOGS", self.old_logs)

    def test_hung_boot_is_killed_and_reported(self):
        q = fake_qemu(self.tmp.name, "echo booting; exec sleep 60")
        b = harness.boot("hang", [q], timeout=2)
        self.assertTrue(b.timed_out)
        self.assertLess(b.seconds, 10)
        self.assertTrue(any("hung" in f for f in b.failures), b.failures)
        self.assertIn("booting", b.log_path.read_text())

    def test_qemu_abort_is_reported(self):
        q = fake_qemu(self.tmp.name, "echo 'qemu: hardware error'; kill -ABRT $$")
        b = harness.boot("abort", [q], timeout=10)
        self.assertFalse(b.timed_out)
        self.assertTrue(any("QEMU exited with status" in f for f in b.failures), b.failures)

    def test_console_is_untangled(self):
        q = fake_qemu(self.tmp.name, r"printf 'IOMMU-RS-EX[    1.5] a record\r\nIT: 0\r\n'")
        b = harness.boot("tangled", [q], timeout=10)
        self.assertEqual(b.failures, [])
        self.assertEqual(b.guest_status, 0)

    def test_clean_run(self):
        q = fake_qemu(self.tmp.name, "echo 'IOMMU-RS-EXIT: 0'")
        b = harness.boot("clean", [q], timeout=10)
        self.assertEqual(b.failures, [])
        self.assertEqual(b.guest_status, 0)


class QemuCommandTest(unittest.TestCase):
    """The SMMU variants reach QEMU as the machine and properties that give their stages."""

    def setUp(self):
        old = harness.drivers_built
        harness.drivers_built = lambda: ["c", "rust"]
        self.addCleanup(setattr, harness, "drivers_built", old)
        # qemu_command makes the disk image: in a private directory, not the cache.
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.addCleanup(setattr, harness, "GUEST", harness.GUEST)
        harness.GUEST = Path(tmp.name)

    def machine(self, cmd):
        return cmd[cmd.index("-M") + 1], [a for a in cmd if a.startswith("arm-smmuv3.")]

    def test_stages(self):
        def cmd(stages):
            return harness.qemu_command("initrd", "run", "rust", stages=stages)
        self.assertEqual(self.machine(cmd("nested")), ("virt,iommu=smmuv3,gic-version=3", []))
        self.assertEqual(self.machine(cmd("1")), ("virt-9.1,iommu=smmuv3,gic-version=3", []))
        self.assertEqual(self.machine(cmd("2")),
                         ("virt-9.1,iommu=smmuv3,gic-version=3", ["arm-smmuv3.stage=2"]))

    def test_other_driver_blacklisted(self):
        c = harness.qemu_command("initrd", "run", "rust")
        self.assertIn("initcall_blacklist=arm_smmu_driver_init", c[c.index("-append") + 1])

    def test_unknown_dt_edit_refused(self):
        with self.assertRaises(harness.HarnessError) as cm:
            harness.qemu_command("initrd", "run", "rust", dt_edits=("no-such",))
        self.assertIn("unknown device tree edit(s) no-such", str(cm.exception))

    def test_unknown_stages_refused(self):
        with self.assertRaises(harness.HarnessError) as cm:
            harness.qemu_command("initrd", "run", "rust", stages="3")
        self.assertIn("unknown SMMU stages '3'", str(cm.exception))

    def test_acpi_boots_through_edk2(self):
        self.addCleanup(setattr, harness, "EDK2", harness.EDK2)
        harness.EDK2 = Path(__file__)
        c = harness.qemu_command("initrd", "run", "rust", acpi=True)
        self.assertEqual(c[c.index("-bios") + 1], str(harness.EDK2))
        # Still a direct kernel boot, and nothing that would hand over a device tree or force
        # ACPI: EDK2 installs the ACPI tables and no device tree.
        self.assertIn("-kernel", c)
        self.assertNotIn("-dtb", c)
        self.assertNotIn("acpi=", c[c.index("-append") + 1])
        self.assertNotIn("-bios", harness.qemu_command("initrd", "run", "rust"))

    def test_acpi_refuses_device_tree_edits(self):
        self.addCleanup(setattr, harness, "EDK2", harness.EDK2)
        harness.EDK2 = Path(__file__)
        with self.assertRaises(harness.HarnessError) as cm:
            harness.qemu_command("initrd", "run", "c", dt_edits=("non-coherent",), acpi=True)
        self.assertIn("do not apply to an ACPI boot", str(cm.exception))

    def test_acpi_without_edk2_says_what_is_missing(self):
        self.addCleanup(setattr, harness, "EDK2", harness.EDK2)
        harness.EDK2 = Path("/nonexistent/QEMU_EFI.fd")
        with self.assertRaises(harness.HarnessError) as cm:
            harness.qemu_command("initrd", "run", "rust", acpi=True)
        self.assertIn("qemu-efi-aarch64", str(cm.exception))


# Console excerpts of a Rust and a C driver boot, on ACPI and on a device tree.
ACPI_RUST = """\
[    0.000000] ACPI: IORT 0x00000000F92FE418 0000EC (v03 BOCHS  BXPC     00000001 BXPC 00000001)
[    0.400000] arm_smmu_v3_rs arm-smmu-v3.0.auto: IORT SMMUv3 node at 0x9050000: model Generic, \
coherent, HTTU override None
[    0.500000] arm_smmu_v3_rs arm-smmu-v3.0.auto: registered with the IOMMU core
SMMUv3 arm-smmu-v3.0.auto: platform device bound to driver 'arm_smmu_v3_rs' (firmware: ACPI IORT)
"""
ACPI_C = """\
[    0.000000] ACPI: IORT 0x00000000F92FE418 0000EC (v03 BOCHS  BXPC     00000001 BXPC 00000001)
[    0.400000] arm-smmu-v3 arm-smmu-v3.0.auto: option mask 0x0
[    0.500000] arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x01088705)
SMMUv3 arm-smmu-v3.0.auto: platform device bound to driver 'arm-smmu-v3' (firmware: ACPI IORT)
  dmesg: arm-smmu-v3 arm-smmu-v3.0.auto: ias 44-bit, oas 44-bit (features 0x01088705)
"""
DT_RUST = """\
[    0.500000] arm_smmu_v3_rs 9050000.smmuv3: registered with the IOMMU core
SMMUv3 9050000.smmuv3: platform device bound to driver 'arm_smmu_v3_rs' (firmware: device tree)
"""


class FirmwareTest(unittest.TestCase):
    """An ACPI boot counts only if the SMMU came from the IORT, a DT boot only from the DT."""

    def problems(self, text, driver="rust", acpi=True):
        return harness.smmu_firmware_problems(text, driver, acpi)

    def test_acpi_boots_pass(self):
        self.assertEqual(self.problems(ACPI_RUST), [])
        self.assertEqual(self.problems(ACPI_C, "c"), [])
        self.assertEqual(self.problems(DT_RUST, acpi=False), [])

    def test_device_tree_boot_is_not_acpi(self):
        why = " ".join(self.problems(DT_RUST))
        self.assertIn("described by the device tree, not the ACPI IORT", why)
        self.assertIn("found no IORT", why)

    def test_acpi_boot_is_not_device_tree(self):
        why = " ".join(self.problems(ACPI_RUST, acpi=False))
        self.assertIn("described by the ACPI IORT, not the device tree", why)
        self.assertIn("read an IORT node on a device-tree boot", why)

    def test_unbound_smmu(self):
        # The Rust driver not matched to the IORT device: nothing probed, the device unbound.
        text = ("[    0.000000] ACPI: IORT 0x00000000F92FE418 0000EC (v03 BOCHS  BXPC)\n"
                "SMMUv3 arm-smmu-v3.0.auto: platform device bound to driver 'none' "
                "(firmware: ACPI IORT)\n")
        why = " ".join(self.problems(text))
        self.assertIn("probe message names no device", why)
        self.assertIn("did not report reading arm-smmu-v3.0.auto's IORT node", why)

    def test_node_not_read(self):
        text = "\n".join(line for line in ACPI_RUST.splitlines() if "IORT SMMUv3 node" not in line
                         and "coherent, HTTU" not in line)
        self.assertIn("did not report reading", " ".join(self.problems(text)))

    def test_no_smmu_line(self):
        self.assertIn("expected one SMMUv3 platform device line",
                      " ".join(self.problems("[    0.1] ACPI: IORT 0x0 \n")))

    def test_dt_only_scripts_have_reasons(self):
        skip = harness.e2e_not_on_acpi()
        self.assertIn("12-fw-resv-region", skip)
        self.assertTrue(all(skip.values()))

    def test_dt_only_script_without_reason_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp)
            (repo / "qemu-ci/config").mkdir(parents=True)
            (repo / "qemu-ci/guest/e2e").mkdir(parents=True)
            (repo / "qemu-ci/guest/e2e/12-x").write_text("")
            (repo / "qemu-ci/config/e2e-acpi").write_text("# c\n12-x\n")
            self.addCleanup(setattr, harness, "REPO", harness.REPO)
            harness.REPO = repo
            with self.assertRaises(harness.HarnessError) as cm:
                harness.e2e_not_on_acpi()
            self.assertIn("gives no reason", str(cm.exception))
            (repo / "qemu-ci/config/e2e-acpi").write_text("13-y because\n")
            with self.assertRaises(harness.HarnessError) as cm:
                harness.e2e_not_on_acpi()
            self.assertIn("unknown scripts: ['13-y']", str(cm.exception))


def iort_table(rc_flags=0x3, rc=True, oem_rev=1, smmu_flags=None):
    """An IORT as QEMU builds it: an ITS group node, (if `smmu_flags` is not None) an SMMUv3
    node with those flags, then (if `rc`) a root complex node whose memory access flags are
    `rc_flags`; valid checksum."""
    its = bytes([0, 24, 0, 1]) + bytes(12) + (1).to_bytes(4, "little") + bytes(4)
    nodes = [its]
    if smmu_flags is not None:
        node = bytearray(bytes(16) + (0x9050000).to_bytes(8, "little")
                         + smmu_flags.to_bytes(4, "little") + bytes(40))
        node[0], node[1:3], node[3] = 4, len(node).to_bytes(2, "little"), 4
        nodes.append(bytes(node))
    if rc:
        body = bytes(16)
        mem = (1).to_bytes(4, "little") + bytes([0]) + bytes(2) + bytes([rc_flags])
        tail = bytes(12)
        node = bytearray(body + mem + tail)
        node[0], node[1:3], node[3] = 2, len(node).to_bytes(2, "little"), 3
        nodes.append(bytes(node))
    payload = len(nodes).to_bytes(4, "little") + (48).to_bytes(4, "little") + bytes(4)
    t = bytearray(b"IORT" + bytes(4) + bytes([3, 0]) + b"BOCHS " + b"BXPC    "
                  + oem_rev.to_bytes(4, "little") + b"BXPC" + (1).to_bytes(4, "little")
                  + payload + b"".join(nodes))
    t[4:8] = len(t).to_bytes(4, "little")
    harness.acpi_checksum_fixed(t)
    return bytes(t)


class IortTest(unittest.TestCase):
    """--iort canwbs: QEMU's IORT, changed, in the initramfs."""

    def test_canwbs_sets_the_flag_raises_the_revision_and_fixes_the_checksum(self):
        t = harness.iort_with_canwbs(iort_table())
        rc = harness.iort_root_complexes(t)
        self.assertEqual(len(rc), 1)
        self.assertEqual(t[rc[0] + 23], 0x7)
        self.assertEqual(int.from_bytes(t[24:28], "little"), 2)
        self.assertEqual(sum(t) & 0xff, 0)
        # Nothing else moved.
        diff = [i for i, (a, b) in enumerate(zip(t, iort_table())) if a != b]
        self.assertEqual(diff, [9, 24, rc[0] + 23])

    def test_canwbs_httu_also_sets_the_smmu_httu_override(self):
        plain = iort_table(smmu_flags=0x1)
        t = harness.iort_with_canwbs_httu(plain)
        smmu = harness.iort_nodes(t, harness.IORT_NODE_SMMU_V3, 28)
        rc = harness.iort_root_complexes(t)
        self.assertEqual(len(smmu), 1)
        # COHACC kept, HTTU override 0b10 (access and dirty) in bits 2:1.
        self.assertEqual(int.from_bytes(t[smmu[0] + 24:smmu[0] + 28], "little"), 0x5)
        self.assertEqual(t[rc[0] + 23], 0x7)
        self.assertEqual(sum(t) & 0xff, 0)
        diff = [i for i, (a, b) in enumerate(zip(t, plain)) if a != b]
        self.assertEqual(diff, [9, 24, smmu[0] + 24, rc[0] + 23])
        with self.assertRaisesRegex(harness.HarnessError, "no SMMUv3 node"):
            harness.iort_with_canwbs_httu(iort_table())

    def test_malformed_tables_are_refused(self):
        good = iort_table()
        for bad, why in [(b"DSDT" + good[4:], "signature"), (good[:-1], "length"),
                         (good[:9] + bytes([good[9] ^ 1]) + good[10:], "checksum")]:
            with self.subTest(why), self.assertRaises(harness.HarnessError):
                harness.iort_with_canwbs(bad)
        with self.assertRaisesRegex(harness.HarnessError, "no root complex"):
            harness.iort_with_canwbs(iort_table(rc=False))
        # A node running past the end of the table.
        t = bytearray(good)
        t[48 + 1] = 0xff
        harness.acpi_checksum_fixed(t)
        with self.assertRaisesRegex(harness.HarnessError, "bad length"):
            harness.iort_with_canwbs(bytes(t))

    def test_the_machine_key_ignores_kernel_initramfs_and_command_line(self):
        a = ["qemu", "-M", "virt", "-kernel", "K1", "-initrd", "I1", "-append", "x=1"]
        b = ["qemu", "-M", "virt", "-kernel", "K2", "-initrd", "I2", "-append", "y=2"]
        c = ["qemu", "-M", "virt-9.1", "-kernel", "K1", "-initrd", "I1", "-append", "x=1"]
        self.assertEqual(harness._machine_key(a), harness._machine_key(b))
        self.assertNotEqual(harness._machine_key(a), harness._machine_key(c))

    def test_tables_come_first_uncompressed_in_the_initramfs(self):
        with tempfile.TemporaryDirectory() as d, \
                unittest.mock.patch.object(harness, "GUEST", Path(d)):
            initrd = Path(d) / "initramfs.cpio.gz"
            initrd.write_bytes(b"\x1f\x8b rest")
            out = harness.initrd_with_acpi_tables(initrd, {"iort.aml": b"IORT table"})
            data = out.read_bytes()
            self.assertTrue(data.endswith(b"\x1f\x8b rest"))
            listing = subprocess.run(["cpio", "-t", "--quiet"], input=data,
                                     capture_output=True, check=True).stdout.decode()
            self.assertIn("kernel/firmware/acpi/iort.aml", listing.split())

    def test_the_override_must_show_on_the_console(self):
        took = ("[    0.000000] ACPI: IORT ACPI table found in initrd "
                "[kernel/firmware/acpi/iort.aml][0xec]\n"
                "[    0.000000] ACPI: Table Upgrade: override [IORT-BOCHS -BXPC    ]\n")
        self.assertEqual(harness.iort_override_problems(took), [])
        self.assertEqual(len(harness.iort_override_problems("")), 2)
        self.assertEqual(len(harness.iort_override_problems(took.splitlines()[0])), 1)

    def test_an_iort_edit_needs_an_acpi_boot(self):
        with self.assertRaisesRegex(harness.HarnessError, "needs an ACPI boot"):
            harness.qemu_command(Path("/nonexistent"), "run", "c", iort="canwbs")
        with self.assertRaisesRegex(harness.HarnessError, "needs an ACPI boot"):
            harness.qemu_command(Path("/nonexistent"), "run", "c", acpi=True, iort="other")


class BuildProgramsTest(unittest.TestCase):
    """build_programs() recompiles a guest program when anything it includes changed."""

    def setUp(self):
        td = tempfile.TemporaryDirectory()
        self.addCleanup(td.cleanup)
        tmp = Path(td.name)
        for name, value in (("REPO", tmp / "repo"), ("KOUT", tmp / "kout"),
                            ("GUEST", tmp / "guest"), ("need", lambda *a, **k: None)):
            self.addCleanup(setattr, harness, name, getattr(harness, name))
            setattr(harness, name, value)
        self.src = tmp / "repo/qemu-ci/guest"
        self.src.mkdir(parents=True)
        (self.src / "prog.c").write_text('#include "lib.h"\n')
        (self.src / "lib.h").write_text("\n")
        (tmp / "kout/usr/include/linux").mkdir(parents=True)
        for h in ("iommufd.h", "vfio.h"):
            (tmp / "kout/usr/include/linux" / h).write_text("\n")
        # A stand-in compiler that logs each compile and writes the -o file.
        self.log = tmp / "cc.log"
        cc = tmp / "cc"
        cc.write_text(f'#!/bin/sh\necho "$@" >> {self.log}\n'
                      'while [ "$1" != -o ]; do shift; done; : > "$2"\n')
        cc.chmod(0o755)
        self.addCleanup(setattr, harness, "CLANG", harness.CLANG)
        harness.CLANG = str(cc)

    def compiles(self):
        n = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        harness.build_programs()
        return len(self.log.read_text().splitlines()) - n

    def age(self, path, seconds):
        t = path.stat().st_mtime - seconds
        os.utime(path, (t, t))

    def test_rebuilt_only_when_a_source_or_header_is_newer(self):
        self.assertEqual(self.compiles(), 1)
        for f in (self.src / "prog.c", self.src / "lib.h",
                  *harness.KOUT.glob("usr/include/linux/*.h")):
            self.age(f, 100)
        self.assertEqual(self.compiles(), 0)
        (self.src / "lib.h").touch()
        self.assertEqual(self.compiles(), 1)


@contextlib.contextmanager
def mock_argv(argv):
    old = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = old


def load_script(name):
    """A qemu-ci command (a file without .py) as a module."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(QEMU_CI / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


FIRST_KERNEL = """\
[    1.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
[    2.000000] arm_smmu_v3_rs 9050000.smmuv3: registered with the IOMMU core
vfio-edu: busy: edu 0000:00:01.0 DMAing through the IOMMU
[    9.000000] IOMMU-RS-KEXEC: loaded /iommu-rs/kexec/Image, rebooting into it
[    9.100000] kexec_core: Starting new kernel
"""

SECOND_KERNEL = """\
[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
[    1.000000] arm_smmu_v3_rs 9050000.smmuv3: registered with the IOMMU core
IOMMU-RS-KEXEC: second kernel up, mode e2e
SMMUv3 9050000.smmuv3: platform device bound to driver 'arm_smmu_v3_rs'
IOMMU-RS-E2E: 20-virtio-blk
KTAP version 1
1..1
ok 1 blk_write_read_8MiB
IOMMU-RS-E2E-END: 20-virtio-blk 0
IOMMU-RS-EXIT: 0
"""


class ReferenceFindingTest(unittest.TestCase):
    """A known finding about the C driver is reported as a skip with its reason, only for the C
    driver, only with its evidence in the log, and nothing else is excused."""

    LOCKDEP = ("[   16.2] WARNING: possible circular locking dependency detected\n"
               "[   16.3]   &viommu->veventqs_rwsem --> &group->mutex --> &smmu->streams_mutex\n"
               "IOMMU-RS-EXIT: 0\n")

    def judge(self, driver, text):
        test = load_script("test")
        tally = test.Tally()
        b = boot_of(text)
        with contextlib.redirect_stdout(io.StringIO()):
            test.reference_findings(tally, "x", driver, b)
        return tally, b

    def test_c_finding_is_a_skip_with_its_reason(self):
        tally, b = self.judge("c", self.LOCKDEP)
        self.assertEqual(b.failures, [])
        self.assertEqual((tally.passed, tally.failed, tally.skipped), (0, 0, 1))

    def test_not_excused_for_the_rust_driver(self):
        tally, b = self.judge("rust", self.LOCKDEP)
        self.assertEqual(len(b.failures), 1)
        self.assertTrue(b.failures[0].startswith("guest lockdep:"))
        self.assertEqual(tally.skipped, 0)

    def test_another_lockdep_report_is_not_excused(self):
        text = self.LOCKDEP.replace("&smmu->streams_mutex", "&other->lock")
        tally, b = self.judge("c", text)
        self.assertEqual(len(b.failures), 1)

    def test_other_problems_stay(self):
        tally, b = self.judge("c", "[   16.1] WARNING: CPU: 0 PID: 1 at foo.c:1 bar\n" + self.LOCKDEP)
        self.assertEqual(len(b.failures), 1)
        self.assertTrue(b.failures[0].startswith("guest WARN"), b.failures)


class KexecTest(unittest.TestCase):
    """A kexec boot: two kernels on one console, judged as one run."""

    def checks(self, text):
        test = load_script("test")
        tally = test.Tally()
        with contextlib.redirect_stdout(io.StringIO()):
            second = test.kexec_checks(tally, "rust-kexec", boot_of(text))
        return tally, second

    def test_split(self):
        first, second = console.split_kexec(FIRST_KERNEL + SECOND_KERNEL)
        self.assertTrue(first.endswith("rebooting into it\n"))
        self.assertTrue(second.startswith("[    9.100000] kexec_core: Starting new kernel"))
        self.assertEqual(console.split_kexec(SECOND_KERNEL), (SECOND_KERNEL, None))

    def test_clean_kexec(self):
        tally, second = self.checks(FIRST_KERNEL + SECOND_KERNEL)
        self.assertEqual((tally.passed, tally.failed), (3, 0), tally.failures)
        self.assertIn("IOMMU-RS-E2E: 20-virtio-blk", second)
        self.assertNotIn("DMAing", second)

    def test_smmu_found_enabled(self):
        text = SECOND_KERNEL.replace(
            "[    1.000000] arm_smmu_v3_rs",
            "[    0.900000] arm_smmu_v3_rs 9050000.smmuv3: SMMU currently enabled! Resetting...\n"
            "[    1.000000] arm_smmu_v3_rs")
        tally, _ = self.checks(FIRST_KERNEL + text)
        self.assertEqual(len(tally.failures), 1, tally.failures)
        self.assertIn("smmu_disabled_at_kexec", tally.failures[0])

    def test_enabled_in_the_first_kernel_only_is_not_the_second(self):
        text = FIRST_KERNEL.replace(
            "[    2.000000]",
            "[    1.900000] arm_smmu_v3_rs 9050000.smmuv3: SMMU currently enabled! Resetting...\n"
            "[    2.000000]")
        tally, _ = self.checks(text + SECOND_KERNEL)
        self.assertEqual(tally.failed, 0, tally.failures)

    def test_no_kexec(self):
        tally, second = self.checks(FIRST_KERNEL.split("[    9.0")[0] + "IOMMU-RS-EXIT: 1\n")
        self.assertEqual(second, "")
        self.assertEqual(tally.failed, 3, tally.failures)
        self.assertIn("never loaded the second", tally.failures[0])

    def test_second_kernel_never_up(self):
        tally, _ = self.checks(FIRST_KERNEL + "[    0.000000] Booting Linux on physical CPU 0x0\n")
        self.assertEqual(tally.failed, 2, tally.failures)
        b = boot_of(FIRST_KERNEL + "[    0.000000] Booting Linux on physical CPU 0x0\n")
        self.assertTrue(any("never reached the end" in f for f in b.failures), b.failures)

    def test_problem_in_either_kernel_fails_the_boot(self):
        warn = "[ 3.0] WARNING: CPU: 1 PID: 1 at drivers/iommu/iommu.c:100 f+0x1/0x2\n"
        for text in (warn + FIRST_KERNEL + SECOND_KERNEL, FIRST_KERNEL + warn + SECOND_KERNEL):
            self.assertTrue(any(f.startswith("guest WARN") for f in boot_of(text).failures))

    def test_initramfs_carries_the_kernel_and_the_second_initramfs(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for name, value in (("GUEST", tmp / "guest"), ("IMAGE", tmp / "Image"),
                                ("BUSYBOX", tmp / "busybox"),
                                ("build_programs", lambda: []),
                                ("build_selftests", lambda: [])):
                self.addCleanup(setattr, harness, name, getattr(harness, name))
                setattr(harness, name, value)
            harness.IMAGE.write_bytes(b"kernel")
            harness.BUSYBOX.write_bytes(b"busybox")
            second = harness.build_initramfs()
            first = harness.build_initramfs(kexec_into=second)
            self.assertNotEqual(first, second)
            listing = subprocess.run(f"zcat {first} | cpio -t --quiet", shell=True,
                                     capture_output=True, text=True, check=True).stdout
            self.assertIn("iommu-rs/kexec/Image\n", listing)
            self.assertIn("iommu-rs/kexec/initrd.cpio.gz\n", listing)
            plain = subprocess.run(f"zcat {second} | cpio -t --quiet", shell=True,
                                   capture_output=True, text=True, check=True).stdout
            self.assertNotIn("kexec/", plain)


KUNIT_LIVE = """\
[    1.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
[    2.100000] KTAP version 1
[    2.100001] 1..2
[    2.100002]     KTAP version 1
[    2.100003]     # Subtest: arm_smmu_v3_rs_hw
[    2.100004]     1..2
[    2.100005]     ok 1 ste_bypass
[    2.100006] arm_smmu_v3_rs 9050000.smmuv3: registered with the IOMMU core
[    2.100007]     ok 2 cd_s1
[    2.100008] # arm_smmu_v3_rs_hw: pass:2 fail:0 skip:0 total:2
[    2.100009] ok 1 arm_smmu_v3_rs_hw
[    2.100010]     KTAP version 1
[    2.100011]     # Subtest: arm_smmu_v3_rs_live
[    2.100012]     1..1
[    2.100013]     ok 1 cmdq_batches
[    2.100014] ok 2 arm_smmu_v3_rs_live
[    2.200000] reboot: Power down
"""


@unittest.skipUnless((harness.KSRC / "tools/testing/kunit/kunit_parser.py").exists(),
                     "no kernel tree with tools/testing/kunit yet (qemu-ci/setup)")
class KunitPolicyTest(unittest.TestCase):
    """The KUnit boot's results, read by the kernel's kunit_parser, and the project's policy."""

    SUITES = {"arm_smmu_v3_rs_hw": (2, "CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST"),
              "arm_smmu_v3_rs_live": (1, "CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST"),
              "arm-smmu-v3-kunit-test": (25, "CONFIG_ARM_SMMU_V3_KUNIT_TEST")}
    CONFIG = {"CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST": "y", "CONFIG_ARM_SMMU_V3_KUNIT_TEST": "y"}

    def results(self, text, config=None, suites=None):
        test = load_script("test")
        test.expected_suites = lambda: dict(suites or {k: v for k, v in self.SUITES.items()
                                                       if k != "arm-smmu-v3-kunit-test"})
        tally = test.Tally()
        with contextlib.redirect_stdout(io.StringIO()):
            test.kunit_results(tally, "kunit", text, "rust", config or self.CONFIG)
        return tally

    def test_pass(self):
        tally = self.results(KUNIT_LIVE)
        self.assertEqual((tally.passed, tally.failed, tally.skipped), (4, 0, 0), tally.failures)

    def test_failing_case(self):
        tally = self.results(KUNIT_LIVE.replace("    ok 2 cd_s1", "    not ok 2 cd_s1")
                             .replace("ok 1 arm_smmu_v3_rs_hw", "not ok 1 arm_smmu_v3_rs_hw"))
        self.assertIn("kunit:arm_smmu_v3_rs_hw.cd_s1: FAILURE", tally.failures)

    def test_crash_mid_suite(self):
        text = KUNIT_LIVE.split("[    2.100007]")[0] + "[    2.2] Kernel panic - not syncing\n"
        tally = self.results(text)
        self.assertTrue(any(f.startswith("kunit:ktap:") for f in tally.failures),
                        tally.failures)
        self.assertIn("kunit:arm_smmu_v3_rs_hw: 1 cases reported, at least 2 expected",
                      tally.failures)

    def test_missing_suite_and_skipped_live_suite(self):
        text = KUNIT_LIVE.replace("ok 1 cmdq_batches", "ok 1 cmdq_batches # SKIP no SMMU bound")
        tally = self.results(text, suites=self.SUITES)
        self.assertIn("kunit:arm-smmu-v3-kunit-test: suite missing from the KUnit output",
                      tally.failures)
        self.assertTrue(any(f.startswith("kunit:arm_smmu_v3_rs_live:ran: skipped with the rust")
                            for f in tally.failures), tally.failures)

    def test_suite_of_a_config_not_built_is_skipped(self):
        config = {"CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST": "y"}
        tally = self.results(KUNIT_LIVE, config=config, suites=self.SUITES)
        self.assertEqual((tally.failed, tally.skipped), (0, 1), tally.failures)

    def test_no_results(self):
        tally = self.results("[    1.0] Booting Linux\n")
        self.assertIn("kunit:ktap: no KUnit results at all", tally.failures)


class MemoryCheckTest(unittest.TestCase):
    """Boots of a kmemleak kernel: scanned at the end, no report; of the KASAN one: KASAN on."""

    CLEAN = ("[    0.000000] KernelAddressSanitizer initialized (generic)\n"
             "IOMMU-RS-KMEMLEAK: scanned, 0 leaks\nIOMMU-RS-EXIT: 0\n")
    LEAK = ("unreferenced object 0xffff000004a1b000 (size 64):\n"
            "  comm \"swapper/0\", pid 1, jiffies 4294892296\n")

    def checks(self, text):
        test = load_script("test")
        tally = test.Tally()
        with contextlib.redirect_stdout(io.StringIO()):
            test.add_boot(tally, boot_of(text), config={"CONFIG_DEBUG_KMEMLEAK": "y"})
            test.memory_checks(tally, "kunit-rust-kasan", boot_of(text))
        return tally

    def test_no_kmemleak_no_scan_needed(self):
        test = load_script("test")
        tally = test.Tally()
        text = self.CLEAN.replace("IOMMU-RS-KMEMLEAK: scanned, 0 leaks\n", "")
        with contextlib.redirect_stdout(io.StringIO()):
            test.add_boot(tally, boot_of(text), config={"CONFIG_DEBUG_KMEMLEAK": "n"})
        self.assertEqual(tally.failed, 0, tally.failures)

    def test_clean(self):
        self.assertEqual(self.checks(self.CLEAN).failed, 0)
        self.assertEqual(boot_of(self.CLEAN).failures, [])

    def test_leak_reported_fails_the_boot(self):
        text = self.CLEAN.replace("IOMMU-RS-KMEMLEAK: scanned, 0",
                                  self.LEAK + "IOMMU-RS-KMEMLEAK: scanned, 1")
        self.assertTrue(any(f.startswith("guest kmemleak") for f in boot_of(text).failures))
        self.assertTrue(any("kmemleak found 1 leaks" in f for f in self.checks(text).failures))
        notice = "[  600.1] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n"
        self.assertTrue(any(f.startswith("guest kmemleak")
                            for f in boot_of(notice + self.CLEAN).failures))

    def test_no_scan_or_no_kasan(self):
        tally = self.checks(self.CLEAN.replace("IOMMU-RS-KMEMLEAK: scanned, 0 leaks\n", ""))
        self.assertIn("the end-of-boot kmemleak scan did not run", tally.failures[0])
        self.assertEqual(tally.failed, 1, tally.failures)
        tally = self.checks(self.CLEAN.replace("KernelAddressSanitizer initialized", "x"))
        self.assertIn("KASAN is not on", tally.failures[0])

    def test_kasan_report_fails_the_boot(self):
        text = "[ 5.0] BUG: KASAN: slab-use-after-free in arm_smmu_v3_rs::x+0x1/0x2\n" + self.CLEAN
        self.assertTrue(any("KASAN" in f or "BUG" in f for f in boot_of(text).failures))


class RstTest(unittest.TestCase):
    def test_warnings_are_reported(self):
        from qemuci import rst
        good = "Title\n=====\n\nText with ``code``.\n"
        self.assertEqual(rst.problems(Path("x.rst"), good), [])
        bad = "=====\nA longer title\n=====\n\n- item\n  continued\n    indented\n"
        why = rst.problems(Path("x.rst"), bad)
        self.assertTrue(any("Title overline too short" in w for w in why), why)


class KunitPyTest(unittest.TestCase):
    """kunit/'s files for kunit.py must describe qemu-ci's KUnit boot."""

    KERNEL = {"CONFIG_KUNIT": "y", "CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST": "y",
              "CONFIG_PCI": "y", "CONFIG_SERIAL_AMBA_PL011": "y",
              "CONFIG_SERIAL_AMBA_PL011_CONSOLE": "y"}
    SUITES = {"arm_smmu_v3_rs_hw": "CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST"}

    def files(self, kunitconfig, qemu=None):
        d = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", str(d)]))
        (d / "k").write_text(kunitconfig)
        text = (QEMU_CI.parent / "kunit/qemu_arm64_smmuv3.py").read_text()
        (d / "q.py").write_text(qemu(text) if qemu else text)
        return d / "k", d / "q.py"

    def diff(self, kernel, suites, *files):
        from qemuci import kunitpy
        k, q = files
        return kunitpy.differences(kernel, suites, kunitconfig=k, qemu_config=q)

    def test_the_project_files_parse(self):
        from qemuci import kunitpy
        self.assertIn("CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST", kunitpy.settings(
            kunitpy.KUNITCONFIG.read_text()))
        self.assertEqual(kunitpy.qemu_params()["linux_arch"], "arm64")

    def test_matching(self):
        files = self.files("CONFIG_KUNIT=y\nCONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST=y\n",
                           lambda t: t.replace("CONFIG_PCI_HOST_GENERIC=y\nCONFIG_PCI_MSI=y\n"
                                               "CONFIG_KALLSYMS=y", ""))
        self.assertEqual(self.diff(self.KERNEL, self.SUITES, *files), [])

    def test_setting_not_in_the_kernel(self):
        files = self.files("CONFIG_KUNIT=y\nCONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST=y\n"
                           "CONFIG_KASAN=y\n")
        why = self.diff(self.KERNEL, self.SUITES, *files)
        self.assertIn("CONFIG_KASAN=y for kunit.py, but n in the KUnit boot's kernel", why)

    def test_required_suite_not_enabled(self):
        files = self.files("CONFIG_KUNIT=y\n")
        why = self.diff(self.KERNEL, self.SUITES, *files)
        self.assertIn("suite arm_smmu_v3_rs_hw is required, but kunit.py's config lacks "
                      "CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST=y", why)

    def test_other_machine_or_driver(self):
        files = self.files("CONFIG_KUNIT=y\nCONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST=y\n",
                           lambda t: t.replace("virt,iommu=smmuv3,gic-version=3", "virt")
                           .replace(" initcall_blacklist=arm_smmu_driver_init", ""))
        why = " / ".join(self.diff(self.KERNEL, self.SUITES, *files))
        self.assertIn("kunit.py's machine is virt", why)
        self.assertIn("does not bind the Rust driver", why)


class BenchTest(unittest.TestCase):
    def test_parse_only_guest_lines(self):
        bench = load_script("bench")
        self.assertEqual(bench.parse("BENCH map_4k 123 ns\n[  1.0] BENCH x 1 ns\n"
                                     "BENCH blk_read 5 MiB/s\n"),
                         {"map_4k": (123, "ns"), "blk_read": (5, "MiB/s")})

    def test_table_medians_spread_and_ratio(self):
        bench = load_script("bench")
        lines = bench.table({"c": [{"m": (100, "ns")}, {"m": (110, "ns")}, {"m": (90, "ns")}],
                             "rust": [{"m": (200, "ns")}, {"m": (200, "ns")}, {"m": (200, "ns")}]})
        self.assertIn("rust/c time", lines[0])
        self.assertEqual(lines[1].split(), ["m", "100", "ns", "(20%)", "200", "ns", "(0%)", "2.00"])
        # A throughput's ratio is inverted: the Rust driver's twice the rate is half the time.
        lines = bench.table({"c": [{"r": (100, "cmd/s")}], "rust": [{"r": (200, "cmd/s")}]})
        self.assertEqual(lines[1].split()[-1], "0.50")

    def test_report_page_is_clean_rst(self):
        from qemuci import rst
        results = {"c": [{"m": (100, "ns"), "m_max": (9, "ns")}],
                   "rust": [{"m": (80, "ns"), "m_max": (7, "ns")}]}
        page = qbench.report_page(results, "t", "qemu-ci/bench --rounds 1", "one round", "x.png",
                                  "abc1234")
        self.assertEqual(rst.problems(Path("x.rst"), page), [])
        self.assertIn("    qemu-ci/bench --rounds 1\n", page)
        self.assertIn(".. image:: x.png", page)
        self.assertIn("at abc1234 with::", page)
        self.assertIn("0.80", page)
        self.assertEqual([qbench.plotted(n) for n in ("m", "m_max", "dma_x_map", "dma_x")],
                         [True, False, False, True])


DMA_BENCH_OUT = """\
DMA-BENCH-DOMAIN strict DMA
DMA-BENCH strict t1 g1
dma mapping benchmark(SINGLE_MODE): threads:1 seconds:1 node:-1 dir:BIDIRECTIONAL granule:1
[    9.100000] some kernel line
average map latency(us):6.5 standard deviation:29.9
average unmap latency(us):16.3 standard deviation:34.1
DMA-BENCH strict t4 g16
dma mapping benchmark(SINGLE_MODE): threads:4 seconds:1 node:-1 dir:BIDIRECTIONAL granule:16
average map latency(us):22.1 standard deviation:357.7
"""


class DmaBenchTest(unittest.TestCase):
    """qemu-ci/bench's reading of the kernel's dma_map_benchmark."""

    def test_latencies_in_ns_and_their_sum(self):
        got, why = qbench.parse_dma(DMA_BENCH_OUT)
        self.assertEqual(got, {"dma_strict_t1_g1": (22800, "ns"),
                               "dma_strict_t1_g1_map": (6500, "ns"),
                               "dma_strict_t1_g1_unmap": (16300, "ns")})
        # A case whose output is cut short is a problem, not a number.
        self.assertEqual(why, ["dma_map_benchmark strict t4 g16: no map and unmap latency"])

    def test_cases_of_the_wrong_domain_do_not_count(self):
        got, why = qbench.parse_dma(DMA_BENCH_OUT.replace("strict DMA", "strict DMA-FQ"))
        self.assertEqual(got, {})
        self.assertIn("dma_map_benchmark strict: the group's domain was DMA-FQ, not DMA", why)
        got, _ = qbench.parse_dma(DMA_BENCH_OUT.replace("DMA-BENCH-DOMAIN strict DMA\n", ""))
        self.assertEqual(got, {})

    def boot(self, text, status=0):
        return harness.Boot("bench-c-0", Path("/dev/null"), text, 0, False, 1.0,
                            guest_status=status)

    def full_output(self, viommu=False, smp=2):
        lines = ["BENCH map_4k 1 ns", "BENCH unmap_4k 1 ns", "BENCH map_2m 1 ns",
                 "BENCH unmap_2m 1 ns", "BENCH blk_read 1 MiB/s"]
        if viommu:
            lines += [f"BENCH cmdq_t{n} 1 cmd/s\nBENCH cmdq_t{n}_max 1 ns" for n in (1, 2, 4)]
        for mode, want in qbench.DMA_MODES.items():
            lines.append(f"DMA-BENCH-DOMAIN {mode} {want}")
            for t in qbench.DMA_THREADS:
                for g in qbench.DMA_GRANULES:
                    lines += [f"DMA-BENCH {mode} t{t} g{g}", "average map latency(us):1.0 x",
                              "average unmap latency(us):2.0 x"]
        for t in qbench.FLUSH_THREADS:
            if t <= smp:
                lines += [f"FLUSH-BENCH t{t}", f"threads {t} ms 200 flushes 9 flushes_per_s 45 "
                          "mean_ns 7000 max_ns 90000", "cpu 0 flushes 9 mean_ns 7000 max_ns 9"]
        return "\n".join(lines) + "\n"

    def test_every_measure_or_a_problem(self):
        for viommu in (False, True):
            for smp in (1, 2, 4):
                got, why = qbench.results_of(self.boot(self.full_output(viommu, smp)), viommu,
                                             smp)
                self.assertEqual(why, [])
                self.assertEqual(sorted(got), sorted(qbench.expected(viommu, smp)))
        # Without a vIOMMU's measures where one was asked for, or with a dma case gone.
        _, why = qbench.results_of(self.boot(self.full_output()), True, 2)
        self.assertEqual(why, ["no cmdq_t1, cmdq_t1_max, cmdq_t2, cmdq_t2_max, cmdq_t4, "
                               "cmdq_t4_max"])
        text = self.full_output().replace("DMA-BENCH lazy t4 g16\n", "")
        _, why = qbench.results_of(self.boot(text), False, 2)
        self.assertEqual(why, ["no dma_lazy_t4_g16, dma_lazy_t4_g16_map, dma_lazy_t4_g16_unmap"])
        _, why = qbench.results_of(self.boot(self.full_output(), status=1), False, 2)
        self.assertEqual(why, ["guest exited 1"])
        # A flush case without its result, or a guest of 4 CPUs that ran only 2.
        text = self.full_output(smp=4).replace("threads 4 ms", "threads 3 ms")
        got, why = qbench.results_of(self.boot(text), False, 4)
        self.assertEqual(why, ["iommu_flush_bench t4: no result", "no flush_t4, flush_t4_max"])
        _, why = qbench.results_of(self.boot(self.full_output(smp=2)), False, 4)
        self.assertEqual(why, ["no flush_t4, flush_t4_max"])

    def test_flush_results(self):
        got, why = qbench.parse_flush(self.full_output(smp=2))
        self.assertEqual(why, [])
        self.assertEqual(got, {"flush_t1": (7000, "ns"), "flush_t1_max": (90000, "ns"),
                               "flush_t2": (7000, "ns"), "flush_t2_max": (90000, "ns")})
        # No flush at all is no measure.
        got, why = qbench.parse_flush(self.full_output(smp=1).replace("flushes 9 flushes_per_s",
                                                                      "flushes 0 flushes_per_s"))
        self.assertEqual((got, why), ({}, ["iommu_flush_bench t1: no result"]))

    def test_payload_runs_every_case(self):
        script = qbench.PAYLOAD.format(iommu_bench_args="-q", threads="1 2 4", granules="1 16",
                                       seconds=1, flush_threads="1 2 4", flush_ms=200)
        self.assertIn("iommu-bench -q ||", script)
        self.assertIn("./dma_map_benchmark -t $t -g $g -s 1 ||", script)
        self.assertIn("echo DMA-FQ >$type", script)
        self.assertIn('echo "$t 200" >$run && cat $run', script)


class ToolsTest(unittest.TestCase):
    def test_missing_tool_named(self):
        with self.assertRaises(harness.HarnessError) as cm:
            harness.need("qemu-system-aarch64", "sh", path="/nonexistent")
        self.assertIn("missing tool(s): qemu-system-aarch64 sh", str(cm.exception))

    def test_run_without_qemu_says_what_is_missing(self):
        env = dict(os.environ, PATH="/usr/bin/nonexistent")
        r = subprocess.run([sys.executable, str(QEMU_CI / "run"), "--no-setup", "--no-build"],
                           env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 125)
        self.assertIn("missing tool(s): qemu-system-aarch64", r.stderr)

    def run_drivers(self, *args):
        """The driver qemu-ci/run boots with `args` (QEMU itself never starts)."""
        run = load_script("run")
        got = []

        def qemu_command(initrd, mode, driver, *a, **kw):
            got.append(driver)
            raise harness.HarnessError("stop here")

        for name, value in (("prepare", lambda **kw: None),):
            self.addCleanup(setattr, run.stages, name, getattr(run.stages, name))
            setattr(run.stages, name, value)
        for name, value in (("build_initramfs", lambda *a, **kw: "initrd"),
                            ("qemu_command", qemu_command)):
            self.addCleanup(setattr, run.harness, name, getattr(run.harness, name))
            setattr(run.harness, name, value)
        with mock_argv(["run", "--no-setup", "--no-build", *args]), \
                contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(run.main(), 125)
        return got

    def test_run_boots_the_rust_driver_by_default(self):
        self.assertEqual(self.run_drivers(), ["rust"])
        self.assertEqual(self.run_drivers("--driver", "c"), ["c"])

    def test_run_acpi_with_dt_edit_refused(self):
        r = subprocess.run([sys.executable, str(QEMU_CI / "run"), "--no-setup", "--no-build",
                            "--acpi", "--dt", "non-coherent"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--dt edits the device tree", r.stderr)

    def test_build_script_without_tools_says_what_is_missing(self):
        # An empty PATH and a private cache: whatever happens, this must
        # never reach a real build.
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, PATH=tmp, IOMMU_RS_CACHE=tmp, CARGO_HOME=tmp)
            r = subprocess.run(["/bin/bash", str(QEMU_CI / "build")], env=env,
                               capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing tool(s): make clang-19", r.stderr)
        self.assertNotIn("building kernel", r.stderr)


if __name__ == "__main__":
    unittest.main()
