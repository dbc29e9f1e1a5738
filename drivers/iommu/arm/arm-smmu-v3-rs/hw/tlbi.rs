// SPDX-License-Identifier: GPL-2.0

//! Splitting an address range into TLB invalidation commands.
//!
//! Without range invalidation (`IDR3.RIL == 0`), one command is needed per leaf entry: the
//! range is walked in steps of the granule. With range invalidation, one command covers
//! `(NUM + 1) * 2^SCALE` pages of the translation granule starting at its address, so a range of
//! `n` pages needs one command per group of five consecutive set bits of `n`, taken from the
//! lowest set bit upwards. `TTL` tells the SMMU at which level the leaf entries sit, which is
//! only known for leaf invalidations.
//!
//! The commands come from an iterator and are never more than a fixed bound: a range that would
//! need more per-granule commands than one leaf table has entries, or more pages than one range
//! command can cover, is replaced by a single invalidation of the whole context.

use crate::hw::{
    cmd::{
        AddrTlbi,
        Cmd,
        TlbiAddr, //
    },
    Error,
};

/// The largest `NUM + 1` of a range invalidation.
const NUM_MAX: u64 = 32;

/// The largest `SCALE` of a range invalidation.
const SCALE_MAX: u32 = 31;

/// The most pages a range invalidation covers before the whole context is invalidated instead.
///
/// One command covers at most this many pages, so no range needs more than a handful of
/// commands. At 4KB pages it is 256TB, beyond any address space the driver hands out.
const RANGE_PAGES_MAX: u64 = NUM_MAX << SCALE_MAX;

/// An address range to invalidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RangeRequest {
    /// The first address.
    pub(crate) iova: u64,
    /// The size in bytes; 0 invalidates the whole context.
    pub(crate) size: u64,
    /// log2 of the size of the entries being invalidated: for a leaf invalidation, the size of
    /// the leaf entries (a page or a block), otherwise the smallest page size.
    pub(crate) granule_log2: u32,
    /// log2 of the translation granule of the page table: 12, 14 or 16.
    pub(crate) page_log2: u32,
    /// Only leaf entries changed; intermediate table entries are kept.
    pub(crate) leaf: bool,
}

/// The commands of one range invalidation, as an iterator.
#[derive(Clone, Debug)]
pub(crate) struct TlbiRange {
    /// The invalidation and the identifiers it matches.
    kind: AddrTlbi,
    /// Only leaf entries are invalidated.
    leaf: bool,
    /// How the range is walked.
    mode: Mode,
}

/// How a [`TlbiRange`] walks its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One command invalidating the whole context, if not returned yet.
    Whole(bool),
    /// One command per granule.
    PerGranule {
        /// The address of the next command.
        addr: u64,
        /// log2 of the step between commands.
        granule_log2: u32,
        /// The number of commands left.
        left: u64,
    },
    /// Range commands.
    Range {
        /// The address of the next command.
        addr: u64,
        /// The pages left to cover.
        pages: u64,
        /// log2 of the page size.
        page_log2: u32,
        /// The `TG` encoding of the page size.
        tg: u8,
        /// The `TTL` of every command.
        ttl: u8,
    },
}

/// The `NUM` and `SCALE` of the next range command covering `pages`, lowest bits first.
///
/// Returns `(num_blocks, scale)`; the command covers `num_blocks << scale` pages.
const fn next_chunk(pages: u64) -> (u64, u32) {
    let low = pages.trailing_zeros();
    if low <= SCALE_MAX {
        // Up to five set bits starting at the lowest one; bit `low` is set, so at least 1.
        (((pages >> low) & (NUM_MAX - 1)), low)
    } else {
        // `SCALE` saturates: take up to 32 blocks of the largest size.
        let blocks = pages >> SCALE_MAX;
        (if blocks < NUM_MAX { blocks } else { NUM_MAX }, SCALE_MAX)
    }
}

