// SPDX-License-Identifier: GPL-2.0

//! First-stage page-table entries ([`crate::hw::fspt`]) against the x86-64 paging layout, and
//! the PASID-based IOTLB invalidation of a first-stage domain.

use super::{
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    fspt,
    pt::{
        Entry,
        Format, //
    },
    qi,
    regs::Cap,
    sspt,
    Error, //
};

/// Entries: P [0], R/W [1], U/S [2], A [5], D [6], PS [7], ADDR [51:12], XD [63] never set.
/// A table entry has P, R/W, U/S and A; a leaf P, U/S and A, plus R/W and D when writable,
/// plus PS above level 1. A leaf without R/W still reads.
pub(crate) fn entries() -> Check {
    expect_eq("FS table", fspt::table_entry(0x1_2345_6000)?, 0x1_2345_6027)?;
    expect(
        "FS table misaligned",
        fspt::table_entry(0x1_2345_6800) == Err(Error::BadAddress),
    )?;
    expect(
        "FS table too wide",
        fspt::table_entry(1 << 52) == Err(Error::BadAddress),
    )?;
    expect_eq(
        "FS 4K read-write",
        fspt::page_entry(1, 0x8000_1000, true, true)?,
        0x8000_1067,
    )?;
    expect_eq(
        "FS 4K read-only",
        fspt::page_entry(1, 0x8000_1000, true, false)?,
        0x8000_1025,
    )?;
    expect_eq(
        "FS 2M write-only",
        fspt::page_entry(2, 0x4020_0000, false, true)?,
        0x4020_00e7,
    )?;
    expect_eq(
        "FS 1G read-only",
        fspt::page_entry(3, 0x4000_0000, true, false)?,
        0x4000_00a5,
    )?;
    expect(
        "FS 2M misaligned",
        fspt::page_entry(2, 0x4020_1000, true, true) == Err(Error::BadAddress),
    )?;
    expect(
        "FS no access",
        fspt::page_entry(1, 0x1000, false, false) == Err(Error::Invalid),
    )?;
    expect(
        "FS level 4 page",
        fspt::page_entry(4, 0, true, true) == Err(Error::Invalid),
    )?;
    // Not present: R/W alone does not make an entry present, as in the second stage.
    expect(
        "FS not present",
        fspt::decode(0x8000_1066, 1) == Entry::None,
    )?;
    expect(
        "FS decode table",
        fspt::decode(0x1_2345_6027, 2) == Entry::Table(0x1_2345_6000),
    )?;
    expect(
        "FS decode 4K ro",
        fspt::decode(0x8000_1025, 1)
            == Entry::Page {
                addr: 0x8000_1000,
                read: true,
                write: false,
            },
    )?;
    expect(
        "FS decode 1G",
        fspt::decode(0x4000_00e7, 3)
            == Entry::Page {
                addr: 0x4000_0000,
                read: true,
                write: true,
            },
    )?;
    // PS is not a page above level 3.
    expect(
        "FS decode PS at 4",
        fspt::decode(0x4000_00a7, 4) == Entry::Table(0x4000_0000),
    )?;
    // The format dispatch gives each stage its own entries.
    expect(
        "Format first",
        Format::First.page_entry(1, 0x1000, true, true)?
            == fspt::page_entry(1, 0x1000, true, true)?,
    )?;
    expect(
        "Format second",
        Format::Second.page_entry(1, 0x1000, true, true)?
            == sspt::page_entry(1, 0x1000, true, true, false)?,
    )?;
    expect(
        "Format decode",
        Format::Second.decode(0x1002, 1) != Format::First.decode(0x1002, 1),
    )?;
    Ok(())
}

/// What a unit's `CAP` gives first-stage tables: four levels unless `FS5LP` [60] and `MGAW`
/// [21:16] above 48; the lower canonical half of the smaller of the table's width and `MGAW`;
/// 4KB and 2MB pages, 1GB with `FS1GP` [56].
pub(crate) fn unit_limits() -> Check {
    let mgaw = |bits: u64| (bits - 1) << 16;
    // QEMU's q35 VT-d with x-flts=on: MGAW 48, FS1GP, no FS5LP.
    let qemu = Cap(0x00d2_008c_222f_0606 | 1 << 56);
    expect_eq("FS levels QEMU", u64::from(fspt::levels(qemu)), 4)?;
    expect_eq("FS bits QEMU", u64::from(fspt::input_bits(qemu, 4)), 47)?;
    expect_eq("FS sizes QEMU", fspt::page_sizes(qemu), 0x4020_1000)?;
    expect_eq("FS sizes no FS1GP", fspt::page_sizes(Cap(0)), 0x20_1000)?;
    let five = Cap(mgaw(57) | 1 << 60);
    expect_eq("FS levels 5", u64::from(fspt::levels(five)), 5)?;
    expect_eq("FS bits 5", u64::from(fspt::input_bits(five, 5)), 56)?;
    expect_eq(
        "FS levels MGAW 48",
        u64::from(fspt::levels(Cap(mgaw(48) | 1 << 60))),
        4,
    )?;
    expect_eq(
        "FS levels no FS5LP",
        u64::from(fspt::levels(Cap(mgaw(57)))),
        4,
    )?;
    expect_eq(
        "FS bits MGAW 39",
        u64::from(fspt::input_bits(Cap(mgaw(39)), 4)),
        38,
    )?;
    Ok(())
}

/// The PASID-based IOTLB invalidation of a first-stage domain's range: page selective, the
/// range C's `calculate_psi_aligned_address()` gives, whatever `CAP.PSI`/`MAMV` say; every
/// entry of the PASID when only the whole address space covers the range.
pub(crate) fn invalidation() -> Check {
    expect(
        "P_IOTLB 4K",
        qi::pasid_iotlb_pages(0x5000, 0x5fff, false) == Some((0x5000, 0, false)),
    )?;
    expect(
        "P_IOTLB 2M",
        qi::pasid_iotlb_pages(0x20_0000, 0x3f_ffff, false) == Some((0x20_0000, 9, false)),
    )?;
    // Two pages across a 2MB boundary: the 4MB block holding both.
    expect(
        "P_IOTLB across",
        qi::pasid_iotlb_pages(0x1f_f000, 0x20_0fff, true) == Some((0, 10, true)),
    )?;
    // Above MAMV (18): still page selective.
    expect(
        "P_IOTLB 1T",
        qi::pasid_iotlb_pages(0, (1 << 40) - 1, false) == Some((0, 28, false)),
    )?;
    expect(
        "P_IOTLB all",
        qi::pasid_iotlb_pages(0, u64::MAX, false).is_none(),
    )?;
    Ok(())
}
