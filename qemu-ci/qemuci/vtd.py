# SPDX-License-Identifier: GPL-2.0
"""The x86_64 machine: QEMU q35 with an emulated Intel VT-d (qemu-ci/run --arch x86_64)."""

import os
import re

from . import harness
from .harness import HarnessError

# The VT-d drivers one x86_64 kernel can carry; "off" are the kernel parameters that keep a
# driver out of a boot in which the other one binds (Documentation/iommu-rs/intel-rs.rst, "How
# the driver comes up"). The C driver starts from the x86 IOMMU hook that pci_iommu_init(), a
# rootfs_initcall, calls (detect_intel_iommu() set it to intel_iommu_init()): blacklisting that
# initcall keeps C's DMA remapping out (intel_iommu=off would still claim every unit's
# registers), and interrupt remapping, which shares the units and their invalidation queue with
# DMA remapping, goes off with it. Without interrupt remapping MSIs are not isolated, which VFIO
# and iommufd accept only when told so.
DRIVERS = {
    "c": {"config": "CONFIG_INTEL_IOMMU",
          "off": ["initcall_blacklist=pci_iommu_init", "intremap=off",
                  "iommufd.allow_unsafe_interrupts=1",
                  "vfio_iommu_type1.allow_unsafe_interrupts=1"],
          "name": "intel-iommu",
          # What intel_iommu_init() prints once every unit translates.
          "probed": r"DMAR: Intel\(R\) Virtualization Technology for Directed I/O",
          # DMA to an unmapped IOVA: a fault record decoded by dmar_fault_do_one(); format with
          # bdf="00:01.0" for edu.
          "fault_event": r"DMAR: \[DMA (?:Read|Write) (?:NO_PASID|PASID 0x[0-9a-f]+)\] "
                         r"Request device \[0000:{bdf}\] "
                         r"fault addr 0x[0-9a-f]+ \[fault reason 0x[0-9a-f]+\] (?!Unknown)"},
    # The Rust driver (Documentation/iommu-rs/intel-rs.rst): a rootfs_initcall of its own,
    # after pci_iommu_init(), that brings the units up (registers claimed, queued invalidation,
    # root table), registers them with the IOMMU core and turns translation on. "probed" is what
    # it prints once a unit is up; "fault_irq" once its fault interrupt (DMAR-REGS-MSI) is
    # requested; the fault line is the record hw/fault.rs decodes, logged from that interrupt
    # (C's format after the unit's name: source-id, address, reason). Its paging domains are
    # first-stage ones on the first-stage unit (VTD), second-stage ones on VTD_SS.
    "rust": {"config": "CONFIG_INTEL_IOMMU_RUST",
             "off": ["initcall_blacklist=__intel_iommu_rs_init"],
             "name": "intel_iommu_rs",
             "probed": r"intel_iommu_rs: (dmar\d+): \S+ root table at 0x[0-9a-f]+ installed",
             "registered": r"intel_iommu_rs: (dmar\d+): registered with the IOMMU core",
             "translating": r"intel_iommu_rs: (dmar\d+): translation enabled",
             "fault_irq": r"intel_iommu_rs: (dmar\d+): fault interrupt \d+ requested",
             "fault_event": r"intel_iommu_rs: \S+: \[DMA (?:Read|Write) (?:NO_)?PASID[^]]*\] "
                            r"Request device \[0000:{bdf}\] fault addr 0x[0-9a-f]+ "
                            r"\[fault reason 0x[0-9a-f]+\] (?!Unknown)"},
}

# What the emulated VT-d is: scalable mode with first-stage translation (x-flts) as well as
# second-stage, 48-bit input addresses, interrupt remapping, and device-TLB invalidation
# (device-iotlb: ECAP.DT, and an ATSR with ALL_PORTS in QEMU's DMAR table) for virtio-blk,
# whose ATS (ats=on) both drivers then enable. The property names are QEMU
# 10.0's (`-device intel-iommu,help`); QEMU 11 drops the "x-" of x-scalable-mode and x-flts.
# The IOMMU must come before the PCI devices it translates.
VTD = "intel-iommu,intremap=on,x-scalable-mode=on,x-flts=on,aw-bits=48,device-iotlb=on"

