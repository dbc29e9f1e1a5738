// SPDX-License-Identifier: GPL-2.0

//! Second-stage page-table entries and the indexing of a second-stage table.
//!
//! A second-stage table has 512 entries of 64 bits per level, 4KB each, and three to five
//! levels ([`Agaw::levels`]); level 1 maps 4KB pages, level 2 2MB pages and level 3 1GB pages
//! (with `PS`). An entry is present when it grants read or write (`R`, `W`); there is no
//! present bit. A non-leaf entry grants both, as the C driver writes them, so that the leaf
//! alone decides.

use crate::hw::{
    regs::{
        Agaw,
        Cap, //
    },
    Error, //
};

/// The number of entries of a table (one 4KB page).
pub(crate) const ENTRIES: usize = 512;

/// `R`: read access.
const R: u64 = 1 << 0;
/// `W`: write access.
const W: u64 = 1 << 1;
/// `PS`: the entry maps a page (levels 2 and 3) rather than pointing to a table.
const PS: u64 = 1 << 7;
/// `SNP`: snoop behaviour of the access (ignored unless the unit has snoop control).
const SNP: u64 = 1 << 11;
/// The address field, bits 51:12.
const ADDR: u64 = ((1 << 52) - 1) & !0xfff;

/// The bit position of the lowest IOVA bit that indexes level `level` (1 is the leaf level).
pub(crate) const fn level_shift(level: u32) -> u32 {
    12 + 9 * (level - 1)
}

/// The index into the table of level `level` for `iova`.
pub(crate) const fn index(iova: u64, level: u32) -> usize {
    // CAST: The mask leaves 9 bits.
    ((iova >> level_shift(level)) & (ENTRIES as u64 - 1)) as usize
}

/// The size of a page of level `level` (4KB at 1, 2MB at 2, 1GB at 3).
pub(crate) const fn page_size(level: u32) -> u64 {
    1 << level_shift(level)
}

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

/// The level whose pages are `size` bytes; `None` for sizes no level maps.
pub(crate) const fn level_of(size: u64) -> Option<u32> {
    match size {
        0x1000 => Some(1),
        0x20_0000 => Some(2),
        0x4000_0000 => Some(3),
        _ => None,
    }
}

/// Whether `iova` is inside what a table of `agaw` translates (below `2^width`).
pub(crate) const fn in_range(iova: u64, agaw: Agaw) -> bool {
    iova >> agaw.width() == 0
}

/// A decoded entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Neither read nor write: not present.
    None,
    /// A table of the next level down, at this physical address.
    Table(u64),
    /// A leaf: a page (4KB at level 1, 2MB at level 2, 1GB at level 3) at `addr`.
    Page {
        /// The page's physical address.
        addr: u64,
        /// Read access.
        read: bool,
        /// Write access.
        write: bool,
    },
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
