// SPDX-License-Identifier: GPL-2.0

//! The event queue: faults and configuration errors reported by the SMMU.
//!
//! Drained from a threaded interrupt handler, one [`Batch`] at a time: the records are copied
//! out under the queue's lock and their slots handed back at once, so that reporting them (which
//! may log, look up devices, or later sleep to hand a fault to the IOMMU core or to iommufd)
//! happens with no lock held.
//!
//! # Ownership of the ring
//!
//! Slots from `cons` up to `EVTQ_PROD` are written by the SMMU and read by the driver; the
//! driver gives them back by writing `EVTQ_CONS`.

use kernel::{
    io::{
        mem::IoMem,
        Io, //
    },
    prelude::*,
    sync::barrier::{
        dma_mb,
        Full, //
    },
};

use crate::{
    hw::{
        event::EVT_QWORDS,
        prodcons::Queue, //
    },
    queue::Ring,
    regs::{
        self,
        EVTQ_CONS,
        EVTQ_PROD, //
    },
};

/// How many events one batch copies out of the queue.
const BATCH: usize = 32;

/// The SMMU event queue.
pub(crate) struct Evtq {
    ring: Ring<EVT_QWORDS>,
    /// The consumer index (with wrap and overflow-acknowledge bits) last written.
    cons: u32,
}

/// Raw event records copied out of the queue.
pub(crate) struct Batch {
    raw: [[u64; EVT_QWORDS]; BATCH],
    len: usize,
    /// The SMMU reported that events were lost before these.
    pub(crate) overflow: bool,
}

impl Batch {
    /// An empty batch.
    pub(crate) const fn new() -> Self {
        Self {
            raw: [[0; EVT_QWORDS]; BATCH],
            len: 0,
            overflow: false,
        }
    }

    /// The records copied, oldest first.
    pub(crate) fn records(&self) -> &[[u64; EVT_QWORDS]] {
        self.raw.get(..self.len).unwrap_or(&[])
    }

    /// Whether the batch is full: the queue may hold more.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BATCH
    }
}

impl Evtq {
    /// Wraps an allocated ring; the queue starts empty at index 0.
    pub(crate) fn new(ring: Ring<EVT_QWORDS>) -> Self {
        Self { ring, cons: 0 }
    }

    /// The value of `SMMU_EVTQ_BASE`.
    pub(crate) fn base_reg(&self) -> Result<u64> {
        self.ring.base_reg()
    }

    /// Forgets all state: the SMMU's indices were just reset to 0.
    pub(crate) fn reset(&mut self) {
        self.cons = 0;
    }

    /// Replaces the contents of `batch` with the oldest pending events, as many as fit, and
    /// hands their slots back to the SMMU.
    pub(crate) fn read_batch(
        &mut self,
        io: &IoMem<'_, { regs::SIZE }>,
        batch: &mut Batch,
    ) -> Result {
        let q: Queue = self.ring.queue();
        // `readl` orders the loads of the records after that of the index.
        let prod = io.read(EVTQ_PROD).into_raw();
        batch.len = 0;
        batch.overflow = Queue::overflowed(prod, self.cons);
        if batch.overflow {
            self.cons = Queue::ack_overflow(prod, self.cons);
        }
        for slot in batch.raw.iter_mut() {
            if q.is_empty(prod, self.cons) {
                break;
            }
            *slot = self.ring.read(self.cons)?;
            batch.len += 1;
            self.cons = q.advance(self.cons, 1);
        }
        // The loads of the records must complete before the SMMU may reuse their slots, and
        // the barrier `writel` implies orders only earlier stores: a full one, as the C
        // driver's `__iomb()`.
        dma_mb(Full);
        io.write_reg(EVTQ_CONS::from_raw(self.cons));
        Ok(())
    }
}
