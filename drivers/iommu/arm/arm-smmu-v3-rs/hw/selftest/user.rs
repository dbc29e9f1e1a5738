// SPDX-License-Identifier: GPL-2.0

//! The user-input validators of iommufd nesting ([`crate::hw::user`]) on fixed cases written
//! from the C driver (`arm-smmu-v3-iommufd.c`), and the nested STEs they compose checked
//! against the STE builders, the specification's rules ([`crate::hw::illegal`]) and the
//! hitless planner.

use super::{
    at,
    c_suite::{
        self,
        Feat,
        ATS,
        CDTAB_A,
        PLAIN,
        S2TTB_A,
        STALL, //
    },
    expect,
    expect_eq,
    expect_words,
    illegal::lpae,
    probe::{
        IdrSpec,
        QEMU_IDR, //
    },
    simulate,
    Check,
    Failure, //
};
use crate::hw::{
    compose,
    idr::Idr,
    illegal::{
        check_ste,
        Kind,
        Smmu, //
    },
    probe::pgsize_bitmap,
    ste::{
        self,
        S1Dss,
        Ste, //
    },
    user::{
        convert_user_cmd,
        is_user_event,
        issue_user_cmds,
        nested_ste,
        validate_vste,
        vevent,
        BatchError,
        Reject,
        UserCmdPolicy,
        Vste, //
    },
    Error,
};

/// Fails `check` unless `got == want`.
fn expect_same<T: PartialEq>(check: &'static str, got: T, want: T) -> Check {
    expect(check, got == want)
}

/// vSID 3 is the physical StreamID 0x30; nothing else is known.
fn lookup(vsid: u32) -> Option<u32> {
    (vsid == 3).then_some(0x30)
}

/// The policy of a vIOMMU of VMID 0x21 on QEMU's SMMU.
fn qemu_policy() -> UserCmdPolicy {
    let [i0, i1, i3, i5] = QEMU_IDR;
    UserCmdPolicy::new(&Idr::new(i0, i1, i3, i5), 0x21)
}

/// Converts a command on QEMU's SMMU for a vIOMMU of VMID 0x21.
fn qemu_cmd(w: [u64; 2]) -> Result<[u64; 2], Reject> {
    convert_user_cmd(&qemu_policy(), w, lookup).map(|c| *c.words())
}

