# SPDX-License-Identifier: GPL-2.0
"""The Rust SMMUv3 and VT-d drivers' modules depend on each other without cycles."""

import re
import unittest
from pathlib import Path

CRATE = Path(__file__).resolve().parents[2] / "drivers/iommu/arm/arm-smmu-v3-rs"

# The crate root and the test suites may use every module.
EXEMPT = {"arm_smmu_v3_rs", "kunit"}

_USE = re.compile(r"\bcrate::(\w+)|^use crate::\{(.*?)^\};", re.M | re.S)
_ITEM = re.compile(r"^\s{4}(\w+)(?:::|,|\s*$)", re.M)


def module_deps(crate=CRATE):
    """{module: the crate's top-level modules it names}, for every top-level module file."""
    files = {p.stem: p for p in crate.glob("*.rs")}
    for d in crate.iterdir():
        if d.is_dir() and (d / "mod.rs").exists():
            files[d.name] = d / "mod.rs"
    deps = {}
    for name, path in files.items():
        text = path.read_text()
        sub = crate / name
        if sub.is_dir():
            text += "".join(p.read_text() for p in sub.rglob("*.rs") if p != path)
        found = set()
        for m in _USE.finditer(text):
            if m.group(1):
                found.add(m.group(1))
            else:
                found.update(_ITEM.findall(m.group(2)))
        deps[name] = {d for d in found if d in files and d != name}
    return deps


def cycle(deps):
    """A dependency cycle as a list of modules, or None."""
    state = {}

    def visit(n, path):
        state[n] = "open"
        for d in sorted(deps.get(n, ())):
            if state.get(d) == "open":
                return path[path.index(d):] + [d] if d in path else [n, d]
            if d not in state:
                c = visit(d, path + [d])
                if c:
                    return c
        state[n] = "done"
        return None

    for n in sorted(deps):
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
    return None


class Layers(unittest.TestCase):
    def test_no_module_cycles(self):
        deps = {k: v - EXEMPT for k, v in module_deps().items() if k not in EXEMPT}
        self.assertIn("smmu", deps["master"])
        # The pure layer is built on the host too: it uses nothing of the driver.
        self.assertEqual(deps["hw"], set())
        self.assertEqual(cycle(deps), None)

    def test_intel_rs_no_module_cycles(self):
        """The Rust VT-d driver is layered the same way (see its crate doc)."""
        crate = CRATE.parents[1] / "intel-rs"
        deps = {k: v - {"intel_iommu_rs", "kunit"} for k, v in module_deps(crate).items()
                if k not in ("intel_iommu_rs", "kunit")}
        self.assertIn("unit", deps["master"])
        self.assertEqual(deps["hw"], set())
        self.assertEqual(cycle(deps), None)

    def test_a_cycle_is_found(self):
        self.assertEqual(cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])
        self.assertIsNone(cycle({"a": {"b"}, "b": {"c"}, "c": set()}))

    def test_uses_are_read(self):
        d = Path(self.id()).name
        crate = Path("/tmp") / f"layers-{d}"
        crate.mkdir(exist_ok=True)
        (crate / "a.rs").write_text("use crate::{\n    b::B,\n    c, //\n};\nfn f() { crate::d::g() }\n")
        for n in "bcd":
            (crate / f"{n}.rs").write_text("")
        self.assertEqual(module_deps(crate)["a"], {"b", "c", "d"})


if __name__ == "__main__":
    unittest.main()
