// SPDX-License-Identifier: GPL-2.0

//! Checks of the entries the driver composes ([`crate::hw::compose`]) against the
//! specification's ILLEGAL and RES0 conditions ([`crate::hw::illegal`]), for every SMMU variant
//! the ID registers can describe in the ways that change them, and checks of the checker.

use super::{
    at,
    expect,
    expect_eq,
    probe::IdrSpec,
    simulate,
    Check,
    Failure, //
};
use crate::hw::{
    cd::{
        self,
        Cd,
        CdLayout, //
    },
    compose::{
        self,
        TableCfg,
        S1_IAS, //
    },
    idr::Idr,
    illegal::{
        check_cd,
        check_ste,
        Kind,
        Smmu,
        Violation, //
    },
    probe::pgsize_bitmap,
    ste::{
        self,
        S1Dss,
        S1Fmt,
        Ste, //
    },
    Error,
};

/// The translation control the kernel's LPAE io-pgtable computes for a table of `ias` input
/// bits over an SMMU of `oas` output bits, with the page sizes `pgsize` (one granule), as
/// `arm_64_lpae_alloc_pgtable_s1()`/`_s2()` do; `None` where it refuses.
pub(crate) fn lpae(
    stage2: bool,
    pgsize: u64,
    ias: u32,
    oas: u32,
    coherent: bool,
    ttb: u64,
) -> Option<TableCfg> {
    let shift = pgsize.trailing_zeros();
    if !matches!(shift, 12 | 14 | 16) {
        return None;
    }
    // arm_lpae_restrict_pgsizes(): 52 bits with 64KB pages only.
    let max_bits = if shift == 16 { 52 } else { 48 };
    let (ias, oas) = (ias.min(max_bits), oas.min(max_bits));
    let bits_per_level = shift - 3;
    let va_bits = ias.checked_sub(shift)?;
    let levels = va_bits.div_ceil(bits_per_level);
    let mut start = 4u32.checked_sub(levels)?;
    let pgd_bits = va_bits - bits_per_level * (levels - 1);
    // Stage 2 concatenates up to 16 tables instead of starting at level 0.
    if stage2 && start == 0 && (1u32 << pgd_bits) <= 16 {
        start += 1;
    }
    let tg = match shift {
        12 => 0,
        16 => 1,
        _ => 2,
    };
    let ps = match oas {
        32 => 0,
        36 => 1,
        40 => 2,
        42 => 3,
        44 => 4,
        48 => 5,
        52 => 6,
        _ => return None,
    };
    let sl = if stage2 {
        // The 4KB granule's SL0 encoding is one off from the others'.
        let sl = if shift == 12 { start + 1 } else { start };
        !sl & 3
    } else {
        0
    };
    let (sh, irgn, orgn) = if coherent { (3, 1, 1) } else { (2, 0, 0) };
    Some(TableCfg {
        ttb,
        tsz: 64 - ias,
        sl,
        tg,
        irgn,
        orgn,
        sh,
        ps,
    })
}

/// A failure naming the broken rule, the variant it broke in, and its kind (1: ILLEGAL, 2: RES0,
/// 3: address size).
fn fail(variant: usize, v: Violation) -> Failure {
    Failure {
        check: v.rule,
        index: Some(variant),
        got: match v.kind {
            Kind::Illegal => 1,
            Kind::Res0 => 2,
            Kind::AddressSize => 3,
        },
        want: 0,
    }
}

/// A page-aligned address just below `2^bits`: the highest a table can have with the DMA mask
/// the driver sets to the output size.
const fn top_address(bits: u32) -> u64 {
    (1u64 << bits) - 0x1_0000
}

/// The MAIR io-pgtable programs (Device-nGnRE, Normal WB, Normal NC, ...); only stored.
const MAIR: u64 = 0x0004_44ff;

