// SPDX-License-Identifier: GPL-2.0

//! The ID registers (`SMMU_IDR0`..`SMMU_IDR5`): their fields, decoded.
//!
//! This module owns the layout of the ID registers; the driver's `regs` module only places
//! them in the MMIO map. [`crate::hw::ctrl`] owns the layout of the control registers.

use crate::hw::field::{
    encoding,
    Field,
    Reg32 as R,
    RegBit32 as B, //
};

/// `IDR0.S2P`.
const IDR0_S2P: B<0> = Field;
/// `IDR0.S1P`.
const IDR0_S1P: B<1> = Field;
/// `IDR0.TTF`.
const IDR0_TTF: R<3, 2> = Field;
/// `IDR0.COHACC`.
const IDR0_COHACC: B<4> = Field;
/// `IDR0.BTM`.
const IDR0_BTM: B<5> = Field;
/// `IDR0.HTTU`.
const IDR0_HTTU: R<7, 6> = Field;
/// `IDR0.HYP`.
const IDR0_HYP: B<9> = Field;
/// `IDR0.ATS`.
const IDR0_ATS: B<10> = Field;
/// `IDR0.ASID16`.
const IDR0_ASID16: B<12> = Field;
/// `IDR0.MSI`.
const IDR0_MSI: B<13> = Field;
/// `IDR0.SEV`.
const IDR0_SEV: B<14> = Field;
/// `IDR0.PRI`.
const IDR0_PRI: B<16> = Field;
/// `IDR0.VMID16`.
const IDR0_VMID16: B<18> = Field;
/// `IDR0.CD2L`.
const IDR0_CD2L: B<19> = Field;
/// `IDR0.TTENDIAN`.
const IDR0_TTENDIAN: R<22, 21> = Field;
/// `IDR0.STALL_MODEL`.
const IDR0_STALL_MODEL: R<25, 24> = Field;
/// `IDR0.ST_LEVEL`.
const IDR0_ST_LEVEL: R<28, 27> = Field;

/// `IDR1.SIDSIZE`.
const IDR1_SIDSIZE: R<5, 0> = Field;
/// `IDR1.SSIDSIZE`.
const IDR1_SSIDSIZE: R<10, 6> = Field;
/// `IDR1.PRIQS`.
const IDR1_PRIQS: R<15, 11> = Field;
/// `IDR1.EVENTQS`.
const IDR1_EVTQS: R<20, 16> = Field;
/// `IDR1.CMDQS`.
const IDR1_CMDQS: R<25, 21> = Field;
/// `IDR1.ATTR_TYPES_OVR`.
const IDR1_ATTR_TYPES_OVR: B<27> = Field;
/// `IDR1.REL`.
const IDR1_REL: B<28> = Field;
/// `IDR1.QUEUES_PRESET`.
const IDR1_QUEUES_PRESET: B<29> = Field;
/// `IDR1.TABLES_PRESET`.
const IDR1_TABLES_PRESET: B<30> = Field;

/// `IDR3.FWB`.
const IDR3_FWB: B<8> = Field;
/// `IDR3.STT`.
const IDR3_STT: B<9> = Field;
/// `IDR3.RIL`.
const IDR3_RIL: B<10> = Field;
/// `IDR3.BBML`.
const IDR3_BBML: R<12, 11> = Field;

/// `IDR5.OAS`.
const IDR5_OAS: R<2, 0> = Field;
/// `IDR5.GRAN4K`.
const IDR5_GRAN4K: B<4> = Field;
/// `IDR5.GRAN16K`.
const IDR5_GRAN16K: B<5> = Field;
/// `IDR5.GRAN64K`.
const IDR5_GRAN64K: B<6> = Field;
/// `IDR5.DS`.
const IDR5_DS: B<7> = Field;
/// `IDR5.VAX`.
const IDR5_VAX: R<11, 10> = Field;
/// `IDR5.STALL_MAX`.
const IDR5_STALL_MAX: R<31, 16> = Field;

encoding! {
    /// `IDR0.TTF`: the supported translation table formats.
    pub(crate) enum Ttf {
        /// AArch32 (LPAE) only.
        AArch32 = 1,
        /// AArch64 only.
        AArch64 = 2,
        /// Both.
        Both = 3,
    }
}

encoding! {
    /// `IDR0.HTTU`: hardware translation table updates.
    pub(crate) enum Httu {
        /// None.
        None = 0,
        /// Access flag.
        Access = 1,
        /// Access flag and dirty state.
        AccessDirty = 2,
        /// Access flag, dirty state and access flag in table descriptors.
        AccessDirtyHaft = 3,
    }
}

