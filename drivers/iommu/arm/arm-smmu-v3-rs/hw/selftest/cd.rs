// SPDX-License-Identifier: GPL-2.0

//! CD encodings ([`crate::hw::cd`]) against the specification's field tables.

use super::{
    c_suite::{
        s1_cd,
        sva_cd,
        MAIR,
        TTB0_A, //
    },
    expect,
    expect_eq,
    expect_words,
    Check, //
};
use crate::hw::{
    cd::{
        Cd,
        CdCfg,
        CdLayout,
        CdSlot, //
    },
    ids::Ssid,
    ste::S1Fmt,
    Error, //
};

/// CD encodings.
pub(crate) fn cd_encodings() -> Check {
    // T0SZ [5:0] = 4, TG0 [7:6] = 2, IR0 [9:8] = 2, OR0 [11:10] = 1, SH0 [13:12] = 3,
    // EPD1 [30], V [31], IPS [34:32] = 1, AA64 [41], R [45], A [46], ASET [47], ASID [63:48].
    // Qword 1: TTB0 [51:4]. Qword 3: MAIR.
    let cd = s1_cd(1997, TTB0_A)?;
    expect_words(
        "S1 CD",
        cd.words(),
        &[
            4 | 2 << 6
                | 2 << 8
                | 1 << 10
                | 3 << 12
                | 1 << 30
                | 1 << 31
                | 1 << 32
                | 1 << 41
                | 1 << 45
                | 1 << 46
                | 1 << 47
                | 1997 << 48,
            TTB0_A,
            0,
            MAIR,
            0,
            0,
            0,
            0,
        ],
    )?;
    // EPD0 [14] replaces the TTB0 walk fields; S and R cleared.
    let cd = sva_cd(3, None)?;
    expect_words(
        "released SVA CD",
        &cd.words()[..2],
        &[
            1 << 14 | 1 << 30 | 1 << 31 | 5 << 32 | 1 << 41 | 1 << 46 | 1 << 47 | 3 << 48,
            0,
        ],
    )?;
    expect("no TTB0 with EPD0", cd.ttb0().is_none())?;
    expect_eq("ASID decodes", u64::from(cd.asid()), 3)?;
    expect("CD valid", cd.is_valid() && !Cd::INVALID.is_valid())?;
    // HA [43] and HD [42].
    let mut cfg = CdCfg {
        asid: 0,
        ttb0: None,
        ips: 0,
        big_endian: false,
        affd: false,
        tbi0: false,
        hw_access: true,
        hw_dirty: true,
        haft: true,
        stall: true,
        record: false,
        abort: false,
        aset: false,
        mair: 0,
    };
    let cd = Cd::new(&cfg)?;
    expect_eq(
        "HA, HD, S",
        cd.words()[0],
        1 << 14 | 1 << 30 | 1 << 31 | 1 << 41 | 1 << 42 | 1 << 43 | 1 << 44,
    )?;
    // HAFT is bit 3 of qword 1.
    expect_eq("HAFT", cd.words()[1], 1 << 3)?;
    cfg.hw_access = false;
    expect("HD needs HA", Cd::new(&cfg) == Err(Error::Invalid))?;
    // L1CD: V [0], L2Ptr [51:12].
    expect_eq(
        "L1 CD descriptor",
        crate::hw::cd::l1_descriptor(Some(0x1234_5000))?,
        0x1234_5001,
    )?;
    expect(
        "misaligned L1 CD",
        crate::hw::cd::l1_descriptor(Some(0x1234_5800)) == Err(Error::BadAddress),
    )
}

/// CD table layouts: the C driver's rule (`arm_smmu_alloc_cd_tables`): linear up to 2^10
/// SubstreamIDs or without `IDR0.CD2L`, else two levels of 1024-CD (64KB) tables; the width the
/// narrower of the SMMU's and the device's.
pub(crate) fn cd_layouts() -> Check {
    // (SSIDSIZE, CD2L, device bits) -> (format, S1CDMax, level-1 entries, level-2 entries).
    let cases: [(u32, bool, u32, S1Fmt, u8, usize, usize); 8] = [
        (0, true, 20, S1Fmt::Linear, 0, 1, 0),
        (20, true, 0, S1Fmt::Linear, 0, 1, 0),
        (20, true, 8, S1Fmt::Linear, 8, 256, 0),
        (10, true, 20, S1Fmt::Linear, 10, 1024, 0),
        (11, true, 20, S1Fmt::TwoLevel64K, 11, 2, 1024),
        (20, true, 20, S1Fmt::TwoLevel64K, 20, 1024, 1024),
        (16, false, 20, S1Fmt::Linear, 16, 65536, 0),
        (20, true, 16, S1Fmt::TwoLevel64K, 16, 64, 1024),
    ];
    for (i, (smmu, cd2l, dev, fmt, cd_max, l1, l2)) in cases.into_iter().enumerate() {
        let l = CdLayout::new(smmu, cd2l, dev)?;
        let got = (l.fmt(), l.cd_max(), l.l1_entries(), l.l2_entries());
        if got != (fmt, cd_max, l1, l2) {
            return Err(super::Failure {
                check: "CD table layout (format, S1CDMax, L1, L2 entries)",
                index: Some(i),
                got: l.fmt().raw() << 48 | u64::from(l.cd_max()) << 32 | l.l1_entries() as u64,
                want: fmt.raw() << 48 | u64::from(cd_max) << 32 | l1 as u64,
            });
        }
    }
    expect(
        "SSIDSIZE above 20",
        CdLayout::new(21, true, 20) == Err(Error::Invalid),
    )?;
    expect(
        "device bits above 20",
        CdLayout::new(20, true, 21) == Err(Error::Invalid),
    )?;
    // Slots: linear index, or (SSID >> 10, SSID & 1023); nothing at or beyond 2^S1CDMax.
    let lin = CdLayout::new(8, true, 20)?;
    expect(
        "linear slot",
        lin.locate(Ssid::new(255)?) == Ok(CdSlot::Linear(255)),
    )?;
    expect(
        "beyond linear",
        lin.locate(Ssid::new(256)?) == Err(Error::Overflow),
    )?;
    let two = CdLayout::new(20, true, 16)?;
    expect(
        "two-level slot",
        two.locate(Ssid::new(0x1_2345 & 0xffff)?) == Ok(CdSlot::TwoLevel { l1: 0x8, l2: 0x345 }),
    )?;
    expect(
        "last two-level slot",
        two.locate(Ssid::new(0xffff)?) == Ok(CdSlot::TwoLevel { l1: 63, l2: 1023 }),
    )?;
    expect(
        "beyond two-level",
        two.locate(Ssid::new(0x1_0000)?) == Err(Error::Overflow),
    )?;
    let one = CdLayout::new(0, false, 0)?;
    expect(
        "CD 0 without SubstreamIDs",
        one.locate(Ssid::ZERO) == Ok(CdSlot::Linear(0)),
    )?;
    expect(
        "SSID 1 without SubstreamIDs",
        one.locate(Ssid::new(1)?) == Err(Error::Overflow),
    )
}
