// SPDX-License-Identifier: GPL-2.0

//! What an SMMU implements, decoded once at probe and immutable afterwards.

use kernel::{
    device::Device,
    page::PAGE_SIZE,
    prelude::*, //
};

use crate::{
    hw::{
        idr::{
            Httu,
            Idr,
            StrtabFmt, //
        },
        imp::{
            FwModel,
            Iidr,
            Quirks, //
        },
        probe::{
            self,
            Refusal,
            StrtabLayout, //
        },
    },
    Show,
};

/// The largest command queue the driver uses: 256 entries, one page.
const CMDQ_MAX_LOG2: u32 = 8;

/// The largest event queue the driver asks for: 131072 entries, 4 MiB, as the C driver (the
/// largest allocation the page allocator makes with 4 KiB pages); a smaller one where the
/// SMMU's `IDR1.EVENTQS` says so, or where that much memory is not available
/// ([`crate::queue::Ring::new_up_to`]).
///
/// A faulting transfer can produce an event per bus beat (QEMU: one per 4 bytes, so 1024 for
/// a 4 KiB DMA), and a full queue loses events (QEMU reports it as `GERROR.EVTQ_ABT_ERR`), so
/// the queue must hold many such bursts while the interrupt thread waits for a CPU.
const EVTQ_MAX_LOG2: u32 = 17;

/// The output size assumed for a reserved `IDR5.OAS` encoding, as the C driver does.
const OAS_FALLBACK: u32 = 48;

/// The features of one SMMU and the configuration the driver derives from them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Features {
    /// The decoded ID registers, as the SMMU reports them. What an erratum takes away is in
    /// `quirks`: ask [`Features`] for the features the driver may use.
    pub(crate) idr: Idr,
    /// `SMMU_IIDR`: implementer, product and revision.
    pub(crate) iidr: u32,
    /// `SMMU_AIDR`: architecture revision.
    pub(crate) aidr: u32,
    /// The errata and firmware quirks of this implementation.
    pub(crate) quirks: Quirks,
    /// The stream table the driver uses.
    pub(crate) strtab: StrtabLayout,
    /// Whether the SMMU's table and queue accesses are cache coherent: as the firmware says,
    /// which the DMA API follows for the SMMU's own allocations.
    pub(crate) coherent: bool,
    /// The hardware translation table updates the SMMU makes: `IDR0.HTTU`, or what the IORT
    /// says instead.
    pub(crate) httu: Httu,
    /// StreamID width.
    pub(crate) sid_bits: u32,
    /// The page and block sizes of paging domains.
    pub(crate) pgsize_bitmap: usize,
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
    /// The model the firmware names (IORT); [`FwModel::Generic`] on a device tree.
    pub(crate) model: FwModel,
    /// The hardware table updates the firmware declares in place of `IDR0.HTTU` (IORT); `None`
    /// on a device tree.
    pub(crate) httu: Option<Httu>,
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
    /// Returns `ENXIO`, after logging why, for an SMMU this driver cannot drive (see
    /// [`probe::check`] and [`Refusal`]), or whose firmware model it does not support.
    pub(crate) fn new(
        dev: &Device,
        idr: Idr,
        iidr: u32,
        aidr: u32,
        platform: Platform,
    ) -> Result<Self> {
        let quirks = Quirks::new(Iidr::new(iidr), platform.model);
        let checked = match probe::check(&idr) {
            Ok(()) if quirks.page0_regs_only => Err(Refusal::Page0RegsOnly),
            r => r,
        };
        if let Err(why) = checked {
            dev_err!(dev, "{}\n", Show(&why));
            return Err(ENXIO);
        }
        // CAST: Page sizes fit in `u64`.
        let pgsize = probe::pgsize_bitmap(
            idr.granules(),
            idr.oas_bits().unwrap_or(OAS_FALLBACK),
            PAGE_SIZE as u64,
        );
        // `probe::check` made sure there is a granule.
        let pgsize_bitmap = usize::try_from(pgsize).map_err(|_| ENXIO)?;
        let sid_bits = idr.sid_bits();
        let strtab = StrtabLayout::new(&idr, platform.force_linear_strtab);
        if strtab.sid_bits() < sid_bits {
            dev_warn!(
                dev,
                "2-level stream table only covers {}/{} bits of StreamID\n",
                strtab.sid_bits(),
                sid_bits
            );
        }
        if quirks.any() {
            dev_info!(dev, "implementation quirks: {}\n", Show(&quirks));
        }
        if platform.coherent != idr.coherent() {
            dev_warn!(
                dev,
                "IDR0.COHACC overridden by the firmware: {}coherent\n",
                if platform.coherent { "" } else { "non-" }
            );
        }
        let httu = platform.httu.unwrap_or(idr.httu());
        if httu != idr.httu() {
            dev_warn!(
                dev,
                "IDR0.HTTU ({:?}) overridden by the firmware: {:?}\n",
                idr.httu(),
                httu
            );
        }
        Ok(Self {
            idr,
            iidr,
            aidr,
            quirks,
            strtab,
            coherent: platform.coherent,
            httu,
            sid_bits,
            pgsize_bitmap,
            cmdq_log2: idr.cmdq_log2size().min(CMDQ_MAX_LOG2),
            evtq_log2: idr.evtq_log2size().min(EVTQ_MAX_LOG2),
        })
    }

    /// Paging domains can track dirty pages: the SMMU updates the dirty state of
    /// writable-clean (DBM) descriptors, and its walks are coherent with the CPU's reads of
    /// them (as the C driver's `arm_smmu_dbm_capable()`, which only stage 1 domains use).
    pub(crate) fn dirty_tracking(&self) -> bool {
        self.coherent && matches!(self.httu, Httu::AccessDirty | Httu::AccessDirtyHaft)
    }

    /// Both stages are implemented and usable together: nesting parents can be offered.
    pub(crate) fn nesting(&self) -> bool {
        self.quirks.nesting(&self.idr)
    }

    /// Logs the features a person cares about, in one line.
    pub(crate) fn log(&self, dev: &Device) {
        let i = &self.idr;
        let g = i.granules();
        dev_info!(
            dev,
            "SMMUv3 arch {:#x} iidr {:#x}: stages{}{}, {}-bit SID ({} stream table), \
             {}-bit SSID, OAS {} bits, granules{}{}{}{}{}{}{}, cmdq {} evtq {} entries\n",
            self.aidr,
            self.iidr,
            if i.s1() { " S1" } else { "" },
            if i.s2() { " S2" } else { "" },
            self.sid_bits,
            match self.strtab.fmt() {
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
            match self.httu {
                Httu::None => "",
                Httu::Access => ", HTTU A",
                _ => ", HTTU AD",
            },
            1u32 << self.cmdq_log2,
            1u32 << self.evtq_log2,
        );
    }
}
