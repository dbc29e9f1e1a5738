// SPDX-License-Identifier: GPL-2.0

//! Register offsets and register value decoding and encoding.
//!
//! Only values are computed here; the driver maps the register set and performs the MMIO
//! accesses. 32-bit registers are handled as `u32`, 64-bit ones as `u64`. The offsets and bit
//! positions are those of the VT-d specification, chapter 11 ("Register Descriptions").

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    Error,
};

/// `VER_REG`: architecture version, 32 bits.
pub(crate) const VER: usize = 0x00;
/// `CAP_REG`: capabilities, 64 bits.
pub(crate) const CAP: usize = 0x08;
/// `ECAP_REG`: extended capabilities, 64 bits.
pub(crate) const ECAP: usize = 0x10;
/// `GCMD_REG`: global command, 32 bits.
pub(crate) const GCMD: usize = 0x18;
/// `GSTS_REG`: global status, 32 bits.
pub(crate) const GSTS: usize = 0x1c;
/// `RTADDR_REG`: root table address, 64 bits.
pub(crate) const RTADDR: usize = 0x20;
/// `CCMD_REG`: register-based context command, 64 bits.
pub(crate) const CCMD: usize = 0x28;
/// `FSTS_REG`: fault status, 32 bits.
pub(crate) const FSTS: usize = 0x34;
/// `FECTL_REG`: fault event control, 32 bits.
pub(crate) const FECTL: usize = 0x38;
/// `FEDATA_REG`: fault event interrupt data, 32 bits.
pub(crate) const FEDATA: usize = 0x3c;
/// `FEADDR_REG`: fault event interrupt address, 32 bits.
pub(crate) const FEADDR: usize = 0x40;
/// `FEUADDR_REG`: fault event interrupt upper address, 32 bits.
pub(crate) const FEUADDR: usize = 0x44;
/// `AFLOG_REG`: advanced fault log, 64 bits.
pub(crate) const AFLOG: usize = 0x58;
/// `PMEN_REG`: protected memory enable, 32 bits.
pub(crate) const PMEN: usize = 0x64;
/// `PLMBASE_REG`: protected low memory base, 32 bits.
pub(crate) const PLMBASE: usize = 0x68;
/// `PLMLIMIT_REG`: protected low memory limit, 32 bits.
pub(crate) const PLMLIMIT: usize = 0x6c;
/// `PHMBASE_REG`: protected high memory base, 64 bits.
pub(crate) const PHMBASE: usize = 0x70;
/// `PHMLIMIT_REG`: protected high memory limit, 64 bits.
pub(crate) const PHMLIMIT: usize = 0x78;
/// `IQH_REG`: invalidation queue head, 64 bits.
pub(crate) const IQH: usize = 0x80;
/// `IQT_REG`: invalidation queue tail, 64 bits.
pub(crate) const IQT: usize = 0x88;
/// `IQA_REG`: invalidation queue address, 64 bits.
pub(crate) const IQA: usize = 0x90;
/// `ICS_REG`: invalidation completion status, 32 bits.
pub(crate) const ICS: usize = 0x9c;
/// `IECTL_REG`: invalidation event control, 32 bits.
pub(crate) const IECTL: usize = 0xa0;
/// `IQER_REG`: invalidation queue error record, 64 bits.
pub(crate) const IQER: usize = 0xb0;
/// `IRTA_REG`: interrupt remapping table address, 64 bits.
pub(crate) const IRTA: usize = 0xb8;
/// `PQH_REG`: page request queue head, 64 bits.
pub(crate) const PQH: usize = 0xc0;
/// `PQT_REG`: page request queue tail, 64 bits.
pub(crate) const PQT: usize = 0xc8;
/// `PQA_REG`: page request queue address, 64 bits.
pub(crate) const PQA: usize = 0xd0;
/// `PRS_REG`: page request status, 32 bits.
pub(crate) const PRS: usize = 0xdc;
/// `PECTL_REG`: page request event control, 32 bits.
pub(crate) const PECTL: usize = 0xe0;
/// `ECMD_REG`: enhanced command, 64 bits.
pub(crate) const ECMD: usize = 0x400;