# The same unit with second-stage translation instead of first-stage: QEMU 10.0's scalable mode
# offers one or the other (x-flts=on sets ECAP.FSTS and clears ECAP.SSTS). Both drivers boot on
# VTD; the Rust driver's second-stage domains get a boot on this unit of their own.
VTD_SS = "intel-iommu,intremap=on,x-scalable-mode=on,aw-bits=48,device-iotlb=on"

# The units a boot can get, by the stage of the paging domains they give a scalable-mode driver.
UNITS = {"first": VTD, "second": VTD_SS}


def accel():
    """TCG, as for arm64: the same on every host. With IOMMU_RS_KVM=1 and a usable /dev/kvm, the
    CPUs run under KVM instead (the IOMMU, edu, igb and virtio-blk are QEMU's emulation either
    way). Interrupt remapping then needs the split irqchip (the IOAPIC in QEMU, where the IOMMU
    can remap its messages), and -cpu host without IA32_ARCH_CAPABILITIES: a nested KVM host
    here refused that MSR and QEMU aborted (kvm_buf_set_msrs)."""
    if os.environ.get("IOMMU_RS_KVM") == "1":
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise HarnessError("IOMMU_RS_KVM=1 but /dev/kvm is not usable")
        return ["-M", "q35,kernel-irqchip=split", "-accel", "kvm",
                "-cpu", "host,-arch-capabilities"]
    return ["-M", "q35", "-accel", "tcg", "-cpu", "max"]


def quiet_firmware():
    """QEMU arguments that keep SeaBIOS off the serial console. Without a VGA SeaBIOS mirrors
    its screen there ("sercon"), clearing the terminal with escape sequences and leaving
    "Booting from ROM.." without a newline before the kernel's first line; the console reader
    would glue that to the first line user space prints. The fw_cfg file etc/sercon-port
    holds the port as a little-endian integer: 0 turns sercon off."""
    off = harness.GUEST / "sercon-port-off"
    if not off.exists():
        off.parent.mkdir(parents=True, exist_ok=True)
        off.write_bytes(bytes(2))
    return ["-fw_cfg", f"name=etc/sercon-port,file={off}"]


def qemu_command(initrd, mode, driver, append=(), qemu_args=(), e2e=None, unit="first"):
    """The QEMU command line booting the x86_64 kernel on q35 with one VT-d (`unit`, a key of
    UNITS), `driver` (a key of DRIVERS) doing DMA remapping, and the same devices behind it as
    on arm64: edu at 00:01.0, igb, virtio-blk behind a root port and two edus behind a
    PCIe-to-PCI bridge."""
    if driver not in DRIVERS:
        raise HarnessError(f"unknown driver '{driver}' (choose from {', '.join(DRIVERS)})")
    if unit not in UNITS:
        raise HarnessError(f"unknown VT-d unit '{unit}' (choose from {', '.join(UNITS)})")
    built = harness.drivers_built()
    if driver not in built:
        raise HarnessError(f"the {driver} VT-d driver is not in this kernel "
                           f"({DRIVERS[driver]['config']} is not set)")
    # no_timer_check: the kernel's early check that the IO-APIC timer ticks (check_timer())
    # counts loops, and a TCG guest on a loaded host is too slow for it: "Kernel panic - not
    # syncing: timer doesn't work through Interrupt-remapped IO-APIC", seen in every C-driver
    # boot of one run at a host load of 4.6 on 2 cores. Virtual machines commonly skip it.
    cmdline = ["console=ttyS0", "panic=-1", "no_timer_check", f"iommu_rs.mode={mode}"]
    if e2e is not None:
        cmdline.append("iommu_rs.e2e=" + (",".join(e2e) or "none"))
    for d in built:
        if d != driver:
            cmdline += DRIVERS[d]["off"]
    if mode != "kunit":
        # As on arm64: 2 MiB hugepages for the VFIO tests' block mappings. No 1 GiB page: the
        # x86_64 kernel has no CONTIG_ALLOC for the run-time allocation arm64 makes
        # (harness.HUGEPAGES_1G), and one taken at boot would cost kmemleak's scan two minutes.
        cmdline += ["kunit.enable=0", *harness.HUGEPAGES]
    cmdline += list(append)
    # -vga none: no VGA at 00:01.0, where edu then sits as on arm64's virt.
    return [harness.QEMU, *accel(), "-smp", "2", "-m", "3G", "-nographic", "-no-reboot",
            "-vga", "none", "-nic", "none", *quiet_firmware(),
            "-device", UNITS[unit],
            "-device", "edu,addr=1,dma_mask=0xffffffffffffffff",
            "-netdev", "user,id=net0,restrict=on", "-device", "igb,netdev=net0",
            "-drive", f"if=none,id=disk0,format=raw,file={harness.disk_image()}",
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
            "-device", "virtio-blk-pci,bus=rp1,drive=disk0,iommu_platform=on,disable-legacy=on,"
            "ats=on",
            "-device", "pcie-pci-bridge,id=pcib2,addr=4",
            "-device", "edu,bus=pcib2,addr=1,dma_mask=0xffffffffffffffff",
            "-device", "edu,bus=pcib2,addr=2,dma_mask=0xffffffffffffffff",
            "-kernel", str(harness.IMAGE), "-initrd", str(initrd),
            "-append", " ".join(cmdline), *qemu_args]


