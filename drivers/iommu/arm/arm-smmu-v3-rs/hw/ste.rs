// SPDX-License-Identifier: GPL-2.0

//! Stream Table Entries (STE) and level-1 stream table descriptors.
//!
//! An STE is 8 qwords. It says how the SMMU handles transactions of one StreamID: abort them,
//! let them bypass translation, or translate them through stage 1 (a table of Context
//! Descriptors), stage 2 (a VMID and a stage-2 translation table), or both ("nested").

use crate::hw::{
    attr::{
        Cacheability,
        Granule,
        Shareability, //
    },
    field::{
        encoding,
        Bit,
        Field, //
    },
    hitless::{
        EntryFormat,
        EntryWords,
        ENTRY_QWORDS, //
    },
    Error,
};

/// `V`: the entry is valid.
pub(crate) const V: Bit<0, 0> = Field;
/// `Config`: how the stream is handled, see [`Config`].
pub(crate) const CONFIG: Field<0, 3, 1> = Field;
/// `S1Fmt`: format of the Context Descriptor table, see [`S1Fmt`].
pub(crate) const S1FMT: Field<0, 5, 4> = Field;
/// `S1ContextPtr`: address of the Context Descriptor table, bits 51:6.
pub(crate) const S1CTXPTR: Field<0, 51, 6> = Field;
/// `S1CDMax`: log2 of the number of Context Descriptors.
pub(crate) const S1CDMAX: Field<0, 63, 59> = Field;

/// `S1DSS`: handling of transactions without a SubstreamID, see [`S1Dss`].
pub(crate) const S1DSS: Field<1, 1, 0> = Field;
/// `S1CIR`: inner cacheability of Context Descriptor fetches.
pub(crate) const S1CIR: Field<1, 3, 2> = Field;
/// `S1COR`: outer cacheability of Context Descriptor fetches.
pub(crate) const S1COR: Field<1, 5, 4> = Field;
/// `S1CSH`: shareability of Context Descriptor fetches.
pub(crate) const S1CSH: Field<1, 7, 6> = Field;
/// `MEV`: merging of similar fault events is allowed.
pub(crate) const MEV: Bit<1, 19> = Field;
/// `S2FWB`: stage 2 forced write-back.
pub(crate) const S2FWB: Bit<1, 25> = Field;
/// `S1STALLD`: stage 1 stall faults are disabled for this stream.
pub(crate) const S1STALLD: Bit<1, 27> = Field;
/// `EATS`: handling of ATS translation requests, see [`Eats`].
pub(crate) const EATS: Field<1, 29, 28> = Field;
/// `STRW`: StreamWorld (translation regime) of the stream, see [`Strw`].
pub(crate) const STRW: Field<1, 31, 30> = Field;
/// `SHCFG`: shareability override, see [`Shcfg`].
pub(crate) const SHCFG: Field<1, 45, 44> = Field;

/// `S2VMID`: VMID tagging stage 2 (and EL1 stage 1) TLB entries.
pub(crate) const S2VMID: Field<2, 15, 0> = Field;
/// `VTCR`: the whole stage 2 translation control field.
pub(crate) const VTCR: Field<2, 50, 32> = Field;
/// `VTCR.S2T0SZ`: stage 2 input region size is `2^(64 - S2T0SZ)`.
pub(crate) const S2T0SZ: Field<2, 37, 32> = Field;
/// `VTCR.S2SL0`: stage 2 starting level.
pub(crate) const S2SL0: Field<2, 39, 38> = Field;
/// `VTCR.S2IR0`: inner cacheability of stage 2 table walks.
pub(crate) const S2IR0: Field<2, 41, 40> = Field;
/// `VTCR.S2OR0`: outer cacheability of stage 2 table walks.
pub(crate) const S2OR0: Field<2, 43, 42> = Field;
/// `VTCR.S2SH0`: shareability of stage 2 table walks.
pub(crate) const S2SH0: Field<2, 45, 44> = Field;
/// `VTCR.S2TG`: stage 2 translation granule.
pub(crate) const S2TG: Field<2, 47, 46> = Field;
/// `VTCR.S2PS`: stage 2 physical address size.
pub(crate) const S2PS: Field<2, 50, 48> = Field;
/// `S2AA64`: stage 2 tables are in the AArch64 format.
pub(crate) const S2AA64: Bit<2, 51> = Field;
/// `S2ENDI`: stage 2 tables are big-endian.
pub(crate) const S2ENDI: Bit<2, 52> = Field;
/// `S2PTW`: stage 1 table walks to Device memory at stage 2 fault.
pub(crate) const S2PTW: Bit<2, 54> = Field;
/// `S2HD`: hardware update of the dirty state of stage 2 descriptors (with `S2HA`).
pub(crate) const S2HD: Bit<2, 55> = Field;
/// `S2HA`: hardware update of the access flag of stage 2 descriptors.
pub(crate) const S2HA: Bit<2, 56> = Field;
/// `S2S`: stage 2 faults stall.
pub(crate) const S2S: Bit<2, 57> = Field;
/// `S2R`: stage 2 faults are recorded.
pub(crate) const S2R: Bit<2, 58> = Field;

