// SPDX-License-Identifier: GPL-2.0

//! ID register decoding and control register values.
//!
//! Only values are computed here; the driver declares the registers (offsets and widths, with
//! `kernel::io::register!`) and performs the MMIO accesses. 32-bit registers are
//! handled as `u32`, 64-bit ones as `u64`.

use crate::hw::{
    attr::Shareability,
    field::{
        encoding,
        Bit,
        Field, //
    },
    Error,
};

/// A field of a 32-bit register.
type R<const HI: u32, const LO: u32> = Field<0, HI, LO>;
/// A bit of a 32-bit register.
type B<const N: u32> = Bit<0, N>;

/// Returns a field of a 32-bit register value.
const fn get<const HI: u32, const LO: u32>(f: R<HI, LO>, reg: u32) -> u64 {
    // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
    f.extract(reg as u64)
}

/// Returns whether a bit of a 32-bit register value is set.
const fn bit<const N: u32>(f: B<N>, reg: u32) -> bool {
    get(f, reg) != 0
}

/// Returns a 32-bit register value from the low word of a [`Field`] staging array.
const fn reg32(w: [u64; 1]) -> u32 {
    // CAST: Every field written through these helpers lies in bits 31:0.
    w[0] as u32
}

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
        bit(IDR0_S1P, self.idr0)
    }

    /// Stage 2 translation is supported.
    pub(crate) const fn s2(&self) -> bool {
        bit(IDR0_S2P, self.idr0)
    }

    /// Both stages, hence nesting, are supported.
    pub(crate) const fn nesting(&self) -> bool {
        self.s1() && self.s2()
    }

    /// The supported translation table formats, `None` for the reserved encoding.
    pub(crate) const fn ttf(&self) -> Option<Ttf> {
        Ttf::from_raw(get(IDR0_TTF, self.idr0))
    }

    /// The SMMU's accesses are I/O coherent.
    pub(crate) const fn coherent(&self) -> bool {
        bit(IDR0_COHACC, self.idr0)
    }

    /// Broadcast TLB maintenance is supported.
    pub(crate) const fn btm(&self) -> bool {
        bit(IDR0_BTM, self.idr0)
    }

    /// Hardware translation table updates.
    pub(crate) const fn httu(&self) -> Httu {
        match Httu::from_raw(get(IDR0_HTTU, self.idr0)) {
            Some(httu) => httu,
            None => Httu::None,
        }
    }

    /// Hypervisor stage 1 contexts (EL2) are supported.
    pub(crate) const fn hyp(&self) -> bool {
        bit(IDR0_HYP, self.idr0)
    }

    /// PCIe ATS is supported.
    pub(crate) const fn ats(&self) -> bool {
        bit(IDR0_ATS, self.idr0)
    }

    /// The number of ASID bits, 8 or 16.
    pub(crate) const fn asid_bits(&self) -> u32 {
        if bit(IDR0_ASID16, self.idr0) {
            16
        } else {
            8
        }
    }

    /// MSIs are supported.
    pub(crate) const fn msi(&self) -> bool {
        bit(IDR0_MSI, self.idr0)
    }

    /// `CMD_SYNC` can complete with a send-event.
    pub(crate) const fn sev(&self) -> bool {
        bit(IDR0_SEV, self.idr0)
    }

    /// PCIe PRI is supported.
    pub(crate) const fn pri(&self) -> bool {
        bit(IDR0_PRI, self.idr0)
    }

    /// The number of VMID bits, 8 or 16.
    pub(crate) const fn vmid_bits(&self) -> u32 {
        if bit(IDR0_VMID16, self.idr0) {
            16
        } else {
            8
        }
    }

    /// Two-level Context Descriptor tables are supported.
    pub(crate) const fn cd_2lvl(&self) -> bool {
        bit(IDR0_CD2L, self.idr0)
    }

    /// Translation table endianness, `None` for the reserved encoding.
    pub(crate) const fn tt_endian(&self) -> Option<TtEndian> {
        TtEndian::from_raw(get(IDR0_TTENDIAN, self.idr0))
    }

    /// The stall model, `None` for the reserved encoding.
    pub(crate) const fn stall_model(&self) -> Option<StallModel> {
        StallModel::from_raw(get(IDR0_STALL_MODEL, self.idr0))
    }

    /// The most capable stream table format, `None` for a reserved encoding.
    pub(crate) const fn st_level(&self) -> Option<StrtabFmt> {
        StrtabFmt::from_raw(get(IDR0_ST_LEVEL, self.idr0))
    }

    /// The number of StreamID bits.
    pub(crate) const fn sid_bits(&self) -> u32 {
        // CAST: The field is 6 bits wide.
        get(IDR1_SIDSIZE, self.idr1) as u32
    }

    /// The number of SubstreamID bits, 0 when SubstreamIDs are not supported.
    pub(crate) const fn ssid_bits(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        get(IDR1_SSIDSIZE, self.idr1) as u32
    }

    /// log2 of the largest PRI queue.
    pub(crate) const fn priq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        get(IDR1_PRIQS, self.idr1) as u32
    }

    /// log2 of the largest event queue.
    pub(crate) const fn evtq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        get(IDR1_EVTQS, self.idr1) as u32
    }

    /// log2 of the largest command queue.
    pub(crate) const fn cmdq_log2size(&self) -> u32 {
        // CAST: The field is 5 bits wide.
        get(IDR1_CMDQS, self.idr1) as u32
    }

    /// Incoming memory attributes can be overridden (`SHCFG` and friends are honoured).
    pub(crate) const fn attr_types_ovr(&self) -> bool {
        bit(IDR1_ATTR_TYPES_OVR, self.idr1)
    }

    /// Tables or queues are preset, or their addresses are relative: an embedded
    /// implementation that this driver does not support.
    pub(crate) const fn embedded(&self) -> bool {
        bit(IDR1_TABLES_PRESET, self.idr1)
            || bit(IDR1_QUEUES_PRESET, self.idr1)
            || bit(IDR1_REL, self.idr1)
    }

    /// Stage 2 forced write-back is supported.
    pub(crate) const fn fwb(&self) -> bool {
        bit(IDR3_FWB, self.idr3)
    }

    /// Small translation tables are supported: `T0SZ` up to 48 instead of 39.
    pub(crate) const fn stt(&self) -> bool {
        bit(IDR3_STT, self.idr3)
    }

    /// Range invalidation is supported.
    pub(crate) const fn ril(&self) -> bool {
        bit(IDR3_RIL, self.idr3)
    }

    /// The break-before-make level, 0 to 2.
    pub(crate) const fn bbml(&self) -> u32 {
        // CAST: The field is 2 bits wide.
        get(IDR3_BBML, self.idr3) as u32
    }

    /// The largest number of stalled transactions.
    pub(crate) const fn stall_max(&self) -> u32 {
        // CAST: The field is 16 bits wide.
        get(IDR5_STALL_MAX, self.idr5) as u32
    }

    /// 52-bit addresses with 4KB and 16KB granules are supported.
    pub(crate) const fn ds(&self) -> bool {
        bit(IDR5_DS, self.idr5)
    }

    /// The supported translation granules.
    pub(crate) const fn granules(&self) -> Granules {
        Granules {
            size_4k: bit(IDR5_GRAN4K, self.idr5),
            size_16k: bit(IDR5_GRAN16K, self.idr5),
            size_64k: bit(IDR5_GRAN64K, self.idr5),
        }
    }

    /// 52-bit virtual addresses are supported.
    pub(crate) const fn vax_52(&self) -> bool {
        get(IDR5_VAX, self.idr5) == 1
    }

    /// The output address size in bits, `None` for a reserved encoding.
    pub(crate) const fn oas_bits(&self) -> Option<u32> {
        oas_bits(get(IDR5_OAS, self.idr5))
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

/// `STRTAB_BASE.RA`: read-allocate hint for stream table accesses.
const STRTAB_BASE_RA: Bit<0, 62> = Field;
/// `STRTAB_BASE.ADDR`: stream table address, bits 51:6.
const STRTAB_BASE_ADDR: Field<0, 51, 6> = Field;
/// `STRTAB_BASE_CFG.LOG2SIZE`: log2 of the number of StreamIDs covered.
const STRTAB_CFG_LOG2SIZE: R<5, 0> = Field;
/// `STRTAB_BASE_CFG.SPLIT`: the StreamID bit where a two-level table splits.
const STRTAB_CFG_SPLIT: R<10, 6> = Field;
/// `STRTAB_BASE_CFG.FMT`: the stream table format.
const STRTAB_CFG_FMT: R<17, 16> = Field;

/// Encodes `SMMU_STRTAB_BASE`.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `addr` is not 64-byte aligned or is above 2^52.
pub(crate) fn strtab_base(addr: u64, read_allocate: bool) -> Result<u64, Error> {
    let mut w = [0; 1];
    STRTAB_BASE_ADDR.set_addr(&mut w, addr)?;
    STRTAB_BASE_RA.set_bool(&mut w, read_allocate);
    Ok(w[0])
}

/// Encodes `SMMU_STRTAB_BASE_CFG`.
///
/// # Errors
///
/// Returns [`Error::Overflow`] if `log2size` or `split` do not fit their fields.
pub(crate) fn strtab_base_cfg(fmt: StrtabFmt, split: u8, log2size: u8) -> Result<u32, Error> {
    let mut w = [0; 1];
    STRTAB_CFG_FMT.set(&mut w, fmt.raw())?;
    STRTAB_CFG_SPLIT.set(&mut w, u64::from(split))?;
    STRTAB_CFG_LOG2SIZE.set(&mut w, u64::from(log2size))?;
    Ok(reg32(w))
}

/// The enable bits of `SMMU_CR0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cr0 {
    /// `SMMUEN`: translation is enabled.
    pub(crate) smmu: bool,
    /// `PRIQEN`: the PRI queue is enabled.
    pub(crate) priq: bool,
    /// `EVTQEN`: the event queue is enabled.
    pub(crate) evtq: bool,
    /// `CMDQEN`: the command queue is enabled.
    pub(crate) cmdq: bool,
    /// `ATSCHK`: ATS translated transactions are checked against the STE.
    pub(crate) atschk: bool,
}

