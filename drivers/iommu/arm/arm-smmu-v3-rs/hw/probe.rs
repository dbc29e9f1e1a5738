// SPDX-License-Identifier: GPL-2.0

//! What the driver accepts of an SMMU, and what it derives from the ID registers at probe: the
//! reasons to refuse one, the page sizes of its domains, and the layout of its stream table.

use core::fmt;

use crate::hw::idr::{
    Granules,
    Idr,
    StrtabFmt,
    TtEndian,
    Ttf, //
};

/// Why the driver refuses to drive an SMMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `IDR0.TTF`: no AArch64 translation table format.
    NoAArch64,
    /// Neither `IDR0.S1P` nor `IDR0.S2P`.
    NoStage,
    /// `IDR0.TTENDIAN`: big-endian table walks only.
    BigEndianOnly,
    /// `IDR1.CMDQS`: a command queue too small for a command and its `CMD_SYNC`.
    CmdqTooSmall,
    /// `IDR1.TABLES_PRESET`, `QUEUES_PRESET` or `REL`: an embedded implementation, whose tables
    /// or queues sit at fixed or relative addresses the driver does not allocate.
    Embedded,
    /// `IDR5.GRAN4K`, `GRAN16K` and `GRAN64K` are all clear: no page table can be walked.
    NoGranule,
    /// The firmware says the page 1 registers sit in page 0 (Cavium CN99xx).
    Page0RegsOnly,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoAArch64 => "no AArch64 translation table format (IDR0.TTF)",
            Self::NoStage => "no translation stage implemented (IDR0.S1P, S2P)",
            Self::BigEndianOnly => "big-endian table walks only (IDR0.TTENDIAN)",
            Self::CmdqTooSmall => "command queue too small for a command and CMD_SYNC (IDR1.CMDQS)",
            Self::Embedded => {
                "embedded implementation not supported (IDR1.TABLES_PRESET/QUEUES_PRESET/REL)"
            }
            Self::NoGranule => "no translation granule (IDR5.GRAN4K/16K/64K)",
            Self::Page0RegsOnly => "page 1 registers in page 0 are not supported",
        })
    }
}

/// Checks that the driver can drive an SMMU with the ID registers `idr`.
///
/// An SMMU whose stall model is forced (`IDR0.STALL_MODEL == 0b10`) is driven: every fault of
/// every device stalls there (`CD.S` and `STE.S2S` must be 1), and the driver answers each
/// stalled transaction, reporting it as a page fault where the device's domain handles them and
/// aborting it otherwise.
///
/// # Errors
///
/// Returns the first reason to refuse the SMMU.
pub(crate) const fn check(idr: &Idr) -> Result<(), Refusal> {
    if !matches!(idr.ttf(), Some(Ttf::AArch64 | Ttf::Both)) {
        return Err(Refusal::NoAArch64);
    }
    if !idr.s1() && !idr.s2() {
        return Err(Refusal::NoStage);
    }
    if matches!(idr.tt_endian(), Some(TtEndian::Big)) {
        return Err(Refusal::BigEndianOnly);
    }
    if idr.cmdq_log2size() < 1 {
        return Err(Refusal::CmdqTooSmall);
    }
    if idr.embedded() {
        return Err(Refusal::Embedded);
    }
    let g = idr.granules();
    if !g.size_4k && !g.size_16k && !g.size_64k {
        return Err(Refusal::NoGranule);
    }
    Ok(())
}

/// 4 KiB.
const SZ_4K: u64 = 1 << 12;
/// 16 KiB.
const SZ_16K: u64 = 1 << 14;
/// 64 KiB.
const SZ_64K: u64 = 1 << 16;

/// The page and block sizes of the domains of an SMMU with `granules` and an output size of
/// `oas_bits`, on a kernel whose pages are `page_size` bytes; 0 if there is no granule.
///
/// The kernel's LPAE io-pgtable walks one granule per table: the CPU page size if the SMMU has
/// it, else the largest smaller one, else the smallest larger one, with that granule's block
/// sizes (and 4 TiB blocks for 64 KiB pages when the output is wider than 48 bits). This is
/// the bitmap io-pgtable keeps of the SMMU's full one, computed the same way, so that the table
/// and the IOMMU core agree on the sizes.
pub(crate) const fn pgsize_bitmap(granules: Granules, oas_bits: u32, page_size: u64) -> u64 {
    let offered = granules.page_sizes();
    let grains = offered & (SZ_4K | SZ_16K | SZ_64K);
    let smaller = grains & (page_size - 1);
    let larger = grains & !(page_size - 1);
    let granule = if grains & page_size != 0 {
        page_size
    } else if smaller != 0 {
        1 << (63 - smaller.leading_zeros())
    } else if larger != 0 {
        1 << larger.trailing_zeros()
    } else {
        return 0;
    };
    let mut sizes = match granule {
        SZ_4K => Granules {
            size_4k: true,
            size_16k: false,
            size_64k: false,
        },
        SZ_16K => Granules {
            size_4k: false,
            size_16k: true,
            size_64k: false,
        },
        _ => Granules {
            size_4k: false,
            size_16k: false,
            size_64k: true,
        },
    }
    .page_sizes();
    if granule == SZ_64K && oas_bits > 48 {
        sizes |= 1 << 42;
    }
    sizes
}