/// `S2TTB`: address of the stage 2 translation table, bits 51:4.
pub(crate) const S2TTB: Field<3, 51, 4> = Field;

/// `L1STD.Span`: `2^(Span - 1)` STEs in the level-2 table, 0 when it is invalid.
pub(crate) const L1_SPAN: Field<0, 4, 0> = Field;
/// `L1STD.L2Ptr`: address of the level-2 table, bits 51:6.
pub(crate) const L1_L2PTR: Field<0, 51, 6> = Field;

/// The largest valid `L1STD.Span`.
pub(crate) const L1_SPAN_MAX: u8 = 12;

encoding! {
    /// The `Config` field of an STE.
    pub(crate) enum Config {
        /// Transactions are aborted.
        Abort = 0,
        /// Transactions bypass both stages.
        Bypass = 4,
        /// Stage 1 translates, stage 2 bypasses.
        S1Trans = 5,
        /// Stage 1 bypasses, stage 2 translates.
        S2Trans = 6,
        /// Both stages translate.
        Nested = 7,
    }
}

/// Returns whether a raw `Config` value has stage 1 translating (`Config[0]`).
const fn s1_translates(raw: u64) -> bool {
    raw & 1 != 0
}

/// Returns whether a raw `Config` value has stage 2 translating (`Config[1]`).
const fn s2_translates(raw: u64) -> bool {
    raw & 2 != 0
}

encoding! {
    /// The `S1Fmt` field: layout of the Context Descriptor table.
    pub(crate) enum S1Fmt {
        /// A single linear table of `2^S1CDMax` descriptors.
        Linear = 0,
        /// Two levels, each level-2 table holds 4KB of descriptors.
        TwoLevel4K = 1,
        /// Two levels, each level-2 table holds 64KB of descriptors.
        TwoLevel64K = 2,
    }
}

encoding! {
    /// The `S1DSS` field: what happens to transactions without a SubstreamID.
    pub(crate) enum S1Dss {
        /// They are terminated.
        Terminate = 0,
        /// They bypass stage 1.
        Bypass = 1,
        /// They use Context Descriptor 0; SubstreamID 0 itself becomes invalid.
        Ssid0 = 2,
    }
}

encoding! {
    /// The `EATS` field: handling of PCIe ATS translation requests.
    pub(crate) enum Eats {
        /// ATS requests are aborted.
        Abort = 0,
        /// ATS requests are translated through all enabled stages.
        Trans = 1,
        /// Split-stage ATS: the endpoint caches stage 1 results, stage 2 is checked on use.
        S1Chk = 2,
    }
}

encoding! {
    /// The `STRW` field: the translation regime of the stream.
    pub(crate) enum Strw {
        /// Non-secure EL1 (tagged by VMID).
        NsEl1 = 0,
        /// EL2 with `E2H`, matching a VHE host for broadcast TLB maintenance.
        El2 = 2,
    }
}

encoding! {
    /// The `SHCFG` field: the shareability applied to transactions.
    pub(crate) enum Shcfg {
        /// Non-shareable.
        NonShareable = 0,
        /// Use the shareability of the incoming transaction.
        Incoming = 1,
        /// Outer Shareable.
        Outer = 2,
        /// Inner Shareable.
        Inner = 3,
    }
}

/// Stage 1 Context Descriptor table parameters of an STE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CdTable {
    /// Physical address of the table, 64-byte aligned.
    pub(crate) ptr: u64,
    /// Table layout.
    pub(crate) fmt: S1Fmt,
    /// log2 of the number of descriptors (`S1CDMax`), at most 31.
    pub(crate) cd_max: u8,
    /// Handling of transactions without a SubstreamID.
    pub(crate) dss: S1Dss,
    /// Inner cacheability of descriptor fetches.
    pub(crate) inner_cache: Cacheability,
    /// Outer cacheability of descriptor fetches.
    pub(crate) outer_cache: Cacheability,
    /// Shareability of descriptor fetches.
    pub(crate) shareability: Shareability,
    /// Disable stage 1 stalls (`S1STALLD`).
    pub(crate) stall_disable: bool,
    /// Translation regime.
    pub(crate) strw: Strw,
}