/// `CR0.SMMUEN`.
const CR0_SMMUEN: B<0> = Field;
/// `CR0.PRIQEN`.
const CR0_PRIQEN: B<1> = Field;
/// `CR0.EVTQEN`.
const CR0_EVTQEN: B<2> = Field;
/// `CR0.CMDQEN`.
const CR0_CMDQEN: B<3> = Field;
/// `CR0.ATSCHK`.
const CR0_ATSCHK: B<4> = Field;

impl Cr0 {
    /// Returns the register value.
    pub(crate) const fn value(self) -> u32 {
        let mut w = [0; 1];
        CR0_SMMUEN.set_bool(&mut w, self.smmu);
        CR0_PRIQEN.set_bool(&mut w, self.priq);
        CR0_EVTQEN.set_bool(&mut w, self.evtq);
        CR0_CMDQEN.set_bool(&mut w, self.cmdq);
        CR0_ATSCHK.set_bool(&mut w, self.atschk);
        reg32(w)
    }

    /// Decodes a register value, such as `SMMU_CR0ACK`.
    pub(crate) const fn from_value(reg: u32) -> Self {
        Self {
            smmu: bit(CR0_SMMUEN, reg),
            priq: bit(CR0_PRIQEN, reg),
            evtq: bit(CR0_EVTQEN, reg),
            cmdq: bit(CR0_CMDQEN, reg),
            atschk: bit(CR0_ATSCHK, reg),
        }
    }
}

