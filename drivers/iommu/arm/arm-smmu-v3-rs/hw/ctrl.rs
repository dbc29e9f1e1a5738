// SPDX-License-Identifier: GPL-2.0

//! The control registers: the values the driver writes to `SMMU_CR0`..`CR2`, `SMMU_GBPA`,
//! `SMMU_IRQ_CTRL`, `SMMU_STRTAB_BASE(_CFG)`, and what it reads back from `SMMU_CR0ACK` and
//! `SMMU_GERROR`/`SMMU_GERRORN`.
//!
//! This module owns those registers' layouts; the driver's `regs` module only places them in the MMIO map.
//! The order in which a reset SMMU is enabled is here too ([`enable_steps`]).

use crate::hw::{
    attr::Shareability,
    field::{
        encoding,
        reg32,
        Bit,
        Field,
        Reg32 as R,
        RegBit32 as B, //
    },
    idr::{
        Idr,
        StrtabFmt, //
    },
    Error,
};

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
            smmu: CR0_SMMUEN.is_set32(reg),
            priq: CR0_PRIQEN.is_set32(reg),
            evtq: CR0_EVTQEN.is_set32(reg),
            cmdq: CR0_CMDQEN.is_set32(reg),
            atschk: CR0_ATSCHK.is_set32(reg),
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
    /// Program the bases and empty indices of the event queue and, if used, the PRI queue.
    QueueBases,
    /// Write `SMMU_IRQ_CTRL`, and wait for `SMMU_IRQ_CTRLACK` to match.
    IrqCtrl(u32),
}

