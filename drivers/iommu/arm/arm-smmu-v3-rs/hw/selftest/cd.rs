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
        CdCfg, //
    },
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