/// A step of bringing a reset SMMU up, once its stream table and command queue base are
/// programmed and everything is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnableStep {
    /// Write `SMMU_CR0`, and wait for `SMMU_CR0ACK` to match.
    Cr0(Cr0),
    /// Invalidate every configuration and TLB entry cached from before the reset, through the
    /// command queue (`CFGI_ALL`, `TLBI_NSNH_ALL`, each with a `CMD_SYNC`).
    InvalidateAll,
    /// Program the event queue's base and empty indices.
    EventQueueBase,
    /// Write `SMMU_IRQ_CTRL`, and wait for `SMMU_IRQ_CTRLACK` to match.
    IrqCtrl(u32),
}

/// The steps that enable a reset SMMU, in order.
///
/// The command queue first, so that caches can be invalidated; then the interrupts, before the
/// sources that raise them, so that nothing goes unsignalled; then the event queue, with
/// `ATSCHK` wherever the SMMU implements ATS; translation last.
///
/// `ATSCHK` is set from `IDR0.ATS` alone, whether or not the driver ever enables ATS for a
/// device: with `ATSCHK == 0` (Fast mode) a transaction that a PCIe endpoint marks as already
/// translated bypasses the Stream table, and with it the `STE.EATS` that would stop it.
pub(crate) const fn enable_steps(idr: &Idr) -> [EnableStep; 6] {
    let cmdq = Cr0 {
        smmu: false,
        priq: false,
        evtq: false,
        cmdq: true,
        atschk: false,
    };
    let queues = Cr0 {
        evtq: true,
        atschk: idr.ats(),
        ..cmdq
    };
    [
        EnableStep::Cr0(cmdq),
        EnableStep::InvalidateAll,
        EnableStep::EventQueueBase,
        EnableStep::IrqCtrl(IRQ_CTRL_GERROR | IRQ_CTRL_EVTQ),
        EnableStep::Cr0(queues),
        EnableStep::Cr0(Cr0 {
            smmu: true,
            ..queues
        }),
    ]
}