impl TlbiRange {
    /// Plans the invalidation of `req` with commands of `kind`.
    ///
    /// `ril` says whether the SMMU supports range invalidation (`IDR3.RIL`).
    ///
    /// # Errors
    ///
    /// Returns [`Error::Invalid`] if `page_log2` is not 12, 14 or 16, or `granule_log2` is not
    /// the size of a page or block of that translation granule.
    pub(crate) fn new(kind: AddrTlbi, req: &RangeRequest, ril: bool) -> Result<Self, Error> {
        let page_log2 = req.page_log2;
        let tg: u8 = match page_log2 {
            12 => 1,
            14 => 2,
            16 => 3,
            _ => return Err(Error::Invalid),
        };
        // Each level resolves `page_log2 - 3` bits; level 3 holds pages, levels 2 and 1 blocks.
        let bits_per_level = page_log2 - 3;
        let level_span = req.granule_log2.wrapping_sub(page_log2);
        if req.granule_log2 < page_log2
            || level_span % bits_per_level != 0
            || level_span / bits_per_level > 2
        {
            return Err(Error::Invalid);
        }
        let whole = Self {
            kind,
            leaf: req.leaf,
            mode: Mode::Whole(true),
        };

        let align_log2 = if ril { page_log2 } else { req.granule_log2 };
        let align_mask = (1u64 << align_log2) - 1;
        let start = req.iova & !align_mask;
        let Some(end) = req
            .iova
            .checked_add(req.size)
            .and_then(|end| end.checked_add(align_mask))
            .map(|end| end & !align_mask)
        else {
            return Ok(whole);
        };
        if req.size == 0 {
            return Ok(whole);
        }
        // Stage 2 addresses are limited to 52 bits by the command format.
        if matches!(kind, AddrTlbi::S2Ipa { .. }) && end > 1 << 52 {
            return Err(Error::BadAddress);
        }
        let units = (end - start) >> align_log2;

        let mode = if ril {
            if units > RANGE_PAGES_MAX {
                return Ok(whole);
            }
            let mut pages = units;
            let ttl = if req.leaf {
                // CAST: The level computed above is 0 to 2, so the TTL is 1 to 3.
                (3 - level_span / bits_per_level) as u8
            } else {
                // The level of a non-leaf invalidation is unknown, so `TTL` is 0. A single page
                // with `SCALE == 0` and `NUM == 0` as well is an encoding that some
                // implementations mishandle, so one more page is covered instead.
                if pages & (NUM_MAX - 1) == 1 {
                    // The extra page must still be addressable.
                    if end.checked_add(1 << page_log2).is_none() {
                        return Ok(whole);
                    }
                    pages += 1;
                }
                0
            };
            Mode::Range {
                addr: start,
                pages,
                page_log2,
                tg,
                ttl,
            }
        } else {
            // As many commands as one leaf table has entries is the most that pays off.
            if units > 1 << bits_per_level {
                return Ok(whole);
            }
            Mode::PerGranule {
                addr: start,
                granule_log2: req.granule_log2,
                left: units,
            }
        };
        Ok(Self {
            kind,
            leaf: req.leaf,
            mode,
        })
    }

    /// Returns whether the range was replaced by an invalidation of the whole context.
    pub(crate) const fn is_whole(&self) -> bool {
        matches!(self.mode, Mode::Whole(_))
    }

    /// Returns the number of commands left.
    fn remaining(&self) -> usize {
        let n = match self.mode {
            Mode::Whole(pending) => u64::from(pending),
            Mode::PerGranule { left, .. } => left,
            Mode::Range { mut pages, .. } => {
                let mut n = 0;
                while pages != 0 {
                    let (num, scale) = next_chunk(pages);
                    pages -= num << scale;
                    n += 1;
                }
                n
            }
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// Builds one address command, falling back to a whole-context invalidation (and ending
    /// the iteration) should the fields not encode.
    fn addr_cmd(&mut self, a: &TlbiAddr) -> Cmd {
        match Cmd::tlbi_addr(self.kind, a) {
            Ok(cmd) => cmd,
            Err(_) => {
                self.mode = Mode::Whole(false);
                self.kind.whole()
            }
        }
    }
}

impl Iterator for TlbiRange {
    type Item = Cmd;

    fn next(&mut self) -> Option<Cmd> {
        match self.mode {
            Mode::Whole(false)
            | Mode::PerGranule { left: 0, .. }
            | Mode::Range { pages: 0, .. } => None,
            Mode::Whole(true) => {
                self.mode = Mode::Whole(false);
                Some(self.kind.whole())
            }
            Mode::PerGranule {
                addr,
                granule_log2,
                left,
            } => {
                self.mode = Mode::PerGranule {
                    addr: addr.wrapping_add(1 << granule_log2),
                    granule_log2,
                    left: left - 1,
                };
                let a = TlbiAddr {
                    addr,
                    leaf: self.leaf,
                    num: 0,
                    scale: 0,
                    tg: 0,
                    ttl: 0,
                };
                Some(self.addr_cmd(&a))
            }
            Mode::Range {
                addr,
                pages,
                page_log2,
                tg,
                ttl,
            } => {
                let (num, scale) = next_chunk(pages);
                let chunk = num << scale;
                self.mode = Mode::Range {
                    addr: addr.wrapping_add(chunk << page_log2),
                    pages: pages - chunk,
                    page_log2,
                    tg,
                    ttl,
                };
                let a = TlbiAddr {
                    addr,
                    leaf: self.leaf,
                    // CAST: `num` is 1 to 32 and `scale` at most 31, see `next_chunk()`.
                    num: (num - 1) as u8,
                    scale: scale as u8,
                    tg,
                    ttl,
                };
                Some(self.addr_cmd(&a))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}

impl ExactSizeIterator for TlbiRange {}
