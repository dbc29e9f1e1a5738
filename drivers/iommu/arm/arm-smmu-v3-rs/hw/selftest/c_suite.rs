// SPDX-License-Identifier: GPL-2.0

//! The STE and CD transitions of the C driver's KUnit suite
//! (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c`), with entries of the same shape.

use super::{
    at,
    expect_eq,
    hitless::simulate,
    Check, //
};
use crate::hw::{
    attr::{
        Cacheability,
        Granule,
        Shareability, //
    },
    cd::{
        Cd,
        CdCfg,
        Ttb0, //
    },
    hitless::{
        EntryFormat,
        EntryWords, //
    },
    ste::{
        CdTable,
        Eats,
        S1Dss,
        S1Fmt,
        S2Table,
        Shcfg,
        Ste,
        StreamAttrs,
        Strw,
        Vtcr, //
    },
    Error, //
};

/// The CD table address used by most cases (`0xF0F0F0F0F0F0` with bits 5:0 cleared).
pub(crate) const CDTAB_A: u64 = 0xf0f0_f0f0_f0c0;
/// A second CD table address (`0x4B4B4b4B4B` with bits 5:0 cleared).
pub(crate) const CDTAB_B: u64 = 0x4b_4b4b_4b40;
/// The stage 2 table address (`0xdaedbeefdeadbeef` masked to bits 51:4).
pub(crate) const S2TTB_A: u64 = 0xdaed_beef_dead_beef & 0x000f_ffff_ffff_fff0;
/// A second stage 2 table address.
pub(crate) const S2TTB_B: u64 = 0x0000_0001_2345_6000;
/// The CD TTB0 address (`0xdaedbeefdeadbeef` masked to bits 51:4).
pub(crate) const TTB0_A: u64 = 0xdaed_beef_dead_beef & 0x000f_ffff_ffff_fff0;
/// A second TTB0 address.
pub(crate) const TTB0_B: u64 = 0x0000_0000_8765_4000;
/// The CD `MAIR` of the C suite.
pub(crate) const MAIR: u64 = 0x0abc_def0_1234_5678;

/// Features of the fake master of the C suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Feat {
    /// ATS is enabled (`EATS == Trans`).
    pub(crate) ats: bool,
    /// Stalls are enabled (no `S1STALLD`, `S2S` set).
    pub(crate) stall: bool,
}

/// No master features.
pub(crate) const PLAIN: Feat = Feat {
    ats: false,
    stall: false,
};
/// ATS only.
pub(crate) const ATS: Feat = Feat {
    ats: true,
    stall: false,
};
/// Stalls only.
pub(crate) const STALL: Feat = Feat {
    ats: false,
    stall: true,
};

/// Stream attributes for a master; the SMMU honours `SHCFG` (`IDR1.ATTR_TYPES_OVR`).
pub(crate) fn attrs(feat: Feat, mev: bool) -> StreamAttrs {
    StreamAttrs {
        eats: if feat.ats { Eats::Trans } else { Eats::Abort },
        mev,
        shcfg: Shcfg::Incoming,
    }
}

/// The CD table part of a CD-table STE.
pub(crate) fn cd_table(dss: S1Dss, ptr: u64, feat: Feat) -> CdTable {
    CdTable {
        ptr,
        fmt: S1Fmt::TwoLevel64K,
        cd_max: 31,
        dss,
        inner_cache: Cacheability::WriteBackWriteAllocate,
        outer_cache: Cacheability::WriteBackWriteAllocate,
        shareability: Shareability::Inner,
        // The SMMU supports stalls, so they are disabled unless the master uses them.
        stall_disable: !feat.stall,
        strw: Strw::NsEl1,
    }
}

