// SPDX-License-Identifier: GPL-2.0

//! What an SMMU implements, decoded once at probe and immutable afterwards.

use kernel::{
    device::Device,
    prelude::*, //
};

use crate::hw::regs::{
    Idr,
    StrtabFmt,
    TtEndian,
    Ttf, //
};

/// StreamID bits resolved by the first level of a two-level stream table are those above this.
pub(crate) const STRTAB_SPLIT: u32 = 8;

/// The largest command queue the driver uses: 256 entries, one page.
const CMDQ_MAX_LOG2: u32 = 8;

/// The largest event queue the driver uses: 8192 entries, 256 KiB.
///
/// A faulting transfer can produce an event per bus beat (QEMU: one per 4 bytes, so 1024 for
/// a 4 KiB DMA), and a full queue loses events (QEMU reports it as `GERROR.EVTQ_ABT_ERR`), so
/// the queue must hold several such bursts between two drains.
const EVTQ_MAX_LOG2: u32 = 13;

/// The features of one SMMU and the configuration the driver derives from them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Features {
    /// The decoded ID registers.
    pub(crate) idr: Idr,
    /// `SMMU_IIDR`: implementer, product and revision.
    pub(crate) iidr: u32,
    /// `SMMU_AIDR`: architecture revision.
    pub(crate) aidr: u32,
    /// The stream table format the driver uses.
    pub(crate) strtab: StrtabFmt,
    /// Whether the SMMU's table and queue accesses are cache coherent: as the firmware says,
    /// which the DMA API follows for the SMMU's own allocations.
    pub(crate) coherent: bool,
    /// StreamID width.
    pub(crate) sid_bits: u32,
    /// log2 of the command queue entries the driver uses.
    pub(crate) cmdq_log2: u32,
    /// log2 of the event queue entries the driver uses.
    pub(crate) evtq_log2: u32,
}

/// What the firmware and the command line say of an SMMU, beside its ID registers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Platform {
    /// The firmware describes the SMMU as DMA coherent (`dma-coherent`).
    pub(crate) coherent: bool,
    /// Use a linear stream table even where two levels are supported.
    pub(crate) force_linear_strtab: bool,
}

impl Features {
    /// Decodes and checks the ID registers, with what `platform` says.
    ///
    /// Coherency is the firmware's: the kernel maps the SMMU's queues and tables as the
    /// firmware says, and the SMMU must access them with the same attributes. A disagreeing
    /// `IDR0.COHACC` is warned about, as the C driver does.
    ///
    /// # Errors
    ///
    /// Returns `ENXIO`, after logging why, for an SMMU this driver cannot drive: no AArch64
    /// translation table format, no translation stage, big-endian-only table walks, or a command
    /// queue too small for a command and its `CMD_SYNC`.
    pub(crate) fn new(
        dev: &Device,
        idr: Idr,
        iidr: u32,
        aidr: u32,
        platform: Platform,
    ) -> Result<Self> {
        if !matches!(idr.ttf(), Some(Ttf::AArch64 | Ttf::Both)) {
            dev_err!(dev, "no AArch64 translation table format (IDR0.TTF)\n");
            return Err(ENXIO);
        }
        if !idr.s1() && !idr.s2() {
            dev_err!(dev, "no translation stage implemented\n");
            return Err(ENXIO);
        }
        if idr.tt_endian() == Some(TtEndian::Big) {
            dev_err!(dev, "big-endian table walks only (IDR0.TTENDIAN)\n");
            return Err(ENXIO);
        }
        if idr.cmdq_log2size() < 1 {
            dev_err!(
                dev,
                "command queue of {} entries is too small\n",
                1u32 << idr.cmdq_log2size()
            );
            return Err(ENXIO);
        }
        let sid_bits = idr.sid_bits();
        // A two-level table only pays off when there is a second level to skip. Where it is
        // optional, a linear one is as valid (at 64 bytes per StreamID).
        let strtab = if idr.st_level() == Some(StrtabFmt::TwoLevel)
            && sid_bits > STRTAB_SPLIT
            && !platform.force_linear_strtab
        {
            StrtabFmt::TwoLevel
        } else {
            StrtabFmt::Linear
        };
        if platform.coherent != idr.coherent() {
            dev_warn!(
                dev,
                "IDR0.COHACC overridden by the firmware: {}coherent\n",
                if platform.coherent { "" } else { "non-" }
            );
        }
        Ok(Self {
            idr,
            iidr,
            aidr,
            strtab,
            coherent: platform.coherent,
            sid_bits,
            cmdq_log2: idr.cmdq_log2size().min(CMDQ_MAX_LOG2),
            evtq_log2: idr.evtq_log2size().min(EVTQ_MAX_LOG2),
        })
    }

    /// Logs the features a person cares about, in one line.
    pub(crate) fn log(&self, dev: &Device) {
        let i = &self.idr;
        let g = i.granules();
        dev_info!(
            dev,
            "SMMUv3 arch {:#x} iidr {:#x}: stages{}{}, {}-bit SID ({} stream table), \
             {}-bit SSID, OAS {} bits, granules{}{}{}{}{}{}, cmdq {} evtq {} entries\n",
            self.aidr,
            self.iidr,
            if i.s1() { " S1" } else { "" },
            if i.s2() { " S2" } else { "" },
            self.sid_bits,
            match self.strtab {
                StrtabFmt::Linear => "linear",
                StrtabFmt::TwoLevel => "2-level",
            },
            i.ssid_bits(),
            i.oas_bits().unwrap_or(0),
            if g.size_4k { " 4K" } else { "" },
            if g.size_16k { " 16K" } else { "" },
            if g.size_64k { " 64K" } else { "" },
            if i.ril() { ", RIL" } else { "" },
            if self.coherent { ", coherent" } else { "" },
            if i.ats() { ", ATS" } else { "" },
            1u32 << self.cmdq_log2,
            1u32 << self.evtq_log2,
        );
    }
}