/// Size of one fault recording register (`FRCD_REG`), in bytes.
pub(crate) const FRCD_SIZE: usize = 16;
/// Size of the IOTLB registers (`IVA_REG` and `IOTLB_REG`) at `ECAP.IRO`, in bytes.
pub(crate) const IOTLB_REGS_SIZE: usize = 16;
/// The smallest register set a remapping unit has: one 4KB page.
pub(crate) const MIN_REG_SIZE: usize = 0x1000;

/// A field of a 32-bit register.
type R<const HI: u32, const LO: u32> = Field<0, HI, LO>;
/// A bit of a register.
type B<const N: u32> = Bit<0, N>;

/// Returns a field of a 32-bit register value.
const fn get32<const HI: u32, const LO: u32>(f: R<HI, LO>, reg: u32) -> u64 {
    // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
    f.extract(reg as u64)
}

/// Returns whether a bit of a 64-bit register value is set.
const fn bit64<const N: u32>(f: B<N>, reg: u64) -> bool {
    f.extract(reg) != 0
}

/// Returns whether a bit of a 32-bit register value is set.
const fn bit32<const N: u32>(f: B<N>, reg: u32) -> bool {
    get32(f, reg) != 0
}

/// `VER_REG.MIN`.
const VER_MIN: R<3, 0> = Field;
/// `VER_REG.MAX`.
const VER_MAX: R<7, 4> = Field;

/// The architecture version in `VER_REG`, as `(major, minor)`.
pub(crate) const fn version(ver: u32) -> (u8, u8) {
    // CAST: Both fields are 4 bits wide.
    (get32(VER_MAX, ver) as u8, get32(VER_MIN, ver) as u8)
}

encoding! {
    /// Adjusted guest address width: the page-table depth of a second-stage table, as encoded
    /// in the `AW` fields of context and PASID table entries. `CAP.SAGAW` has one bit per
    /// encoding.
    pub(crate) enum Agaw {
        /// 30-bit, 2-level (no longer defined for second-stage tables).
        Bits30 = 0,
        /// 39-bit, 3-level.
        Bits39 = 1,
        /// 48-bit, 4-level.
        Bits48 = 2,
        /// 57-bit, 5-level.
        Bits57 = 3,
    }
}

impl Agaw {
    /// The input address width in bits.
    pub(crate) const fn width(self) -> u32 {
        // CAST: The discriminant is at most 3.
        30 + 9 * (self as u32)
    }

    /// The number of page-table levels.
    pub(crate) const fn levels(self) -> u32 {
        // CAST: As above.
        2 + self as u32
    }

    /// The encoding whose width covers `width` bits, rounding up as the C driver's
    /// `width_to_agaw()` does; `None` above 57 bits.
    pub(crate) const fn covering(width: u32) -> Option<Self> {
        if width <= 30 {
            Some(Self::Bits30)
        } else {
            // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
            Self::from_raw(((width - 30) as u64).div_ceil(9))
        }
    }
}

/// `CAP.ND`.
const CAP_ND: Field<0, 2, 0> = Field;
/// `CAP.AFL`.
const CAP_AFL: B<3> = Field;
/// `CAP.RWBF`.
const CAP_RWBF: B<4> = Field;
/// `CAP.PLMR`.
const CAP_PLMR: B<5> = Field;
/// `CAP.PHMR`.
const CAP_PHMR: B<6> = Field;
/// `CAP.CM`.
const CAP_CM: B<7> = Field;
/// `CAP.SAGAW`.
const CAP_SAGAW: Field<0, 12, 8> = Field;
/// `CAP.MGAW`.
const CAP_MGAW: Field<0, 21, 16> = Field;
/// `CAP.ZLR`.
const CAP_ZLR: B<22> = Field;
/// `CAP.FRO`.
const CAP_FRO: Field<0, 33, 24> = Field;
/// `CAP.SLLPS`.
const CAP_SLLPS: Field<0, 37, 34> = Field;
/// `CAP.PSI`.
const CAP_PSI: B<39> = Field;
/// `CAP.NFR`.
const CAP_NFR: Field<0, 47, 40> = Field;
/// `CAP.MAMV`.
const CAP_MAMV: Field<0, 53, 48> = Field;
/// `CAP.DWD`.
const CAP_DWD: B<54> = Field;
/// `CAP.DRD`.
const CAP_DRD: B<55> = Field;
/// `CAP.FS1GP` (formerly `FL1GP`).
const CAP_FS1GP: B<56> = Field;
/// `CAP.PI`.
const CAP_PI: B<59> = Field;
/// `CAP.FS5LP` (formerly `FL5LP`).
const CAP_FS5LP: B<60> = Field;
/// `CAP.ECMDS`.
const CAP_ECMDS: B<61> = Field;
/// `CAP.ESIRTPS`.
const CAP_ESIRTPS: B<62> = Field;
/// `CAP.ESRTPS`.
const CAP_ESRTPS: B<63> = Field;