/// The stage 2 part of an S2 STE.
pub(crate) fn s2_table(vmid: u16, ttb: u64, feat: Feat) -> S2Table {
    S2Table {
        vmid,
        vtcr: Vtcr {
            t0sz: 4,
            sl0: 3,
            inner_cache: Cacheability::WriteThrough,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
            granule: Granule::Size16K,
            ps: 1,
        },
        ttb,
        big_endian: false,
        ptw: true,
        stall: feat.stall,
        record: true,
        fwb: false,
        hw_dirty: false,
    }
}

/// The abort STE.
pub(crate) fn abort_ste() -> Ste {
    Ste::abort()
}

/// The bypass STE.
pub(crate) fn bypass_ste() -> Ste {
    Ste::bypass(Shcfg::Incoming)
}

/// A CD-table STE.
pub(crate) fn cdtable_ste(dss: S1Dss, ptr: u64, feat: Feat) -> Result<Ste, Error> {
    Ste::cd_table(&cd_table(dss, ptr, feat), &attrs(feat, false))
}

/// A stage 2 STE.
pub(crate) fn s2_ste(vmid: u16, ttb: u64, feat: Feat) -> Result<Ste, Error> {
    Ste::s2(&s2_table(vmid, ttb, feat), &attrs(feat, false))
}

/// A nested STE with `MEV` set, as the C suite builds it.
pub(crate) fn nested_ste(dss: S1Dss, ptr: u64, vmid: u16, feat: Feat) -> Result<Ste, Error> {
    Ste::nested(
        &cd_table(dss, ptr, feat),
        &s2_table(vmid, S2TTB_A, feat),
        &attrs(feat, true),
    )
}

/// A stage 1 CD like the C suite's `arm_smmu_test_make_s1_cd()`.
pub(crate) fn s1_cd(asid: u16, ttb: u64) -> Result<Cd, Error> {
    Cd::new(&CdCfg {
        asid,
        ttb0: Some(Ttb0 {
            addr: ttb,
            t0sz: 4,
            granule: Granule::Size16K,
            inner_cache: Cacheability::WriteThrough,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
        }),
        ips: 1,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: false,
        hw_dirty: false,
        haft: false,
        stall: false,
        record: true,
        abort: true,
        aset: true,
        mair: MAIR,
    })
}

/// An SVA CD; `None` for `pgd` gives the "released" CD that faults everything.
pub(crate) fn sva_cd(asid: u16, pgd: Option<u64>) -> Result<Cd, Error> {
    Cd::new(&CdCfg {
        asid,
        ttb0: pgd.map(|addr| Ttb0 {
            addr,
            t0sz: 16,
            granule: Granule::Size4K,
            inner_cache: Cacheability::WriteBackWriteAllocate,
            outer_cache: Cacheability::WriteBackWriteAllocate,
            shareability: Shareability::Inner,
        }),
        ips: 5,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: false,
        hw_dirty: false,
        haft: false,
        stall: false,
        // A released CD stops recording faults.
        record: pgd.is_some(),
        abort: true,
        aset: true,
        mair: 0x0000_00ff_440c_0400,
    })
}

/// Checks each `(from, to, syncs, hitless)` transition with [`expect_transition`], a failure
/// naming its index; `words` gives an entry's qwords.
fn expect_transitions<F: EntryFormat>(
    cases: &[(&F, &F, u32, bool)],
    words: fn(&F) -> &EntryWords,
) -> Check {
    for (i, (from, to, syncs, hitless)) in cases.iter().enumerate() {
        at(
            i,
            expect_transition::<F>(words(from), words(to), *syncs, *hitless),
        )?;
    }
    Ok(())
}

/// Checks one transition against the C suite's expectation.
fn expect_transition<F: EntryFormat>(
    from: &EntryWords,
    to: &EntryWords,
    syncs: u32,
    hitless: bool,
) -> Check {
    let out = simulate::<F>(from, to)?;
    expect_eq("number of syncs", u64::from(out.syncs), u64::from(syncs))?;
    expect_eq(
        "hitless (no invalid entry written)",
        u64::from(!out.invalid_seen),
        u64::from(hitless),
    )
}