/// Composes every entry the driver can install on the SMMU `spec` and checks it, and, with
/// `updates`, the hitless updates between them. Returns the number of entries checked.
fn check_variant(
    spec: &IdrSpec,
    page_size: u64,
    coherent: bool,
    updates: bool,
    variant: usize,
) -> Result<usize, Failure> {
    let idr: Idr = spec.idr();
    let smmu = Smmu { idr, e2h: false };
    let Some(oas) = idr.oas_bits() else {
        return Ok(0);
    };
    let pgsize = pgsize_bitmap(idr.granules(), oas, page_size);
    let shift = pgsize.trailing_zeros();
    let top = top_address(oas);
    let mut n = 0;
    let mut stes: [Option<Ste>; 4] = [
        Some(compose::abort_ste()),
        Some(compose::bypass_ste(&idr)),
        None,
        None,
    ];

    if idr.s1() {
        let cd_ste = compose::cd_table_ste(&idr, top).map_err(Failure::from)?;
        let table =
            lpae(false, pgsize, S1_IAS, oas, coherent, top).ok_or(Failure::from(Error::Invalid))?;
        for asid in [1, (1u32 << idr.asid_bits()) - 1] {
            // CAST: ASIDs are at most 16 bits wide.
            let cd = compose::s1_cd(&idr, asid as u16, &table, MAIR).map_err(Failure::from)?;
            check_cd(&smmu, &cd_ste, &cd).map_err(|v| fail(variant, v))?;
            check_cd(&smmu, &cd_ste, &Cd::INVALID).map_err(|v| fail(variant, v))?;
            if updates {
                super::at(
                    variant,
                    simulate::<Cd>(Cd::INVALID.words(), cd.words()).map(|_| ()),
                )?;
            }
            n += 2;
        }
        stes[2] = Some(cd_ste);
    }
    if idr.s2() {
        let ias = compose::s2_ias(oas, shift);
        let table =
            lpae(true, pgsize, ias, oas, coherent, top).ok_or(Failure::from(Error::Invalid))?;
        for vmid in [1, (1u32 << idr.vmid_bits()) - 1] {
            // CAST: VMIDs are at most 16 bits wide.
            let s2 = compose::s2_ste(&idr, vmid as u16, &table).map_err(Failure::from)?;
            check_ste(&smmu, &s2).map_err(|v| fail(variant, v))?;
            n += 1;
            stes[3] = Some(s2);
        }
    }
    for ste in stes.iter().flatten() {
        check_ste(&smmu, ste).map_err(|v| fail(variant, v))?;
        n += 1;
    }
    // Every attach the driver can do goes through the hitless planner.
    for from in stes.iter().flatten().filter(|_| updates) {
        for to in stes.iter().flatten() {
            super::at(
                variant,
                simulate::<Ste>(from.words(), to.words()).map(|_| ()),
            )?;
        }
    }
    Ok(n)
}