encoding! {
    /// The cacheability encoding of `SMMU_CR1`, which differs from the TCR-style one.
    pub(crate) enum Cr1Cache {
        /// Non-cacheable.
        NonCacheable = 0,
        /// Write-back cacheable.
        WriteBack = 1,
        /// Write-through cacheable.
        WriteThrough = 2,
    }
}

/// `CR1.QUEUE_IC`.
const CR1_QUEUE_IC: R<1, 0> = Field;
/// `CR1.QUEUE_OC`.
const CR1_QUEUE_OC: R<3, 2> = Field;
/// `CR1.QUEUE_SH`.
const CR1_QUEUE_SH: R<5, 4> = Field;
/// `CR1.TABLE_IC`.
const CR1_TABLE_IC: R<7, 6> = Field;
/// `CR1.TABLE_OC`.
const CR1_TABLE_OC: R<9, 8> = Field;
/// `CR1.TABLE_SH`.
const CR1_TABLE_SH: R<11, 10> = Field;

/// Memory attributes of the SMMU's own accesses to tables or queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WalkAttrs {
    /// Inner cacheability.
    pub(crate) inner: Cr1Cache,
    /// Outer cacheability.
    pub(crate) outer: Cr1Cache,
    /// Shareability.
    pub(crate) shareability: Shareability,
}

/// Encodes `SMMU_CR1` from the attributes of table and queue accesses.
pub(crate) const fn cr1(tables: WalkAttrs, queues: WalkAttrs) -> u32 {
    let mut w = [0; 1];
    // Every encoding of these enums fits its 2-bit field.
    CR1_TABLE_IC.set_truncated(&mut w, tables.inner.raw());
    CR1_TABLE_OC.set_truncated(&mut w, tables.outer.raw());
    CR1_TABLE_SH.set_truncated(&mut w, tables.shareability.raw());
    CR1_QUEUE_IC.set_truncated(&mut w, queues.inner.raw());
    CR1_QUEUE_OC.set_truncated(&mut w, queues.outer.raw());
    CR1_QUEUE_SH.set_truncated(&mut w, queues.shareability.raw());
    reg32(w)
}

/// `CR2.E2H`.
const CR2_E2H: B<0> = Field;
/// `CR2.RECINVSID`.
const CR2_RECINVSID: B<1> = Field;
/// `CR2.PTM`.
const CR2_PTM: B<2> = Field;

/// Encodes `SMMU_CR2`.
///
/// `e2h` selects the EL2-E2H StreamWorld for `STRW == El2`, `record_invalid_sid` reports
/// `C_BAD_STREAMID` events, and `private_tlb_maintenance` makes the SMMU ignore broadcast TLB
/// maintenance.
pub(crate) const fn cr2(e2h: bool, record_invalid_sid: bool, private_tlb_maintenance: bool) -> u32 {
    let mut w = [0; 1];
    CR2_E2H.set_bool(&mut w, e2h);
    CR2_RECINVSID.set_bool(&mut w, record_invalid_sid);
    CR2_PTM.set_bool(&mut w, private_tlb_maintenance);
    reg32(w)
}

/// `GBPA.ABORT`: incoming transactions abort while the SMMU is disabled.
const GBPA_ABORT: B<20> = Field;
/// `GBPA.Update`: set by software to apply a change, cleared by the SMMU when done.
const GBPA_UPDATE: B<31> = Field;

/// Returns the `SMMU_GBPA` value that applies `abort` and keeps the other fields of `current`.
pub(crate) const fn gbpa_update(current: u32, abort: bool) -> u32 {
    // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
    let mut w = [current as u64];
    GBPA_ABORT.set_bool(&mut w, abort);
    GBPA_UPDATE.set_bool(&mut w, true);
    reg32(w)
}

