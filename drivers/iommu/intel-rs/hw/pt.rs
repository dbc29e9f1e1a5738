// SPDX-License-Identifier: GPL-2.0

//! What second-stage and first-stage page tables share, and which entry format a table holds.
//!
//! Both stages walk tables of 512 64-bit entries (one 4KB page), each level indexed by the
//! next 9 bits of the input address above the 12-bit page offset; level 1 maps 4KB pages,
//! level 2 2MB pages and level 3 1GB pages (with `PS`, in both formats). Only the entries
//! differ: [`super::sspt`] (second stage, VT-d's own format) and [`super::fspt`] (first stage,
//! the x86-64 paging format of the CPU). [`Format`] chooses between them, so that one table
//! walker serves both stages; [`Format::for_request`] chooses the stage of a paging domain, as
//! the C driver does.

use crate::hw::{
    fspt,
    regs::Ecap,
    sspt,
    Error, //
};

/// The number of entries of a table (one 4KB page).
pub(crate) const ENTRIES: usize = 512;

/// `PS`, in both formats: the entry maps a page (levels 2 and 3) rather than pointing to a
/// table.
pub(crate) const PS: u64 = 1 << 7;
/// The address field of an entry of either format, bits 51:12.
pub(crate) const ADDR: u64 = ((1 << 52) - 1) & !0xfff;

/// The bit position of the lowest input address bit that indexes level `level` (1 is the
/// leaf level).
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

/// The level whose pages are `size` bytes; `None` for sizes no level maps.
pub(crate) const fn level_of(size: u64) -> Option<u32> {
    match size {
        0x1000 => Some(1),
        0x20_0000 => Some(2),
        0x4000_0000 => Some(3),
        _ => None,
    }
}

/// A decoded entry, of either format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Not present.
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

/// The entry format of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Second stage ([`super::sspt`]).
    Second,
    /// First stage ([`super::fspt`]).
    First,
}

/// What a paging domain is asked to be (`IOMMU_HWPT_ALLOC_*` flags), as far as its stage
/// depends on it. `PASID` does not: a domain PASIDs may share is any domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// `NEST_PARENT`: the second stage of nested domains.
    pub(crate) nest_parent: bool,
    /// `DIRTY_TRACKING`.
    pub(crate) dirty_tracking: bool,
}

impl Request {
    /// Whether a leaf mapping `write` access is made writable: always in a nest parent, as C's
    /// `PT_FEAT_VTDSS_FORCE_WRITEABLE` makes it (erratum 772415, SPR17: read-only
    /// second-stage leaves are not to be used under nested translation).
    pub(crate) const fn leaf_write(self, write: bool) -> bool {
        write || self.nest_parent
    }

    /// Whether a unit with `ecap` can take a domain made for this request, beyond walking its
    /// table: nesting (`NEST`) for a nest parent, dirty tracking (`SSADS`, with snooped page
    /// walks, `SMPWC`) for a dirty-tracking domain, as C's
    /// `paging_domain_compatible_second_stage()` requires.
    pub(crate) const fn unit_takes(self, ecap: Ecap) -> bool {
        (!self.nest_parent || ecap.nest())
            && (!self.dirty_tracking || (ecap.ssads() && ecap.smpwc()))
    }
}

impl Format {
    /// The stage of a paging domain made for `req` on a unit with `ecap` in scalable mode, as
    /// C's `intel_iommu_domain_alloc_paging_flags()` chooses it: first stage where the unit
    /// has it (`FSTS`) and `req` asks for neither a nest parent nor dirty tracking, which only
    /// second-stage domains are; else second stage where the unit has it (`SSTS`) and can
    /// take `req` ([`Request::unit_takes`]). `None` where C fails with `EOPNOTSUPP`.
    pub(crate) const fn for_request(ecap: Ecap, req: Request) -> Option<Self> {
        if ecap.fsts() && !req.nest_parent && !req.dirty_tracking {
            Some(Self::First)
        } else if ecap.ssts() && req.unit_takes(ecap) {
            Some(Self::Second)
        } else {
            None
        }
    }

    /// A non-leaf entry pointing to the table at `table`.
    ///
    /// # Errors
    ///
    /// As [`sspt::table_entry`] and [`fspt::table_entry`].
    pub(crate) const fn table_entry(self, table: u64) -> Result<u64, Error> {
        match self {
            Self::Second => sspt::table_entry(table),
            Self::First => fspt::table_entry(table),
        }
    }

    /// A leaf entry of level `level` mapping the page at `addr`, readable and/or writable.
    ///
    /// # Errors
    ///
    /// As [`sspt::page_entry`] and [`fspt::page_entry`].
    pub(crate) const fn page_entry(
        self,
        level: u32,
        addr: u64,
        read: bool,
        write: bool,
    ) -> Result<u64, Error> {
        match self {
            Self::Second => sspt::page_entry(level, addr, read, write, false),
            Self::First => fspt::page_entry(level, addr, read, write),
        }
    }

    /// Decodes the entry `e` of a table of level `level`.
    pub(crate) const fn decode(self, e: u64, level: u32) -> Entry {
        match self {
            Self::Second => sspt::decode(e, level),
            Self::First => fspt::decode(e, level),
        }
    }
}
