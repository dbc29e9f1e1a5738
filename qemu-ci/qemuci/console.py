# SPDX-License-Identifier: GPL-2.0
"""Scan a guest console log for kernel reports that make any run a failure."""

import re

# (label, pattern). Any match fails the run, whatever the tests said.
PROBLEMS = [
    ("kernel panic", re.compile(r"Kernel panic - not syncing")),
    # arm64's "Internal error: Oops: ..." and x86's "Oops: general protection fault ...: 0000
    # [#1]" / "Oops: 0002 [#1]".
    ("oops", re.compile(r"Internal error: Oops|Unable to handle kernel (NULL pointer|paging)|"
                        r"Oops: .*\[#\d+\]")),
    ("BUG", re.compile(r"\bBUG: |kernel BUG at")),
    ("WARN", re.compile(r"WARNING: CPU: \d+ PID: \d+|------------\[ cut here \]------------")),
    ("lockdep", re.compile(r"possible circular locking dependency|possible recursive locking|"
                           r"inconsistent lock state|suspicious RCU usage|"
                           r"lockdep: |INFO: trying to register non-static key|"
                           r"possible irq lock inversion|HARDIRQ-safe -> HARDIRQ-unsafe")),
    ("KASAN", re.compile(r"KASAN: ")),
    ("UBSAN", re.compile(r"UBSAN: ")),
    # What /sys/kernel/debug/kmemleak lists after a scan (the guest init prints it), and the
    # kernel's own notice of a scan that found leaks.
    ("kmemleak", re.compile(r"unreferenced object 0x[0-9a-f]+ \(size \d+\)|"
                            r"kmemleak: \d+ new suspected memory leaks")),
    ("stall", re.compile(r"rcu: INFO: rcu_\w+ detected stalls|INFO: task .* blocked for more than|"
                         r"watchdog: BUG: soft lockup")),
    ("Rust panic", re.compile(r"rust_kernel: panicked at|panicked at .*\.rs:\d+")),
    # SMMU GERROR (both drivers' messages): lost events, command errors, service failure.
    ("SMMU global error", re.compile(r"global error reported")),
    # A command the SMMU refused (the Rust driver logs and skips it) is a driver bug, unless it
    # is the illegal opcode 0x7f that 30-cmdq-error injects on purpose; so are a command fetch
    # abort and a CMD_SYNC timeout (either driver's message).
    ("SMMU command error", re.compile(r"command error .* at cons 0x[0-9a-f]+: "
                                      r"0x(?![0-9a-f]{14}7f )[0-9a-f]{16} 0x[0-9a-f]{16}; skipped|"
                                      r"command fetch aborted|CMD_SYNC timeout")),
]

EXIT_MARK = re.compile(r"^IOMMU-RS-EXIT: (\d+)\s*$", re.M)

# A kexec boot: the first kernel's kexec-boot loaded the second one and jumps (a kernel log
# record, or a user line if /dev/kmsg failed).
KEXEC_MARK = re.compile(r"IOMMU-RS-KEXEC: loaded [^\n]*\n")

# The e2e guest's copy of an SMMU line of /proc/interrupts: number, per-CPU counts, chip, ...,
# handler name.
_IRQ_LINE = re.compile(r"^IOMMU-RS-IRQ: \d+:((?:[ \t]+\d+)+)[ \t].*?(\S+)[ \t]*$", re.M)


def smmu_irqs(text: str):
    """{handler name: times fired, over all CPUs} of the SMMU's interrupt lines."""
    return {m.group(2): sum(int(n) for n in m.group(1).split()) for m in _IRQ_LINE.finditer(text)}


# A printk record on the console starts with its time stamp (and maybe a caller id).
_RECORD = re.compile(r"\[\s*\d+\.\d+\](?:\[\s*[CT]\d+\])? ")


def untangle(text: str) -> str:
    """The console log with user-space lines made whole again.

    Guest programs' output reaches the UART through the tty buffer, a few bytes
    at a time, while the kernel writes each printk record to it at once. So a
    record can land in the middle of a user line: "ok 4 dma_af[  1.2] msg" then
    "ter_unmap_blocked". Each record is put on its own line and the pieces of
    the user line are joined again after it.
    """
    out = []
    pending = ""
    for line in text.splitlines():
        if _RECORD.match(line):
            out.append(line)
            continue
        line = pending + line
        m = _RECORD.search(line)
        if m:
            out.append(line[m.start():])
            pending = line[:m.start()]
        else:
            out.append(line)
            pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out) + "\n"


# A kernel jumping into another by kexec has shut its devices down, the SMMU included (both
# drivers disable it, so that the next kernel does not find it walking tables); commands still
# issued on the way out (unmaps while the CPUs go offline) time out, with either driver.
_KEXEC_JUMP = re.compile(r"kexec_core: Starting new kernel")
_KERNEL_START = re.compile(r"Booting Linux on physical CPU")
_AFTER_SHUTDOWN_OK = re.compile(r"CMD_SYNC timeout")


def problems(text: str):
    """[(label, line)] for every problem report in the log, in order."""
    found = []
    jumping = False
    for line in text.splitlines():
        if _KEXEC_JUMP.search(line):
            jumping = True
        elif _KERNEL_START.search(line):
            jumping = False
        for label, pat in PROBLEMS:
            if pat.search(line):
                if not (jumping and _AFTER_SHUTDOWN_OK.search(line)):
                    found.append((label, line.strip()))
                break
    return found


def exit_status(text: str):
    """The guest's final status from the init marker, or None if it never got there."""
    m = None
    for m in EXIT_MARK.finditer(text):
        pass
    return int(m.group(1)) if m else None


def split_kexec(text: str):
    """(first kernel's console, second kernel's) of a kexec boot, cut where the first one
    jumped; the second is None if it never did."""
    m = KEXEC_MARK.search(text)
    if not m:
        return text, None
    return text[:m.end()], text[m.end():]
