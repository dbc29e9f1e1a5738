// SPDX-License-Identifier: GPL-2.0

//! First-stage page-table entries and the range a first-stage table translates.
//!
//! A first-stage table is an x86-64 page table, as the CPU walks: four levels (or five, with
//! `CAP.FS5LP`) of the tables both stages share ([`super::pt`]). An entry is present when `P`
//! is set; a present leaf is always readable, `R/W` makes it writable. As the C driver (its
//! generic page table `x86_64` format) writes them: a non-leaf entry has `P`, `R/W`, `U/S` and
//! `A`, so that the leaf alone decides; a leaf has `P`, `U/S` (the device's requests are user
//! requests, `SRE` being off in the PASID entry) and `A`, and, when writable, `R/W` and `D`
//! (`A` and `D` set ahead, so that the unit need not write them back). `XD` is never set.
//!
//! Input addresses are canonical: bits above the table's width copy its top bit. As C, a
//! domain uses the lower half only, below `2^47` with four levels ([`input_bits`]).

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

/// `P`: present.
const P: u64 = 1 << 0;
/// `R/W`: writable.
const RW: u64 = 1 << 1;
/// `U/S`: user accessible.
const US: u64 = 1 << 2;
/// `A`: accessed.
const A: u64 = 1 << 5;
/// `D`: dirty (leaves only).
const D: u64 = 1 << 6;

/// The number of levels of a first-stage table on a unit of `cap`: five when the unit walks
/// 5-level tables (`CAP.FS5LP`) and its `MGAW` is above 48 bits, else four, as the C driver's
/// `compute_vasz_lg2_fs()`.
pub(crate) const fn levels(cap: Cap) -> u32 {
    if cap.mgaw() > 48 && cap.fs_5level() {
        5
    } else {
        4
    }
}

/// The width of the addresses a domain of `levels` levels maps on a unit of `cap`: the lower
/// canonical half of the smaller of the table's width and `MGAW` (47 bits with four levels
/// and `MGAW` 48).
pub(crate) const fn input_bits(cap: Cap, levels: u32) -> u32 {
    let table = level_shift(levels) + 9;
    let mgaw = cap.mgaw();
    (if mgaw < table { mgaw } else { table }) - 1
}

/// The page sizes a unit of `cap` maps in first-stage tables, as a bitmap of sizes (the IOMMU
/// core's `pgsize_bitmap`): 4KB and 2MB, and 1GB where `CAP.FS1GP` has them.
pub(crate) const fn page_sizes(cap: Cap) -> u64 {
    let mut sizes = page_size(1) | page_size(2);
    if cap.fs_1g() {
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
    Ok(table | P | RW | US | A)
}

/// A leaf entry of level `level` mapping the page at `addr`; `write` makes it writable. A
/// present leaf is readable whatever `read` says (first-stage entries cannot deny reads).
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `addr` is not aligned to the level's page size or wider
/// than 52 bits, [`Error::Invalid`] if the level has no pages (above 3) or if neither read nor
/// write is asked for.
pub(crate) const fn page_entry(
    level: u32,
    addr: u64,
    read: bool,
    write: bool,
) -> Result<u64, Error> {
    if level == 0 || level > 3 || !(read || write) {
        return Err(Error::Invalid);
    }
    if addr & !ADDR != 0 || addr & ((1 << level_shift(level)) - 1) != 0 {
        return Err(Error::BadAddress);
    }
    let mut e = addr | P | US | A;
    if write {
        e |= RW | D;
    }
    if level > 1 {
        e |= PS;
    }
    Ok(e)
}

/// Decodes the entry `e` of a table of level `level`.
pub(crate) const fn decode(e: u64, level: u32) -> Entry {
    if e & P == 0 {
        return Entry::None;
    }
    if level == 1 || (level <= 3 && e & PS != 0) {
        let align = (1u64 << level_shift(level)) - 1;
        Entry::Page {
            addr: e & ADDR & !align,
            read: true,
            write: e & RW != 0,
        }
    } else {
        Entry::Table(e & ADDR)
    }
}
