// SPDX-License-Identifier: GPL-2.0

//! The conditions under which the SMMUv3 architecture calls an STE or a CD ILLEGAL, and the
//! fields an implementation makes RES0, as a checker for the entries the driver composes.
//!
//! An SMMU that fetches an ILLEGAL STE or CD terminates the stream's transactions and reports
//! `C_BAD_STE` or `C_BAD_CD`; a RES0 field written non-zero is CONSTRAINED UNPREDICTABLE. Both
//! depend on the SMMU's features, so an entry correct on QEMU's SMMU can be broken on another.
//! [`check_ste`] and [`check_cd`] transcribe the rules of the specification's field
//! descriptions (Arm IHI 0070, chapter 5 "Data structure formats": 5.2 "Stream Table Entry",
//! 5.4 "Context Descriptor"), and, for the stage 2 starting level, the `VTCR_EL2` rules of the
//! Arm ARM (`AArch64.S2InconsistentSL()`, `AArch64.S2InvalidSL()`) the STE refers to. They are
//! a transcription of the rules, independent of how the driver builds entries; the host tests
//! and KUnit run them over every entry [`crate::hw::compose`] can produce.

use core::fmt;

use crate::hw::{
    cd::{
        self,
        Cd, //
    },
    idr::{
        oas_bits,
        Httu,
        Idr,
        StallModel,
        TtEndian,
        Ttf, //
    },
    ste::{
        self,
        Config,
        Ste, //
    },
};

/// How an entry breaks a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The architecture calls the entry ILLEGAL: the SMMU reports `C_BAD_STE` or `C_BAD_CD`.
    Illegal,
    /// A field this SMMU makes RES0 is not zero: CONSTRAINED UNPREDICTABLE.
    Res0,
    /// A pointer has bits above the output size: the fetch takes an address size fault.
    AddressSize,
}

/// A broken rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The rule, named after the field and the specification's condition.
    pub(crate) rule: &'static str,
    /// How it is broken.
    pub(crate) kind: Kind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Illegal => "ILLEGAL",
            Kind::Res0 => "RES0 field set",
            Kind::AddressSize => "address size fault",
        };
        write!(f, "{}: {}", kind, self.rule)
    }
}

/// The SMMU state the rules depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Smmu {
    /// The ID registers.
    pub(crate) idr: Idr,
    /// `SMMU_CR2.E2H`.
    pub(crate) e2h: bool,
}

/// Fails with `rule` of `kind` if `broken`.
const fn rule(broken: bool, kind: Kind, rule: &'static str) -> Result<(), Violation> {
    if broken {
        Err(Violation { rule, kind })
    } else {
        Ok(())
    }
}

/// The implemented output size in bits; reserved encodings read as the largest.
const fn oas(idr: &Idr) -> u32 {
    match idr.oas_bits() {
        Some(bits) => bits,
        None => 52,
    }
}

/// `IAS`, the largest input size of stage 2 (section 3.4 "Address sizes"): the output size,
/// and at least 40 bits where AArch32 tables are supported.
const fn ias(idr: &Idr) -> u32 {
    let oas = oas(idr);
    if matches!(idr.ttf(), Some(Ttf::AArch32 | Ttf::Both)) && oas < 40 {
        40
    } else {
        oas
    }
}

/// Whether the SMMU walks AArch64 tables (`IDR0.TTF`).
const fn aarch64(idr: &Idr) -> bool {
    matches!(idr.ttf(), Some(Ttf::AArch64 | Ttf::Both))
}

/// Whether the SMMU walks AArch32 (LPAE) tables (`IDR0.TTF`).
const fn aarch32(idr: &Idr) -> bool {
    matches!(idr.ttf(), Some(Ttf::AArch32 | Ttf::Both))
}

