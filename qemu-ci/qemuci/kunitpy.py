# SPDX-License-Identifier: GPL-2.0
"""The kunit.py files of kunit/ against the kernel and machine qemu-ci's KUnit boot uses.

kunit.py builds its own kernel from kunit/.kunitconfig and kunit/qemu_arm64_smmuv3.py (a fresh
build; too long for every CI run). qemu-ci/test checks instead that what those files ask for is
what its own KUnit boot has: every setting in the kernel it boots, every suite it requires
enabled there, the same machine, and the SMMU bound to the same driver.
"""

import ast
import io
import re
import sys

from . import harness
from .harness import REPO

KUNITCONFIG = REPO / "kunit/.kunitconfig"
QEMU_CONFIG = REPO / "kunit/qemu_arm64_smmuv3.py"
_SETTING = re.compile(r"^(CONFIG_\w+)=(\S+)\s*$|^# (CONFIG_\w+) is not set\s*$", re.M)


def settings(text):
    """{symbol: value} of a kconfig fragment ("n" for "is not set")."""
    return {m.group(1) or m.group(3): m.group(2) or "n" for m in _SETTING.finditer(text)}


def qemu_params(path=None):
    """The keyword arguments of the QemuArchParams(...) call of a kunit.py qemu config."""
    tree = ast.parse((path or QEMU_CONFIG).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "QemuArchParams":
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    raise harness.HarnessError(f"{path or QEMU_CONFIG} has no QemuArchParams(...)")


def differences(kernel_config, required_suites, kunitconfig=None, qemu_config=None):
    """Why kunit/'s files do not describe the KUnit boot of qemu-ci/test (a list, empty if they
    do). `kernel_config` is that kernel's {symbol: value}; `required_suites` maps each suite
    qemu-ci/config/kunit-suites requires to the symbol that enables it."""
    why = []
    params = qemu_params(qemu_config)
    want = settings((kunitconfig or KUNITCONFIG).read_text())
    want.update(settings(params.get("kconfig", "")))
    for sym, value in sorted(want.items()):
        have = kernel_config.get(sym, "n")
        if have != value:
            why.append(f"{sym}={value} for kunit.py, but {have} in the KUnit boot's kernel")
    for suite, sym in sorted(required_suites.items()):
        if sym is None:
            why.append(f"qemu-ci/config/kunit-suites names no config symbol for {suite}")
        elif want.get(sym) != "y":
            why.append(f"suite {suite} is required, but kunit.py's config lacks {sym}=y")
    extra = params.get("extra_qemu_params", [])
    machine = extra[extra.index("-machine") + 1] if "-machine" in extra else None
    if machine != harness.SMMU_STAGES["nested"][0]:
        why.append(f"kunit.py's machine is {machine}, qemu-ci's {harness.SMMU_STAGES['nested'][0]}")
    edu = [d for d in harness.QEMU_BASE if d.startswith("edu,")]
    if not edu or not all(d in extra for d in edu):
        why.append(f"kunit.py's machine lacks the device {edu}")
    blacklist = f"initcall_blacklist={harness.DRIVERS['c']['initcall']}"
    if blacklist not in params.get("kernel_command_line", "").split():
        why.append(f"kunit.py's command line does not bind the Rust driver ({blacklist})")
    return why


# --- the kernel's KTAP parser ----------------------------------------------------------------

def kernel_parser(ksrc=None):
    """The kernel's kunit_parser and kunit_printer modules (tools/testing/kunit of the tree)."""
    d = (ksrc or harness.KSRC) / "tools/testing/kunit"
    if not (d / "kunit_parser.py").exists():
        raise harness.HarnessError(f"no kunit_parser.py in {d} (run qemu-ci/setup)")
    if str(d) not in sys.path:
        sys.path.insert(0, str(d))
    import kunit_parser  # noqa: E402
    import kunit_printer  # noqa: E402
    return kunit_parser, kunit_printer


class KunitRun:
    """The KUnit results of a console log, as the kernel's kunit_parser (what `kunit.py parse`
    runs) reads them: a tree of tests with a status each, and the parser's errors."""

    def __init__(self, text, ksrc=None):
        parser, printer = kernel_parser(ksrc)
        self.status = parser.TestStatus
        out = io.StringIO()
        self.root = parser.parse_run_tests(parser.extract_tap_lines(text.splitlines()),
                                           printer.Printer(output=out))
        self.errors = [line.split("[ERROR] ", 1)[1] for line in out.getvalue().splitlines()
                       if "[ERROR] " in line]
        if self.root.status in (self.status.TEST_CRASHED, self.status.NO_TESTS,
                                self.status.FAILURE_TO_PARSE_TESTS) and not self.errors:
            self.errors.append(f"kunit_parser: {self.root.status.name}")

    def leaves(self, test=None, prefix=""):
        """(path, test) for every test case (a test without subtests); a case the parser
        expected but never saw (crash, truncation) has no name, and the path "(missing)"."""
        for t in (test or self.root).subtests:
            path = f"{prefix}{t.name or '(missing)'}"
            if t.subtests:
                yield from self.leaves(t, path + ".")
            else:
                yield path, t

    def find(self, suite):
        """The top-level test (suite) called `suite`, or None."""
        return next((t for t in self.root.subtests if t.name == suite), None)

    def passed(self, test):
        return test.status == self.status.SUCCESS

    def skipped(self, test):
        return test.status == self.status.SKIPPED
