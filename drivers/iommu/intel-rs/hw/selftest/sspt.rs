// SPDX-License-Identifier: GPL-2.0

//! Second-stage page-table entries ([`crate::hw::sspt`]) against the specification's layouts.

use super::{
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    ids::DomainId,
    pt::{
        self,
        Entry, //
    },
    qi::{
        self,
        IotlbScope, //
    },
    regs::Cap,
    sspt,
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

/// Indexing ([`crate::hw::pt`], shared with first-stage tables): level 1 by IOVA[20:12],
/// level 2 by [29:21], level 3 by [38:30], level 4 by [47:39].
pub(crate) fn indexing() -> Check {
    let iova = 0xabcd_e123_4567;
    expect_eq("SS shift 1", u64::from(pt::level_shift(1)), 12)?;
    expect_eq("SS shift 4", u64::from(pt::level_shift(4)), 39)?;
    // CAST: Widening `usize` to `u64` is lossless on every target the driver runs on.
    expect_eq(
        "SS index 1",
        pt::index(iova, 1) as u64,
        (iova >> 12) & 0x1ff,
    )?;
    expect_eq(
        "SS index 2",
        pt::index(iova, 2) as u64,
        (iova >> 21) & 0x1ff,
    )?;
    expect_eq(
        "SS index 3",
        pt::index(iova, 3) as u64,
        (iova >> 30) & 0x1ff,
    )?;
    expect_eq(
        "SS index 4",
        pt::index(iova, 4) as u64,
        (iova >> 39) & 0x1ff,
    )?;
    Ok(())
}

/// Large pages: the sizes a unit maps from `CAP.SLLPS` [37:34] (bit 34 2MB, bit 35 1GB), the
/// level of each size, and the page-selective IOTLB invalidation of one large page: its base
/// with `AM` 9 (2MB) or 18 (1GB), with `CAP.PSI` [39] and `CAP.MAMV` [53:48] 18; a unit whose
/// `MAMV` is below the order gets a domain-selective one.
pub(crate) fn large_pages() -> Check {
    let sllps = |v: u64| Cap(v << 34);
    expect_eq("SS sizes none", sspt::page_sizes(sllps(0)), 0x1000)?;
    expect_eq("SS sizes 2M", sspt::page_sizes(sllps(1)), 0x20_1000)?;
    expect_eq("SS sizes 2M 1G", sspt::page_sizes(sllps(3)), 0x4020_1000)?;
    expect_eq("SS sizes 1G only", sspt::page_sizes(sllps(2)), 0x4000_1000)?;
    // QEMU's q35 VT-d: SLLPS 3.
    expect_eq(
        "SS sizes QEMU",
        sspt::page_sizes(Cap(0x00d2_008c_222f_0606)),
        0x4020_1000,
    )?;
    for (size, level) in [(0x1000u64, 1u32), (0x20_0000, 2), (0x4000_0000, 3)] {
        expect("SS level of size", pt::level_of(size) == Some(level))?;
        expect_eq("SS page size", pt::page_size(level), size)?;
    }
    expect("SS level of 8K", pt::level_of(0x2000).is_none())?;
    expect("SS level of 512G", pt::level_of(1 << 39).is_none())?;
    let did = DomainId::new(5);
    let psi = Cap(1 << 39 | 18 << 48);
    for (base, size, am) in [
        (0x2_0000_0000u64, 0x20_0000u64, 9u8),
        (0x4_0000_0000, 0x4000_0000, 18),
        (0x2_0020_0000, 0x20_0000, 9),
    ] {
        expect(
            "SS large page PSI",
            qi::iotlb_scope(psi, did, base, base + size - 1, false)
                == IotlbScope::Pages {
                    did,
                    addr: base,
                    am,
                    ih: false,
                },
        )?;
    }
    let low_mamv = Cap(1 << 39 | 8 << 48);
    expect(
        "SS 2M page, MAMV 8",
        qi::iotlb_scope(low_mamv, did, 0x2_0000_0000, 0x2_001f_ffff, false)
            == IotlbScope::Domain(did),
    )?;
    Ok(())
}