encoding! {
    /// `IDR0.TTENDIAN`: the supported translation table endianness.
    pub(crate) enum TtEndian {
        /// Both, selected per context.
        Mixed = 0,
        /// Little-endian only.
        Little = 2,
        /// Big-endian only.
        Big = 3,
    }
}

encoding! {
    /// `IDR0.STALL_MODEL`: how faulting transactions can be stalled.
    pub(crate) enum StallModel {
        /// Stall and terminate are both supported.
        Stall = 0,
        /// Stalling is not supported.
        NoStall = 1,
        /// Stalling is forced: a fault always stalls when stalls are configured.
        Force = 2,
    }
}

encoding! {
    /// `IDR0.ST_LEVEL`, and the `STRTAB_BASE_CFG.FMT` encodings: stream table formats.
    pub(crate) enum StrtabFmt {
        /// A linear stream table.
        Linear = 0,
        /// A two-level stream table.
        TwoLevel = 1,
    }
}

/// The translation granules an SMMU supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Granules {
    /// 4KB pages.
    pub(crate) size_4k: bool,
    /// 16KB pages.
    pub(crate) size_16k: bool,
    /// 64KB pages.
    pub(crate) size_64k: bool,
}

impl Granules {
    /// Returns the page and block sizes the granules give, as a bitmap of sizes.
    pub(crate) const fn page_sizes(self) -> u64 {
        let mut sizes = 0;
        if self.size_4k {
            sizes |= (1 << 12) | (1 << 21) | (1 << 30);
        }
        if self.size_16k {
            sizes |= (1 << 14) | (1 << 25);
        }
        if self.size_64k {
            sizes |= (1 << 16) | (1 << 29);
        }
        sizes
    }
}

/// The ID registers that describe an SMMU's features, decoded on access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Idr {
    /// `SMMU_IDR0`.
    idr0: u32,
    /// `SMMU_IDR1`.
    idr1: u32,
    /// `SMMU_IDR3`.
    idr3: u32,
    /// `SMMU_IDR5`.
    idr5: u32,
}

impl Idr {
    /// Captures the ID register values.
    pub(crate) const fn new(idr0: u32, idr1: u32, idr3: u32, idr5: u32) -> Self {
        Self {
            idr0,
            idr1,
            idr3,
            idr5,
        }
    }

    /// Stage 1 translation is supported.
    pub(crate) const fn s1(&self) -> bool {
        IDR0_S1P.is_set32(self.idr0)
    }

    /// Stage 2 translation is supported.
    pub(crate) const fn s2(&self) -> bool {
        IDR0_S2P.is_set32(self.idr0)
    }

    /// Both stages, hence nesting, are supported.
    pub(crate) const fn nesting(&self) -> bool {
        self.s1() && self.s2()
    }

    /// The supported translation table formats, `None` for the reserved encoding.
    pub(crate) const fn ttf(&self) -> Option<Ttf> {
        Ttf::from_raw(IDR0_TTF.get32(self.idr0))
    }

    /// The SMMU's accesses are I/O coherent.
    pub(crate) const fn coherent(&self) -> bool {
        IDR0_COHACC.is_set32(self.idr0)
    }

    /// Broadcast TLB maintenance is supported.
    pub(crate) const fn btm(&self) -> bool {
        IDR0_BTM.is_set32(self.idr0)
    }

    /// Hardware translation table updates.
    pub(crate) const fn httu(&self) -> Httu {
        match Httu::from_raw(IDR0_HTTU.get32(self.idr0)) {
            Some(httu) => httu,
            None => Httu::None,
        }
    }

    /// Hypervisor stage 1 contexts (EL2) are supported.
    pub(crate) const fn hyp(&self) -> bool {
        IDR0_HYP.is_set32(self.idr0)
    }

    /// PCIe ATS is supported.
    pub(crate) const fn ats(&self) -> bool {
        IDR0_ATS.is_set32(self.idr0)
    }

    /// The number of ASID bits, 8 or 16.
    pub(crate) const fn asid_bits(&self) -> u32 {
        if IDR0_ASID16.is_set32(self.idr0) {
            16
        } else {
            8
        }
    }

    /// MSIs are supported.
    pub(crate) const fn msi(&self) -> bool {
        IDR0_MSI.is_set32(self.idr0)
    }

    /// `CMD_SYNC` can complete with a send-event.
    pub(crate) const fn sev(&self) -> bool {
        IDR0_SEV.is_set32(self.idr0)
    }

    /// PCIe PRI is supported.
    pub(crate) const fn pri(&self) -> bool {
        IDR0_PRI.is_set32(self.idr0)
    }

    /// The number of VMID bits, 8 or 16.
    pub(crate) const fn vmid_bits(&self) -> u32 {
        if IDR0_VMID16.is_set32(self.idr0) {
            16
        } else {
            8
        }
    }