/// Returns whether an `SMMU_GBPA` value still has an update in progress.
pub(crate) const fn gbpa_updating(reg: u32) -> bool {
    bit(GBPA_UPDATE, reg)
}

/// Returns whether an `SMMU_GBPA` value aborts incoming transactions.
pub(crate) const fn gbpa_aborts(reg: u32) -> bool {
    bit(GBPA_ABORT, reg)
}

/// `SMMU_IRQ_CTRL.GERROR_IRQEN`.
pub(crate) const IRQ_CTRL_GERROR: u32 = 1 << 0;
/// `SMMU_IRQ_CTRL.PRIQ_IRQEN`.
pub(crate) const IRQ_CTRL_PRIQ: u32 = 1 << 1;
/// `SMMU_IRQ_CTRL.EVENTQ_IRQEN`.
pub(crate) const IRQ_CTRL_EVTQ: u32 = 1 << 2;

/// `SMMU_GERROR.CMDQ_ERR`: the command queue stopped on an error.
pub(crate) const GERROR_CMDQ_ERR: u32 = 1 << 0;
/// `SMMU_GERROR.EVTQ_ABT_ERR`: an event queue write aborted.
pub(crate) const GERROR_EVTQ_ABT_ERR: u32 = 1 << 2;
/// `SMMU_GERROR.PRIQ_ABT_ERR`: a PRI queue write aborted.
pub(crate) const GERROR_PRIQ_ABT_ERR: u32 = 1 << 3;
/// `SMMU_GERROR.MSI_CMDQ_ABT_ERR`: a `CMD_SYNC` completion MSI aborted.
pub(crate) const GERROR_MSI_CMDQ_ABT_ERR: u32 = 1 << 4;
/// `SMMU_GERROR.MSI_EVTQ_ABT_ERR`: an event queue MSI aborted.
pub(crate) const GERROR_MSI_EVTQ_ABT_ERR: u32 = 1 << 5;
/// `SMMU_GERROR.MSI_PRIQ_ABT_ERR`: a PRI queue MSI aborted.
pub(crate) const GERROR_MSI_PRIQ_ABT_ERR: u32 = 1 << 6;
/// `SMMU_GERROR.MSI_GERROR_ABT_ERR`: a global error MSI aborted.
pub(crate) const GERROR_MSI_GERROR_ABT_ERR: u32 = 1 << 7;
/// `SMMU_GERROR.SFM_ERR`: the SMMU entered Service Failure Mode.
pub(crate) const GERROR_SFM_ERR: u32 = 1 << 8;
/// All architected `SMMU_GERROR` error bits.
pub(crate) const GERROR_ERR_MASK: u32 = 0x1fd;

/// Returns the global errors that are active: those whose `GERROR` and `GERRORN` bits differ.
pub(crate) const fn gerror_active(gerror: u32, gerrorn: u32) -> u32 {
    (gerror ^ gerrorn) & GERROR_ERR_MASK
}

/// What the driver does about the active global errors of [`gerror_active`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GerrorActions {
    /// Errors other than a command error, to be reported.
    pub(crate) report: u32,
    /// The command queue stopped: fix the entry at `CONS` (which acknowledges `CMDQ_ERR`).
    pub(crate) recover_cmdq: bool,
    /// The event queue lost events.
    pub(crate) events_lost: bool,
    /// The SMMU is in Service Failure Mode: nothing it does can be trusted, so it is disabled
    /// and every transaction terminated, as the C driver does.
    pub(crate) disable: bool,
}

/// Decides what to do about the global errors `GERROR` against `GERRORN`; `None` if none is
/// active.
pub(crate) const fn gerror_actions(gerror: u32, gerrorn: u32) -> Option<GerrorActions> {
    let active = gerror_active(gerror, gerrorn);
    if active == 0 {
        return None;
    }
    Some(GerrorActions {
        report: active & !GERROR_CMDQ_ERR,
        recover_cmdq: active & GERROR_CMDQ_ERR != 0,
        events_lost: active & GERROR_EVTQ_ABT_ERR != 0,
        disable: active & GERROR_SFM_ERR != 0,
    })
}