/// Stage 2 translation control (`VTCR` in the STE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vtcr {
    /// `S2T0SZ`, at most 63.
    pub(crate) t0sz: u8,
    /// `S2SL0`, at most 3.
    pub(crate) sl0: u8,
    /// `S2IR0`.
    pub(crate) inner_cache: Cacheability,
    /// `S2OR0`.
    pub(crate) outer_cache: Cacheability,
    /// `S2SH0`.
    pub(crate) shareability: Shareability,
    /// `S2TG`.
    pub(crate) granule: Granule,
    /// `S2PS`, the output size encoding (as in `IDR5.OAS`), at most 7.
    pub(crate) ps: u8,
}

/// Stage 2 parameters of an STE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct S2Table {
    /// The VMID.
    pub(crate) vmid: u16,
    /// Translation control.
    pub(crate) vtcr: Vtcr,
    /// Physical address of the stage 2 table, 16-byte aligned.
    pub(crate) ttb: u64,
    /// The tables are big-endian (`S2ENDI`).
    pub(crate) big_endian: bool,
    /// Protected table walk (`S2PTW`).
    pub(crate) ptw: bool,
    /// Stage 2 faults stall (`S2S`).
    pub(crate) stall: bool,
    /// Stage 2 faults are recorded (`S2R`).
    pub(crate) record: bool,
    /// Forced write-back (`S2FWB`).
    pub(crate) fwb: bool,
    /// Hardware access flag and dirty state updates (`S2HA` and `S2HD`).
    pub(crate) hw_dirty: bool,
}

/// Per-stream attributes shared by every translating configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamAttrs {
    /// ATS handling.
    pub(crate) eats: Eats,
    /// Allow merged fault events (`MEV`).
    pub(crate) mev: bool,
    /// Shareability override. It is only written when the SMMU reads it: with stage 2, or
    /// with stage 1 only and `S1DSS` set to [`S1Dss::Bypass`].
    pub(crate) shcfg: Shcfg,
}

/// A Stream Table Entry, in CPU byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ste(EntryWords);

impl Ste {
    /// An invalid STE (all zeroes): the SMMU raises `C_BAD_STE` for its stream.
    pub(crate) const INVALID: Self = Self([0; ENTRY_QWORDS]);

    /// Wraps raw qwords.
    pub(crate) const fn from_words(words: EntryWords) -> Self {
        Self(words)
    }

    /// Returns the raw qwords.
    pub(crate) const fn words(&self) -> &EntryWords {
        &self.0
    }

    /// An STE that aborts all transactions of its stream.
    pub(crate) const fn abort() -> Self {
        Self::with_config(Config::Abort)
    }

    /// An STE that lets all transactions bypass translation.
    pub(crate) const fn bypass(shcfg: Shcfg) -> Self {
        let mut ste = Self::with_config(Config::Bypass);
        // Every `Shcfg` encoding fits the 2-bit field.
        SHCFG.set_truncated(&mut ste.0, shcfg.raw());
        ste
    }

    /// An STE translating through stage 1 with the given Context Descriptor table.
    ///
    /// `S2VMID` is left 0, the VMID the driver reserves for stage-1-only EL1 streams.
    ///
    /// # Errors
    ///
    /// Returns an error if the table address or `cd_max` do not fit, or if `attrs` asks for an
    /// ATS mode that needs stage 2.
    pub(crate) fn cd_table(s1: &CdTable, attrs: &StreamAttrs) -> Result<Self, Error> {
        let mut ste = Self::with_config(Config::S1Trans);
        ste.set_s1(s1)?;
        ste.set_attrs(attrs, s1.dss == S1Dss::Bypass, false)?;
        Ok(ste)
    }

    /// An STE translating through stage 2 only.
    ///
    /// # Errors
    ///
    /// Returns an error if a value does not fit its field, or if the combination of `EATS` and
    /// `S2S` is one the architecture forbids.
    pub(crate) fn s2(s2: &S2Table, attrs: &StreamAttrs) -> Result<Self, Error> {
        let mut ste = Self::with_config(Config::S2Trans);
        ste.set_s2(s2)?;
        ste.set_attrs(attrs, true, s2.stall)?;
        Ok(ste)
    }

