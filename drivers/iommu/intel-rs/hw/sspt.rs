// SPDX-License-Identifier: GPL-2.0

//! Second-stage page-table entries and the range a second-stage table translates.
//!
//! A second-stage table has three to five levels (`Agaw::levels()`) of the tables both stages
//! share ([`super::pt`]); level 1 maps 4KB pages, level 2 2MB pages and level 3 1GB pages
//! (with `PS`). An entry is present when it grants read or write (`R`, `W`); there is no
//! present bit. A non-leaf entry grants both, as the C driver writes them, so that the leaf
//! alone decides.

use crate::hw::{
    pt::{
        level_shift,
        page_size,
        Entry,
        ADDR,
        PS, //
    },
    regs::Cap,
    Error, //
};

/// `R`: read access.
const R: u64 = 1 << 0;
/// `W`: write access.
const W: u64 = 1 << 1;
/// `SNP`: snoop behaviour of the access (ignored unless the unit has snoop control).
const SNP: u64 = 1 << 11;

/// The page sizes a unit of `cap` maps in second-stage tables, as a bitmap of sizes (the IOMMU
/// core's `pgsize_bitmap`): 4KB, and 2MB and 1GB where `CAP.SLLPS` has them.
pub(crate) const fn page_sizes(cap: Cap) -> u64 {
    let mut sizes = page_size(1);
    if cap.ss_2m() {
        sizes |= page_size(2);
    }
    if cap.ss_1g() {
        sizes |= page_size(3);
    }
    sizes
}

/// A non-leaf entry pointing to the table at `table`.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `table` is not 4KB aligned or wider than 52 bits.
pub(crate) const fn table_entry(table: u64) -> Result<u64, Error> {
    if table & !ADDR != 0 {
        return Err(Error::BadAddress);
    }
    Ok(table | R | W)
}

/// A leaf entry of level `level` mapping the page at `addr`.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `addr` is not aligned to the level's page size or wider
/// than 52 bits, [`Error::Invalid`] if the level has no pages (above 3) or if the entry would
/// grant nothing (it would not be present).
pub(crate) const fn page_entry(
    level: u32,
    addr: u64,
    read: bool,
    write: bool,
    snoop: bool,
) -> Result<u64, Error> {
    if level == 0 || level > 3 || !(read || write) {
        return Err(Error::Invalid);
    }
    if addr & !ADDR != 0 || addr & ((1 << level_shift(level)) - 1) != 0 {
        return Err(Error::BadAddress);
    }
    let mut e = addr;
    if read {
        e |= R;
    }
    if write {
        e |= W;
    }
    if level > 1 {
        e |= PS;
    }
    if snoop {
        e |= SNP;
    }
    Ok(e)
}

/// Decodes the entry `e` of a table of level `level`.
pub(crate) const fn decode(e: u64, level: u32) -> Entry {
    if e & (R | W) == 0 {
        return Entry::None;
    }
    if level == 1 || e & PS != 0 {
        // The address of a large page is aligned to its size; the low address bits are
        // ignored (or reserved) there.
        let align = (1u64 << level_shift(level)) - 1;
        Entry::Page {
            addr: e & ADDR & !align,
            read: e & R != 0,
            write: e & W != 0,
        }
    } else {
        Entry::Table(e & ADDR)
    }
}