/// StreamID bits resolved by the level-2 tables of a two-level stream table.
pub(crate) const STRTAB_SPLIT: u32 = 8;

/// The most level-1 descriptors of a two-level stream table, as in the C driver: 1 MiB of
/// descriptors, covering 25 StreamID bits.
pub(crate) const STRTAB_MAX_L1_ENTRIES: usize = 1 << 17;

/// StreamID bits a two-level stream table covers at most.
const STRTAB_MAX_2LVL_BITS: u32 = STRTAB_MAX_L1_ENTRIES.trailing_zeros() + STRTAB_SPLIT;

/// The most StreamID bits an SMMU has (`IDR1.SIDSIZE` is at most 32).
const SID_MAX_BITS: u32 = 32;

/// The layout of a stream table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StrtabLayout {
    /// Linear or two-level.
    fmt: StrtabFmt,
    /// The StreamID bits the table covers, `STRTAB_BASE_CFG.LOG2SIZE`.
    bits: u32,
}

impl StrtabLayout {
    /// The stream table for an SMMU with `idr`; linear where two levels are optional and
    /// `force_linear` is set.
    ///
    /// Two levels are used where the SMMU has them and StreamIDs are wider than one level-2
    /// table ([`STRTAB_SPLIT`] bits). A two-level table is capped at [`STRTAB_MAX_L1_ENTRIES`]
    /// level-1 descriptors, as the C driver does: the StreamIDs above are not translated.
    pub(crate) const fn new(idr: &Idr, force_linear: bool) -> Self {
        let sid_bits = if idr.sid_bits() > SID_MAX_BITS {
            SID_MAX_BITS
        } else {
            idr.sid_bits()
        };
        if matches!(idr.st_level(), Some(StrtabFmt::TwoLevel))
            && sid_bits > STRTAB_SPLIT
            && !force_linear
        {
            Self {
                fmt: StrtabFmt::TwoLevel,
                bits: if sid_bits > STRTAB_MAX_2LVL_BITS {
                    STRTAB_MAX_2LVL_BITS
                } else {
                    sid_bits
                },
            }
        } else {
            Self {
                fmt: StrtabFmt::Linear,
                bits: sid_bits,
            }
        }
    }

    /// The format.
    pub(crate) const fn fmt(&self) -> StrtabFmt {
        self.fmt
    }

    /// The StreamID bits the table covers: `SMMU_STRTAB_BASE_CFG.LOG2SIZE`.
    pub(crate) const fn sid_bits(&self) -> u32 {
        self.bits
    }

    /// The number of entries of the table `SMMU_STRTAB_BASE` points at: STEs of a linear
    /// table, level-1 descriptors of a two-level one.
    pub(crate) const fn entries(&self) -> usize {
        match self.fmt {
            StrtabFmt::Linear => 1 << self.bits,
            StrtabFmt::TwoLevel => 1 << (self.bits - STRTAB_SPLIT),
        }
    }

    /// Whether the table has an STE for `sid`.
    pub(crate) const fn covers(&self, sid: u32) -> bool {
        self.bits >= SID_MAX_BITS || sid >> self.bits == 0
    }

    /// The level-1 index of `sid` in a two-level table.
    pub(crate) const fn l1_index(sid: u32) -> usize {
        // CAST: A `u32` shifted right fits in `usize` on every supported architecture.
        (sid >> STRTAB_SPLIT) as usize
    }

    /// The index of `sid` in its level-2 table.
    pub(crate) const fn l2_index(sid: u32) -> usize {
        // CAST: As above; the value is below 2^STRTAB_SPLIT.
        (sid & ((1 << STRTAB_SPLIT) - 1)) as usize
    }

    /// `L1STD.Span` of a level-2 table: `2^(Span - 1)` STEs.
    pub(crate) const fn l2_span() -> u8 {
        // CAST: The split is a small constant.
        STRTAB_SPLIT as u8 + 1
    }

    /// The `CMD_CFGI_STE_RANGE` operands that invalidate the whole level-2 table of `sid`: its
    /// first StreamID and `Range`, for `2^(Range + 1)` StreamIDs.
    pub(crate) const fn l2_invalidation(sid: u32) -> (u32, u8) {
        // CAST: The split is a small constant.
        (sid & !((1 << STRTAB_SPLIT) - 1), STRTAB_SPLIT as u8 - 1)
    }
}