    /// An STE translating through both stages.
    ///
    /// # Errors
    ///
    /// Returns an error under the same conditions as [`Ste::cd_table`] and [`Ste::s2`].
    pub(crate) fn nested(s1: &CdTable, s2: &S2Table, attrs: &StreamAttrs) -> Result<Self, Error> {
        let mut ste = Self::with_config(Config::Nested);
        ste.set_s1(s1)?;
        ste.set_s2(s2)?;
        ste.set_attrs(attrs, true, s2.stall)?;
        Ok(ste)
    }

    /// Returns whether `V` is set.
    pub(crate) const fn is_valid(&self) -> bool {
        V.is_set(&self.0)
    }

    /// Returns the decoded `Config`, or `None` for a reserved encoding.
    pub(crate) const fn config(&self) -> Option<Config> {
        Config::from_raw(CONFIG.get(&self.0))
    }

    /// Returns the Context Descriptor table address.
    pub(crate) const fn cd_table_ptr(&self) -> u64 {
        S1CTXPTR.get_addr(&self.0)
    }

    /// Returns the decoded `S1DSS`.
    pub(crate) const fn s1dss(&self) -> Option<S1Dss> {
        S1Dss::from_raw(S1DSS.get(&self.0))
    }

    /// Returns the decoded `EATS`.
    pub(crate) const fn eats(&self) -> Option<Eats> {
        Eats::from_raw(EATS.get(&self.0))
    }

    /// Returns `S2VMID`.
    pub(crate) const fn vmid(&self) -> u16 {
        // CAST: The field is 16 bits wide.
        S2VMID.get(&self.0) as u16
    }

    /// Returns the stage 2 table address.
    pub(crate) const fn s2_ttb(&self) -> u64 {
        S2TTB.get_addr(&self.0)
    }

    /// A valid STE with only `Config` set.
    const fn with_config(config: Config) -> Self {
        let mut words = [0; ENTRY_QWORDS];
        V.set_bool(&mut words, true);
        // Every `Config` encoding fits the 3-bit field.
        CONFIG.set_truncated(&mut words, config.raw());
        Self(words)
    }

    /// Writes the stage 1 fields.
    fn set_s1(&mut self, s1: &CdTable) -> Result<(), Error> {
        let w = &mut self.0;
        S1CTXPTR.set_addr(w, s1.ptr)?;
        S1CDMAX.set(w, u64::from(s1.cd_max))?;
        S1FMT.set(w, s1.fmt.raw())?;
        S1DSS.set(w, s1.dss.raw())?;
        S1CIR.set(w, s1.inner_cache.raw())?;
        S1COR.set(w, s1.outer_cache.raw())?;
        S1CSH.set(w, s1.shareability.raw())?;
        S1STALLD.set_bool(w, s1.stall_disable);
        STRW.set(w, s1.strw.raw())
    }

    /// Writes the stage 2 fields.
    fn set_s2(&mut self, s2: &S2Table) -> Result<(), Error> {
        let w = &mut self.0;
        let vtcr = &s2.vtcr;
        S2VMID.set_u16(w, s2.vmid);
        S2T0SZ.set(w, u64::from(vtcr.t0sz))?;
        S2SL0.set(w, u64::from(vtcr.sl0))?;
        S2IR0.set(w, vtcr.inner_cache.raw())?;
        S2OR0.set(w, vtcr.outer_cache.raw())?;
        S2SH0.set(w, vtcr.shareability.raw())?;
        S2TG.set(w, vtcr.granule.raw())?;
        S2PS.set(w, u64::from(vtcr.ps))?;
        // Only the AArch64 table format is supported; `S2AA64 == 0` is not even decoded by
        // some emulations.
        S2AA64.set_bool(w, true);
        S2ENDI.set_bool(w, s2.big_endian);
        S2PTW.set_bool(w, s2.ptw);
        S2S.set_bool(w, s2.stall);
        S2R.set_bool(w, s2.record);
        S2FWB.set_bool(w, s2.fwb);
        S2HA.set_bool(w, s2.hw_dirty);
        S2HD.set_bool(w, s2.hw_dirty);
        S2TTB.set_addr(w, s2.ttb)
    }