/// The page size, as a shift, of a `TG0`/`S2TG` encoding the SMMU implements (`IDR5.GRANx`);
/// `None` for a reserved or unimplemented one.
const fn granule_shift(idr: &Idr, tg: u64) -> Option<u32> {
    let g = idr.granules();
    match tg {
        0 if g.size_4k => Some(12),
        1 if g.size_64k => Some(16),
        2 if g.size_16k => Some(14),
        _ => None,
    }
}

/// Whether an address has bits at or above `bits`.
const fn beyond(addr: u64, bits: u32) -> bool {
    bits < 64 && addr >> bits != 0
}

/// The smallest valid `T0SZ`/`S2T0SZ` of an AArch64 table: 52-bit inputs need
/// `IDR5.VAX` at stage 1 (or the 52-bit output size at stage 2) with 64KB pages, else 48 bits.
const fn min_tsz(wide: bool, granule_shift: u32) -> u64 {
    if wide && granule_shift == 16 {
        12
    } else {
        16
    }
}

/// The largest valid `T0SZ`/`S2T0SZ`: 39, or 48 with small translation tables (`IDR3.STT`).
const fn max_tsz(idr: &Idr) -> u64 {
    if idr.stt() {
        48
    } else {
        39
    }
}

/// Checks `S2SL0` against `S2T0SZ`, the granule and the output size, as `VTCR_EL2.SL0` is
/// checked with the SMMU's output size as `PAMax()`.
fn check_s2_start(idr: &Idr, sl0: u64, tsz: u64, granule_shift: u32) -> Result<(), Violation> {
    let pa_max = oas(idr);
    // AArch64.S2StartLevel(): the level the walk starts at.
    let start: u32 = match (granule_shift, sl0) {
        (12, 0) => 2,
        (12, 1) => 1,
        (12, 2) => 0,
        (14 | 16, 0) => 3,
        (14 | 16, 1) => 2,
        (14 | 16, 2) => 1,
        (14, 3) => 0,
        _ => {
            return Err(Violation {
                rule: "STE.S2SL0: reserved for the S2TG granule",
                kind: Kind::Illegal,
            })
        }
    };
    // AArch64.S2InvalidSL(): levels that need a larger physical address space.
    let invalid = match (granule_shift, sl0) {
        (12, 2) => pa_max < 44,
        (14, 3) => pa_max < 52 || !idr.ds(),
        (14, 2) => pa_max < 42,
        (16, 2) => pa_max < 44,
        _ => false,
    };
    if invalid {
        return Err(Violation {
            rule:
                "STE.S2SL0: starting level needs a larger output size (VTCR_EL2.SL0, PAMax = OAS)",
            kind: Kind::Illegal,
        });
    }
    // AArch64.S2InconsistentSL(): the first level must resolve at least one bit, and at most
    // one level's worth plus 16 concatenated tables.
    let stride = granule_shift - 3;
    let levels = 3 - start;
    let min_ias = levels * stride + granule_shift + 1;
    let max_ias = min_ias + (stride - 1) + 4;
    // CAST: `tsz` is a 6-bit field.
    let ias = 64 - tsz as u32;
    rule(
        ias < min_ias || ias > max_ias,
        Kind::Illegal,
        "STE.S2SL0: inconsistent with S2T0SZ and S2TG (VTCR_EL2.SL0)",
    )
}

