# SPDX-License-Identifier: GPL-2.0
"""A KTAP parser for console logs.

The guest user-space test programs (the e2e scripts) print KTAP on the serial
console, interleaved with ordinary kernel messages. (KUnit boots are read by
the kernel's own tools/testing/kunit/kunit_parser.py: see kunitpy.py.) This parser picks
the KTAP lines out of such a log, rebuilds the tree of results, and reports
every way in which the stream is incomplete or inconsistent, so that a
crashed or truncated suite is never mistaken for a pass.
"""

import re
from dataclasses import dataclass, field

# "[   12.345678] " printk time stamp, optionally with a caller id.
_STAMP = re.compile(r"^\[\s*\d+\.\d+\](\[\s*[CT]\d+\])? ?")
_VERSION = re.compile(r"^K?TAP version \d+\s*$")
_PLAN = re.compile(r"^1\.\.(\d+)(\s*#.*)?\s*$")
_RESULT = re.compile(r"^(not ok|ok) (\d+)(?: -)?(?: ([^#]*?))?\s*(?:#\s*(.*))?$")
_SUBTEST = re.compile(r"^# Subtest: (.*)$")


@dataclass
class Result:
    """One test result line, with the results of its subtests."""

    name: str
    number: int
    ok: bool
    directive: str = ""
    children: list = field(default_factory=list)
    plan: int | None = None

    @property
    def skipped(self) -> bool:
        return self.directive.upper().startswith("SKIP")

    def passed(self) -> bool:
        """A result passes if it says ok and every subtest passes too."""
        return self.ok and all(c.passed() or c.skipped for c in self.children)

    def leaves(self, prefix=""):
        """(path, result) for every result without subtests."""
        path = f"{prefix}{self.name}"
        if not self.children:
            yield path, self
        for c in self.children:
            yield from c.leaves(path + ".")


@dataclass
class Document:
    """One top-level KTAP document ("KTAP version 1" at column 0)."""

    plan: int | None = None
    results: list = field(default_factory=list)


@dataclass
class Parse:
    documents: list
    errors: list

    def leaves(self):
        for d in self.documents:
            for r in d.results:
                yield from r.leaves()

    def find(self, name):
        """The top-level or second-level result called name, or None."""
        for d in self.documents:
            for r in d.results:
                if r.name == name:
                    return r
        return None


class _Level:
    """Results being collected at one indentation depth."""

    def __init__(self, name=None):
        self.name = name
        self.plan = None
        self.results = []


def _split(line):
    line = _STAMP.sub("", line.rstrip("\r\n"))
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    return indent // 4, stripped.rstrip()


def parse(text: str) -> Parse:
    """Parse every KTAP document in a console log."""
    docs, errors = [], []
    levels = {}  # depth -> _Level
    doc = None

    def close_deeper(depth):
        for d in sorted([d for d in levels if d > depth], reverse=True):
            lvl = levels.pop(d)
            if lvl.results or lvl.plan is not None:
                errors.append(
                    f"subtest '{lvl.name or '?'}' ended without its result line "
                    f"(crash or truncated output?)")

    def finish_doc():
        if doc is None:
            return
        close_deeper(0)
        top = levels.pop(0, None)
        doc.results = top.results if top else []
        doc.plan = top.plan if top else None
        if doc.plan is None:
            errors.append("KTAP document without a plan line")
        elif len(doc.results) != doc.plan:
            errors.append(f"KTAP document planned {doc.plan} tests but reported "
                          f"{len(doc.results)} (crash or truncated output?)")
        docs.append(doc)

    for raw in text.splitlines():
        depth, line = _split(raw)
        if not line:
            continue
        if _VERSION.match(line):
            if depth == 0:
                finish_doc()
                doc = Document()
                levels = {0: _Level()}
            elif doc is not None:
                levels.setdefault(depth, _Level())
            continue
        if doc is None:
            continue
        m = _SUBTEST.match(line)
        if m:
            close_deeper(depth - 1)
            levels[depth] = _Level(m.group(1).strip())
            continue
        m = _PLAN.match(line)
        if m:
            lvl = levels.setdefault(depth, _Level())
            if lvl.plan is not None and lvl.results:
                errors.append(f"second plan line at depth {depth}: {line}")
            lvl.plan = int(m.group(1))
            continue
        m = _RESULT.match(line)
        if m:
            if depth not in levels:
                # A result at a depth nobody opened: not KTAP (e.g. a stray
                # kernel message). Only accept it inside an open level.
                if depth > max(levels):
                    continue
                levels[depth] = _Level()
            children = levels.pop(depth + 1, None)
            close_deeper(depth + 1)
            res = Result(name=(m.group(3) or "").strip(), number=int(m.group(2)),
                         ok=m.group(1) == "ok", directive=(m.group(4) or "").strip())
            if children is not None:
                res.children = children.results
                res.plan = children.plan
                if children.name and res.name and children.name != res.name:
                    errors.append(f"subtest '{children.name}' closed by result '{res.name}'")
                # KUnit's parameterised cases print no plan; a plan, when
                # present, must match.
                if children.plan is not None and children.plan != len(children.results):
                    errors.append(f"subtest '{res.name}' planned {children.plan} tests but "
                                  f"reported {len(children.results)}")
            lvl = levels[depth]
            expect = len(lvl.results) + 1
            if res.number != expect:
                errors.append(f"result '{res.name}' numbered {res.number}, expected {expect}")
            lvl.results.append(res)
            if res.ok and not res.passed():
                errors.append(f"'{res.name}' reported ok but a subtest failed")
            continue
        # Diagnostics ("# ...") and unrelated console lines are ignored.
    finish_doc()
    return Parse(docs, errors)