/// A decoded `CAP_REG` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cap(pub(crate) u64);

impl Cap {
    /// The width of a domain identifier in bits (`ND`), `None` for the reserved encoding 7.
    pub(crate) const fn domain_id_bits(self) -> Option<u32> {
        match CAP_ND.extract(self.0) {
            // CAST: `nd` is at most 6.
            nd @ 0..=6 => Some(4 + 2 * nd as u32),
            _ => None,
        }
    }

    /// The number of domain identifiers (`ND`), `None` for the reserved encoding.
    pub(crate) const fn domains(self) -> Option<u32> {
        match self.domain_id_bits() {
            Some(bits) => Some(1 << bits),
            None => None,
        }
    }

    /// Advanced fault logging (`AFL`).
    pub(crate) const fn afl(self) -> bool {
        bit64(CAP_AFL, self.0)
    }

    /// Required write-buffer flushing (`RWBF`).
    pub(crate) const fn rwbf(self) -> bool {
        bit64(CAP_RWBF, self.0)
    }

    /// Protected low-memory region (`PLMR`).
    pub(crate) const fn plmr(self) -> bool {
        bit64(CAP_PLMR, self.0)
    }

    /// Protected high-memory region (`PHMR`).
    pub(crate) const fn phmr(self) -> bool {
        bit64(CAP_PHMR, self.0)
    }

    /// Caching mode (`CM`): not-present and erroneous entries may be cached, so creating a
    /// mapping needs an invalidation too. Virtual IOMMUs set it.
    pub(crate) const fn caching_mode(self) -> bool {
        bit64(CAP_CM, self.0)
    }

    /// Supported adjusted guest address widths (`SAGAW`), one bit per [`Agaw`] encoding.
    pub(crate) const fn sagaw(self) -> u8 {
        // CAST: The field is 5 bits wide.
        CAP_SAGAW.extract(self.0) as u8
    }

    /// Whether second-stage tables of `agaw` are supported.
    pub(crate) const fn supports_agaw(self, agaw: Agaw) -> bool {
        self.sagaw() & (1 << agaw.raw()) != 0
    }

    /// The deepest supported second-stage table no wider than what covers `width` bits, as the C
    /// driver's `__iommu_calculate_agaw()` chooses it.
    pub(crate) const fn agaw_for(self, width: u32) -> Option<Agaw> {
        let mut raw = match Agaw::covering(width) {
            Some(a) => a.raw(),
            None => 3,
        };
        loop {
            if let Some(a) = Agaw::from_raw(raw) {
                if self.supports_agaw(a) {
                    return Some(a);
                }
            }
            if raw == 0 {
                return None;
            }
            raw -= 1;
        }
    }

    /// Maximum guest address width (`MGAW + 1`), in bits.
    pub(crate) const fn mgaw(self) -> u32 {
        // CAST: The field is 6 bits wide.
        CAP_MGAW.extract(self.0) as u32 + 1
    }

    /// Zero-length reads (`ZLR`).
    pub(crate) const fn zlr(self) -> bool {
        bit64(CAP_ZLR, self.0)
    }

    /// Offset of the first fault recording register from the register base (`FRO * 16`).
    pub(crate) const fn fault_reg_offset(self) -> usize {
        // CAST: The field is 10 bits wide.
        CAP_FRO.extract(self.0) as usize * 16
    }

    /// The number of fault recording registers (`NFR + 1`).
    pub(crate) const fn num_fault_regs(self) -> usize {
        // CAST: The field is 8 bits wide.
        CAP_NFR.extract(self.0) as usize + 1
    }

