// SPDX-License-Identifier: GPL-2.0

//! The fault interrupt of a unit: the fault recording registers drained, each record decoded
//! ([`crate::hw::fault`]) and logged within a rate limit.
//!
//! The interrupt comes from `kernel::dmar_irq`: an MSI the unit sends itself, whose message its
//! chip writes to the unit's fault event registers (`FEDATA`, `FEADDR`, `FEUADDR`, with the
//! mask in `FECTL`).
//!
//! C reference: `dmar_fault()` and `dmar_set_interrupt()` in
//! [`drivers/iommu/intel/dmar.c`](srctree/drivers/iommu/intel/dmar.c).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dmar_irq::DmarIrq,
    io::Io,
    irq::{
        self,
        IrqReturn, //
    },
    new_spinlock_irq,
    prelude::*,
    sync::{
        SetOnce,
        SpinLockIrq, //
    },
    time::{
        Instant,
        Monotonic, //
    },
};

use crate::{
    hw::{
        fault::{
            FaultRecord,
            FRCD_HI_F, //
        },
        ratelimit::{
            RateLimit,
            DEFAULT_BURST,
            DEFAULT_INTERVAL_NS, //
        },
        regs::{
            self,
            Fsts, //
        },
    },
    unit::Unit,
    Show, //
};

/// The fault interrupts of the units, for the life of the kernel (as the units).
static IRQS: SetOnce<KVec<Pin<KBox<DmarIrq<'static, FaultHandler>>>>> = SetOnce::new();

/// The rate limit of a unit's fault log, with the time its clock counts from.
struct FaultLog {
    start: Instant<Monotonic>,
    limit: RateLimit,
}

/// The handler of a unit's fault interrupt.
#[pin_data]
pub(crate) struct FaultHandler {
    unit: &'static Unit,
    /// Held while the records are drained: the interrupt and [`request_irqs`]'s first drain may
    /// run at once. A `spinlock_t`, where C's `dmar_fault()` takes a raw spinlock: so the handler
    /// is threadable (no `IRQF_NO_THREAD`), as lockdep requires of a handler that takes one.
    #[pin]
    log: SpinLockIrq<FaultLog>,
}

impl FaultHandler {
    /// Whether one more line may be logged; says first how many were held back when a window
    /// of the rate limit closes. The kernel's default limit, as C's `dmar_fault()`.
    fn may_log(&self, log: &mut FaultLog) -> bool {
        // CAST: The monotonic clock does not go back; a negative delta cannot happen.
        let now = (Instant::<Monotonic>::now() - log.start).as_nanos() as u64;
        let verdict = log.limit.check(now);
        if verdict.suppressed != 0 {
            pr_err!(
                "{}: {} fault log lines held back (rate limit)\n",
                self.unit.label(),
                verdict.suppressed
            );
        }
        verdict.print
    }

    /// Reads, logs and clears the pending fault records, from the one `FSTS.FRI` names on,
    /// then clears the primary fault bits of `FSTS`, as C's `dmar_fault()`. Returns `FSTS` as
    /// it found it and how many records it cleared.
    ///
    /// The unit raises the same interrupt for invalidation queue errors (`FSTS.IQE`, `ICE`,
    /// `ITE`): the submitter that waits for its descriptors handles those.
    fn drain(&self) -> Result<(u32, usize)> {
        let unit = self.unit;
        let regs = unit.regs();
        let mut log = self.log.lock();
        let fsts = regs.try_read32(regs::FSTS)?;
        let status = Fsts::decode(fsts);
        if !status.pending {
            return Ok((fsts, 0));
        }
        if status.overflow && self.may_log(&mut log) {
            pr_err!(
                "{}: fault recording registers overflowed: faults were lost\n",
                unit.label()
            );
        }
        let count = unit.cap.num_fault_regs();
        let mut index = usize::from(status.fri) % count;
        let mut cleared = 0;
        // Every register once per pass; a unit that keeps recording is seen again at its next
        // interrupt rather than holding this CPU here.
        while cleared < count {
            let off = unit.cap.frcd_offset(index).ok_or(EINVAL)?;
            let hi = regs.try_read32(off + 12)?;
            if hi & FRCD_HI_F == 0 {
                break;
            }
            let words = [
                regs.try_read64(off)?,
                u64::from(regs.try_read32(off + 8)?) | (u64::from(hi) << 32),
            ];
            // Clear the record (`F` is write-1-to-clear) before logging it.
            regs.try_write32(FRCD_HI_F, off + 12)?;
            cleared += 1;
            if let Some(record) = FaultRecord::decode(&words) {
                if self.may_log(&mut log) {
                    pr_err!(
                        "{}: {}\n",
                        unit.label(),
                        Show(&record.display(unit.segment))
                    );
                }
            }
            index = (index + 1) % count;
        }
        regs.try_write32(Fsts::PRIMARY_CLEAR, regs::FSTS)?;
        Ok((fsts, cleared))
    }
}

impl irq::Handler for FaultHandler {
    fn handle(&self) -> IrqReturn {
        match self.drain() {
            Ok((0, _)) | Err(_) => IrqReturn::None,
            Ok(_) => IrqReturn::Handled,
        }
    }
}

/// Requests the fault interrupt of each of `units`, for its device in `devs`, and clears the
/// faults recorded before. A unit whose interrupt cannot be had is logged and runs without
/// fault reports.
pub(crate) fn request_irqs(units: &[&'static Unit], devs: &[&'static Device<Bound>]) -> Result {
    let mut irqs = KVec::with_capacity(units.len(), GFP_KERNEL)?;
    for (id, (&unit, &dev)) in units.iter().zip(devs).enumerate() {
        let handler = try_pin_init!(FaultHandler {
            unit,
            log <- new_spinlock_irq!(
                FaultLog {
                    start: Instant::now(),
                    limit: RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST),
                },
                "intel_iommu_rs::fault_log"
            ),
        });
        // Hard interrupt context, as C's handler, but threadable (see `FaultHandler::log`).
        // SAFETY: The registration is kept in `IRQS` for the life of the kernel, as the unit
        // and its faux device `dev`; it is never forgotten.
        let irq = unsafe {
            DmarIrq::new(
                dev,
                unit.regs(),
                regs::FECTL,
                u32::try_from(id)?,
                &unit.name,
                irq::Flags::TRIGGER_NONE,
                handler,
            )
        };
        match irq {
            Ok(irq) => {
                let (_, earlier) = irq.handler().drain()?;
                pr_info!(
                    "{}: fault interrupt {} requested ({} earlier fault record(s) cleared)\n",
                    unit.label(),
                    irq.irq(),
                    earlier
                );
                irqs.push(irq, GFP_KERNEL)?;
            }
            Err(e) => pr_err!(
                "{}: no fault interrupt (error {}): faults are not reported\n",
                unit.label(),
                e.to_errno()
            ),
        }
    }
    // Only the driver's init, which runs once, populates it.
    IRQS.populate(irqs);
    Ok(())
}