/// Checks the stage 2 fields of a valid STE whose `Config` has stage 2 translating.
fn check_ste_s2(idr: &Idr, w: &[u64; 8]) -> Result<(), Violation> {
    let aa64 = ste::S2AA64.is_set(w);
    // STE.S2AA64: the table format must be one IDR0.TTF offers.
    rule(
        (aa64 && !aarch64(idr)) || (!aa64 && !aarch32(idr)),
        Kind::Illegal,
        "STE.S2AA64: table format not implemented (IDR0.TTF)",
    )?;
    let Some(shift) = granule_shift(idr, ste::S2TG.get(w)) else {
        return Err(Violation {
            rule: "STE.S2TG: granule reserved or not implemented (IDR5.GRANx)",
            kind: Kind::Illegal,
        });
    };
    let tsz = ste::S2T0SZ.get(w);
    rule(
        tsz < min_tsz(oas(idr) == 52, shift) || tsz > max_tsz(idr),
        Kind::Illegal,
        "STE.S2T0SZ: out of range for the granule (IDR3.STT, IDR5)",
    )?;
    // CAST: `tsz` is a 6-bit field.
    rule(
        64 - tsz as u32 > ias(idr),
        Kind::Illegal,
        "STE.S2T0SZ: IPA range larger than IAS",
    )?;
    check_s2_start(idr, ste::S2SL0.get(w), tsz, shift)?;
    let ps = ste::S2PS.get(w);
    rule(
        match oas_bits(ps) {
            Some(bits) => bits > oas(idr),
            None => true,
        },
        Kind::Res0,
        "STE.S2PS: larger than IDR5.OAS",
    )?;
    let endi = ste::S2ENDI.is_set(w);
    rule(
        (endi && matches!(idr.tt_endian(), Some(TtEndian::Little)))
            || (!endi && matches!(idr.tt_endian(), Some(TtEndian::Big))),
        Kind::Illegal,
        "STE.S2ENDI: endianness not implemented (IDR0.TTENDIAN)",
    )?;
    let s2s = ste::S2S.is_set(w);
    let model = idr.stall_model();
    rule(
        !s2s && matches!(model, Some(StallModel::Force)),
        Kind::Illegal,
        "STE.S2S: must be 1 when IDR0.STALL_MODEL == 0b10",
    )?;
    rule(
        s2s && matches!(model, Some(StallModel::NoStall)),
        Kind::Res0,
        "STE.S2S: stalls not implemented (IDR0.STALL_MODEL == 0b01)",
    )?;
    rule(
        s2s && ste::EATS.get(w) != 0,
        Kind::Illegal,
        "STE.EATS: ATS with S2S == 1",
    )?;
    rule(
        ste::S2HA.is_set(w) && matches!(idr.httu(), Httu::None),
        Kind::Illegal,
        "STE.S2HA: not implemented (IDR0.HTTU)",
    )?;
    rule(
        ste::S2HD.is_set(w) && matches!(idr.httu(), Httu::None | Httu::Access),
        Kind::Illegal,
        "STE.S2HD: not implemented (IDR0.HTTU)",
    )?;
    rule(
        ste::S2FWB.is_set(w) && !idr.fwb(),
        Kind::Res0,
        "STE.S2FWB: not implemented (IDR3.FWB)",
    )?;
    rule(
        beyond(ste::S2TTB.get_addr(w), oas(idr)),
        Kind::AddressSize,
        "STE.S2TTB: beyond the output size",
    )
}

/// Checks the stage 1 fields of a valid STE whose `Config` has stage 1 translating.
fn check_ste_s1(smmu: &Smmu, w: &[u64; 8], s2: bool) -> Result<(), Violation> {
    let idr = &smmu.idr;
    let cd_max = ste::S1CDMAX.get(w);
    rule(
        cd_max > u64::from(idr.ssid_bits()),
        Kind::Illegal,
        "STE.S1CDMax: larger than IDR1.SSIDSIZE",
    )?;
    if cd_max != 0 {
        let fmt = ste::S1FMT.get(w);
        rule(
            fmt == 3 || (fmt != 0 && !idr.cd_2lvl()),
            Kind::Illegal,
            "STE.S1Fmt: reserved, or two levels without IDR0.CD2L",
        )?;
        rule(ste::S1DSS.get(w) == 3, Kind::Illegal, "STE.S1DSS: reserved")?;
    }
    let stalld = ste::S1STALLD.is_set(w);
    rule(
        stalld && matches!(idr.stall_model(), Some(StallModel::Force)),
        Kind::Illegal,
        "STE.S1STALLD: must be 0 when IDR0.STALL_MODEL == 0b10",
    )?;
    rule(
        stalld && matches!(idr.stall_model(), Some(StallModel::NoStall)),
        Kind::Res0,
        "STE.S1STALLD: stalls not implemented (IDR0.STALL_MODEL == 0b01)",
    )?;
    if !s2 {
        // STE.STRW selects the translation regime of a stage-1-only stream.
        let strw = ste::STRW.get(w);
        rule(strw == 1 || strw == 3, Kind::Illegal, "STE.STRW: reserved")?;
        rule(
            strw == 2 && !idr.hyp(),
            Kind::Illegal,
            "STE.STRW: EL2 without IDR0.HYP",
        )?;
        rule(
            strw == 2 && !smmu.e2h && ste::S2VMID.get(w) != 0,
            Kind::Res0,
            "STE.S2VMID: not used by the EL2 regime",
        )?;
    }
    // With stage 2, S1ContextPtr is an IPA: the CD fetch goes through stage 2, which faults
    // on an IPA beyond its input size like on any other (a nested STE's pointer is the guest's).
    rule(
        !s2 && beyond(ste::S1CTXPTR.get_addr(w), oas(idr)),
        Kind::AddressSize,
        "STE.S1ContextPtr: beyond the output size",
    )
}