/// Every entry the driver composes, for every combination of the features that change them
/// (stall model, stages, granules, ATS, VMID and ASID widths, output size, attribute
/// override, table endianness), the CPU page sizes and both coherencies, is legal.
pub(crate) fn composed_entries() -> Check {
    let mut variant = 0;
    let mut checked = 0;
    for stall_model in [0, 1, 2] {
        for stages in [1u32, 2, 3] {
            for granules in 1..8 {
                for oas in 0..7 {
                    for flags in 0..16u32 {
                        for tt_endian in [0, 2] {
                            for page_shift in [12, 14, 16] {
                                let spec = IdrSpec {
                                    s1: stages & 1 != 0,
                                    s2: stages & 2 != 0,
                                    stall_model,
                                    ats: flags & 1 != 0,
                                    asid16: flags & 2 != 0,
                                    vmid16: flags & 4 != 0,
                                    attr_types_ovr: flags & 8 != 0,
                                    tt_endian,
                                    oas,
                                    granules,
                                    ..IdrSpec::PLAIN
                                };
                                let coherent = variant % 2 == 0;
                                // The updates do not depend on the page size or endianness.
                                let updates = page_shift == 12 && tt_endian == 0;
                                checked += check_variant(
                                    &spec,
                                    1 << page_shift,
                                    coherent,
                                    updates,
                                    variant,
                                )?;
                                variant += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // Per stall model, granules, output size, flags, endianness and page size: the abort and
    // bypass STEs (3 stage sets), a CD table STE, 2 CDs and the invalid CD twice with stage 1
    // (2 sets), 2 stage 2 STEs and the last one among the STEs with stage 2 (2 sets):
    // 3 * 2 + 2 * 5 + 2 * 3 = 22.
    // CAST: Counts fit in `u64`.
    super::expect_eq(
        "entries checked",
        checked as u64,
        3 * 7 * 7 * 16 * 2 * 3 * 22,
    )
}

/// The checker flags what it must: entries the driver used to compose on SMMUs QEMU does not
/// emulate, and others that break a rule, and accepts QEMU's.
pub(crate) fn checker_rules() -> Check {
    let forced = IdrSpec {
        stall_model: 2,
        ..IdrSpec::PLAIN
    }
    .idr();
    let plain = IdrSpec::PLAIN.idr();
    let narrow = IdrSpec {
        asid16: false,
        vmid16: false,
        ..IdrSpec::PLAIN
    }
    .idr();
    let smmu = |idr| Smmu { idr, e2h: false };
    let table = lpae(true, 1 << 12, 48, 48, true, 0x1_0000).ok_or(Failure::from(Error::Invalid))?;
    let s1 = lpae(false, 1 << 12, 48, 48, true, 0x2_0000).ok_or(Failure::from(Error::Invalid))?;

    let illegal = |r: Result<(), Violation>, kind: Kind| matches!(r, Err(v) if v.kind == kind);

    // Before this checker, the driver set S1STALLD and left CD.S and S2S clear everywhere.
    let mut ste_stalld = compose::cd_table_ste(&forced, 0x4000).map_err(Failure::from)?;
    let mut w = *ste_stalld.words();
    ste::S1STALLD.set_bool(&mut w, true);
    ste_stalld = Ste::from_words(w);
    expect(
        "S1STALLD with a forced stall model",
        illegal(check_ste(&smmu(forced), &ste_stalld), Kind::Illegal),
    )?;
    let good_cd = compose::s1_cd(&forced, 1, &s1, MAIR).map_err(Failure::from)?;
    let mut w = *good_cd.words();
    cd::S.set_bool(&mut w, false);
    let cd_nostall = Cd::from_words(w);
    let cd_ste = compose::cd_table_ste(&forced, 0x4000).map_err(Failure::from)?;
    expect(
        "CD.S == 0 with a forced stall model",
        illegal(check_cd(&smmu(forced), &cd_ste, &cd_nostall), Kind::Illegal),
    )?;
    expect(
        "CD.S == 1 under S1STALLD",
        illegal(
            check_cd(&smmu(forced), &ste_stalld, &good_cd),
            Kind::Illegal,
        ),
    )?;
    let s2 = compose::s2_ste(&forced, 1, &table).map_err(Failure::from)?;
    let mut w = *s2.words();
    ste::S2S.set_bool(&mut w, false);
    expect(
        "S2S == 0 with a forced stall model",
        illegal(check_ste(&smmu(forced), &Ste::from_words(w)), Kind::Illegal),
    )?;
    // The identity STE with SHCFG = incoming on an SMMU without ATTR_TYPES_OVR (QEMU's).
    expect(
        "SHCFG without ATTR_TYPES_OVR",
        illegal(
            check_ste(&smmu(plain), &Ste::bypass(ste::Shcfg::Incoming)),
            Kind::Res0,
        ),
    )?;
    // 16-bit IDs on an 8-bit SMMU.
    let mut w = *compose::s2_ste(&plain, 0x1ff, &table)
        .map_err(Failure::from)?
        .words();
    expect(
        "a 9-bit VMID with 8-bit VMIDs",
        illegal(check_ste(&smmu(narrow), &Ste::from_words(w)), Kind::Res0),
    )?;
    expect(
        "compose refuses a VMID wider than the SMMU's",
        compose::s2_ste(&narrow, 0x1ff, &table).is_err()
            && compose::s1_cd(&narrow, 0x100, &s1, MAIR).is_err(),
    )?;
    // EATS without ATS, and with S2S.
    ste::EATS.set_truncated(&mut w, 1);
    ste::S2VMID.set_truncated(&mut w, 1);
    expect(
        "EATS without IDR0.ATS",
        illegal(check_ste(&smmu(plain), &Ste::from_words(w)), Kind::Res0),
    )?;
    // A granule the SMMU does not have.
    let only64 = IdrSpec {
        granules: 0b100,
        ..IdrSpec::PLAIN
    }
    .idr();
    expect(
        "S2TG of a missing granule",
        illegal(
            check_ste(
                &smmu(only64),
                &compose::s2_ste(&only64, 1, &table).map_err(Failure::from)?,
            ),
            Kind::Illegal,
        ),
    )?;
    expect(
        "TG0 of a missing granule",
        illegal(
            check_cd(
                &smmu(only64),
                &cd_ste,
                &compose::s1_cd(&only64, 1, &s1, MAIR).map_err(Failure::from)?,
            ),
            Kind::Illegal,
        ),
    )?;
    // Stage 2 with 16KB pages on a 40-bit SMMU: io-pgtable starts a 40-bit IPA space at level
    // 1, which needs 42 bits of PA; compose::s2_ias() cuts it to 36 bits.
    let k16_40 = IdrSpec {
        granules: 0b010,
        oas: 2,
        ..IdrSpec::PLAIN
    }
    .idr();
    let wide = lpae(true, 1 << 14, 40, 40, true, 0x1_0000).ok_or(Failure::from(Error::Invalid))?;
    expect(
        "16KB stage 2 starting at level 1 below 42 bits of PA",
        illegal(
            check_ste(
                &smmu(k16_40),
                &compose::s2_ste(&k16_40, 1, &wide).map_err(Failure::from)?,
            ),
            Kind::Illegal,
        ),
    )?;
    expect_eq_u32("16KB, 40-bit stage 2 IPA", compose::s2_ias(40, 14), 36)?;
    // An IPA space larger than the output.
    let k4_40 = IdrSpec {
        oas: 2,
        ..IdrSpec::PLAIN
    }
    .idr();
    expect(
        "a 48-bit IPA space on a 40-bit SMMU",
        illegal(
            check_ste(
                &smmu(k4_40),
                &compose::s2_ste(&k4_40, 1, &table).map_err(Failure::from)?,
            ),
            Kind::Illegal,
        ),
    )?;
    // Stage 1 on a stage-2-only SMMU, and a reserved Config.
    let s2only = IdrSpec {
        s1: false,
        ..IdrSpec::PLAIN
    }
    .idr();
    expect(
        "stage 1 without IDR0.S1P",
        illegal(
            check_ste(
                &smmu(s2only),
                &compose::cd_table_ste(&s2only, 0x4000).map_err(Failure::from)?,
            ),
            Kind::Illegal,
        ),
    )?;
    let mut w = *compose::abort_ste().words();
    ste::CONFIG.set_truncated(&mut w, 2);
    expect(
        "a reserved Config",
        illegal(check_ste(&smmu(plain), &Ste::from_words(w)), Kind::Illegal),
    )?;
    // And what the driver composes on QEMU's SMMU passes.
    let [i0, i1, i3, i5] = super::probe::QEMU_IDR;
    let qemu = Idr::new(i0, i1, i3, i5);
    let q = smmu(qemu);
    let qcd = compose::cd_table_ste(&qemu, 0x4000).map_err(Failure::from)?;
    let qtable =
        lpae(true, 1 << 12, 44, 44, true, 0x1_0000).ok_or(Failure::from(Error::Invalid))?;
    let qs1 = lpae(false, 1 << 12, 48, 44, true, 0x2_0000).ok_or(Failure::from(Error::Invalid))?;
    expect(
        "QEMU's entries",
        check_ste(&q, &compose::bypass_ste(&qemu)).is_ok()
            && check_ste(&q, &qcd).is_ok()
            && check_ste(
                &q,
                &compose::s2_ste(&qemu, 1, &qtable).map_err(Failure::from)?,
            )
            .is_ok()
            && check_cd(
                &q,
                &qcd,
                &compose::s1_cd(&qemu, 1, &qs1, MAIR).map_err(Failure::from)?,
            )
            .is_ok(),
    )?;

    // S1ContextPtr beyond QEMU's 44-bit output size: a physical address there is an address
    // size error, an IPA there (with stage 2: a guest's nested STE) is stage 2's to fault.
    let far = 1u64 << 46;
    let mut w = *qcd.words();
    ste::S1CTXPTR.set_addr(&mut w, far).map_err(Failure::from)?;
    expect(
        "S1ContextPtr beyond the output size, stage 1 only",
        illegal(check_ste(&q, &Ste::from_words(w)), Kind::AddressSize),
    )?;
    let parent = compose::s2_ste(&qemu, 1, &qtable).map_err(Failure::from)?;
    let mut w = *parent.words();
    ste::CONFIG.set_truncated(&mut w, ste::Config::Nested.raw());
    ste::S1CTXPTR.set_addr(&mut w, far).map_err(Failure::from)?;
    expect(
        "S1ContextPtr beyond the output size, nested: an IPA",
        check_ste(&q, &Ste::from_words(w)).is_ok(),
    )
}

/// Fails `check` unless `got == want`.
fn expect_eq_u32(check: &'static str, got: u32, want: u32) -> Check {
    super::expect_eq(check, u64::from(got), u64::from(want))
}

/// Checks the translation control the kernel's io-pgtable computed for a stage 1 table `s1`
/// (of [`S1_IAS`] bits) and a stage 2 table `s2` (of [`compose::s2_ias`] bits), on the SMMU
/// `spec` with `page_size` CPU pages and coherent walks: they must be what [`lpae`], the model
/// [`composed_entries`] relies on, says, and the entries composed from them must be legal.
pub(crate) fn check_real_tables(
    spec: &IdrSpec,
    page_size: u64,
    s1: &TableCfg,
    s2: &TableCfg,
) -> Check {
    let idr = spec.idr();
    let oas = idr.oas_bits().ok_or(Failure::from(Error::Invalid))?;
    let pgsize = pgsize_bitmap(idr.granules(), oas, page_size);
    let model_s1 = lpae(false, pgsize, S1_IAS, oas, true, s1.ttb);
    let ias = compose::s2_ias(oas, pgsize.trailing_zeros());
    let model_s2 = lpae(true, pgsize, ias, oas, true, s2.ttb);
    let same = |a: &TableCfg, b: Option<TableCfg>| b.is_some_and(|b| *a == b);
    expect(
        "io-pgtable's stage 1 TCR is the model's",
        same(s1, model_s1),
    )?;
    expect(
        "io-pgtable's stage 2 VTCR is the model's",
        same(s2, model_s2),
    )?;
    let smmu = Smmu { idr, e2h: false };
    let cd_ste = compose::cd_table_ste(&idr, 0x4000).map_err(Failure::from)?;
    let cd = compose::s1_cd(&idr, 1, s1, MAIR).map_err(Failure::from)?;
    check_cd(&smmu, &cd_ste, &cd).map_err(|v| fail(0, v))?;
    let ste = compose::s2_ste(&idr, 1, s2).map_err(Failure::from)?;
    check_ste(&smmu, &ste).map_err(|v| fail(0, v))
}

/// The STEs that point a device at its CD table ([`compose::cd_table_ste_for`]).
///
/// The table's format and size and the handling of DMA without a SubstreamID land in `S1Fmt`,
/// `S1CDMax` and `S1DSS` as `arm_smmu_make_cdtable_ste()` of the C driver puts them; each STE
/// is legal on the SMMU its layout was sized for and illegal on one with a SubstreamID less;
/// and the updates the driver makes as PASIDs get and lose domains while the RID is in the
/// identity or blocking domain (plain STE to CD table STE and back) are hitless.
pub(crate) fn cd_table_stes() -> Check {
    const TABLE: u64 = 0x8_0000;
    // (IDR1.SSIDSIZE, device PASID bits) -> format; IDR0.CD2L is set.
    let cases = [
        (8, 8, S1Fmt::Linear),
        (10, 20, S1Fmt::Linear),
        (16, 20, S1Fmt::TwoLevel64K),
        (20, 5, S1Fmt::Linear),
        (20, 20, S1Fmt::TwoLevel64K),
    ];
    for (i, (ssid_bits, dev_bits, fmt)) in cases.into_iter().enumerate() {
        let spec = IdrSpec {
            ssid_bits,
            cd2l: true,
            ..IdrSpec::PLAIN
        };
        let idr = spec.idr();
        let smmu = Smmu { idr, e2h: false };
        let cd_max = ssid_bits.min(dev_bits);
        let narrower = Smmu {
            idr: IdrSpec {
                ssid_bits: cd_max - 1,
                ..spec
            }
            .idr(),
            e2h: false,
        };
        let layout = CdLayout::new(idr.ssid_bits(), idr.cd_2lvl(), dev_bits)?;
        let mut by_dss = [None, None, None];
        for (slot, dss) in by_dss
            .iter_mut()
            .zip([S1Dss::Ssid0, S1Dss::Bypass, S1Dss::Terminate])
        {
            let no_stalls = compose::Stalls::new(idr.stall_model(), false);
            let s = compose::cd_table_ste_for(&idr, TABLE, &layout, dss, no_stalls)?;
            let w = s.words();
            at(i, expect_eq("STE.S1Fmt", ste::S1FMT.get(w), fmt.raw()))?;
            at(
                i,
                expect_eq("STE.S1CDMax", ste::S1CDMAX.get(w), u64::from(cd_max)),
            )?;
            at(i, expect_eq("STE.S1DSS", ste::S1DSS.get(w), dss.raw()))?;
            at(
                i,
                expect_eq("STE.S1ContextPtr", ste::S1CTXPTR.get(w) << 6, TABLE),
            )?;
            check_ste(&smmu, &s).map_err(|v| fail(i, v))?;
            at(
                i,
                expect(
                    "a CD table wider than IDR1.SSIDSIZE is illegal",
                    check_ste(&narrower, &s).is_err(),
                ),
            )?;
            *slot = Some(s);
        }
        let [Some(ssid0), Some(bypass), Some(terminate)] = by_dss else {
            return Err(Failure::from(Error::Invalid));
        };
        let plain_bypass = compose::bypass_ste(&idr);
        let plain_abort = compose::abort_ste();
        for (from, to) in [
            (&plain_abort, &terminate),
            (&terminate, &plain_abort),
            (&plain_bypass, &bypass),
            (&bypass, &plain_bypass),
            (&ssid0, &bypass),
            (&ssid0, &terminate),
            (&terminate, &ssid0),
        ] {
            let out = simulate::<Ste>(from.words(), to.words())?;
            at(
                i,
                expect("a PASID's STE update is hitless", !out.invalid_seen),
            )?;
        }
    }
    Ok(())
}

/// The entries of dirty-tracking domains: the CD of a stage 1 domain
/// ([`compose::s1_cd_with`]) is the plain CD with `HA` and `HD` set (as the C driver sets them
/// with `IO_PGTABLE_QUIRK_ARM_HD`), the STE of a stage 2 domain ([`compose::s2_ste_with`]) the
/// plain STE with `S2HA` and `S2HD` set; each is legal where `IDR0.HTTU` includes the dirty
/// state, illegal where it has the access flag only or nothing.
pub(crate) fn dirty_entries() -> Check {
    let [idr0, idr1, idr3, idr5] = IdrSpec::PLAIN.raw();
    let with_httu = |httu: u32| Idr::new(idr0 | httu << 6, idr1, idr3, idr5);
    let idr = with_httu(2);
    let s1 = lpae(false, 4096, S1_IAS, 48, true, 0x8_0000).ok_or(Failure::from(Error::Invalid))?;
    let plain = compose::s1_cd(&idr, 1, &s1, MAIR)?;
    let dirty = compose::s1_cd_with(&idr, 1, &s1, MAIR, true)?;
    let mut want = *plain.words();
    want[0] |= 1 << 42 | 1 << 43;
    expect("CD.HA and CD.HD set, nothing else", *dirty.words() == want)?;
    expect(
        "no HA or HD without dirty tracking",
        compose::s1_cd_with(&idr, 1, &s1, MAIR, false)? == plain,
    )?;
    let ias = compose::s2_ias(48, 12);
    let s2 = lpae(true, 4096, ias, 48, true, 0x8_0000).ok_or(Failure::from(Error::Invalid))?;
    let plain_s2 = compose::s2_ste(&idr, 1, &s2)?;
    let dirty_s2 = compose::s2_ste_with(&idr, 1, &s2, true)?;
    let mut want = *plain_s2.words();
    want[2] |= 1 << 55 | 1 << 56;
    expect(
        "STE.S2HA and STE.S2HD set, nothing else",
        *dirty_s2.words() == want,
    )?;
    let ste = compose::cd_table_ste(&idr, 0x4000)?;
    for (i, (httu, legal)) in [(0, false), (1, false), (2, true), (3, true)]
        .into_iter()
        .enumerate()
    {
        let smmu = Smmu {
            idr: with_httu(httu),
            e2h: false,
        };
        at(
            i,
            expect(
                "a dirty-tracking CD is legal exactly where IDR0.HTTU has dirty state",
                check_cd(&smmu, &ste, &dirty).is_ok() == legal,
            ),
        )?;
        at(
            i,
            expect(
                "a dirty-tracking stage 2 STE is legal exactly where IDR0.HTTU has dirty state",
                check_ste(&smmu, &dirty_s2).is_ok() == legal,
            ),
        )?;
    }
    Ok(())
}

/// The stall bits of a device's entries ([`compose::Stalls`]), as the C driver sets them from
/// `master->stall_enabled`: on an SMMU that lets software choose (`STALL_MODEL == 0b00`) a
/// device that can stall gets `CD.S`, `STE.S2S` in stage 2 STEs and no `STE.S1STALLD`, one
/// that cannot the opposite; where the SMMU forces stalls (`0b10`) every device gets `CD.S` and
/// `S2S` and no `S1STALLD`; where it has none (`0b01`) none is set. Every combination is legal,
/// and the entries' other bits are the plain ones.
pub(crate) fn stall_entries() -> Check {
    let s1 = lpae(false, 4096, S1_IAS, 48, true, 0x8_0000).ok_or(Failure::from(Error::Invalid))?;
    for (i, (model, can_stall, stalls, stalld)) in [
        (0, false, false, true),
        (0, true, true, false),
        (1, false, false, false),
        (1, true, false, false),
        (2, false, true, false),
        (2, true, true, false),
    ]
    .into_iter()
    .enumerate()
    {
        let idr = IdrSpec {
            stall_model: model,
            ..IdrSpec::PLAIN
        }
        .idr();
        let smmu = Smmu { idr, e2h: false };
        let st = compose::Stalls::new(idr.stall_model(), can_stall);
        at(
            i,
            expect_eq("stalls enabled", u64::from(st.enabled()), u64::from(stalls)),
        )?;
        let ste = compose::cd_table_ste_for(&idr, 0x4000, &CdLayout::SINGLE, S1Dss::Ssid0, st)?;
        at(
            i,
            expect_eq(
                "STE.S1STALLD",
                u64::from(ste::S1STALLD.is_set(ste.words())),
                u64::from(stalld),
            ),
        )?;
        check_ste(&smmu, &ste).map_err(|v| fail(i, v))?;
        let plain = compose::s1_cd(&idr, 1, &s1, MAIR)?;
        let cd = compose::with_stalls(&plain, st);
        at(
            i,
            expect_eq(
                "CD.S",
                u64::from(cd::S.is_set(cd.words())),
                u64::from(stalls),
            ),
        )?;
        let mut others = *cd.words();
        cd::S.set_bool(&mut others, cd::S.is_set(plain.words()));
        at(i, expect("CD.S and nothing else", others == *plain.words()))?;
        check_cd(&smmu, &ste, &cd).map_err(|v| fail(i, v))?;
        // Stage 2: S2S for a device that stalls, only the bit changed, legal.
        let s2 = lpae(true, 4096, compose::s2_ias(48, 12), 48, true, 0x8_0000)
            .ok_or(Failure::from(Error::Invalid))?;
        let plain_s2 = compose::s2_ste(&idr, 1, &s2)?;
        let s2_ste = compose::ste_with_stalls(&plain_s2, st);
        at(
            i,
            expect_eq(
                "STE.S2S",
                u64::from(ste::S2S.is_set(s2_ste.words())),
                u64::from(stalls),
            ),
        )?;
        let mut others = *s2_ste.words();
        ste::S2S.set_bool(&mut others, ste::S2S.is_set(plain_s2.words()));
        at(
            i,
            expect("S2S and nothing else", others == *plain_s2.words()),
        )?;
        check_ste(&smmu, &s2_ste).map_err(|v| fail(i, v))?;
        at(
            i,
            expect(
                "a stage 1 STE has no S2S",
                compose::ste_with_stalls(&ste, st) == ste,
            ),
        )?;
        at(
            i,
            expect(
                "an invalid CD stays invalid",
                compose::with_stalls(&Cd::INVALID, st) == Cd::INVALID,
            ),
        )?;
    }
    Ok(())
}