/// The STE transitions of the C KUnit suite, with their expected syncs and hitlessness.
pub(crate) fn c_suite_ste_cases() -> Check {
    let abort = abort_ste();
    let bypass = bypass_ste();
    let cd_ssid0 = cdtable_ste(S1Dss::Ssid0, CDTAB_A, ATS)?;
    let cd_bypass = cdtable_ste(S1Dss::Bypass, CDTAB_A, ATS)?;
    let cd_other = cdtable_ste(S1Dss::Bypass, CDTAB_B, ATS)?;
    let s2 = s2_ste(0, S2TTB_A, ATS)?;
    let cd_stall = cdtable_ste(S1Dss::Ssid0, CDTAB_A, STALL)?;
    let s2_stall = s2_ste(0, S2TTB_A, STALL)?;
    let nested = nested_ste(S1Dss::Bypass, CDTAB_A, 0, ATS)?;
    let s2_plain = s2_ste(0, S2TTB_A, PLAIN)?;

    let cases: [(&Ste, &Ste, u32, bool); 21] = [
        // bypass_to_abort, abort_to_bypass.
        (&bypass, &abort, 2, true),
        (&abort, &bypass, 2, true),
        // cdtable_to_abort, abort_to_cdtable.
        (&cd_ssid0, &abort, 2, true),
        (&abort, &cd_ssid0, 2, true),
        // cdtable_to_bypass, bypass_to_cdtable.
        (&cd_ssid0, &bypass, 3, true),
        (&bypass, &cd_ssid0, 3, true),
        // cdtable_s1dss_change, both ways.
        (&cd_ssid0, &cd_bypass, 1, true),
        (&cd_bypass, &cd_ssid0, 1, true),
        // s1dssbypass_to_stebypass, stebypass_to_s1dssbypass.
        (&cd_bypass, &bypass, 2, true),
        (&bypass, &cd_bypass, 2, true),
        // s2_to_abort, abort_to_s2, s2_to_bypass, bypass_to_s2.
        (&s2, &abort, 2, true),
        (&abort, &s2, 2, true),
        (&s2, &bypass, 2, true),
        (&bypass, &s2, 2, true),
        // s1_to_s2, s2_to_s1.
        (&cd_ssid0, &s2, 3, true),
        (&s2, &cd_ssid0, 3, true),
        // non_hitless: CD table pointer and S1DSS change together.
        (&cd_ssid0, &cd_other, 3, false),
        // s1_to_s2_stall.
        (&cd_stall, &s2_stall, 3, true),
        // s2_to_s1_stall.
        (&s2_stall, &cd_stall, 3, true),
        // nested_s1dssbypass_to_s1bypass: one more sync clears EATS and MEV.
        (&nested, &s2_plain, 3, true),
        // nested_s1bypass_to_s1dssbypass.
        (&s2_plain, &nested, 2, true),
    ];
    expect_transitions(&cases, Ste::words)
}

/// The CD transitions of the C KUnit suite.
pub(crate) fn c_suite_cd_cases() -> Check {
    let empty = Cd::INVALID;
    let s1_1997 = s1_cd(1997, TTB0_A)?;
    let s1_778 = s1_cd(778, TTB0_A)?;
    let sva = sva_cd(1997, Some(0x0000_0000_4321_0000))?;
    let sva_released = sva_cd(1997, None)?;

    let cases: [(&Cd, &Cd, u32, bool); 8] = [
        // s1_clear, both ways.
        (&empty, &s1_1997, 2, false),
        (&s1_1997, &empty, 2, false),
        // s1_change_asid, both ways.
        (&s1_778, &s1_1997, 1, true),
        (&s1_1997, &s1_778, 1, true),
        // sva_clear, both ways.
        (&empty, &sva, 2, false),
        (&sva, &empty, 2, false),
        // sva_release, both ways.
        (&sva, &sva_released, 2, true),
        (&sva_released, &sva, 2, true),
    ];
    expect_transitions(&cases, Cd::words)
}