    /// Writes the per-stream attributes.
    fn set_attrs(&mut self, attrs: &StreamAttrs, shcfg_used: bool, s2s: bool) -> Result<(), Error> {
        let nested = CONFIG.get(&self.0) == Config::Nested.raw();
        match attrs.eats {
            // Split-stage ATS needs both stages.
            Eats::S1Chk if !nested => return Err(Error::Invalid),
            // An STE with `EATS != 0` and `S2S == 1` is ILLEGAL.
            Eats::Trans | Eats::S1Chk if s2s => return Err(Error::Invalid),
            _ => {}
        }
        let w = &mut self.0;
        EATS.set(w, attrs.eats.raw())?;
        MEV.set_bool(w, attrs.mev);
        if shcfg_used {
            SHCFG.set(w, attrs.shcfg.raw())?;
        }
        Ok(())
    }
}

impl EntryFormat for Ste {
    /// Returns the STE bits the SMMU reads, given the entry's own `V`, `Config` and `S1DSS`.
    ///
    /// This must cover at least every bit the builders above can set.
    fn used_bits(ent: &EntryWords) -> EntryWords {
        let mut used = [0; ENTRY_QWORDS];
        V.mark(&mut used);
        if !V.is_set(ent) {
            return used;
        }
        CONFIG.mark(&mut used);
        let config = CONFIG.get(ent);

        if s1_translates(config) {
            S1FMT.mark(&mut used);
            S1CTXPTR.mark(&mut used);
            S1CDMAX.mark(&mut used);
            S1DSS.mark(&mut used);
            S1CIR.mark(&mut used);
            S1COR.mark(&mut used);
            S1CSH.mark(&mut used);
            S1STALLD.mark(&mut used);
            STRW.mark(&mut used);
            EATS.mark(&mut used);
            MEV.mark(&mut used);
            S2VMID.mark(&mut used);
            // Transactions bypassing stage 1 take their shareability from SHCFG.
            if S1DSS.get(ent) == S1Dss::Bypass.raw() {
                SHCFG.mark(&mut used);
            }
        }

        if s2_translates(config) {
            S2FWB.mark(&mut used);
            EATS.mark(&mut used);
            SHCFG.mark(&mut used);
            MEV.mark(&mut used);
            S2VMID.mark(&mut used);
            VTCR.mark(&mut used);
            S2AA64.mark(&mut used);
            S2ENDI.mark(&mut used);
            S2PTW.mark(&mut used);
            S2HD.mark(&mut used);
            S2HA.mark(&mut used);
            S2S.mark(&mut used);
            S2R.mark(&mut used);
            S2TTB.mark(&mut used);
        }

        if config == Config::Bypass.raw() {
            SHCFG.mark(&mut used);
        }
        used
    }

    /// Returns the bits that may change in any order relative to the rest of the entry.
    fn update_safe_bits(cur: &EntryWords, target: &EntryWords) -> EntryWords {
        let mut safe = [0; ENTRY_QWORDS];
        let mut either = [0; ENTRY_QWORDS];
        for (e, (c, t)) in either.iter_mut().zip(cur.iter().zip(target.iter())) {
            *e = c | t;
        }

        // The attach path disables ATS on the device before EATS changes between Abort and
        // Trans, so the order of that change does not matter. It does matter when S1Chk is
        // involved (0b01 | 0b10 would transiently read as the reserved 0b11), and when S2S is
        // set on either side, since `EATS == Trans` with `S2S == 1` is an illegal STE.
        if EATS.get(&either) & Eats::S1Chk.raw() == 0 && !S2S.is_set(&either) {
            EATS.set_truncated(&mut safe, Eats::Trans.raw());
        }

        // MEV only changes how many fault records are generated, and software must cope with
        // merged records even when it is 0.
        MEV.mark(&mut safe);
        safe
    }
}

/// Encodes a level-1 Stream Table Descriptor.
///
/// `span` is 0 for an invalid descriptor, otherwise the level-2 table holds `2^(span - 1)` STEs.
///
/// # Errors
///
/// Returns an error if `span` is larger than [`L1_SPAN_MAX`] or `l2ptr` is not a 64-byte
/// aligned address below 2^52.
pub(crate) fn l1_descriptor(l2ptr: u64, span: u8) -> Result<u64, Error> {
    if span > L1_SPAN_MAX {
        return Err(Error::Invalid);
    }
    let mut w = [0; 1];
    L1_L2PTR.set_addr(&mut w, l2ptr)?;
    L1_SPAN.set(&mut w, u64::from(span))?;
    Ok(w[0])
}