# QEMU's trace events that show the pages the VT-d's IOTLB caches (each entry it fills, with
# the leaf entry it walked to, of either stage: a large page has PS, bit 7), its page-selective
# IOTLB invalidations (address and AM), every invalidation descriptor it takes (its type
# and raw words: the page-selective PASID-based ones of first-stage domains have no event of
# their own) and every global command (GCMD) written, written to the boot's QEMU log.
TRACE = ["-trace", "vtd_iotlb_page_update", "-trace", "vtd_inv_desc_iotlb_pages",
         "-trace", "vtd_inv_desc", "-trace", "vtd_reg_write_gcmd"]
IOTLB_FILL = re.compile(r"IOTLB page update sid 0x([0-9a-f]+) iova 0x([0-9a-f]+) "
                        r"slpte 0x([0-9a-f]+) domain 0x[0-9a-f]+")
IOTLB_PSI = re.compile(r"iotlb invalidate domain 0x[0-9a-f]+ addr 0x([0-9a-f]+) "
                       r"mask 0x([0-9a-f]+)")
# The leaf entry's PS bit, in both stages: the leaf maps a large page.
PS = 1 << 7
# What a first-stage leaf has and a second-stage one never does: U/S (bit 2) and A (bit 5),
# which both drivers set in every first-stage entry (second stage: bits 2 and 5 are reserved
# or ignored, and clear).
FS_LEAF = 1 << 2 | 1 << 5


def fills(qemu_log, sid):
    """[(iova, entry)] of the IOTLB fills of requester `sid`."""
    return [(int(m.group(2), 16), int(m.group(3), 16)) for m in IOTLB_FILL.finditer(qemu_log)
            if int(m.group(1), 16) == sid]


def large_fills(qemu_log, sid):
    """[(iova, entry)] of the IOTLB fills of requester `sid` from a large-page leaf."""
    return [(int(m.group(2), 16), int(m.group(3), 16)) for m in IOTLB_FILL.finditer(qemu_log)
            if int(m.group(1), 16) == sid and int(m.group(3), 16) & PS]


def psi_ranges(qemu_log):
    """[(first, last)] address ranges of the page-selective IOTLB invalidations."""
    out = []
    for m in IOTLB_PSI.finditer(qemu_log):
        addr, am = int(m.group(1), 16), int(m.group(2), 16)
        out.append((addr, addr + (4096 << am) - 1))
    return out


# An invalidation descriptor as vtd_inv_desc traces it: its type ("iotlb", "p-iotlb", ...),
# then qword 1 and qword 0.
INV_DESC = re.compile(r"invalidate desc type (\S+) high 0x([0-9a-f]+) low 0x([0-9a-f]+)")


