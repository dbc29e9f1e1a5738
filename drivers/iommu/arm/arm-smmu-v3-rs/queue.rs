// SPDX-License-Identifier: GPL-2.0

//! Circular queues shared with the SMMU in coherent DMA memory.
//!
//! A [`Ring`] is the memory and index arithmetic common to the command queue ([`cmdq`]) and the
//! queues the SMMU produces into, the event and PRI queues ([`inq`]); who produces and who
//! consumes is up to those modules.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::{
        io_read,
        io_write, //
    },
    page::PAGE_SIZE,
    prelude::*, //
};

use crate::hw::prodcons::Queue;

pub(crate) mod cmdq;
pub(crate) mod inq;

/// A queue of `2^log2size` entries of `N` 64-bit words each.
///
/// # Invariants
///
/// `mem` holds exactly `q.entries() * N` words.
pub(crate) struct Ring<const N: usize> {
    mem: Coherent<[u64]>,
    q: Queue,
}

impl<const N: usize> Ring<N> {
    /// Allocates a zeroed queue of `2^log2size` entries for `dev`.
    pub(crate) fn new(dev: &Device<Bound>, log2size: u32) -> Result<Self> {
        let q = Queue::new(log2size)?;
        // CAST: At most 2^19 entries, which fits `usize`.
        let words = (q.entries() as usize).checked_mul(N).ok_or(EOVERFLOW)?;
        // INVARIANT: The slice has exactly `q.entries() * N` words.
        Ok(Self {
            mem: Coherent::zeroed_slice(dev, words, GFP_KERNEL)?,
            q,
        })
    }

    /// A queue of at most `2^log2size` entries: as large as memory allows, halving the size
    /// down to one page while the allocation fails, as the C driver does.
    pub(crate) fn new_up_to(dev: &Device<Bound>, log2size: u32) -> Result<Self> {
        let mut log2 = log2size;
        loop {
            match Self::new(dev, log2) {
                Err(e) if e == ENOMEM && log2 > 0 && (N * 8) << log2 > PAGE_SIZE => log2 -= 1,
                Ok(ring) if log2 < log2size => {
                    dev_info!(dev, "queue of 2^{} entries only (memory)\n", log2);
                    return Ok(ring);
                }
                r => return r,
            }
        }
    }

    /// The index arithmetic of this queue.
    pub(crate) fn queue(&self) -> Queue {
        self.q
    }

    /// The value of the queue's `*_BASE` register (read-allocate hint set).
    pub(crate) fn base_reg(&self) -> Result<u64> {
        // `N * 8` bytes is a power of two for both queue kinds (16 and 32 bytes).
        Ok(self.q.base(self.mem.dma_address(), (N * 8).ilog2(), true)?)
    }

    /// Stores entry `words` at queue position `p` (index and wrap bit), word by word.
    ///
    /// The SMMU must not own the slot: the caller has checked there is space.
    pub(crate) fn write(&self, p: u32, words: &[u64; N]) -> Result {
        // CAST: Queue indices are below 2^19.
        let base = self.q.index(p) as usize * N;
        for (i, w) in words.iter().enumerate() {
            io_write!(&self.mem, [try: base + i], w.to_le());
        }
        Ok(())
    }

    /// Loads the entry at queue position `p`.
    ///
    /// The SMMU must have published the slot: the caller has seen the producer index past it.
    pub(crate) fn read(&self, p: u32) -> Result<[u64; N]> {
        // CAST: Queue indices are below 2^19.
        let base = self.q.index(p) as usize * N;
        let mut out = [0u64; N];
        for (i, w) in out.iter_mut().enumerate() {
            let raw: u64 = io_read!(&self.mem, [try: base + i]);
            *w = u64::from_le(raw);
        }
        Ok(out)
    }
}