    /// The offset of fault recording register `index`.
    pub(crate) const fn frcd_offset(self, index: usize) -> Option<usize> {
        if index < self.num_fault_regs() {
            Some(self.fault_reg_offset() + index * FRCD_SIZE)
        } else {
            None
        }
    }

    /// Second-stage large pages (`SLLPS`): 2MB.
    pub(crate) const fn ss_2m(self) -> bool {
        CAP_SLLPS.extract(self.0) & 1 != 0
    }

    /// Second-stage large pages (`SLLPS`): 1GB.
    pub(crate) const fn ss_1g(self) -> bool {
        CAP_SLLPS.extract(self.0) & 2 != 0
    }

    /// Page-selective invalidation (`PSI`).
    pub(crate) const fn psi(self) -> bool {
        bit64(CAP_PSI, self.0)
    }

    /// Maximum address mask value (`MAMV`) of a page-selective invalidation.
    pub(crate) const fn mamv(self) -> u8 {
        // CAST: The field is 6 bits wide.
        CAP_MAMV.extract(self.0) as u8
    }

    /// Write draining (`DWD`).
    pub(crate) const fn write_drain(self) -> bool {
        bit64(CAP_DWD, self.0)
    }

    /// Read draining (`DRD`).
    pub(crate) const fn read_drain(self) -> bool {
        bit64(CAP_DRD, self.0)
    }

    /// First-stage 1GB pages (`FS1GP`).
    pub(crate) const fn fs_1g(self) -> bool {
        bit64(CAP_FS1GP, self.0)
    }

    /// Posted interrupts (`PI`).
    pub(crate) const fn posted_interrupts(self) -> bool {
        bit64(CAP_PI, self.0)
    }

    /// First-stage 5-level paging (`FS5LP`).
    pub(crate) const fn fs_5level(self) -> bool {
        bit64(CAP_FS5LP, self.0)
    }

    /// Enhanced command support (`ECMDS`).
    pub(crate) const fn ecmds(self) -> bool {
        bit64(CAP_ECMDS, self.0)
    }

    /// Enhanced set interrupt remap table pointer (`ESIRTPS`): `SIRTP` also invalidates the
    /// interrupt entry cache.
    pub(crate) const fn esirtps(self) -> bool {
        bit64(CAP_ESIRTPS, self.0)
    }

    /// Enhanced set root table pointer (`ESRTPS`): `SRTP` also invalidates the caches.
    pub(crate) const fn esrtps(self) -> bool {
        bit64(CAP_ESRTPS, self.0)
    }
}

/// `ECAP.C`.
const ECAP_C: B<0> = Field;
/// `ECAP.QI`.
const ECAP_QI: B<1> = Field;
/// `ECAP.DT`.
const ECAP_DT: B<2> = Field;
/// `ECAP.IR`.
const ECAP_IR: B<3> = Field;
/// `ECAP.EIM`.
const ECAP_EIM: B<4> = Field;
/// `ECAP.PT`.
const ECAP_PT: B<6> = Field;
/// `ECAP.SC`.
const ECAP_SC: B<7> = Field;
/// `ECAP.IRO`.
const ECAP_IRO: Field<0, 17, 8> = Field;
/// `ECAP.MHMV`.
const ECAP_MHMV: Field<0, 23, 20> = Field;
/// `ECAP.MTS`.
const ECAP_MTS: B<25> = Field;
/// `ECAP.NEST`.
const ECAP_NEST: B<26> = Field;
/// `ECAP.PRS`.
const ECAP_PRS: B<29> = Field;
/// `ECAP.ERS`.
const ECAP_ERS: B<30> = Field;
/// `ECAP.SRS`.
const ECAP_SRS: B<31> = Field;
/// `ECAP.NWFS`.
const ECAP_NWFS: B<33> = Field;
/// `ECAP.EAFS`.
const ECAP_EAFS: B<34> = Field;
/// `ECAP.PSS`.
const ECAP_PSS: Field<0, 39, 35> = Field;
/// `ECAP.PASID`.
const ECAP_PASID: B<40> = Field;
/// `ECAP.DIT`.
const ECAP_DIT: B<41> = Field;
/// `ECAP.PDS`.
const ECAP_PDS: B<42> = Field;
/// `ECAP.SMTS`.
const ECAP_SMTS: B<43> = Field;
/// `ECAP.VCS`.
const ECAP_VCS: B<44> = Field;
/// `ECAP.SSADS` (formerly `SLADS`).
const ECAP_SSADS: B<45> = Field;
/// `ECAP.SSTS` (formerly `SLTS`).
const ECAP_SSTS: B<46> = Field;
/// `ECAP.FSTS` (formerly `FLTS`).
const ECAP_FSTS: B<47> = Field;
/// `ECAP.SMPWCS`.
const ECAP_SMPWCS: B<48> = Field;
/// `ECAP.RPS`.
const ECAP_RPS: B<49> = Field;
/// `ECAP.PMS`.
const ECAP_PMS: B<51> = Field;