/// Checks a Stream Table Entry against the rules of section 5.2 for the SMMU `smmu`.
///
/// An invalid STE (`V == 0`) breaks no rule: its stream's transactions are terminated.
///
/// # Errors
///
/// Returns the first rule the entry breaks.
pub(crate) fn check_ste(smmu: &Smmu, entry: &Ste) -> Result<(), Violation> {
    let idr = &smmu.idr;
    let w = entry.words();
    if !ste::V.is_set(w) {
        return Ok(());
    }
    let raw = ste::CONFIG.get(w);
    let Some(config) = Config::from_raw(raw) else {
        return Err(Violation {
            rule: "STE.Config: reserved",
            kind: Kind::Illegal,
        });
    };
    let translating = matches!(config, Config::S1Trans | Config::S2Trans | Config::Nested);
    let s1 = matches!(config, Config::S1Trans | Config::Nested);
    let s2 = matches!(config, Config::S2Trans | Config::Nested);
    rule(
        s1 && !idr.s1(),
        Kind::Illegal,
        "STE.Config: stage 1 not implemented (IDR0.S1P)",
    )?;
    rule(
        s2 && !idr.s2(),
        Kind::Illegal,
        "STE.Config: stage 2 not implemented (IDR0.S2P)",
    )?;
    // Fields every configuration reads: SHCFG with bypass, stage 2, or stage 1 bypassed by
    // S1DSS (section 13.5, "Summary of attribute/permission configuration fields").
    let shcfg_used = matches!(config, Config::Bypass)
        || s2
        || (s1 && ste::S1DSS.get(w) == 1 && ste::S1CDMAX.get(w) != 0);
    rule(
        shcfg_used && ste::SHCFG.get(w) != 0 && !idr.attr_types_ovr(),
        Kind::Res0,
        "STE.SHCFG: not implemented (IDR1.ATTR_TYPES_OVR == 0)",
    )?;
    if !translating {
        return Ok(());
    }
    let eats = ste::EATS.get(w);
    rule(eats == 3, Kind::Illegal, "STE.EATS: reserved")?;
    rule(
        eats == 2 && !matches!(config, Config::Nested),
        Kind::Illegal,
        "STE.EATS: split-stage ATS without both stages",
    )?;
    rule(
        eats != 0 && !idr.ats(),
        Kind::Res0,
        "STE.EATS: ATS not implemented (IDR0.ATS)",
    )?;
    // S2VMID tags stage 2 and NS-EL1 stage 1 entries.
    rule(
        idr.vmid_bits() < 16 && ste::S2VMID.get(w) >> 8 != 0,
        Kind::Res0,
        "STE.S2VMID[15:8]: 8-bit VMIDs (IDR0.VMID16 == 0)",
    )?;
    if s1 {
        check_ste_s1(smmu, w, s2)?;
    }
    if s2 {
        check_ste_s2(idr, w)?;
    }
    Ok(())
}

