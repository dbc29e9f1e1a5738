// SPDX-License-Identifier: GPL-2.0

//! Context Descriptor tables: the CDs of one device's substreams, in coherent DMA memory.
//!
//! A table has the [`CdLayout`] of its device. A linear table holds every CD, all invalid
//! (zeroed) when allocated. A two-level table holds level-1 descriptors, all invalid when
//! allocated; [`CdTable::prepare`] gives the span of a SubstreamID a level-2 table of invalid CDs
//! the first time it needs one, zeroed before its descriptor is published, and keeps it until
//! the table is freed (as the C driver).
//!
//! A CD is changed only through the hitless update planner of [`crate::hw::hitless`], each step
//! followed by a sync the caller gives (`CFGI_CD` for every stream of the device, then
//! `CMD_SYNC`).

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
    hw::{
        cd::{
            l1_descriptor,
            Cd,
            CdLayout,
            CdSlot, //
        },
        hitless::ENTRY_QWORDS,
        ids::Ssid,
        ste::S1Fmt, //
    },
};

/// A Context Descriptor table.
///
/// # Invariants
///
/// - Linear: `base` holds `layout.l1_entries()` CDs and `l2` is empty.
/// - Two-level: `base` holds `layout.l1_entries()` level-1 descriptors, `l2` has one slot per
///   descriptor, and a descriptor is valid exactly when its slot holds a table of
///   `layout.l2_entries()` CDs.
pub(crate) struct CdTable {
    layout: CdLayout,
    base: Coherent<[u64]>,
    l2: KVec<Option<Coherent<[u64]>>>,
}

impl CdTable {
    /// Allocates a table of `layout`, every CD invalid, for the SMMU `dev`.
    ///
    /// Coherent allocations are page aligned, more than the 64 bytes a table needs.
    pub(crate) fn new(dev: &Device<Bound>, layout: CdLayout) -> Result<Self> {
        let entries = layout.l1_entries();
        let mut l2 = KVec::new();
        let words = if layout.fmt() == S1Fmt::TwoLevel64K {
            l2.reserve(entries, GFP_KERNEL)?;
            for _ in 0..entries {
                l2.push(None, GFP_KERNEL)?;
            }
            entries
        } else {
            entries.checked_mul(ENTRY_QWORDS).ok_or(EOVERFLOW)?
        };
        // INVARIANT: Sizes as documented; zeroed CDs and level-1 descriptors are invalid.
        Ok(Self {
            layout,
            base: Coherent::<u64>::zeroed_slice(dev, words, GFP_KERNEL)?,
            l2,
        })
    }

    /// The table's layout, for the STEs that use it.
    pub(crate) fn layout(&self) -> &CdLayout {
        &self.layout
    }

    /// The table's bus address, for the STEs that use it.
    pub(crate) fn dma_address(&self) -> u64 {
        self.base.dma_address()
    }

    /// Where the CD of `ssid` is, or `ERANGE` beyond the table.
    fn locate(&self, ssid: Ssid) -> Result<CdSlot> {
        self.layout.locate(ssid).map_err(|_| ERANGE)
    }

    /// The CD of `ssid`; `None` if its level-2 table is not allocated (the CD is then invalid).
    fn entry(&self, ssid: Ssid) -> Result<Option<LiveEntry<'_>>> {
        Ok(match self.locate(ssid)? {
            CdSlot::Linear(index) => Some(LiveEntry::new(&self.base, index * ENTRY_QWORDS)),
            CdSlot::TwoLevel { l1, l2 } => self
                .l2
                .get(l1)
                .ok_or(ERANGE)?
                .as_ref()
                .map(|table| LiveEntry::new(table, l2 * ENTRY_QWORDS)),
        })
    }

    /// Makes the CD of `ssid` writable: in a two-level table, gives its span a level-2 table of
    /// invalid CDs if it has none, publishes the level-1 descriptor, and calls `sync` so that
    /// the SMMU drops an invalid descriptor it may have cached.
    ///
    /// `dev` is the SMMU. Fails with `ERANGE` beyond the table, `ENOMEM`, or what `sync`
    /// returns (the descriptor is then published all the same).
    pub(crate) fn prepare(
        &mut self,
        dev: &Device<Bound>,
        ssid: Ssid,
        sync: impl FnOnce() -> Result,
    ) -> Result {
        let CdSlot::TwoLevel { l1, .. } = self.locate(ssid)? else {
            return Ok(());
        };
        let l2_words = self.layout.l2_entries() * ENTRY_QWORDS;
        let slot = self.l2.get_mut(l1).ok_or(ERANGE)?;
        if slot.is_some() {
            return Ok(());
        }
        let table = Coherent::<u64>::zeroed_slice(dev, l2_words, GFP_KERNEL)?;
        let desc = l1_descriptor(Some(table.dma_address()))?;
        // The SMMU must see the zeroed CDs before the descriptor that leads to them.
        dma_mb(Write);
        io_write!(self.base, [try: l1], desc.to_le());
        // INVARIANT: The descriptor is valid and its slot holds the table it points to.
        *slot = Some(table);
        sync()
    }

    /// Whether the CD of `ssid` is valid, as the SMMU sees it.
    pub(crate) fn is_valid(&self, ssid: Ssid) -> Result<bool> {
        match self.entry(ssid)? {
            Some(entry) => Ok(Cd::from_words(entry.read()?).is_valid()),
            None => Ok(false),
        }
    }

    /// Updates the CD of `ssid` to `target`, hitlessly where the architecture allows; `sync`
    /// makes the SMMU observe each step. Nothing is written if the CD already holds `target`.
    ///
    /// A valid `target` needs the CD prepared ([`CdTable::prepare`]): `ENOENT` otherwise.
    pub(crate) fn write(&self, ssid: Ssid, target: &Cd, sync: impl FnMut() -> Result) -> Result {
        let Some(entry) = self.entry(ssid)? else {
            // No level-2 table: the CD is invalid already.
            return if target.is_valid() {
                Err(ENOENT)
            } else {
                Ok(())
            };
        };
        let current = entry.read()?;
        if current == *target.words() {
            return Ok(());
        }
        entry.update::<Cd>(&current, target.words(), sync)?;
        Ok(())
    }
}