def dev_tlb_sids(qemu_log):
    """The requester IDs of the device-TLB invalidations ("device": SID in bits 47:32 of
    qword 0) that vtd_inv_desc traced, one per descriptor."""
    return [(int(m.group(3), 16) >> 32) & 0xffff for m in INV_DESC.finditer(qemu_log)
            if m.group(1) == "device"]


def page_selective(qemu_log, kind):
    """[(first, last)] address ranges of the page-selective invalidations of type `kind`
    ("iotlb" or "p-iotlb": granularity 11b in bits 5:4 of qword 0; qword 1 holds the address
    and, in bits 5:0, AM) that vtd_inv_desc traced."""
    out = []
    for m in INV_DESC.finditer(qemu_log):
        high, low = int(m.group(2), 16), int(m.group(3), 16)
        if m.group(1) == kind and (low >> 4) & 3 == 3:
            addr = high & ~0xfff
            out.append((addr, addr + (4096 << (high & 0x3f)) - 1))
    return out


# A global command as vtd_reg_write_gcmd traces it: GSTS before, then the GCMD value written.
GCMD_WRITE = re.compile(r"vtd_reg_write_gcmd status 0x([0-9a-f]+) value 0x([0-9a-f]+)")
# GCMD.TE / GSTS.TES: translation enable.
TE = 1 << 31


def translation_turned_off(qemu_log):
    """Whether the last global command QEMU's VT-d took turned translation off after an earlier
    one had turned it on (what a driver's shutdown leaves: the boot ends by powering off)."""
    values = [int(m.group(2), 16) for m in GCMD_WRITE.finditer(qemu_log)]
    return any(v & TE for v in values) and not values[-1] & TE


# What the guest prints of /sys/firmware/acpi/tables/DMAR, a hex line at a time.
DMAR_HEX = re.compile(r"^DMAR-HEX ([0-9a-f]+)\s*$", re.M)

# The RMRR the RMRR boot adds for edu (00:01.0): 64 KiB of guest RAM well below the kernel, as
# firmware reserves for a device's own use.
RMRR_EDU = (0x7f00_0000, 0x7f00_ffff)
# The RMRR the RMRR boot adds for its USB controller (00:05.0), right above edu's: a USB
# controller's RMRR is relaxable (C's device_rmrr_is_relaxable()).
RMRR_USB = (0x7f01_0000, 0x7f01_ffff)


def machine_dmar(cmd, timeout=180) -> bytes:
    """QEMU's DMAR table for the machine of `cmd`, as its guest reads it from
    /sys/firmware/acpi/tables/DMAR: one boot per machine, then kept under the cache."""
    out = harness.GUEST / "acpi" / f"dmar-{harness._machine_key(cmd)}.aml"
    if out.exists():
        return out.read_bytes()
    payload = harness.GUEST / "acpi" / "dump-dmar"
    payload.mkdir(parents=True, exist_ok=True)
    (payload / "run").write_text(
        "#!/bin/sh\nf=/sys/firmware/acpi/tables/DMAR\n[ -r $f ] || { echo no DMAR; exit 1; }\n"
        "hexdump -v -e '32/1 \"%02x\" \"\\n\"' $f | sed 's/ //g; s/^/DMAR-HEX /'\n")
    (payload / "run").chmod(0o755)
    initrd = harness.build_initramfs(payload, name="dump-dmar")
    i = cmd.index("-initrd") + 1
    dumping = [*cmd[:i], str(initrd), *cmd[i + 1:]]
    harness.log("reading QEMU's DMAR table for this machine (one boot)")
    b = harness.boot("dump-dmar", dumping, timeout)
    table = bytes.fromhex("".join(DMAR_HEX.findall(b.text)))
    if b.failures or b.guest_status != 0 or table[:4] != b"DMAR" or \
            len(table) != int.from_bytes(table[4:8], "little"):
        why = "; ".join(b.failures) or f"status {b.guest_status}, {len(table)} bytes"
        raise HarnessError(f"the boot reading QEMU's DMAR failed ({why}; log: {b.log_path})")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(table)
    return table