/// A decoded `ECAP_REG` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ecap(pub(crate) u64);

impl Ecap {
    /// Page-walk coherency (`C`).
    pub(crate) const fn coherent(self) -> bool {
        bit64(ECAP_C, self.0)
    }

    /// Queued invalidation (`QI`).
    pub(crate) const fn qi(self) -> bool {
        bit64(ECAP_QI, self.0)
    }

    /// Device-TLB invalidation, that is ATS (`DT`).
    pub(crate) const fn dev_tlb(self) -> bool {
        bit64(ECAP_DT, self.0)
    }

    /// Interrupt remapping (`IR`).
    pub(crate) const fn ir(self) -> bool {
        bit64(ECAP_IR, self.0)
    }

    /// Extended interrupt mode, 32-bit APIC IDs (`EIM`).
    pub(crate) const fn eim(self) -> bool {
        bit64(ECAP_EIM, self.0)
    }

    /// Pass-through translation (`PT`).
    pub(crate) const fn pass_through(self) -> bool {
        bit64(ECAP_PT, self.0)
    }

    /// Snoop control (`SC`).
    pub(crate) const fn snoop_control(self) -> bool {
        bit64(ECAP_SC, self.0)
    }

    /// Offset of the IOTLB registers from the register base (`IRO * 16`).
    pub(crate) const fn iotlb_reg_offset(self) -> usize {
        // CAST: The field is 10 bits wide.
        ECAP_IRO.extract(self.0) as usize * 16
    }

    /// Maximum handle mask value (`MHMV`) of interrupt entry cache invalidations.
    pub(crate) const fn mhmv(self) -> u8 {
        // CAST: The field is 4 bits wide.
        ECAP_MHMV.extract(self.0) as u8
    }

    /// Memory type support (`MTS`).
    pub(crate) const fn mts(self) -> bool {
        bit64(ECAP_MTS, self.0)
    }

    /// Nested translation (`NEST`).
    pub(crate) const fn nest(self) -> bool {
        bit64(ECAP_NEST, self.0)
    }

    /// Page requests (`PRS`).
    pub(crate) const fn prs(self) -> bool {
        bit64(ECAP_PRS, self.0)
    }

    /// Execute requests (`ERS`).
    pub(crate) const fn ers(self) -> bool {
        bit64(ECAP_ERS, self.0)
    }

    /// Supervisor requests (`SRS`).
    pub(crate) const fn srs(self) -> bool {
        bit64(ECAP_SRS, self.0)
    }

    /// No write flag (`NWFS`).
    pub(crate) const fn nwfs(self) -> bool {
        bit64(ECAP_NWFS, self.0)
    }

    /// Extended accessed flag (`EAFS`).
    pub(crate) const fn eafs(self) -> bool {
        bit64(ECAP_EAFS, self.0)
    }

    /// The width of a PASID in bits (`PSS + 1`).
    pub(crate) const fn pasid_bits(self) -> u32 {
        // CAST: The field is 5 bits wide.
        ECAP_PSS.extract(self.0) as u32 + 1
    }

    /// PASID support (`PASID`).
    pub(crate) const fn pasid(self) -> bool {
        bit64(ECAP_PASID, self.0)
    }

    /// Device-TLB invalidation throttling (`DIT`).
    pub(crate) const fn dit(self) -> bool {
        bit64(ECAP_DIT, self.0)
    }

    /// Page-request drain (`PDS`).
    pub(crate) const fn pds(self) -> bool {
        bit64(ECAP_PDS, self.0)
    }

