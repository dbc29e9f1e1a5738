// SPDX-License-Identifier: GPL-2.0

//! The queues the SMMU produces into: the event queue ([`Evtq`]: faults and configuration
//! errors) and the PRI queue ([`Priq`]: PCIe page requests).
//!
//! Each is drained from a threaded interrupt handler, one [`Batch`] at a time: the records are
//! copied out under the queue's lock and their slots handed back at once, so that reporting them
//! (which may log, look up devices, or sleep to hand a fault to the IOMMU core or to iommufd)
//! happens with no lock held.
//!
//! # Ownership of the ring
//!
//! Slots from `cons` up to the queue's `PROD` register are written by the SMMU and read by the
//! driver; the driver gives them back by writing its `CONS` register.

use core::marker::PhantomData;

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
        event::{
            EVT_QWORDS,
            PRI_QWORDS, //
        },
        prodcons::Queue, //
    },
    queue::Ring,
    regs::{
        self,
        EVTQ_CONS,
        EVTQ_PROD,
        PRIQ_CONS,
        PRIQ_PROD, //
    },
};

/// How many records one batch copies out of a queue.
const BATCH: usize = 32;

/// The registers of a mapped SMMU.
type Regs<'a> = IoMem<'a, { regs::SIZE }>;

/// The index registers of a queue the SMMU produces into.
pub(crate) trait Indices {
    /// Reads the queue's producer index (with its wrap and overflow bits).
    fn prod(io: &Regs<'_>) -> u32;
    /// Writes the queue's consumer index (with its wrap and overflow-acknowledge bits).
    fn set_cons(io: &Regs<'_>, cons: u32);
}

/// `EVTQ_PROD` and `EVTQ_CONS`.
pub(crate) struct EventIndices;

impl Indices for EventIndices {
    fn prod(io: &Regs<'_>) -> u32 {
        io.read(EVTQ_PROD).into_raw()
    }

    fn set_cons(io: &Regs<'_>, cons: u32) {
        io.write_reg(EVTQ_CONS::from_raw(cons));
    }
}

/// `PRIQ_PROD` and `PRIQ_CONS`.
pub(crate) struct PriIndices;

impl Indices for PriIndices {
    fn prod(io: &Regs<'_>) -> u32 {
        io.read(PRIQ_PROD).into_raw()
    }

    fn set_cons(io: &Regs<'_>, cons: u32) {
        io.write_reg(PRIQ_CONS::from_raw(cons));
    }
}

/// A queue of `N`-qword records the SMMU produces into, with index registers `I`.
pub(crate) struct InQueue<const N: usize, I> {
    ring: Ring<N>,
    /// The consumer index (with wrap and overflow-acknowledge bits) last written.
    cons: u32,
    _indices: PhantomData<fn() -> I>,
}

/// The event queue.
pub(crate) type Evtq = InQueue<EVT_QWORDS, EventIndices>;

/// The PRI queue.
pub(crate) type Priq = InQueue<PRI_QWORDS, PriIndices>;

/// Raw records of `N` qwords copied out of a queue.
pub(crate) struct Batch<const N: usize> {
    raw: [[u64; N]; BATCH],
    len: usize,
    /// The SMMU reported that records were lost before these.
    pub(crate) overflow: bool,
}

impl<const N: usize> Batch<N> {
    /// An empty batch.
    pub(crate) const fn new() -> Self {
        Self {
            raw: [[0; N]; BATCH],
            len: 0,
            overflow: false,
        }
    }

    /// The records copied, oldest first.
    pub(crate) fn records(&self) -> &[[u64; N]] {
        self.raw.get(..self.len).unwrap_or(&[])
    }

    /// Whether the batch is full: the queue may hold more.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BATCH
    }
}

impl<const N: usize, I: Indices> InQueue<N, I> {
    /// Wraps an allocated ring; the queue starts empty at index 0.
    pub(crate) fn new(ring: Ring<N>) -> Self {
        Self {
            ring,
            cons: 0,
            _indices: PhantomData,
        }
    }

    /// The value of the queue's `*_BASE` register.
    pub(crate) fn base_reg(&self) -> Result<u64> {
        self.ring.base_reg()
    }

    /// Forgets all state: the SMMU's indices were just reset to 0.
    pub(crate) fn reset(&mut self) {
        self.cons = 0;
    }

    /// Replaces the contents of `batch` with the oldest pending records, as many as fit, and
    /// hands their slots back to the SMMU.
    pub(crate) fn read_batch(&mut self, io: &Regs<'_>, batch: &mut Batch<N>) -> Result {
        let q: Queue = self.ring.queue();
        // `readl` orders the loads of the records after that of the index.
        let prod = I::prod(io);
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
        I::set_cons(io, self.cons);
        Ok(())
    }
}