def dmar_with_rmrr(dmar: bytes, base: int, end: int, bus=0, dev=1, fn=0) -> bytes:
    """`dmar` with an RMRR [base, end] on segment 0 appended whose one endpoint scope names
    bus:dev.fn, its OEM revision raised (the kernel takes an upgrade only over an older table)
    and its checksum fixed."""
    scope = bytes([1, 8, 0, 0, 0, bus, dev, fn])
    rmrr = ((1).to_bytes(2, "little") + (24 + len(scope)).to_bytes(2, "little") + bytes(2)
            + (0).to_bytes(2, "little") + base.to_bytes(8, "little") + end.to_bytes(8, "little")
            + scope)
    return upgraded(bytearray(dmar + rmrr))


def upgraded(t: bytearray) -> bytes:
    """The DMAR table `t` with its length set, its OEM revision raised (the kernel takes an
    upgrade only over an older table) and its checksum fixed."""
    t[4:8] = len(t).to_bytes(4, "little")
    rev = int.from_bytes(t[24:28], "little")
    t[24:28] = ((rev + 1) & 0xffffffff).to_bytes(4, "little")
    harness.acpi_checksum_fixed(t)
    return bytes(t)


def drhd_scopes(dmar: bytes):
    """The offset and length of the first DRHD of `dmar` and its device scopes, each as
    (type, start bus, path of (device, function) pairs, the scope's bytes); HarnessError if
    the table has no well-formed DRHD."""
    off = 48
    while off + 4 <= len(dmar):
        kind = int.from_bytes(dmar[off:off + 2], "little")
        length = int.from_bytes(dmar[off + 2:off + 4], "little")
        if length < 4 or off + length > len(dmar):
            break
        if kind == 0 and length >= 16:
            scopes, pos = [], off + 16
            while pos + 6 <= off + length:
                n = dmar[pos + 1]
                if n < 6 or pos + n > off + length:
                    raise HarnessError(f"DMAR: bad device scope at {pos:#x}")
                raw = dmar[pos:pos + n]
                path = [(raw[i], raw[i + 1]) for i in range(6, n - 1, 2)]
                scopes.append((raw[0], raw[5], path, raw))
                pos += n
            return off, length, scopes
        off += length
    raise HarnessError("DMAR: no DRHD")


def scope(kind, bus, path, enum_id=0) -> bytes:
    """A device scope of `kind` (1 endpoint, 2 bridge, 3 I/O APIC) starting on `bus` with
    `path`, a list of (device, function) pairs."""
    return bytes([kind, 6 + 2 * len(path), 0, 0, enum_id, bus]) + bytes(
        b for hop in path for b in hop)


def dmar_rescoped(dmar: bytes, include_all=False, drop=(), add=()) -> bytes:
    """`dmar` with its first DRHD's INCLUDE_PCI_ALL flag set to `include_all`, the PCI scopes
    naming a (type, bus, path) of `drop` removed (all of them if `include_all`: firmware lists
    only I/O APICs and HPETs in such a unit) and the scopes `add` (bytes) appended, as an
    upgrade of it."""
    off, length, scopes = drhd_scopes(dmar)
    kept = [raw for kind, bus, path, raw in scopes
            if kind not in (1, 2) or not (include_all or (kind, bus, path) in drop)]
    missing = [d for d in drop if d not in [(k, b, p) for k, b, p, _ in scopes]]
    if missing:
        raise HarnessError(f"DMAR: no scope {missing} to drop")
    body = b"".join(kept) + b"".join(add)
    drhd = bytearray(dmar[off:off + 16])
    drhd[2:4] = (16 + len(body)).to_bytes(2, "little")
    drhd[4] = (drhd[4] & ~1) | int(include_all)
    return upgraded(bytearray(dmar[:off] + drhd + body + dmar[off + length:]))


def dmar_override_problems(text):
    """harness.acpi_override_problems() of the DMAR table."""
    return harness.acpi_override_problems(text, "DMAR")
