// SPDX-License-Identifier: GPL-2.0

//! The invalidation queue of a unit: a ring of descriptors in memory that the unit fetches from
//! `IQH` up to the `IQT` software writes, completed by invalidation wait descriptors that write a
//! status word.
//!
//! Submission is synchronous, as the C driver's `qi_submit_sync()`: under the queue's lock the
//! descriptors and a wait descriptor are written, `IQT` is moved past them and the status word
//! is polled until the unit wrote it. The queue is therefore empty whenever the lock is free,
//! but after a rejected descriptor (`IQE`), whose submission returns at once as in C. Unlike C,
//! the poll is bounded: a unit that does not complete within [`QI_TIMEOUT`] has its queue marked
//! broken and every later submission fails.
//!
//! C reference: `dmar_enable_qi()`, `qi_submit_sync()` and `qi_check_fault()` in
//! [`drivers/iommu/intel/dmar.c`](srctree/drivers/iommu/intel/dmar.c).

use kernel::{
    fw_iomem::FwIoMem,
    io::Io,
    phys_mem::PhysMem,
    prelude::*,
    processor::cpu_relax,
    sync::atomic::{
        Acquire,
        Relaxed, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
};

use crate::hw::{
    qi::{
        Desc,
        DESC_QWORDS, //
    },
    regs::{
        self,
        Fsts,
        Iqer, //
    },
};

/// How long a submission may take to complete.
pub(crate) const QI_TIMEOUT: Delta = Delta::from_secs(1);

/// `IQA.QS` of the queue: one 4KB page of 128-bit descriptors (256 entries), two pages of
/// 256-bit ones (also 256 entries), as the C driver sizes it.
const fn queue_size(wide: bool) -> u8 {
    if wide {
        1
    } else {
        0
    }
}

/// The status word value while a wait descriptor is pending; completions write a non-zero
/// sequence number.
const PENDING: u64 = 0;

/// The invalidation queue's memory and software state, under the unit's queue lock.
pub(crate) struct Queue {
    /// The descriptor ring.
    ring: PhysMem,
    /// Word 0 is the status word wait descriptors write (4 bytes, in the low half).
    status: PhysMem,
    /// 256-bit descriptors (scalable mode) rather than 128-bit ones.
    wide: bool,
    /// The number of descriptors the ring holds.
    entries: usize,
    /// The next descriptor to write; equal to `IQH` whenever the lock is free, but after an
    /// `IQE`.
    tail: usize,
    /// The last wait sequence number used.
    seq: u32,
    /// Set when a submission timed out or the unit reported an error the queue cannot recover
    /// from: every later submission fails.
    broken: bool,
}

impl Queue {
    /// Allocates a queue; `wide` for 256-bit descriptors (required in scalable mode).
    pub(crate) fn new(wide: bool) -> Result<Self> {
        let qs = queue_size(wide);
        let ring = PhysMem::new_zeroed(0x1000 << qs)?;
        let status = PhysMem::new_zeroed(0x1000)?;
        Ok(Self {
            ring,
            status,
            wide,
            entries: regs::iq_entries(qs, wide),
            tail: 0,
            seq: 0,
            broken: false,
        })
    }

    /// The `IQA_REG` value for this queue.
    pub(crate) fn iqa(&self) -> Result<u64> {
        Ok(regs::iqa(
            self.ring.phys(),
            queue_size(self.wide),
            self.wide,
        )?)
    }

    /// The words of one descriptor slot of the ring.
    fn qwords(&self) -> usize {
        if self.wide {
            DESC_QWORDS
        } else {
            2
        }
    }

    /// Writes `desc` at `index`. A 128-bit queue takes the descriptor's first two qwords; the
    /// descriptors this driver builds for such a queue have nothing in the upper two.
    fn put(&self, index: usize, desc: &Desc) {
        let n = self.qwords();
        let slot = &self.ring.words()[index * n..(index + 1) * n];
        for (w, v) in slot.iter().zip(desc.words()) {
            w.store(*v, Relaxed);
        }
    }

    /// Submits `descs` followed by a wait descriptor, and waits for the wait to complete.
    ///
    /// `label` names the unit in log lines.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `descs` can never fit the queue, `EBUSY` if the descriptors left over from a
    /// rejected submission leave no room; `EIO` if the unit rejected a descriptor (`IQE`: it is
    /// replaced by a wait descriptor and `IQE` cleared, as C's `qi_check_fault()` does, and the
    /// call returns without waiting, as C's; the rest of that submission completes ahead of the
    /// next one, whose `IQT` write QEMU needs to fetch again) or reported a device-TLB
    /// invalidation error (`ITE`, `ICE`); `ETIMEDOUT` if the wait did not complete within
    /// [`QI_TIMEOUT`]. After `ETIMEDOUT`, `ITE` or `ICE` the queue is broken and later
    /// submissions fail with `EIO`.
    pub(crate) fn submit_sync(&mut self, regs: &FwIoMem, label: &str, descs: &[Desc]) -> Result {
        if self.broken {
            return Err(EIO);
        }
        if descs.len() + 1 >= self.entries {
            return Err(EINVAL);
        }
        // Normally the queue is empty here (every submission waits for its completion), but
        // after an `IQE` the rest of the rejected submission may still be queued.
        let head = regs::iq_index(regs.try_read64(regs::IQH)?, self.wide);
        let queued = (self.tail + self.entries - head) % self.entries;
        if queued + descs.len() + 1 >= self.entries {
            return Err(EBUSY);
        }
        // Sequence numbers are never `PENDING`, and a completion of an earlier submission that
        // is written late cannot be taken for this one's.
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let status = &self.status.words()[0];
        status.store(PENDING, Relaxed);
        let wait = Desc::wait(Some((self.status.phys(), seq)), false, false, false)?;

        for desc in Iterator::chain(descs.iter(), core::iter::once(&wait)) {
            self.put(self.tail, desc);
            self.tail = (self.tail + 1) % self.entries;
        }
        // The MMIO write is ordered after the descriptors' stores (`writeq` orders prior memory
        // writes), so the unit fetches complete descriptors.
        regs.try_write64(regs::iq_offset(self.tail, self.wide), regs::IQT)?;

        let start = Instant::<Monotonic>::now();
        loop {
            // The unit writes the 32-bit status data at the low half of the word.
            if status.load(Acquire) & 0xffff_ffff == u64::from(seq) {
                return Ok(());
            }
            let fsts = regs.try_read32(regs::FSTS)?;
            let f = Fsts::decode(fsts);
            if f.iqe {
                // The unit stopped at the descriptor at `IQH` and fetches nothing until `IQE`
                // is cleared: put a wait descriptor there, as C does, so that the rest of the
                // queue completes. Its status write carries this submission's number, which
                // is never awaited again.
                let head = regs::iq_index(regs.try_read64(regs::IQH)?, self.wide);
                let iqer = Iqer::decode(regs.try_read64(regs::IQER).unwrap_or(0));
                pr_err!(
                    "{label}: invalidation queue error at descriptor {head} (IQEI {}): \
                     {:#018x} {:#018x}\n",
                    iqer.iqei,
                    self.ring.words()[head * self.qwords()].load(Relaxed),
                    self.ring.words()[head * self.qwords() + 1].load(Relaxed)
                );
                self.put(head, &wait);
                regs.try_write32(1 << 4, regs::FSTS)?;
                return Err(EIO);
            }
            if f.ite || f.ice {
                // Device-TLB invalidation errors: this driver does not issue device-TLB
                // invalidations yet, so either is a unit misbehaving.
                pr_err!("{label}: invalidation queue error, FSTS {fsts:#x}: queue disabled\n");
                regs.try_write32(fsts & Fsts::INVALIDATION_ERRORS, regs::FSTS)?;
                self.broken = true;
                return Err(EIO);
            }
            if start.elapsed() > QI_TIMEOUT {
                pr_err!(
                    "{label}: invalidation wait {seq} not done after {} ms (IQH {:#x}, IQT \
                     {:#x}, FSTS {fsts:#x}): queue disabled\n",
                    QI_TIMEOUT.as_millis(),
                    regs.try_read64(regs::IQH).unwrap_or(u64::MAX),
                    regs.try_read64(regs::IQT).unwrap_or(u64::MAX)
                );
                self.broken = true;
                return Err(ETIMEDOUT);
            }
            cpu_relax();
        }
    }
}
