// SPDX-License-Identifier: GPL-2.0

//! Table entries the SMMU reads from coherent DMA memory (STEs, CDs), and their updates.
//!
//! An entry is [`ENTRY_QWORDS`] little-endian qwords. It is changed only through the hitless
//! update planner of [`crate::hw::hitless`]: a `dma_wmb()` before the first store, so that what
//! the entry points at is visible to the SMMU first, then steps of 64-bit stores each followed
//! by a sync that makes the SMMU observe them (`CFGI_STE` or `CFGI_CD`, then `CMD_SYNC`).

use kernel::{
    dma::Coherent,
    io::{
        io_read,
        io_write, //
    },
    prelude::*,
    sync::barrier::{
        dma_mb,
        Write, //
    },
};

use crate::hw::hitless::{
    self,
    EntryFormat,
    EntryWords,
    EntryWriter,
    UpdateKind,
    ENTRY_QWORDS, //
};

/// The entry at words `base..base + ENTRY_QWORDS` of `mem`.
pub(crate) struct LiveEntry<'a> {
    mem: &'a Coherent<[u64]>,
    base: usize,
}

impl<'a> LiveEntry<'a> {
    /// The entry starting at word `base` of `mem`.
    pub(crate) fn new(mem: &'a Coherent<[u64]>, base: usize) -> Self {
        Self { mem, base }
    }

    /// Loads the entry, in CPU byte order.
    pub(crate) fn read(&self) -> Result<EntryWords> {
        let mut words: EntryWords = [0; ENTRY_QWORDS];
        for (i, w) in words.iter_mut().enumerate() {
            let raw: u64 = io_read!(self.mem, [try: self.base + i]);
            *w = u64::from_le(raw);
        }
        Ok(words)
    }

    /// Stores qword `index` (below [`ENTRY_QWORDS`]) of the entry with a single 64-bit store.
    fn store(&self, index: usize, value: u64) -> Result {
        io_write!(self.mem, [try: self.base + index], value.to_le());
        Ok(())
    }

    /// Updates the entry from `current`, what it holds, to `target` in format `F`, hitlessly
    /// where the architecture allows; `sync` makes the SMMU observe the stores of each step.
    pub(crate) fn update<F: EntryFormat>(
        &self,
        current: &EntryWords,
        target: &EntryWords,
        sync: impl FnMut() -> Result,
    ) -> Result<UpdateKind> {
        let mut writer = Writer {
            entry: self,
            sync,
            err: None,
        };
        hitless::write_entry::<F, _>(&mut writer, current, target)
    }
}

/// Carries out the steps of an update: stores into the entry, syncs through `sync`.
struct Writer<'a, S> {
    entry: &'a LiveEntry<'a>,
    sync: S,
    /// The first store that failed; reported by the next sync.
    err: Option<Error>,
}

impl<S: FnMut() -> Result> EntryWriter for Writer<'_, S> {
    type Error = Error;

    fn barrier(&mut self) {
        dma_mb(Write);
    }

    fn write_qword(&mut self, index: usize, value: u64) {
        if let Err(e) = self.entry.store(index, value) {
            self.err.get_or_insert(e);
        }
    }

    fn sync(&mut self) -> Result {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        (self.sync)()
    }
}
