// SPDX-License-Identifier: GPL-2.0

//! The event queue: faults and configuration errors reported by the SMMU.
//!
//! Drained from a threaded interrupt handler. Every event is decoded by [`crate::hw::event`];
//! logging is rate-limited per drain because a single faulting DMA can produce one event per
//! beat (QEMU emits 16 for a 64-byte transfer).
//!
//! # Ownership of the ring
//!
//! Slots from `cons` up to `EVTQ_PROD` are written by the SMMU and read by the driver; the
//! driver gives them back by writing `EVTQ_CONS`.

use kernel::{
    device::Device,
    io::{
        mem::IoMem,
        Io, //
    },
    prelude::*, //
};

use crate::{
    hw::{
        event::{
            Event,
            EVT_QWORDS, //
        },
        queue::Queue,
    },
    queue::Ring,
    regs::{
        self,
        EVTQ_CONS,
        EVTQ_PROD, //
    },
};

/// How many events one drain logs in full; the rest are counted.
const LOG_PER_DRAIN: usize = 8;

/// The SMMU event queue.
pub(crate) struct Evtq {
    ring: Ring<EVT_QWORDS>,
    /// The consumer index (with wrap and overflow-acknowledge bits) last written.
    cons: u32,
}

/// What one drain found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Events read.
    pub(crate) events: usize,
    /// Whether the SMMU reported that events were lost.
    pub(crate) overflow: bool,
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

    /// Reads and decodes every pending event, then hands the slots back.
    ///
    /// The first events of the drain are passed to `log`; the rest are counted.
    pub(crate) fn drain(
        &mut self,
        dev: &Device,
        io: &IoMem<'_, { regs::SIZE }>,
        log: impl Fn(&Event),
    ) -> Result<Drained> {
        let q: Queue = self.ring.queue();
        let mut out = Drained::default();
        loop {
            let prod = io.read(EVTQ_PROD).into_raw();
            if Queue::overflowed(prod, self.cons) {
                out.overflow = true;
                dev_err!(dev, "event queue overflowed: events were lost\n");
                self.cons = Queue::ack_overflow(prod, self.cons);
                io.write_reg(EVTQ_CONS::from_raw(self.cons));
            }
            if q.is_empty(prod, self.cons) {
                break;
            }
            while !q.is_empty(prod, self.cons) {
                let raw = self.ring.read(self.cons)?;
                let event = Event::decode(&raw);
                if out.events < LOG_PER_DRAIN {
                    log(&event);
                }
                out.events += 1;
                self.cons = q.advance(self.cons, 1);
            }
            // Give the slots back before looking for more.
            io.write_reg(EVTQ_CONS::from_raw(self.cons));
        }
        if out.events > LOG_PER_DRAIN {
            dev_err!(
                dev,
                "{} more events not shown\n",
                out.events - LOG_PER_DRAIN
            );
        }
        Ok(out)
    }
}
