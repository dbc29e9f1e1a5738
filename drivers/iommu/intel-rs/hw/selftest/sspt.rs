// SPDX-License-Identifier: GPL-2.0

//! Second-stage page-table entries ([`crate::hw::sspt`]) against the specification's layouts.

use super::{
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    regs::Agaw,
    sspt::{
        self,
        Entry, //
    },
    Error, //
};

/// Entries: R [0], W [1], PS [7], SNP [11], ADDR [51:12]; non-leaf entries grant both.
pub(crate) fn entries() -> Check {
    expect_eq("SS table", sspt::table_entry(0x1_2345_6000)?, 0x1_2345_6003)?;
    expect(
        "SS table misaligned",
        sspt::table_entry(0x1_2345_6800) == Err(Error::BadAddress),
    )?;
    expect(
        "SS table 53 bits",
        sspt::table_entry(1 << 52) == Err(Error::BadAddress),
    )?;
    expect_eq(
        "SS 4K RW",
        sspt::page_entry(1, 0x8000_1000, true, true, false)?,
        0x8000_1003,
    )?;
    expect_eq(
        "SS 4K R snoop",
        sspt::page_entry(1, 0x8000_1000, true, false, true)?,
        0x8000_1801,
    )?;
    expect_eq(
        "SS 2M W",
        sspt::page_entry(2, 0x4020_0000, false, true, false)?,
        0x4020_0082,
    )?;
    expect(
        "SS 2M misaligned",
        sspt::page_entry(2, 0x4020_1000, true, true, false) == Err(Error::BadAddress),
    )?;
    expect(
        "SS no access",
        sspt::page_entry(1, 0x1000, false, false, false) == Err(Error::Invalid),
    )?;
    expect(
        "SS level 4 page",
        sspt::page_entry(4, 0, true, true, false) == Err(Error::Invalid),
    )?;
    expect(
        "SS decode none",
        sspt::decode(0x8000_1000, 1) == Entry::None,
    )?;
    expect(
        "SS decode table",
        sspt::decode(0x1_2345_6003, 2) == Entry::Table(0x1_2345_6000),
    )?;
    expect(
        "SS decode 4K",
        sspt::decode(0x8000_1801, 1)
            == Entry::Page {
                addr: 0x8000_1000,
                read: true,
                write: false,
            },
    )?;
    expect(
        "SS decode 1G",
        sspt::decode(0x4000_0083, 3)
            == Entry::Page {
                addr: 0x4000_0000,
                read: true,
                write: true,
            },
    )?;
    Ok(())
}

/// Indexing: level 1 by IOVA[20:12], level 2 by [29:21], level 3 by [38:30], level 4 by
/// [47:39]; a 4-level table translates 48 bits.
pub(crate) fn indexing() -> Check {
    let iova = 0xabcd_e123_4567;
    expect_eq("SS shift 1", u64::from(sspt::level_shift(1)), 12)?;
    expect_eq("SS shift 4", u64::from(sspt::level_shift(4)), 39)?;
    // CAST: Widening `usize` to `u64` is lossless on every target the driver runs on.
    expect_eq(
        "SS index 1",
        sspt::index(iova, 1) as u64,
        (iova >> 12) & 0x1ff,
    )?;
    expect_eq(
        "SS index 2",
        sspt::index(iova, 2) as u64,
        (iova >> 21) & 0x1ff,
    )?;
    expect_eq(
        "SS index 3",
        sspt::index(iova, 3) as u64,
        (iova >> 30) & 0x1ff,
    )?;
    expect_eq(
        "SS index 4",
        sspt::index(iova, 4) as u64,
        (iova >> 39) & 0x1ff,
    )?;
    expect("SS 48-bit in", sspt::in_range((1 << 48) - 1, Agaw::Bits48))?;
    expect("SS 48-bit out", !sspt::in_range(1 << 48, Agaw::Bits48))?;
    expect("SS 39-bit out", !sspt::in_range(1 << 39, Agaw::Bits39))?;
    Ok(())
}
