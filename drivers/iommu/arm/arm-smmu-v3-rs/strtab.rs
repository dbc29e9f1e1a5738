// SPDX-License-Identifier: GPL-2.0

//! The stream table: one STE per StreamID, linear or two-level.
//!
//! A linear table holds `2^sid_bits` STEs, all initialised to abort. A two-level table holds
//! `2^(sid_bits - SPLIT)` level-1 descriptors, at most [`STRTAB_MAX_L1_ENTRIES`] (the StreamIDs
//! above are not translated), all invalid (every access through an invalid span is terminated
//! and reported as `C_BAD_STREAMID`) until [`StreamTable::prepare`] gives the span of a stream
//! a level-2 table of abort STEs, filled before its descriptor is published.
//!
//! STEs are changed only with [`StreamTable::install`], which follows the hitless update plan of
//! [`crate::hw::hitless`]: each step is a set of 64-bit stores followed by `CFGI_STE` and
//! `CMD_SYNC`, so the SMMU never fetches an entry that is neither the old nor the new one in the
//! bits it uses.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::io_write,
    prelude::*,
    sync::barrier::{
        dma_mb,
        Write, //
    },
};

use crate::{
    entry::LiveEntry,
    features::Features,
    hw::{
        ctrl::{
            strtab_base,
            strtab_base_cfg, //
        },
        hitless::{
            UpdateKind,
            ENTRY_QWORDS, //
        },
        idr::StrtabFmt,
        probe::{
            StrtabLayout,
            STRTAB_MAX_L1_ENTRIES,
            STRTAB_SPLIT, //
        },
        ste::{
            l1_descriptor,
            Ste, //
        },
    },
};

/// The size of one level-1 descriptor, in 64-bit words.
const L1_DESC_QWORDS: usize = 1;

/// Streams per level-2 table.
const L2_ENTRIES: usize = 1 << STRTAB_SPLIT;

/// A stream table in coherent DMA memory.
///
/// # Invariants
///
/// - Linear: `base` holds `layout.entries()` STEs and `l2` is empty.
/// - Two-level: `base` holds `layout.entries()` level-1 descriptors, `l2` has one slot per
///   descriptor, and a descriptor is valid exactly when its slot holds a table of
///   [`L2_ENTRIES`] STEs.
pub(crate) struct StreamTable {
    layout: StrtabLayout,
    base: Coherent<[u64]>,
    /// One pointer per level-1 descriptor (1 MiB at most), as the C driver: a slot holding the
    /// table itself would be 5 times larger, over what `kmalloc` gives at the cap.
    l2: KVec<Option<KBox<Coherent<[u64]>>>>,
}

// The level-2 bookkeeping of the largest table stays within one `kmalloc` (4 MiB with 4 KiB
// pages).
const _: () = assert!(
    STRTAB_MAX_L1_ENTRIES * core::mem::size_of::<Option<KBox<Coherent<[u64]>>>>() <= 1 << 20
);

/// Fills `mem` with abort STEs.
fn fill_abort(mem: &Coherent<[u64]>, entries: usize) -> Result {
    let abort = Ste::abort();
    for sid in 0..entries {
        for (i, w) in abort.words().iter().enumerate() {
            io_write!(mem, [try: sid * ENTRY_QWORDS + i], w.to_le());
        }
    }
    Ok(())
}

impl StreamTable {
    /// Allocates and initialises the table the features call for.
    pub(crate) fn new(dev: &Device<Bound>, f: &Features) -> Result<Self> {
        let layout = f.strtab;
        let entries = layout.entries();
        let mut l2 = KVec::new();
        let base = match layout.fmt() {
            StrtabFmt::Linear => {
                let mem = Coherent::<u64>::zeroed_slice(
                    dev,
                    entries.checked_mul(ENTRY_QWORDS).ok_or(EOVERFLOW)?,
                    GFP_KERNEL,
                )?;
                fill_abort(&mem, entries)?;
                mem
            }
            StrtabFmt::TwoLevel => {
                l2.reserve(entries, GFP_KERNEL)?;
                for _ in 0..entries {
                    l2.push(None, GFP_KERNEL)?;
                }
                // Zeroed level-1 descriptors are invalid.
                Coherent::<u64>::zeroed_slice(dev, entries * L1_DESC_QWORDS, GFP_KERNEL)?
            }
        };
        // INVARIANT: Sizes as documented; no level-1 descriptor is valid yet.
        Ok(Self { layout, base, l2 })
    }