/// Fixed cases of the vSTE and command validators and of event forwarding.
pub(crate) fn user_validators() -> Check {
    // vSTE qword 0: V [0], Config [3:1] (S1 0b101, bypass 0b100); qword 1: EATS [29:28].
    expect_same(
        "a non-valid vSTE aborts, whatever its other bits",
        validate_vste([!1, !0]),
        Ok(Vste::Abort),
    )?;
    expect_same(
        "a vSTE with MEV [19] set",
        validate_vste([0xb, 1 << 19]),
        Err(Reject::VsteBits),
    )?;
    expect_same(
        "a vSTE with Config nested",
        validate_vste([0xf, 0]),
        Err(Reject::VsteConfig),
    )?;
    expect_same(
        "a vSTE with EATS split-stage",
        validate_vste([0xb, 2 << 28]),
        Err(Reject::VsteEats),
    )?;
    expect_same(
        "a bypass vSTE",
        validate_vste([0x9, 1 << 28]),
        Ok(Vste::Bypass),
    )?;
    let Ok(Vste::S1(s1)) = validate_vste([0x8000_0040 | 0xb, 0xd5 | 1 << 28]) else {
        return Err(Failure::from(Error::Invalid));
    };
    expect_words(
        "a stage 1 vSTE keeps its fields, EATS stripped",
        s1.words(),
        &[0x8000_0040 | 0xb, 0xd5],
    )?;
    expect("a stage 1 vSTE with EATS trans enables ATS", s1.ats())?;

    // QEMU's SMMU: 16-bit ASIDs, range invalidation, no DS, no ATS, no SubstreamIDs.
    expect_same(
        "TLBI_NSNH_ALL becomes TLBI_NH_ALL of the VMID",
        qemu_cmd([0x30, 0]),
        Ok([0x10 | 0x21 << 32, 0]),
    )?;
    expect_same(
        "TLBI_NH_VA gets the VMID [47:32]",
        qemu_cmd([0x12 | 0xffff << 32 | 7 << 48, 0x4000 | 1]),
        Ok([0x12 | 0x21 << 32 | 7 << 48, 0x4000 | 1]),
    )?;
    expect_same(
        "TLBI_NH_VA range: TG 4KB [11:10], NUM 3 [16:12], TTL 3 [9:8]",
        qemu_cmd([0x12 | 3 << 12, 1 << 10 | 3 << 8 | 0x4000]),
        Ok([0x12 | 0x21 << 32 | 3 << 12, 1 << 10 | 3 << 8 | 0x4000]),
    )?;
    expect_same(
        "TLBI_NH_VAA with TG set and no range",
        qemu_cmd([0x13, 1 << 10]),
        Err(Reject::RangeReserved),
    )?;
    expect_same(
        "TLBI_NH_VA with SCALE bit 25 without DS",
        qemu_cmd([0x12 | 1 << 25, 1 << 10]),
        Err(Reject::CmdBits),
    )?;
    expect_same(
        "TLBI_NH_ALL with a RES0 bit",
        qemu_cmd([0x10 | 1 << 8, 0]),
        Err(Reject::CmdBits),
    )?;
    expect_same("TLBI_S12_VMALL", qemu_cmd([0x28, 0]), Err(Reject::Opcode))?;
    expect_same(
        "CFGI_STE",
        qemu_cmd([0x03 | 3 << 32, 0]),
        Err(Reject::Opcode),
    )?;
    expect_same(
        "ATC_INV without ATS",
        qemu_cmd([0x40 | 3 << 32, 0]),
        Err(Reject::AtcWithoutAts),
    )?;
    expect_same(
        "CFGI_CD_ALL of a vSID gets the physical SID [63:32]",
        qemu_cmd([0x06 | 3 << 32, 0]),
        Ok([0x06 | 0x30 << 32, 0]),
    )?;
    expect_same(
        "CFGI_CD with an SSID [31:12] without SubstreamIDs",
        qemu_cmd([0x05 | 3 << 32 | 1 << 12, 1]),
        Err(Reject::CmdBits),
    )?;
    expect_same(
        "CFGI_CD of an unknown vSID",
        qemu_cmd([0x05 | 4 << 32, 1]),
        Err(Reject::UnknownVsid),
    )?;

    // An array with a valid TLBI_NH_ASID, then a refused command: the first is issued and
    // counted, then the array stops.
    let (mut issued, mut first) = (0, [0; 2]);
    let (n, r) = issue_user_cmds::<(), 4>(
        &qemu_policy(),
        [Ok([0x11 | 7 << 48, 0]), Ok([0x28, 0]), Ok([0x30, 0])],
        lookup,
        |run| {
            issued += run.len();
            if let Some(c) = run.first() {
                first = *c.words();
            }
            Ok(())
        },
    );
    expect(
        "a refused command stops the array after the ones before it",
        n == 1 && issued == 1 && r == Err(BatchError::Rejected(Reject::Opcode)),
    )?;
    expect_words(
        "the command before the refused one, issued",
        &first,
        &[0x11 | 7 << 48 | 0x21 << 32, 0],
    )?;

    // Event qword 0: ID [7:0], SID [63:32]; qword 1: Stall [31], S2 [39].
    let fault = [0x10 | 0x30 << 32, 1 << 35, 0x1000, 0];
    expect("F_TRANSLATION is forwarded", is_user_event(&fault))?;
    expect(
        "a stalled F_TRANSLATION is not",
        !is_user_event(&[fault[0], fault[1] | 1 << 31, 0, 0]),
    )?;
    expect(
        "a stage 2 F_TRANSLATION is not",
        !is_user_event(&[fault[0], fault[1] | 1 << 39, 0, 0]),
    )?;
    expect(
        "C_BAD_STE is forwarded",
        is_user_event(&[0x04 | 0x30 << 32, 0, 0, 0]),
    )?;
    expect(
        "F_WALK_EABT is not",
        !is_user_event(&[0x0b | 0x30 << 32, 0, 0, 0]),
    )?;
    expect_words(
        "the vEVENT carries the vSID",
        &vevent(&fault, 3),
        &[0x10 | 3 << 32, 1 << 35, 0x1000, 0],
    )
}

/// The vSTE of the stage 1 STE `s1`: its qwords 0 and 1 without `SHCFG`, which a guest does
/// not control.
fn vste_of(s1: &Ste) -> Result<Vste, Failure> {
    let mut w = [s1.words()[0], s1.words()[1]];
    ste::SHCFG.unmark(&mut w);
    validate_vste(w).map_err(|_| Failure::from(Error::Invalid))
}

/// The nested STE composed from a vSTE is the one the STE builders make for the same stage 1
/// and stage 2, with `MEV` (the C suite's nested STEs, `arm_smmu_test_make_cdtable_ste()`).
fn builders_agree() -> Check {
    let mut i = 0;
    for feat in [PLAIN, ATS, STALL] {
        for dss in [S1Dss::Terminate, S1Dss::Bypass, S1Dss::Ssid0] {
            let s1 = c_suite::cdtable_ste(dss, CDTAB_A, feat)?;
            let parent = c_suite::s2_ste(7, S2TTB_A, feat)?;
            let want = c_suite::nested_ste(dss, CDTAB_A, 7, feat)?;
            let got = nested_ste(&parent, &vste_of(&s1)?)?;
            at(
                i,
                expect_words(
                    "nested STE as the builders make it",
                    got.words(),
                    want.words(),
                ),
            )?;
            i += 1;
        }
    }
    let parent = c_suite::s2_ste(7, S2TTB_A, PLAIN)?;
    expect_same(
        "a bypass vSTE installs the parent's STE",
        nested_ste(&parent, &Vste::Bypass),
        Ok(parent),
    )?;
    expect_same(
        "an abort vSTE installs the abort STE",
        nested_ste(&parent, &Vste::Abort),
        Ok(Ste::abort()),
    )?;
    expect_same(
        "the parent must be a stage 2 STE",
        nested_ste(&Ste::abort(), &Vste::Bypass),
        Err(Error::Invalid),
    )
}