    /// Scalable-mode translation (`SMTS`).
    pub(crate) const fn smts(self) -> bool {
        bit64(ECAP_SMTS, self.0)
    }

    /// Virtual command support (`VCS`).
    pub(crate) const fn vcs(self) -> bool {
        bit64(ECAP_VCS, self.0)
    }

    /// Second-stage accessed/dirty bits, for dirty tracking (`SSADS`).
    pub(crate) const fn ssads(self) -> bool {
        bit64(ECAP_SSADS, self.0)
    }

    /// Second-stage translation in scalable mode (`SSTS`).
    pub(crate) const fn ssts(self) -> bool {
        bit64(ECAP_SSTS, self.0)
    }

    /// First-stage translation in scalable mode (`FSTS`).
    pub(crate) const fn fsts(self) -> bool {
        bit64(ECAP_FSTS, self.0)
    }

    /// Scalable-mode page-walk coherency (`SMPWCS`).
    pub(crate) const fn smpwc(self) -> bool {
        bit64(ECAP_SMPWCS, self.0)
    }

    /// RID-PASID support (`RPS`).
    pub(crate) const fn rps(self) -> bool {
        bit64(ECAP_RPS, self.0)
    }

    /// Performance monitoring (`PMS`).
    pub(crate) const fn pms(self) -> bool {
        bit64(ECAP_PMS, self.0)
    }
}

/// The size of the register set the driver has to map: enough for the fault recording and IOTLB
/// registers wherever `CAP.FRO`, `CAP.NFR` and `ECAP.IRO` put them, at least one page.
pub(crate) const fn register_span(cap: Cap, ecap: Ecap) -> usize {
    let fault_end = cap.fault_reg_offset() + cap.num_fault_regs() * FRCD_SIZE;
    let iotlb_end = ecap.iotlb_reg_offset() + IOTLB_REGS_SIZE;
    let end = if fault_end > iotlb_end {
        fault_end
    } else {
        iotlb_end
    };
    if end > MIN_REG_SIZE {
        end
    } else {
        MIN_REG_SIZE
    }
}

/// Bits of `PMEN_REG`.
pub(crate) mod pmen {
    /// `EPM`: enable protected memory regions.
    pub(crate) const EPM: u32 = 1 << 31;
    /// `PRS`: protected region status (read only).
    pub(crate) const PRS: u32 = 1 << 0;
}

/// Bits of `GCMD_REG` and, at the same positions, of `GSTS_REG`.
///
/// Every command but the one-shot ones (`SRTP`, `SFL`, `WBF`, `SIRTP`) is a state bit: software
/// writes the whole desired state. The state is read back from `GSTS` with the status bits of the
/// one-shot commands masked off (the specification's `0x96ffffff`); the C driver keeps a shadow
/// `gcmd` seeded from `GSTS` instead, which gives the same value.
pub(crate) mod global {
    /// `TE`/`TES`: translation enable.
    pub(crate) const TE: u32 = 1 << 31;
    /// `SRTP`/`RTPS`: set root table pointer.
    pub(crate) const SRTP: u32 = 1 << 30;
    /// `SFL`/`FLS`: set fault log (deprecated).
    pub(crate) const SFL: u32 = 1 << 29;
    /// `EAFL`/`AFLS`: enable advanced fault logging (deprecated).
    pub(crate) const EAFL: u32 = 1 << 28;
    /// `WBF`/`WBFS`: write buffer flush.
    pub(crate) const WBF: u32 = 1 << 27;
    /// `QIE`/`QIES`: queued invalidation enable.
    pub(crate) const QIE: u32 = 1 << 26;
    /// `IRE`/`IRES`: interrupt remapping enable.
    pub(crate) const IRE: u32 = 1 << 25;
    /// `SIRTP`/`IRTPS`: set interrupt remapping table pointer.
    pub(crate) const SIRTP: u32 = 1 << 24;
    /// `CFI`/`CFIS`: compatibility format interrupts.
    pub(crate) const CFI: u32 = 1 << 23;

    /// The status bits of one-shot commands, which must not be written back as commands.
    pub(crate) const ONE_SHOT: u32 = SRTP | SFL | WBF | SIRTP;