/// The steps that enable a reset SMMU, in order, with the PRI queue if `pri`.
///
/// The command queue first, so that caches can be invalidated; then the interrupts, before the
/// sources that raise them, so that nothing goes unsignalled; then the event queue (and the PRI
/// queue), with `ATSCHK` wherever the SMMU implements ATS; translation last.
///
/// `ATSCHK` is set from `IDR0.ATS` alone, whether or not the driver ever enables ATS for a
/// device: with `ATSCHK == 0` (Fast mode) a transaction that a PCIe endpoint marks as already
/// translated bypasses the Stream table, and with it the `STE.EATS` that would stop it.
pub(crate) const fn enable_steps(idr: &Idr, pri: bool) -> [EnableStep; 6] {
    let cmdq = Cr0 {
        smmu: false,
        priq: false,
        evtq: false,
        cmdq: true,
        atschk: false,
    };
    let queues = Cr0 {
        evtq: true,
        priq: pri,
        atschk: idr.ats(),
        ..cmdq
    };
    let irqs = if pri {
        IRQ_CTRL_GERROR | IRQ_CTRL_EVTQ | IRQ_CTRL_PRIQ
    } else {
        IRQ_CTRL_GERROR | IRQ_CTRL_EVTQ
    };
    [
        EnableStep::Cr0(cmdq),
        EnableStep::InvalidateAll,
        EnableStep::QueueBases,
        EnableStep::IrqCtrl(irqs),
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
    GBPA_UPDATE.is_set32(reg)
}

/// Returns whether an `SMMU_GBPA` value aborts incoming transactions.
pub(crate) const fn gbpa_aborts(reg: u32) -> bool {
    GBPA_ABORT.is_set32(reg)
}

// `SMMU_IRQ_CTRL` and `SMMU_GERROR`/`SMMU_GERRORN` are sets of flags, which the driver
// combines and compares as masks: each bit is declared as a field, and used as its mask.

/// `SMMU_IRQ_CTRL.GERROR_IRQEN`.
pub(crate) const IRQ_CTRL_GERROR: u32 = Field::<0, 0, 0>.mask32();
/// `SMMU_IRQ_CTRL.PRIQ_IRQEN`.
pub(crate) const IRQ_CTRL_PRIQ: u32 = Field::<0, 1, 1>.mask32();
/// `SMMU_IRQ_CTRL.EVENTQ_IRQEN`.
pub(crate) const IRQ_CTRL_EVTQ: u32 = Field::<0, 2, 2>.mask32();

/// `SMMU_GERROR.CMDQ_ERR`: the command queue stopped on an error.
pub(crate) const GERROR_CMDQ_ERR: u32 = Field::<0, 0, 0>.mask32();
/// `SMMU_GERROR.EVTQ_ABT_ERR`: an event queue write aborted.
pub(crate) const GERROR_EVTQ_ABT_ERR: u32 = Field::<0, 2, 2>.mask32();
/// `SMMU_GERROR.PRIQ_ABT_ERR`: a PRI queue write aborted.
pub(crate) const GERROR_PRIQ_ABT_ERR: u32 = Field::<0, 3, 3>.mask32();
/// `SMMU_GERROR.MSI_CMDQ_ABT_ERR`: a `CMD_SYNC` completion MSI aborted.
pub(crate) const GERROR_MSI_CMDQ_ABT_ERR: u32 = Field::<0, 4, 4>.mask32();
/// `SMMU_GERROR.MSI_EVTQ_ABT_ERR`: an event queue MSI aborted.
pub(crate) const GERROR_MSI_EVTQ_ABT_ERR: u32 = Field::<0, 5, 5>.mask32();
/// `SMMU_GERROR.MSI_PRIQ_ABT_ERR`: a PRI queue MSI aborted.
pub(crate) const GERROR_MSI_PRIQ_ABT_ERR: u32 = Field::<0, 6, 6>.mask32();
/// `SMMU_GERROR.MSI_GERROR_ABT_ERR`: a global error MSI aborted.
pub(crate) const GERROR_MSI_GERROR_ABT_ERR: u32 = Field::<0, 7, 7>.mask32();
/// `SMMU_GERROR.SFM_ERR`: the SMMU entered Service Failure Mode.
pub(crate) const GERROR_SFM_ERR: u32 = Field::<0, 8, 8>.mask32();
/// All architected `SMMU_GERROR` error bits (bit 1 is reserved).
pub(crate) const GERROR_ERR_MASK: u32 = GERROR_CMDQ_ERR
    | GERROR_EVTQ_ABT_ERR
    | GERROR_PRIQ_ABT_ERR
    | GERROR_MSI_CMDQ_ABT_ERR
    | GERROR_MSI_EVTQ_ABT_ERR
    | GERROR_MSI_PRIQ_ABT_ERR
    | GERROR_MSI_GERROR_ABT_ERR
    | GERROR_SFM_ERR;

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
    /// The PRI queue lost page requests.
    pub(crate) requests_lost: bool,
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
        requests_lost: active & GERROR_PRIQ_ABT_ERR != 0,
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
        enable_steps(&Idr::new(idr0, 0x0273_0010, 0x1414, 0x74), false)
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
        assert!(irq > first(&s, |s| *s == EnableStep::QueueBases));
    }

    #[test]
    fn pri_queue_enabled_with_its_interrupt() {
        let s = enable_steps(&Idr::new(IDR0 | IDR0_ATS, 0x0273_0010, 0x1414, 0x74), true);
        let c: std::vec::Vec<Cr0> = cr0s(&s).collect();
        assert!(!c[0].priq && c[1].priq && c[2].priq);
        let irq = first(
            &s,
            |s| matches!(s, EnableStep::IrqCtrl(v) if *v & IRQ_CTRL_PRIQ != 0),
        );
        assert!(irq > first(&s, |s| *s == EnableStep::QueueBases));
        assert!(irq < first(&s, |s| matches!(s, EnableStep::Cr0(c) if c.priq)));
    }

    #[test]
    fn flag_masks() {
        assert_eq!(GERROR_ERR_MASK, 0x1fd);
        assert_eq!(GERROR_SFM_ERR, 1 << 8);
        assert_eq!(IRQ_CTRL_GERROR | IRQ_CTRL_PRIQ | IRQ_CTRL_EVTQ, 0b111);
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
        assert!(a.events_lost && !a.disable && !a.recover_cmdq && !a.requests_lost);
        let a = gerror_actions(GERROR_PRIQ_ABT_ERR, 0).unwrap();
        assert!(a.requests_lost && !a.events_lost);
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
