// SPDX-License-Identifier: GPL-2.0

//! Context Descriptor tables: the CDs of one device's substreams, in coherent DMA memory.
//!
//! A table is linear, one [`ENTRY_QWORDS`]-qword CD per SubstreamID, all invalid (zeroed) when
//! allocated. Devices have a table of one CD (SubstreamID 0, no PASIDs) today; the table is
//! indexed by [`Ssid`] so that substreams can use more. A CD is changed only through the
//! hitless update planner of [`crate::hw::hitless`], each step followed by a sync the caller
//! gives (`CFGI_CD` for every stream of the device, then `CMD_SYNC`).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    prelude::*, //
};

use crate::{
    entry::LiveEntry,
    hw::{
        cd::Cd,
        hitless::ENTRY_QWORDS,
        ids::Ssid, //
    },
};

/// A linear Context Descriptor table.
///
/// # Invariants
///
/// `mem` holds exactly `entries * ENTRY_QWORDS` words.
pub(crate) struct CdTable {
    mem: Coherent<[u64]>,
    entries: usize,
}

impl CdTable {
    /// Allocates a table of `entries` invalid CDs for the SMMU `dev`.
    ///
    /// Coherent allocations are page aligned, more than the 64 bytes a CD table needs.
    pub(crate) fn new(dev: &Device<Bound>, entries: usize) -> Result<Self> {
        let words = entries.checked_mul(ENTRY_QWORDS).ok_or(EOVERFLOW)?;
        // INVARIANT: The table has exactly `entries * ENTRY_QWORDS` words; a zeroed CD is invalid.
        Ok(Self {
            mem: Coherent::<u64>::zeroed_slice(dev, words, GFP_KERNEL)?,
            entries,
        })
    }

    /// The table's bus address, for the STEs that use it.
    pub(crate) fn dma_address(&self) -> u64 {
        self.mem.dma_address()
    }

    /// The CD of `ssid`, or `ERANGE` beyond the table.
    fn entry(&self, ssid: Ssid) -> Result<LiveEntry<'_>> {
        let index = usize::try_from(ssid.raw()).map_err(|_| ERANGE)?;
        if index >= self.entries {
            return Err(ERANGE);
        }
        Ok(LiveEntry::new(&self.mem, index * ENTRY_QWORDS))
    }

    /// Updates the CD of `ssid` to `target`, hitlessly where the architecture allows; `sync`
    /// makes the SMMU observe each step. Nothing is written if the CD already holds `target`.
    pub(crate) fn write(&self, ssid: Ssid, target: &Cd, sync: impl FnMut() -> Result) -> Result {
        let entry = self.entry(ssid)?;
        let current = entry.read()?;
        if current == *target.words() {
            return Ok(());
        }
        entry.update::<Cd>(&current, target.words(), sync)?;
        Ok(())
    }
}