    /// The `GCMD` value that changes only `cmd` (to `on`), given the current `GSTS`.
    pub(crate) const fn command(gsts: u32, cmd: u32, on: bool) -> u32 {
        let state = gsts & !ONE_SHOT;
        if on {
            state | cmd
        } else {
            state & !cmd
        }
    }

    /// Whether `GSTS` shows that the command `cmd` (turning a state on or off, or a one-shot
    /// command with `on` set) completed. A state's status bit follows the state; `RTPS` and
    /// `IRTPS` are set once the pointer is latched; `WBFS` is set while the write buffer flush
    /// is in progress and clear once it completed.
    pub(crate) const fn done(gsts: u32, cmd: u32, on: bool) -> bool {
        if cmd == WBF {
            gsts & WBF == 0
        } else {
            (gsts & cmd != 0) == on
        }
    }
}

/// `FSTS.PFO`.
const FSTS_PFO: B<0> = Field;
/// `FSTS.PPF`.
const FSTS_PPF: B<1> = Field;
/// `FSTS.AFO`.
const FSTS_AFO: B<2> = Field;
/// `FSTS.APF`.
const FSTS_APF: B<3> = Field;
/// `FSTS.IQE`.
const FSTS_IQE: B<4> = Field;
/// `FSTS.ICE`.
const FSTS_ICE: B<5> = Field;
/// `FSTS.ITE`.
const FSTS_ITE: B<6> = Field;
/// `FSTS.PRO` (deprecated, still cleared by the C driver).
const FSTS_PRO: B<7> = Field;
/// `FSTS.FRI`.
const FSTS_FRI: R<15, 8> = Field;

/// A decoded `FSTS_REG` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fsts {
    /// Primary fault overflow (`PFO`).
    pub(crate) overflow: bool,
    /// Primary pending fault (`PPF`): at least one fault recording register has `F` set.
    pub(crate) pending: bool,
    /// Advanced fault overflow (`AFO`).
    pub(crate) adv_overflow: bool,
    /// Advanced pending fault (`APF`).
    pub(crate) adv_pending: bool,
    /// Invalidation queue error (`IQE`).
    pub(crate) iqe: bool,
    /// Invalidation completion error (`ICE`).
    pub(crate) ice: bool,
    /// Invalidation time-out error (`ITE`).
    pub(crate) ite: bool,
    /// Page request overflow (`PRO`).
    pub(crate) pro: bool,
    /// Fault record index (`FRI`): the first fault recording register to look at.
    pub(crate) fri: u8,
}

impl Fsts {
    /// Write-1-to-clear bits the fault handler clears once it has drained the records, as the C
    /// driver's `dmar_fault()` does (`PFO`, `PPF`, `PRO`).
    pub(crate) const PRIMARY_CLEAR: u32 = 1 << 0 | 1 << 1 | 1 << 7;
    /// Write-1-to-clear invalidation error bits (`IQE`, `ICE`, `ITE`).
    pub(crate) const INVALIDATION_ERRORS: u32 = 1 << 4 | 1 << 5 | 1 << 6;

    /// Decodes a `FSTS_REG` value.
    pub(crate) const fn decode(fsts: u32) -> Self {
        Self {
            overflow: bit32(FSTS_PFO, fsts),
            pending: bit32(FSTS_PPF, fsts),
            adv_overflow: bit32(FSTS_AFO, fsts),
            adv_pending: bit32(FSTS_APF, fsts),
            iqe: bit32(FSTS_IQE, fsts),
            ice: bit32(FSTS_ICE, fsts),
            ite: bit32(FSTS_ITE, fsts),
            pro: bit32(FSTS_PRO, fsts),
            // CAST: The field is 8 bits wide.
            fri: get32(FSTS_FRI, fsts) as u8,
        }
    }
}

/// `FECTL.IM`: interrupt mask.
pub(crate) const FECTL_IM: u32 = 1 << 31;
/// `FECTL.IP`: interrupt pending.
pub(crate) const FECTL_IP: u32 = 1 << 30;

encoding! {
    /// `RTADDR.TTM`: the translation table mode the root table is in.
    pub(crate) enum Ttm {
        /// Legacy mode: 128-bit root and context entries.
        Legacy = 0,
        /// Scalable mode: scalable-mode root and context entries, PASID tables.
        Scalable = 1,
    }
}