/// The `SMMU_GERRORN` value that acknowledges every global error of `gerror` but `CMDQ_ERR`,
/// whose bit is left as `gerrorn`, the register's value after the command queue recovery
/// (which acknowledges `CMDQ_ERR` itself, once the queue can go on).
pub(crate) const fn gerror_ack(gerror: u32, gerrorn: u32) -> u32 {
    (gerrorn & GERROR_CMDQ_ERR) | (gerror & !GERROR_CMDQ_ERR)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `IDR0` of QEMU's `virt` SMMU (nested), without and with `IDR0.ATS` (bit 10).
    const IDR0: u32 = 0x0d44_101b;
    const IDR0_ATS: u32 = 1 << 10;

    fn steps(idr0: u32) -> [EnableStep; 6] {
        enable_steps(&Idr::new(idr0, 0x0273_0010, 0x1414, 0x74))
    }

    /// The position of the first step matching `f`.
    fn first(steps: &[EnableStep], f: impl Fn(&EnableStep) -> bool) -> usize {
        steps.iter().position(f).unwrap()
    }

    fn cr0s(steps: &[EnableStep]) -> impl Iterator<Item = Cr0> + '_ {
        steps.iter().filter_map(|s| match s {
            EnableStep::Cr0(c) => Some(*c),
            _ => None,
        })
    }

    #[test]
    fn reset_enables_queues_then_translation() {
        let s = steps(IDR0);
        let c: std::vec::Vec<Cr0> = cr0s(&s).collect();
        assert_eq!(c.len(), 3);
        assert!(c[0].cmdq && !c[0].evtq && !c[0].smmu);
        assert!(c[1].cmdq && c[1].evtq && !c[1].smmu);
        assert!(c[2].cmdq && c[2].evtq && c[2].smmu);
        assert!(c.iter().all(|c| !c.priq));
        // Nothing cached from before survives: invalidated once the command queue runs, before
        // translation.
        let inv = first(&s, |s| *s == EnableStep::InvalidateAll);
        assert!(inv > first(&s, |s| matches!(s, EnableStep::Cr0(c) if c.cmdq)));
        assert!(inv < first(&s, |s| matches!(s, EnableStep::Cr0(c) if c.smmu)));
    }

    #[test]
    fn interrupts_unmasked_before_their_sources() {
        let s = steps(IDR0);
        let irq = first(
            &s,
            |s| matches!(s, EnableStep::IrqCtrl(v) if *v == IRQ_CTRL_GERROR | IRQ_CTRL_EVTQ),
        );
        assert!(irq < first(&s, |s| matches!(s, EnableStep::Cr0(c) if c.evtq)));
        assert!(irq > first(&s, |s| *s == EnableStep::EventQueueBase));
    }

    #[test]
    fn global_errors() {
        assert_eq!(gerror_actions(0x105, 0x105), None);
        // Service Failure Mode disables the SMMU; a command error is left to the recovery,
        // which toggles its GERRORN bit itself.
        let a = gerror_actions(GERROR_SFM_ERR | GERROR_CMDQ_ERR, 0).unwrap();
        assert!(a.disable && a.recover_cmdq && !a.events_lost);
        assert_eq!(a.report, GERROR_SFM_ERR);
        let a = gerror_actions(GERROR_EVTQ_ABT_ERR, 0).unwrap();
        assert!(a.events_lost && !a.disable && !a.recover_cmdq);
        let a = gerror_actions(GERROR_EVTQ_ABT_ERR, GERROR_CMDQ_ERR | GERROR_SFM_ERR).unwrap();
        assert!(a.disable && a.recover_cmdq && a.events_lost);
        // Acknowledging makes GERRORN equal GERROR but for CMDQ_ERR, which the recovery owns:
        // whether it has toggled it yet or not, the acknowledgement leaves it as it is.
        for cmdq_ack in [0, GERROR_CMDQ_ERR] {
            let ack = gerror_ack(
                GERROR_SFM_ERR | GERROR_CMDQ_ERR,
                cmdq_ack | GERROR_EVTQ_ABT_ERR,
            );
            assert_eq!(ack, GERROR_SFM_ERR | cmdq_ack);
        }
    }

    #[test]
    fn ats_checked_before_translation_is_enabled() {
        let s = steps(IDR0 | IDR0_ATS);
        let c: std::vec::Vec<Cr0> = cr0s(&s).collect();
        assert!(!c[0].atschk);
        assert!(c[1].atschk && c[2].atschk);
        assert_eq!(c[2].value(), 0b11101);
        assert!(cr0s(&steps(IDR0)).all(|c| !c.atschk));
        assert_eq!(cr0s(&steps(IDR0)).last().unwrap().value(), 0b01101);
    }
}
