// SPDX-License-Identifier: GPL-2.0

//! STE encodings ([`crate::hw::ste`]) against the specification's field tables.

use super::{
    c_suite::{
        abort_ste,
        attrs,
        bypass_ste,
        cd_table,
        cdtable_ste,
        nested_ste,
        s2_ste,
        s2_table,
        ATS,
        CDTAB_A,
        PLAIN,
        S2TTB_A,
        STALL, //
    },
    expect,
    expect_eq,
    expect_words,
    Check, //
};
use crate::hw::{
    ste::{
        Eats,
        S1Dss,
        Shcfg,
        Ste,
        StreamAttrs, //
    },
    Error, //
};

/// STE encodings.
pub(crate) fn ste_encodings() -> Check {
    // V [0] = 1, Config [3:1] = 0b000 (abort).
    expect_words(
        "abort STE",
        abort_ste().words(),
        &[0x1, 0, 0, 0, 0, 0, 0, 0],
    )?;
    // Config = 0b100 (bypass); SHCFG [109:108] = qword 1 [45:44] = 0b01 (incoming).
    expect_words(
        "bypass STE",
        bypass_ste().words(),
        &[0x9, 1 << 44, 0, 0, 0, 0, 0, 0],
    )?;

    // Qword 0: V, Config = 0b101, S1Fmt [5:4] = 2, S1ContextPtr [51:6], S1CDMax [63:59] = 31.
    // Qword 1: S1DSS [1:0] = 2 (SSID0), S1CIR [3:2] = S1COR [5:4] = 1 (WBRA), S1CSH [7:6] = 3,
    // S1STALLD [27] = 1, EATS [29:28] = 1, STRW [31:30] = 0.
    let ste = cdtable_ste(S1Dss::Ssid0, CDTAB_A, ATS)?;
    expect_words(
        "CD-table STE",
        ste.words(),
        &[
            0x1 | 5 << 1 | 2 << 4 | CDTAB_A | 31 << 59,
            2 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 27 | 1 << 28,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    )?;
    // With S1DSS = bypass, SHCFG is read and set to incoming.
    let ste = cdtable_ste(S1Dss::Bypass, CDTAB_A, STALL)?;
    expect_eq(
        "CD-table STE, S1DSS bypass, stall",
        ste.words()[1],
        1 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 44,
    )?;

    // Qword 2: S2VMID [15:0], VTCR [50:32] = S2T0SZ [5:0] = 4, S2SL0 [7:6] = 3, S2IR0 [9:8] = 2,
    // S2OR0 [11:10] = 1, S2SH0 [13:12] = 3, S2TG [15:14] = 2, S2PS [18:16] = 1; S2AA64 [51],
    // S2PTW [54], S2S [57], S2R [58]. Qword 3: S2TTB [51:4].
    let vtcr: u64 = 4 | 3 << 6 | 2 << 8 | 1 << 10 | 3 << 12 | 2 << 14 | 1 << 16;
    let ste = s2_ste(0x1234, S2TTB_A, STALL)?;
    expect_words(
        "S2 STE",
        ste.words(),
        &[
            0x1 | 6 << 1,
            1 << 44,
            0x1234 | vtcr << 32 | 1 << 51 | 1 << 54 | 1 << 57 | 1 << 58,
            S2TTB_A,
            0,
            0,
            0,
            0,
        ],
    )?;

    // Nested: Config = 0b111, MEV [19] of qword 1.
    let ste = nested_ste(S1Dss::Bypass, CDTAB_A, 7, ATS)?;
    expect_words(
        "nested STE",
        &ste.words()[..4],
        &[
            0x1 | 7 << 1 | 2 << 4 | CDTAB_A | 31 << 59,
            1 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 19 | 1 << 27 | 1 << 28 | 1 << 44,
            7 | vtcr << 32 | 1 << 51 | 1 << 54 | 1 << 58,
            S2TTB_A,
        ],
    )?;

    // Decoders.
    expect(
        "config decodes",
        ste.config() == Some(crate::hw::ste::Config::Nested),
    )?;
    expect_eq("VMID decodes", u64::from(ste.vmid()), 7)?;
    expect_eq("CD table pointer decodes", ste.cd_table_ptr(), CDTAB_A)?;
    expect_eq("S2TTB decodes", ste.s2_ttb(), S2TTB_A)?;
    expect("S1DSS decodes", ste.s1dss() == Some(S1Dss::Bypass))?;
    expect("EATS decodes", ste.eats() == Some(Eats::Trans))?;
    expect("valid", ste.is_valid() && !Ste::INVALID.is_valid())?;

    // Builders refuse what does not fit or is illegal.
    expect(
        "misaligned CD table",
        cdtable_ste(S1Dss::Ssid0, CDTAB_A + 8, PLAIN) == Err(Error::BadAddress),
    )?;
    expect(
        "EATS with S2S",
        Ste::s2(&s2_table(1, S2TTB_A, STALL), &attrs(ATS, false)) == Err(Error::Invalid),
    )?;
    expect(
        "S1Chk without nesting",
        Ste::cd_table(
            &cd_table(S1Dss::Ssid0, CDTAB_A, PLAIN),
            &StreamAttrs {
                eats: Eats::S1Chk,
                mev: false,
                shcfg: Shcfg::Incoming,
            },
        ) == Err(Error::Invalid),
    )?;
    let mut t = cd_table(S1Dss::Ssid0, CDTAB_A, PLAIN);
    t.cd_max = 32;
    expect(
        "S1CDMax overflow",
        Ste::cd_table(&t, &attrs(PLAIN, false)) == Err(Error::Overflow),
    )?;

    // L1STD: Span [4:0], L2Ptr [51:6].
    expect_eq(
        "L1 stream table descriptor",
        crate::hw::ste::l1_descriptor(0x8_0000_0040, 9)?,
        0x8_0000_0040 | 9,
    )?;
    expect(
        "L1 span too large",
        crate::hw::ste::l1_descriptor(0x1000, 13) == Err(Error::Invalid),
    )
}