    /// The values of `SMMU_STRTAB_BASE` and `SMMU_STRTAB_BASE_CFG`.
    pub(crate) fn base_regs(&self) -> Result<(u64, u32)> {
        let base = strtab_base(self.base.dma_address(), true)?;
        // CAST: StreamID widths are at most 32 bits; the split is a small constant.
        let (split, log2size) = (STRTAB_SPLIT as u8, self.layout.sid_bits() as u8);
        let cfg = match self.layout.fmt() {
            StrtabFmt::Linear => strtab_base_cfg(StrtabFmt::Linear, 0, log2size)?,
            StrtabFmt::TwoLevel => strtab_base_cfg(StrtabFmt::TwoLevel, split, log2size)?,
        };
        Ok((base, cfg))
    }

    /// Checks that the table has an STE for `sid`.
    fn check(&self, sid: u32) -> Result<usize> {
        if !self.layout.covers(sid) {
            return Err(ERANGE);
        }
        // CAST: `sid` is below 2^sid_bits, which the table's allocation already fits in `usize`.
        Ok(sid as usize)
    }

    /// Makes `sid` configurable: gives its span a level-2 table of abort STEs if it has none.
    ///
    /// Fails with `ERANGE` for a StreamID the table does not cover. Returns whether a level-1
    /// descriptor was made valid; the caller must then invalidate the span's configuration
    /// ([`StreamTable::span_of`]).
    pub(crate) fn prepare(&mut self, dev: &Device<Bound>, sid: u32) -> Result<bool> {
        self.check(sid)?;
        if self.layout.fmt() == StrtabFmt::Linear {
            return Ok(false);
        }
        let l1 = StrtabLayout::l1_index(sid);
        let slot = self.l2.get_mut(l1).ok_or(ERANGE)?;
        if slot.is_some() {
            return Ok(false);
        }
        let table = Coherent::<u64>::zeroed_slice(dev, L2_ENTRIES * ENTRY_QWORDS, GFP_KERNEL)?;
        fill_abort(&table, L2_ENTRIES)?;
        let desc = l1_descriptor(table.dma_address(), StrtabLayout::l2_span())?;
        *slot = Some(KBox::new(table, GFP_KERNEL)?);
        // The SMMU may walk the descriptor as soon as it is stored: the abort STEs must be
        // visible to it first, or it could fetch zeroes and report `C_BAD_STE`.
        dma_mb(Write);
        // INVARIANT: The descriptor becomes valid only once its table is in place and filled.
        io_write!(&self.base, [try: l1], desc.to_le());
        Ok(true)
    }

    /// The operands of the `CMD_CFGI_STE_RANGE` that invalidates the level-2 span of `sid`: its
    /// first StreamID and the `Range` field, which covers `2^(Range + 1)` StreamIDs.
    pub(crate) fn span_of(sid: u32) -> (u32, u8) {
        StrtabLayout::l2_invalidation(sid)
    }

    /// The memory and word offset of the STE of `sid`.
    fn slot(&self, sid: u32) -> Result<(&Coherent<[u64]>, usize)> {
        let index = self.check(sid)?;
        match self.layout.fmt() {
            StrtabFmt::Linear => Ok((&self.base, index * ENTRY_QWORDS)),
            StrtabFmt::TwoLevel => {
                let table = self.l2.get(StrtabLayout::l1_index(sid)).ok_or(ERANGE)?;
                let table = table.as_deref().ok_or(ENOENT)?;
                Ok((table, StrtabLayout::l2_index(sid) * ENTRY_QWORDS))
            }
        }
    }

    /// Updates the STE of `sid` to `target`, hitlessly where the architecture allows; `sync`
    /// makes the SMMU observe each step (`CFGI_STE` and `CMD_SYNC`).
    pub(crate) fn install(
        &self,
        sid: u32,
        target: &Ste,
        sync: impl FnMut() -> Result,
    ) -> Result<UpdateKind> {
        let (mem, base) = self.slot(sid)?;
        let entry = LiveEntry::new(mem, base);
        let current = entry.read()?;
        entry.update::<Ste>(&current, target.words(), sync)
    }

    /// The STE of `sid`, as the SMMU may fetch it (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn read(&self, sid: u32) -> Result<crate::hw::hitless::EntryWords> {
        let (mem, base) = self.slot(sid)?;
        LiveEntry::new(mem, base).read()
    }
}