/// Checks a Context Descriptor fetched through the STE `ste` against the rules of section 5.4
/// for the SMMU `smmu`.
///
/// An invalid CD (`V == 0`) breaks no rule: transactions through it fault (`C_BAD_CD`), which
/// is what a CD table entry without a domain must do.
///
/// # Errors
///
/// Returns the first rule the entry breaks.
pub(crate) fn check_cd(smmu: &Smmu, ste: &Ste, entry: &Cd) -> Result<(), Violation> {
    let idr = &smmu.idr;
    let w = entry.words();
    if !cd::V.is_set(w) {
        return Ok(());
    }
    let aa64 = cd::AA64.is_set(w);
    rule(
        (aa64 && !aarch64(idr)) || (!aa64 && !aarch32(idr)),
        Kind::Illegal,
        "CD.AA64: table format not implemented (IDR0.TTF)",
    )?;
    if !cd::EPD0.is_set(w) {
        let Some(shift) = granule_shift(idr, cd::TG0.get(w)) else {
            return Err(Violation {
                rule: "CD.TG0: granule reserved or not implemented (IDR5.GRANx)",
                kind: Kind::Illegal,
            });
        };
        let tsz = cd::T0SZ.get(w);
        rule(
            tsz < min_tsz(idr.vax_52(), shift) || tsz > max_tsz(idr),
            Kind::Illegal,
            "CD.T0SZ: out of range for the granule (IDR3.STT, IDR5.VAX)",
        )?;
        rule(
            beyond(cd::TTB0.get_addr(w), oas(idr)),
            Kind::AddressSize,
            "CD.TTB0: beyond the output size",
        )?;
    }
    rule(
        match oas_bits(cd::IPS.get(w)) {
            Some(bits) => bits > oas(idr),
            None => true,
        },
        Kind::Res0,
        "CD.IPS: larger than IDR5.OAS",
    )?;
    let endi = cd::ENDI.is_set(w);
    rule(
        (endi && matches!(idr.tt_endian(), Some(TtEndian::Little)))
            || (!endi && matches!(idr.tt_endian(), Some(TtEndian::Big))),
        Kind::Illegal,
        "CD.ENDI: endianness not implemented (IDR0.TTENDIAN)",
    )?;
    rule(
        idr.asid_bits() < 16 && cd::ASID.get(w) >> 8 != 0,
        Kind::Res0,
        "CD.ASID[15:8]: 8-bit ASIDs (IDR0.ASID16 == 0)",
    )?;
    let stall = cd::S.is_set(w);
    let model = idr.stall_model();
    rule(
        !stall && matches!(model, Some(StallModel::Force)),
        Kind::Illegal,
        "CD.S: must be 1 when IDR0.STALL_MODEL == 0b10",
    )?;
    rule(
        stall && ste::S1STALLD.is_set(ste.words()),
        Kind::Illegal,
        "CD.S: stall with STE.S1STALLD == 1",
    )?;
    rule(
        stall && matches!(model, Some(StallModel::NoStall)),
        Kind::Res0,
        "CD.S: stalls not implemented (IDR0.STALL_MODEL == 0b01)",
    )?;
    let httu = idr.httu();
    rule(
        cd::HA.is_set(w) && matches!(httu, Httu::None),
        Kind::Res0,
        "CD.HA: not implemented (IDR0.HTTU)",
    )?;
    rule(
        cd::HD.is_set(w) && matches!(httu, Httu::None | Httu::Access),
        Kind::Res0,
        "CD.HD: not implemented (IDR0.HTTU)",
    )?;
    rule(
        cd::HAFT.is_set(w) && !matches!(httu, Httu::AccessDirtyHaft),
        Kind::Res0,
        "CD.HAFT: not implemented (IDR0.HTTU)",
    )
}