    /// Two-level Context Descriptor tables are supported.
    pub(crate) const fn cd_2lvl(&self) -> bool {
        IDR0_CD2L.is_set32(self.idr0)
    }

    /// Translation table endianness, `None` for the reserved encoding.
    pub(crate) const fn tt_endian(&self) -> Option<TtEndian> {
        TtEndian::from_raw(IDR0_TTENDIAN.get32(self.idr0))
    }

    /// The stall model, `None` for the reserved encoding.
    pub(crate) const fn stall_model(&self) -> Option<StallModel> {
        StallModel::from_raw(IDR0_STALL_MODEL.get32(self.idr0))
    }

    /// The most capable stream table format, `None` for a reserved encoding.
    pub(crate) const fn st_level(&self) -> Option<StrtabFmt> {
        StrtabFmt::from_raw(IDR0_ST_LEVEL.get32(self.idr0))
    }

    /// The number of StreamID bits.
    pub(crate) const fn sid_bits(&self) -> u32 {
        // CAST: The field is 6 bits wide.
        IDR1_SIDSIZE.get32(self.idr1) as u32
    }

    /// The number of SubstreamID bits, 0 when SubstreamIDs are not supported.
    pub(crate) const fn ssid_bits(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        IDR1_SSIDSIZE.get32(self.idr1) as u32
    }

    /// log2 of the largest PRI queue.
    pub(crate) const fn priq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        IDR1_PRIQS.get32(self.idr1) as u32
    }

    /// log2 of the largest event queue.
    pub(crate) const fn evtq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        IDR1_EVTQS.get32(self.idr1) as u32
    }

    /// log2 of the largest command queue.
    pub(crate) const fn cmdq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        IDR1_CMDQS.get32(self.idr1) as u32
    }

    /// Incoming memory attributes can be overridden (`SHCFG` and friends are honoured).
    pub(crate) const fn attr_types_ovr(&self) -> bool {
        IDR1_ATTR_TYPES_OVR.is_set32(self.idr1)
    }

    /// Tables or queues are preset, or their addresses are relative: an embedded
    /// implementation that this driver does not support.
    pub(crate) const fn embedded(&self) -> bool {
        IDR1_TABLES_PRESET.is_set32(self.idr1)
            || IDR1_QUEUES_PRESET.is_set32(self.idr1)
            || IDR1_REL.is_set32(self.idr1)
    }

    /// Stage 2 forced write-back is supported.
    pub(crate) const fn fwb(&self) -> bool {
        IDR3_FWB.is_set32(self.idr3)
    }

    /// Small translation tables are supported: `T0SZ` up to 48 instead of 39.
    pub(crate) const fn stt(&self) -> bool {
        IDR3_STT.is_set32(self.idr3)
    }

    /// Range invalidation is supported.
    pub(crate) const fn ril(&self) -> bool {
        IDR3_RIL.is_set32(self.idr3)
    }

    /// The break-before-make level, 0 to 2.
    pub(crate) const fn bbml(&self) -> u32 {
        // CAST: The field is 2 bits wide.
        IDR3_BBML.get32(self.idr3) as u32
    }

    /// The largest number of stalled transactions.
    pub(crate) const fn stall_max(&self) -> u32 {
        // CAST: The field is 16 bits wide.
        IDR5_STALL_MAX.get32(self.idr5) as u32
    }

    /// 52-bit addresses with 4KB and 16KB granules are supported.
    pub(crate) const fn ds(&self) -> bool {
        IDR5_DS.is_set32(self.idr5)
    }

    /// The supported translation granules.
    pub(crate) const fn granules(&self) -> Granules {
        Granules {
            size_4k: IDR5_GRAN4K.is_set32(self.idr5),
            size_16k: IDR5_GRAN16K.is_set32(self.idr5),
            size_64k: IDR5_GRAN64K.is_set32(self.idr5),
        }
    }

    /// 52-bit virtual addresses are supported.
    pub(crate) const fn vax_52(&self) -> bool {
        IDR5_VAX.get32(self.idr5) == 1
    }

    /// The output address size in bits, `None` for a reserved encoding.
    pub(crate) const fn oas_bits(&self) -> Option<u32> {
        oas_bits(IDR5_OAS.get32(self.idr5))
    }
}

/// Decodes an `OAS`/`IPS`/`PS` address size encoding into a number of bits.
pub(crate) const fn oas_bits(raw: u64) -> Option<u32> {
    match raw {
        0 => Some(32),
        1 => Some(36),
        2 => Some(40),
        3 => Some(42),
        4 => Some(44),
        5 => Some(48),
        6 => Some(52),
        _ => None,
    }
}