/// `RTADDR.TTM`.
const RTADDR_TTM: Field<0, 11, 10> = Field;
/// `RTADDR.RTA`.
const RTADDR_RTA: Field<0, 63, 12> = Field;

/// The `RTADDR_REG` value for a root table at `table` in mode `ttm`.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `table` is not 4KB aligned.
pub(crate) const fn rtaddr(table: u64, ttm: Ttm) -> Result<u64, Error> {
    let mut w = [0];
    if let Err(e) = RTADDR_RTA.set_addr(&mut w, table) {
        return Err(e);
    }
    RTADDR_TTM.set_truncated(&mut w, ttm.raw());
    Ok(w[0])
}

/// `IQA.QS`.
const IQA_QS: Field<0, 2, 0> = Field;
/// `IQA.DW`.
const IQA_DW: Bit<0, 11> = Field;
/// `IQA.IQA`.
const IQA_ADDR: Field<0, 63, 12> = Field;

/// The largest `IQA.QS`: 2^7 4KB pages.
pub(crate) const IQA_QS_MAX: u8 = 7;

/// The `IQA_REG` value for an invalidation queue at `base` of `2^qs` 4KB pages, with 256-bit
/// descriptors if `wide` (required in scalable mode), else 128-bit ones.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `base` is not 4KB aligned and [`Error::Overflow`] if `qs` is
/// above [`IQA_QS_MAX`].
pub(crate) const fn iqa(base: u64, qs: u8, wide: bool) -> Result<u64, Error> {
    if qs > IQA_QS_MAX {
        return Err(Error::Overflow);
    }
    let mut w = [0];
    if let Err(e) = IQA_ADDR.set_addr(&mut w, base) {
        return Err(e);
    }
    // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
    IQA_QS.set_truncated(&mut w, qs as u64);
    IQA_DW.set_bool(&mut w, wide);
    Ok(w[0])
}

/// The number of descriptors of an invalidation queue of `2^qs` 4KB pages.
pub(crate) const fn iq_entries(qs: u8, wide: bool) -> usize {
    let shift = if wide { 5 } else { 4 };
    (0x1000 << qs) >> shift
}

/// The `IQT_REG` (or `IQH_REG`) value for descriptor `index`: the byte offset of the
/// descriptor, 16 or 32 bytes per descriptor as the C driver's `qi_shift()`.
pub(crate) const fn iq_offset(index: usize, wide: bool) -> u64 {
    let shift = if wide { 5 } else { 4 };
    // CAST: Queue indices are below 2^12, far below `u64::MAX >> 5`.
    (index as u64) << shift
}

/// The descriptor index in an `IQH_REG` or `IQT_REG` value.
pub(crate) const fn iq_index(reg: u64, wide: bool) -> usize {
    let shift = if wide { 5 } else { 4 };
    // CAST: Bits 18:4 hold the offset, so the index is below 2^15.
    ((reg & 0x7fff0) >> shift) as usize
}

/// `ICS.IWC`: invalidation wait descriptor complete.
pub(crate) const ICS_IWC: u32 = 1;

/// `IQER.IQEI`.
const IQER_IQEI: Field<0, 3, 0> = Field;
/// `IQER.ITESID`.
const IQER_ITESID: Field<0, 47, 32> = Field;
/// `IQER.ICESID`.
const IQER_ICESID: Field<0, 63, 48> = Field;

/// A decoded `IQER_REG` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Iqer {
    /// Invalidation queue error information (`IQEI`): why the descriptor at `IQH` was
    /// rejected, 0 when not reported.
    pub(crate) iqei: u8,
    /// The source-id of the device-TLB invalidation that timed out (`ITESID`).
    pub(crate) itesid: u16,
    /// The source-id of the invalid completion of a device-TLB invalidation (`ICESID`).
    pub(crate) icesid: u16,
}

impl Iqer {
    /// Decodes an `IQER_REG` value.
    pub(crate) const fn decode(reg: u64) -> Self {
        Self {
            // CAST: The fields are 4, 16 and 16 bits wide.
            iqei: IQER_IQEI.extract(reg) as u8,
            // CAST: As above.
            itesid: IQER_ITESID.extract(reg) as u16,
            // CAST: As above.
            icesid: IQER_ICESID.extract(reg) as u16,
        }
    }
}