/// The stage 1 vSTEs a guest that follows the SMMU's ID registers writes: one CD (a linear
/// table, `S1CDMax` 0) at the IPA `ptr`, each `S1DSS`, `S1STALLD` where the SMMU can stall.
fn guest_vstes(idr: &Idr, ptr: u64) -> Result<[Vste; 3], Failure> {
    let stalls = matches!(idr.stall_model(), Some(crate::hw::idr::StallModel::Stall));
    let mut out = [Vste::Abort; 3];
    for (i, dss) in [S1Dss::Terminate, S1Dss::Bypass, S1Dss::Ssid0]
        .into_iter()
        .enumerate()
    {
        let feat = Feat {
            ats: idr.ats(),
            stall: !stalls,
        };
        let mut s1 = c_suite::cd_table(dss, ptr, feat);
        s1.fmt = ste::S1Fmt::Linear;
        s1.cd_max = 0;
        let attrs = c_suite::attrs(
            Feat {
                stall: false,
                ..feat
            },
            false,
        );
        if let Some(v) = out.get_mut(i) {
            *v = vste_of(&Ste::cd_table(&s1, &attrs)?)?;
        }
    }
    Ok(out)
}

/// Checks the nested STEs composed over the parent STE the driver composes on the SMMU `spec`.
/// Returns the number of entries checked.
fn check_variant(spec: &IdrSpec, page_size: u64, updates: bool) -> Result<usize, Failure> {
    let idr = spec.idr();
    let smmu = Smmu { idr, e2h: false };
    let Some(oas) = idr.oas_bits() else {
        return Ok(0);
    };
    let pgsize = pgsize_bitmap(idr.granules(), oas, page_size);
    let ias = compose::s2_ias(oas, pgsize.trailing_zeros());
    let table =
        lpae(true, pgsize, ias, oas, true, 0x1_0000).ok_or(Failure::from(Error::Invalid))?;
    let parent = compose::s2_ste(&idr, 1, &table)?;
    // The guest's CD table at the top of its IPA space.
    let guests = guest_vstes(&idr, (1 << ias) - 0x40)?;
    let mut n = 0;
    let mut entries = [parent; 5];
    for (i, v) in [Vste::Abort, Vste::Bypass]
        .iter()
        .chain(guests.iter())
        .enumerate()
    {
        let ste = nested_ste(&parent, v)?;
        check_ste(&smmu, &ste).map_err(|v| Failure {
            check: v.rule,
            index: Some(i),
            got: 0,
            want: 0,
        })?;
        if let Some(e) = entries.get_mut(i) {
            *e = ste;
        }
        n += 1;
    }
    if updates {
        // Attaching the nesting parent, and replacing nested <-> S2 and nested <-> nested.
        for from in entries.iter() {
            for to in entries.iter() {
                simulate::<Ste>(from.words(), to.words())?;
            }
        }
    }
    Ok(n)
}

/// The nested STEs on every SMMU variant with both stages that the illegal-entry sweep
/// ([`super::illegal::composed_entries`]) covers are legal, and update hitlessly.
pub(crate) fn nested_entries() -> Check {
    builders_agree()?;
    let mut checked = 0;
    let mut variant = 0;
    for stall_model in [0, 1, 2] {
        for granules in 1..8 {
            for oas in 0..7 {
                for flags in 0..16u32 {
                    for tt_endian in [0, 2] {
                        for page_shift in [12, 14, 16] {
                            let spec = IdrSpec {
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
                            let updates = page_shift == 12 && tt_endian == 0;
                            checked += at(variant, check_variant(&spec, 1 << page_shift, updates))?;
                            variant += 1;
                        }
                    }
                }
            }
        }
    }
    // Abort, bypass and three stage 1 vSTEs per variant.
    // CAST: Counts fit in `u64`.
    expect_eq(
        "nested entries checked",
        checked as u64,
        3 * 7 * 7 * 16 * 2 * 3 * 5,
    )?;

    // What C lets a guest do to its own stream: an S1CDMax beyond IDR1.SSIDSIZE makes the
    // STE ILLEGAL, and the SMMU reports C_BAD_STE, which goes to the guest.
    let idr = IdrSpec::PLAIN.idr();
    let table = lpae(true, 1 << 12, 48, 48, true, 0x1_0000).ok_or(Failure::from(Error::Invalid))?;
    let parent = compose::s2_ste(&idr, 1, &table)?;
    let v =
        validate_vste([0x4000 | 5 << 59 | 0xb, 0]).map_err(|_| Failure::from(Error::Invalid))?;
    let bad = check_ste(&Smmu { idr, e2h: false }, &nested_ste(&parent, &v)?);
    expect(
        "a guest's S1CDMax beyond SSIDSIZE is its own ILLEGAL STE",
        matches!(bad, Err(e) if e.kind == Kind::Illegal && e.rule.starts_with("STE.S1CDMax")),
    )
}
